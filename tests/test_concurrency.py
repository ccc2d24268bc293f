"""Writes while an import runs: 503 with Retry-After, never 500; staged imports stay
all-or-nothing; the data version ignores uncommitted writes (issue 17, point 10).

Nothing here is timed: the lock is held by a second connection (or a monkeypatched
import) for as long as the test needs, and released by the test.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from layers.domain.users import add_user, new_token
from layers.io.importer import import_file
from layers.io.reference import load_reference
from layers.store import Query, Store, StoreBusy, open_store
from mapapp.store_ import get_store
from tests.conftest import make_test_app
from tests.infra import login

BACKENDS = ["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)]
BUSY_SV = "Lagret är upptaget av en import just nu. Försök igen om en stund."
FINDING = [{"datum": "2025-05-14 21:00", "kategori": "belysning", "allvarlighet": 3,
            "beskrivning": "Mörk passage", "lat": 59.4091, "lon": 17.9281}]


# --- the web: 503 + Retry-After while the write lock is taken -------------------------------


@pytest.fixture
def busy_app(data_dir: Path):
    """An app whose writes give up on the lock after 0.2 s, with a token user."""
    app = make_test_app(data_dir, STORE_BUSY_TIMEOUT=0.2)
    with app.app_context():
        add_user(get_store(), "ingrid", "inventerare", "hemligt-lösen-1")
        token = new_token(get_store(), "ingrid")
    return app, {"Authorization": f"Bearer {token}"}


def test_api_write_answers_503_with_retry_after_while_an_import_holds_the_lock(
        busy_app, data_dir: Path):
    app, headers = busy_app
    client = app.test_client()
    # an import's final transaction, as another process would hold it
    other = sqlite3.connect(data_dir / "trygghetskartan.gpkg", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/api/findings", json=FINDING, headers=headers)
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.get_json() == {"error": BUSY_SV}
        # reads go on from the last committed state meanwhile
        assert client.get("/api/findings").status_code == 200
        assert client.get("/healthz").status_code == 200
    finally:
        other.execute("ROLLBACK")
        other.close()
    response = client.post("/api/findings", json=FINDING, headers=headers)
    assert response.status_code == 201
    with app.app_context():
        assert get_store().count("findings") == 1


def test_signed_in_reads_do_not_wait_for_the_lock(busy_app, data_dir: Path, monkeypatch):
    """A session's last-seen time and a token's last use are written off the request:
    while an import holds the lock, signed-in page views and token reads answer 200."""
    from layers.store import sessions, touches

    app, headers = busy_app
    with app.app_context():
        add_user(get_store(), "lars", "läsare", "hemligt-lösen-2")
    client = app.test_client()
    assert login(client, "lars", "hemligt-lösen-2").status_code == 302
    touches.flush()
    later = sessions.now() + pd.Timedelta(minutes=5)  # both marks are due again
    monkeypatch.setattr(sessions, "now", lambda: later)
    other = sqlite3.connect(data_dir / "trygghetskartan.gpkg", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        assert client.get("/findings").status_code == 200
        assert app.test_client().get("/api/findings", headers=headers).status_code == 200
    finally:
        other.execute("ROLLBACK")
        other.close()
    touches.flush()


def test_a_page_answers_503_as_html_with_retry_after(busy_app):
    app, _ = busy_app

    @app.get("/_busy")  # a page whose write meets a busy store
    def busy_page():
        raise StoreBusy()

    response = app.test_client().get("/_busy")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.mimetype == "text/html"
    assert BUSY_SV in response.get_data(as_text=True)


# --- the stores: StoreBusy, staged all-or-nothing imports, data version ------------------------


@pytest.fixture(params=BACKENDS)
def ref_store(request: pytest.FixtureRequest, tmp_path: Path, reference_store_file: Path):
    """A store of each backend with the reference layers, and a short busy timeout."""
    if request.param == "geopackage":
        folder = tmp_path / "data"
        folder.mkdir()
        (folder / reference_store_file.name).write_bytes(reference_store_file.read_bytes())
        store = open_store(folder, busy_timeout=0.2)
    else:
        store = open_store(request.getfixturevalue("postgis_schema_url"), busy_timeout=0.2)
        store.initialize()
        load_reference(store)
    yield store
    store.close()


def incident_csv(path: Path, n: int, *, bad_row: int | None = None) -> Path:
    """``n`` incidents in Järva (deterministic); ``bad_row`` gets an impossible date."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "id": [f"c-{i}" for i in range(n)],
        "occurred_at": [f"2025-0{1 + i % 9}-1{i % 10} 2{i % 4}:15" for i in range(n)],
        "category": np.array(["rån", "misshandel", "klotter"])[np.arange(n) % 3],
        "lon": 17.90 + rng.random(n) * 0.04,
        "lat": 59.40 + rng.random(n) * 0.015,
    })
    if bad_row is not None:
        frame.loc[bad_row, "occurred_at"] = "2025-13-01 22:00"
    frame.to_csv(path, index=False)
    return path


