"""The embedded default store: one GeoPackage file (SQLite) in the data folder.

We write the GeoPackage tables ourselves with :mod:`sqlite3` rather than through
GDAL, because an import must be *one* transaction across several tables (the layer
and the import log) and GDAL commits per layer. The file follows the OGC
GeoPackage 1.4 encoding (standard geometry blobs, ``gpkg_contents``,
``gpkg_geometry_columns`` and the RTree spatial index extension with its
triggers), so QGIS, ArcGIS, ``ogrinfo`` and fiona open it as usual.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from layers.core import audit
from layers.core.errors import StoreError
from layers.core.schema import (
    ATTRIBUTE_TABLES,
    LOCAL_TZ,
    SCHEMA_VERSION,
    SPATIAL_LAYERS,
    STORE_EPSG,
    WEB_EPSG,
    LayerSchema,
)
from layers.store.base import (
    DEFAULT_BUSY_TIMEOUT,
    META_TABLE,
    Extent,
    Migration,
    Points,
    Query,
    Store,
    StoreBusy,
    WriteResult,
    schema_of,
    unpaged,
)

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


def _as_bytes(records: np.ndarray) -> list[bytes]:
    """One ``bytes`` object per record (void view: trailing zero bytes are kept)."""
    return records.view(np.dtype((np.void, records.dtype.itemsize))).tolist()


def _encode(geoms: Sequence, srs_id: int = STORE_EPSG) -> tuple[list[bytes | None], np.ndarray]:
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
        out[points] = _as_bytes(rec)
        envelopes[points] = xy[:, [0, 0, 1, 1]]
    others = full & ~points
    if others.any():
        bounds = shapely.bounds(arr[others])  # minx, miny, maxx, maxy
        head = np.zeros(len(bounds), dtype=_HEADER)
        head["magic"], head["flags"], head["srs_id"] = b"GP", _FLAGS_ENVELOPE, srs_id
        head["minx"], head["miny"], head["maxx"], head["maxy"] = bounds.T
        wkb = shapely.to_wkb(arr[others], byte_order=1, include_srid=False)
        out[others] = [h + w for h, w in zip(_as_bytes(head), wkb, strict=True)]
        envelopes[others] = bounds[:, [0, 2, 1, 3]]
    if empty.any():
        header = struct.pack("<2sBBi", b"GP", 0, _FLAGS_EMPTY, srs_id)
        wkb = shapely.to_wkb(arr[empty], byte_order=1, include_srid=False)
        out[empty] = [header + w for w in wkb]
    return out.tolist(), envelopes


def encode_geometries(geoms: Sequence, srs_id: int = STORE_EPSG) -> list[bytes | None]:
    """Encode shapely geometries as GeoPackage blobs (header with envelope + WKB)."""
    return _encode(geoms, srs_id)[0]


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
    #: A write of at least this many rows of a spatial layer fills the RTree in bulk.
    bulk_min_rows = 1_000
    #: Page cache (KiB) of the connection during a bulk write (then set back).
    bulk_cache_kib = 256 * 1024

    def __init__(self, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            path = path / FILE_NAME
        self.path = path
        #: Seconds a write waits for another connection's write lock (then StoreBusy).
        self.busy_timeout = busy_timeout
        #: Seconds the last write transaction of this object held the write lock
        #: (BEGIN IMMEDIATE to the end of COMMIT), for logs and benchmarks.
        self.last_lock_seconds = 0.0
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    def location(self) -> str:
        return str(self.path)

    def checkpoint(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # connections --------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None,
                                   timeout=self.busy_timeout, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"Kan inte öppna databasen {self.path}: {exc}") from exc
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # a big import grows the WAL to the size of its data; once checkpointed, the
        # next write cuts the file back to 64 MiB instead of keeping it for ever
        conn.execute("PRAGMA journal_size_limit=67108864")
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
        """Run a block in one write transaction; roll back everything on error.

        ``BEGIN IMMEDIATE`` takes the write lock at once, waiting up to
        ``busy_timeout`` seconds for another writer (an import's final transaction):
        then :class:`StoreBusy`, and nothing was written. Readers are never blocked
        (WAL): they see the last committed state until the COMMIT.
        """
        conn = self.conn
        _begin_immediate(conn)
        started = time.perf_counter()
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                # e.g. SQLITE_BUSY on commit: the transaction is still open
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if _is_busy(exc):
                    raise StoreBusy() from exc
                raise
        finally:
            self.last_lock_seconds = time.perf_counter() - started

    def data_version(self) -> tuple:
        # gpkg_contents.last_change is bumped in every write transaction that changes a
        # table (see _touch); reading a 20-row table in WAL never waits for a writer
        rows = self.conn.execute(
            "SELECT table_name, last_change FROM gpkg_contents ORDER BY table_name").fetchall()
        return tuple(rows)

    # schema -------------------------------------------------------------------

    def is_initialized(self) -> bool:
        if not self.path.exists():
            return False
        names = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"gpkg_contents", *SPATIAL_LAYERS, *ATTRIBUTE_TABLES} <= names:
            return False
        # a store made by an older version lacks the columns added since
        return not any(_missing_columns(self.conn, s) for s in ATTRIBUTE_TABLES.values())

    def initialize(self) -> None:
        with self.transaction() as conn:
            # a blank store gets today's schema version; an older one keeps its own
            # (version 1 when it has none) until `migrate` upgrades it
            blank = not _table_exists(conn, "import_log")
            conn.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            conn.execute("PRAGMA user_version = 10300")
            _create_metadata_tables(conn)
            for schema in SPATIAL_LAYERS.values():
                _create_layer(conn, schema)
            for schema in ATTRIBUTE_TABLES.values():
                _create_attribute_table(conn, schema)
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{META_TABLE}" '
                         "(key TEXT PRIMARY KEY, value TEXT)")
            if blank:
                _set_version(conn, SCHEMA_VERSION)

    # schema version, upgrade, backup --------------------------------------------

    def schema_version(self) -> int:
        if not self.path.exists():
            return 0
        conn = self.conn
        if _table_exists(conn, META_TABLE):
            row = conn.execute(f'SELECT value FROM "{META_TABLE}" '
                               "WHERE key = 'schema_version'").fetchone()
            if row is not None:
                return int(row[0])
        return 1 if _table_exists(conn, "import_log") else 0

    def upgrade(self, migrations: list[Migration], version: int) -> None:
        """Migrate a copy of the file, then swap it in (``os.replace`` is atomic).

        The store's write lock is held from the copy to the swap, so no other
        writer commits a change the copy would lose; readers go on meanwhile.
        """
        work = self.path.with_name(self.path.stem + ".migrating.gpkg")
        _remove_database(work)
        self.close()
        lock = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout)
        try:
            lock.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _begin_immediate(lock)
            # copied by a second connection: a reader, which WAL lets through the lock
            reader, target = sqlite3.connect(self.path), sqlite3.connect(work)
            try:
                reader.backup(target)
            finally:
                target.close()
                reader.close()
            copy = GeoPackageStore(work, busy_timeout=self.busy_timeout)
            try:
                copy.initialize()  # new tables and columns
                with copy.transaction() as conn:
                    for step in migrations:
                        for statement in step.sql.get(self.kind, ()):
                            conn.execute(statement)
                    _set_version(conn, version)
                copy.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                copy.conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
            os.replace(work, self.path)
        except BaseException:
            _remove_database(work)
            raise
        finally:
            if lock.in_transaction:
                lock.execute("ROLLBACK")
            lock.close()
        # the old file's WAL index must not be taken for the new file's
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def backup_to(self, target: Path) -> Path:
        """SQLite's online backup: a consistent copy while readers and writers go on."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy = sqlite3.connect(target)
        try:
            self.conn.backup(copy)
        finally:
            copy.close()
        return target

    def restore_from(self, source: Path) -> None:
        """Copy a backup over this store's file, page by page, in one transaction."""
        if not Path(source).is_file():
            raise StoreError(f"Säkerhetskopian {source} finns inte.")
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            backup.backup(self.conn)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusy() from exc
            raise
        finally:
            backup.close()
        self.close()

    # writing ------------------------------------------------------------------

    def write(self, layers, *, replace=(), then=None):
        """Write in one transaction; big frames are staged first, outside the lock.

        A frame of at least ``bulk_min_rows`` rows (an import) is converted and
        written into a private temporary SQLite database attached as ``stage``
        while no lock is held on the store; the write transaction then only copies
        it with ``INSERT … SELECT`` (in C, no Python per row), fills the RTree and
        writes the import log. Other writers wait seconds, not the whole import.
        The staging database is deleted by SQLite when it is detached, and at
        once by the OS if the process dies, so a kill leaves nothing behind and
        the store nothing half-written.
        """
        replace = set(replace)
        results: dict[str, WriteResult] = {}
        big = {name for name, frame in layers.items() if len(frame) >= self.bulk_min_rows}
        conn = self.conn
        staged: dict[str, _Staged] = {}
        if big:
            # a bigger page cache for this write only: fewer pages spilled to the WAL
            cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
            conn.execute(f"PRAGMA cache_size = {-self.bulk_cache_kib:d}")
            conn.execute("ATTACH DATABASE '' AS stage")
        try:
            for name in big:
                staged[name] = self._stage(conn, schema_of(name), layers[name])
            with self.transaction() as conn:
                stored = self._audit_before_write(layers)
                self._write_frames(conn, layers, replace, results, staged)
                self._write_audit(conn, self._audit_after_write(layers, stored))
                if then is not None:
                    self._write_frames(conn, then(dict(results)), set(), results)
            if big:
                LOGGER.info("write lock held %.2f s for %d staged rows",
                            self.last_lock_seconds, sum(s.n for s in staged.values()))
        finally:
            if big:
                conn.execute("DETACH DATABASE stage")
                conn.execute(f"PRAGMA cache_size = {cache_size:d}")
        return results

    def _stage(self, conn: sqlite3.Connection, schema: LayerSchema,
               frame: pd.DataFrame) -> _Staged:
        """Convert a frame and copy it into ``stage."<layer>"`` (no lock on the store)."""
        names, data, envelopes = self._sql_columns(schema, frame)
        table = f'stage."{schema.name}"'
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({', '.join(names)})")
        conn.execute("BEGIN")  # only the stage database is written: the store stays free
        try:
            self._execute_chunks(conn, f"INSERT INTO {table} VALUES "
                                       f"({', '.join('?' * len(names))})", data)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return _Staged(table, names, envelopes, len(frame))

    def _write_frames(self, conn: sqlite3.Connection, layers: dict[str, pd.DataFrame],
                      replace: set[str], results: dict[str, WriteResult],
                      staged: dict[str, _Staged] | None = None) -> None:
        for name, frame in layers.items():
            schema = schema_of(name)
            if name in replace:
                conn.execute(f'DELETE FROM "{name}"')
            before = _row_count(conn, name)
            if staged and name in staged:
                self._insert_staged(conn, schema, staged[name])
            else:
                self._insert_rows(conn, schema, frame)
            # counted, not taken from total_changes: the RTree triggers add changes
            inserted = _row_count(conn, name) - before
            if inserted or name in replace:
                if schema.geometry_type:
                    _update_extent(conn, name)
                _touch(conn, name)
            results[name] = WriteResult(inserted=inserted, unchanged=len(frame) - inserted)

    def _sql_columns(self, schema: LayerSchema, frame: pd.DataFrame
                     ) -> tuple[list[str], list[list], np.ndarray | None]:
        """Quoted column names, their SQL values and (spatial layers) the envelopes."""
        columns = [f for f in schema.fields if f.name in frame.columns]
        data = [_to_sql_column(frame[f.name], f.kind) for f in columns]
        names = [f'"{f.name}"' for f in columns]
        envelopes = None
        if schema.geometry_type:
            geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame[GEOM]
            blobs, envelopes = _encode(geoms.values)
            data.append(blobs)
            names.append(GEOM)
        return names, data, envelopes

    def _insert_staged(self, conn: sqlite3.Connection, schema: LayerSchema,
                       staged: _Staged) -> None:
        """Copy staged rows into the layer (rows with a stored id are ignored)."""
        cols = ", ".join(staged.names)
        if staged.envelopes is None:
            conn.execute(f'INSERT OR IGNORE INTO "{schema.name}" ({cols}) '
                         f"SELECT {cols} FROM {staged.table} ORDER BY rowid")
            return

        def insert(head: str, first: int) -> None:
            # the stage's rowids are 1..n in frame order: fid = first - 1 + rowid
            conn.execute(f"{head} SELECT rowid + ?, {cols} FROM {staged.table} ORDER BY rowid",
                         (first - 1,))

        self._insert_bulk(conn, schema.name, staged.names, staged.envelopes, insert)

    def _insert_rows(self, conn: sqlite3.Connection, schema: LayerSchema,
                     frame: pd.DataFrame) -> None:
        """Insert the rows of ``frame`` (rows with a stored id are ignored).

        Many rows of a spatial layer take the bulk path: see :meth:`_insert_bulk`.
        """
        names, data, envelopes = self._sql_columns(schema, frame)
        if envelopes is not None and len(frame) >= self.bulk_min_rows:
            def insert(head: str, first: int) -> None:
                fids = list(range(first, first + len(frame)))
                self._execute_chunks(conn, f"{head} VALUES ({', '.join('?' * (len(names) + 1))})",
                                     [fids, *data])

            self._insert_bulk(conn, schema.name, names, envelopes, insert)
            return
        sql = (f'INSERT OR IGNORE INTO "{schema.name}" ({", ".join(names)}) '
               f'VALUES ({", ".join("?" * len(names))})')
        self._execute_chunks(conn, sql, data)

    def _execute_chunks(self, conn: sqlite3.Connection, sql: str, columns: list) -> None:
        """executemany over the rows of ``columns`` (lists), ``chunk_size`` rows a call."""
        n = len(columns[0]) if columns else 0
        for start in range(0, n, self.chunk_size):
            stop = start + self.chunk_size
            conn.executemany(sql, zip(*(c[start:stop] for c in columns), strict=True))

    def _insert_bulk(self, conn: sqlite3.Connection, table: str, names: list[str],
                     envelopes: np.ndarray, insert: Callable[[str, int], None]) -> None:
        """Insert many rows of a spatial layer, then index them all at once.

        ``insert(head, first)`` runs ``head`` (``INSERT OR IGNORE INTO t (fid, …)``)
        with the rows in frame order and fids from ``first`` on: from values in
        memory or from the staging database.

        The RTree insert trigger would call the ST_* SQL functions (Python) for every
        row and insert into the RTree one entry at a time, in random order. Instead,
        inside the write transaction: the trigger is dropped, the rows are inserted
        with explicit fids (so the envelopes computed while encoding are known per
        fid), the index gets the envelopes of the rows actually inserted (those whose
        id was new), and the trigger is created again, exactly as the spec defines it.
        If anything fails, the rollback restores the trigger too.
        """
        rtree = f"rtree_{table}_{GEOM}"
        n = len(envelopes)
        last = conn.execute(f'SELECT max(fid) FROM "{table}"').fetchone()[0] or 0
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                           (table,)).fetchone()
        first = max(last, seq[0] if seq else 0) + 1
        fids = np.arange(first, first + n, dtype=np.int64)
        before = _row_count(conn, table)
        trigger = f"{rtree}_insert"
        conn.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
        # Many rows into a small table: building the secondary indexes afterwards (a
        # sort) is faster than a million random b-tree inserts. The UNIQUE index on
        # id stays, so INSERT OR IGNORE still skips stored ids.
        indexes = []
        # (rows already stored with the same id are ignored, so a big re-import would
        # rebuild the indexes for nothing: hence only into a table half as big)
        if _rebuild_pays(n, 4 * before):
            indexes = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL", (table,)).fetchall()
            for index, _ in indexes:
                conn.execute(f'DROP INDEX "{index}"')
        insert(f'INSERT OR IGNORE INTO "{table}" (fid, {", ".join(names)})', first)
        for _, create in indexes:
            conn.execute(create)
        if _row_count(conn, table) - before == n:
            inserted = np.ones(n, bool)
        else:  # some ids were stored already: only the new rows are indexed
            stored = conn.execute(f'SELECT fid FROM "{table}" WHERE fid >= ? ORDER BY fid',
                                  (first,)).fetchall()
            inserted = np.isin(fids, np.array([r[0] for r in stored], dtype=np.int64))
        keep = inserted & ~np.isnan(envelopes[:, 0])
        _rtree_add(conn, rtree, fids[keep], envelopes[keep])
        conn.execute(_rtree_triggers(table)[trigger])

    def update(self, layer, row_id, values, *, expect=None, rows=None):
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
        clauses, extra = _expect_sql(schema, expect)
        where, where_params = ["id = ?", *clauses], [row_id, *extra]
        with self.transaction() as conn:
            before = self._audit_rows(layer, [row_id])
            cur = conn.execute(f'UPDATE "{layer}" SET {", ".join(sets)} '
                               f'WHERE {" AND ".join(where)}', [*params, *where_params])
            if cur.rowcount == 0:
                return False
            _touch(conn, layer)
            if before is not None:
                after = self._audit_rows(layer, [row_id])
                self._write_audit(conn, [audit.changed(layer, before, after)])
            if rows:
                stored = self._audit_before_write(rows)
                self._write_frames(conn, rows, set(), {})
                self._write_audit(conn, self._audit_after_write(rows, stored))
            return True

    def delete(self, layer, ids, *, expect=None, rows=None):
        schema = schema_of(layer)
        ids = list(ids)
        clauses, extra = _expect_sql(schema, expect)
        where = ["id = ?", *clauses]
        with self.transaction() as conn:
            old = self._audit_rows(layer, ids)
            before = _row_count(conn, layer)
            conn.executemany(f'DELETE FROM "{layer}" WHERE {" AND ".join(where)}',
                             [(i, *extra) for i in ids])
            gone = before - _row_count(conn, layer)
            if gone:
                _touch(conn, layer)
                self._audit_deleted(conn, layer, old, ids, gone)
                if rows:
                    stored = self._audit_before_write(rows)
                    self._write_frames(conn, rows, set(), {})
                    self._write_audit(conn, self._audit_after_write(rows, stored))
            return gone

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
        # fid breaks ties, so pages of equal times never overlap (PostGIS does the same)
        order = f' ORDER BY "{query.order_by}", fid' if query and query.order_by \
            else " ORDER BY fid"
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

    def extent(self, layer):
        """From gpkg_contents (kept by every write) and the time field's index."""
        schema = schema_of(layer)
        if not schema.geometry_type:
            return super().extent(layer)
        row = self.conn.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents "
                                "WHERE table_name = ?", (layer,)).fetchone()
        empty = self.conn.execute(f'SELECT 1 FROM "{layer}" LIMIT 1').fetchone() is None
        bbox = None if empty or row is None or None in row else tuple(float(v) for v in row)
        times = None
        if schema.time_field and not empty:
            first, last = self.conn.execute(
                f'SELECT min("{schema.time_field}"), max("{schema.time_field}") '
                f'FROM "{layer}"').fetchone()
            if first is not None:
                decoded = _from_sql_column([first, last], "datetime")
                times = (decoded.iloc[0], decoded.iloc[1])
        return Extent(bbox, times)

    def ping(self):
        try:
            self.conn.execute("SELECT count(*) FROM gpkg_contents").fetchone()
            return True
        except sqlite3.Error:
            return False

    # fast reads -----------------------------------------------------------------

    def placed_count(self) -> int:
        """One count in SQL (the precision index), rows with a point only."""
        from layers.core.privacy import POINT_PRECISIONS

        where, params = self._where(SPATIAL_LAYERS["incidents"],
                                    Query(where={"precision": POINT_PRECISIONS}))
        return self.conn.execute(f'SELECT count(*) FROM "incidents"{where} '
                                 f"AND {GEOM} IS NOT NULL", params).fetchone()[0]

    def read_points(self, query: Query | None = None) -> Points:
        """Points for a grid straight from SQL: a year of a million incidents in
        under a second (see :meth:`_packed_points`), rows only for odd blobs."""
        from layers.core.privacy import POINT_PRECISIONS

        packed = self._packed_points(query)
        if packed is not None:
            return packed
        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        where = (where + " AND" if where else " WHERE") + f" {GEOM} IS NOT NULL"
        rows = self.conn.execute(
            f'SELECT {GEOM}, category, precision FROM "incidents"{where}', params).fetchall()
        geoms = decode_geometries([r[0] for r in rows]) if rows else np.empty(0, object)
        keep = ~shapely.is_empty(geoms) if rows else np.empty(0, bool)
        if not keep.any():
            return Points.empty()
        xy = shapely.get_coordinates(geoms[keep])
        kept = [r for r, k in zip(rows, keep, strict=True) if k]
        return Points(xy[:, 0], xy[:, 1], np.array([r[1] for r in kept], dtype=object),
                      np.array([r[2] in POINT_PRECISIONS for r in kept], dtype=bool))

    def _packed_points(self, query: Query | None) -> Points | None:
        """SQLite packs every point into one string.

        A GeoPackage point blob holds x and y as little-endian doubles at bytes
        46–61; ``group_concat`` joins them (as hex), the categories (one character
        each) and the precision flags in the same pass, so Python sees three
        strings instead of a million rows. Returns None when a blob is not such a
        point (then the rows are read one by one).
        """
        case, by_char, precise_sql = _point_codes()
        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        where = (where + " AND" if where else " WHERE") + f" {GEOM} IS NOT NULL"
        odd = (f"length({GEOM}) != 61 OR substr({GEOM}, 1, 4) != X'47500003' "
               f"OR substr({GEOM}, 41, 5) != X'0101000000'")
        row = self.conn.execute(
            f"SELECT group_concat(hex(substr({GEOM}, 46, 16)), ''), "
            f"group_concat(char({case}), ''), "
            f"group_concat(CASE WHEN {precise_sql} THEN '1' ELSE '0' END, ''), "
            f"sum({odd}), count(*) "
            f'FROM "incidents"{where}', params).fetchone()
        coordinates, categories, precise, odd_rows, n = row
        if not n:
            return Points.empty()
        if odd_rows:
            return None
        xy = np.frombuffer(bytes.fromhex(coordinates), dtype="<f8").reshape(n, 2).astype(float)
        chars = np.frombuffer(categories.encode("ascii"), dtype=np.uint8)
        flags = np.frombuffer(precise.encode("ascii"), dtype=np.uint8) == ord("1")
        return Points(xy[:, 0], xy[:, 1], by_char[chars], flags)

    def count_by(self, layer, fields, query=None):
        schema = schema_of(layer)
        fields = [schema.field(name).name for name in fields]  # KeyError if unknown
        where, params = self._where(schema, unpaged(query))
        cols = ", ".join(f'"{f}"' for f in fields)
        rows = self.conn.execute(
            f'SELECT {cols}, count(*) FROM "{layer}"{where} GROUP BY {cols} ORDER BY {cols}',
            params).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(len(fields) + 1)]
        data = {f: _from_sql_column(list(col), schema.field(f).kind).astype(object)
                for f, col in zip(fields, columns, strict=False)}
        frame = pd.DataFrame(data)
        frame = frame.where(frame.notna(), None)
        frame["n"] = np.asarray(columns[-1], dtype=np.int64)
        return frame

    def time_span(self, layer, query=None):
        schema = schema_of(layer)
        if schema.time_field is None:
            raise ValueError(f"{layer} has no time field")
        where, params = self._where(schema, unpaged(query))
        # one format for every stored time (ISO 8601 UTC, ms): text order is time order
        col = f'"{schema.time_field}"'
        first, last = self.conn.execute(
            f'SELECT min({col}), max({col}) FROM "{layer}"{where}', params).fetchone()
        if first is None:
            return None
        times = _from_sql_column([first, last], "datetime")
        return times.iloc[0], times.iloc[1]

    def read_page(self, layer, query):
        """With a bbox and a limit: walk the RTree for the box and stop as soon as the
        page is full, checking the other conditions row by row (a few milliseconds
        for the first page of any box, where collecting and sorting every id of a
        district box over a million incidents takes a third of a second). The rows
        come in spatial index order, stable while the data does not change."""
        if query.bbox is None or query.limit is None or not schema_of(layer).geometry_type:
            return super().read_page(layer, query)
        try:
            ids = self._page_ids(layer, query)
        except sqlite3.OperationalError as exc:  # e.g. a file without the RTree module
            LOGGER.info("RTree page not possible (%s): plain read", exc)
            return super().read_page(layer, query)
        return self._read_ids(layer, ids)

    def _page_ids(self, layer: str, query: Query) -> list[str]:
        """The ids of one page: walk the RTree entries of the box, stop when it is full."""
        minx, miny, maxx, maxy = query.bbox  # type: ignore[misc]
        rest, params = self._where(schema_of(layer), dc_replace(query, bbox=None))
        rest = rest.replace(" WHERE ", " AND ", 1)
        # CROSS JOIN keeps the RTree as the outer loop (SQLite's join order hint)
        sql = (f'SELECT t.id FROM "rtree_{layer}_{GEOM}" r CROSS JOIN "{layer}" t '
               "ON t.fid = r.id WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? "
               f"AND r.maxy >= ?{rest} LIMIT ? OFFSET ?")
        values = [maxx, minx, maxy, miny, *params, query.limit, query.offset]
        return [row[0] for row in self.conn.execute(sql, values).fetchall()]


