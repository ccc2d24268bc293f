"""Stored rows as GeoJSON (RFC 7946) dictionaries in WGS 84, for the JSON API and maps.

Values become JSON types: aware times and dates ISO 8601 text, missing values
``null``, numpy numbers plain numbers. Coordinates are rounded to ``decimals``
(6: about 0.1 m). ``simplify`` (metres, in the store CRS) thins boundaries for
the map; the API gives full detail by default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.privacy import POINT_PRECISIONS
from layers.core.schema import WEB_EPSG

#: Default decimals of WGS 84 coordinates (about 0.1 m).
DECIMALS = 6


def json_value(value: object) -> object:
    """One cell of a frame as a JSON-ready value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    return value


def json_column(column: pd.Series) -> list:
    """A whole column as JSON-ready values (fast paths for text and times)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        fast = _iso_seconds(column)
        if fast is not None:
            return fast
        return [None if v is pd.NaT else v.isoformat() for v in column]
    if isinstance(column.dtype, (pd.BooleanDtype, pd.Int64Dtype, pd.Int32Dtype)):
        # nullable booleans and integers: Python bool / int, None for missing
        return column.to_numpy(dtype=object, na_value=None).tolist()
    if column.dtype == np.float64:
        values = column.to_numpy()
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out.tolist()
    if column.dtype == object:
        values = column.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            out = values.copy()
            out[pd.isna(values)] = None
            return out.tolist()
    return [json_value(v) for v in column.to_numpy(dtype=object)]


def _iso_seconds(column: pd.Series) -> list | None:
    """``Timestamp.isoformat()`` of every value of an aware column, in numpy: the local
    time to the second and the UTC offset (``+HH:MM``); None (use ``isoformat``) when a
    value has a fraction of a second or an offset is not whole minutes."""
    utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    local = column.dt.tz_localize(None).to_numpy("datetime64[us]")
    missing = np.isnat(local)
    if missing.all():
        return [None] * len(local)
    micros = local.astype(np.int64)
    offset = (local - utc).astype(np.int64)  # microseconds east of UTC
    if ((micros % 1_000_000)[~missing].any()
            or (offset % 60_000_000)[~missing].any()):
        return None
    minutes = offset // 60_000_000
    sign = np.where(minutes < 0, "-", "+")
    hours, mins = np.divmod(np.abs(minutes), 60)
    zone = np.char.add(np.char.add(np.char.add(sign, np.char.zfill(hours.astype(str), 2)), ":"),
                       np.char.zfill(mins.astype(str), 2))
    text = np.char.add(np.datetime_as_string(local, unit="s"), zone).astype(object)
    text[missing] = None
    return text.tolist()


def _point_geometries(arr: np.ndarray) -> list | None:
    """``__geo_interface__`` of every geometry when all are 2D points (or missing or
    empty: None), without a Python object per point; None when any is not."""
    missing = shapely.is_missing(arr)
    present = arr[~missing]
    if not (shapely.get_type_id(present) == 0).all() or shapely.has_z(present).any():
        return None
    empty = np.ones(len(arr), dtype=bool)
    empty[~missing] = shapely.is_empty(present)
    coords = shapely.get_coordinates(arr[~empty])
    out: list = [None] * len(arr)
    for i, (x, y) in zip(np.flatnonzero(~empty).tolist(), coords.tolist(), strict=True):
        out[i] = {"type": "Point", "coordinates": (x, y)}
    return out


def unplaced_without_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with no geometry for incidents known only to a stadsdel or the city.

    Their stored point is a stand-in (the police give every Stockholm event the city
    centre), so a GIS client drawing it would show an event where it did not happen.
    The area stays in the properties (``stadsdel``, ``sdo_code``, ``precision``).
    """
    if frame.empty or "precision" not in frame.columns:
        return frame
    unplaced = ~frame["precision"].isin(POINT_PRECISIONS).to_numpy()
    if not unplaced.any():
        return frame
    out = frame.copy()
    out.loc[unplaced, out.geometry.name] = None
    return out


def feature_collection(frame: gpd.GeoDataFrame, columns: Sequence[str], *,
                       decimals: int = DECIMALS, simplify: float | None = None,
                       extra: Callable[[dict], dict] | None = None,
                       epsg: int = WEB_EPSG, lat_first: bool = False) -> dict:
    """A FeatureCollection of ``frame`` (any CRS) with the given property columns.

    Coordinates are in ``epsg`` (default WGS 84, longitude first as RFC 7946 says);
    ``lat_first`` swaps them into the latitude/northing-first axis order of the EPSG
    register (OGC API Features with ``crs=…/EPSG/0/4326``, 3006 or 3011).

    ``extra(properties)`` may return more properties for a feature (labels). The
    feature ``id`` is the row's ``id`` (or ``code``) column when there is one.
    """
    geoms = frame.geometry
    if simplify:
        geoms = gpd.GeoSeries(shapely.simplify(geoms.to_numpy(), simplify,
                                               preserve_topology=True), crs=frame.crs)
    if frame.crs is not None and frame.crs.to_epsg() != epsg:
        geoms = geoms.to_crs(epsg)
    arr = shapely.transform(geoms.to_numpy(), lambda c: np.round(c, decimals))
    if lat_first:
        arr = shapely.transform(arr, lambda c: c[:, ::-1])
    id_column = "id" if "id" in frame.columns else "code" if "code" in frame.columns else None
    cols = [c for c in columns if c in frame.columns]
    values = {c: json_column(frame[c]) for c in cols}
    ids = frame[id_column].to_numpy(dtype=object) if id_column else None
    points = _point_geometries(arr)
    features = []
    for i, geom in enumerate(arr):
        props = {c: values[c][i] for c in cols}
        if extra is not None:
            props.update(extra(props))
        feature: dict = {
            "type": "Feature",
            "geometry": points[i] if points is not None else
            None if geom is None or geom.is_empty else geom.__geo_interface__,
            "properties": props,
        }
        if ids is not None:
            feature["id"] = json_value(ids[i])
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}
