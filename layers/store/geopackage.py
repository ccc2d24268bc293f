"""The embedded default store: one GeoPackage file (SQLite) in the data folder.

We write the GeoPackage tables ourselves with :mod:`sqlite3` rather than through
GDAL, because an import must be *one* transaction across several tables (the layer
and the import log) and GDAL commits per layer. The file follows the OGC
GeoPackage 1.4 encoding (standard geometry blobs, ``gpkg_contents``,
``gpkg_geometry_columns`` and the RTree spatial index extension with its
triggers), so QGIS, ArcGIS, ``ogrinfo`` and fiona open it as usual.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.errors import StoreError
from layers.schema import (
    ATTRIBUTE_TABLES,
    LOCAL_TZ,
    SPATIAL_LAYERS,
    STORE_EPSG,
    WEB_EPSG,
    LayerSchema,
)
from layers.store.base import Query, Store, WriteResult, schema_of

LOGGER = logging.getLogger(__name__)

FILE_NAME = "trygghetskartan.gpkg"
GEOM = "geom"
_SQL_TYPES = {
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


def encode_geometries(geoms: Sequence, srs_id: int = STORE_EPSG) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage blobs (header with envelope + WKB)."""
    arr = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(arr)
    wkb = shapely.to_wkb(arr, byte_order=1, include_srid=False)
    bounds = shapely.bounds(arr)
    empty = shapely.is_empty(arr)
    out: list[bytes | None] = []
    for i in range(len(arr)):
        if missing[i]:
            out.append(None)
        elif empty[i]:
            # flags: little endian, no envelope, empty geometry
            out.append(struct.pack("<2sBBi", b"GP", 0, 0b00010001, srs_id) + wkb[i])
        else:
            minx, miny, maxx, maxy = bounds[i]
            header = struct.pack("<2sBBi4d", b"GP", 0, 0b00000011, srs_id, minx, maxx, miny, maxy)
            out.append(header + wkb[i])
    return out


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


def _register_functions(conn: sqlite3.Connection) -> None:
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


def _to_sql_column(values: pd.Series, kind: str) -> list:
    """Convert one column of a frame to Python values SQLite stores as the spec wants."""
    if kind == "datetime":
        ts = pd.to_datetime(values, utc=True, errors="raise", format="mixed")
        text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return text.where(ts.notna(), None).tolist()
    if kind == "date":
        def as_date(v):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                return None
            return pd.Timestamp(v).date().isoformat()

        return [as_date(v) for v in values]
    if kind == "bool":
        return [None if pd.isna(v) else int(bool(v)) for v in values]
    if kind == "int":
        return [None if pd.isna(v) else int(v) for v in values]
    if kind == "float":
        return [None if pd.isna(v) else float(v) for v in values]
    return [None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            for v in values]


def _from_sql_column(values: list, kind: str) -> pd.Series:
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


# --- the store -----------------------------------------------------------------------