@functools.cache
def _point_codes() -> tuple[str, np.ndarray, str]:
    """SQL mapping a category code to one character (index + 48; 126 unknown), the
    codes by character, and the SQL test of a precise place."""
    from layers.core.privacy import POINT_PRECISIONS
    from layers.core.schema import INCIDENT_CATEGORIES

    codes = [c.code for c in INCIDENT_CATEGORIES]
    case = "CASE category " + " ".join(
        f"WHEN '{code}' THEN {48 + i}" for i, code in enumerate(codes)) + " ELSE 126 END"
    by_char = np.full(127, None, dtype=object)
    by_char[48:48 + len(codes)] = codes
    precise = "precision IN (" + ", ".join(f"'{p}'" for p in POINT_PRECISIONS) + ")"
    return case, by_char, precise


# --- DDL ---------------------------------------------------------------------------


def _expect_sql(schema: LayerSchema, expect: dict[str, object] | None
                ) -> tuple[list[str], list]:
    """WHERE clauses (and parameters) that a row still has the ``expect`` values."""
    clauses, params = [], []
    for key, value in (expect or {}).items():
        # IS compares NULL with NULL as equal, unlike =
        clauses.append(f'"{key}" IS ?')
        params.append(_to_sql_column(pd.Series([value], dtype=object),
                                     schema.field(key).kind)[0])
    return clauses, params


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


