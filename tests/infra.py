"""Test infrastructure helpers, importable from any test module (``from infra import ...``).

Kept out of ``conftest.py`` because a second ``conftest.py`` (e.g. in tests/browser/)
replaces ``sys.modules["conftest"]``, so ``from conftest import ...`` is unreliable.
``conftest.py`` re-exports these names and defines the fixtures that use them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Screenshots and rendered pages that CI keeps; a relative path is taken from the repo root.
ARTIFACTS_DIR = REPO_ROOT / os.environ.get("TRYGGHETSKARTAN_ARTIFACTS", "artifacts")

# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def in_ci() -> bool:
    """Return whether we run under CI (env CI=true), where nothing may be skipped."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require_or_skip(what: str, ok: bool) -> None:
    """Skip the test when ``ok`` is false, or fail it under CI=true.

    ``what`` names the missing dependency, e.g. "Chromium (/usr/bin/chromium)".
    """
    if ok:
        return
    if in_ci():
        pytest.fail(f"{what} missing (CI=true: required)", pytrace=False)
    pytest.skip(f"{what} missing")


def serve_wsgi_in_thread(wsgi_app: Callable) -> tuple[str, Callable[[], None]]:
    """Serve ``wsgi_app`` on 127.0.0.1 on a free port in a daemon thread.

    Returns ``(base_url, stop)``; ``base_url`` has no trailing slash and ``stop()``
    shuts the server down and closes its socket.
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="wsgi-test-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.server_port}", stop


def make_test_app(data_dir: Path | None, **config):
    """Build an app for tests on ``data_dir`` (plain-http cookies, fixed secret);
    None with ``DATABASE=<url>`` in ``config`` for a PostGIS store."""
    from mapapp import create_app

    return create_app({
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATA_DIR": None if data_dir is None else str(data_dir),
        "SESSION_COOKIE_SECURE": False,
        **config,
    })


def create_user(app, name: str, role: str, password: str = "losenord123", **kwargs) -> None:
    """Create a user in the app's store (for auth tests)."""
    from layers.domain.users import add_user
    from mapapp.store_ import get_store

    with app.app_context():
        add_user(get_store(), name, role, password, **kwargs)


def login(client, name: str, password: str = "losenord123"):
    """Log a test client in through the real form (with its CSRF token)."""
    import re

    page = client.get("/auth/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/auth/login", data={"username": name, "password": password,
                                            "csrf_token": token})


def browser_log_in(page, url: str, name: str, password: str = "losenord123") -> None:
    """Log a Playwright page in through the real form at ``url``."""
    page.goto(f"{url}/auth/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