class GeoPackageStore(Store):
    """All layers in one GeoPackage file, written in SQLite transactions (WAL)."""

    kind = "geopackage"
    #: Rows per executemany call: keeps memory flat on million-row imports.
    chunk_size = 20_000

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            path = path / FILE_NAME
        self.path = path
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    # connections --------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"Kan inte öppna databasen {self.path}: {exc}") from exc
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _register_functions(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        """One connection per thread (the web app serves requests in threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction; roll back everything on error."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    # schema -------------------------------------------------------------------

    def is_initialized(self) -> bool:
        if not self.path.exists():
            return False
        names = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        return {"gpkg_contents", *SPATIAL_LAYERS, *ATTRIBUTE_TABLES} <= names

    def initialize(self) -> None:
        with self.transaction() as conn:
            conn.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            conn.execute("PRAGMA user_version = 10300")
            _create_metadata_tables(conn)
            for schema in SPATIAL_LAYERS.values():
                _create_layer(conn, schema)
            for schema in ATTRIBUTE_TABLES.values():
                _create_attribute_table(conn, schema)

    # writing ------------------------------------------------------------------

    def write(self, layers, *, replace=(), then=None):
        replace = set(replace)
        results: dict[str, WriteResult] = {}
        with self.transaction() as conn:
            self._write_frames(conn, layers, replace, results)
            if then is not None:
                self._write_frames(conn, then(dict(results)), set(), results)
        return results

    def _write_frames(self, conn: sqlite3.Connection, layers: dict[str, pd.DataFrame],
                      replace: set[str], results: dict[str, WriteResult]) -> None:
        for name, frame in layers.items():
            schema = schema_of(name)
            if name in replace:
                conn.execute(f'DELETE FROM "{name}"')
            before = _row_count(conn, name)
            self._insert_rows(conn, schema, frame)
            # counted, not taken from total_changes: the RTree triggers add changes
            inserted = _row_count(conn, name) - before
            if schema.geometry_type:
                _update_extent(conn, name)
            results[name] = WriteResult(inserted=inserted, unchanged=len(frame) - inserted)

    def _insert_rows(self, conn: sqlite3.Connection, schema: LayerSchema,
                     frame: pd.DataFrame) -> None:
        """Insert the rows of ``frame`` (rows with a stored id are ignored)."""
        columns = [f for f in schema.fields if f.name in frame.columns]
        data = [_to_sql_column(frame[f.name], f.kind) for f in columns]
        names = [f'"{f.name}"' for f in columns]
        if schema.geometry_type:
            geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame[GEOM]
            data.append(encode_geometries(geoms.values))
            names.append(GEOM)
        sql = (f'INSERT OR IGNORE INTO "{schema.name}" ({", ".join(names)}) '
               f'VALUES ({", ".join("?" * len(names))})')
        rows = list(zip(*data, strict=True)) if data else []
        for start in range(0, len(rows), self.chunk_size):
            conn.executemany(sql, rows[start:start + self.chunk_size])

    def update(self, layer, row_id, values):
        schema = schema_of(layer)
        sets, params = [], []
        for key, value in values.items():
            if key == "geometry":
                sets.append(f"{GEOM} = ?")
                params.append(encode_geometries([value])[0])
                continue
            kind = schema.field(key).kind
            sets.append(f'"{key}" = ?')
            params.append(_to_sql_column(pd.Series([value], dtype=object), kind)[0])
        with self.transaction() as conn:
            cur = conn.execute(f'UPDATE "{layer}" SET {", ".join(sets)} WHERE id = ?',
                               [*params, row_id])
            return cur.rowcount > 0

    def delete(self, layer, ids):
        ids = list(ids)
        with self.transaction() as conn:
            before = _row_count(conn, layer)
            conn.executemany(f'DELETE FROM "{layer}" WHERE id = ?', [(i,) for i in ids])
            return before - _row_count(conn, layer)

    # reading ------------------------------------------------------------------

    def _where(self, schema: LayerSchema, query: Query | None) -> tuple[str, list]:
        if query is None:
            return "", []
        clauses, params = [], []
        if query.bbox is not None and schema.geometry_type:
            minx, miny, maxx, maxy = query.bbox
            clauses.append(
                f'fid IN (SELECT id FROM "rtree_{schema.name}_{GEOM}" '
                "WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)")
            params += [maxx, minx, maxy, miny]
        if schema.time_field and (query.start or query.end):
            tcol = f'"{schema.time_field}"'
            if query.start is not None:
                clauses.append(f"{tcol} >= ?")
                params.append(_to_sql_column(pd.Series([query.start]), "datetime")[0])
            if query.end is not None:
                clauses.append(f"{tcol} < ?")
                params.append(_to_sql_column(pd.Series([query.end]), "datetime")[0])
        for key, value in query.where.items():
            kind = schema.field(key).kind
            if isinstance(value, (list, tuple, set, frozenset)):
                values = _to_sql_column(pd.Series(list(value), dtype=object), kind)
                if not values:
                    clauses.append("0")
                    continue
                clauses.append(f'"{key}" IN ({", ".join("?" * len(values))})')
                params += values
            elif value is None:
                clauses.append(f'"{key}" IS NULL')
            else:
                clauses.append(f'"{key}" = ?')
                params.append(_to_sql_column(pd.Series([value], dtype=object), kind)[0])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def read(self, layer, query=None):
        schema = schema_of(layer)
        where, params = self._where(schema, query)
        names = [f'"{f.name}"' for f in schema.fields]
        if schema.geometry_type:
            names.append(GEOM)
        order = f' ORDER BY "{query.order_by}"' if query and query.order_by else " ORDER BY fid"
        sql = f'SELECT {", ".join(names)} FROM "{layer}"{where}{order}'
        if query and (query.limit is not None or query.offset):
            sql += " LIMIT ? OFFSET ?"
            params += [query.limit if query.limit is not None else -1, query.offset]
        rows = self.conn.execute(sql, params).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        data = {f.name: _from_sql_column(list(col), f.kind)
                for f, col in zip(schema.fields, columns, strict=False)}
        frame = pd.DataFrame(data)
        if not schema.geometry_type:
            return frame
        geoms = decode_geometries(columns[-1]) if rows else []
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORE_EPSG),
                                crs=STORE_EPSG)

    def count(self, layer, query=None):
        schema = schema_of(layer)
        where, params = self._where(schema, query)
        return self.conn.execute(f'SELECT count(*) FROM "{layer}"{where}', params).fetchone()[0]

    def ping(self):
        try:
            self.conn.execute("SELECT count(*) FROM gpkg_contents").fetchone()
            return True
        except sqlite3.Error:
            return False


# --- DDL ---------------------------------------------------------------------------


def _srs_rows() -> list[tuple]:
    rows = [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
        ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic"),
    ]
    for code in (WEB_EPSG, 3006, STORE_EPSG):
        crs = pyproj.CRS.from_epsg(code)
        rows.append((crs.name, code, "EPSG", code, crs.to_wkt("WKT1_GDAL"), crs.name))
    return rows


def _create_metadata_tables(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
        organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
        definition TEXT NOT NULL, description TEXT)""")
    conn.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)",
                     _srs_rows())
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""")
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL,
        geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
        z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""")
    conn.execute("""CREATE TABLE IF NOT EXISTS gpkg_extensions (
        table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
        definition TEXT NOT NULL, scope TEXT NOT NULL,
        CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""")


