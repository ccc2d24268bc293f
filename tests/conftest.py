"""Shared fixtures.

Infrastructure (this part): the ``chromium_path`` and ``browser`` fixtures for browser
tests, the ``postgis_url`` fixture with a throwaway PostgreSQL + PostGIS cluster, and
``artifacts_dir``. The helpers ``require_or_skip``, ``serve_wsgi_in_thread`` and
``ARTIFACTS_DIR`` live in ``tests/infra.py`` (import them from there in test modules).
Tests that need Chromium or PostGIS skip on a machine without them, but fail under
``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from infra import (  # noqa: F401  (re-exported for fixtures added later)
    ARTIFACTS_DIR,
    CHROMIUM_ARGS,
    in_ci,
    make_test_app,
    require_or_skip,
    serve_wsgi_in_thread,
)

# --------------------------------------------------------------------------------------
# Infrastructure: artifacts kept by CI
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """The folder for screenshots and rendered files that CI keeps (created)."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


# --------------------------------------------------------------------------------------
# Infrastructure: Debian's Chromium driven by Playwright (never `playwright install`)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the Chromium binary; env TRYGGHETSKARTAN_CHROMIUM overrides it."""
    path = (
        os.environ.get("TRYGGHETSKARTAN_CHROMIUM")
        or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
        or shutil.which("chromium")
        or "/usr/bin/chromium"
    )
    usable = os.path.isfile(path) and os.access(path, os.X_OK)
    require_or_skip(f"Chromium ({path}; apt-get install chromium)", usable)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    """A headless Playwright Browser (Chromium) shared by the session."""
    require_or_skip(
        "Python package playwright (pip install -e '.[test]')",
        importlib.util.find_spec("playwright") is not None,
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


# --------------------------------------------------------------------------------------
# Infrastructure: PostGIS, a throwaway cluster per test session
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgis_url() -> Iterator[str]:
    """URL of a PostgreSQL database with PostGIS, started for this session.

    With env TRYGGHETSKARTAN_TEST_DATABASE set, that database is used as it is.
    Otherwise a cluster is created with initdb in a temporary folder (as the postgres
    user when running as root) and deleted at the end of the session.
    """
    external = os.environ.get("TRYGGHETSKARTAN_TEST_DATABASE")
    if external:
        yield external
        return

    require_or_skip(
        "Python package psycopg (pip install -e '.[test]')",
        importlib.util.find_spec("psycopg") is not None,
    )
    from pg_cluster import PgCluster, PgUnavailable

    cluster = problem = None
    try:
        cluster = PgCluster()
        url = cluster.start()
    except PgUnavailable as exc:
        problem = str(exc)
    # Outside the except block, so a CI failure shows the reason without a traceback.
    require_or_skip(f"PostgreSQL with PostGIS ({problem})", problem is None)
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture
def postgis_schema_url(postgis_url: str) -> Iterator[str]:
    """URL of a fresh, empty schema in the PostGIS test database, dropped afterwards.

    The URL sets ``search_path`` to the new schema and then ``public`` (where PostGIS
    lives), so a store opened on it creates its tables there: each test gets its own
    tables in milliseconds, without a new database.
    """
    import uuid

    import psycopg
    from psycopg import sql

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    separator = "&" if "?" in postgis_url else "?"
    try:
        yield f"{postgis_url}{separator}options=-csearch_path%3D{schema}%2Cpublic"
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


# --------------------------------------------------------------------------------------
# The app: a fresh app and GeoPackage store for each test (flaskr style)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def reference_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with only the bundled geography, built once and copied per test."""
    from layers.reference import load_reference
    from layers.store import GeoPackageStore

    folder = tmp_path_factory.mktemp("reference-store")
    store = GeoPackageStore(folder)
    store.initialize()
    load_reference(store)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return store.path


@pytest.fixture
def data_dir(tmp_path: Path, reference_store_file: Path) -> Path:
    """A fresh data folder holding a store with the reference layers."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(reference_store_file, folder / reference_store_file.name)
    return folder


@pytest.fixture
def store(data_dir: Path):
    """The fresh store of this test (GeoPackage)."""
    from layers.store import GeoPackageStore

    store = GeoPackageStore(data_dir)
    yield store
    store.close()


@pytest.fixture
def app(data_dir: Path):
    """A Flask app on the fresh store."""
    return make_test_app(data_dir)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def demo_store_file(tmp_path_factory: pytest.TempPathFactory, reference_store_file: Path) -> Path:
    """A store with the full deterministic demo data set, built once per session."""
    from layers.demo_load import load_demo
    from layers.store import GeoPackageStore

    folder = tmp_path_factory.mktemp("demo-store")
    shutil.copy(reference_store_file, folder / reference_store_file.name)
    store = GeoPackageStore(folder)
    load_demo(store)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return store.path


@pytest.fixture
def demo_data_dir(tmp_path: Path, demo_store_file: Path) -> Path:
    """A fresh data folder holding a copy of the demo store."""
    folder = tmp_path / "demo-data"
    folder.mkdir()
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    return folder


@pytest.fixture
def demo_app(demo_data_dir: Path):
    """A Flask app on a fresh copy of the demo store."""
    return make_test_app(demo_data_dir)


@pytest.fixture
def live_server(demo_app):
    """The demo app served over real HTTP on 127.0.0.1 for browser tests.

    Yields an object with ``url`` (no trailing slash) and ``app``. TILE_URL points at
    an unreachable local address so tests never depend on the internet; tests that
    check tile handling override it.
    """
    demo_app.config["TILE_URL"] = "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"

    class Live:
        app = demo_app
        url = ""

    Live.url, stop = serve_wsgi_in_thread(demo_app)
    yield Live
    stop()
