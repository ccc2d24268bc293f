"""Read one page of a layer inside a bbox quickly.

The API pages through incidents (``limit``/``offset``) inside the map's bbox. The
store's generic filter finds the rows of a bbox by collecting every id its spatial
index holds for the box and then sorting them: a district-sized box over a
million incidents collects a hundred thousand ids to return a thousand (about
0.3 s), a city-sized box a million (over a second).

:func:`read_page` instead walks the GeoPackage's RTree for the box and stops as
soon as the page is full, checking the other conditions (period, category, …) row
by row: a few milliseconds for the first page of any box. The rows come in the
order of the spatial index (points near each other together), which is stable
from one page to the next as long as the data does not change; the rows
themselves are then read by id through :meth:`Store.read`, so every column is
decoded the usual way. Without a bbox, or on another store, it is the plain
``store.read``, in time order.

(This belongs in the GeoPackage store's own query planner; it lives here until the
store grows one, and the store contract tests do not depend on it.)
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace

import geopandas as gpd
import pandas as pd

from layers.store.base import Query, Store, schema_of

LOGGER = logging.getLogger(__name__)


def read_page(store: Store, layer: str, query: Query) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read the rows of ``query`` (its limit/offset one page) of a spatial layer.

    With a bbox on the GeoPackage store the rows come in spatial index order,
    otherwise in time order (the layer's time field), then insertion order.
    """
    from layers.store.geopackage import GeoPackageStore

    time_field = schema_of(layer).time_field
    plain = replace(query, order_by=query.order_by or time_field)
    if not (isinstance(store, GeoPackageStore) and query.bbox is not None
            and query.limit is not None):
        return store.read(layer, plain)
    try:
        ids = _page_ids(store, layer, query)
    except sqlite3.OperationalError as exc:  # e.g. a file without the RTree extension
        LOGGER.info("RTree page not possible (%s): plain read", exc)
        return store.read(layer, plain)
    rows = store.read(layer, Query(where={"id": tuple(ids)}))
    if rows.empty:
        return rows
    position = {row_id: i for i, row_id in enumerate(ids)}
    order = rows["id"].map(position).to_numpy().argsort(kind="stable")
    return rows.iloc[order].reset_index(drop=True)


def _page_ids(store, layer: str, query: Query) -> list[str]:
    """The ids of one page: walk the RTree entries of the box, stop when it is full."""
    minx, miny, maxx, maxy = query.bbox  # type: ignore[misc]
    rest, params = store._where(schema_of(layer), replace(query, bbox=None))
    rest = rest.replace(" WHERE ", " AND ", 1)
    # CROSS JOIN keeps the RTree as the outer loop (SQLite's join order hint)
    sql = (f'SELECT t.id FROM "rtree_{layer}_geom" r CROSS JOIN "{layer}" t ON t.fid = r.id '
           "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?"
           f"{rest} LIMIT ? OFFSET ?")
    values = [maxx, minx, maxy, miny, *params, query.limit, query.offset]
    return [row[0] for row in store.conn.execute(sql, values).fetchall()]
