"""The GeoPackage's spatial index: the RTree and its triggers as the spec gives them,
and filling it in bulk (a packed tree written straight into the rtree module's shadow
tables, or inserts in Hilbert order) when a write adds many rows at once.
"""

from __future__ import annotations

import logging
import sqlite3

import numpy as np

from layers.store.geopackage.encoding import GEOM, as_bytes

LOGGER = logging.getLogger(__name__)


def rtree_triggers(t: str) -> dict[str, str]:
    """The six triggers that keep the RTree of table ``t`` current, as the spec gives them."""
    c, i = GEOM, "fid"
    r = f"rtree_{t}_{c}"
    return {
        f"{r}_insert": f"""CREATE TRIGGER "{r}_insert" AFTER INSERT ON "{t}"
WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;""",
        f"{r}_update1": f"""CREATE TRIGGER "{r}_update1" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;""",
        f"{r}_update2": f"""CREATE TRIGGER "{r}_update2" AFTER UPDATE OF "{c}" ON "{t}"
WHEN OLD."{i}" = NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
END;""",
        f"{r}_update3": f"""CREATE TRIGGER "{r}_update3" AFTER UPDATE ON "{t}"
WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
  INSERT OR REPLACE INTO "{r}" VALUES (NEW."{i}",
    ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}"));
END;""",
        f"{r}_update4": f"""CREATE TRIGGER "{r}_update4" AFTER UPDATE ON "{t}"
WHEN OLD."{i}" != NEW."{i}" AND (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
BEGIN
  DELETE FROM "{r}" WHERE id IN (OLD."{i}", NEW."{i}");
END;""",
        f"{r}_delete": f"""CREATE TRIGGER "{r}_delete" AFTER DELETE ON "{t}"
WHEN old."{c}" NOT NULL
BEGIN
  DELETE FROM "{r}" WHERE id = OLD."{i}";
END;""",
    }


def create_rtree(conn: sqlite3.Connection, t: str) -> None:
    """Create the spatial index and its triggers exactly as the GeoPackage spec says."""
    r = f"rtree_{t}_{GEOM}"
    conn.execute(f'CREATE VIRTUAL TABLE "{r}" USING rtree(id, minx, maxx, miny, maxy)')
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
        "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')", (t, GEOM))
    # executescript() would COMMIT the open transaction: run one statement at a time
    for statement in rtree_triggers(t).values():
        conn.execute(statement)


# --- filling the RTree in bulk ---------------------------------------------------------

#: sqlite's rtree module rounds a box outwards to 32-bit floats with these factors.
_RND_TOWARDS = 1.0 - 1.0 / 8388608.0
_RND_AWAY = 1.0 + 1.0 / 8388608.0
#: One cell of an rtree node: rowid (or child node) and the box, big endian.
_RTREE_CELL = np.dtype([("id", ">i8"), ("minx", ">f4"), ("maxx", ">f4"), ("miny", ">f4"),
                        ("maxy", ">f4")])


def _float32_down(d: np.ndarray) -> np.ndarray:
    """rtreeValueDown() of sqlite's rtree.c: the largest float32 not above d (nearly)."""
    f = d.astype(np.float32)
    over = f.astype(np.float64) > d
    if over.any():
        factor = np.where(d[over] < 0, _RND_AWAY, _RND_TOWARDS)
        f[over] = (d[over] * factor).astype(np.float32)
    return f


def _float32_up(d: np.ndarray) -> np.ndarray:
    """rtreeValueUp() of sqlite's rtree.c: the smallest float32 not below d (nearly)."""
    f = d.astype(np.float32)
    under = f.astype(np.float64) < d
    if under.any():
        factor = np.where(d[under] < 0, _RND_TOWARDS, _RND_AWAY)
        f[under] = (d[under] * factor).astype(np.float32)
    return f


