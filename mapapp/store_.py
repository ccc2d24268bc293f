"""The store for the web app: found from config like every CLI verb, one per app."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from layers.core.errors import StoreError
from layers.store import Store, open_store, store_location
from layers.store.base import DEFAULT_BUSY_TIMEOUT
from layers.store.migrate import StoreVersionError, check, checked

LOGGER = logging.getLogger(__name__)


def location_for(app: Flask) -> str:
    """Where the app's store is: DATABASE, DATA_DIR, the environment, the instance folder."""
    explicit = app.config.get("DATABASE") or app.config.get("DATA_DIR")
    return store_location(explicit, app.instance_path)


def get_store() -> Store:
    """Return the app's store, opening (and, if new, initialising) it on first use.

    A store of another schema version raises StoreVersionError (migrate it, or
    run newer code): the app answers 503 with the reason, and serves nothing from
    a store it might misread or damage.
    """
    store = current_app.extensions.get("trygghetskartan.store")
    if store is None:
        config = current_app.config
        store = open_store(location_for(current_app),
                           busy_timeout=float(config["STORE_BUSY_TIMEOUT"]),
                           statement_timeout=config.get("STORE_STATEMENT_TIMEOUT") or None)
        if not checked(store).is_initialized():
            from layers.io.reference import load_reference

            store.initialize()
            load_reference(store)
        current_app.extensions["trygghetskartan.store"] = store
    return store


def check_version(app: Flask) -> None:
    """Refuse to build an app on a store of another schema version (StoreVersionError).

    Only an existing store is opened here; an unreachable database is left to
    ``/healthz`` and the first request, so the app still starts while it is down.
    """
    try:
        store = open_store(location_for(app))
    except StoreError:
        return
    try:
        check(store)
    except StoreVersionError:
        raise
    except StoreError as exc:  # unreachable now: the first request will tell
        LOGGER.warning("store not checked at start-up: %s", exc)
    finally:
        store.close()


def init_app(app: Flask) -> None:
    """Nothing to tear down per request: the store keeps one connection per thread.

    ``STORE_BUSY_TIMEOUT`` (s): how long a web write waits for an import's write
    lock before it answers 503 with Retry-After; ``STORE_STATEMENT_TIMEOUT`` (s,
    PostGIS): the longest a request's statement may run.
    """
    app.config.setdefault("STORE_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT)
    app.config.setdefault("STORE_STATEMENT_TIMEOUT", 60.0)
    app.extensions.setdefault("trygghetskartan.store", None)
