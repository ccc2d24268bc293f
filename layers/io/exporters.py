"""Exports: write a stored layer to GeoPackage, GeoJSON or CSV.

CSV gets ``lon``/``lat`` in WGS 84 (9 decimals, 0.1 mm) for points and a ``wkt``
column (WGS 84) for other geometries, with the same column names the importer reads,
so an export can be imported again and gives the same rows (same ids).

Every CSV this project writes goes through :func:`spreadsheet_safe`: a text cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe, so a spreadsheet shows it as text and never runs it as a formula (OWASP
"CSV injection"). The CSV reader undoes it (:func:`spreadsheet_text`), so an export
imported again gives the same texts; GeoPackage and GeoJSON keep texts exactly.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.core.schema import WEB_EPSG
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: Decimals of degrees in CSV exports: 1e-9 degrees is about 0.1 mm.
CSV_DECIMALS = 9

EXPORT_FORMATS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV"}
#: Text cells starting with one of these are prefixed with an apostrophe in CSV files.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: A cell that already looks escaped (apostrophes, then a formula) is escaped once more,
#: so the reader's undo gives back exactly what was stored.
_RISKY = "^'*[" + re.escape("".join(FORMULA_PREFIXES)) + "]"


def _risky_text_cells(frame: pd.DataFrame):
    """(column, values, mask of cells a spreadsheet could run) for each text column."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype("string")
            risky = text.str.contains(_RISKY, regex=True).fillna(False).to_numpy(bool)
            if risky.any():
                yield column, values, text, risky


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    out = frame.copy()
    for column, values, text, risky in _risky_text_cells(frame):
        out[column] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out


def spreadsheet_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`spreadsheet_safe` on cells read from a CSV file (one apostrophe less)."""
    out = frame
    for column, values, text, risky in _risky_text_cells(frame):
        escaped = risky & text.str.startswith("'").fillna(False).to_numpy(bool)
        if escaped.any():
            if out is frame:
                out = frame.copy()
            out[column] = values.where(~escaped, text.str.slice(1).astype(object))
    return out


def frame_to_csv_text(frame: gpd.GeoDataFrame) -> str:
    """Render a frame as CSV text with lon/lat (WGS 84) for points, WKT otherwise."""
    wgs = frame.to_crs(WEB_EPSG)
    out = pd.DataFrame(wgs.drop(columns="geometry"))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda v: None if pd.isna(v) else v.isoformat())
    out = spreadsheet_safe(out)
    if len(wgs) and (wgs.geom_type == "Point").all():
        out["lon"] = wgs.geometry.x.round(CSV_DECIMALS)
        out["lat"] = wgs.geometry.y.round(CSV_DECIMALS)
    else:
        out["wkt"] = wgs.geometry.to_wkt(rounding_precision=CSV_DECIMALS)
    return out.to_csv(index=False)


def export_frame(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write a frame to ``path`` in the format its suffix names."""
    driver = EXPORT_FORMATS.get(path.suffix.lower())
    if driver is None:
        raise ValueError(f"Okänd filändelse '{path.suffix}': välj .gpkg, .geojson eller .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    if driver == "CSV":
        path.write_text(frame_to_csv_text(frame), encoding="utf-8")
        return
    if path.exists():
        path.unlink()
    out = frame.to_crs(WEB_EPSG) if driver == "GeoJSON" else frame
    # nullable Int64/boolean columns: pyogrio wants plain numpy or object columns
    out = out.copy()
    for col in out.columns:
        if col != "geometry" and str(out[col].dtype) in ("Int64", "boolean"):
            # None, not pd.NA: pyogrio would write pd.NA as the text "<NA>"
            out[col] = pd.Series([None if pd.isna(v) else v for v in out[col]],
                                 index=out.index, dtype=object)
        elif driver == "GPKG" and isinstance(out[col].dtype, pd.DatetimeTZDtype):
            # the GeoPackage standard stores times in UTC ("…Z")
            out[col] = out[col].dt.tz_convert("UTC")
    pyogrio.write_dataframe(out, path, layer=layer, driver=driver)


def export_layer(store: Store, layer: str, path: Path, query: Query | None = None) -> int:
    """Export a layer (optionally filtered) and return how many rows were written."""
    frame = store.read(layer, query)
    export_frame(frame, path, layer)
    LOGGER.info("exported %d rows of %s to %s", len(frame), layer, path)
    return len(frame)
