"""The store contract: the same tests on both backends (GeoPackage and PostGIS).

Every test takes ``any_store`` (initialised) or ``blank_store`` (not yet), which run
once per backend. The PostGIS runs are marked ``postgis`` and get a fresh schema each
(fixture ``postgis_schema_url``); they skip without PostgreSQL + PostGIS except under
``CI=true``, where they fail. Expected answers are computed from the frames written,
so both backends are held to the same answers, not just to each other.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace as dc_replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.core.errors import StoreError
from layers.core.schema import ATTRIBUTE_TABLES, LOCAL_TZ, SPATIAL_LAYERS, STORE_EPSG
from layers.store import Query, Store, geopackage, open_store  # geopackage: RTree white box
from layers.store.base import schema_of
from layers.store.geopackage import rtree  # the RTree white box

BACKENDS = ["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)]
T0 = pd.Timestamp("2024-03-01 08:00", tz=LOCAL_TZ)


@pytest.fixture(params=BACKENDS)
def blank_store(request: pytest.FixtureRequest, tmp_path) -> Store:
    """An empty, not yet initialised store of each backend."""
    if request.param == "geopackage":
        store = open_store(tmp_path / "data")
    else:
        store = open_store(request.getfixturevalue("postgis_schema_url"))
    yield store
    store.close()


@pytest.fixture
def any_store(blank_store: Store) -> Store:
    """An initialised, empty store of each backend."""
    blank_store.initialize()
    return blank_store


# --- sample rows ---------------------------------------------------------------------


def sample_value(kind: str, i: int, name: str = "") -> object:
    """A value of a field kind for row ``i`` (millisecond times: the GeoPackage keeps ms)."""
    if kind == "str":
        return f"{name} {i} åäö \t\\ \"x\"\n"
    if kind == "int":
        return i * 1_000_000_007 - 3
    if kind == "float":
        return i * 0.125 - 1.5
    if kind == "bool":
        return i % 2 == 0
    if kind == "datetime":
        # across the change to summer time (2024-03-31) and with milliseconds
        return T0 + pd.Timedelta(days=15 * i, hours=i, milliseconds=123 * i)
    if kind == "date":
        return dt.date(2020, 7, 1) + dt.timedelta(days=40 * i)
    raise AssertionError(kind)


def sample_geometry(geometry_type: str, i: int) -> shapely.Geometry:
    x, y = 150_000 + 100 * i, 6_580_000 + 50 * i
    square = shapely.box(x, y, x + 20, y + 30)
    if geometry_type == "POINT":
        return shapely.Point(x + 0.25, y + 0.5)
    if geometry_type == "MULTIPOLYGON":
        return shapely.MultiPolygon([square, shapely.box(x + 40, y, x + 50, y + 10)])
    if geometry_type == "MULTILINESTRING":
        return shapely.MultiLineString([[(x, y), (x + 5, y + 7)], [(x + 9, y), (x + 20, y + 3)]])
    # GEOMETRY (findings): points, short lines and polygons
    return [shapely.Point(x, y), shapely.LineString([(x, y), (x + 5, y + 7)]), square][i % 3]


def sample_frame(layer: str, n: int = 3, *, prefix: str = "r") -> pd.DataFrame:
    """Rows of every field of a layer; the last row has every optional value missing."""
    schema = schema_of(layer)
    data: dict[str, list] = {}
    for f in schema.fields:
        values = [sample_value(f.kind, i, f.name) for i in range(n)]
        if f.name in ("id", "code"):
            values = [f"{prefix}{i}" for i in range(n)]
        elif not f.required:
            values[-1] = None
        data[f.name] = values
    if not schema.geometry_type:
        return pd.DataFrame(data)
    geoms = [sample_geometry(schema.geometry_type, i) for i in range(n)]
    if layer == "findings":
        geoms[-1] = None
    return gpd.GeoDataFrame(data, geometry=geoms, crs=STORE_EPSG)


def assert_same_values(read: pd.DataFrame, written: pd.DataFrame, layer: str) -> None:
    """Compare a read frame with the written one, field by field, with the kinds' dtypes."""
    schema = schema_of(layer)
    assert list(read.columns[: len(schema.fields)]) == schema.names
    assert len(read) == len(written)
    for f in schema.fields:
        got, want = read[f.name], written[f.name]
        if f.kind == "datetime":
            assert isinstance(got.dtype, pd.DatetimeTZDtype), f.name
            assert str(got.dtype.tz) == LOCAL_TZ, f.name
            want = pd.to_datetime(want, utc=True).dt.tz_convert(LOCAL_TZ)
            assert [None if pd.isna(v) else v for v in got] == \
                [None if pd.isna(v) else v for v in want], f.name
            continue
        expected_dtype = {"bool": "boolean", "int": "Int64", "float": "float64"}.get(f.kind, object)
        assert got.dtype == expected_dtype, f.name
        got_values = [None if pd.isna(v) else v for v in got]
        want_values = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
                       for v in want]
        assert got_values == want_values, f.name
        if f.kind == "date":
            assert all(v is None or type(v) is dt.date for v in got_values), f.name
    if schema.geometry_type:
        assert isinstance(read, gpd.GeoDataFrame)
        assert read.crs.to_epsg() == STORE_EPSG
        for got, want in zip(read.geometry, written.geometry, strict=True):
            if want is None:
                assert got is None
            else:
                assert got.geom_type == want.geom_type
                assert shapely.equals_exact(got, want, tolerance=0)


def counts(store: Store) -> dict[str, int]:
    return {name: store.count(name) for name in (*SPATIAL_LAYERS, *ATTRIBUTE_TABLES)}


# --- schema ---------------------------------------------------------------------------


def test_initialize_is_idempotent(blank_store: Store):
    assert not blank_store.is_initialized()
    blank_store.initialize()
    assert blank_store.is_initialized()
    assert blank_store.ping()
    blank_store.write({"incidents": sample_frame("incidents")})
    blank_store.initialize()
    assert blank_store.is_initialized()
    assert blank_store.count("incidents") == 3
    assert all(blank_store.count(name) == 0 for name in counts(blank_store) if name != "incidents")


