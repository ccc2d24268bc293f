"""The PostGIS store's connection: opened with the store's timeouts (``lock_timeout``,
and ``statement_timeout`` for the web app), one per thread in autocommit (writes
begin their transaction explicitly), a lost connection or a lock wait turned into
StoreError / StoreBusy with a Swedish message that never shows the password.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import psycopg
from psycopg import conninfo, sql

from layers.core.errors import StoreError
from layers.store.base import DEFAULT_BUSY_TIMEOUT, StoreBusy
from layers.store.connection import ConnectedStore

_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")
_PASSWORD_PARAM = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def safe_url(url: str) -> str:
    """Return the URL without its password, for messages and logs."""
    return _PASSWORD_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1***@", url))


class PostGISConnection(ConnectedStore):
    """How :class:`~layers.store.postgis.PostGISStore` reaches its database."""

    def __init__(self, url: str, *, connect_timeout: int = 10,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                 statement_timeout: float | None = None) -> None:
        super().__init__(busy_timeout=busy_timeout)
        self.url = url
        self.connect_timeout = connect_timeout
        #: Seconds any statement may run (statement_timeout; the web app sets it).
        self.statement_timeout = statement_timeout
        self._staging = itertools.count()
        self._has_contents: bool | None = None
        self._has_cells: bool | None = None
        self._has_space_time: bool | None = None

    def __repr__(self) -> str:
        return f"PostGISStore({safe_url(self.url)!r})"

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
                f"Kan inte ansluta till databasen {safe_url(self.url)}: {exc}") from exc

    def _usable(self, conn: psycopg.Connection) -> bool:
        return not (conn.closed or conn.broken)

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
            if conn is not None and not self._usable(conn):
                self._local.conn = None
            raise StoreError(
                f"Databasen {safe_url(self.url)} svarar inte: {exc}") from exc

    def _transaction(self, conn: psycopg.Connection) -> AbstractContextManager[None]:
        # BEGIN … COMMIT, ROLLBACK on error (a savepoint when one is open already)
        return conn.transaction()

    def _fetch(self, query: sql.Composable, params: list) -> list[tuple]:
        with self._reachable():
            return self.conn.execute(query, params).fetchall()
