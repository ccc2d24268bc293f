"""What both database backends share: the connection handling and the steps of a write.

One connection per thread (the web app serves requests in threads), opened when a
thread first needs it and again after it was closed (or broken: the backend says); a
write transaction that rolls back everything on error and raises
:class:`~layers.store.base.StoreBusy` when another writer's lock is not free within
``busy_timeout``; a write that stages big frames before it takes the lock and writes
the audit log in the same transaction; and the typed frame of rows read back.
Each backend (:mod:`layers.store.geopackage`, :mod:`layers.store.postgis`) adds its
own SQL: how to connect, how a transaction begins and ends, how rows go in and out.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.core import audit
from layers.core.schema import STORE_EPSG, LayerSchema
from layers.store.base import DEFAULT_BUSY_TIMEOUT, Store, WriteResult


class ConnectedStore(Store):
    """A store in a database reached through one connection per thread."""

    #: A frame of at least this many rows is staged before the write transaction (the
    #: GeoPackage also fills the RTree of so many rows in bulk).
    bulk_min_rows = 1_000

    def __init__(self, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        #: Seconds a write waits for another writer's lock, then StoreBusy.
        self.busy_timeout = busy_timeout
        self._local = threading.local()

    # connections --------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any:
        """Open a new connection; a StoreError with a Swedish message when it fails."""

    def _usable(self, conn: Any) -> bool:
        """Can this thread's open connection still be used?"""
        return True

    @property
    def conn(self) -> Any:
        """One connection per thread (the web app serves requests in threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._usable(conn):
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
        """Turn the driver's errors of a lost connection or a lock wait into a
        StoreError or StoreBusy (a backend whose driver needs it says how)."""
        yield

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[Any]:
        """One transaction on ``conn``: committed when the block ends, rolled back
        when it raises; StoreBusy when the write lock is not free in time."""

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Run a block in one transaction; roll back everything on error."""
        with self._reachable():
            conn = self.conn
            with self._transaction(conn):
                yield conn

    # writing ------------------------------------------------------------------

    @abstractmethod
    def _staged_frames(self, layers: dict[str, pd.DataFrame],
                       big: list[str]) -> AbstractContextManager[dict[str, Any]]:
        """Stage the ``big`` frames of ``layers`` before the write transaction, while
        no lock is held, and give them by layer; drop them when the block ends."""

    @abstractmethod
    def _write_frames(self, conn: Any, layers: dict[str, pd.DataFrame],
                      replace: set[str], results: dict[str, WriteResult],
                      staged: dict[str, Any] | None = None) -> None:
        """Insert the rows of ``layers`` in the caller's transaction ``conn`` (layers
        in ``replace`` emptied first) and record each layer's counts in ``results``."""

    def _after_write(self, staged: dict[str, Any], results: dict[str, WriteResult]) -> None:
        """Called after a write committed (e.g. to refresh statistics): nothing here."""

    def write(self, layers: dict[str, pd.DataFrame], *, replace: Iterable[str] = (),
              then: Callable[[dict[str, WriteResult]], dict[str, pd.DataFrame]] | None = None
              ) -> dict[str, WriteResult]:
        """Write in one transaction; frames of ``bulk_min_rows`` rows or more (an
        import) are staged first, outside the lock, so the transaction that other
        writers wait for is short. The audit log is written in the same transaction."""
        replace = set(replace)
        results: dict[str, WriteResult] = {}
        big = [name for name, frame in layers.items() if len(frame) >= self.bulk_min_rows]
        with self._staged_frames(layers, big) as staged:
            with self.transaction() as conn:
                stored = self._audit_before_write(layers)
                self._write_frames(conn, layers, replace, results, staged)
                self._write_audit(conn, self._audit_after_write(layers, stored))
                if then is not None:
                    self._write_frames(conn, then(dict(results)), set(), results)
        self._after_write(staged, results)
        return results

    def _audit_changed(self, conn: Any, layer: str, row_id: str,
                       before: pd.DataFrame | None) -> None:
        """Log the change of one row (``before``: its rows before, None: not audited)."""
        if before is not None:
            after = self._audit_rows(layer, [row_id])
            self._write_audit(conn, [audit.changed(layer, before, after)])

    def _write_along(self, conn: Any, rows: dict[str, pd.DataFrame] | None) -> None:
        """Write ``rows`` and their audit entries in the caller's transaction: what an
        update or a delete writes with its change (a finding's history row)."""
        if rows:
            stored = self._audit_before_write(rows)
            self._write_frames(conn, rows, set(), {})
            self._write_audit(conn, self._audit_after_write(rows, stored))


def rows_frame(schema: LayerSchema, rows: list[tuple], width: int,
               convert: Callable[[list, str], pd.Series],
               decode: Callable[[Any], Any]) -> gpd.GeoDataFrame | pd.DataFrame:
    """The typed frame :meth:`Store.read` returns from the rows of a ``SELECT`` of every
    field of the layer (``width`` columns, the geometry last): ``convert(values,
    kind)`` types a column, ``decode(values)`` turns the stored geometries to shapely."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(width)]
    return columns_frame(schema, columns, convert, decode)


def columns_frame(schema: LayerSchema, columns: list, convert: Callable[[list, str], pd.Series],
                  decode: Callable[[Any], Any]) -> gpd.GeoDataFrame | pd.DataFrame:
    """:func:`rows_frame` from the rows' columns (one sequence per selected column)."""
    data = {f.name: convert(list(col), f.kind)
            for f, col in zip(schema.fields, columns, strict=False)}
    frame = pd.DataFrame(data)
    if not schema.geometry_type:
        return frame
    geoms = decode(columns[-1]) if len(columns[-1]) else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORE_EPSG),
                            crs=STORE_EPSG)


def groups_frame(schema: LayerSchema, fields: list[str], rows: list[tuple],
                 convert: Callable[[list, str], pd.Series]) -> pd.DataFrame:
    """The frame :meth:`Store.count_by` returns from rows of the fields' values and
    the count: missing values as None, ``n`` as int64."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(len(fields) + 1)]
    frame = pd.DataFrame({f: convert(list(col), schema.field(f).kind).astype(object)
                          for f, col in zip(fields, columns, strict=False)})
    frame = frame.where(frame.notna(), None)
    frame["n"] = np.asarray(columns[-1], dtype=np.int64)
    return frame
