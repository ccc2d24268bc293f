"""Writing to the PostGIS store: rows in by ``COPY`` into a temporary table and
``INSERT … SELECT … ON CONFLICT DO NOTHING`` (big frames copied before the
transaction), updates and deletes by id with their audit entries and cell counts,
and the per-table versions in ``store_contents`` (the data version).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import geopandas as gpd
import pandas as pd
import psycopg
from psycopg import sql

from layers.core.errors import StoreError
from layers.core.schema import LayerSchema
from layers.store.base import WriteResult, schema_of
from layers.store.postgis.bulk import insert_big_load
from layers.store.postgis.cells import CELL_SOURCE as _CELL_SOURCE
from layers.store.postgis.cells import CELLS, fill_cells
from layers.store.postgis.cells import cells_upsert as _cells_upsert
from layers.store.postgis.connection import PostGISConnection
from layers.store.postgis.tables import TOUCH as _TOUCH
from layers.store.postgis.values import EPOCH_US as _EPOCH_US
from layers.store.postgis.values import GEOM
from layers.store.postgis.values import SQL_TYPES as _SQL_TYPES
from layers.store.postgis.values import STAGE_TYPES as _STAGE_TYPES
from layers.store.postgis.values import column as _column
from layers.store.postgis.values import geom_sql as _geom_sql
from layers.store.postgis.values import hex_wkb as _hex_wkb
from layers.store.postgis.values import ident as _ident
from layers.store.postgis.values import param as _param


class PostGISWriting(PostGISConnection):
    """The writes of :class:`~layers.store.postgis.PostGISStore`."""

    #: Rows converted at a time while copying: keeps memory flat on million-row imports.
    chunk_size = 50_000
    #: A load of at least this many rows that also at least doubles its table sets the
    #: table's indexes aside and builds them again after the insert
    #: (:func:`~layers.store.postgis.bulk.insert_big_load`).
    rebuild_min_rows = 200_000

    @contextmanager
    def _staged_frames(self, layers: dict[str, pd.DataFrame],
                       big: list[str]) -> Iterator[dict[str, sql.Identifier]]:
        """COPY the big frames first, in autocommit: no transaction, no lock; their
        temporary tables are dropped when the write is done."""
        staged: dict[str, sql.Identifier] = {}
        try:
            with self._reachable():
                for name in big:
                    staged[name] = self._stage(self.conn, schema_of(name), layers[name],
                                               on_commit_drop=False)
            yield staged
        finally:
            if staged:
                with contextlib.suppress(psycopg.Error, StoreError), self._reachable():
                    for stage in staged.values():
                        self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))

    def _after_write(self, staged: dict[str, sql.Identifier],
                     results: dict[str, WriteResult]) -> None:
        self._analyze(name for name in staged if results.get(name) and results[name].inserted)

    def _analyze(self, tables: Iterable[str]) -> None:
        """Refresh the planner's statistics of tables a big write filled, at once:
        without them it takes a million new rows for none and plans a bbox page as
        a sort of the whole box instead of a nearest-first walk of the GiST index
        (autovacuum would get there, minutes later). Outside the write transaction,
        so a failure here loses nothing."""
        for name in tables:
            # the grid's summary grew with the incidents
            for table in (name, CELLS) if name == "incidents" and self._cells_exist() else (name,):
                with contextlib.suppress(psycopg.Error, StoreError), self._reachable():
                    self.conn.execute(sql.SQL("ANALYZE {}").format(_ident(table)))

    def _write_frames(self, conn: psycopg.Connection, layers: dict[str, pd.DataFrame],
                      replace: set[str], results: dict[str, WriteResult],
                      staged: dict[str, sql.Identifier] | None = None) -> None:
        for name, frame in layers.items():
            schema = schema_of(name)
            if name in replace:
                conn.execute(sql.SQL("DELETE FROM {}").format(_ident(name)))
                if name == "incidents" and self._cells_exist():
                    conn.execute(sql.SQL("DELETE FROM {}").format(_ident(CELLS)))
            if staged and name in staged:
                inserted = self._insert_staged(conn, schema, frame, staged[name])
            else:
                inserted = self._insert_rows(conn, schema, frame)
            if inserted or name in replace:
                self._touch(conn, name)
            results[name] = WriteResult(inserted=inserted, unchanged=len(frame) - inserted)

    def _touch(self, conn: psycopg.Connection, table: str) -> None:
        """Bump the table's version in ``store_contents`` (in the caller's transaction)."""
        if self._contents_exist():
            conn.execute(_TOUCH, [table])

    def _contents_exist(self) -> bool:
        """Does ``store_contents`` exist (a store made before it: ``init`` adds it)?"""
        if self._has_contents is None:
            rows = self._fetch(sql.SQL("SELECT to_regclass('store_contents') IS NOT NULL"), [])
            self._has_contents = bool(rows[0][0])
        return self._has_contents

    def data_version(self) -> tuple:
        # MVCC: a running import's uncommitted rows and bumps are invisible here, and
        # reading never waits for a writer
        if self._contents_exist():
            return tuple(self._fetch(sql.SQL(
                "SELECT table_name, version FROM store_contents ORDER BY table_name"), []))
        return tuple(self._fetch(sql.SQL(
            "SELECT (SELECT max(fid) FROM incidents), (SELECT count(*) FROM findings), "
            "(SELECT max(status_changed_at) FROM findings), (SELECT count(*) FROM sites), "
            "(SELECT max(fid) FROM sites)"), [])[0])

    def _insert_rows(self, conn: psycopg.Connection, schema: LayerSchema,
                     frame: pd.DataFrame) -> int:
        """Copy ``frame`` into a staging table, then insert the rows with a new id."""
        if len(frame) == 0:
            return 0
        stage = self._stage(conn, schema, frame, on_commit_drop=True)
        inserted = self._insert_staged(conn, schema, frame, stage)
        conn.execute(sql.SQL("DROP TABLE {}").format(stage))
        return inserted

    def _stage(self, conn: psycopg.Connection, schema: LayerSchema, frame: pd.DataFrame,
               *, on_commit_drop: bool) -> sql.Identifier:
        """COPY ``frame`` into a new temporary table and return its name.

        Temporary tables are not WAL-logged and die with the session, so a killed
        import leaves nothing behind.
        """
        fields = [f for f in schema.fields if f.name in frame.columns]
        geoms = None
        if schema.geometry_type:
            geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame[GEOM]
        stage = _ident(f"_stage_{schema.name}_{next(self._staging)}")
        cols = [sql.SQL("{} {}").format(_ident(f.name), sql.SQL(_STAGE_TYPES[f.kind]))
                for f in fields]
        if geoms is not None:
            cols.append(sql.SQL("{} text").format(_ident(GEOM)))
        conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}){}").format(
            stage, sql.SQL(", ").join(cols),
            sql.SQL(" ON COMMIT DROP" if on_commit_drop else "")))
        names = [f.name for f in fields] + ([GEOM] if geoms is not None else [])
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
            stage, sql.SQL(", ").join(map(_ident, names)))
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for start in range(0, len(frame), self.chunk_size):
                part = frame.iloc[start:start + self.chunk_size]
                data = [_column(part[f.name], f.kind) for f in fields]
                if geoms is not None:
                    data.append(_hex_wkb(geoms.values[start:start + self.chunk_size]))
                for row in zip(*data, strict=True):
                    copy.write_row(row)
        return stage

    def _insert_staged(self, conn: psycopg.Connection, schema: LayerSchema,
                       frame: pd.DataFrame, stage: sql.Identifier) -> int:
        """Insert the staged rows whose id is new; return how many went in."""
        fields = [f for f in schema.fields if f.name in frame.columns]
        names = [f.name for f in fields] + ([GEOM] if schema.geometry_type else [])
        selected = []
        for f in fields:
            col = _ident(f.name)
            selected.append(sql.SQL(_EPOCH_US).format(col) if f.kind == "datetime" else col)
        if schema.geometry_type:
            selected.append(_geom_sql(schema, _ident(GEOM)))
        # Like INSERT OR IGNORE in SQLite: a row without an id is skipped, not an error.
        where = sql.SQL(' WHERE "id" IS NOT NULL') if "id" in schema.names else sql.SQL("")
        plain = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{}").format(
            _ident(schema.name), sql.SQL(", ").join(map(_ident, names)),
            sql.SQL(", ").join(selected), stage, where)
        insert = plain + sql.SQL(" ON CONFLICT DO NOTHING")
        cells = schema.name == "incidents" and self._cells_exist()
        if cells:
            # the new rows' cell counts go in with them, in the same statement
            returning = sql.SQL(" RETURNING {}").format(
                sql.SQL(", ").join(map(_ident, _CELL_SOURCE)))
            insert = sql.SQL(
                "WITH new AS ({}), cells AS ({}) SELECT count(*) FROM new").format(
                insert + returning, _cells_upsert(sql.Identifier("new"), 1))

        def run() -> int:
            cur = conn.execute(insert)
            return cur.fetchone()[0] if cells else cur.rowcount

        def into_empty() -> int:
            # nothing stored to conflict with; the summary counted from the table after
            inserted = conn.execute(plain).rowcount
            if cells:
                fill_cells(conn)
            return inserted

        if len(frame) < self.rebuild_min_rows:
            return run()
        return insert_big_load(conn, schema.name, stage, len(frame), run, into_empty)

    def update(self, layer: str, row_id: str, values: dict[str, object], *,
               expect: dict[str, object] | None = None,
               rows: dict[str, pd.DataFrame] | None = None) -> bool:
        schema = schema_of(layer)
        sets, params = [], []
        for key, value in values.items():
            if key == "geometry":
                if value is None:
                    sets.append(sql.SQL("{} = NULL").format(_ident(GEOM)))
                else:
                    sets.append(sql.SQL("{} = {}").format(
                        _ident(GEOM), _geom_sql(schema, sql.Placeholder())))
                    params.append(_hex_wkb([value])[0])
                continue
            kind = schema.field(key).kind
            sets.append(sql.SQL("{} = {}").format(
                _ident(key), sql.SQL("%s::{}").format(sql.SQL(_SQL_TYPES[kind]))))
            params.append(_param(value, kind))
        where, where_params = _expect_where(schema, sql.SQL("id = %s"), row_id, expect)
        if not sets:
            sets.append(sql.SQL("id = id"))
        with self.transaction() as conn:
            before = self._audit_rows(layer, [row_id])
            # the row's cell counts out, then (changed or not) back in
            self._cells_add(conn, layer, [str(row_id)], -1)
            cur = conn.execute(sql.SQL("UPDATE {} SET {} WHERE {}").format(
                _ident(layer), sql.SQL(", ").join(sets), sql.SQL(" AND ").join(where)),
                [*params, *where_params])
            self._cells_add(conn, layer, [str(row_id)], 1)
            if cur.rowcount == 0:
                return False
            self._touch(conn, layer)
            self._audit_changed(conn, layer, row_id, before)
            self._write_along(conn, rows)
            return True

    def delete(self, layer: str, ids: Iterable[str], *,
               expect: dict[str, object] | None = None,
               rows: dict[str, pd.DataFrame] | None = None) -> int:
        schema = schema_of(layer)
        ids = [str(i) for i in ids]
        where, params = _expect_where(schema, sql.SQL("id = ANY(%s::text[])"), ids, expect)
        with self.transaction() as conn:
            old = self._audit_rows(layer, ids)
            # the rows' cell counts out; those the delete kept (expect) back in
            self._cells_add(conn, layer, ids, -1)
            cur = conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(
                _ident(layer), sql.SQL(" AND ").join(where)), params)
            self._cells_add(conn, layer, ids, 1)
            gone = cur.rowcount
            if gone:
                self._touch(conn, layer)
                self._audit_deleted(conn, layer, old, ids, gone)
                self._write_along(conn, rows)
            return gone


def _expect_where(schema: LayerSchema, first: sql.Composable, first_param: object,
                  expect: dict[str, object] | None) -> tuple[list[sql.Composable], list]:
    """The WHERE parts (and parameters) of an update or delete: the ids, then ``expect``."""
    where, params = [first], [first_param]
    for key, value in (expect or {}).items():
        kind = schema.field(key).kind
        # IS NOT DISTINCT FROM: NULL matches NULL, as SQLite's IS does
        where.append(sql.SQL("{} IS NOT DISTINCT FROM {}").format(
            _ident(key), sql.SQL("%s::{}").format(sql.SQL(_SQL_TYPES[kind]))))
        params.append(_param(value, kind))
    return where, params
