"""The GeoPackage store itself: opening the file (WAL, one connection per thread),
the write transaction (``BEGIN IMMEDIATE``, StoreBusy after the busy timeout),
creating the tables, the schema version and its upgrade, backup and restore.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layers.core.errors import StoreError
from layers.core.schema import ATTRIBUTE_TABLES, SCHEMA_VERSION, SPATIAL_LAYERS
from layers.store.base import DEFAULT_BUSY_TIMEOUT, META_TABLE, Migration, StoreBusy
from layers.store.geopackage.encoding import register_functions
from layers.store.geopackage.reads import GeoPackageReading
from layers.store.geopackage.tables import (
    create_attribute_table,
    create_layer,
    create_metadata_tables,
    missing_columns,
    set_version,
    table_exists,
)
from layers.store.geopackage.writes import GeoPackageWriting

FILE_NAME = "trygghetskartan.gpkg"


class GeoPackageStore(GeoPackageReading, GeoPackageWriting):
    """All layers in one GeoPackage file, written in SQLite transactions (WAL)."""

    kind = "geopackage"

    def __init__(self, path: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        super().__init__(busy_timeout=busy_timeout)
        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            path = path / FILE_NAME
        self.path = path
        #: Seconds the last write transaction of this object held the write lock
        #: (BEGIN IMMEDIATE to the end of COMMIT), for logs and benchmarks.
        self.last_lock_seconds = 0.0

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
        register_functions(conn)
        return conn

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction; roll back everything on error.

        ``BEGIN IMMEDIATE`` takes the write lock at once, waiting up to
        ``busy_timeout`` seconds for another writer (an import's final transaction):
        then :class:`StoreBusy`, and nothing was written. Readers are never blocked
        (WAL): they see the last committed state until the COMMIT.
        """
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
        # table (see writes._touch); reading a 20-row table in WAL never waits for a writer
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
        return not any(missing_columns(self.conn, s) for s in ATTRIBUTE_TABLES.values())

    def initialize(self) -> None:
        with self.transaction() as conn:
            # a blank store gets today's schema version; an older one keeps its own
            # (version 1 when it has none) until `migrate` upgrades it
            blank = not table_exists(conn, "import_log")
            conn.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            conn.execute("PRAGMA user_version = 10300")
            create_metadata_tables(conn)
            for schema in SPATIAL_LAYERS.values():
                create_layer(conn, schema)
            for schema in ATTRIBUTE_TABLES.values():
                create_attribute_table(conn, schema)
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{META_TABLE}" '
                         "(key TEXT PRIMARY KEY, value TEXT)")
            if blank:
                set_version(conn, SCHEMA_VERSION)

    # schema version, upgrade, backup --------------------------------------------

    def schema_version(self) -> int:
        if not self.path.exists():
            return 0
        conn = self.conn
        if table_exists(conn, META_TABLE):
            row = conn.execute(f'SELECT value FROM "{META_TABLE}" '
                               "WHERE key = 'schema_version'").fetchone()
            if row is not None:
                return int(row[0])
        return 1 if table_exists(conn, "import_log") else 0

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
                    set_version(conn, version)
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


def _remove_database(path: Path) -> None:
    """Delete an SQLite file and its journal, WAL and index files, if present."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


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