def _rtree_triggers(t: str) -> dict[str, str]:
    """The six triggers that keep the RTree of table ``t`` current, as the spec gives them."""
    c, i = GEOM, "fid"
    r = f"rtree_{t}_{c}"
    return {
        f"{r}_insert": f"""CREATE TRIGGER "{r}_insert" AFTER INSERT ON "{t}"
WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;""",
        f"{r}_update1": f"""CREATE TRIGGER "{r}_update1" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;""",
        f"{r}_update2": f"""CREATE TRIGGER "{r}_update2" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
END;""",
        f"{r}_update3": f"""CREATE TRIGGER "{r}_update3" AFTER UPDATE ON "{t}"
WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;""",
        f"{r}_update4": f"""CREATE TRIGGER "{r}_update4" AFTER UPDATE ON "{t}"
WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id IN (OLD."{i}", NEW."{i}");
END;""",
        f"{r}_delete": f"""CREATE TRIGGER "{r}_delete" AFTER DELETE ON "{t}"
WHEN old."{c}" NOT NULL
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
END;""",
    }


def _create_rtree(conn: sqlite3.Connection, t: str) -> None:
    """Create the spatial index and its triggers exactly as the GeoPackage spec says."""
    r = f"rtree_{t}_{GEOM}"
    conn.execute(f'CREATE VIRTUAL TABLE "{r}" USING rtree(id, minx, maxx, miny, maxy)')
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
        "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (t, GEOM))
    # executescript() would COMMIT the open transaction: run one statement at a time
    for statement in _rtree_triggers(t).values():
        conn.execute(statement)


