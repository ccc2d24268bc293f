"""A big load into PostGIS builds the table's secondary indexes after the insert.

A load of at least ``rebuild_min_rows`` rows that at least doubles its table drops the
indexes no constraint owns and builds them again in the same transaction (10M
incidents: the index upkeep row by row was most of the import). The rows, the grid
summary and the index definitions come out as the row-by-row path leaves them; a
failed load leaves the indexes as they were; a smaller load, or one whose table a
reader holds, keeps them.
"""

from __future__ import annotations

import threading

import geopandas as gpd
import psycopg
import pytest

from layers.store import Store, StoreBusy, open_store
from tests.test_postgis_space_time import incidents

pytestmark = pytest.mark.postgis

NEVER = 10**12


def indexes(url: str) -> dict[str, tuple[int, str]]:
    """The incidents' indexes: name -> (oid, definition)."""
    with psycopg.connect(url) as conn:
        return {name: (oid, definition) for name, oid, definition in conn.execute(
            "SELECT c.relname, c.oid::bigint, pg_get_indexdef(c.oid) FROM pg_index x "
            "JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE x.indrelid = 'incidents'::regclass")}


def definitions(listing: dict[str, tuple[int, str]]) -> dict[str, str]:
    """An index listing without the oids: name -> definition."""
    return {name: definition for name, (_, definition) in listing.items()}


