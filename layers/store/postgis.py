"""The PostGIS store: the same layers in PostgreSQL tables, for a city with many users.

Selected with ``TRYGGHETSKARTAN_DATABASE=postgresql://…`` (see
:func:`layers.store.open_store`). The tables are generated from :mod:`layers.core.schema`
like the GeoPackage ones: a ``fid`` identity key (QGIS wants an integer key), the
schema's fields (``str`` text, ``int`` bigint, ``float`` double precision, ``bool``
boolean, ``datetime`` timestamptz, ``date`` date), a ``geom geometry(<type>, 3011)``
column with a GiST index, and ``id text UNIQUE NOT NULL`` (stadsdelar are unique on
``code``, stadsdelsområden on ``(code, division)``).

A write is one transaction. Rows go in by ``COPY`` into a temporary table and then
``INSERT … SELECT … ON CONFLICT DO NOTHING``: a million incidents load without a round
trip per row, and rows whose id is already stored are left as they are, exactly as
:class:`layers.store.geopackage.GeoPackageStore` does with ``INSERT OR IGNORE``.
Geometries travel as hex WKB and are read back as WKB. A big frame (an import) is
copied into its temporary (unlogged, session-private) table *before* the write
transaction begins, so the transaction itself is one short ``INSERT … SELECT``.

Every connection sets ``lock_timeout`` (the store's busy timeout) and, when given,
``statement_timeout`` (the web app's): a wait past them raises
:class:`~layers.store.base.StoreBusy`. The table ``store_contents`` (one row per
table: a version counter bumped in the transaction that changes it) gives
:meth:`PostGISStore.data_version`.

``incident_cells`` (not a layer: derived, PostGIS only) counts the incidents per
250 m cell, local month and year, category, stadsdelsområde and precision, kept by
every write in its own transaction; :meth:`PostGISStore.grid_counts` reads it so the
city grid of a year does not scan millions of incidents.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace as dc_replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import conninfo, sql

from layers.core import audit
from layers.core.errors import StoreError
from layers.core.schema import (
    ATTRIBUTE_TABLES,
    LOCAL_TZ,
    SCHEMA_VERSION,
    SPATIAL_LAYERS,
    STORE_EPSG,
    LayerSchema,
)
from layers.store.base import (
    DEFAULT_BUSY_TIMEOUT,
    META_TABLE,
    GridCounts,
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

GEOM = "geom"
_SQL_TYPES = {
    "str": "text",
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "datetime": "timestamptz",
    "date": "date",
}
# Datetimes travel as microseconds since 1970 (exact, and numpy makes them fast).
_STAGE_TYPES = dict(_SQL_TYPES, datetime="bigint")
_EPOCH_US = "timestamptz 'epoch' + {} * interval '1 microsecond'"
# Columns the analysis filters on, indexed as in the GeoPackage store.
_INDEXED = ("category", "sdo_code", "status")
# Serialises initialize() between processes: CREATE TABLE IF NOT EXISTS can race.
_INIT_LOCK = 0x7472_7967  # 'tryg'
_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")
_PASSWORD_PARAM = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def _safe_url(url: str) -> str:
    """Return the URL without its password, for messages and logs."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1***@", url))


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


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


def _column(values: pd.Series, kind: str) -> list:
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


def _param(value: object, kind: str) -> object:
    """Convert one value for a query parameter of a column of ``kind``."""
    if kind == "datetime":
        ts = _utc(pd.Series([value], dtype=object)).iloc[0]
        return None if pd.isna(ts) else ts.to_pydatetime()
    return _column(pd.Series([value], dtype=object), kind)[0]


def _hex_wkb(geoms: Iterable) -> list[str | None]:
    """Encode shapely geometries as hex WKB (None stays None)."""
    arr = np.asarray(geoms, dtype=object)
    return shapely.to_wkb(arr, hex=True, include_srid=False).tolist()


def _from_db(values: list, kind: str) -> pd.Series:
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


def _geom_sql(schema: LayerSchema, value: sql.Composable) -> sql.Composable:
    """SQL turning a hex WKB value into a geometry of the layer's declared type."""
    geom = sql.SQL("ST_Force2D(ST_GeomFromWKB(decode({}, 'hex'), {}))").format(
        value, sql.Literal(STORE_EPSG))
    # Polygons go into MULTIPOLYGON layers (the reference data has plain polygons).
    if schema.geometry_type.upper().startswith("MULTI"):
        geom = sql.SQL("ST_Multi({})").format(geom)
    return geom


# --- the store -----------------------------------------------------------------------


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


