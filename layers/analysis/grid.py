"""Cells in metres: a fixed square or hexagonal lattice over a projected CRS.

The lattice is anchored at the CRS origin, so a cell has the same key in every
analysis (a district, the whole city, any period) as long as the cell size and
shape are the same. A cell is addressed by an ``int64`` key that packs its two
lattice indices; keys sort in a stable order, which the analysis uses to break
ties the same way on every run.

Square cells have side ``size``. Hexagons (pointy-top) have the same *area* as a
square of side ``size`` (circumradius ``size * sqrt(2 / (3 * sqrt(3)))``), so a
100 m hexagon and a 100 m square cover the same ground. Neighbours: the 8 cells
around a square (queen contiguity), the 6 around a hexagon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from shapely.geometry.base import BaseGeometry

#: Offset that makes lattice indices non-negative before they are packed in a key.
_OFFSET = 1 << 24
_SHIFT = 26
_MASK = (1 << _SHIFT) - 1

SHAPES = ("square", "hex")

#: Cell sizes the automatic choice rounds to (metres).
NICE_SIZES = (50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 750, 1000)
#: Incidents per cell and year, if they were spread evenly, that the automatic size aims at.
TARGET_PER_CELL_YEAR = 4.0

_SQUARE_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
# axial (q, r) offsets of the six hexagon neighbours
_HEX_NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1))


def pack(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Pack two lattice indices into one int64 key."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    return ((i + _OFFSET) << _SHIFT) | (j + _OFFSET)


def unpack(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split keys into their two lattice indices."""
    keys = np.asarray(keys, dtype=np.int64)
    return (keys >> _SHIFT) - _OFFSET, (keys & _MASK) - _OFFSET


def auto_cell_size(n_per_year: float, area_m2: float) -> int:
    """Choose a cell size from data density.

    The size at which the study area would hold :data:`TARGET_PER_CELL_YEAR`
    incidents per cell and year if they were spread evenly, rounded to the nearest
    of :data:`NICE_SIZES` (on a log scale). Sparse data get larger cells, dense data
    smaller ones, never below 50 m (finer than most police geocoding) or above 1 km.
    """
    if n_per_year <= 0 or area_m2 <= 0:
        return 200
    raw = math.sqrt(area_m2 * TARGET_PER_CELL_YEAR / n_per_year)
    return min(NICE_SIZES, key=lambda s: abs(math.log(s / raw)))


@dataclass(frozen=True)
class Grid:
    """A lattice of square or hexagonal cells of ``size`` metres."""

    size: float
    shape: str = "square"

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown cell shape {self.shape!r}; use one of {SHAPES}")
        if not self.size > 0:
            raise ValueError("cell size must be positive")

    # --- geometry of the lattice ------------------------------------------------------

    @property
    def _radius(self) -> float:
        """Circumradius of the hexagon with the area of a square of side ``size``."""
        return self.size * math.sqrt(2.0 / (3.0 * math.sqrt(3.0)))

    @property
    def cell_area(self) -> float:
        """Area of one cell in m² (the same for both shapes)."""
        return float(self.size) ** 2

    def keys_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Key of the cell holding each point."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if self.shape == "square":
            return pack(np.floor(x / self.size), np.floor(y / self.size))
        radius = self._radius
        q = (math.sqrt(3.0) / 3.0 * x - y / 3.0) / radius
        r = (2.0 / 3.0 * y) / radius
        return pack(*_cube_round(q, r))

    def centres(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre (x, y) of each cell."""
        i, j = unpack(keys)
        if self.shape == "square":
            return (i + 0.5) * self.size, (j + 0.5) * self.size
        radius = self._radius
        return radius * math.sqrt(3.0) * (i + j / 2.0), radius * 1.5 * j

    def polygons(self, keys: np.ndarray) -> np.ndarray:
        """The cells as shapely polygons (an object array)."""
        cx, cy = self.centres(keys)
        if self.shape == "square":
            h = self.size / 2.0
            return shapely.box(cx - h, cy - h, cx + h, cy + h)
        radius = self._radius
        angles = np.deg2rad(np.arange(6) * 60.0 + 30.0)
        xs = cx[:, None] + radius * np.cos(angles)[None, :]
        ys = cy[:, None] + radius * np.sin(angles)[None, :]
        # rounded so that neighbours share their vertices exactly
        rings = np.round(np.stack([xs, ys], axis=-1), 6)
        return shapely.polygons(rings)

    # --- cells of an area and their neighbours ---------------------------------------

    def covering(self, area: BaseGeometry) -> np.ndarray:
        """Sorted keys of every cell that intersects ``area``."""
        if area is None or area.is_empty:
            return np.array([], dtype=np.int64)
        minx, miny, maxx, maxy = area.bounds
        pad = self.size * 1.5
        if self.shape == "square":
            ii = np.arange(math.floor((minx - pad) / self.size),
                           math.floor((maxx + pad) / self.size) + 1)
            jj = np.arange(math.floor((miny - pad) / self.size),
                           math.floor((maxy + pad) / self.size) + 1)
            gi, gj = np.meshgrid(ii, jj, indexing="ij")
            keys = pack(gi.ravel(), gj.ravel())
        else:
            step = self.size / 2.0
            xs = np.arange(minx - pad, maxx + pad + step, step)
            ys = np.arange(miny - pad, maxy + pad + step, step)
            gx, gy = np.meshgrid(xs, ys, indexing="ij")
            keys = np.unique(self.keys_of(gx.ravel(), gy.ravel()))
        polys = self.polygons(keys)
        shapely.prepare(area)
        return np.sort(keys[shapely.intersects(area, polys)])

    def neighbour_keys(self, keys: np.ndarray) -> np.ndarray:
        """Every neighbour of the given cells (a (n, k) array of keys)."""
        i, j = unpack(keys)
        offsets = _SQUARE_NEIGHBOURS if self.shape == "square" else _HEX_NEIGHBOURS
        return np.stack([pack(i + di, j + dj) for di, dj in offsets], axis=1)

    def adjacency(self, keys: np.ndarray, *, self_weight: bool = False) -> sp.csr_matrix:
        """Binary contiguity among ``keys`` (sorted, unique) as a sparse matrix.

        Row and column ``k`` is ``keys[k]``; neighbours outside ``keys`` are left out.
        With ``self_weight`` the diagonal is 1 (the weights of Getis-Ord Gi*).
        """
        keys = np.asarray(keys, dtype=np.int64)
        n = len(keys)
        nb = self.neighbour_keys(keys)
        pos = np.searchsorted(keys, nb)
        pos_clipped = np.minimum(pos, max(n - 1, 0))
        found = (pos < n) & (keys[pos_clipped] == nb) if n else np.zeros(nb.shape, bool)
        rows = np.repeat(np.arange(n), nb.shape[1]).reshape(nb.shape)[found]
        cols = pos_clipped[found]
        if self_weight:
            rows = np.concatenate([rows, np.arange(n)])
            cols = np.concatenate([cols, np.arange(n)])
        data = np.ones(len(rows), dtype=float)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

    def ring(self, keys: np.ndarray) -> np.ndarray:
        """Sorted keys of the cells that touch ``keys`` but are not among them."""
        around = np.unique(self.neighbour_keys(keys).ravel())
        return np.setdiff1d(around, keys, assume_unique=True)


def _cube_round(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Round fractional axial hexagon coordinates to the hexagon that holds them."""
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)
