"""The PostGIS incidents' GiST index on place and time together (schema version 5).

A bbox and a period read through ``incidents_geom_time_idx`` (``btree_gist``) only
the rows inside both. A new store has it; a store of version 4 gets it from
``migrate``; ``btree_gist`` lives beside PostGIS, so dropping one store's schema does
not take it (and the other stores' indexes) along. ``read_boxes`` answers the same
with the index (a scan per box) and without it (the envelope's rows, then the boxes).
"""

from __future__ import annotations

from dataclasses import replace as dc_replace

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from layers.core.schema import LOCAL_TZ, SCHEMA_VERSION, STORE_EPSG
from layers.store import Query, Store, open_store
from layers.store.migrate import migrate, plan

pytestmark = pytest.mark.postgis

START = pd.Timestamp("2024-12-20 10:00", tz=LOCAL_TZ)


def incidents(n: int = 400) -> gpd.GeoDataFrame:
    """Incidents every 29 hours on a 19 × 21 lattice of 60 m steps, some without a place."""
    k = np.arange(n)
    geoms = [shapely.Point(150_000 + 60.0 * (i % 19), 6_580_000 + 60.0 * (i % 21)) for i in k]
    geoms[7] = None
    return gpd.GeoDataFrame({
        "id": [f"s{i:04d}" for i in k],
        "occurred_at": [START + pd.Timedelta(hours=29 * int(i)) for i in k],
        "category": [["stold", "ran", "klotter", "hot"][i % 4] for i in k],
        "precision": [["exact", "street", "stadsdel"][i % 3] for i in k],
        "description": [f"händelse {i}" for i in k],
    }, geometry=gpd.GeoSeries(geoms, crs=STORE_EPSG), crs=STORE_EPSG)


BOXES = [(150_000.0, 6_580_000.0, 150_300.0, 6_580_300.0),
         (150_240.0, 6_580_240.0, 150_600.0, 6_580_700.0),
         (149_000.0, 6_579_000.0, 149_100.0, 6_579_100.0),  # empty
         (150_000.0, 6_580_000.0, 150_300.0, 6_580_300.0),  # repeated
         (150_059.99999, 6_580_059.99999, 150_120.0, 6_580_120.00001)]  # on the lattice
QUERIES = {
    "tertial": Query(start=pd.Timestamp("2025-05-01", tz=LOCAL_TZ),
                     end=pd.Timestamp("2025-09-01", tz=LOCAL_TZ),
                     where={"precision": ("exact", "street")}),
    "from": Query(start=pd.Timestamp("2025-03-01", tz=LOCAL_TZ)),
    "no period": Query(where={"category": ("stold", "ran")}),
}


def index_defs(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'incidents'")]


def assert_boxes_are_reads_per_box(store: Store) -> None:
    for name, query in QUERIES.items():
        got = store.read_boxes("incidents", query, BOXES)
        for box, frame in zip(BOXES, got, strict=True):
            want = store.read("incidents", dc_replace(query, bbox=box))
            pd.testing.assert_frame_equal(pd.DataFrame(frame), pd.DataFrame(want),
                                          obj=f"{name} {box}")
        assert sum(len(f) for f in got) > 0, name


def test_a_new_store_has_the_index_and_btree_gist_beside_postgis(postgis_schema_url: str):
    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        assert any("USING gist (geom, occurred_at)" in d for d in index_defs(postgis_schema_url))
        with psycopg.connect(postgis_schema_url) as conn:
            homes = dict(conn.execute(
                "SELECT extname, extnamespace::regnamespace::text FROM pg_extension "
                "WHERE extname IN ('postgis', 'btree_gist')").fetchall())
            schema = conn.execute("SELECT current_schema()").fetchone()[0]
        assert homes["btree_gist"] == homes["postgis"] != schema
        store.write({"incidents": incidents()})
        assert store._space_time("incidents")
        assert_boxes_are_reads_per_box(store)
    finally:
        store.close()


def test_the_planner_reads_a_box_and_a_period_on_the_index(postgis_schema_url: str):
    """With the time and the geometry index out of the way (enable_* off would not
    do: the planner may still pick them), the box and period use the new index."""
    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        store.write({"incidents": incidents()})
        with psycopg.connect(postgis_schema_url) as conn, conn.transaction(force_rollback=True):
            conn.execute("DROP INDEX incidents_time_idx")
            conn.execute("DROP INDEX incidents_geom_idx")
            conn.execute("SET LOCAL enable_seqscan = off")
            plan_text = "\n".join(r[0] for r in conn.execute(
                "EXPLAIN SELECT fid FROM incidents WHERE geom && "
                "ST_MakeEnvelope(150000, 6580000, 150300, 6580300, 3011) "
                "AND occurred_at >= '2025-05-01' AND occurred_at < '2025-09-01'"))
        assert "incidents_geom_time_idx" in plan_text
        assert "occurred_at >=" in plan_text.split("Cond:", 1)[1]
    finally:
        store.close()


def test_migration_adds_the_index_to_a_version_4_store(postgis_schema_url: str):
    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        store.write({"incidents": incidents()})
        with psycopg.connect(postgis_schema_url, autocommit=True) as conn:
            conn.execute("DROP INDEX incidents_geom_time_idx")
            conn.execute("UPDATE store_meta SET value = '4' WHERE key = 'schema_version'")
        store.close()
        store = open_store(postgis_schema_url)
        assert not store._space_time("incidents")
        # version 4: the boxes are read through their envelope
        assert_boxes_are_reads_per_box(store)
        before = {name: store.read_boxes("incidents", q, BOXES) for name, q in QUERIES.items()}
        todo = plan(store)
        assert [s.version for s in todo.steps] == [5] and SCHEMA_VERSION == 5
        migrate(store, None)
        assert store.schema_version() == 5
        assert any("USING gist (geom, occurred_at)" in d for d in index_defs(postgis_schema_url))
        assert store._space_time("incidents")
        assert_boxes_are_reads_per_box(store)
        for name, query in QUERIES.items():
            after = store.read_boxes("incidents", query, BOXES)
            for old, new in zip(before[name], after, strict=True):
                pd.testing.assert_frame_equal(pd.DataFrame(old), pd.DataFrame(new))
        assert store.count("incidents") == 400
    finally:
        store.close()


def test_dropping_a_stores_schema_keeps_btree_gist(postgis_url: str):
    """Two stores in two schemas: dropping the first leaves the second's index."""
    import uuid

    from psycopg import sql

    names = [f"test_st_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    urls = []
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            separator = "&" if "?" in postgis_url else "?"
            urls.append(f"{postgis_url}{separator}options=-csearch_path%3D{name}%2Cpublic")
    try:
        for url in urls:
            store = open_store(url)
            store.initialize()
            store.close()
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(names[0])))
            assert conn.execute("SELECT count(*) FROM pg_extension "
                                "WHERE extname = 'btree_gist'").fetchone()[0] == 1
        assert any("USING gist (geom, occurred_at)" in d for d in index_defs(urls[1]))
    finally:
        with psycopg.connect(postgis_url, autocommit=True) as conn:
            for name in names:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(name)))
