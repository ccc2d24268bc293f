"""The store interface: what every backend (GeoPackage, PostGIS) offers.

The rest of the code only talks to a :class:`Store`; which backend answers is a
matter of configuration (see :func:`layers.store.open_store`). Frames going in and
out are GeoDataFrames in the store CRS (EPSG:3011) whose columns are the fields of
the layer's schema in :mod:`layers.core.schema`.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.core import audit
from layers.core.errors import StoreError
from layers.core.schema import ATTRIBUTE_TABLES, SPATIAL_LAYERS, LayerSchema

#: Seconds a writer waits for the store's write lock (SQLite busy timeout, PostGIS
#: lock_timeout) before :class:`StoreBusy` is raised. An import holds the lock only
#: for its final short transaction, so this is far longer than that.
DEFAULT_BUSY_TIMEOUT = 20.0
#: Tables no derived result reads (sign-ins, tokens, the audit and import logs, the
#: mail queue): their writes leave :meth:`Store.layer_version` unchanged, so a signed-in
#: request or an upload's log rows do not empty the caches of maps and rankings.
BOOKKEEPING_TABLES = frozenset({"api_tokens", "audit_log", "import_log", "login_attempts",
                                "notify_outbox", "sessions", "users"})


class StoreBusy(StoreError):
    """The store's write lock was not free within the busy timeout (an import runs).

    Raised by every backend, so the web layer can answer 503 with ``Retry-After``
    instead of a 500, and the CLI can say "try again". Nothing was written.
    """

    #: Seconds a client should wait before it tries again (the Retry-After header).
    retry_after = 10

    def __init__(self, message: str = "Lagret är upptaget av en import just nu. "
                                      "Försök igen om en stund.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Query:
    """A filter on one layer; every part is optional.

    ``bbox`` is (minx, miny, maxx, maxy) in the store CRS; ``start`` is inclusive and
    ``end`` exclusive, both time zone aware; ``where`` maps a field to a value or a
    tuple of accepted values.
    """

    bbox: tuple[float, float, float, float] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    where: dict[str, object] = field(default_factory=dict)
    limit: int | None = None
    offset: int = 0
    order_by: str | None = None


@dataclass(frozen=True)
class Extent:
    """Where and when a layer's rows lie: a bbox in the store CRS and the first and last
    value of its time field (each None when unknown or empty)."""

    bbox: tuple[float, float, float, float] | None
    times: tuple[dt.datetime, dt.datetime] | None


@dataclass(frozen=True)
class WriteResult:
    """What one write did: rows inserted, rows already stored (same id)."""

    inserted: int
    unchanged: int


@dataclass(frozen=True)
class Migration:
    """One step of the stored schema to ``version``.

    Before the steps run, the store brings its tables up to the code's schema (new
    tables, new columns, as ``initialize`` does); then each step's SQL for the
    backend (``sql[store.kind]``) rewrites stored rows. ``description`` is Swedish
    (``migrate --dry-run`` lists it).
    """

    version: int
    description: str
    sql: dict[str, tuple[str, ...]] = field(default_factory=dict)


#: Name of the table that holds the store's schema version (key/value rows).
META_TABLE = "store_meta"
#: Rows of an audited layer looked up per query (SQL parameters are limited).
_AUDIT_CHUNK = 500


@dataclass(frozen=True)
class Points:
    """Incident points: coordinates (EPSG:3011), category codes and whether each
    place is known to the address or street
    (:data:`layers.core.privacy.POINT_PRECISIONS`)."""

    x: np.ndarray
    y: np.ndarray
    category: np.ndarray
    precise: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def __iter__(self):
        """``x, y, category = store.read_points(...)`` (the precision flags stay on
        the object)."""
        return iter((self.x, self.y, self.category))

    @classmethod
    def empty(cls) -> Points:
        return cls(np.empty(0), np.empty(0), np.empty(0, dtype=object),
                   np.empty(0, dtype=bool))


@dataclass(frozen=True)
class GridCounts:
    """Incidents counted per square cell, category and precision.

    One entry per group: the lattice indices ``i = floor(x / size)`` and
    ``j = floor(y / size)`` (int64, as :meth:`layers.analysis.grid.Grid.keys_of` computes
    them for square cells), the category code, whether the place is precise and
    the number of incidents ``n``, sorted by i, j, category (byte order, missing
    last) and precision. Incidents without a geometry are not counted.
    """

    size: float
    i: np.ndarray
    j: np.ndarray
    category: np.ndarray
    precise: np.ndarray
    n: np.ndarray

    def __len__(self) -> int:
        return len(self.n)

    @classmethod
    def of_points(cls, points: Points, size: float) -> GridCounts:
        """Count points per cell, category and precision (in numpy)."""
        if len(points) == 0:
            return cls(float(size), np.empty(0, np.int64), np.empty(0, np.int64),
                       np.empty(0, dtype=object), np.empty(0, dtype=bool),
                       np.empty(0, np.int64))
        i = np.floor(np.asarray(points.x, dtype=float) / size).astype(np.int64)
        j = np.floor(np.asarray(points.y, dtype=float) / size).astype(np.int64)
        # categories in byte order, missing last: the order every backend gives
        codes, categories = pd.factorize(pd.Series(points.category, dtype=object),
                                         sort=True, use_na_sentinel=True)
        categories = np.append(categories.to_numpy(dtype=object), None)
        codes = np.where(codes < 0, len(categories) - 1, codes).astype(np.int64)
        precise = np.asarray(points.precise, dtype=bool)
        # one sortable int64 per group: cell indices (offset), category, precision
        n_cat = len(categories)
        ii, jj = i - i.min(), j - j.min()
        span_j = int(jj.max()) + 1
        combined = ((ii * span_j + jj) * n_cat + codes) * 2 + precise
        groups, counts = np.unique(combined, return_counts=True)
        flag = groups % 2
        rest = groups // 2
        cat = rest % n_cat
        cell = rest // n_cat
        return cls(float(size), cell // span_j + i.min(), cell % span_j + j.min(),
                   categories[cat], flag.astype(bool), counts.astype(np.int64))


def schema_of(layer: str) -> LayerSchema:
    """Return the schema of a stored layer or table, or raise KeyError."""
    if layer in SPATIAL_LAYERS:
        return SPATIAL_LAYERS[layer]
    return ATTRIBUTE_TABLES[layer]


class Store(ABC):
    """A place where the layers live. Every write is one transaction."""

    #: A short name for messages and /healthz.
    kind: str = "store"

    @abstractmethod
    def initialize(self) -> None:
        """Create the tables that are missing; safe to call again."""

    @abstractmethod
    def is_initialized(self) -> bool:
        """Tell whether the tables exist."""

    @abstractmethod
    def write(
        self,
        layers: dict[str, pd.DataFrame],
        *,
        replace: Iterable[str] = (),
        then: Callable[[dict[str, WriteResult]], dict[str, pd.DataFrame]] | None = None,
    ) -> dict[str, WriteResult]:
        """Write several layers in one transaction.

        Rows whose ``id`` is already stored are left as they are, so writing the same
        rows twice changes nothing. Layers named in ``replace`` are emptied first
        (reference layers such as the district divisions). ``then`` is called with
        the results and returns more rows to write in the same transaction (an
        import log entry that records the counts). If anything fails, nothing is
        written.
        """

    @abstractmethod
    def read(self, layer: str, query: Query | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """Read rows of one layer (a GeoDataFrame in EPSG:3011, or a DataFrame)."""

    @abstractmethod
    def count(self, layer: str, query: Query | None = None) -> int:
        """Count the rows that ``read`` would return (without limit/offset)."""

    @abstractmethod
    def update(
        self,
        layer: str,
        row_id: str,
        values: dict[str, object],
        *,
        expect: dict[str, object] | None = None,
        rows: dict[str, pd.DataFrame] | None = None,
    ) -> bool:
        """Change fields of one row by id in one transaction.

        Return False when there is no such row. ``expect`` maps fields to the
        values they must still have (a status change applies only to the status
        the user saw): when one differs nothing changes and the answer is False.
        ``rows`` are written as :meth:`write` writes them, in the same transaction
        and only when the row was changed, so a status change and its history row
        are stored together or not at all.
        """

    @abstractmethod
    def delete(self, layer: str, ids: Iterable[str], *,
               expect: dict[str, object] | None = None,
               rows: dict[str, pd.DataFrame] | None = None) -> int:
        """Delete rows by id in one transaction; return how many went.

        ``expect`` maps fields to the values a row must still have to be deleted
        (as in :meth:`update`); ``rows`` are written in the same transaction, and
        only when something was deleted (a finding's history row that outlives it).
        """

    @abstractmethod
    def data_version(self) -> tuple:
        """A cheap token that changes whenever a committed write changes any layer.

        Caches of derived results (grids, priority rankings) are keyed on it. It
        reads only committed state and never waits for a writer, so a running
        (uncommitted) import neither blocks it nor changes it.
        """

    def layer_version(self, layers: Iterable[str] | None = None) -> tuple:
        """The part of :meth:`data_version` that concerns ``layers`` (tables).

        ``None`` means every table except the bookkeeping ones
        (:data:`BOOKKEEPING_TABLES`: sign-ins, tokens, audit and import log, mail
        queue), which no map, figure or ranking reads. A cache of results that read
        only incidents keys on ``layer_version(["incidents"])``, so a findings
        upload (or an API token's "last used" mark) leaves it valid. Both backends
        give ``data_version`` as (table, version) pairs; a PostGIS store made
        before ``store_contents`` gives one tuple for everything, used as it is.
        """
        version = self.data_version()
        if not all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
                   for v in version):
            return version
        if layers is None:
            return tuple(v for v in version if v[0] not in BOOKKEEPING_TABLES)
        wanted = set(layers)
        return tuple(v for v in version if v[0] in wanted)

    def extent(self, layer: str) -> Extent:
        """The layer's bounding box (store CRS) and first/last time (None when empty).

        This generic version reads the whole layer; backends answer from their indexes.
        """
        frame = self.read(layer)
        schema = schema_of(layer)
        bbox = None
        if isinstance(frame, gpd.GeoDataFrame) and len(frame) and frame.geometry.notna().any():
            bbox = tuple(float(v) for v in frame.total_bounds)
        times = None
        if schema.time_field and len(frame) and frame[schema.time_field].notna().any():
            column = frame[schema.time_field]
            times = (column.min(), column.max())
        return Extent(bbox, times)  # type: ignore[arg-type]

    @abstractmethod
    def ping(self) -> bool:
        """Answer True when the store can be queried (for /healthz)."""

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections."""

    # --- schema version, upgrades, backups ----------------------------------------

    @abstractmethod
    def schema_version(self) -> int:
        """The stored schema's version: 0 for a blank store (no tables), 1 for one made
        before versions were kept (release 0.1.0), else the version it records."""

    @abstractmethod
    def upgrade(self, migrations: list[Migration], version: int) -> None:
        """Bring the tables up to the code's schema, run ``migrations`` and record
        ``version``, all or nothing: one transaction (PostGIS) or a copy of the file
        swapped in when every step worked (GeoPackage). Stop writers first."""

    @abstractmethod
    def backup_to(self, target: Path) -> Path:
        """Write a consistent copy of the whole store to ``target`` (a file) while the
        store stays in use; return the file written."""

    @abstractmethod
    def restore_from(self, source: Path) -> None:
        """Replace this store's contents with a copy written by :meth:`backup_to`."""

    # --- the audit log (layers.core.audit), called by the backends inside a write -----------

    def _stored_ids(self, layer: str, ids: list[str]) -> set[str]:
        """Which of ``ids`` are stored in ``layer`` (in the caller's transaction)."""
        stored: set[str] = set()
        for start in range(0, len(ids), _AUDIT_CHUNK):
            part = self.read(layer, Query(where={"id": tuple(ids[start:start + _AUDIT_CHUNK])}))
            stored.update(part["id"].astype(str))
        return stored

    def _audit_before_write(self, layers: dict[str, pd.DataFrame]) -> dict[str, set[str]]:
        """The ids already stored among the audited rows about to be written."""
        return {name: self._stored_ids(name, [str(i) for i in frame["id"].dropna().unique()])
                for name, frame in layers.items()
                if audit.audited(name) and "id" in frame.columns and len(frame)}

    def _audit_after_write(self, layers: dict[str, pd.DataFrame],
                           stored: dict[str, set[str]]) -> list[pd.DataFrame]:
        """Log entries for the rows the write inserted (their id was not stored)."""
        entries = []
        for name, before in stored.items():
            frame = layers[name]
            new = frame[frame["id"].notna()].drop_duplicates("id")
            entry = audit.created(name, new[~new["id"].astype(str).isin(before)])
            if entry is not None:
                entries.append(entry)
        return entries

    def _write_audit(self, conn: object, entries: list[pd.DataFrame | None]) -> None:
        """Write audit log entries in the caller's transaction ``conn``.

        Uses the backend's ``_write_frames(conn, layers, replace, results)``, the
        insert step every backend's :meth:`write` runs inside its transaction.
        """
        entries = [e for e in entries if e is not None]
        if entries:
            self._write_frames(conn, {"audit_log": pd.concat(entries, ignore_index=True)},
                               set(), {})

    def _audit_deleted(self, conn: object, layer: str, old: pd.DataFrame | None,
                       ids: list[str], gone: int) -> None:
        """Log the rows a delete removed; with ``expect`` some of ``ids`` may have stayed."""
        if old is None or not gone:
            return
        if gone < len(old):
            still = self._audit_rows(layer, ids)
            if still is not None:
                old = old[~old["id"].isin(still["id"])]
        self._write_audit(conn, [audit.deleted(layer, old)])

    def _audit_rows(self, layer: str, ids: Iterable[object]) -> pd.DataFrame | None:
        """The current rows of an audited layer with these ids (None: not audited)."""
        ids = [str(i) for i in ids]
        if not audit.audited(layer) or not ids:
            return None
        frames = [self.read(layer, Query(where={"id": tuple(ids[s:s + _AUDIT_CHUNK])}))
                  for s in range(0, len(ids), _AUDIT_CHUNK)]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    # --- where the store is ---------------------------------------------------------

    @abstractmethod
    def location(self) -> str:
        """The folder / .gpkg path or database URL that :func:`open_store` opens
        again (a second connection to the same store, e.g. in another thread)."""

    def checkpoint(self) -> None:  # noqa: B027 - a no-op where nothing is pending
        """Write pending changes into the main store file (GeoPackage: the WAL), so
        the store can be copied as one file. A no-op for a database server."""

    # --- fast reads: each backend answers them in its own database ----------------
    #
    # The defaults below are correct for any store that has read(); the backends
    # override them with SQL (GeoPackage: SQLite and its RTree; PostGIS: GiST index,
    # GROUP BY in the database), so the analysis never asks which backend it has.

    def read_points(self, query: Query | None = None) -> Points:
        """Return the points, categories and precision flags of the incidents a
        query selects: only what a grid or the priority analysis needs, not rows."""
        from layers.core.privacy import POINT_PRECISIONS

        frame = self.read("incidents", query)
        if frame.empty:
            return Points.empty()
        placed = ~frame.geometry.isna()
        frame = frame[placed.to_numpy(bool)]
        if frame.empty:
            return Points.empty()
        return Points(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(),
                      frame["category"].to_numpy(dtype=object),
                      frame["precision"].isin(POINT_PRECISIONS).to_numpy(dtype=bool))

    def read_points_periods(self, query: Query | None,
                            periods: Iterable[tuple[dt.datetime, dt.datetime]]
                            ) -> list[Points]:
        """:meth:`read_points` of ``query`` for each period ``(start, end)`` (start
        inclusive, end exclusive, time zone aware; they replace the query's own):
        one :class:`Points` per period, in the order of ``periods``. PostGIS reads
        disjoint periods (the ranking's tertial and the year before) in one
        statement instead of one per period."""
        query = query or Query()
        return [self.read_points(replace(query, start=start, end=end))
                for start, end in periods]

    def grid_counts(self, query: Query | None, size: float) -> GridCounts:
        """Count the incidents a query selects per square cell of ``size`` metres,
        category and precision (see :class:`GridCounts`)."""
        return GridCounts.of_points(self.read_points(query), float(size))

    def placed_count(self) -> int:
        """How many incidents are placed to the street or better and have a point
        (what the ranking counts; its density chooses the priority cell size)."""
        from layers.core.privacy import POINT_PRECISIONS

        return int(self.read_points(Query(where={"precision": POINT_PRECISIONS})).x.size)

    def read_boxes(self, layer: str, query: Query,
                   boxes: Iterable[tuple[float, float, float, float]],
                   fields: Iterable[str] | None = None) -> list[gpd.GeoDataFrame]:
        """``read(layer, query)`` with each box as its bbox: one frame per box, in
        the order of ``boxes`` (``query``'s own bbox is ignored). PostGIS finds the
        rows of all boxes in one statement instead of one per box.

        ``fields``: only these fields (in the schema's order) and the geometry, as
        the same columns of the whole frames (KeyError for a field the layer lacks);
        a backend then reads and decodes no other column."""
        keep = box_fields(layer, fields)
        frames = [self.read(layer, replace(query, bbox=tuple(box))) for box in boxes]
        if keep is None:
            return frames
        return [frame[[f.name for f in keep.fields]
                      + ([frame.geometry.name] if keep.geometry_type else [])]
                for frame in frames]

    def count_by(self, layer: str, fields: Iterable[str],
                 query: Query | None = None) -> pd.DataFrame:
        """Count the rows a query selects per distinct value of ``fields``.

        A DataFrame with one column per field and ``n`` (int64), sorted by the
        fields; a missing value is its own group (None).
        """
        schema = schema_of(layer)
        fields = [schema.field(name).name for name in fields]  # KeyError if unknown
        frame = pd.DataFrame(self.read(layer, unpaged(query)))[fields]
        if frame.empty:
            return pd.DataFrame({**{f: pd.Series(dtype=object) for f in fields},
                                 "n": pd.Series(dtype=np.int64)})
        counts = frame.astype(object).where(frame.notna(), None) \
            .groupby(fields, dropna=False, sort=False).size()
        out = counts.reset_index(name="n")
        out = out.astype({f: object for f in fields})
        out = out.where(out.notna(), None).astype({"n": np.int64})
        return _sorted_groups(out, fields)

    def time_span(self, layer: str, query: Query | None = None
                  ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The first and the last time (of the layer's time field, Europe/Stockholm)
        among the rows a query selects; None when it selects none. Cheap with the
        time index, unlike reading rows in time order (also an existence probe)."""
        field_name = schema_of(layer).time_field
        if field_name is None:
            raise ValueError(f"{layer} has no time field")
        times = self.read(layer, unpaged(query))[field_name].dropna()
        if times.empty:
            return None
        return times.min(), times.max()

    def read_page(self, layer: str, query: Query) -> gpd.GeoDataFrame | pd.DataFrame:
        """Read one page (the query's limit/offset) of a layer for the API.

        Pages of one query never overlap and together hold exactly the rows of
        :meth:`read` as long as the data does not change. The order is the
        backend's: here (and without a bbox everywhere) time order, then
        insertion order; with a bbox a backend may walk its spatial index instead
        and stop when the page is full.
        """
        time_field = schema_of(layer).time_field
        return self.read(layer, replace(query, order_by=query.order_by or time_field))

    def _read_ids(self, layer: str, ids: list[str]) -> gpd.GeoDataFrame | pd.DataFrame:
        """Read the rows of ``ids`` in the order of ``ids`` (a page found by id)."""
        rows = self.read(layer, Query(where={"id": tuple(ids)}))
        if rows.empty:
            return rows
        position = {row_id: i for i, row_id in enumerate(ids)}
        order = rows["id"].map(position).to_numpy().argsort(kind="stable")
        return rows.iloc[order].reset_index(drop=True)


def box_fields(layer: str, fields: Iterable[str] | None) -> LayerSchema | None:
    """The layer's schema with only ``fields`` (in the schema's order; KeyError for
    a field it lacks), or None for every field (:meth:`Store.read_boxes`)."""
    if fields is None:
        return None
    schema = schema_of(layer)
    wanted = {schema.field(name).name for name in fields}
    return replace(schema, fields=tuple(f for f in schema.fields if f.name in wanted))


def unpaged(query: Query | None) -> Query | None:
    """The query's filter alone: no limit, offset or order (for counts)."""
    if query is None:
        return None
    return Query(bbox=query.bbox, start=query.start, end=query.end, where=query.where)


def _sorted_groups(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """Sort count_by groups by their fields (None first), the same on every backend."""
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = [frame[f].map(lambda v: (v is not None, v)) for f in fields]
    order = sorted(range(len(frame)), key=lambda k: tuple(key.iat[k] for key in keys))
    return frame.iloc[order].reset_index(drop=True)
