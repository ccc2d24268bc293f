"""The grid's summary ``incident_cells`` (PostGIS only): incidents counted per 250 m
cell, local month and year, category, stadsdelsområde and precision, kept by every
write in its transaction, so the city grid of a year does not scan millions of
incidents; and :meth:`~layers.store.postgis.PostGISStore.grid_counts`, which reads it.
"""

from __future__ import annotations

from dataclasses import replace as dc_replace

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from layers.core.schema import LOCAL_TZ, SPATIAL_LAYERS
from layers.store.base import GridCounts, Points, Query
from layers.store.postgis.connection import PostGISConnection
from layers.store.postgis.values import GEOM
from layers.store.postgis.values import and_where as _and
from layers.store.postgis.values import ident as _ident

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
CELL_SOURCE = ("occurred_at", GEOM, "category", "sdo_code", "precision")
_CELL_KEY = "span, bucket, i, j, coalesce(category, ''), coalesce(sdo_code, ''), precise"
_CELL_COLUMNS = "span, bucket, i, j, category, sdo_code, precise, n"


class PostGISCells(PostGISConnection):
    """The grid counts of :class:`~layers.store.postgis.PostGISStore`, from the summary."""

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
            sql.SQL(", ").join(map(_ident, CELL_SOURCE)))
        conn.execute(cells_upsert(rows, sign), [ids])

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


def _cells_select(source: sql.Composable, sign: int) -> sql.Composable:
    """The cell counts (times ``sign``) of the incident rows in ``source``, per month
    and per year: the rows grouped once by month, the years summed from the months
    (grouping every row twice, once per span, was most of a big load's summary)."""
    from layers.core.privacy import POINT_PRECISIONS

    return sql.SQL(
        "WITH m AS (SELECT date_trunc('month', occurred_at, {tz}) AS bucket, "
        "floor(ST_X(geom) / {size})::bigint AS i, floor(ST_Y(geom) / {size})::bigint AS j, "
        "category, sdo_code, coalesce(precision = ANY({precise}::text[]), false) AS precise, "
        "({sign} * count(*))::integer AS n FROM {source} AS s "
        "WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom) AND occurred_at IS NOT NULL "
        "GROUP BY 1, 2, 3, 4, 5, 6) "
        "SELECT 'month' AS span, bucket, i, j, category, sdo_code, precise, n FROM m "
        "UNION ALL SELECT 'year', date_trunc('year', bucket, {tz}), i, j, category, "
        "sdo_code, precise, sum(n)::integer FROM m GROUP BY 2, 3, 4, 5, 6, 7").format(
        tz=sql.Literal(LOCAL_TZ), size=sql.Literal(float(CELL_BASE)),
        precise=sql.Literal(list(POINT_PRECISIONS)), sign=sql.Literal(int(sign)),
        source=source)


def cells_upsert(source: sql.Composable, sign: int) -> sql.Composable:
    """Add the cell counts of ``source``'s rows (times ``sign``) to the summary.

    Counts that fall to 0 stay as rows of 0 (readers skip them): no second pass."""
    return sql.SQL(
        "INSERT INTO {cells} AS c ({columns}) {select} "
        "ORDER BY 1, 2, 3, 4 ON CONFLICT ({key}) DO UPDATE SET n = c.n + excluded.n").format(
        cells=_ident(CELLS), columns=sql.SQL(_CELL_COLUMNS),
        select=_cells_select(source, sign), key=sql.SQL(_CELL_KEY))


def create_cells(conn: psycopg.Connection) -> None:
    """Create the summary table when missing, filled from the stored incidents."""
    if conn.execute("SELECT to_regclass(%s) IS NOT NULL", [CELLS]).fetchone()[0]:
        return
    conn.execute(sql.SQL(
        "CREATE TABLE {} (span text NOT NULL, bucket timestamptz NOT NULL, "
        "i bigint NOT NULL, j bigint NOT NULL, "
        "category text, sdo_code text, precise boolean NOT NULL, n integer NOT NULL)").format(
        _ident(CELLS)))
    fill_cells(conn)


def fill_cells(conn: psycopg.Connection) -> None:
    """Count the stored incidents into the summary anew (what it held goes), its key
    index built afterwards: for a new summary and after a first load into an empty
    incidents table (where the summary holds at most rows of 0)."""
    key = _ident(f"{CELLS}_key_idx")
    conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(key))
    conn.execute(sql.SQL("DELETE FROM {}").format(_ident(CELLS)))
    # in time order: a period's rows then lie together on disk (an index range scan
    # of a year reads a few thousand pages in a row, not half a million at random)
    conn.execute(sql.SQL("INSERT INTO {} ({}) {} ORDER BY 1, 2, 3, 4").format(
        _ident(CELLS), sql.SQL(_CELL_COLUMNS), _cells_select(_ident("incidents"), 1)))
    conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
        key, _ident(CELLS), sql.SQL(_CELL_KEY)))


def _local_start(value: object, unit: str, *, up: bool) -> pd.Timestamp:
    """The start of the local calendar month (``unit`` "M") or year ("Y") at or after
    (``up``) / at or before ``value``."""
    ts = pd.Timestamp(value)
    local = (ts.tz_localize("UTC") if ts.tzinfo is None else ts).tz_convert(LOCAL_TZ)
    naive = local.tz_localize(None).to_period(unit).to_timestamp()
    if up and naive.tz_localize(LOCAL_TZ) < local:
        naive += pd.offsets.MonthBegin(1) if unit == "M" else pd.offsets.YearBegin(1)
    return naive.tz_localize(LOCAL_TZ)
