"""The backtest's input: a dated point file in a metric CRS, and the periods it is cut by.

Any dated point file will do (a CSV with ``lon``/``lat`` or ``x``/``y``, or a
GeoPackage/GeoJSON/Shapefile); the points are projected to SWEREF 99 18 00 around
Stockholm, SWEREF 99 TM elsewhere in Sweden, the local UTM zone anywhere else, or kept
in the file's own projected CRS (:func:`metric_crs`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from layers.core.periods import Period, PeriodError, parse_period, period_from_dates
from layers.core.privacy import POINT_PRECISIONS
from layers.core.schema import INCIDENTS, STORE_EPSG
from layers.io.readers import decode_text, parse_number

_SWEDEN = (10.0, 55.0, 24.5, 69.5)
_STOCKHOLM = (17.5, 59.0, 18.8, 59.8)
_SWEREF_TM = 3006
_LON = ("lon", "lng", "long", "longitude", "x_wgs84")
_LAT = ("lat", "latitude", "y_wgs84")
_X = ("x", "easting", "e", "ost")
_Y = ("y", "northing", "n", "nord")
_ZONE = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"


class BacktestError(ValueError):
    """The file cannot be backtested; the message is Swedish, for the user."""


@dataclass
class PointData:
    """Dated points in a metric CRS; ``t`` is local wall-clock time (naive)."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray
    category: np.ndarray
    crs: str
    #: Rows left out: no time, no place, or placed only at a district or municipality.
    skipped: int = 0


# --- periods -----------------------------------------------------------------------------


def parse_span(text: str) -> Period:
    """A period, or a range of periods written ``FIRST..LAST`` (``2024-01..2024-12``)."""
    try:
        return parse_period(text)
    except PeriodError:
        if ".." not in (text or ""):
            raise
        first, _, last = text.partition("..")
        return period_from_dates(parse_period(first.strip()).start,
                                 parse_period(last.strip()).end)


# --- reading a point file ----------------------------------------------------------------


