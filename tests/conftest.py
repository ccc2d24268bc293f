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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
# PostGIS template databases: a fresh database per test by CREATE DATABASE ... TEMPLATE
# --------------------------------------------------------------------------------------


def _database_url(url: str, name: str) -> str:
    """The same server URL with another database name."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(postgis_url: str, statement: str, *names: str) -> None:
    """Run one CREATE/DROP DATABASE statement ({} are database names) in autocommit."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))


@contextmanager
def _fresh_database(postgis_url: str, template: str | None, prefix: str) -> Iterator[str]:
    """A new database (a copy of ``template``), dropped afterwards; yields its URL.

    Copying a template database is a file copy on the server: a store with the
    whole demo data set is ready in well under a second, without loading anything.
    """
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if template is None:
        _admin(postgis_url, "CREATE DATABASE {}", name)
    else:
        _admin(postgis_url, "CREATE DATABASE {} TEMPLATE {}", name, template)
    try:
        yield _database_url(postgis_url, name)
    finally:
        # FORCE ends what the test left connected (the app's threads)
        _admin(postgis_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def _build_template(postgis_url: str, template: str | None, name: str,
                    fill: Callable) -> str:
    """Create the template database ``name`` (from ``template``) and fill it."""
    from layers.store import open_store

    _admin(postgis_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    if template is None:
        _admin(postgis_url, "CREATE DATABASE {}", name)
    else:
        _admin(postgis_url, "CREATE DATABASE {} TEMPLATE {}", name, template)
    store = open_store(_database_url(postgis_url, name))
    try:
        fill(store)
    finally:
        store.close()  # no session may stay on a template while it is copied
    return name


@pytest.fixture(scope="session")
def postgis_reference_template(postgis_url: str) -> str:
    """Name of a template database holding a PostGIS store with the reference layers."""
    from layers.io.reference import load_reference

    def fill(store) -> None:
        store.initialize()
        load_reference(store)

    return _build_template(postgis_url, None, "tk_template_reference", fill)


@pytest.fixture(scope="session")
def postgis_demo_template(postgis_url: str, postgis_reference_template: str) -> str:
    """Name of a template database holding the reference store plus the demo data."""
    from layers.io.demo_load import load_demo

    return _build_template(postgis_url, postgis_reference_template, "tk_template_demo",
                           load_demo)


# --------------------------------------------------------------------------------------
# The app: a fresh app and store for each test (flaskr style), on either backend
# --------------------------------------------------------------------------------------

#: The stores a test marked ``both_stores`` runs on.
BACKENDS = ("geopackage", "postgis")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests marked ``both_stores`` once per backend (when they use a store).

    The PostGIS run is marked ``postgis``: it skips without PostgreSQL + PostGIS,
    and fails instead under ``CI=true``.
    """
    if metafunc.definition.get_closest_marker("both_stores") is None:
        return
    if "backend" not in metafunc.fixturenames:
        return
    metafunc.parametrize(
        "backend", ["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)],
        indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this test: "geopackage" unless the test is marked
    ``both_stores`` (then each in turn)."""
    return getattr(request, "param", "geopackage")


@pytest.fixture(scope="session")
def reference_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with only the bundled geography, built once and copied per test."""
    from layers.io.reference import load_reference
    from layers.store import open_store

    folder = tmp_path_factory.mktemp("reference-store")
    store = open_store(folder)
    store.initialize()
    load_reference(store)
    store.checkpoint()
    store.close()
    return Path(store.location())


@pytest.fixture
def data_dir(tmp_path: Path, reference_store_file: Path) -> Path:
    """A fresh data folder holding a GeoPackage store with the reference layers."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(reference_store_file, folder / reference_store_file.name)
    return folder


def _location(request: pytest.FixtureRequest, backend: str, folder_fixture: str,
              template_fixture: str) -> Iterator[str]:
    """A fresh GeoPackage folder (a fixture), or a new PostGIS database copied from
    a template database (a fixture) and dropped after the test."""
    if backend == "geopackage":
        yield str(request.getfixturevalue(folder_fixture))
        return
    postgis_url = request.getfixturevalue("postgis_url")
    template = request.getfixturevalue(template_fixture)
    with _fresh_database(postgis_url, template, "tk_test") as url:
        yield url


@pytest.fixture
def store_location(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where this test's fresh store with the reference layers is: the GeoPackage
    folder (``data_dir``) or the URL of a new PostGIS database."""
    yield from _location(request, backend, "data_dir", "postgis_reference_template")


@pytest.fixture
def store(store_location: str):
    """The fresh store of this test (GeoPackage, or PostGIS under ``both_stores``)."""
    from layers.store import open_store

    store = open_store(store_location)
    yield store
    store.close()


def _app_on(location: str, **config):
    """A test app on a GeoPackage folder or a PostGIS URL."""
    if "://" in location:
        return make_test_app(None, DATABASE=location, **config)
    return make_test_app(Path(location), **config)


def _close_app_store(app) -> None:
    store = app.extensions.get("trygghetskartan.store")
    if store is not None:
        store.close()


@pytest.fixture
def app(store_location: str):
    """A Flask app on the fresh store."""
    app = _app_on(store_location)
    yield app
    _close_app_store(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def demo_store_file(tmp_path_factory: pytest.TempPathFactory, reference_store_file: Path) -> Path:
    """A store with the full deterministic demo data set, built once per session."""
    from layers.io.demo_load import load_demo
    from layers.store import open_store

    folder = tmp_path_factory.mktemp("demo-store")
    shutil.copy(reference_store_file, folder / reference_store_file.name)
    store = open_store(folder)
    load_demo(store)
    store.checkpoint()
    store.close()
    return Path(store.location())


@pytest.fixture
def demo_data_dir(tmp_path: Path, demo_store_file: Path) -> Path:
    """A fresh data folder holding a copy of the demo GeoPackage store."""
    folder = tmp_path / "demo-data"
    folder.mkdir()
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    return folder


@pytest.fixture
def demo_location(backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where this test's fresh copy of the demo store is (folder or PostGIS URL)."""
    yield from _location(request, backend, "demo_data_dir", "postgis_demo_template")


@pytest.fixture
def demo_app(demo_location: str):
    """A Flask app on a fresh copy of the demo store."""
    app = _app_on(demo_location)
    yield app
    _close_app_store(app)


@pytest.fixture
def location_env(monkeypatch: pytest.MonkeyPatch):
    """Point the CLI at a store location the way a user does: a folder goes in
    ``--data-dir``, a PostGIS URL in ``TRYGGHETSKARTAN_DATABASE``. Returns a
    function of the location that gives the CLI arguments to add."""
    def use(location: str) -> list[str]:
        if "://" in location:
            monkeypatch.setenv("TRYGGHETSKARTAN_DATABASE", location)
            return []
        monkeypatch.delenv("TRYGGHETSKARTAN_DATABASE", raising=False)
        return ["--data-dir", location]

    return use


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
