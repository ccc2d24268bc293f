"""Reading the GeoPackage: rows by query (the RTree for a bbox), counts, extents, and
the fast reads the analysis asks for (points packed in SQL, groups counted in SQL,
bbox pages walked along the RTree).
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from dataclasses import replace as dc_replace

import numpy as np
import pandas as pd
import shapely

from layers.core.schema import SPATIAL_LAYERS, LayerSchema
from layers.store.base import Extent, Points, Query, schema_of, unpaged
from layers.store.connection import ConnectedStore, groups_frame, rows_frame
from layers.store.geopackage.encoding import (
    GEOM,
    decode_geometries,
    from_sql_column,
    to_sql_column,
)

LOGGER = logging.getLogger(__name__)


class GeoPackageReading(ConnectedStore):
    """The reads of :class:`~layers.store.geopackage.GeoPackageStore`."""

    def _where(self, schema: LayerSchema, query: Query | None) -> tuple[str, list]:
        if query is None:
            return "", []
        clauses, params = [], []
        if query.bbox is not None and schema.geometry_type:
            minx, miny, maxx, maxy = query.bbox
            clauses.append(
                f'fid IN (SELECT id FROM "rtree_{schema.name}_{GEOM}" '
                "WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)")
            params += [maxx, minx, maxy, miny]
        if schema.time_field and (query.start or query.end):
            tcol = f'"{schema.time_field}"'
            if query.start is not None:
                clauses.append(f"{tcol} >= ?")
                params.append(to_sql_column(pd.Series([query.start]), "datetime")[0])
            if query.end is not None:
                clauses.append(f"{tcol} < ?")
                params.append(to_sql_column(pd.Series([query.end]), "datetime")[0])
        for key, value in query.where.items():
            kind = schema.field(key).kind
            if isinstance(value, (list, tuple, set, frozenset)):
                values = to_sql_column(pd.Series(list(value), dtype=object), kind)
                if not values:
                    clauses.append("0")
                    continue
                clauses.append(f'"{key}" IN ({", ".join("?" * len(values))})')
                params += values
            elif value is None:
                clauses.append(f'"{key}" IS NULL')
            else:
                clauses.append(f'"{key}" = ?')
                params.append(to_sql_column(pd.Series([value], dtype=object), kind)[0])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def read(self, layer, query=None):
        schema = schema_of(layer)
        where, params = self._where(schema, query)
        names = [f'"{f.name}"' for f in schema.fields]
        if schema.geometry_type:
            names.append(GEOM)
        # fid breaks ties, so pages of equal times never overlap (PostGIS does the same)
        order = f' ORDER BY "{query.order_by}", fid' if query and query.order_by \
            else " ORDER BY fid"
        sql = f'SELECT {", ".join(names)} FROM "{layer}"{where}{order}'
        if query and (query.limit is not None or query.offset):
            sql += " LIMIT ? OFFSET ?"
            params += [query.limit if query.limit is not None else -1, query.offset]
        rows = self.conn.execute(sql, params).fetchall()
        return rows_frame(schema, rows, len(names), from_sql_column, decode_geometries)

    def count(self, layer, query=None):
        schema = schema_of(layer)
        where, params = self._where(schema, query)
        return self.conn.execute(f'SELECT count(*) FROM "{layer}"{where}', params).fetchone()[0]

    def extent(self, layer):
        """From gpkg_contents (kept by every write) and the time field's index."""
        schema = schema_of(layer)
        if not schema.geometry_type:
            return super().extent(layer)
        row = self.conn.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents "
                                "WHERE table_name = ?", (layer,)).fetchone()
        empty = self.conn.execute(f'SELECT 1 FROM "{layer}" LIMIT 1').fetchone() is None
        bbox = None if empty or row is None or None in row else tuple(float(v) for v in row)
        times = None
        if schema.time_field and not empty:
            first, last = self.conn.execute(
                f'SELECT min("{schema.time_field}"), max("{schema.time_field}") '
                f'FROM "{layer}"').fetchone()
            if first is not None:
                decoded = from_sql_column([first, last], "datetime")
                times = (decoded.iloc[0], decoded.iloc[1])
        return Extent(bbox, times)

    def ping(self):
        try:
            self.conn.execute("SELECT count(*) FROM gpkg_contents").fetchone()
            return True
        except sqlite3.Error:
            return False

    # fast reads -----------------------------------------------------------------

    def placed_count(self) -> int:
        """One count in SQL (the precision index), rows with a point only."""
        from layers.core.privacy import POINT_PRECISIONS

        where, params = self._where(SPATIAL_LAYERS["incidents"],
                                    Query(where={"precision": POINT_PRECISIONS}))
        return self.conn.execute(f'SELECT count(*) FROM "incidents"{where} '
                                 f"AND {GEOM} IS NOT NULL", params).fetchone()[0]

    def read_points(self, query: Query | None = None) -> Points:
        """Points for a grid straight from SQL: a year of a million incidents in
        under a second (see :meth:`_packed_points`), rows only for odd blobs."""
        from layers.core.privacy import POINT_PRECISIONS

        packed = self._packed_points(query)
        if packed is not None:
            return packed
        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        where = (where + " AND" if where else " WHERE") + f" {GEOM} IS NOT NULL"
        rows = self.conn.execute(
            f'SELECT {GEOM}, category, precision FROM "incidents"{where}', params).fetchall()
        geoms = decode_geometries([r[0] for r in rows]) if rows else np.empty(0, object)
        keep = ~shapely.is_empty(geoms) if rows else np.empty(0, bool)
        if not keep.any():
            return Points.empty()
        xy = shapely.get_coordinates(geoms[keep])
        kept = [r for r, k in zip(rows, keep, strict=True) if k]
        return Points(xy[:, 0], xy[:, 1], np.array([r[1] for r in kept], dtype=object),
                      np.array([r[2] in POINT_PRECISIONS for r in kept], dtype=bool))

    def _packed_points(self, query: Query | None) -> Points | None:
        """SQLite packs every point into one string.

        A GeoPackage point blob holds x and y as little-endian doubles at bytes
        46–61; ``group_concat`` joins them (as hex), the categories (one character
        each) and the precision flags in the same pass, so Python sees three
        strings instead of a million rows. Returns None when a blob is not such a
        point (then the rows are read one by one).
        """
        case, by_char, precise_sql = _point_codes()
        where, params = self._where(SPATIAL_LAYERS["incidents"], query)
        where = (where + " AND" if where else " WHERE") + f" {GEOM} IS NOT NULL"
        odd = (f"length({GEOM}) != 61 OR substr({GEOM}, 1, 4) != X'47500003' "
               f"OR substr({GEOM}, 41, 5) != X'0101000000'")
        row = self.conn.execute(
            f"SELECT group_concat(hex(substr({GEOM}, 46, 16)), ''), "
            f"group_concat(char({case}), ''), "
            f"group_concat(CASE WHEN {precise_sql} THEN '1' ELSE '0' END, ''), "
            f"sum({odd}), count(*) "
            f'FROM "incidents"{where}', params).fetchone()
        coordinates, categories, precise, odd_rows, n = row
        if not n:
            return Points.empty()
        if odd_rows:
            return None
        xy = np.frombuffer(bytes.fromhex(coordinates), dtype="<f8").reshape(n, 2).astype(float)
        chars = np.frombuffer(categories.encode("ascii"), dtype=np.uint8)
        flags = np.frombuffer(precise.encode("ascii"), dtype=np.uint8) == ord("1")
        return Points(xy[:, 0], xy[:, 1], by_char[chars], flags)

    def count_by(self, layer, fields, query=None):
        schema = schema_of(layer)
        fields = [schema.field(name).name for name in fields]  # KeyError if unknown
        where, params = self._where(schema, unpaged(query))
        cols = ", ".join(f'"{f}"' for f in fields)
        rows = self.conn.execute(
            f'SELECT {cols}, count(*) FROM "{layer}"{where} GROUP BY {cols} ORDER BY {cols}',
            params).fetchall()
        return groups_frame(schema, fields, rows, from_sql_column)

    def time_span(self, layer, query=None):
        schema = schema_of(layer)
        if schema.time_field is None:
            raise ValueError(f"{layer} has no time field")
        where, params = self._where(schema, unpaged(query))
        # one format for every stored time (ISO 8601 UTC, ms): text order is time order
        col = f'"{schema.time_field}"'
        first, last = self.conn.execute(
            f'SELECT min({col}), max({col}) FROM "{layer}"{where}', params).fetchone()
        if first is None:
            return None
        times = from_sql_column([first, last], "datetime")
        return times.iloc[0], times.iloc[1]

    def read_page(self, layer, query):
        """With a bbox and a limit: walk the RTree for the box and stop as soon as the
        page is full, checking the other conditions row by row (a few milliseconds
        for the first page of any box, where collecting and sorting every id of a
        district box over a million incidents takes a third of a second). The rows
        come in spatial index order, stable while the data does not change."""
        if query.bbox is None or query.limit is None or not schema_of(layer).geometry_type:
            return super().read_page(layer, query)
        try:
            ids = self._page_ids(layer, query)
        except sqlite3.OperationalError as exc:  # e.g. a file without the RTree module
            LOGGER.info("RTree page not possible (%s): plain read", exc)
            return super().read_page(layer, query)
        return self._read_ids(layer, ids)

    def _page_ids(self, layer: str, query: Query) -> list[str]:
        """The ids of one page: walk the RTree entries of the box, stop when it is full."""
        minx, miny, maxx, maxy = query.bbox  # type: ignore[misc]
        rest, params = self._where(schema_of(layer), dc_replace(query, bbox=None))
        rest = rest.replace(" WHERE ", " AND ", 1)
        # CROSS JOIN keeps the RTree as the outer loop (SQLite's join order hint)
        sql = (f'SELECT t.id FROM "rtree_{layer}_{GEOM}" r CROSS JOIN "{layer}" t '
               "ON t.fid = r.id WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? "
               f"AND r.maxy >= ?{rest} LIMIT ? OFFSET ?")
        values = [maxx, minx, maxy, miny, *params, query.limit, query.offset]
        return [row[0] for row in self.conn.execute(sql, values).fetchall()]


@functools.cache
def _point_codes() -> tuple[str, np.ndarray, str]:
    """SQL mapping a category code to one character (index + 48; 126 unknown), the
    codes by character, and the SQL test of a precise place."""
    from layers.core.privacy import POINT_PRECISIONS
    from layers.core.schema import INCIDENT_CATEGORIES

    codes = [c.code for c in INCIDENT_CATEGORIES]
    case = "CASE category " + " ".join(
        f"WHEN '{code}' THEN {48 + i}" for i, code in enumerate(codes)) + " ELSE 126 END"
    by_char = np.full(127, None, dtype=object)
    by_char[48:48 + len(codes)] = codes
    precise = "precision IN (" + ", ".join(f"'{p}'" for p in POINT_PRECISIONS) + ")"
    return case, by_char, precise
