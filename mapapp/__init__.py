"""Trygghetskartan's web app: the Flask application factory.

``create_app(config)`` builds the app the flaskr way: defaults, then the instance
folder's ``config.py`` (unless a test config is given), then environment
variables; blueprints are registered here, one per area of the UI.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, current_app
from flask_wtf.csrf import CSRFError

from layers.store.base import StoreBusy
from layers.store.migrate import StoreVersionError
from mapapp import store_
from mapapp.cli.common import use_app_factory
from mapapp.extensions import csrf

#: Main menu: (endpoint, Swedish label, role needed or None); entries whose
#: blueprint is missing, or that the user's role may not open, are hidden.
NAV_ITEMS = [
    ("maps.city", "Karta", None),
    ("priority.ranking", "Prioriterade platser", None),
    ("findings.list_findings", "Fynd", None),
    ("findings.new_finding", "Nytt fynd", "inventerare"),
    ("walkmode.walk_page", "Vandringsläge", "inventerare"),
    ("sites.list_sites", "Platssamverkan", None),
    ("walks.list_walks", "Vandringar", None),
    ("walks.lighting", "Belysning", None),
    ("briefs.index", "Lägesbilder", None),
    ("briefs.city", "Stadsöversikt", None),
    ("est.index", "EST", "läsare"),
    ("admin.users", "Administration", "admin"),
]

LOGGER = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None, *,
               check_store: bool = True) -> Flask:
    """Create and configure the app.

    With ``check_store``, an existing store of another schema version is refused
    (:class:`layers.store.migrate.StoreVersionError`, in Swedish: migrate it first).
    """
    from mapapp import errors

    app = errors.App(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("TRYGGHETSKARTAN_SECRET_KEY", ""),
        DATA_DIR=None,
        DATABASE=None,
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        TILE_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        TILE_ATTRIBUTION='&copy; <a href="https://www.openstreetmap.org/copyright">'
                         "OpenStreetMap</a>-bidragsgivare",
        SITE_DISTANCE_M=50.0,
        SUPPRESS_BELOW=5,
        # sessions, log-in throttling, tokens, headers: see mapapp/security.py, auth.py
        SESSION_COOKIE_SECURE="auto",
        SESSION_IDLE_MINUTES=60,
        SESSION_MAX_HOURS=12,
        LOGIN_MAX_FAILURES=20,
        LOGIN_MAX_FAILURES_PER_ADDRESS=100,
        LOGIN_WINDOW_SECONDS=60,
        LOGIN_LOCKOUT_MINUTES=5,
        TOKEN_DAYS=365,
        PROXY_FIX=0,
        # time-to-fix targets (docs/promises.md); None: the city's published defaults
        PROMISES=None,
    )
    from mapapp import notify

    app.config.from_mapping(notify.DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TRYGGHETSKARTAN")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    from layers.indicators import parse_promises

    # a wrong target stops the app at start rather than on the first page that uses it
    app.config["PROMISES"] = parse_promises(app.config["PROMISES"])
    app.config["PERMANENT_SESSION_LIFETIME"] = int(float(app.config["SESSION_MAX_HOURS"]) * 3600)
    from mapapp import security

    security.init_app(app)
    errors.init_app(app)
    store_.init_app(app)
    if check_store:
        store_.check_version(app)
    csrf.init_app(app)
    from mapapp import page_cache

    page_cache.init_app(app)
    _register_page_helpers(app)

    from mapapp import auth, health

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)

    from mapapp import findings

    app.register_blueprint(findings.bp)

    from mapapp import api, maps

    app.register_blueprint(api.bp)
    app.register_blueprint(maps.bp)

    from mapapp import briefs

    app.register_blueprint(briefs.bp)

    from mapapp import priority

    app.register_blueprint(priority.bp)

    from mapapp import sites, walks

    app.register_blueprint(sites.bp)
    app.register_blueprint(walks.bp)
    app.register_blueprint(notify.bp)

    from mapapp import ogc

    app.register_blueprint(ogc.bp)

    from mapapp import admin

    app.register_blueprint(admin.bp)

    from mapapp import est, walkmode

    app.register_blueprint(est.bp)

    app.register_blueprint(walkmode.bp)

    from mapapp import cli

    cli.register(app)
    return app


def _register_page_helpers(app: Flask) -> None:
    """Template helpers and Swedish error pages shared by every blueprint."""

    def nav_items() -> list[tuple[str, str]]:
        from flask import g

        user = g.get("user")
        return [(e, label) for e, label, role in NAV_ITEMS
                if e in current_app.view_functions
                and (role is None or (user is not None and user.can(role)))]

    def demo_data_present() -> bool:
        from layers.store.base import Query

        try:
            # read one row, not count(): the table may hold millions
            return len(store_.get_store().read(
                "incidents", Query(where={"source": "demo"}, limit=1))) > 0
        except Exception:  # a page must render even when the store is down
            return False

    app.jinja_env.globals.update(nav_items=nav_items, demo_data_present=demo_data_present)

    # the Swedish page, or JSON under /api and /ogc (mapapp/errors.py)
    from mapapp.errors import error_response as error_page

    @app.errorhandler(400)
    def bad_request(exc):
        return error_page(400, "Felaktig förfrågan", _own_description(exc)
                          or "Förfrågan kunde inte tolkas.")

    @app.errorhandler(403)
    def forbidden(exc):
        return error_page(403, "Åtkomst nekad", _own_description(exc) or "Du saknar behörighet.")

    @app.errorhandler(404)
    def not_found(exc):
        return error_page(404, "Sidan finns inte", "Adressen finns inte i Trygghetskartan.")

    @app.errorhandler(413)
    def too_large(exc):
        limit = app.config["MAX_CONTENT_LENGTH"] / 1024 / 1024
        return error_page(413, "Filen är för stor",
                          f"Filen är för stor: högst {limit:.0f} MB tas emot. Inget sparades.")

    @app.errorhandler(StoreBusy)
    def store_busy(exc: StoreBusy):
        # an import holds the write lock: nothing was stored, the client may retry
        response, status = error_page(503, "Lagret är upptaget", str(exc))
        response = app.make_response((response, status))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(StoreVersionError)
    def store_version(exc: StoreVersionError):
        # the store must be migrated (or the code upgraded) before it is used
        return error_page(503, "Lagret behöver uppgraderas", str(exc))

    @app.errorhandler(CSRFError)
    def csrf_failed(exc):
        return error_page(400, "Formuläret kunde inte skickas",
                          "Formulärets säkerhetsnyckel (CSRF) saknas eller har gått ut. "
                          "Ladda om sidan och försök igen.")


def _own_description(exc: Exception) -> str:
    """The description a view gave to abort(), not Werkzeug's English default."""
    description = getattr(exc, "description", "") or ""
    return "" if description == getattr(type(exc), "description", None) else description


def _instance_secret(instance_path: str) -> str:
    """Keep a random secret key in the instance folder so sessions survive restarts."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        import secrets

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    with open(path) as fh:
        return fh.read().strip()


# the command line builds its apps (serve, notify, the instance folder) with this
# factory: it is handed over, so that mapapp.cli never imports this package
use_app_factory(create_app)
