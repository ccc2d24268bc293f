"""GeoJSON of stored rows: the fast paths give exactly what the per-value code gives.

``json_column`` writes aware times with numpy and ``feature_collection`` writes points
from their coordinate array (the API's pages of a thousand incidents); both must
answer what ``Timestamp.isoformat`` and shapely's ``__geo_interface__`` answer, and
fall back to them for anything else.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.core.schema import LOCAL_TZ, STORE_EPSG
from layers.io.geojson import feature_collection, json_column


def times(n: int = 3000, seed: int = 3) -> pd.Series:
    """Times to the second over 1970–2033 (both DST changes), with some missing."""
    rng = np.random.default_rng(seed)
    micros = rng.integers(0, 2_000_000_000, n) * 1_000_000
    series = pd.Series(pd.to_datetime(micros, unit="us", utc=True)).astype(
        "datetime64[us, UTC]").dt.tz_convert(LOCAL_TZ)
    series[::17] = pd.NaT
    return series


def isoformat(column: pd.Series) -> list:
    return [None if v is pd.NaT else v.isoformat() for v in column]


@pytest.mark.parametrize("zone", [LOCAL_TZ, "UTC", "America/St_Johns", "Asia/Kathmandu",
                                  "Pacific/Chatham"])
def test_times_are_written_as_isoformat_writes_them(zone: str):
    column = times().dt.tz_convert(zone)
    assert json_column(column) == isoformat(column)


def test_fractions_of_a_second_keep_them():
    column = times(50)
    column[3] = column[3] + pd.Timedelta(microseconds=5)
    column[4] = column[4] + pd.Timedelta(milliseconds=250)
    out = json_column(column)
    assert out == isoformat(column)
    assert out[3].endswith(".000005+01:00") or out[3].endswith(".000005+02:00")


def test_empty_and_all_missing_columns():
    empty = times(0)
    assert json_column(empty) == []
    missing = pd.Series([pd.NaT, pd.NaT], dtype=f"datetime64[us, {LOCAL_TZ}]")
    assert json_column(missing) == [None, None]


def frame(geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [f"g{i}" for i in range(len(geoms))],
                             "occurred_at": times(len(geoms), seed=5)},
                            geometry=gpd.GeoSeries(geoms, crs=STORE_EPSG), crs=STORE_EPSG)


def per_feature(collection: gpd.GeoDataFrame) -> list:
    """The geometries as shapely's ``__geo_interface__`` writes them, after the same
    projection and rounding as feature_collection."""
    arr = shapely.transform(collection.geometry.to_crs(4326).to_numpy(),
                            lambda c: np.round(c, 6))
    return [None if g is None or g.is_empty else g.__geo_interface__ for g in arr]


def test_points_are_written_as_shapely_writes_them():
    rng = np.random.default_rng(9)
    xy = rng.uniform([140_000, 6_570_000], [165_000, 6_595_000], size=(500, 2))
    geoms: list = list(shapely.points(xy))
    geoms[4], geoms[9] = None, shapely.Point()
    rows = frame(geoms)
    features = feature_collection(rows, ["occurred_at"])["features"]
    assert [f["geometry"] for f in features] == per_feature(rows)
    assert features[4]["geometry"] is None and features[9]["geometry"] is None
    assert isinstance(features[0]["geometry"]["coordinates"], tuple)
    assert [f["properties"]["occurred_at"] for f in features] == isoformat(
        rows["occurred_at"])


@pytest.mark.parametrize("other", [shapely.LineString([(150_000, 6_580_000),
                                                       (150_100, 6_580_100)]),
                                   shapely.Point(150_000, 6_580_000, 12.0)])
def test_other_geometries_take_the_general_path(other):
    geoms = [shapely.Point(150_000, 6_580_000), other, shapely.Point(151_000, 6_581_000)]
    rows = frame(geoms)
    features = feature_collection(rows, [])["features"]
    assert [f["geometry"] for f in features] == per_feature(rows)


@pytest.mark.parametrize("column", [
    pd.Series([True, None, False], dtype="boolean"),
    pd.Series([1, None, -3], dtype="Int64"),
    pd.Series([1.5, np.nan, -0.0, 2.0]),
    pd.Series(["a", None, "ö"], dtype=object),
    pd.Series([1, "x", None, 2.5, np.int64(4)], dtype=object),
])
def test_columns_of_other_kinds_are_what_json_value_makes(column: pd.Series):
    from layers.io.geojson import json_value

    out = json_column(column)
    expected = [json_value(v) for v in column.to_numpy(dtype=object)]
    assert out == expected
    assert [type(v) for v in out] == [type(v) for v in expected]
