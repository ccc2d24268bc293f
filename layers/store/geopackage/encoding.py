"""How the GeoPackage stores values: geometry blobs and SQL column values.

Geometries are GeoPackage blobs (the standard header with an envelope, then WKB),
encoded and decoded in numpy; the ``ST_*`` SQL functions the RTree triggers of the
spec call are registered on every connection. Times are ISO 8601 text in UTC with
milliseconds, dates ISO text, booleans 0/1.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from layers.core.schema import LOCAL_TZ, STORE_EPSG

GEOM = "geom"
SQL_TYPES = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "REAL",
    "bool": "BOOLEAN",
    "datetime": "DATETIME",
    "date": "DATE",
}
# Envelope sizes by the GeoPackage header's "envelope contents indicator".
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


# --- geometry blobs ----------------------------------------------------------------

#: Flags byte of a blob header: little endian, envelope [minx, maxx, miny, maxy].
_FLAGS_ENVELOPE = 0b00000011
#: Flags byte of an empty geometry: little endian, no envelope, empty.
_FLAGS_EMPTY = 0b00010001
#: The header with an xy envelope, as a numpy record (40 bytes, little endian).
_HEADER = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"),
                    ("minx", "<f8"), ("maxx", "<f8"), ("miny", "<f8"), ("maxy", "<f8")])
#: A whole blob of a 2D point: the header above + little endian WKB (61 bytes).
_POINT_BLOB = np.dtype(_HEADER.descr + [("byte_order", "u1"), ("wkb_type", "<u4"),
                                        ("x", "<f8"), ("y", "<f8")])


def as_bytes(records: np.ndarray) -> list[bytes]:
    """One ``bytes`` object per record (void view: trailing zero bytes are kept)."""
    return records.view(np.dtype((np.void, records.dtype.itemsize))).tolist()


def encode(geoms: Sequence, srs_id: int = STORE_EPSG) -> tuple[list[bytes | None], np.ndarray]:
    """Encode geometries as GeoPackage blobs; also return each one's envelope.

    The envelope array has the columns minx, maxx, miny, maxy (the order of the
    blob header and of the RTree), NaN for missing and empty geometries. Vectorised:
    2D points are built whole as numpy records, other geometries get a numpy-built
    header in front of shapely's WKB.
    """
    arr = np.asarray(geoms, dtype=object).ravel()
    n = len(arr)
    out = np.full(n, None, dtype=object)
    envelopes = np.full((n, 4), np.nan)
    if n == 0:
        return [], envelopes
    present = ~shapely.is_missing(arr)
    empty = present & shapely.is_empty(arr)
    full = present & ~empty
    points = full & (shapely.get_type_id(arr) == 0) & (shapely.get_coordinate_dimension(arr) == 2)
    if points.any():
        xy = shapely.get_coordinates(arr[points])
        rec = np.zeros(len(xy), dtype=_POINT_BLOB)
        rec["magic"], rec["flags"], rec["srs_id"] = b"GP", _FLAGS_ENVELOPE, srs_id
        rec["minx"] = rec["maxx"] = rec["x"] = xy[:, 0]
        rec["miny"] = rec["maxy"] = rec["y"] = xy[:, 1]
        rec["byte_order"], rec["wkb_type"] = 1, 1
        out[points] = as_bytes(rec)
        envelopes[points] = xy[:, [0, 0, 1, 1]]
    others = full & ~points
    if others.any():
        bounds = shapely.bounds(arr[others])  # minx, miny, maxx, maxy
        head = np.zeros(len(bounds), dtype=_HEADER)
        head["magic"], head["flags"], head["srs_id"] = b"GP", _FLAGS_ENVELOPE, srs_id
        head["minx"], head["miny"], head["maxx"], head["maxy"] = bounds.T
        wkb = shapely.to_wkb(arr[others], byte_order=1, include_srid=False)
        out[others] = [h + w for h, w in zip(as_bytes(head), wkb, strict=True)]
        envelopes[others] = bounds[:, [0, 2, 1, 3]]
    if empty.any():
        header = struct.pack("<2sBBi", b"GP", 0, _FLAGS_EMPTY, srs_id)
        wkb = shapely.to_wkb(arr[empty], byte_order=1, include_srid=False)
        out[empty] = [header + w for w in wkb]
    return out.tolist(), envelopes


def encode_geometries(geoms: Sequence, srs_id: int = STORE_EPSG) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage blobs (header with envelope + WKB)."""
    return encode(geoms, srs_id)[0]