# --- filling the RTree in bulk ---------------------------------------------------------

#: sqlite's rtree module rounds a box outwards to 32-bit floats with these factors.
_RND_TOWARDS = 1.0 - 1.0 / 8388608.0
_RND_AWAY = 1.0 + 1.0 / 8388608.0
#: One cell of an rtree node: rowid (or child node) and the box, big endian.
_RTREE_CELL = np.dtype([("id", ">i8"), ("minx", ">f4"), ("maxx", ">f4"), ("miny", ">f4"),
                        ("maxy", ">f4")])


def _float32_down(d: np.ndarray) -> np.ndarray:
    """rtreeValueDown() of sqlite's rtree.c: the largest float32 not above d (nearly)."""
    f = d.astype(np.float32)
    over = f.astype(np.float64) > d
    if over.any():
        factor = np.where(d[over] < 0, _RND_AWAY, _RND_TOWARDS)
        f[over] = (d[over] * factor).astype(np.float32)
    return f


def _float32_up(d: np.ndarray) -> np.ndarray:
    """rtreeValueUp() of sqlite's rtree.c: the smallest float32 not below d (nearly)."""
    f = d.astype(np.float32)
    under = f.astype(np.float64) < d
    if under.any():
        factor = np.where(d[under] < 0, _RND_TOWARDS, _RND_AWAY)
        f[under] = (d[under] * factor).astype(np.float32)
    return f