def _hilbert_order(boxes: np.ndarray) -> np.ndarray:
    """Order boxes (minx, maxx, miny, maxy) along a Hilbert curve through their centres."""
    x = (boxes[:, 0] + boxes[:, 1]) / 2
    y = (boxes[:, 2] + boxes[:, 3]) / 2
    side = 1 << 16

    def grid(v: np.ndarray) -> np.ndarray:
        lo, hi = v.min(), v.max()
        scale = (side - 1) / (hi - lo) if hi > lo else 0.0
        return ((v - lo) * scale).astype(np.int64)

    gx, gy = grid(x), grid(y)
    d = np.zeros(len(boxes), dtype=np.int64)
    s = side >> 1
    while s > 0:
        rx = (gx & s) > 0
        ry = (gy & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        gx = np.where(flip, side - 1 - gx, gx)
        gy = np.where(flip, side - 1 - gy, gy)
        swap = ~ry
        gx, gy = np.where(swap, gy, gx), np.where(swap, gx, gy)
        s >>= 1
    return np.argsort(d, kind="stable")


def rtree_add(conn: sqlite3.Connection, rtree: str, ids: np.ndarray,
               envelopes: np.ndarray) -> None:
    """Add entries (id, minx, maxx, miny, maxy) to an RTree in one go.

    When the entries are many compared with what the index already holds, the whole
    index is rebuilt as a packed tree (:func:`_rtree_rebuild`, far faster than a
    million single inserts); otherwise the entries are inserted in Hilbert order.
    """
    if len(ids) == 0:
        return
    held = conn.execute(f'SELECT count(*) FROM "{rtree}_rowid"').fetchone()[0]
    if rebuild_pays(len(ids), held):
        conn.execute("SAVEPOINT rtree_rebuild")
        try:
            _rtree_rebuild(conn, rtree, ids, envelopes)
        except sqlite3.Error as exc:  # e.g. shadow tables read-only (defensive mode)
            conn.execute("ROLLBACK TO rtree_rebuild")
            conn.execute("RELEASE rtree_rebuild")
            LOGGER.info("packed RTree build of %s not possible (%s): inserting", rtree, exc)
        else:
            conn.execute("RELEASE rtree_rebuild")
            return
    order = _hilbert_order(envelopes)
    rows = zip(ids[order].tolist(), *envelopes[order].T.tolist(), strict=True)
    conn.executemany(f'INSERT INTO "{rtree}" VALUES (?, ?, ?, ?, ?)', rows)


#: Rebuild an index (packed RTree, secondary indexes) only for this many new rows ...
_REBUILD_MIN = 10_000
#: ... and when the table holds at most this many times as many rows already.
_REBUILD_RATIO = 2


def rebuild_pays(new: int, held: int) -> bool:
    """Is building an index anew faster than inserting ``new`` entries into it?"""
    return new >= _REBUILD_MIN and held <= _REBUILD_RATIO * new


def _rtree_rebuild(conn: sqlite3.Connection, rtree: str, ids: np.ndarray,
                   envelopes: np.ndarray) -> None:
    """Rebuild an RTree with its current entries and new ones as a packed tree.

    Writes the rtree module's shadow tables (``_node``, ``_parent``, ``_rowid``) in
    their documented format (sqlite's ``ext/rtree/rtree.c``; GDAL's bulk loader does
    the same): nodes of 4 bytes header (tree depth in the root, cell count) and cells
    of an 8-byte id and four 32-bit floats, all big endian, rounded outwards as the
    module rounds. Leaves hold the entries in Hilbert order, filled evenly, and each
    level above the boxes of the one below, up to the root (node 1). The result is a
    valid RTree that later inserts, updates and deletes (the triggers) maintain as
    usual.
    """
    old = conn.execute(f'SELECT id, minx, maxx, miny, maxy FROM "{rtree}"').fetchall()
    if old:
        held = np.array(old, dtype=np.float64)
        ids = np.concatenate([held[:, 0].astype(np.int64), ids])
        envelopes = np.concatenate([held[:, 1:], envelopes])
    node_size = conn.execute(f'SELECT length(data) FROM "{rtree}_node" WHERE nodeno = 1')\
        .fetchone()[0]
    capacity = (node_size - 4) // _RTREE_CELL.itemsize
    node_type = np.dtype({"names": ["depth", "count", "cells"],
                          "formats": [">u2", ">u2", (_RTREE_CELL, capacity)],
                          "offsets": [0, 2, 4], "itemsize": node_size})
    order = _hilbert_order(envelopes)
    cells = np.empty(len(ids), dtype=_RTREE_CELL)
    cells["id"] = ids[order]
    cells["minx"] = _float32_down(envelopes[order, 0])
    cells["maxx"] = _float32_up(envelopes[order, 1])
    cells["miny"] = _float32_down(envelopes[order, 2])
    cells["maxy"] = _float32_up(envelopes[order, 3])

    node_rows: list[tuple[int, bytes]] = []
    parent_rows: list[tuple[int, int]] = []
    rowid_nodes: np.ndarray | None = None
    next_node = 2
    depth = 0
    while True:
        count = len(cells)
        k = 1 if count <= capacity else -(-count // capacity)
        starts = np.arange(k + 1, dtype=np.int64) * count // k  # evenly filled nodes
        sizes = np.diff(starts)
        numbers = np.array([1]) if k == 1 else np.arange(next_node, next_node + k)
        next_node += 0 if k == 1 else k
        node_of = np.repeat(np.arange(k), sizes)
        nodes = np.zeros(k, dtype=node_type)
        nodes["count"] = sizes
        if k == 1:
            nodes["depth"] = depth
        nodes["cells"][node_of, np.arange(count) - starts[node_of]] = cells
        node_rows += zip(numbers.tolist(), as_bytes(nodes), strict=True)
        if depth == 0:
            rowid_nodes = numbers[node_of]
        else:
            parent_rows += zip(cells["id"].tolist(), numbers[node_of].tolist(), strict=True)
        if k == 1:
            break
        up = np.empty(k, dtype=_RTREE_CELL)
        up["id"] = numbers
        for name, reduce in (("minx", np.minimum), ("maxx", np.maximum),
                             ("miny", np.minimum), ("maxy", np.maximum)):
            up[name] = reduce.reduceat(cells[name].astype(np.float32), starts[:-1])
        cells = up
        depth += 1

    for shadow in ("node", "parent", "rowid"):
        conn.execute(f'DELETE FROM "{rtree}_{shadow}"')
    conn.executemany(f'INSERT INTO "{rtree}_node" (nodeno, data) VALUES (?, ?)', node_rows)
    conn.executemany(f'INSERT INTO "{rtree}_parent" (nodeno, parentnode) VALUES (?, ?)',
                     parent_rows)
    by_id = np.argsort(ids[order], kind="stable")  # appending to the b-tree is fastest
    conn.executemany(f'INSERT INTO "{rtree}_rowid" (rowid, nodeno) VALUES (?, ?)',
                     zip(ids[order][by_id].tolist(), rowid_nodes[by_id].tolist(), strict=True))
