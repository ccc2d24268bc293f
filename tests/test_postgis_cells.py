"""The PostGIS store's grid summary (``incident_cells``) answers exactly as the incidents.

The summary counts incidents per 250 m cell, local month, category, stadsdelsområde
and precision; ``grid_counts`` reads it for the whole years and months of a period and the
incidents for the rest. Every answer here is compared with the generic count from
the points (``Store.grid_counts`` of the base class), and the summary itself with a
fresh count of the stored incidents after inserts, re-inserts, updates, deletes,
replaces and a migration from a store made without it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely

from layers.core.schema import LOCAL_TZ, STORE_EPSG
from layers.store import Query, Store, open_store
from layers.store.migrate import migrate
from layers.store.postgis import cells as pg

pytestmark = pytest.mark.postgis

START = pd.Timestamp("2024-11-20 09:00", tz=LOCAL_TZ)
CATEGORIES = ["ran", "hot", "stold", "klotter", "brand", None]


def incidents(n: int = 240, prefix: str = "c") -> gpd.GeoDataFrame:
    """Incidents every 2 days 7 hours from late 2024 into 2026, on and off cell edges."""
    k = np.arange(n)
    geoms = [shapely.Point(150_000 + 137.5 * (i % 17), 6_580_000 + 93.75 * (i % 23))
             for i in k]
    geoms[3] = None
    geoms[5] = shapely.Point(150_249.999999, 6_580_499.9999999)
    geoms[6] = shapely.Point(-250.0, 6_580_750.0)  # a negative cell
    return gpd.GeoDataFrame({
        "id": [f"{prefix}{i:03d}" for i in k],
        "occurred_at": [START + pd.Timedelta(hours=55 * int(i)) for i in k],
        "category": [CATEGORIES[i % 6] for i in k],
        "source": ["test"] * n,
        "precision": [["exact", "street", "stadsdel", None][i % 4] for i in k],
        "sdo_code": [["rinkeby-kista", "farsta", None][i % 3] for i in k],
    }, geometry=gpd.GeoSeries(geoms, crs=STORE_EPSG), crs=STORE_EPSG)


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=LOCAL_TZ)


QUERIES = {
    "year": Query(start=at("2025-01-01"), end=at("2026-01-01"),
                  where={"category": ("ran", "hot", "stold", "klotter", "brand")}),
    "tertial-area": Query(start=at("2025-05-01"), end=at("2025-09-01"),
                          where={"category": ("ran", "brand"), "sdo_code": ("farsta",)}),
    "mid-month": Query(start=at("2024-12-17 13:30"), end=at("2025-10-03 02:00").tz_convert("UTC"),
                       where={"category": "stold"}),
    "within-a-month": Query(start=at("2025-03-05"), end=at("2025-03-20"),
                            where={"category": ("ran", "hot")}),
    "long": Query(start=at("2024-11-30 23:00"), end=at("2026-03-15"),
                  where={"sdo_code": ("farsta", "rinkeby-kista")}),
    "dst": Query(start=at("2025-03-01"), end=at("2025-04-01")),
    "open-end": Query(start=at("2025-01-01")),
    "other-filter": Query(start=at("2025-01-01"), end=at("2026-01-01"),
                          where={"precision": ("exact",)}),
    "empty-list": Query(start=at("2025-01-01"), end=at("2026-01-01"), where={"category": ()}),
}


@pytest.fixture
def store(postgis_schema_url: str) -> Store:
    store = open_store(postgis_schema_url)
    store.initialize()
    store.write({"incidents": incidents()})
    yield store
    store.close()


def key(span: str, bucket: object, i: object, j: object, category: object,
        sdo_code: object, precise: object) -> tuple:
    """A summary row's key, the same from SQL and from pandas."""
    return (span, pd.Timestamp(bucket).tz_convert("UTC").isoformat(), int(i), int(j),
            None if pd.isna(category) else category, None if pd.isna(sdo_code) else sdo_code,
            bool(precise))


def cells(store: Store) -> dict[tuple, int]:
    """The summary's rows with a count (zeros are left behind by deletes)."""
    rows = store._fetch(pg.sql.SQL(
        "SELECT span, bucket, i, j, category, sdo_code, precise, n FROM incident_cells "
        "WHERE n <> 0"),
        [])
    return {key(*r[:-1]): r[-1] for r in rows}