def _hilbert_order(boxes: np.ndarray) -> np.ndarray:
    """Order boxes (minx, maxx, miny, maxy) along a Hilbert curve through their centres."""
    x = (boxes[:, 0] + boxes[:, 1]) / 2
    y = (boxes[:, 2] + boxes[:, 3]) / 2
    side = 1 << 16

    def grid(v: np.ndarray) -> np.ndarray:
        lo, hi = v.min(), v.max()
        scale = (side - 1) / (hi - lo) if hi > lo else 0.0
        return ((v - lo) * scale).astype(np.int64)

    gx, gy = grid(x), grid(y)
    d = np.zeros(len(boxes), dtype=np.int64)
    s = side >> 1
    while s > 0:
        rx = (gx & s) > 0
        ry = (gy & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        gx = np.where(flip, side - 1 - gx, gx)
        gy = np.where(flip, side - 1 - gy, gy)
        swap = ~ry
        gx, gy = np.where(swap, gy, gx), np.where(swap, gx, gy)
        s >>= 1
    return np.argsort(d, kind="stable")


def _rtree_add(conn: sqlite3.Connection, rtree: str, ids: np.ndarray,
               envelopes: np.ndarray) -> None:
    """Add entries (id, minx, maxx, miny, maxy) to an RTree in one go.

    When the entries are many compared with what the index already holds, the whole
    index is rebuilt as a packed tree (:func:`_rtree_rebuild`, far faster than a
    million single inserts); otherwise the entries are inserted in Hilbert order.
    """
    if len(ids) == 0:
        return
    held = conn.execute(f'SELECT count(*) FROM "{rtree}_rowid"').fetchone()[0]
    if _rebuild_pays(len(ids), held):
        conn.execute("SAVEPOINT rtree_rebuild")
        try:
            _rtree_rebuild(conn, rtree, ids, envelopes)
        except sqlite3.Error as exc:  # e.g. shadow tables read-only (defensive mode)
            conn.execute("ROLLBACK TO rtree_rebuild")
            conn.execute("RELEASE rtree_rebuild")
            LOGGER.info("packed RTree build of %s not possible (%s): inserting", rtree, exc)
        else:
            conn.execute("RELEASE rtree_rebuild")
            return
    order = _hilbert_order(envelopes)
    rows = zip(ids[order].tolist(), *envelopes[order].T.tolist(), strict=True)
    conn.executemany(f'INSERT INTO "{rtree}" VALUES (?, ?, ?, ?, ?)', rows)


#: Rebuild an index (packed RTree, secondary indexes) only for this many new rows ...
_REBUILD_MIN = 10_000
#: ... and when the table holds at most this many times as many rows already.
_REBUILD_RATIO = 2


def _rebuild_pays(new: int, held: int) -> bool:
    """Is building an index anew faster than inserting ``new`` entries into it?"""
    return new >= _REBUILD_MIN and held <= _REBUILD_RATIO * new


def _rtree_rebuild(conn: sqlite3.Connection, rtree: str, ids: np.ndarray,
                   envelopes: np.ndarray) -> None:
    """Rebuild an RTree with its current entries and new ones as a packed tree.

    Writes the rtree module's shadow tables (``_node``, ``_parent``, ``_rowid``) in
    their documented format (sqlite's ``ext/rtree/rtree.c``; GDAL's bulk loader does
    the same): nodes of 4 bytes header (tree depth in the root, cell count) and cells
    of an 8-byte id and four 32-bit floats, all big endian, rounded outwards as the
    module rounds. Leaves hold the entries in Hilbert order, filled evenly, and each
    level above the boxes of the one below, up to the root (node 1). The result is a
    valid RTree that later inserts, updates and deletes (the triggers) maintain as
    usual.
    """
    old = conn.execute(f'SELECT id, minx, maxx, miny, maxy FROM "{rtree}"').fetchall()
    if old:
        held = np.array(old, dtype=np.float64)
        ids = np.concatenate([held[:, 0].astype(np.int64), ids])
        envelopes = np.concatenate([held[:, 1:], envelopes])
    node_size = conn.execute(f'SELECT length(data) FROM "{rtree}_node" WHERE nodeno = 1')\
        .fetchone()[0]
    capacity = (node_size - 4) // _RTREE_CELL.itemsize
    node_type = np.dtype({"names": ["depth", "count", "cells"],
                          "formats": [">u2", ">u2", (_RTREE_CELL, capacity)],
                          "offsets": [0, 2, 4], "itemsize": node_size})
    order = _hilbert_order(envelopes)
    cells = np.empty(len(ids), dtype=_RTREE_CELL)
    cells["id"] = ids[order]
    cells["minx"] = _float32_down(envelopes[order, 0])
    cells["maxx"] = _float32_up(envelopes[order, 1])
    cells["miny"] = _float32_down(envelopes[order, 2])
    cells["maxy"] = _float32_up(envelopes[order, 3])

    node_rows: list[tuple[int, bytes]] = []
    parent_rows: list[tuple[int, int]] = []
    rowid_nodes: np.ndarray | None = None
    next_node = 2
    depth = 0
    while True:
        count = len(cells)
        k = 1 if count <= capacity else -(-count // capacity)
        starts = np.arange(k + 1, dtype=np.int64) * count // k  # evenly filled nodes
        sizes = np.diff(starts)
        numbers = np.array([1]) if k == 1 else np.arange(next_node, next_node + k)
        next_node += 0 if k == 1 else k
        node_of = np.repeat(np.arange(k), sizes)
        nodes = np.zeros(k, dtype=node_type)
        nodes["count"] = sizes
        if k == 1:
            nodes["depth"] = depth
        nodes["cells"][node_of, np.arange(count) - starts[node_of]] = cells
        node_rows += zip(numbers.tolist(), _as_bytes(nodes), strict=True)
        if depth == 0:
            rowid_nodes = numbers[node_of]
        else:
            parent_rows += zip(cells["id"].tolist(), numbers[node_of].tolist(), strict=True)
        if k == 1:
            break
        up = np.empty(k, dtype=_RTREE_CELL)
        up["id"] = numbers
        for name, reduce in (("minx", np.minimum), ("maxx", np.maximum),
                             ("miny", np.minimum), ("maxy", np.maximum)):
            up[name] = reduce.reduceat(cells[name].astype(np.float32), starts[:-1])
        cells = up
        depth += 1

    for shadow in ("node", "parent", "rowid"):
        conn.execute(f'DELETE FROM "{rtree}_{shadow}"')
    conn.executemany(f'INSERT INTO "{rtree}_node" (nodeno, data) VALUES (?, ?)', node_rows)
    conn.executemany(f'INSERT INTO "{rtree}_parent" (nodeno, parentnode) VALUES (?, ?)',
                     parent_rows)
    by_id = np.argsort(ids[order], kind="stable")  # appending to the b-tree is fastest
    conn.executemany(f'INSERT INTO "{rtree}_rowid" (rowid, nodeno) VALUES (?, ?)',
                     zip(ids[order][by_id].tolist(), rowid_nodes[by_id].tolist(), strict=True))


def _missing_columns(conn: sqlite3.Connection, schema: LayerSchema) -> list[str]:
    """The schema's fields that the stored table lacks (it was made by older code)."""
    stored = {r[0] for r in conn.execute("SELECT name FROM pragma_table_info(?)",
                                         (schema.name,))}
    return [f.name for f in schema.fields if f.name not in stored]


def _create_attribute_table(conn: sqlite3.Connection, schema: LayerSchema) -> None:
    name = schema.name
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (name,)).fetchone():
        # no migration system: a field added to the schema later is added as an empty
        # column, so a store made by an older version still opens
        for column in _missing_columns(conn, schema):
            kind = _SQL_TYPES[schema.field(column).kind]
            conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{column}" {kind}')
        return
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT", *_column_ddl(schema)]
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(cols)})')
    if schema.time_field:
        conn.execute(f'CREATE INDEX "idx_{name}_time" ON "{name}" ("{schema.time_field}")')
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES (?, 'attributes', ?, ?)", (name, name, schema.label))


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def _set_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute(f'INSERT OR REPLACE INTO "{META_TABLE}" VALUES (\'schema_version\', ?)',
                 (str(version),))