def _column_ddl(schema: LayerSchema) -> list[str]:
    cols = []
    for f in schema.fields:
        ddl = f'"{f.name}" {_SQL_TYPES[f.kind]}'
        if f.name == "id":
            ddl += " NOT NULL UNIQUE"
        cols.append(ddl)
    return cols


def _create_layer(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    name = schema.name
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone():
        return
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT", f"{GEOM} {schema.geometry_type}",
            *_column_ddl(schema)]
    unique = ""
    if name == "stadsdelsomraden":
        unique = ', UNIQUE ("code", "division")'
    elif "id" not in schema.names:
        unique = ', UNIQUE ("code")'
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(cols)}{unique})')
    if schema.time_field:
        conn.execute(f'CREATE INDEX "idx_{name}_time" ON "{name}" ("{schema.time_field}")')
    for col in ("category", "sdo_code", "status"):
        if col in schema.names:
            conn.execute(f'CREATE INDEX "idx_{name}_{col}" ON "{name}" ("{col}")')
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
        "VALUES (?, 'features', ?, ?, ?)", (name, name, schema.label, STORE_EPSG))
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
                 (name, GEOM, schema.geometry_type, STORE_EPSG))
    _create_rtree(conn, name)


def _create_rtree(conn: sqlite3.Connection, t: str) -> None:
    """Create the spatial index and its triggers exactly as the GeoPackage spec says."""
    c, i = GEOM, "fid"
    r = f"rtree_{t}_{c}"
    conn.execute(f'CREATE VIRTUAL TABLE "{r}" USING rtree(id, minx, maxx, miny, maxy)')
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
        "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (t, c))
    # executescript() would COMMIT the open transaction: run one statement at a time
    script = f"""
CREATE TRIGGER "{r}_insert" AFTER INSERT ON "{t}"
WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "{r}_update1" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "{r}_update2" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
END;
CREATE TRIGGER "{r}_update3" AFTER UPDATE ON "{t}"
WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;
CREATE TRIGGER "{r}_update4" AFTER UPDATE ON "{t}"
WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id IN (OLD."{i}", NEW."{i}");
END;
CREATE TRIGGER "{r}_delete" AFTER DELETE ON "{t}"
WHEN old."{c}" NOT NULL
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
END;
"""
    for statement in script.split("END;")[:-1]:
        conn.execute(statement + "END;")


def _create_attribute_table(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    name = schema.name
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone():
        return
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT", *_column_ddl(schema)]
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(cols)})')
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES (?, 'attributes', ?, ?)", (name, name, schema.label))


def _row_count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def _update_extent(conn: sqlite3.Connection, table: str) -> None:
    conn.execute(
        f"""UPDATE gpkg_contents SET
            min_x = (SELECT min(minx) FROM "rtree_{table}_{GEOM}"),
            min_y = (SELECT min(miny) FROM "rtree_{table}_{GEOM}"),
            max_x = (SELECT max(maxx) FROM "rtree_{table}_{GEOM}"),
            max_y = (SELECT max(maxy) FROM "rtree_{table}_{GEOM}"),
            last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now')
            WHERE table_name = ?""", (table,))