class PostGISStore(Store):
    """All layers in one PostgreSQL database with PostGIS."""

    kind = "postgis"
    #: Rows converted at a time while copying: keeps memory flat on million-row imports.
    chunk_size = 50_000
    #: A frame of at least this many rows is copied before the transaction begins.
    bulk_min_rows = 1_000

    def __init__(self, url: str, *, connect_timeout: int = 10,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 statement_timeout: float | None = None) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        #: Seconds a statement waits for a lock (lock_timeout), then StoreBusy.
        self.busy_timeout = busy_timeout
        #: Seconds any statement may run (statement_timeout; the web app sets it).
        self.statement_timeout = statement_timeout
        self._local = threading.local()
        self._staging = itertools.count()
        self._has_contents: bool | None = None
        self._has_cells: bool | None = None

    def __repr__(self) -> str:
        return f"PostGISStore({_safe_url(self.url)!r})"

    def location(self) -> str:
        return self.url

    # connections --------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        try:
            params = conninfo.conninfo_to_dict(self.url)
            params.setdefault("connect_timeout", str(self.connect_timeout))
            params.setdefault("application_name", "trygghetskartan")
            timeouts = [f"-c lock_timeout={int(self.busy_timeout * 1000)}"]
            if self.statement_timeout:
                timeouts.append(f"-c statement_timeout={int(self.statement_timeout * 1000)}")
            params["options"] = " ".join([params.get("options", ""), *timeouts]).strip()
            # autocommit: reads never leave a transaction open; writes BEGIN explicitly
            return psycopg.connect(**params, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(
                f"Kan inte ansluta till databasen {_safe_url(self.url)}: {exc}") from exc

    @property
    def conn(self) -> psycopg.Connection:
        """One connection per thread (the web app serves requests in threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Turn a lost or refused connection into a StoreError with a Swedish message."""
        try:
            yield
        except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
            # lock_timeout / statement_timeout: nothing was written, try again later
            raise StoreBusy() from exc
        except psycopg.OperationalError as exc:
            conn = getattr(self._local, "conn", None)
            if conn is not None and (conn.closed or conn.broken):
                self._local.conn = None
            raise StoreError(
                f"Databasen {_safe_url(self.url)} svarar inte: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection]:
        """Run a block in one transaction; roll back everything on error."""
        with self._reachable():
            conn = self.conn
            with conn.transaction():
                yield conn

    def _fetch(self, query: sql.Composable, params: list) -> list[tuple]:
        with self._reachable():
            return self.conn.execute(query, params).fetchall()

    # schema -------------------------------------------------------------------

    def is_initialized(self) -> bool:
        names = [*SPATIAL_LAYERS, *ATTRIBUTE_TABLES]
        rows = self._fetch(
            sql.SQL("SELECT count(*) FROM pg_tables "
                    "WHERE schemaname = current_schema() AND tablename = ANY(%s)"),
            [names])
        if rows[0][0] != len(names):
            return False
        # a store made by an older version lacks the columns added since
        stored = set(self._fetch(
            sql.SQL("SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = ANY(%s)"),
            [list(ATTRIBUTE_TABLES)]))
        return all((s.name, f.name) in stored
                   for s in ATTRIBUTE_TABLES.values() for f in s.fields)

    def initialize(self) -> None:
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_INIT_LOCK])
            try:
                with conn.transaction():
                    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except psycopg.errors.InsufficientPrivilege as exc:
                raise StoreError(
                    f"PostGIS saknas i databasen {_safe_url(self.url)} och användaren får "
                    f"inte installera det (CREATE EXTENSION postgis): {exc}") from exc
            except psycopg.errors.FeatureNotSupported as exc:
                raise StoreError(
                    f"PostGIS är inte installerat på databasservern {_safe_url(self.url)} "
                    f"(Debian: postgresql-NN-postgis-3): {exc}") from exc
            # a blank store gets today's schema version; an older one keeps its own
            # (version 1 when it has none) until `migrate` upgrades it
            blank = conn.execute("SELECT to_regclass('import_log') IS NULL").fetchone()[0]
            for schema in (*SPATIAL_LAYERS.values(), *ATTRIBUTE_TABLES.values()):
                for statement in table_ddl(schema):
                    conn.execute(statement)
            conn.execute(_CONTENTS_DDL)
            conn.execute(_META_DDL)
            _create_cells(conn)
            if blank:
                conn.execute(_SET_VERSION, [str(SCHEMA_VERSION)])
        self._has_contents = True
        self._has_cells = True
        LOGGER.info("PostGIS store ready at %s", _safe_url(self.url))

    # schema version, upgrade, backup --------------------------------------------

    def schema_version(self) -> int:
        meta, tables = self._fetch(sql.SQL(
            "SELECT to_regclass(%s) IS NOT NULL, to_regclass('import_log') IS NOT NULL"),
            [META_TABLE])[0]
        if meta:
            rows = self._fetch(sql.SQL("SELECT value FROM {} WHERE key = 'schema_version'")
                               .format(_ident(META_TABLE)), [])
            if rows:
                return int(rows[0][0])
        return 1 if tables else 0

    def upgrade(self, migrations: list[Migration], version: int) -> None:
        """Upgrade in one transaction: DDL is transactional in PostgreSQL."""
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_INIT_LOCK])
            self.initialize()  # new tables and columns (a savepoint inside)
            for step in migrations:
                for statement in step.sql.get(self.kind, ()):
                    conn.execute(statement)
            conn.execute(_SET_VERSION, [str(version)])

    def _tables(self) -> list[str]:
        """The store's tables that exist, schema-qualified, for pg_dump."""
        names = [*SPATIAL_LAYERS, *ATTRIBUTE_TABLES, "store_contents", META_TABLE, CELLS]
        rows = self._fetch(sql.SQL(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = ANY(%s)"), [names])
        return [f'"{schema}"."{table}"' for schema, table in rows]

    def backup_to(self, target: Path) -> Path:
        """``pg_dump --format=custom`` of the store's tables (a consistent snapshot)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tables = self._tables()
        if not tables:
            raise StoreError("Lagret är tomt: det finns inget att säkerhetskopiera.")
        args = ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
        args += [f"--table={t}" for t in tables]
        self._run_client("pg_dump", [*args, f"--dbname={self.url}"])
        return target

    def restore_from(self, source: Path) -> None:
        """``pg_restore`` into this (empty) database, in one transaction."""
        if not Path(source).is_file():
            raise StoreError(f"Säkerhetskopian {source} finns inte.")
        if self._tables():
            raise StoreError("Lagret är inte tomt: återställ till en tom databas (eller töm "
                             "den först), så blandas inga rader.")
        with self._reachable():
            self.conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        self._run_client("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error",
                                        "--single-transaction", f"--dbname={self.url}",
                                        str(source)])
        self._has_contents = None
        self._has_cells = None

    def _run_client(self, program: str, args: list[str]) -> None:
        """Run pg_dump / pg_restore; a failure is a StoreError without the password."""
        path = shutil.which(program)
        if path is None:
            raise StoreError(f"{program} saknas: installera PostgreSQL-klienten "
                             "(Debian: postgresql-client).")
        done = subprocess.run([path, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StoreError(f"{program} misslyckades: {_safe_url(done.stderr.strip())[:2000]}")

    # writing ------------------------------------------------------------------

    def write(
        self,
        layers: dict[str, pd.DataFrame],
        *,
        replace: Iterable[str] = (),
        then: Callable[[dict[str, WriteResult]], dict[str, pd.DataFrame]] | None = None,
    ) -> dict[str, WriteResult]:
        replace = set(replace)
        results: dict[str, WriteResult] = {}
        staged: dict[str, sql.Identifier] = {}
        try:
            with self._reachable():
                # COPY the big frames first, in autocommit: no transaction, no lock
                for name, frame in layers.items():
                    if len(frame) >= self.bulk_min_rows:
                        staged[name] = self._stage(self.conn, schema_of(name), frame,
                                                   on_commit_drop=False)
            with self.transaction() as conn:
                stored = self._audit_before_write(layers)
                self._write_frames(conn, layers, replace, results, staged)
                self._write_audit(conn, self._audit_after_write(layers, stored))
                if then is not None:
                    self._write_frames(conn, then(dict(results)), set(), results)
        finally:
            if staged:
                with contextlib.suppress(psycopg.Error, StoreError), self._reachable():
                    for stage in staged.values():
                        self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
        self._analyze(name for name in staged if results.get(name) and results[name].inserted)
        return results

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
        insert = sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM {}{} ON CONFLICT DO NOTHING").format(
            _ident(schema.name), sql.SQL(", ").join(map(_ident, names)),
            sql.SQL(", ").join(selected), stage, where)
        if schema.name != "incidents" or not self._cells_exist():
            return conn.execute(insert).rowcount
        # the new rows' cell counts go in with them, in the same statement
        returning = sql.SQL(" RETURNING {}").format(sql.SQL(", ").join(map(_ident, _CELL_SOURCE)))
        statement = sql.SQL("WITH new AS ({}), cells AS ({}) SELECT count(*) FROM new").format(
            insert + returning, _cells_upsert(sql.Identifier("new"), 1))
        return conn.execute(statement).fetchone()[0]

    def _cells_exist(self) -> bool:
        """Does the grid's summary table exist (a store made before it: ``migrate``)?"""
        if self._has_cells is None:
            rows = self._fetch(sql.SQL("SELECT to_regclass(%s) IS NOT NULL"), [CELLS])
            self._has_cells = bool(rows[0][0])
        return self._has_cells

    def _cells_add(self, conn: psycopg.Connection, layer: str, ids: list[str],
                   sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) the cell counts of the incidents ``ids``,
        locking their rows: around an update or delete, so the summary follows it."""
        if layer != "incidents" or not ids or not self._cells_exist():
            return
        rows = sql.SQL("(SELECT {} FROM incidents WHERE id = ANY(%s::text[]) FOR UPDATE)").format(
            sql.SQL(", ").join(map(_ident, _CELL_SOURCE)))
        conn.execute(_cells_upsert(rows, sign), [ids])

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
            if before is not None:
                after = self._audit_rows(layer, [row_id])
                self._write_audit(conn, [audit.changed(layer, before, after)])
            if rows:
                stored = self._audit_before_write(rows)
                self._write_frames(conn, rows, set(), {})
                self._write_audit(conn, self._audit_after_write(rows, stored))
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
                if rows:
                    stored = self._audit_before_write(rows)
                    self._write_frames(conn, rows, set(), {})
                    self._write_audit(conn, self._audit_after_write(rows, stored))
            return gone

    # reading ------------------------------------------------------------------

    def _where(self, schema: LayerSchema, query: Query | None) -> tuple[sql.Composable, list]:
        if query is None:
            return sql.SQL(""), []
        clauses: list[sql.Composable] = []
        params: list = []
        if query.bbox is not None and schema.geometry_type:
            clauses.append(sql.SQL("{} && ST_MakeEnvelope(%s, %s, %s, %s, {})").format(
                _ident(GEOM), sql.Literal(STORE_EPSG)))
            params += [float(v) for v in query.bbox]
        if schema.time_field and (query.start or query.end):
            tcol = _ident(schema.time_field)
            if query.start is not None:
                clauses.append(sql.SQL("{} >= %s").format(tcol))
                params.append(_param(query.start, "datetime"))
            if query.end is not None:
                clauses.append(sql.SQL("{} < %s").format(tcol))
                params.append(_param(query.end, "datetime"))
        for key, value in query.where.items():
            kind = schema.field(key).kind
            col = _ident(key)
            if isinstance(value, (list, tuple, set, frozenset)):
                # one conversion for the whole list (a page reads a thousand ids)
                values = [_param(v, kind) for v in value] if kind == "datetime" else \
                    _column(pd.Series(list(value), dtype=object), kind)
                if not values:
                    clauses.append(sql.SQL("FALSE"))
                    continue
                clauses.append(sql.SQL("{} = ANY(%s::{}[])").format(
                    col, sql.SQL(_SQL_TYPES[kind])))
                params.append(values)
            elif value is None:
                clauses.append(sql.SQL("{} IS NULL").format(col))
            else:
                clauses.append(sql.SQL("{} = %s::{}").format(col, sql.SQL(_SQL_TYPES[kind])))
                params.append(_param(value, kind))
        if not clauses:
            return sql.SQL(""), params
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses), params

    def _order(self, schema: LayerSchema, query: Query | None) -> sql.Composable:
        if not query or not query.order_by:
            return sql.SQL(" ORDER BY fid")
        f = schema.field(query.order_by)
        # Byte order and NULLs first: the same order SQLite (the GeoPackage) gives.
        collate = sql.SQL(' COLLATE "C"') if f.kind == "str" else sql.SQL("")
        return sql.SQL(" ORDER BY {}{} NULLS FIRST, fid").format(_ident(f.name), collate)

    def read(self, layer: str, query: Query | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        schema = schema_of(layer)
        where, params = self._where(schema, query)
        tail = self._order(schema, query)
        if query and (query.limit is not None or query.offset):
            tail += sql.SQL(" LIMIT %s OFFSET %s")
            params += [query.limit, query.offset]
        return self._read_rows(schema, where + tail, params)

    def _read_rows(self, schema: LayerSchema, tail: sql.Composable,
                   params: list) -> gpd.GeoDataFrame | pd.DataFrame:
        """Every field (and the geometry) of the rows ``SELECT … FROM layer <tail>``
        gives, as the typed frame :meth:`read` returns, in the order of the rows."""
        selected = []
        for f in schema.fields:
            col = _ident(f.name)
            if f.kind == "datetime":
                selected.append(sql.SQL("(extract(epoch FROM {}) * 1000000)::bigint").format(col))
            else:
                selected.append(col)
        if schema.geometry_type:
            selected.append(sql.SQL("ST_AsBinary({})").format(_ident(GEOM)))
        statement = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(selected), _ident(schema.name)) + tail
        rows = self._fetch(statement, params)
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in selected]
        data = {f.name: _from_db(list(col), f.kind)
                for f, col in zip(schema.fields, columns, strict=False)}
        frame = pd.DataFrame(data)
        if not schema.geometry_type:
            return frame
        geoms = shapely.from_wkb(np.asarray(columns[-1], dtype=object)) if rows else []
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORE_EPSG),
                                crs=STORE_EPSG)

    def count(self, layer: str, query: Query | None = None) -> int:
        schema = schema_of(layer)
        where, params = self._where(schema, query)
        rows = self._fetch(sql.SQL("SELECT count(*) FROM {}{}").format(_ident(layer), where),
                           params)
        return rows[0][0]

    def ping(self) -> bool:
        try:
            self._fetch(sql.SQL("SELECT 1 FROM import_log LIMIT 1"), [])
            return True
        except (psycopg.Error, StoreError):
            return False

    # fast reads -----------------------------------------------------------------

    def read_points(self, query: Query | None = None) -> Points:
        """Coordinates, categories and precision flags straight from SQL (GiST for
        the bbox), without decoding whole rows."""
        from layers.core.privacy import POINT_PRECISIONS

        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        where = _and(where, sql.SQL("{} IS NOT NULL AND NOT ST_IsEmpty({})").format(
            _ident(GEOM), _ident(GEOM)))
        # one row of packed columns (the aggregates see the rows in the same order):
        # 240 000 points travel as two byte strings, not 240 000 tuples
        rows = self._fetch(
            sql.SQL("SELECT string_agg(float8send(ST_X(geom)), ''::bytea), "
                    "string_agg(float8send(ST_Y(geom)), ''::bytea), array_agg(category), "
                    "string_agg(CASE WHEN precision = ANY(%s) THEN '1' ELSE '0' END, '') "
                    "FROM incidents") + where, [list(POINT_PRECISIONS), *params])
        x, y, categories, precise = rows[0]
        if x is None:
            return Points.empty()
        return Points(np.frombuffer(x, ">f8").astype(float), np.frombuffer(y, ">f8").astype(float),
                      np.asarray(categories, dtype=object),
                      np.frombuffer(precise.encode("ascii"), np.uint8) == ord("1"))

    def placed_count(self) -> int:
        """From the grid summary's year rows when it exists (their ``precise`` is
        the same test on precision), instead of counting every incident."""
        if not self._cells_exist():
            return super().placed_count()
        rows = self._fetch(sql.SQL("SELECT coalesce(sum(n), 0)::bigint FROM {} "
                                   "WHERE span = 'year' AND precise").format(_ident(CELLS)),
                           [])
        return int(rows[0][0])

    def read_boxes(self, layer: str, query: Query,
                   boxes: Iterable[tuple[float, float, float, float]]
                   ) -> list[gpd.GeoDataFrame]:
        """Which rows lie in which box in one statement (a join of the boxes on the
        GiST index, the same ``&&`` test as :meth:`read`), then the rows themselves
        in a second one, each box's in ``fid`` order as :meth:`read` gives them."""
        boxes = [tuple(float(v) for v in box) for box in boxes]
        schema = schema_of(layer)
        if (len(boxes) < 2 or not schema.geometry_type or query.limit is not None
                or query.offset or query.order_by):
            return super().read_boxes(layer, query, boxes)
        # the boxes' envelope as the query's bbox: the scan drops the rows outside
        # all boxes before the join compares each row with each box
        corners = [list(c) for c in zip(*boxes, strict=True)]
        envelope = (min(corners[0]), min(corners[1]), max(corners[2]), max(corners[3]))
        where, params = self._where(schema, dc_replace(query, bbox=envelope))
        # the rows of the envelope first (materialised: the planner would otherwise
        # walk the GiST index per box through every year and filter the period after)
        pairs = self._fetch(sql.SQL(
            "WITH r AS MATERIALIZED (SELECT fid, {geom} FROM {layer}") .format(
            geom=_ident(GEOM), layer=_ident(layer)) + where + sql.SQL(
            ") SELECT b.n, r.fid FROM r JOIN unnest(%s::float8[], %s::float8[], "
            "%s::float8[], %s::float8[]) WITH ORDINALITY AS b (x0, y0, x1, y1, n) "
            "ON r.{geom} && ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, {epsg})").format(
            geom=_ident(GEOM), epsg=sql.Literal(STORE_EPSG)), [*params, *corners])
        box_of = np.asarray([p[0] for p in pairs], dtype=np.int64) - 1
        fids = np.asarray([p[1] for p in pairs], dtype=np.int64)
        unique = np.unique(fids)
        frame = self._read_rows(schema, sql.SQL(" WHERE fid = ANY(%s) ORDER BY fid"),
                                [unique.tolist()])
        if len(frame) != len(unique):  # rows deleted between the two statements
            return super().read_boxes(layer, query, boxes)
        frames = []
        for n in range(len(boxes)):
            rows = np.searchsorted(unique, np.sort(fids[box_of == n]))
            frames.append(frame.iloc[rows].reset_index(drop=True))
        return frames

    def grid_counts(self, query: Query | None, size: float) -> GridCounts:
        """Cells, categories and counts grouped in the database: only the groups
        travel (a few thousand rows for a year of the city, not a million points).

        Cells of 250, 500 or 1 000 m for a period filtered at most by category and
        stadsdelsområde come from the summary table for the whole local years and
        months of the period, and from the incidents for the rest of it (none for
        months, tertials and years)."""
        from layers.core.privacy import POINT_PRECISIONS

        incidents = SPATIAL_LAYERS["incidents"]
        spans = self._cell_spans(query, size)
        parts: list[sql.Composable] = []
        params: list = []
        raw_queries = [query] if spans is None else [
            dc_replace(query, start=start, end=end) for start, end in spans[1]]
        for part in raw_queries:
            where, where_params = self._where(incidents, part)
            where = _and(where, sql.SQL("{} IS NOT NULL AND NOT ST_IsEmpty({})").format(
                _ident(GEOM), _ident(GEOM)))
            # floor(x / size) in double precision: the same cell as Grid.keys_of in numpy
            parts.append(sql.SQL(
                "SELECT floor(ST_X(geom) / %s)::bigint AS i, "
                "floor(ST_Y(geom) / %s)::bigint AS j, category, "
                "coalesce(precision = ANY(%s), false) AS precise, count(*)::integer AS n "
                "FROM incidents") + where + sql.SQL(" GROUP BY 1, 2, 3, 4"))
            params += [float(size), float(size), list(POINT_PRECISIONS), *where_params]
        where, where_params = self._where(incidents, Query(where=query.where)) \
            if spans else (sql.SQL(""), [])
        for span, start, end in spans[0] if spans else ():
            parts.append(sql.SQL(
                "SELECT i >> %s AS i, j >> %s AS j, category, precise, n FROM {}").format(
                _ident(CELLS)) + _and(where, sql.SQL(
                    "span = %s AND bucket >= %s AND bucket < %s AND n <> 0")))
            # floor division by 1, 2 or 4 (a shift also for negative indices)
            shift = int(float(size) / CELL_BASE).bit_length() - 1
            params += [shift, shift, *where_params, span, start.to_pydatetime(),
                       end.to_pydatetime()]
        rows = self._fetch(
            sql.SQL("SELECT i, j, category, precise, sum(n)::bigint FROM (")
            + sql.SQL(" UNION ALL ").join(parts)
            + sql.SQL(') AS g GROUP BY 1, 2, 3, 4 HAVING sum(n) > 0 '
                      'ORDER BY 1, 2, category COLLATE "C", 4'), params)
        if not rows:
            return GridCounts.of_points(Points.empty(), size)
        i, j, category, precise, n = zip(*rows, strict=True)
        return GridCounts(float(size), np.asarray(i, np.int64), np.asarray(j, np.int64),
                          np.asarray(category, dtype=object), np.asarray(precise, bool),
                          np.asarray(n, np.int64))

    def _cell_spans(self, query: Query | None, size: float) -> tuple[
            list[tuple[str, pd.Timestamp, pd.Timestamp]],
            list[tuple[pd.Timestamp, pd.Timestamp]]] | None:
        """How the summary answers the query: the whole local years and months of its
        period as (span, start, end), and the rest of the period as (start, end) to
        count from the incidents; None when the summary cannot answer it."""
        if (query is None or query.bbox is not None or query.start is None
                or query.end is None or float(size) % CELL_BASE
                or (float(size) / CELL_BASE) not in (1.0, 2.0, 4.0)
                or any(key not in _CELL_FILTERS or value is None
                       for key, value in query.where.items())
                or not self._cells_exist()):
            return None
        start, end = pd.Timestamp(query.start), pd.Timestamp(query.end)
        m0, m1 = _local_start(start, "M", up=True), _local_start(end, "M", up=False)
        if m0 >= m1:
            return None
        y0, y1 = _local_start(m0, "Y", up=True), _local_start(m1, "Y", up=False)
        if y0 < y1:
            summary = [("year", y0, y1), ("month", m0, y0), ("month", y1, m1)]
        else:
            summary = [("month", m0, m1)]
        summary = [(span, a, b) for span, a, b in summary if a < b]
        raw = [(a, b) for a, b in ((start, m0), (m1, end)) if a < b]
        return summary, raw

    def count_by(self, layer: str, fields: Iterable[str],
                 query: Query | None = None) -> pd.DataFrame:
        schema = schema_of(layer)
        fields = [schema.field(name).name for name in fields]  # KeyError if unknown
        where, params = self._where(schema, unpaged(query))
        selected = []
        for name in fields:
            col = _ident(name)
            if schema.field(name).kind == "datetime":
                col = sql.SQL("(extract(epoch FROM {}) * 1000000)::bigint").format(col)
            selected.append(col)
        # byte order and NULLs first, as SQLite sorts
        order = [sql.SQL('{} COLLATE "C" NULLS FIRST').format(_ident(f))
                 if schema.field(f).kind == "str" else sql.SQL("{} NULLS FIRST").format(
                     sql.Literal(k + 1)) for k, f in enumerate(fields)]
        statement = sql.SQL("SELECT {}, count(*) FROM {}{} GROUP BY {} ORDER BY {}").format(
            sql.SQL(", ").join(selected), _ident(layer), where,
            sql.SQL(", ").join(sql.Literal(k + 1) for k in range(len(fields))),
            sql.SQL(", ").join(order))
        rows = self._fetch(statement, params)
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(len(fields) + 1)]
        frame = pd.DataFrame({f: _from_db(list(col), schema.field(f).kind).astype(object)
                              for f, col in zip(fields, columns, strict=False)})
        frame = frame.where(frame.notna(), None)
        frame["n"] = np.asarray(columns[-1], dtype=np.int64)
        return frame

    def time_span(self, layer: str, query: Query | None = None
                  ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        schema = schema_of(layer)
        if schema.time_field is None:
            raise ValueError(f"{layer} has no time field")
        where, params = self._where(schema, unpaged(query))
        # min/max: an index scan that stops at the first row, from each end
        epoch = "(extract(epoch FROM {}({})) * 1000000)::bigint"
        col = _ident(schema.time_field)
        rows = self._fetch(sql.SQL("SELECT {}, {} FROM {}{}").format(
            sql.SQL(epoch).format(sql.SQL("min"), col), sql.SQL(epoch).format(sql.SQL("max"), col),
            _ident(layer), where), params)
        first, last = rows[0]
        if first is None:
            return None
        times = _from_db([first, last], "datetime")
        return times.iloc[0], times.iloc[1]

    def read_page(self, layer: str, query: Query) -> gpd.GeoDataFrame | pd.DataFrame:
        """With a bbox and a limit: rows in order of distance from the box's centre,
        ties by ``fid`` (a total order, the same for every page while the data does
        not change), found without sorting every row of the box.

        The planner does not walk the GiST index nearest-first (``<->``) when the
        order also has ``fid``, and sorts the whole box instead (0.4 s for a district
        box of a million incidents, against 0.04 s for the walk). So: first the walk
        alone finds the distance ``d`` of the last row the page needs; every row
        before it in the total order lies within ``d``, so the page is then taken in
        the total order among the few rows within ``d`` (``ST_DWithin``, the index
        again). The last page of a box (fewer rows than that) sorts the box's rest.
        """
        schema = schema_of(layer)
        if query.bbox is None or query.limit is None or not schema.geometry_type:
            return super().read_page(layer, query)
        if query.limit <= 0:
            return self._read_ids(layer, [])
        where, params = self._where(schema, dc_replace(query, limit=None, offset=0,
                                                    order_by=None))
        minx, miny, maxx, maxy = (float(v) for v in query.bbox)
        centre = [(minx + maxx) / 2, (miny + maxy) / 2]
        point = sql.SQL("ST_SetSRID(ST_MakePoint(%s, %s), {})").format(sql.Literal(STORE_EPSG))
        geom = _ident(GEOM)
        reach = self._fetch(sql.SQL("SELECT {} <-> {} FROM {}{} ORDER BY {} <-> {} "
                                    "OFFSET %s LIMIT 1").format(
            geom, point, _ident(layer), where, geom, point),
            [*centre, *params, *centre, query.offset + query.limit - 1])
        if reach:
            # a hair more than d: rows beyond it only come after the page anyway
            where = _and(where, sql.SQL("ST_DWithin({}, {}, %s)").format(geom, point))
            params = [*params, *centre, float(reach[0][0]) * (1 + 1e-9) + 1e-6]
        # the page's rows in one go (not their ids, then the rows by id)
        tail = where + sql.SQL(" ORDER BY {} <-> {}, fid LIMIT %s OFFSET %s").format(geom, point)
        return self._read_rows(schema, tail, [*params, *centre, query.limit, query.offset])


def _and(where: sql.Composable, clause: sql.Composable) -> sql.Composable:
    """Add a condition to a WHERE clause made by ``_where`` (which may be empty)."""
    if where == sql.SQL(""):
        return sql.SQL(" WHERE ") + clause
    return where + sql.SQL(" AND ") + clause


# --- the grid's summary ------------------------------------------------------------

#: Incidents counted per 250 m cell, local calendar month and year (``span``, from
#: ``bucket``), category, stadsdelsområde and precision: the city grid of a year reads
#: ~60 000 year rows (10M incidents) instead of 5 million incidents. Kept by the
#: store's own writes (insert, update, delete, replace) in their transaction; built
#: from the incidents when created.
CELLS = "incident_cells"
#: The summary's cell size; 500 and 1 000 m cells are read from it too, exactly:
#: x / 500 is (x / 250) / 2 in floating point, and floor(floor(a) / 2) = floor(a / 2).
CELL_BASE = 250
#: Filters the summary can answer (besides a period); anything else reads incidents.
_CELL_FILTERS = ("category", "sdo_code")
#: The incident columns a cell count is made from.
_CELL_SOURCE = ("occurred_at", GEOM, "category", "sdo_code", "precision")
_CELL_KEY = "span, bucket, i, j, coalesce(category, ''), coalesce(sdo_code, ''), precise"
_CELL_COLUMNS = "span, bucket, i, j, category, sdo_code, precise, n"


def _cells_select(source: sql.Composable, sign: int) -> sql.Composable:
    """The cell counts (times ``sign``) of the incident rows in ``source``, per month
    and per year."""
    from layers.core.privacy import POINT_PRECISIONS

    return sql.SQL(
        "SELECT span, date_trunc(span, occurred_at, {tz}) AS bucket, "
        "floor(ST_X(geom) / {size})::bigint AS i, floor(ST_Y(geom) / {size})::bigint AS j, "
        "category, sdo_code, coalesce(precision = ANY({precise}::text[]), false) AS precise, "
        "({sign} * count(*))::integer AS n "
        "FROM {source} AS s CROSS JOIN (VALUES ('month'), ('year')) AS spans (span) "
        "WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) AND occurred_at IS NOT NULL "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7").format(
        tz=sql.Literal(LOCAL_TZ), size=sql.Literal(float(CELL_BASE)),
        precise=sql.Literal(list(POINT_PRECISIONS)), sign=sql.Literal(int(sign)),
        source=source)


def _cells_upsert(source: sql.Composable, sign: int) -> sql.Composable:
    """Add the cell counts of ``source``'s rows (times ``sign``) to the summary.

    Counts that fall to 0 stay as rows of 0 (readers skip them): no second pass."""
    return sql.SQL(
        "INSERT INTO {cells} AS c ({columns}) {select} "
        "ORDER BY 1, 2, 3, 4 ON CONFLICT ({key}) DO UPDATE SET n = c.n + excluded.n").format(
        cells=_ident(CELLS), columns=sql.SQL(_CELL_COLUMNS),
        select=_cells_select(source, sign), key=sql.SQL(_CELL_KEY))


def _create_cells(conn: psycopg.Connection) -> None:
    """Create the summary table when missing, filled from the stored incidents."""
    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", [CELLS]).fetchone()[0]:
        return
    conn.execute(sql.SQL(
        "CREATE TABLE {} (span text NOT NULL, bucket timestamptz NOT NULL, "
        "i bigint NOT NULL, j bigint NOT NULL, "
        "category text, sdo_code text, precise boolean NOT NULL, n integer NOT NULL)").format(
        _ident(CELLS)))
    # in time order: a period's rows then lie together on disk (an index range scan
    # of a year reads a few thousand pages in a row, not half a million at random)
    conn.execute(sql.SQL("INSERT INTO {} ({}) {} ORDER BY 1, 2, 3, 4").format(
        _ident(CELLS), sql.SQL(_CELL_COLUMNS), _cells_select(_ident("incidents"), 1)))
    conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
        _ident(f"{CELLS}_key_idx"), _ident(CELLS), sql.SQL(_CELL_KEY)))


