"""The PostGIS store itself: creating the tables (and PostGIS), the schema version
and its upgrade, backup and restore with ``pg_dump`` / ``pg_restore``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from layers.core.errors import StoreError
from layers.core.schema import ATTRIBUTE_TABLES, SCHEMA_VERSION, SPATIAL_LAYERS
from layers.store.base import META_TABLE, Migration
from layers.store.postgis.cells import CELLS, PostGISCells
from layers.store.postgis.cells import create_cells as _create_cells
from layers.store.postgis.connection import safe_url as _safe_url
from layers.store.postgis.reads import PostGISReading
from layers.store.postgis.tables import CONTENTS_DDL as _CONTENTS_DDL
from layers.store.postgis.tables import INIT_LOCK as _INIT_LOCK
from layers.store.postgis.tables import META_DDL as _META_DDL
from layers.store.postgis.tables import SET_VERSION as _SET_VERSION
from layers.store.postgis.tables import table_ddl
from layers.store.postgis.values import ident as _ident
from layers.store.postgis.writes import PostGISWriting

LOGGER = logging.getLogger(__name__)


class PostGISStore(PostGISReading, PostGISWriting, PostGISCells):
    """All layers in one PostgreSQL database with PostGIS."""

    kind = "postgis"

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
            _create_btree_gist(conn, self.url)
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
        self._has_space_time = None
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
        self._has_space_time = None

    def _run_client(self, program: str, args: list[str]) -> None:
        """Run pg_dump / pg_restore; a failure is a StoreError without the password."""
        path = shutil.which(program)
        if path is None:
            raise StoreError(f"{program} saknas: installera PostgreSQL-klienten "
                             "(Debian: postgresql-client).")
        done = subprocess.run([path, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StoreError(f"{program} misslyckades: {_safe_url(done.stderr.strip())[:2000]}")


def _create_btree_gist(conn: psycopg.Connection, url: str) -> None:
    """Create ``btree_gist`` (PostgreSQL's contrib, a trusted extension) in PostGIS'
    schema when missing: the incidents' GiST index on (geom, occurred_at) needs it.

    Beside PostGIS, not in the store's schema: stores in several schemas of one
    database share it, and dropping one store's schema must not take it along."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'").fetchone():
        return
    home = conn.execute("SELECT nspname FROM pg_extension JOIN pg_namespace AS n "
                        "ON n.oid = extnamespace WHERE extname = 'postgis'").fetchone()
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS btree_gist{}").format(
                sql.SQL(" SCHEMA {}").format(_ident(home[0])) if home else sql.SQL("")))
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.FeatureNotSupported,
            psycopg.errors.UndefinedFile) as exc:
        raise StoreError(
            f"Tillägget btree_gist saknas i databasen {_safe_url(url)} och kunde inte "
            "installeras (be databasens administratör köra CREATE EXTENSION btree_gist; "
            f"det ingår i PostgreSQL): {exc}") from exc