def counted(store: Store) -> dict[tuple, int]:
    """The summary as it should be: the stored incidents counted now, in pandas (not
    with the SQL that keeps the summary)."""
    from layers.core.privacy import POINT_PRECISIONS

    frame = store.read("incidents")
    placed = frame.geometry.notna() & ~frame.geometry.is_empty & frame["occurred_at"].notna()
    frame = frame[placed]
    local = frame["occurred_at"].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    out: dict[tuple, int] = {}
    for span, unit in (("month", "M"), ("year", "Y")):
        buckets = local.dt.to_period(unit).dt.to_timestamp().dt.tz_localize(LOCAL_TZ)
        for row in zip(buckets, np.floor(frame.geometry.x / pg.CELL_BASE),
                       np.floor(frame.geometry.y / pg.CELL_BASE), frame["category"],
                       frame["sdo_code"], frame["precision"].isin(POINT_PRECISIONS),
                       strict=True):
            k = key(span, *row)
            out[k] = out.get(k, 0) + 1
    return out


def assert_grids_agree(store: Store) -> None:
    for name, query in QUERIES.items():
        for size in (100.0, 250.0, 500.0, 1000.0):
            want = Store.grid_counts(store, query, size)  # from the points
            got = store.grid_counts(query, size)
            for part in ("i", "j", "category", "precise", "n"):
                assert getattr(got, part).tolist() == getattr(want, part).tolist(), (
                    name, size, part)
    assert cells(store) == counted(store)


def test_the_summary_answers_whole_years_and_months_only_when_it_can(store: Store):
    assert store._cell_spans(QUERIES["year"], 250) == (
        [("year", at("2025-01-01"), at("2026-01-01"))], [])
    assert store._cell_spans(QUERIES["mid-month"], 500) == (
        [("month", at("2025-01-01"), at("2025-10-01"))],
        [(QUERIES["mid-month"].start, at("2025-01-01")),
         (at("2025-10-01"), QUERIES["mid-month"].end)])
    assert store._cell_spans(QUERIES["long"], 1000) == (
        [("year", at("2025-01-01"), at("2026-01-01")),
         ("month", at("2024-12-01"), at("2025-01-01")),
         ("month", at("2026-01-01"), at("2026-03-01"))],
        [(at("2024-11-30 23:00"), at("2024-12-01")), (at("2026-03-01"), at("2026-03-15"))])
    assert store._cell_spans(QUERIES["within-a-month"], 250) is None
    assert store._cell_spans(QUERIES["year"], 100) is None
    assert store._cell_spans(QUERIES["open-end"], 250) is None
    assert store._cell_spans(QUERIES["other-filter"], 250) is None
    assert store._cell_spans(Query(bbox=(0, 0, 1, 1), start=at("2025-01-01"),
                                   end=at("2026-01-01")), 250) is None


def test_grid_counts_equal_the_points_after_every_kind_of_write(store: Store):
    assert len(cells(store)) > 50
    assert_grids_agree(store)
    # the same rows again are unchanged and must not count twice
    store.write({"incidents": incidents()})
    assert_grids_agree(store)
    # moved, recategorised, moved in time, placed and unplaced
    assert store.update("incidents", "c010", {"geometry": shapely.Point(151_000, 6_581_000)})
    assert store.update("incidents", "c011", {"category": "brand", "sdo_code": "farsta"})
    assert store.update("incidents", "c012", {"occurred_at": at("2025-07-15 12:00")})
    assert store.update("incidents", "c003", {"geometry": shapely.Point(150_300, 6_580_300)})
    assert store.update("incidents", "c013", {"geometry": None})
    assert store.update("incidents", "c014", {"precision": "stadsdel"})
    # an update whose expectation fails changes nothing
    assert not store.update("incidents", "c015", {"category": "ran"},
                            expect={"source": "not this"})
    assert_grids_agree(store)
    assert store.delete("incidents", ["c020", "c021", "c022", "nonexistent"]) == 3
    assert store.delete("incidents", ["c030"], expect={"source": "not this"}) == 0
    assert_grids_agree(store)
    store.write({"incidents": incidents(60, prefix="r")}, replace=["incidents"])
    assert store.count("incidents") == 60
    assert_grids_agree(store)


def test_a_failed_write_leaves_the_summary_as_it_was(store: Store):
    before = cells(store)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store._cells_add(conn, "incidents", ["c001", "c002"], -1)
        raise RuntimeError("rolled back")
    assert cells(store) == before


def test_migration_builds_the_summary_of_an_older_store(postgis_schema_url: str):
    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        store.write({"incidents": incidents()})
        with psycopg.connect(postgis_schema_url, autocommit=True) as conn:
            conn.execute("DROP TABLE incident_cells")
            conn.execute("UPDATE store_meta SET value = '2' WHERE key = 'schema_version'")
        store.close()
        store = open_store(postgis_schema_url)
        # without the table the store counts incidents (and writes skip the summary)
        query = QUERIES["year"]
        before = store.grid_counts(query, 250)
        assert store.update("incidents", "c010", {"category": "brand"})
        migrate(store, None)
        assert store._cells_exist() and store.schema_version() >= 3
        assert cells(store) == counted(store)
        after = store.grid_counts(query, 250)
        assert after.n.sum() == before.n.sum()
        assert_grids_agree(store)
    finally:
        store.close()