def _remove_database(path: Path) -> None:
    """Delete an SQLite file and its journal, WAL and index files, if present."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _row_count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def _update_extent(conn: sqlite3.Connection, table: str) -> None:
    """Set the layer's extent in gpkg_contents from its RTree (one pass over it)."""
    extent = conn.execute(f'SELECT min(minx), min(miny), max(maxx), max(maxy) '
                          f'FROM "rtree_{table}_{GEOM}"').fetchone()
    conn.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? "
                 "WHERE table_name = ?", (*extent, table))


def _touch(conn: sqlite3.Connection, table: str) -> None:
    """Move the table's ``last_change`` on, strictly: the store's data version.

    The spec's timestamp has milliseconds; two changes in the same millisecond
    still give two versions because the new value is at least the old one + 1 ms.
    """
    conn.execute(
        "UPDATE gpkg_contents SET last_change = max(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), "
        "strftime('%Y-%m-%dT%H:%M:%fZ', last_change, '+0.001 seconds')) WHERE table_name = ?",
        (table,))


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Take the write lock (waiting up to the busy timeout), else StoreBusy."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise StoreBusy() from exc
        raise


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    """Is this SQLite's "database is locked" / "busy" (another writer holds the lock)?"""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


@dataclass(frozen=True)
class _Staged:
    """Rows of one layer waiting in the staging database for the write transaction."""

    table: str
    names: list[str]
    envelopes: np.ndarray | None
    n: int