def test_empty_reads_have_the_schema(any_store: Store):
    for name in (*SPATIAL_LAYERS, *ATTRIBUTE_TABLES):
        frame = any_store.read(name)
        assert len(frame) == 0
        assert list(frame.columns[: len(schema_of(name).fields)]) == schema_of(name).names
        assert isinstance(frame, gpd.GeoDataFrame) == bool(schema_of(name).geometry_type)


# --- writing -------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [*SPATIAL_LAYERS, *ATTRIBUTE_TABLES])
def test_round_trip_of_every_field_kind_and_geometry(any_store: Store, layer: str):
    frame = sample_frame(layer, n=4)
    result = any_store.write({layer: frame})
    assert result[layer].inserted == 4 and result[layer].unchanged == 0
    assert_same_values(any_store.read(layer), frame, layer)


def test_round_trip_of_pandas_dtypes(any_store: Store):
    """Nullable pandas dtypes and numpy scalars go in as well as Python values."""
    frame = sample_frame("findings", n=4)
    frame["severity"] = pd.array([1, 2, None, 3], dtype="Int64")
    frame["found_at"] = pd.to_datetime(frame["found_at"]).dt.tz_convert("UTC")
    frame["created_at"] = pd.Series([None] * 4, dtype="datetime64[ns, UTC]")
    frame["status"] = pd.array(["ny", None, "tilldelad", "ny"], dtype="string")
    any_store.write({"findings": frame})
    assert_same_values(any_store.read("findings"), frame, "findings")


def test_polygons_in_a_multipolygon_layer_keep_their_shape(any_store: Store):
    square = shapely.box(150_000, 6_580_000, 150_100, 6_580_100)
    frame = sample_frame("sites", n=1)
    frame = frame.set_geometry([square], crs=STORE_EPSG)
    any_store.write({"sites": frame})
    stored = any_store.read("sites").geometry.iloc[0]
    assert stored.geom_type in ("Polygon", "MultiPolygon")
    assert stored.equals(square)


def test_writing_the_same_rows_twice_changes_nothing(any_store: Store):
    frames = {name: sample_frame(name) for name in ("incidents", "findings", "sites", "walks")}
    first = any_store.write(frames)
    before = counts(any_store)
    second = any_store.write(frames)
    assert {k: (r.inserted, r.unchanged) for k, r in first.items()} == \
        {k: (3, 0) for k in frames}
    assert {k: (r.inserted, r.unchanged) for k, r in second.items()} == \
        {k: (0, 3) for k in frames}
    assert counts(any_store) == before


def test_duplicate_ids_in_one_frame_keep_the_first(any_store: Store):
    frame = sample_frame("incidents", n=3)
    frame.loc[2, "id"] = "r0"
    result = any_store.write({"incidents": frame})
    assert (result["incidents"].inserted, result["incidents"].unchanged) == (2, 1)
    stored = any_store.read("incidents", Query(where={"id": "r0"}))
    assert stored["category"].tolist() == [frame.loc[0, "category"]]


def test_new_and_stored_rows_mixed(any_store: Store):
    any_store.write({"incidents": sample_frame("incidents", n=3)})
    result = any_store.write({"incidents": sample_frame("incidents", n=5)})
    assert (result["incidents"].inserted, result["incidents"].unchanged) == (2, 3)
    assert any_store.count("incidents") == 5


def test_replace_empties_a_layer_first(any_store: Store):
    any_store.write({"stadsdelar": sample_frame("stadsdelar", n=4)})
    result = any_store.write({"stadsdelar": sample_frame("stadsdelar", n=2, prefix="s")},
                             replace=("stadsdelar",))
    assert result["stadsdelar"].inserted == 2
    assert any_store.read("stadsdelar")["code"].tolist() == ["s0", "s1"]


def test_unique_keys_of_the_reference_layers(any_store: Store):
    areas = sample_frame("stadsdelsomraden", n=2)
    areas["division"] = ["2020", "2020"]
    again = areas.assign(division=["2023", "2023"])
    result = any_store.write({"stadsdelsomraden": pd.concat([areas, again, areas])})
    assert (result["stadsdelsomraden"].inserted, result["stadsdelsomraden"].unchanged) == (4, 2)
    result = any_store.write({"stadsdelar": pd.concat([sample_frame("stadsdelar")] * 2)})
    assert (result["stadsdelar"].inserted, result["stadsdelar"].unchanged) == (3, 3)


def test_then_rows_are_written_in_the_same_transaction(any_store: Store):
    seen = {}

    def log(results):
        seen.update(results)
        entry = sample_frame("import_log", n=1, prefix="log")
        entry["rows_loaded"] = results["incidents"].inserted
        return {"import_log": entry}

    results = any_store.write({"incidents": sample_frame("incidents", n=3)}, then=log)
    assert seen["incidents"].inserted == 3
    assert results["import_log"].inserted == 1
    assert any_store.read("import_log")["rows_loaded"].tolist() == [3]

    def fail(results):
        raise RuntimeError("then failed")

    before = counts(any_store)
    with pytest.raises(RuntimeError):
        any_store.write({"incidents": sample_frame("incidents", n=6)}, then=fail)
    assert counts(any_store) == before

    def bad_log(results):
        entry = sample_frame("import_log", n=1, prefix="log2")
        entry["rows_read"] = ["många"]
        return {"import_log": entry}

    with pytest.raises(ValueError):
        any_store.write({"incidents": sample_frame("incidents", n=6)}, then=bad_log)
    assert counts(any_store) == before