def rebuilt(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> set[str]:
    """The indexes made anew (a new oid) between the two listings."""
    return {name for name, (oid, _) in after.items() if before[name][0] != oid}


def stored(store: Store, url: str) -> tuple[list, list]:
    """The stored incidents (without fid) and the grid summary, in a fixed order."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, occurred_at, category, precision, description, ST_AsText(geom) "
            "FROM incidents ORDER BY id").fetchall()
        cells = conn.execute("SELECT * FROM incident_cells ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
    return rows, cells


@pytest.fixture
def bulk_store(postgis_schema_url: str):
    store = open_store(postgis_schema_url)
    store.initialize()
    store.bulk_min_rows = 100  # the staged path, without a big file
    store.rebuild_min_rows = 100
    try:
        yield store
    finally:
        store.close()


def test_a_first_big_load_rebuilds_the_indexes_and_stores_the_same(
        bulk_store: Store, postgis_schema_url: str):
    url = postgis_schema_url
    with psycopg.connect(url, autocommit=True) as conn:  # one an administrator added
        conn.execute("CREATE INDEX incidents_by_description ON incidents (description)")
    # the row-by-row way first
    bulk_store.rebuild_min_rows = NEVER
    before = indexes(url)
    assert bulk_store.write({"incidents": incidents()})["incidents"].inserted == 400
    assert rebuilt(before, indexes(url)) == set()
    row_by_row = stored(bulk_store, url)
    assert len(row_by_row[0]) == 400 and row_by_row[1]

    # the same rows again into the emptied table, as a big load
    bulk_store.rebuild_min_rows = 100
    before = indexes(url)
    result = bulk_store.write({"incidents": incidents()}, replace={"incidents"})
    assert result["incidents"].inserted == 400
    after = indexes(url)
    assert rebuilt(before, after) == {
        "incidents_geom_idx", "incidents_geom_time_idx", "incidents_time_idx",
        "incidents_category_idx", "incidents_sdo_code_idx", "incidents_by_description",
        "incidents_id_key"}
    assert definitions(indexes(url)) == definitions(before)
    assert stored(bulk_store, url) == row_by_row
    # and the indexes answer: a box through the GiST index
    with psycopg.connect(url) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = " ".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT count(*) FROM incidents WHERE geom && "
            "ST_MakeEnvelope(150000, 6580000, 150300, 6580300, 3011)"))
        assert "incidents_geom" in plan


def test_a_big_load_over_stored_rows_keeps_them_and_adds_the_new(bulk_store: Store,
                                                                  postgis_schema_url: str):
    """Ids stored already are taken out of the stage before the unique index goes."""
    bulk_store.rebuild_min_rows = NEVER
    bulk_store.write({"incidents": incidents(100)})
    bulk_store.rebuild_min_rows = 100
    before = indexes(postgis_schema_url)
    load = incidents(400)
    load["description"] = "ny text"
    result = bulk_store.write({"incidents": load})["incidents"]
    assert (result.inserted, result.unchanged) == (300, 100)
    assert "incidents_id_key" in rebuilt(before, indexes(postgis_schema_url))
    stored_rows = bulk_store.read("incidents").set_index("id")["description"]
    assert (stored_rows[[f"s{i:04d}" for i in range(100)]] != "ny text").all()
    assert (stored_rows[[f"s{i:04d}" for i in range(100, 400)]] == "ny text").all()


def repeated_ids() -> gpd.GeoDataFrame:
    """400 incidents whose last 100 repeat the ids of the first 100."""
    load = incidents(400)
    load.loc[300:, "id"] = [f"s{i:04d}" for i in range(100)]
    load.loc[300:, "description"] = "upprepad"
    return load


def test_ids_repeated_within_a_big_load_fall_back_to_the_row_by_row_way(
        bulk_store: Store, postgis_schema_url: str):
    """The unique constraint fails when it comes back: the load is undone to its
    savepoint and goes in the row-by-row way (ON CONFLICT DO NOTHING keeps the first
    row of each id), with the indexes as they were."""
    before = indexes(postgis_schema_url)
    result = bulk_store.write({"incidents": repeated_ids()})["incidents"]
    assert (result.inserted, result.unchanged) == (300, 100)
    assert rebuilt(before, indexes(postgis_schema_url)) == set()
    stored_rows = bulk_store.read("incidents")
    assert stored_rows["id"].is_unique and len(stored_rows) == 300
    assert not (stored_rows["description"] == "upprepad").any()
    assert definitions(indexes(postgis_schema_url)) == definitions(before)
    assert stored(bulk_store, postgis_schema_url)[1]  # the summary of the 300


def test_a_load_smaller_than_its_table_keeps_the_indexes(bulk_store: Store,
                                                         postgis_schema_url: str):
    bulk_store.write({"incidents": incidents(400)})
    before = indexes(postgis_schema_url)
    more = incidents(550).iloc[400:]  # 150 new rows into a table of 400
    assert bulk_store.write({"incidents": more})["incidents"].inserted == 150
    assert rebuilt(before, indexes(postgis_schema_url)) == set()
    assert bulk_store.count("incidents") == 550


def test_a_failed_big_load_leaves_the_indexes_as_they_were(bulk_store: Store,
                                                           postgis_schema_url: str):
    before = indexes(postgis_schema_url)

    def die(results):
        assert results["incidents"].inserted == 400
        raise KeyboardInterrupt("killed after the insert (simulated)")

    with pytest.raises(KeyboardInterrupt):
        bulk_store.write({"incidents": incidents()}, then=die)
    assert indexes(postgis_schema_url) == before
    assert bulk_store.count("incidents") == 0
    assert bulk_store.write({"incidents": incidents()})["incidents"].inserted == 400


def test_a_big_load_while_a_reader_holds_the_table_keeps_the_indexes(
        bulk_store: Store, postgis_schema_url: str):
    """The exclusive lock is not had within the busy timeout: the load goes in the
    row-by-row way instead of waiting for the reader or failing."""
    bulk_store.busy_timeout = 0.2
    bulk_store.close()  # the next connection takes the new lock_timeout
    before = indexes(postgis_schema_url)
    holding, done = threading.Event(), threading.Event()

    def reader() -> None:
        with psycopg.connect(postgis_schema_url) as conn:
            conn.execute("SELECT count(*) FROM incidents").fetchone()  # ACCESS SHARE, kept
            holding.set()
            assert done.wait(30)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert holding.wait(30)
        assert bulk_store.write({"incidents": incidents()})["incidents"].inserted == 400
    finally:
        done.set()
        thread.join()
    assert rebuilt(before, indexes(postgis_schema_url)) == set()
    assert bulk_store.count("incidents") == 400


def test_readers_get_busy_during_a_big_load_and_the_rows_after(bulk_store: Store,
                                                               postgis_schema_url: str):
    """While the load holds the table's exclusive lock, a reader with a short busy
    timeout gets StoreBusy (the web app's 503 "upptaget"), not a wait without end;
    the data version, read from another table, still answers. After the commit the
    reader sees every row."""
    inside, resume = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def pause(results):
        inside.set()
        assert resume.wait(30)
        return {}

    def reader() -> None:
        assert inside.wait(30)
        other = open_store(postgis_schema_url, busy_timeout=0.2)
        try:
            seen["version"] = other.data_version()
            with pytest.raises(StoreBusy):
                other.count("incidents")
            seen["busy"] = True
        finally:
            other.close()
            resume.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        bulk_store.write({"incidents": incidents()}, then=pause)
    finally:
        resume.set()
        thread.join()
    assert seen.get("busy") and "version" in seen
    other = open_store(postgis_schema_url)
    try:
        assert other.count("incidents") == 400
    finally:
        other.close()
