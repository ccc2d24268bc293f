"""The PostGIS store's staging ``COPY`` built a column at a time (``copy_text``) stores
exactly what psycopg's own row writer stores, for every kind of value and the
characters COPY's text format escapes; a text with a NUL goes the old way."""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import pandas as pd
import psycopg
import pytest
import shapely

from layers.core.schema import LOCAL_TZ, STORE_EPSG
from layers.store import Query, open_store
from layers.store.postgis.writes import copy_text

pytestmark = pytest.mark.postgis

TEXTS = ["plain", "", "back\\slash", "tab\there", "new\nline", "cr\rlf\r\n", "\b\v\f",
         "\\N", "\\.", "å ä ö – €", "'=formula", None, "  spaces  ", "semi;colon,comma"]
INTS = [0, -1, 2**62, -(2**62), 7, None, 123456789012, 1, 2, 3, 4, 5, 6, 8]
FLOATS = [0.1, 1e-300, -0.0, 1 / 3, 1e22, None, 2.5, -17.25, 6_580_000.123456789,
          float("inf"), 3.0, 1e-7, 123.456, float("-inf")]
BOOLS = [True, False, None] * 4 + [True, False]
DATES = [dt.date(2024, 5, 1), None, dt.date(1990, 1, 1), dt.date(2099, 12, 31)] * 3 \
    + [dt.date(2025, 2, 28), None]
GEOMS = [shapely.to_wkb(shapely.Point(150_000 + i, 6_580_000 - i), hex=True)
         if i % 5 else None for i in range(14)]
KINDS = ["int", "str", "int", "float", "bool", "date", "geom"]
TABLE = ("(n int, s text, i bigint, f double precision, b boolean, d date, g text)")


def _columns() -> list[list]:
    return [list(range(14)), TEXTS, INTS, FLOATS, BOOLS, DATES, GEOMS]


def _stored(conn: psycopg.Connection, table: str) -> list[tuple]:
    # float8send: the exact bits (-0.0 and 0.0 compare equal in SQL)
    return conn.execute(f"SELECT n, s, i, float8send(f), b, d, g FROM {table} "
                        "ORDER BY n").fetchall()


def test_copy_text_stores_what_write_row_stores(postgis_url: str):
    data = _columns()
    lines = copy_text(data, KINDS)
    assert lines is not None and lines.count("\n") == 14
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(f"CREATE TEMP TABLE by_rows {TABLE}")
        conn.execute(f"CREATE TEMP TABLE by_text {TABLE}")
        with conn.cursor() as cur, cur.copy("COPY by_rows FROM STDIN") as copy:
            for row in zip(*data, strict=True):
                copy.write_row(row)
        with conn.cursor() as cur, cur.copy("COPY by_text FROM STDIN") as copy:
            copy.write(lines.encode(conn.info.encoding))
        rows, text = _stored(conn, "by_rows"), _stored(conn, "by_text")
    assert len(rows) == 14
    assert text == rows
    # and the values are the ones given, not only the same as psycopg's
    assert [r[1] for r in text] == TEXTS
    assert [r[2] for r in text] == INTS


def test_copy_text_refuses_a_nul_so_the_row_writer_decides():
    data = _columns()
    data[1] = list(TEXTS)
    data[1][0] = "nul\x00inside"
    assert copy_text(data, KINDS) is None


def test_store_write_keeps_texts_with_copy_escapes(postgis_schema_url: str):
    n = 14
    frame = gpd.GeoDataFrame({
        "id": [f"t:{i}" for i in range(n)],
        "occurred_at": pd.date_range("2025-03-01 21:30", periods=n, freq="7h", tz=LOCAL_TZ),
        "category": ["ran"] * n,
        "description": pd.Series(TEXTS, dtype=object),
    }, geometry=[shapely.Point(150_000 + 10 * i, 6_580_000 + 10 * i) for i in range(n)],
        crs=STORE_EPSG)
    store = open_store(postgis_schema_url)
    store.initialize()
    try:
        result = store.write({"incidents": frame})
        assert result["incidents"].inserted == n
        back = store.read("incidents", Query()).set_index("id").loc[frame["id"]]
        got = [None if (v is None or (isinstance(v, float) and math.isnan(v))) else v
               for v in back["description"].tolist()]
        assert got == TEXTS
        assert (back["occurred_at"].to_numpy() == frame["occurred_at"].to_numpy()).all()
        assert shapely.equals(back.geometry.to_numpy(), frame.geometry.to_numpy()).all()
    finally:
        store.close()