def hold_write_lock(store: Store):
    """Open a second connection holding the store's write lock; return its release."""
    if store.kind == "geopackage":
        other = sqlite3.connect(store.location(), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE gpkg_contents SET description = description")
    else:
        other = psycopg.connect(store.location(), autocommit=False)
        # the lock a slow writer of the same row takes
        other.execute("UPDATE store_contents SET version = version "
                      "WHERE table_name = 'findings'")

    def release() -> None:
        other.rollback()
        other.close()

    return release


def finding(row_id: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{"id": row_id, "category": "belysning", "severity": 2, "status": "ny",
          "found_at": pd.Timestamp("2025-05-14 21:00", tz="Europe/Stockholm")}],
        geometry=[shapely.Point(150_000, 6_580_000)], crs=3011)


def test_a_writer_gets_store_busy_then_succeeds_after_release(ref_store: Store):
    frame = finding("f-1")
    # a first finding creates the store_contents row the lock is taken on
    ref_store.write({"findings": finding("f-0")})
    release = hold_write_lock(ref_store)
    try:
        with pytest.raises(StoreBusy):
            ref_store.write({"findings": frame})
        # reading and the data version do not wait for the writer
        assert ref_store.count("findings") == 1
        ref_store.data_version()
    finally:
        release()
    assert ref_store.write({"findings": frame})["findings"].inserted == 1
    assert ref_store.count("findings") == 2


def test_staged_import_is_all_or_nothing_and_idempotent(ref_store: Store, tmp_path: Path,
                                                        monkeypatch):
    ref_store.bulk_min_rows = 100  # the staged path, without a big file
    version0 = ref_store.data_version()
    log0 = ref_store.count("import_log")

    # a bad row: nothing stored (only the rejection is logged)
    bad = incident_csv(tmp_path / "bad.csv", 400, bad_row=123)
    with pytest.raises(Exception, match="inget sparades"):
        import_file(ref_store, "incidents", bad)
    assert ref_store.count("incidents") == 0

    # the process "dies" after staging, inside the write transaction: nothing stored
    good = incident_csv(tmp_path / "good.csv", 400)
    version1 = ref_store.data_version()

    def die(results):
        raise KeyboardInterrupt("killed after staging (simulated)")

    original = ref_store.write
    monkeypatch.setattr(ref_store, "write",
                        lambda layers, **kw: original(layers, replace=(), then=die))
    with pytest.raises(KeyboardInterrupt):
        import_file(ref_store, "incidents", good)
    monkeypatch.setattr(ref_store, "write", original)
    assert ref_store.count("incidents") == 0
    assert ref_store.data_version() == version1
    assert ref_store.count("import_log") == log0 + 1  # the rejection only

    # the real import: every row; the version moves
    report = import_file(ref_store, "incidents", good)
    assert (report.inserted, report.unchanged) == (400, 0)
    assert ref_store.count("incidents") == 400
    assert ref_store.count("incidents", Query(bbox=(140_000, 6_570_000, 170_000, 6_600_000))) \
        == 400
    version2 = ref_store.data_version()
    assert version2 not in (version0, version1)
    stored = ref_store.read("incidents").drop(columns="geometry")

    # the same file again changes no row
    report = import_file(ref_store, "incidents", good)
    assert (report.inserted, report.unchanged) == (0, 400)
    again = ref_store.read("incidents").drop(columns="geometry")
    pd.testing.assert_frame_equal(stored, again)
    # the store stays writable (no lock or staging table left behind)
    assert ref_store.write({"findings": finding("f-9")})["findings"].inserted == 1


def test_an_uncommitted_import_does_not_change_the_data_version(ref_store: Store,
                                                                 tmp_path: Path, monkeypatch):
    """A reader computing the version while an import sits in its transaction."""
    ref_store.bulk_min_rows = 100
    good = incident_csv(tmp_path / "good.csv", 300)
    inside, resume = threading.Event(), threading.Event()
    seen: list[tuple] = []

    def pause(results):
        inside.set()
        assert resume.wait(30)
        return {}

    def reader() -> None:
        assert inside.wait(30)
        other = open_store(ref_store.location())
        try:
            seen.append(other.data_version())
            seen.append((other.count("incidents"),))
        finally:
            other.close()
            resume.set()

    before = ref_store.data_version()
    thread = threading.Thread(target=reader)
    thread.start()
    original = ref_store.write
    monkeypatch.setattr(ref_store, "write",
                        lambda layers, **kw: original(layers, replace=(), then=pause))
    import_file(ref_store, "incidents", good)
    thread.join(30)
    assert seen == [before, (0,)]
    assert ref_store.data_version() != before
    assert ref_store.count("incidents") == 300
