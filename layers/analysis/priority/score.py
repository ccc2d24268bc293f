"""The score of cells and places, and how significant hot cells merge into places.

``weighted incidents × (1 + bonuses)`` (:func:`combine`), kept as parts so that every
place can say why it ranks where it does; :func:`analyse_cells` adds the Gi* z-score and
the Benjamini–Hochberg q-value of each cell; :func:`merge_places` lets significant cells
climb to their highest neighbour and groups them by peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layers.analysis.grid import Grid
from layers.analysis.hotspots import GiStar, fdr_bh, gi_star
from layers.analysis.priority_config import PriorityConfig


@dataclass(frozen=True)
class ScoreParts:
    """The parts of a score; ``score`` is their sum (arrays or floats alike)."""

    base: np.ndarray
    significance: np.ndarray
    findings: np.ndarray
    trend: np.ndarray
    site: np.ndarray

    @property
    def score(self) -> np.ndarray:
        return self.base + self.significance + self.findings + self.trend + self.site


def combine(base: np.ndarray, significant_share: np.ndarray, findings_weight: np.ndarray,
            rise: np.ndarray, covered: np.ndarray, config: PriorityConfig) -> ScoreParts:
    """Score = weighted incidents × (1 + bonuses), kept as parts.

    ``significant_share`` is the share (0–1) of the weighted incidents that lie in
    significant hot cells; ``findings_weight`` the severity-weighted open findings
    (the bonus is full at ``findings_full``); ``rise`` the relative increase
    against the year before (only 0–1, i.e. up to +100 %, counts); ``covered`` 1
    where an active platssamverkan covers the place.
    """
    base = np.asarray(base, dtype=float)
    share = np.clip(np.asarray(significant_share, dtype=float), 0.0, 1.0)
    found = np.clip(np.asarray(findings_weight, dtype=float) / config.findings_full, 0.0, 1.0)
    up = np.clip(np.asarray(rise, dtype=float), 0.0, 1.0)
    site = np.asarray(covered, dtype=float)
    return ScoreParts(base, base * config.significance_bonus * share,
                      base * config.findings_bonus * found, base * config.trend_bonus * up,
                      base * config.site_bonus * site)


def relative_rise(count: np.ndarray, previous: np.ndarray | None, min_previous: int
                  ) -> np.ndarray:
    """(count − previous) / previous where previous ≥ ``min_previous``, else 0."""
    count = np.asarray(count, dtype=float)
    if previous is None:
        return np.zeros_like(count)
    previous = np.asarray(previous, dtype=float)
    ok = previous >= max(min_previous, 1)
    out = np.zeros_like(count)
    out[ok] = (count[ok] - previous[ok]) / previous[ok]
    return out


@dataclass(frozen=True)
class CellAnalysis:
    """Gi*, FDR and score parts of every cell of a study area (rows follow ``keys``)."""

    grid: Grid
    keys: np.ndarray
    weighted: np.ndarray
    gi: GiStar
    q: np.ndarray
    significant: np.ndarray
    parts: ScoreParts

    @property
    def score(self) -> np.ndarray:
        return self.parts.score


def analyse_cells(grid: Grid, keys: np.ndarray, weighted: np.ndarray, config: PriorityConfig,
                  *, rise: np.ndarray | None = None, findings_weight: np.ndarray | None = None,
                  covered: np.ndarray | None = None) -> CellAnalysis:
    """Gi* with FDR over the cells ``keys`` (sorted) and each cell's score parts.

    ``keys`` must be the whole study area, empty cells included: Gi* compares each
    neighbourhood with the mean and variance over all of them.
    """
    n = len(keys)
    weights = grid.adjacency(keys, self_weight=True)
    gi = gi_star(weighted, weights, permutations=config.permutations, seed=config.seed)
    q = fdr_bh(gi.p)
    significant = (q <= config.alpha) & (gi.z > 0)
    zeros = np.zeros(n)
    parts = combine(weighted, significant.astype(float),
                    zeros if findings_weight is None else findings_weight,
                    zeros if rise is None else rise,
                    zeros if covered is None else covered, config)
    return CellAnalysis(grid, keys, np.asarray(weighted, dtype=float), gi, q, significant, parts)


def merge_places(grid: Grid, keys: np.ndarray, z: np.ndarray, significant: np.ndarray,
                 listed: np.ndarray, max_radius: float | None = None) -> np.ndarray:
    """Label cells with their place: -1 for no place.

    Significant cells climb to their neighbouring significant cell with the highest
    z (ties: the lower key) until they reach a peak; a peak and the cells that climb
    to it are one place. With ``max_radius`` (metres) a place keeps only the cells
    whose centre lies that close to its peak's; the others climb again among
    themselves and form places of their own, so a long busy street becomes a row of
    places rather than one. Cells in ``listed`` that are not significant are places
    of their own. Labels are indexes of the peak cell.
    """
    n = len(keys)
    labels = np.full(n, -1, dtype=np.int64)
    remaining = significant.copy()
    if remaining.any():
        adjacency = grid.adjacency(keys).tocsr()
        cx, cy = grid.centres(keys)
        while remaining.any():
            peak = _climb(adjacency, z, remaining)
            todo = np.flatnonzero(remaining)
            top = peak[todo]
            keep = np.ones(len(todo), bool) if max_radius is None else \
                np.hypot(cx[todo] - cx[top], cy[todo] - cy[top]) <= max_radius + 1e-6
            labels[todo[keep]] = top[keep]
            remaining[todo[keep]] = False
    alone = np.flatnonzero(listed & ~significant)
    labels[alone] = alone
    return labels


def _climb(adjacency, z: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """For every allowed cell, the peak it reaches by steepest ascent of z."""
    n = len(z)
    up = np.arange(n)
    for i in np.flatnonzero(allowed):
        row = adjacency.indices[adjacency.indptr[i]:adjacency.indptr[i + 1]]
        row = row[allowed[row]]
        if len(row):
            best = row[np.lexsort((row, -z[row]))[0]]
            if z[best] > z[i] or (z[best] == z[i] and best < i):
                up[i] = best
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            return up
        up = nxt



__all__ = ["CellAnalysis", "ScoreParts", "analyse_cells", "combine", "merge_places",
           "relative_rise"]
