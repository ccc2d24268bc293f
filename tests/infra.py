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