def _local_start(value: object, unit: str, *, up: bool) -> pd.Timestamp:
    """The start of the local calendar month (``unit`` "M") or year ("Y") at or after
    (``up``) / at or before ``value``."""
    ts = pd.Timestamp(value)
    local = (ts.tz_localize("UTC") if ts.tzinfo is None else ts).tz_convert(LOCAL_TZ)
    naive = local.tz_localize(None).to_period(unit).to_timestamp()
    if up and naive.tz_localize(LOCAL_TZ) < local:
        naive += pd.offsets.MonthBegin(1) if unit == "M" else pd.offsets.YearBegin(1)
    return naive.tz_localize(LOCAL_TZ)


# --- DDL ---------------------------------------------------------------------------

#: One row per table: a counter bumped by every transaction that changes the table.
_CONTENTS_DDL = sql.SQL(
    "CREATE TABLE IF NOT EXISTS store_contents (table_name text PRIMARY KEY, "
    "version bigint NOT NULL, last_change timestamptz NOT NULL)")
#: The store's schema version and other facts about the store itself (key/value).
_META_DDL = sql.SQL("CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, value text)").format(
    _ident(META_TABLE))
_SET_VERSION = sql.SQL(
    "INSERT INTO {} VALUES ('schema_version', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value").format(_ident(META_TABLE))
