"""How the PostGIS store's values travel: SQL types of the schema's kinds, columns
converted for ``COPY`` and query parameters, stored values typed back, geometries as
hex WKB in and WKB out, and the small SQL-building helpers every module uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import shapely
from psycopg import sql

from layers.core.schema import LOCAL_TZ, STORE_EPSG, LayerSchema

GEOM = "geom"
SQL_TYPES = {
    "str": "text",
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "datetime": "timestamptz",
    "date": "date",
}
# Datetimes travel as microseconds since 1970 (exact, and numpy makes them fast).
STAGE_TYPES = dict(SQL_TYPES, datetime="bigint")
EPOCH_US = "timestamptz 'epoch' + {} * interval '1 microsecond'"


def ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def and_where(where: sql.Composable, clause: sql.Composable) -> sql.Composable:
    """Add a condition to a WHERE clause made by ``_where`` (which may be empty)."""
    if where == sql.SQL(""):
        return sql.SQL(" WHERE ") + clause
    return where + sql.SQL(" AND ") + clause


# --- value conversion ----------------------------------------------------------------


def _is_missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _utc(values: pd.Series) -> pd.Series:
    """Parse a column to UTC timestamps (naive values are UTC, as in the GeoPackage)."""
    ts = pd.to_datetime(values, utc=True, errors="raise", format="mixed")
    return ts.astype("datetime64[us, UTC]")


#: Column contents (pandas.api.types.infer_dtype) that need no conversion, per kind.
_NATIVE = {
    "str": ("string", "empty"),
    "int": ("integer", "empty"),
    "float": ("floating", "integer", "mixed-integer-float", "empty"),
    "bool": ("boolean", "empty"),
    "date": ("date", "empty"),
}


def column(values: pd.Series, kind: str) -> list:
    """Convert one column of a frame to the Python values the staging table takes."""
    if kind == "datetime":
        ts = _utc(values)
        micros = ts.to_numpy(dtype="datetime64[us]").astype(np.int64).astype(object)
        micros[ts.isna().to_numpy()] = None
        return micros.tolist()
    # Fast path for a million rows: the column already holds the right Python types.
    if pd.api.types.infer_dtype(values, skipna=True) in _NATIVE[kind]:
        return values.to_numpy(dtype=object, na_value=None).tolist()
    if kind == "date":
        return [None if _is_missing(v) else pd.Timestamp(v).date() for v in values]
    if kind == "bool":
        return [None if _is_missing(v) else bool(v) for v in values]
    if kind == "int":
        return [None if _is_missing(v) else int(v) for v in values]
    if kind == "float":
        return [None if _is_missing(v) else float(v) for v in values]
    return [None if _is_missing(v) else str(v) for v in values]


def param(value: object, kind: str) -> object:
    """Convert one value for a query parameter of a column of ``kind``."""
    if kind == "datetime":
        ts = _utc(pd.Series([value], dtype=object)).iloc[0]
        return None if pd.isna(ts) else ts.to_pydatetime()
    return column(pd.Series([value], dtype=object), kind)[0]


def hex_wkb(geoms: Iterable) -> list[str | None]:
    """Encode shapely geometries as hex WKB (None stays None)."""
    arr = np.asarray(geoms, dtype=object)
    return shapely.to_wkb(arr, hex=True, include_srid=False).tolist()


def from_db(values: list, kind: str) -> pd.Series:
    """Turn stored values back into the typed pandas values GeoPackageStore.read gives."""
    if kind == "datetime":
        micros = pd.array(values, dtype="Int64")
        ts = pd.to_datetime(micros, unit="us", utc=True)
        return pd.Series(ts, dtype="datetime64[us, UTC]").dt.tz_convert(LOCAL_TZ)
    if kind == "date":
        return pd.Series(values, dtype=object)
    if kind == "bool":
        return pd.Series(values, dtype="boolean")
    if kind == "int":
        return pd.Series(values, dtype="Int64")
    if kind == "float":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values, dtype=object)


def from_wkb(values: Sequence) -> np.ndarray:
    """Decode WKB geometries (as ``ST_AsBinary`` gives them) to a shapely array."""
    return shapely.from_wkb(np.asarray(values, dtype=object))


def geom_sql(schema: LayerSchema, value: sql.Composable) -> sql.Composable:
    """SQL turning a hex WKB value into a geometry of the layer's declared type."""
    geom = sql.SQL("ST_Force2D(ST_GeomFromWKB(decode({}, 'hex'), {}))").format(
        value, sql.Literal(STORE_EPSG))
    # Polygons go into MULTIPOLYGON layers (the reference data has plain polygons).
    if schema.geometry_type.upper().startswith("MULTI"):
        geom = sql.SQL("ST_Multi({})").format(geom)
    return geom