def _header_length(blob: bytes) -> int:
    return 8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 0b111]


def decode_geometries(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Decode GeoPackage geometry blobs to a shapely array (None stays None)."""
    wkb = [None if b is None else bytes(b[_header_length(b):]) for b in blobs]
    return shapely.from_wkb(np.asarray(wkb, dtype=object))


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """Return (minx, maxx, miny, maxy) of a blob, from its header when it has one."""
    if blob is None:
        return None
    flags = blob[3]
    if flags & 0b00010000:
        return None
    if (flags >> 1) & 0b111:
        order = "<" if flags & 1 else ">"
        return struct.unpack_from(order + "4d", blob, 8)
    geom = shapely.from_wkb(bytes(blob[_header_length(blob):]))
    minx, miny, maxx, maxy = geom.bounds
    return (minx, maxx, miny, maxy)


def register_functions(conn: sqlite3.Connection) -> None:
    """Register the SQL functions the RTree triggers of the GeoPackage spec call."""

    def part(i: int):
        def fn(blob):
            env = _envelope(blob)
            return None if env is None else env[i]

        return fn

    conn.create_function("ST_MinX", 1, part(0), deterministic=True)
    conn.create_function("ST_MaxX", 1, part(1), deterministic=True)
    conn.create_function("ST_MinY", 1, part(2), deterministic=True)
    conn.create_function("ST_MaxY", 1, part(3), deterministic=True)
    conn.create_function(
        "ST_IsEmpty",
        1,
        lambda b: None if b is None else int(bool(b[3] & 0b00010000)),
        deterministic=True,
    )


# --- value conversion ----------------------------------------------------------------


def to_sql_column(values: pd.Series, kind: str) -> list:
    """Convert one column of a frame to Python values SQLite stores as the spec wants.

    Vectorised for the common column types (text, time zone aware times, plain
    booleans); anything else goes value by value.
    """
    if kind == "datetime":
        ts = pd.to_datetime(values, utc=True, errors="raise", format="mixed")
        # ISO 8601 in UTC with milliseconds (truncated) and "Z", as GeoPackage wants
        ms = ts.dt.tz_localize(None).to_numpy().astype("datetime64[ms]")
        text = np.datetime_as_string(ms, unit="ms", timezone="UTC").astype(object)
        text[np.isnat(ms)] = None
        return text.tolist()
    if kind == "date":
        def as_date(v):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                return None
            return pd.Timestamp(v).date().isoformat()

        return [as_date(v) for v in values]
    if kind == "bool":
        if values.dtype == bool:
            return values.to_numpy().astype(np.int64).tolist()
        return [None if pd.isna(v) else int(bool(v)) for v in values]
    if kind == "int":
        return [None if pd.isna(v) else int(v) for v in values]
    if kind == "float":
        return [None if pd.isna(v) else float(v) for v in values]
    arr = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        # only text and missing values: no str() needed
        out = arr.copy()
        out[pd.isna(arr)] = None
        return out.tolist()
    return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            for v in arr]


def from_sql_column(values: list, kind: str) -> pd.Series:
    """Turn stored values back into typed pandas values."""
    if kind == "datetime":
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601") \
            .dt.tz_convert(LOCAL_TZ)
    if kind == "date":
        return pd.Series([None if v is None else pd.Timestamp(v).date() for v in values],
                         dtype=object)
    if kind == "bool":
        return pd.Series(values, dtype="boolean")
    if kind == "int":
        return pd.Series(values, dtype="Int64")
    if kind == "float":
        return pd.Series(values, dtype="float64")
    return pd.Series(values, dtype=object)
