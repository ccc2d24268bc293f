"""Writing to the GeoPackage: rows in (big frames staged outside the lock, the RTree
filled in bulk), updates and deletes by id, each in one transaction with its audit
entries, and every changed table's ``last_change`` moved on (the data version).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.core.schema import LayerSchema
from layers.store.base import WriteResult, schema_of
from layers.store.connection import ConnectedStore
from layers.store.geopackage.encoding import GEOM, encode, encode_geometries, to_sql_column
from layers.store.geopackage.rtree import rebuild_pays, rtree_add, rtree_triggers

LOGGER = logging.getLogger(__name__)


class GeoPackageWriting(ConnectedStore):
    """The writes of :class:`~layers.store.geopackage.GeoPackageStore`."""

    #: Rows per executemany call: keeps memory flat on million-row imports.
    chunk_size = 20_000
    #: Page cache (KiB) of the connection during a bulk write (then set back).
    bulk_cache_kib = 256 * 1024

    @contextmanager
    def _staged_frames(self, layers: dict[str, pd.DataFrame],
                       big: list[str]) -> Iterator[dict[str, _Staged]]:
        """Big frames staged first, outside the lock.

        A frame of at least ``bulk_min_rows`` rows (an import) is converted and
        written into a private temporary SQLite database attached as ``stage``
        while no lock is held on the store; the write transaction then only copies
        it with ``INSERT … SELECT`` (in C, no Python per row), fills the RTree and
        writes the import log. Other writers wait seconds, not the whole import.
        The staging database is deleted by SQLite when it is detached, and at
        once by the OS if the process dies, so a kill leaves nothing behind and
        the store nothing half-written.
        """
        conn = self.conn
        staged: dict[str, _Staged] = {}
        if not big:
            yield staged
            return
        # a bigger page cache for this write only: fewer pages spilled to the WAL
        cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = {-self.bulk_cache_kib:d}")
        conn.execute("ATTACH DATABASE '' AS stage")
        try:
            for name in big:
                staged[name] = self._stage(conn, schema_of(name), layers[name])
            yield staged
        finally:
            conn.execute("DETACH DATABASE stage")
            conn.execute(f"PRAGMA cache_size = {cache_size:d}")

    def _after_write(self, staged: dict[str, _Staged], results: dict[str, WriteResult]) -> None:
        if staged:
            LOGGER.info("write lock held %.2f s for %d staged rows",
                        self.last_lock_seconds, sum(s.n for s in staged.values()))

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
        data = [to_sql_column(frame[f.name], f.kind) for f in columns]
        names = [f'"{f.name}"' for f in columns]
        envelopes = None
        if schema.geometry_type:
            geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame[GEOM]
            blobs, envelopes = encode(geoms.values)
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
        if rebuild_pays(n, 4 * before):
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
        rtree_add(conn, rtree, fids[keep], envelopes[keep])
        conn.execute(rtree_triggers(table)[trigger])

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
            params.append(to_sql_column(pd.Series([value], dtype=object), kind)[0])
        clauses, extra = _expect_sql(schema, expect)
        where, where_params = ["id = ?", *clauses], [row_id, *extra]
        with self.transaction() as conn:
            before = self._audit_rows(layer, [row_id])
            cur = conn.execute(f'UPDATE "{layer}" SET {", ".join(sets)} '
                               f'WHERE {" AND ".join(where)}', [*params, *where_params])
            if cur.rowcount == 0:
                return False
            _touch(conn, layer)
            self._audit_changed(conn, layer, row_id, before)
            self._write_along(conn, rows)
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
                self._write_along(conn, rows)
            return gone


def _expect_sql(schema: LayerSchema, expect: dict[str, object] | None
                ) -> tuple[list[str], list]:
    """WHERE clauses (and parameters) that a row still has the ``expect`` values."""
    clauses, params = [], []
    for key, value in (expect or {}).items():
        # IS compares NULL with NULL as equal, unlike =
        clauses.append(f'"{key}" IS ?')
        params.append(to_sql_column(pd.Series([value], dtype=object),
                                     schema.field(key).kind)[0])
    return clauses, params


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


@dataclass(frozen=True)
class _Staged:
    """Rows of one layer waiting in the staging database for the write transaction."""

    table: str
    names: list[str]
    envelopes: np.ndarray | None
    n: int