def metric_crs(lon: np.ndarray, lat: np.ndarray) -> int:
    """EPSG code of a metric CRS for points in WGS 84: Swedish systems or UTM."""
    lon0, lat0 = float(np.median(lon)), float(np.median(lat))
    w, s, e, n = _STOCKHOLM
    if w <= lon0 <= e and s <= lat0 <= n:
        return STORE_EPSG
    w, s, e, n = _SWEDEN
    if w <= lon0 <= e and s <= lat0 <= n:
        return _SWEREF_TM
    zone = min(int((lon0 + 180.0) // 6.0) + 1, 60)
    return (32600 if lat0 >= 0 else 32700) + zone


def wall_times(values: pd.Series) -> np.ndarray:
    """Local wall-clock times (naive datetime64) from text or datetime values."""
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.to_datetime(values)
        if ts.dt.tz is not None:
            ts = ts.dt.tz_localize(None)
        return ts.to_numpy(dtype="datetime64[ns]")
    if values.dtype == object and len(values) and isinstance(
            values.dropna().iloc[0] if values.notna().any() else None, pd.Timestamp):
        values = values.map(lambda v: v.isoformat() if isinstance(v, pd.Timestamp) else v)
    text = values.astype("string").str.strip()
    text = text.str.replace(r"(\d{4}-\d\d-\d\d)[ T](\d{1,2})\.(\d\d)", r"\1 \2:\3", regex=True)
    text = text.str.replace(_ZONE, "", regex=True).str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[ns]")


def _find(columns: list[str], *names: str) -> str | None:
    lower = {c.strip().lower(): c for c in columns}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def read_points(path: str | Path, *, crs: int | None = None) -> PointData:
    """Read a dated point file (CSV, GeoPackage, GeoJSON, zipped Shapefile)."""
    path = Path(path)
    if not path.is_file():
        raise BacktestError(f"Filen {path.name} finns inte.")
    if path.suffix.lower() in (".csv", ".txt"):
        frame, x, y, source_crs = _read_csv(path, crs)
    else:
        frame, x, y, source_crs = _read_gis(path, crs)
    time_col = _find(list(frame.columns), INCIDENTS.field("occurred_at").name,
                     *INCIDENTS.field("occurred_at").aliases)
    if time_col is None:
        raise BacktestError(f"Filen {path.name} saknar en tidskolumn (occurred_at eller datum).")
    cat_col = _find(list(frame.columns), "category", *INCIDENTS.field("category").aliases)
    prec_col = _find(list(frame.columns), "precision", *INCIDENTS.field("precision").aliases)
    t = wall_times(frame[time_col])
    category = frame[cat_col].to_numpy(dtype=object) if cat_col else \
        np.full(len(frame), None, dtype=object)
    ok = ~np.isnat(t) & np.isfinite(x) & np.isfinite(y)
    if prec_col:
        precision = frame[prec_col].fillna("exact").astype(str).str.strip().str.lower()
        ok &= precision.isin(POINT_PRECISIONS).to_numpy()
    if not ok.any():
        raise BacktestError(f"Filen {path.name} har inga rader med både tid och plats.")
    x, y, t, category = x[ok], y[ok], t[ok], category[ok]
    target = _metric_target(source_crs, x, y)
    if target != source_crs:
        transformer = Transformer.from_crs(source_crs, target, always_xy=True)
        x, y = transformer.transform(x, y)
    label = target if isinstance(target, str) else f"EPSG:{target}"
    return PointData(np.asarray(x, float), np.asarray(y, float), t, category, label,
                     int((~ok).sum()))


def _metric_target(source_crs: int | str, x: np.ndarray, y: np.ndarray) -> int | str:
    """The CRS the cells are made in: the file's own when it is in metres."""
    parsed = CRS.from_user_input(source_crs)
    if parsed.is_projected and parsed.axis_info and \
            parsed.axis_info[0].unit_name in ("metre", "meter"):
        return source_crs
    if not parsed.is_geographic:
        raise BacktestError(f"Koordinatsystemet {parsed.name} är varken i grader eller meter.")
    return metric_crs(x, y)


def _read_csv(path: Path, crs: int | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    text = decode_text(path.read_bytes(), path.name)
    first = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                        na_values=[""])
    columns = list(frame.columns)
    lon, lat = _find(columns, *_LON), _find(columns, *_LAT)
    if lon and lat:
        return (frame, parse_number(frame[lon]).to_numpy(float),
                parse_number(frame[lat]).to_numpy(float), 4326 if crs is None else crs)
    xc, yc = _find(columns, *_X), _find(columns, *_Y)
    if xc and yc:
        x = parse_number(frame[xc]).to_numpy(float)
        y = parse_number(frame[yc]).to_numpy(float)
        if crs is None:
            if np.nanmax(np.abs(x)) <= 180 and np.nanmax(np.abs(y)) <= 90:
                crs = 4326
            else:
                raise BacktestError(f"Filen {path.name} har x/y men inget koordinatsystem: "
                                    "ange --crs EPSG.")
        return frame, x, y, crs
    raise BacktestError(f"Filen {path.name} saknar koordinater: kolumnerna lon/lat "
                        "(WGS 84) eller x/y (med --crs) behövs.")


def _read_gis(path: Path, crs: int | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray,
                                                    int | str]:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds of errors for bad files
        raise BacktestError(f"Filen {path.name} kunde inte läsas: {exc}") from exc
    if gdf.crs is None:
        if crs is None:
            bounds = gdf.total_bounds
            if np.all(np.abs(bounds[[0, 2]]) <= 180) and np.all(np.abs(bounds[[1, 3]]) <= 90):
                crs = 4326
            else:
                raise BacktestError(f"Filen {path.name} anger inget koordinatsystem: "
                                    "ange --crs EPSG.")
        source: int | str = crs
    else:
        source = gdf.crs.to_epsg() or gdf.crs.to_wkt()
    geoms = gdf.geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    points = np.full(len(geoms), None, dtype=object)
    points[present] = shapely.point_on_surface(geoms[present])
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[present] = shapely.get_x(points[present])
    y[present] = shapely.get_y(points[present])
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), x, y, source


__all__ = ["BacktestError", "PointData", "metric_crs", "parse_span", "read_points",
           "wall_times"]