@pytest.mark.parametrize("bad", ["inte ett tal", 2**70], ids=["text", "overflow"])
def test_a_failure_mid_write_leaves_every_table_unchanged(any_store: Store, bad: object):
    any_store.write({"stadsdelar": sample_frame("stadsdelar"),
                     "incidents": sample_frame("incidents", n=2)})
    before = counts(any_store)
    # small chunks: the bad last row fails after the first chunks went to the database
    any_store.chunk_size = 10
    findings = sample_frame("findings", n=25, prefix="f")
    findings["severity"] = [1] * 24 + [bad]
    with pytest.raises(Exception):  # noqa: B017 - each backend has its own error class
        any_store.write(
            {"incidents": sample_frame("incidents", n=30, prefix="new"),
             "stadsdelar": sample_frame("stadsdelar", n=1, prefix="s"),
             "findings": findings},
            replace=("stadsdelar",))
    assert counts(any_store) == before
    assert any_store.read("stadsdelar")["code"].tolist() == ["r0", "r1", "r2"]
    # and the store still works afterwards
    findings["severity"] = 2
    assert any_store.write({"findings": findings})["findings"].inserted == 25


# --- reading -------------------------------------------------------------------------


def query_frame() -> gpd.GeoDataFrame:
    """60 incidents on a grid, 12 hours apart, well inside or outside any test bbox."""
    n = 60
    i = np.arange(n)
    categories = ["ran", "hot", "stold", "klotter", "brand"]
    return gpd.GeoDataFrame(
        {
            "id": [f"q{k:02d}" for k in i],
            "occurred_at": [T0 + pd.Timedelta(hours=12 * k) for k in i],
            "category": [categories[k % 5] for k in i],
            "source": ["test"] * n,
            "victim_gender": [[None, "kvinna", "man"][k % 3] for k in i],
            "strategic": [k % 5 == 0 for k in i],
            "sdo_code": [["rinkeby-kista", "farsta", None][k % 3] for k in i],
        },
        geometry=[shapely.Point(150_005 + 100 * (k % 10), 6_580_005 + 100 * (k // 10))
                  for k in i],
        crs=STORE_EPSG,
    )


def expected_ids(frame: gpd.GeoDataFrame, query: Query) -> list[str]:
    """What every backend must answer: filter, order (NULLs first), limit, offset."""
    keep = np.ones(len(frame), dtype=bool)
    if query.bbox:
        minx, miny, maxx, maxy = query.bbox
        x, y = frame.geometry.x, frame.geometry.y
        keep &= ((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)).to_numpy()
    if query.start is not None:
        keep &= (frame["occurred_at"] >= query.start).to_numpy(bool)
    if query.end is not None:
        keep &= (frame["occurred_at"] < query.end).to_numpy(bool)
    for key, value in query.where.items():
        column = frame[key]
        if isinstance(value, tuple):
            keep &= column.isin(value).to_numpy(bool)
        elif value is None:
            keep &= column.isna().to_numpy(bool)
        else:
            keep &= (column == value).to_numpy(bool)
    selected = frame[keep]
    if query.order_by:
        selected = selected.sort_values(query.order_by, na_position="first", kind="stable")
    ids = selected["id"].tolist()[query.offset:]
    return ids if query.limit is None else ids[: query.limit]


QUERIES = {
    "all": Query(),
    "bbox": Query(bbox=(150_100, 6_580_100, 150_450, 6_580_350)),
    "bbox-outside": Query(bbox=(100_000, 6_500_000, 100_010, 6_500_010)),
    "start-inclusive": Query(start=T0 + pd.Timedelta(hours=12 * 50)),
    "end-exclusive": Query(end=T0 + pd.Timedelta(hours=12 * 10)),
    "period": Query(start=T0 + pd.Timedelta(hours=12 * 20), end=T0 + pd.Timedelta(hours=12 * 30)),
    "period-utc": Query(start=(T0 + pd.Timedelta(hours=12 * 20)).tz_convert("UTC").to_pydatetime(),
                        end=(T0 + pd.Timedelta(hours=12 * 30)).tz_convert("UTC").to_pydatetime()),
    "where-scalar": Query(where={"category": "ran"}),
    "where-tuple": Query(where={"category": ("hot", "brand")}),
    "where-empty-tuple": Query(where={"category": ()}),
    "where-none": Query(where={"victim_gender": None}),
    "where-bool": Query(where={"strategic": True}),
    "where-two": Query(where={"sdo_code": "farsta", "category": ("ran", "stold", "klotter")}),
    "everything": Query(bbox=(150_000, 6_580_000, 150_700, 6_580_500),
                        start=T0 + pd.Timedelta(days=3), end=T0 + pd.Timedelta(days=25),
                        where={"victim_gender": ("kvinna", "man")}),
    "limit": Query(limit=7),
    "offset": Query(offset=55),
    "page": Query(limit=10, offset=20, order_by="occurred_at"),
    "order-str-nulls-first": Query(order_by="victim_gender"),
    "order-id": Query(order_by="id", where={"strategic": False}, limit=5, offset=3),
    "limit-zero": Query(limit=0),
}


@pytest.fixture
def query_store(any_store: Store) -> Store:
    frame = query_frame()
    # inserted out of id order, so the default order (as written) is not the id order
    any_store.write({"incidents": frame.iloc[::-1].reset_index(drop=True)})
    return any_store


@pytest.mark.parametrize("name", list(QUERIES))
def test_queries_give_the_same_answers(query_store: Store, name: str):
    query = QUERIES[name]
    written = query_frame().iloc[::-1].reset_index(drop=True)
    want = expected_ids(written, query)
    got = query_store.read("incidents", query)
    if query.order_by and query.limit is None and not query.offset:
        # ties may come in any order: compare the sort keys and the rows
        order = query_frame().set_index("id").loc[want, query.order_by]
        assert got[query.order_by].fillna("").tolist() == order.fillna("").tolist()
        assert sorted(got["id"]) == sorted(want)
    else:
        assert got["id"].tolist() == want
    unpaged = Query(bbox=query.bbox, start=query.start, end=query.end, where=query.where)
    assert query_store.count("incidents", query) == len(expected_ids(written, unpaged))


# --- fast reads: the capabilities each backend answers in its own database -------------

CAPABILITY_QUERIES = ["all", "bbox", "bbox-outside", "period", "where-tuple", "where-none",
                      "where-empty-tuple", "everything"]


def capability_frame() -> gpd.GeoDataFrame:
    """The query frame with precisions, points on cell edges and one without a place."""
    frame = query_frame()
    frame["precision"] = [["exact", "street", "stadsdel", None][k % 4] for k in range(60)]
    geoms = frame.geometry.to_numpy().copy()
    geoms[7] = shapely.Point(150_000.0, 6_580_250.0)  # on the edges of 100 m and 250 m cells
    geoms[8] = shapely.Point(150_249.999999, 6_580_499.9999999)  # just inside one
    geoms[9] = None
    return frame.set_geometry(gpd.GeoSeries(geoms, crs=STORE_EPSG))


@pytest.fixture
def capability_store(any_store: Store) -> Store:
    any_store.write({"incidents": capability_frame()})
    return any_store


def _selected(query: Query) -> gpd.GeoDataFrame:
    """The rows of the capability frame a query selects (computed here, not read)."""
    frame = capability_frame()
    keep = frame["id"].isin(expected_ids(frame, Query(
        bbox=query.bbox, start=query.start, end=query.end, where=query.where)))
    return frame[keep.to_numpy(bool)]


@pytest.mark.parametrize("name", CAPABILITY_QUERIES)
def test_read_points_are_the_points_of_the_rows(capability_store: Store, name: str):
    query = QUERIES[name]
    rows = _selected(query)
    rows = rows[~rows.geometry.isna().to_numpy(bool)]
    want = sorted(zip(rows.geometry.x, rows.geometry.y, rows["category"],
                      rows["precision"].isin(("exact", "street")), strict=True))
    got = capability_store.read_points(query)
    assert sorted(zip(got.x.tolist(), got.y.tolist(), got.category.tolist(),
                      got.precise.tolist(), strict=True)) == want


def _points_of(rows: gpd.GeoDataFrame) -> list[tuple]:
    rows = rows[~rows.geometry.isna().to_numpy(bool)]
    return sorted(zip(rows.geometry.x, rows.geometry.y, rows["category"],
                      rows["precision"].isin(("exact", "street")), strict=True))


HOURS = pd.Timedelta(hours=12)
#: Period lists for read_points_periods: disjoint (in and out of order), touching at
#: an end (exclusive), in UTC, overlapping (then one read per period), one and none.
PERIOD_SETS = {
    "disjoint": [(T0 + 30 * HOURS, T0 + 45 * HOURS), (T0 + 5 * HOURS, T0 + 15 * HOURS)],
    "touching": [(T0, T0 + 20 * HOURS), (T0 + 20 * HOURS, T0 + 21 * HOURS),
                 (T0 + 40 * HOURS, T0 + 100 * HOURS)],
    "utc": [((T0 + 10 * HOURS).tz_convert("UTC").to_pydatetime(),
             (T0 + 20 * HOURS).tz_convert("UTC").to_pydatetime()),
            (T0 - 100 * HOURS, T0 - 50 * HOURS)],
    "overlapping": [(T0, T0 + 30 * HOURS), (T0 + 10 * HOURS, T0 + 40 * HOURS)],
    "one": [(T0 + 3 * HOURS, T0 + 33 * HOURS)],
    "none": [],
}


@pytest.mark.parametrize("periods", list(PERIOD_SETS))
@pytest.mark.parametrize("name", CAPABILITY_QUERIES)
def test_read_points_periods_are_read_points_per_period(capability_store: Store, name: str,
                                                        periods: str):
    """One Points per period, each the points read_points gives for that period (the
    query's own period replaced); the periods together select rows."""
    query = QUERIES[name]
    spans = PERIOD_SETS[periods]
    got = capability_store.read_points_periods(query, spans)
    assert len(got) == len(spans)
    for (start, end), points in zip(spans, got, strict=True):
        want = _points_of(_selected(dc_replace(query, start=start, end=end)))
        assert sorted(zip(points.x.tolist(), points.y.tolist(), points.category.tolist(),
                          points.precise.tolist(), strict=True)) == want
    if name == "all" and periods in ("disjoint", "touching"):
        assert all(len(points) > 0 for points in got)


@pytest.mark.parametrize("name", ["all", "period", "where-tuple", "everything"])
def test_read_boxes_is_read_per_box(capability_store: Store, name: str):
    """One frame per box, equal to read() with that box (rows, order and values);
    an empty box, a repeated one and overlapping ones included."""
    frame = capability_frame()
    x0, y0, x1, y1 = frame.total_bounds
    mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [(x0, y0, mid_x, mid_y), (mid_x, mid_y, x1, y1), (x0, y0, x1, y1),
             (x0 - 1000.0, y0 - 1000.0, x0 - 999.0, y0 - 999.0), (x0, y0, mid_x, mid_y),
             (150_000.0, 6_580_250.0, 150_249.999999, 6_580_499.9999999)]
    query = QUERIES[name]
    got = capability_store.read_boxes("incidents", query, boxes)
    assert len(got) == len(boxes)
    for box, frame_got in zip(boxes, got, strict=True):
        want = capability_store.read("incidents", dc_replace(query, bbox=box))
        assert frame_got["id"].tolist() == want["id"].tolist()
        pd.testing.assert_frame_equal(pd.DataFrame(frame_got), pd.DataFrame(want))
    assert capability_store.read_boxes("incidents", query, []) == []


@pytest.mark.parametrize("name", CAPABILITY_QUERIES)
def test_read_boxes_with_fields_reads_those_columns(capability_store: Store, name: str):
    """``fields``: the same rows as without, only those columns (schema order, the
    geometry last), whatever order they are asked in; an unknown field is refused."""
    frame = capability_frame()
    x0, y0, x1, y1 = frame.total_bounds
    mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [(x0, y0, mid_x, mid_y), (mid_x, mid_y, x1, y1), (x0, y0, x1, y1),
             (x0 - 1000.0, y0 - 1000.0, x0 - 999.0, y0 - 999.0)]
    query = QUERIES[name]
    fields = ("description", "occurred_at", "category", "precision")
    whole = capability_store.read_boxes("incidents", query, boxes)
    got = capability_store.read_boxes("incidents", query, boxes, fields=fields)
    assert len(got) == len(boxes)
    if name in ("all", "period"):  # both PostGIS paths (without and with a period) read rows
        assert sum(len(f) for f in got) > 0
    columns = ["occurred_at", "category", "precision", "description", "geometry"]
    for frame_got, frame_whole in zip(got, whole, strict=True):
        assert list(frame_got.columns) == columns
        assert frame_got.geometry.name == "geometry"
        pd.testing.assert_frame_equal(pd.DataFrame(frame_got),
                                      pd.DataFrame(frame_whole[columns]))
    with pytest.raises(KeyError):
        capability_store.read_boxes("incidents", query, boxes, fields=("no_such_field",))


def test_placed_count_counts_placed_points(capability_store: Store):
    """Street or better with a point: what the ranking's read_points returns."""
    rows = capability_frame()
    placed = rows["precision"].isin(("exact", "street")) & ~rows.geometry.isna()
    assert capability_store.placed_count() == int(placed.sum())


@pytest.mark.parametrize("size", [100.0, 250.0])
@pytest.mark.parametrize("name", CAPABILITY_QUERIES)
def test_grid_counts_per_cell_category_and_precision(capability_store: Store, name: str,
                                                     size: float):
    rows = _selected(QUERIES[name])
    rows = rows[~rows.geometry.isna().to_numpy(bool)]
    want: dict[tuple, int] = {}
    for x, y, category, precision in zip(rows.geometry.x, rows.geometry.y, rows["category"],
                                         rows["precision"], strict=True):
        key = (int(np.floor(x / size)), int(np.floor(y / size)), category,
               precision in ("exact", "street"))
        want[key] = want.get(key, 0) + 1
    got = capability_store.grid_counts(QUERIES[name], size)
    assert got.size == size and len(got) == len(want)
    assert {(int(i), int(j), c, bool(p)): int(n) for i, j, c, p, n in zip(
        got.i, got.j, got.category, got.precise, got.n, strict=True)} == want


@pytest.mark.parametrize("fields", [["category"], ["sdo_code", "category"], ["strategic"],
                                    ["victim_gender", "precision"]])
@pytest.mark.parametrize("name", ["all", "bbox", "period", "where-tuple", "everything"])
def test_count_by_groups_in_the_database(capability_store: Store, name: str,
                                         fields: list[str]):
    rows = _selected(QUERIES[name])
    want: dict[tuple, int] = {}
    for values in zip(*(rows[f] for f in fields), strict=True):
        key = tuple(None if v is None or (not isinstance(v, str) and pd.isna(v)) else v
                    for v in values)
        want[key] = want.get(key, 0) + 1
    got = capability_store.count_by("incidents", fields, QUERIES[name])
    assert list(got.columns) == [*fields, "n"] and got["n"].dtype == np.int64
    pairs = [(tuple(None if pd.isna(v) else (bool(v) if f == "strategic" else v)
                    for f, v in zip(fields, row[:-1], strict=True)), int(row[-1]))
             for row in got.itertuples(index=False)]
    assert dict(pairs) == want and len(pairs) == len(want)
    # sorted by the fields, missing values first: the same order on every backend
    keys = [tuple((v is not None, v) for v in key) for key, _ in pairs]
    assert keys == sorted(keys)


@pytest.mark.parametrize("name", ["all", "everything", "where-none"])
def test_generic_fast_reads_agree_with_the_backend(capability_store: Store, name: str):
    """The base class's generic versions (for a store without SQL of its own) give
    the backend's answers."""
    query = QUERIES[name]
    fields = ["sdo_code", "category"]
    generic = Store.count_by(capability_store, "incidents", fields, query)
    backend = capability_store.count_by("incidents", fields, query)
    assert generic.to_dict("records") == backend.to_dict("records")
    a, b = Store.grid_counts(capability_store, query, 250), \
        capability_store.grid_counts(query, 250)
    for part in ("i", "j", "category", "precise", "n"):
        assert getattr(a, part).tolist() == getattr(b, part).tolist(), part


def test_count_by_refuses_unknown_fields(capability_store: Store):
    with pytest.raises(KeyError):
        capability_store.count_by("incidents", ["nonsense"])


@pytest.mark.parametrize("name", ["bbox", "everything", "all", "where-tuple"])
@pytest.mark.parametrize("limit", [1, 4, 50])
def test_read_page_pages_cover_the_rows_once_in_a_stable_order(capability_store: Store,
                                                               name: str, limit: int):
    from dataclasses import replace

    query = QUERIES[name]
    if query.bbox is None:
        query = replace(query, bbox=(149_000, 6_579_000, 152_000, 6_582_000))
    want = sorted(_selected(query)["id"])

    def pages() -> list[str]:
        got, offset = [], 0
        while True:
            page = capability_store.read_page("incidents", replace(query, limit=limit,
                                                                   offset=offset))
            assert len(page) <= limit
            got += page["id"].tolist()
            if len(page) < limit:
                return got
            offset += limit

    first = pages()
    assert sorted(first) == want and len(set(first)) == len(first)
    assert pages() == first


def test_read_page_without_a_bbox_is_in_time_order(capability_store: Store):
    page = capability_store.read_page("incidents", Query(limit=5, offset=3))
    times = capability_frame().sort_values("occurred_at")["id"].tolist()
    assert page["id"].tolist() == times[3:8]


@pytest.mark.parametrize("name", ["all", "bbox", "bbox-outside", "period", "where-tuple",
                                  "where-empty-tuple", "everything"])
def test_time_span_is_the_first_and_last_time(capability_store: Store, name: str):
    rows = _selected(QUERIES[name])
    got = capability_store.time_span("incidents", QUERIES[name])
    if rows.empty:
        assert got is None
        return
    want = (rows["occurred_at"].min(), rows["occurred_at"].max())
    assert got == want and all(str(t.tz) == LOCAL_TZ for t in got)
    assert Store.time_span(capability_store, "incidents", QUERIES[name]) == want
    with pytest.raises(ValueError):
        capability_store.time_span("sites")


def test_location_opens_the_same_store(capability_store: Store):
    capability_store.checkpoint()
    other = open_store(capability_store.location())
    try:
        assert other.kind == capability_store.kind
        assert other.count("incidents") == 60
        assert other.data_version() == capability_store.data_version()
    finally:
        other.close()


def test_query_parts_that_do_not_apply_are_ignored(any_store: Store):
    any_store.write({"sites": sample_frame("sites"), "walks": sample_frame("walks")})
    assert any_store.count("sites", Query(start=T0, end=T0)) == 3
    assert len(any_store.read("walks", Query(bbox=(0, 0, 1, 1)))) == 3


def test_where_on_int_and_date_fields(any_store: Store):
    findings = sample_frame("findings", n=5)
    findings["severity"] = [1, 2, 3, 2, 1]
    walks = sample_frame("walks", n=3)
    any_store.write({"findings": findings, "walks": walks})
    got = any_store.read("findings", Query(where={"severity": 2}))
    assert got["id"].tolist() == ["r1", "r3"]
    assert any_store.count("findings", Query(where={"severity": (1, 3)})) == 3
    day = walks.loc[1, "date"]
    assert any_store.read("walks", Query(where={"date": day}))["id"].tolist() == ["r1"]


def test_unknown_fields_are_refused(any_store: Store):
    with pytest.raises(KeyError):
        any_store.read("incidents", Query(where={"no_such_field": 1}))


# --- changing ------------------------------------------------------------------------


def test_update_fields_and_geometry(any_store: Store):
    any_store.write({"findings": sample_frame("findings", n=3)})
    when = pd.Timestamp("2024-06-01 12:30:15.250", tz=LOCAL_TZ)
    line = shapely.LineString([(151_000, 6_581_000), (151_010, 6_581_020)])
    assert any_store.update("findings", "r1", {
        "status": "atgardad", "fixed_at": when, "severity": 3, "geometry": line})
    row = any_store.read("findings", Query(where={"id": "r1"})).iloc[0]
    assert row["status"] == "atgardad"
    assert row["fixed_at"] == when
    assert row["severity"] == 3
    assert shapely.equals_exact(row.geometry, line, tolerance=0)
    assert any_store.update("findings", "r0", {"description": None, "geometry": None})
    row = any_store.read("findings", Query(where={"id": "r0"})).iloc[0]
    assert row["description"] is None and row.geometry is None
    assert any_store.update("findings", "nope", {"status": "ny"}) is False
    # the spatial index follows the geometry
    assert any_store.read("findings", Query(bbox=(150_990, 6_580_990, 151_020, 6_581_030)))[
        "id"].tolist() == ["r1"]


def test_update_multipolygon_layer(any_store: Store):
    any_store.write({"sites": sample_frame("sites", n=2)})
    square = shapely.box(152_000, 6_582_000, 152_010, 6_582_010)
    assert any_store.update("sites", "r0", {"name": "Torget", "start_date": dt.date(2025, 1, 2),
                                             "geometry": square})
    row = any_store.read("sites", Query(where={"id": "r0"})).iloc[0]
    assert row["name"] == "Torget" and row["start_date"] == dt.date(2025, 1, 2)
    assert row.geometry.equals(square)


def test_delete(any_store: Store):
    any_store.write({"incidents": sample_frame("incidents", n=5)})
    assert any_store.delete("incidents", ["r1", "r3", "nope"]) == 2
    assert any_store.read("incidents")["id"].tolist() == ["r0", "r2", "r4"]
    assert any_store.delete("incidents", ["r1"]) == 0
    assert any_store.delete("incidents", []) == 0


def _rtree_state(store: Store) -> dict[str, object]:
    """What the GeoPackage's RTree of incidents holds, and what it should hold."""
    conn = store.conn
    table = "rtree_incidents_geom"
    entries = {r[0]: r[1:] for r in conn.execute(
        f"SELECT id, minx, maxx, miny, maxy FROM {table}")}
    rows = conn.execute("SELECT fid, geom FROM incidents").fetchall()
    geoms = geopackage.decode_geometries([g for _, g in rows])
    with_geometry = {fid: g for (fid, _), g in zip(rows, geoms, strict=True)
                     if g is not None and not g.is_empty}
    triggers = {name: sql for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'incidents'")}
    return {"check": conn.execute(f"SELECT rtreecheck('{table}')").fetchone()[0],
            "entries": entries, "with_geometry": with_geometry, "triggers": triggers}


def assert_rtree_follows(store: Store) -> None:
    state = _rtree_state(store)
    assert state["check"] == "ok"
    # one entry per row with a non-empty geometry, and none for the others
    assert sorted(state["entries"]) == sorted(state["with_geometry"])
    for fid, geom in state["with_geometry"].items():
        minx, maxx, miny, maxy = state["entries"][fid]
        gx0, gy0, gx1, gy1 = geom.bounds
        # float32 boxes rounded outwards: they contain the geometry, within a metre
        assert minx <= gx0 <= gx1 <= maxx and miny <= gy0 <= gy1 <= maxy, fid
        assert gx0 - minx < 1 and maxx - gx1 < 1 and gy0 - miny < 1 and maxy - gy1 < 1, fid
    want = {name: sql.strip().rstrip(";")
            for name, sql in rtree.rtree_triggers("incidents").items()}
    assert {name: sql.strip().rstrip(";") for name, sql in state["triggers"].items()} == want


@pytest.mark.parametrize("rebuild_min", [1, 10**9], ids=["packed-rebuild", "inserts"])
def test_bulk_writes_keep_the_geopackage_rtree_and_its_triggers(tmp_path, monkeypatch,
                                                                rebuild_min: int):
    """GeoPackage only: the bulk path drops the insert trigger and fills the RTree itself."""
    monkeypatch.setattr(rtree, "_REBUILD_MIN", rebuild_min)
    store = open_store(tmp_path / "data")
    assert store.kind == "geopackage"
    store.bulk_min_rows = 10
    store.initialize()
    try:
        first = sample_frame("incidents", n=300, prefix="a")
        geoms = first.geometry.to_numpy().copy()
        geoms[[5, 17]] = None
        geoms[40] = shapely.Point()
        first = first.set_geometry(gpd.GeoSeries(geoms, crs=STORE_EPSG))
        assert store.write({"incidents": first})["incidents"].inserted == 300
        assert_rtree_follows(store)
        assert len(_rtree_state(store)["entries"]) == 297

        # stored rows (every other one) mixed with new ones and a duplicate in the frame
        new = sample_frame("incidents", n=200, prefix="b")
        again = pd.concat([first.iloc[::2], new, new.iloc[[0]], first.iloc[1::4]],
                          ignore_index=True)
        again = gpd.GeoDataFrame(again, geometry="geometry", crs=STORE_EPSG)
        result = store.write({"incidents": again})["incidents"]
        assert (result.inserted, result.unchanged) == (200, len(again) - 200)
        assert_rtree_follows(store)
        assert len(_rtree_state(store)["entries"]) == 497

        # a few new rows into the big table (the rebuild does not pay: inserts)
        more = sample_frame("incidents", n=20, prefix="c")
        assert store.write({"incidents": more})["incidents"].inserted == 20
        assert_rtree_follows(store)
        # a single row: below bulk_min_rows, through the insert trigger
        one = sample_frame("incidents", n=2, prefix="d").iloc[:1]
        assert store.write({"incidents": one})["incidents"].inserted == 1
        assert_rtree_follows(store)
        assert len(_rtree_state(store)["entries"]) == 518

        # the triggers keep following: moved, emptied, given a place, deleted
        moved = shapely.Point(160_000.25, 6_590_000.75)
        assert store.update("incidents", "a3", {"geometry": moved})
        assert store.update("incidents", "b7", {"geometry": None})
        assert store.update("incidents", "a5", {"geometry": shapely.Point(160_010, 6_590_010)})
        assert store.update("incidents", "a9", {"description": "ändrad"})
        assert_rtree_follows(store)
        assert store.read("incidents", Query(bbox=(159_999, 6_589_999, 160_001, 6_590_001)))[
            "id"].tolist() == ["a3"]
        assert store.delete("incidents", ["a0", "a17", "b1", "c2", "d0", "nope"]) == 5
        assert_rtree_follows(store)
        state = _rtree_state(store)
        # a3 and a5 have places (a5 anew), b7 lost its, a17 had none, 4 deleted had one
        assert len(state["entries"]) == 518 + 1 - 1 - 4
    finally:
        store.close()


# --- reference data, threads -----------------------------------------------------------


def test_load_reference(any_store: Store):
    from layers.io.reference import current_division, load_reference

    for _ in range(2):
        results = load_reference(any_store)
        assert results["stadsdelar"].inserted == 117
        assert results["stadsdelsomraden"].inserted == 24
        assert any_store.count("stadsdelar") == 117
        assert any_store.count("stadsdelsomraden") == 24
    areas = any_store.read("stadsdelsomraden")
    assert sorted(areas["division"].value_counts().tolist()) == [11, 13]
    assert len(current_division(any_store)) == 11
    assert areas.geometry.is_valid.all()


def test_one_connection_per_thread(any_store: Store):
    any_store.write({"incidents": sample_frame("incidents", n=4)})
    answers, errors = [], []

    def work():
        try:
            answers.append(any_store.count("incidents"))
            prefix = threading.current_thread().name
            any_store.write({"walks": sample_frame("walks", n=2, prefix=prefix)})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            any_store.close()

    threads = [threading.Thread(target=work, name=f"t{k}") for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert answers == [4, 4, 4, 4]
    assert any_store.count("walks") == 8


# --- PostGIS only: DDL, open_store, the CLI ------------------------------------------


@pytest.mark.postgis
def test_postgis_tables_follow_the_schema(postgis_schema_url: str):
    import psycopg

    store = open_store(postgis_schema_url)
    try:
        store.initialize()
        with psycopg.connect(postgis_schema_url) as conn:
            geometry_columns = dict(conn.execute(
                "SELECT f_table_name, type || ':' || srid FROM geometry_columns "
                "WHERE f_table_schema = current_schema()").fetchall())
            indexes = {row[0] for row in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()")}
            types = dict(conn.execute(
                "SELECT table_name || '.' || column_name, data_type "
                "FROM information_schema.columns WHERE table_schema = current_schema()"
            ).fetchall())
    finally:
        store.close()
    assert geometry_columns == {name: f"{schema.geometry_type}:{STORE_EPSG}"
                                for name, schema in SPATIAL_LAYERS.items()}
    for name in SPATIAL_LAYERS:
        assert any(f".{name} USING gist (geom)" in d for d in indexes), name
    assert types["incidents.occurred_at"] == "timestamp with time zone"
    assert types["sites.start_date"] == "date"
    assert types["incidents.strategic"] == "boolean"
    assert types["findings.severity"] == "bigint"
    assert types["import_log.id"] == "text"
    unique = " ".join(d for d in indexes if "UNIQUE" in d)
    assert "(code, division)" in unique and "stadsdelar_code_key" in unique
    assert all(f"{name}_id_key" in unique for name in ("incidents", "findings", "walks"))


@pytest.mark.postgis
def test_open_store_picks_postgis(postgis_schema_url: str):
    store = open_store(postgis_schema_url)
    assert store.kind == "postgis" and store.location() == postgis_schema_url
    assert open_store(postgis_schema_url.replace("postgresql://", "postgres://", 1)).kind \
        == "postgis"
    assert "postgis" in repr(store).lower()
    store.close()


def test_unreachable_database_is_a_store_error():
    import socket

    pytest.importorskip("psycopg")
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = open_store(f"postgresql://someone:secret@127.0.0.1:{port}/nowhere")
    with pytest.raises(StoreError, match="Kan inte ansluta till databasen") as info:
        store.is_initialized()
    assert "secret" not in str(info.value)
    assert store.ping() is False


@pytest.mark.postgis
def test_cli_init_with_database_env(postgis_schema_url: str, monkeypatch, tmp_path):
    from click.testing import CliRunner

    import mapapp.cli.common
    from mapapp.cli import cli

    monkeypatch.setenv("TRYGGHETSKARTAN_DATABASE", postgis_schema_url)
    monkeypatch.delenv("TRYGGHETSKARTAN_DATA_DIR", raising=False)
    # the Flask instance folder is only the fallback: keep it out of the repository
    monkeypatch.setattr(mapapp.cli.common, "default_dir", lambda: str(tmp_path / "instance"))
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["init"])
        assert result.exit_code == 0, result.output
        assert "PostGISStore" in result.output
        assert "117 stadsdelar, 24 stadsdelsområden" in result.output
    store = open_store(postgis_schema_url)
    try:
        assert store.is_initialized()
        assert store.count("stadsdelar") == 117
    finally:
        store.close()
    assert not (tmp_path / "instance" / "trygghetskartan.gpkg").exists()


def test_update_with_expect_and_rows_is_one_transaction(any_store: Store):
    any_store.write({"findings": sample_frame("findings", n=2)})
    before = any_store.read("findings", Query(where={"id": "r1"})).iloc[0]["status"]
    history = pd.DataFrame([{"id": "h1", "finding_id": "r1", "changed_by": "anna",
                             "changed_at": pd.Timestamp("2025-05-01 10:00", tz=LOCAL_TZ),
                             "from_status": before, "to_status": "avvisad"}])
    assert any_store.update("findings", "r1", {"status": "avvisad"}, expect={"status": before},
                            rows={"finding_history": history})
    assert any_store.count("finding_history") == 1
    # the status the user saw is gone: nothing changes and no history row is written
    assert not any_store.update("findings", "r1", {"status": "ny"}, expect={"status": before},
                                rows={"finding_history": history.assign(id="h2")})
    assert any_store.read("findings", Query(where={"id": "r1"}))["status"].tolist() == ["avvisad"]
    assert any_store.count("finding_history") == 1
    # a failing history row rolls the update back
    broken = history.assign(id="h3", changed_at="not a time")
    with pytest.raises(Exception):  # noqa: B017 - any error must roll back
        any_store.update("findings", "r1", {"status": "ny"}, rows={"finding_history": broken})
    assert any_store.read("findings", Query(where={"id": "r1"}))["status"].tolist() == ["avvisad"]
    assert any_store.count("finding_history") == 1
    # expect None matches NULL
    any_store.update("findings", "r0", {"owner": None})
    assert any_store.update("findings", "r0", {"owner": "polisen"}, expect={"owner": None})
    assert not any_store.update("findings", "r0", {"owner": "ovrig"}, expect={"owner": None})


def test_delete_with_expect_and_rows_is_one_transaction(any_store: Store):
    any_store.write({"findings": sample_frame("findings", n=3)})
    stored = any_store.read("findings", Query(where={"id": "r1"})).iloc[0]["status"]
    other = "avvisad" if stored != "avvisad" else "ny"
    history = pd.DataFrame([{"id": "h1", "finding_id": "r1", "changed_by": "anna",
                             "changed_at": pd.Timestamp("2025-05-01 10:00", tz=LOCAL_TZ),
                             "from_status": stored, "to_status": stored, "action": "delete"}])
    # the status the user saw is not the stored one: nothing goes, no history row
    assert any_store.delete("findings", ["r1"], expect={"status": other},
                            rows={"finding_history": history}) == 0
    assert any_store.count("findings") == 3 and any_store.count("finding_history") == 0
    # a failing history row rolls the delete back
    broken = history.assign(changed_at="not a time")
    with pytest.raises(Exception):  # noqa: B017 - any error must roll back
        any_store.delete("findings", ["r1"], expect={"status": stored},
                         rows={"finding_history": broken})
    assert any_store.count("findings") == 3 and any_store.count("finding_history") == 0
    assert any_store.delete("findings", ["r1"], expect={"status": stored},
                            rows={"finding_history": history}) == 1
    assert any_store.read("findings")["id"].tolist() == ["r0", "r2"]
    kept = any_store.read("finding_history")
    assert kept[["id", "action"]].values.tolist() == [["h1", "delete"]]


def test_pages_in_time_order_hold_each_row_once_when_times_tie(any_store: Store):
    frame = query_frame()
    # three distinct times for 60 rows: pages must break the ties the same way each time
    frame["occurred_at"] = [T0 + pd.Timedelta(hours=k % 3) for k in range(len(frame))]
    any_store.write({"incidents": frame.sample(frac=1, random_state=7).reset_index(drop=True)})
    seen: list[str] = []
    # a condition on an indexed column, so the planner may sort instead of walking time order
    where = {"category": ("ran", "hot", "stold", "klotter", "brand")}
    for offset in range(0, len(frame), 7):
        page = any_store.read("incidents", Query(order_by="occurred_at", where=where, limit=7,
                                                 offset=offset))
        seen += page["id"].tolist()
    assert len(seen) == len(set(seen)) == len(frame)
    times = any_store.read("incidents", Query(order_by="occurred_at"))["occurred_at"]
    assert times.is_monotonic_increasing


def test_extent_of_a_layer(any_store: Store):
    empty = any_store.extent("incidents")
    assert empty.bbox is None and empty.times is None
    frame = query_frame()
    any_store.write({"incidents": frame})
    extent = any_store.extent("incidents")
    assert extent.bbox == pytest.approx(tuple(frame.total_bounds), abs=0.01)
    first, last = extent.times
    assert pd.Timestamp(first) == frame["occurred_at"].min()
    assert pd.Timestamp(last) == frame["occurred_at"].max()
    assert any_store.extent("sites").bbox is None
