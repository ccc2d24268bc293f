"""A big load into a PostGIS table: its indexes set aside during the insert and built
again from the finished table, in the load's own transaction.

Why: keeping an index up to date row by row is most of a big load. Ten million
incidents went into a table with five secondary indexes and a unique ``id`` in 342 s,
all but about 25 s of it index upkeep; building the same indexes afterwards is a sort
(GiST on points too, since PostGIS 3 with PostgreSQL 14) and takes well under half of
that. ``pg_restore`` and ``ogr2ogr`` load the same way.

The cost: ``DROP INDEX`` takes the table's exclusive lock, so readers wait (the web
app answers "busy", 503) until the load commits, not only writers. Hence only for a
load that at least doubles its table (a first load, a backfill of years) and only
when the lock comes within the busy timeout; otherwise the rows go in the row-by-row
way with the indexes kept, as every smaller load does. Everything happens in the
caller's transaction: a failure rolls the drops back with the rest, and the indexes
come back exactly as they were (``pg_get_indexdef``), an administrator's own too.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql

from layers.store.postgis.values import ident

#: The indexes of a table that no constraint owns: schema, name, the statement that
#: makes it.
_LOOSE_INDEXES = sql.SQL(
    "SELECT n.nspname, i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace "
    "WHERE x.indrelid = to_regclass(%s) AND NOT EXISTS "
    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname")
#: The table's unique constraint on ``id`` alone: its name and definition.
_ID_KEY = sql.SQL(
    "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'id' "
    "WHERE c.conrelid = to_regclass(%s) AND c.contype = 'u' AND c.conkey = ARRAY[a.attnum]")


def insert_big_load(conn: psycopg.Connection, table: str, stage: sql.Identifier,
                    rows: int, insert: Callable[[], int],
                    into_empty: Callable[[], int]) -> int:
    """Run ``insert`` (it inserts the ``rows`` rows staged in ``stage`` into ``table``
    and returns how many went in) with the table's indexes set aside when the load
    at least doubles the table and its lock can be had; as it is otherwise. Into an
    empty table ``into_empty`` runs instead: an insert with no conflict
    to resolve (``ON CONFLICT`` makes every row a speculative insert), which may
    also count tables derived from the rows afterwards instead of row by row.

    The unique ``id`` goes aside too (its upkeep for random ids was a third of the
    insert): the staged rows whose id is stored already are deleted from the stage
    first, while the unique index still answers, so ``ON CONFLICT DO NOTHING`` has
    nothing left to skip. Ids repeated within the stage itself make the constraint
    fail when it is added again: then the load is undone to the savepoint and goes in
    the row-by-row way, which keeps the first row of each id.
    """
    stored = _count_up_to(conn, table, rows)
    if stored >= rows or not _locked(conn, table):
        return insert()
    indexes = conn.execute(_LOOSE_INDEXES, [table]).fetchall()
    id_key = conn.execute(_ID_KEY, [table]).fetchone()
    if id_key and stored:
        conn.execute(sql.SQL("DELETE FROM {} AS s USING {} AS t WHERE t.id = s.id").format(
            stage, ident(table)))
    try:
        with conn.transaction():  # a savepoint
            for namespace, name, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(namespace, name)))
            if id_key:
                conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    ident(table), ident(id_key[0])))
            inserted = (insert if stored else into_empty)()
            if id_key:  # first: it fails fast on repeated ids
                conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    ident(table), ident(id_key[0]), sql.SQL(id_key[1])))
            for _, _, definition in indexes:
                conn.execute(definition)
            return inserted
    except psycopg.errors.UniqueViolation:
        return insert()


def _count_up_to(conn: psycopg.Connection, table: str, limit: int) -> int:
    """How many rows ``table`` holds, counted no further than ``limit``."""
    return conn.execute(sql.SQL(
        "SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) AS r").format(ident(table)),
        [limit]).fetchone()[0]


def _locked(conn: psycopg.Connection, table: str) -> bool:
    """Take ``table``'s exclusive lock if it comes within the connection's
    ``lock_timeout``; False (and the transaction going on) when it does not."""
    try:
        with conn.transaction():  # a savepoint: a lock not had leaves the write going
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(ident(table)))
    except psycopg.errors.LockNotAvailable:
        return False
    return True