_TOUCH = sql.SQL(
    "INSERT INTO store_contents VALUES (%s, 1, now()) ON CONFLICT (table_name) DO UPDATE "
    "SET version = store_contents.version + 1, last_change = now()")


def table_ddl(schema: LayerSchema) -> list[sql.Composable]:
    """The statements that create one layer's table and indexes (if missing)."""
    name = schema.name
    cols = [sql.SQL("fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")]
    for f in schema.fields:
        ddl = sql.SQL("{} {}").format(_ident(f.name), sql.SQL(_SQL_TYPES[f.kind]))
        if f.name == "id":
            ddl += sql.SQL(" NOT NULL UNIQUE")
        cols.append(ddl)
    if schema.geometry_type:
        cols.append(sql.SQL("{} geometry({}, {})").format(
            _ident(GEOM), sql.SQL(schema.geometry_type), sql.Literal(STORE_EPSG)))
    if name == "stadsdelsomraden":
        cols.append(sql.SQL('UNIQUE ("code", "division")'))
    elif "id" not in schema.names:
        cols.append(sql.SQL('UNIQUE ("code")'))
    statements = [sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
        _ident(name), sql.SQL(", ").join(cols))]
    # no migration system: a field added to the schema later is added as an empty
    # column, so a store made by an older version still opens
    statements += [sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
        _ident(name), _ident(f.name), sql.SQL(_SQL_TYPES[f.kind]))
        for f in schema.fields if f.name != "id"]

    def index(suffix: str, body: sql.Composable) -> sql.Composable:
        return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} {}").format(
            _ident(f"{name}_{suffix}_idx"), _ident(name), body)

    if schema.geometry_type:
        statements.append(index(GEOM, sql.SQL("USING gist ({})").format(_ident(GEOM))))
    if schema.time_field:
        statements.append(index("time", sql.SQL("({})").format(_ident(schema.time_field))))
    for col in _INDEXED:
        if schema.geometry_type and col in schema.names:
            statements.append(index(col, sql.SQL("({})").format(_ident(col))))
    return statements
