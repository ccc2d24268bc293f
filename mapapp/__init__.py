"""Trygghetskartan's web app: the Flask application factory.

``create_app(config)`` builds the app the flaskr way: defaults, then the instance
folder's ``config.py`` (unless a test config is given), then environment
variables; blueprints are registered here, one per area of the UI.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask

from mapapp import store_

LOGGER = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the app."""
    app = Flask(__name__, instance_relative_config=True)
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
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("TRYGGHETSKARTAN_INSECURE_COOKIES") != "1",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TRYGGHETSKARTAN")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)

    store_.init_app(app)

    from mapapp import health

    app.register_blueprint(health.bp)

    from mapapp.cli import cli

    app.cli.add_command(cli, "trygghetskartan")
    return app


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
