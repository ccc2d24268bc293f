"""Reading the PostGIS store: rows by query (the GiST index for a bbox), counts, and
the fast reads the analysis asks for (points packed in SQL, groups counted in SQL,
bbox pages nearest-first, the rows of many boxes in one statement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace as dc_replace

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from layers.core.errors import StoreError
from layers.core.schema import SPATIAL_LAYERS, STORE_EPSG, LayerSchema
from layers.store.base import Points, Query, box_fields, schema_of, unpaged
from layers.store.connection import columns_frame, groups_frame, rows_frame
from layers.store.postgis.cells import CELLS
from layers.store.postgis.connection import PostGISConnection
from layers.store.postgis.tables import SPACE_TIME as _SPACE_TIME
from layers.store.postgis.values import GEOM
from layers.store.postgis.values import SQL_TYPES as _SQL_TYPES
from layers.store.postgis.values import and_where as _and
from layers.store.postgis.values import column as _column
from layers.store.postgis.values import from_db as _from_db
from layers.store.postgis.values import from_wkb as _from_wkb
from layers.store.postgis.values import ident as _ident
from layers.store.postgis.values import param as _param


class PostGISReading(PostGISConnection):
    """The reads of :class:`~layers.store.postgis.PostGISStore`."""

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

    def _read_rows(self, schema: LayerSchema, tail: sql.Composable, params: list, *,
                   source: sql.Composable | None = None, lead: sql.Composable | None = None
                   ) -> gpd.GeoDataFrame | pd.DataFrame | tuple:
        """Every field of ``schema`` (and the geometry) of the rows ``SELECT … FROM
        layer <tail>`` gives, as the typed frame :meth:`read` returns, in the order of
        the rows (a schema with fewer fields reads only those columns).

        ``source`` replaces the layer in ``FROM`` (it must name the rows as the
        layer); with ``lead``, one more value selected first for each row, returned
        as a list beside the frame."""
        selected = [] if lead is None else [lead]
        for f in schema.fields:
            col = _ident(f.name)
            if f.kind == "datetime":
                selected.append(sql.SQL("(extract(epoch FROM {}) * 1000000)::bigint").format(col))
            else:
                selected.append(col)
        if schema.geometry_type:
            selected.append(sql.SQL("ST_AsBinary({})").format(_ident(GEOM)))
        statement = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(selected), source or _ident(schema.name)) + tail
        rows = self._fetch(statement, params)
        if lead is None:
            return rows_frame(schema, rows, len(selected), _from_db, _from_wkb)
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in selected]
        return columns_frame(schema, columns[1:], _from_db, _from_wkb), list(columns[0])

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
        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        return self._packed_points(where, params)[0]

    def read_points_periods(self, query: Query | None,
                            periods: Iterable[tuple[dt.datetime, dt.datetime]]
                            ) -> list[Points]:
        """Disjoint periods in one statement: the rows of any of them (the planner
        can OR the periods' index scans of the box into one pass over the table),
        each row's period packed beside its point. Overlapping or open periods, or
        more than nine: one :meth:`read_points` per period."""
        periods = [(start, end) for start, end in periods]
        bounds = sorted((pd.Timestamp(start), pd.Timestamp(end), k)
                        for k, (start, end) in enumerate(periods)
                        if start is not None and end is not None)
        if (len(periods) < 2 or len(periods) > 9 or len(bounds) < len(periods)
                or any(a[1] > b[0] for a, b in zip(bounds, bounds[1:], strict=False))):
            return super().read_points_periods(query, periods)
        query = dc_replace(query or Query(), start=None, end=None)
        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        span = sql.SQL("(occurred_at >= %s AND occurred_at < %s)")
        times = [_param(v, "datetime") for start, end in periods for v in (start, end)]
        where = _and(where, sql.SQL("(") + sql.SQL(" OR ").join([span] * len(periods))
                     + sql.SQL(")"))
        which = sql.SQL("CASE ") + sql.SQL(" ").join(
            sql.SQL("WHEN ") + span + sql.SQL(" THEN {}").format(sql.Literal(str(k)))
            for k in range(len(periods))) + sql.SQL(" END")
        points, period_of = self._packed_points(where, [*params, *times], which, times)
        if period_of is None:
            return [Points.empty() for _ in periods]
        out = []
        for k in range(len(periods)):
            mine = period_of == k
            out.append(Points(points.x[mine], points.y[mine], points.category[mine],
                              points.precise[mine]) if mine.any() else Points.empty())
        return out

    def _packed_points(self, where: sql.Composable, params: list,
                       label: sql.Composable | None = None, label_params: list | None = None
                       ) -> tuple[Points, np.ndarray | None]:
        """The placed incidents ``where`` selects as one row of packed columns (the
        aggregates see the rows in the same order): 240 000 points travel as two byte
        strings, not 240 000 tuples. With ``label``, an SQL expression of one ASCII
        digit per row (its parameters ``label_params``), also each row's digit;
        None when no row was selected."""
        from layers.core.privacy import POINT_PRECISIONS

        where = _and(where, sql.SQL("{} IS NOT NULL AND NOT ST_IsEmpty({})").format(
            _ident(GEOM), _ident(GEOM)))
        selected = sql.SQL(
            "SELECT string_agg(float8send(ST_X(geom)), ''::bytea), "
            "string_agg(float8send(ST_Y(geom)), ''::bytea), array_agg(category), "
            "string_agg(CASE WHEN precision = ANY(%s) THEN '1' ELSE '0' END, '')")
        if label is not None:
            selected += sql.SQL(", string_agg(") + label + sql.SQL(", '')")
        rows = self._fetch(selected + sql.SQL(" FROM incidents") + where,
                           [list(POINT_PRECISIONS), *(label_params or []), *params])
        x, y, categories, precise, *labels = rows[0]
        if x is None:
            return Points.empty(), None
        points = Points(np.frombuffer(x, ">f8").astype(float),
                        np.frombuffer(y, ">f8").astype(float),
                        np.asarray(categories, dtype=object),
                        np.frombuffer(precise.encode("ascii"), np.uint8) == ord("1"))
        digits = np.frombuffer(labels[0].encode("ascii"), np.uint8) - ord("0") \
            if labels else None
        return points, digits

    def placed_count(self) -> int:
        """From the grid summary's year rows when it exists (their ``precise`` is
        the same test on precision), instead of counting every incident."""
        if not self._cells_exist():
            return super().placed_count()
        rows = self._fetch(sql.SQL("SELECT coalesce(sum(n), 0)::bigint FROM {} "
                                   "WHERE span = 'year' AND precise").format(_ident(CELLS)),
                           [])
        return int(rows[0][0])

    def _space_time(self, layer: str) -> bool:
        """Has ``layer`` its GiST index on (geom, time) (schema version 5)?"""
        if layer not in _SPACE_TIME:
            return False
        if self._has_space_time is None:
            rows = self._fetch(sql.SQL("SELECT to_regclass(%s) IS NOT NULL"),
                               [f"{layer}_geom_time_idx"])
            self._has_space_time = bool(rows[0][0])
        return self._has_space_time

    def read_boxes(self, layer: str, query: Query,
                   boxes: Iterable[tuple[float, float, float, float]],
                   fields: Iterable[str] | None = None) -> list[gpd.GeoDataFrame]:
        """Each box's rows in ``fid`` order, as :meth:`read` gives them (the same
        ``&&`` test). With a period and the (geom, time) index: one statement, each
        box a scan of that index for its rows of the period. Without: which rows lie
        in which box in one statement (the envelope's rows of the period, joined with
        the boxes), then the rows themselves in a second one. With ``fields`` only
        those columns (and the geometry) are selected and decoded."""
        boxes = [tuple(float(v) for v in box) for box in boxes]
        schema = schema_of(layer)
        # the columns read (the filters below use the whole layer's schema)
        kept = box_fields(layer, fields)
        selected = schema if kept is None else kept
        fields = None if kept is None else [f.name for f in kept.fields]
        if (len(boxes) < 2 or not schema.geometry_type or query.limit is not None
                or query.offset or query.order_by):
            return super().read_boxes(layer, query, boxes, fields)
        corners = [list(c) for c in zip(*boxes, strict=True)]
        unnest = sql.SQL("unnest(%s::float8[], %s::float8[], %s::float8[], %s::float8[]) "
                         "WITH ORDINALITY AS b (x0, y0, x1, y1, n)")
        in_box = sql.SQL("{} && ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, {})").format(
            _ident(GEOM), sql.Literal(STORE_EPSG))
        if (query.start is not None or query.end is not None) and self._space_time(layer):
            # each box on the (geom, time) index: only the box's rows of the period,
            # read in the same statement (a row in two boxes comes twice)
            where, params = self._where(schema, dc_replace(query, bbox=None))
            source = sql.SQL("{} CROSS JOIN LATERAL (SELECT * FROM {}").format(
                unnest, _ident(layer)) + _and(where, in_box) + sql.SQL(") AS {}").format(
                _ident(layer))
            frame, box_of = self._read_rows(selected, sql.SQL(" ORDER BY b.n, fid"),
                                            [*corners, *params], source=source,
                                            lead=sql.SQL("b.n"))
            ends = np.searchsorted(np.asarray(box_of, dtype=np.int64),
                                   np.arange(1, len(boxes) + 2), side="left")
            return [frame.iloc[ends[n]:ends[n + 1]].reset_index(drop=True)
                    for n in range(len(boxes))]
        # the boxes' envelope as the query's bbox: the scan drops the rows outside
        # all boxes before the join compares each row with each box
        envelope = (min(corners[0]), min(corners[1]), max(corners[2]), max(corners[3]))
        where, params = self._where(schema, dc_replace(query, bbox=envelope))
        # the rows of the envelope first (materialised: the planner would otherwise
        # walk the GiST index per box through every year and filter the period after)
        pairs = self._fetch(sql.SQL(
            "WITH r AS MATERIALIZED (SELECT fid, {geom} FROM {layer}") .format(
            geom=_ident(GEOM), layer=_ident(layer)) + where + sql.SQL(
            ") SELECT b.n, r.fid FROM r JOIN {} ON r.{}").format(unnest, in_box),
            [*params, *corners])
        box_of = np.asarray([p[0] for p in pairs], dtype=np.int64) - 1
        fids = np.asarray([p[1] for p in pairs], dtype=np.int64)
        unique = np.unique(fids)
        frame = self._read_rows(selected, sql.SQL(" WHERE fid = ANY(%s) ORDER BY fid"),
                                [unique.tolist()])
        if len(frame) != len(unique):  # rows deleted between the two statements
            return super().read_boxes(layer, query, boxes, fields)
        frames = []
        for n in range(len(boxes)):
            rows = np.searchsorted(unique, np.sort(fids[box_of == n]))
            frames.append(frame.iloc[rows].reset_index(drop=True))
        return frames

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
        return groups_frame(schema, fields, rows, _from_db)

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
