"""What every verb of the ``trygghetskartan`` command shares: the store, the app.

Every verb finds the store the same way (``--data-dir``, else
``TRYGGHETSKARTAN_DATABASE``, else ``TRYGGHETSKARTAN_DATA_DIR``, else the Flask
instance folder): :func:`with_store` adds ``--data-dir`` and opens it.

The verbs that need the web app's configuration or the app itself (``serve``,
``notify``, the instance folder, PROMISES, TOKEN_DAYS) build it with
:func:`create_app`, the app factory that :mod:`mapapp` hands over with
:func:`use_app_factory` when it is imported (importing any ``mapapp.cli`` module
imports :mod:`mapapp` first). So the command line never imports the package that
registers it, and there is no import cycle between them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask

from layers.core.errors import StoreError
from layers.store import Store, open_store, store_location

_app_factory: Callable[..., Flask] | None = None


def use_app_factory(factory: Callable[..., Flask]) -> None:
    """Build the verbs' apps with ``factory`` (:func:`mapapp.create_app`)."""
    global _app_factory
    _app_factory = factory


def create_app(*, check_store: bool = True) -> Flask:
    """The web app as the factory builds it (instance config, environment).

    ``check_store=False``: do not refuse a store of another schema version.
    """
    if _app_factory is None:  # mapapp/__init__.py hands it over when imported
        raise RuntimeError("mapapp.cli.common.use_app_factory() was not called")
    return _app_factory(check_store=check_store)


def default_dir() -> str:
    """The Flask instance folder: where the store is when nothing else names one."""
    # the store is not checked here: `migrate` must reach an old one
    return create_app(check_store=False).instance_path


def open_cli_store(data_dir: str | None, *, create: bool = True) -> Store:
    """Open the store the way every verb does, initialising it when asked.

    With ``create``, a store whose schema version is not the code's is refused
    (StoreVersionError: run ``migrate``, or newer code).
    """
    location = store_location(data_dir, None if data_dir else default_dir())
    store = open_store(location)
    if not create:
        return store
    from layers.store.migrate import checked

    if not checked(store).is_initialized():
        from layers.io.reference import load_reference

        store.initialize()
        load_reference(store)
    return store


def with_store(fn=None, *, create: bool = True):
    """Add ``--data-dir`` to a verb and pass it the opened store.

    ``create=False``: open the store as it is (no initialisation, no version check),
    for ``migrate``, ``backup`` and ``restore``.
    """
    if fn is None:
        return functools.partial(with_store, create=create)

    @click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                  help="Mapp med GeoPackage-databasen (annars TRYGGHETSKARTAN_DATABASE, "
                       "TRYGGHETSKARTAN_DATA_DIR eller instansmappen).")
    @functools.wraps(fn)
    def wrapper(*args, data_dir=None, **kwargs):
        try:
            store = open_cli_store(data_dir, create=create)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            return fn(store, *args, **kwargs)
        finally:
            store.close()

    return wrapper


def data_base(data_dir: str | None) -> Path:
    """The data folder: the GeoPackage's folder, else (PostGIS) the instance folder."""
    location = store_location(data_dir, None if data_dir else default_dir())
    if "://" in location:
        return Path(default_dir())
    path = Path(location)
    return path.parent if path.suffix.lower() == ".gpkg" else path

