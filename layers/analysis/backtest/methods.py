"""The backtest proper: each method ranks cells on the training period, and the test
period measures them (hit rate and PAI at each share of the area flagged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from layers.analysis.backtest.points import BacktestError, PointData
from layers.analysis.grid import Grid, auto_cell_size
from layers.analysis.priority.score import analyse_cells, relative_rise
from layers.analysis.priority_config import PriorityConfig, load_config
from layers.core.periods import Period
from layers.indicators import format_decimal

METHODS = ("priority", "prior_counts", "kde", "random")
AREA_SHARES = (0.01, 0.025, 0.05, 0.1)
#: Bandwidth (standard deviation) of the Gaussian KDE baseline, in cell widths.
KDE_BANDWIDTH_CELLS = 2.0
#: The kernel is cut off this many bandwidths from a point.
KDE_CUTOFF = 4.0
RANDOM_DRAWS = 100
RANDOM_SEED = 0


@dataclass
class BacktestResult:
    """What one backtest measured; :meth:`to_dict` is the JSON contract."""

    cell_size_m: float
    n_cells: int
    n_train: int
    n_test: int
    results: list[dict]
    train: Period
    test: Period
    crs: str
    shape: str = "square"
    bandwidth_m: float = 0.0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """``{"cell_size_m", "n_cells", "n_train", "n_test", "results": [...]}``."""
        return {"cell_size_m": self.cell_size_m, "n_cells": self.n_cells,
                "n_train": self.n_train, "n_test": self.n_test,
                "results": [dict(r) for r in self.results]}

    def value(self, method: str, share: float, what: str = "pai") -> float:
        """One measured value (``hit_rate`` or ``pai``)."""
        for r in self.results:
            if r["method"] == method and math.isclose(r["area_share"], share):
                return float(r[what])
        raise KeyError((method, share))

    def to_table(self, title: str = "") -> str:
        """The result as a Swedish text table: one row per method."""
        shares = sorted({r["area_share"] for r in self.results})
        head = ["metod"] + [f"{share_text(s)}: träff / PAI" for s in shares]
        rows = []
        for method in METHODS:
            cells = [method]
            for s in shares:
                try:
                    hit_rate = self.value(method, s, "hit_rate") * 100
                    cells.append(f"{format_decimal(hit_rate, 1)} % / "
                                 f"{format_decimal(self.value(method, s), 2)}")
                except KeyError:
                    cells.append("–")
            rows.append(cells)
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = []
        if title:
            lines.append(title)
        lines += [
            f"Träning {self.train.code} ({self.n_train} händelser), "
            f"test {self.test.code} ({self.n_test} händelser).",
            f"Rutor om {format_decimal(self.cell_size_m, 0)} m ({'sexhörningar' if self.shape == 'hex' else 'kvadrater'}), "  # noqa: E501
            f"{self.n_cells} rutor i studieområdet (rutor med minst en händelse under "
            f"träning eller test), koordinatsystem {self.crs}.",
            f"KDE: gaussisk kärna, bandbredd {format_decimal(self.bandwidth_m, 0)} m "
            f"({format_decimal(self.bandwidth_m / self.cell_size_m, 1)} rutbredder). "
            f"Slump: medel av {RANDOM_DRAWS} "
            "dragningar.",
        ]
        if self.skipped:
            lines.append(f"{self.skipped} rader utan tid eller exakt plats räknades inte.")
        lines += self.notes
        lines.append("")
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines)


def share_text(share: float) -> str:
    """A share of the area in per cent, the Swedish way: "5 %", "2,5 %"."""
    return f"{format_decimal(share * 100, 1 if share * 100 % 1 else 0)} %"


# --- the backtest --------------------------------------------------------------------------


def _in(t: np.ndarray, period: Period) -> np.ndarray:
    start = np.datetime64(period.start, "ns")
    end = np.datetime64(period.end, "ns") + np.timedelta64(1, "D")
    return (t >= start) & (t < end)


def hit_rate(score: np.ndarray, test: np.ndarray, k: int) -> float:
    """Share of ``test`` in the ``k`` top-scoring cells; ties at the cut-off share alike."""
    total = float(test.sum())
    if total <= 0 or k <= 0:
        return 0.0
    threshold = np.partition(score, len(score) - k)[len(score) - k]
    above = score > threshold
    tied = score == threshold
    room = k - int(above.sum())
    hits = float(test[above].sum()) + room / int(tied.sum()) * float(test[tied].sum())
    return hits / total


def kde_scores(grid: Grid, cells: np.ndarray, x: np.ndarray, y: np.ndarray,
               bandwidth: float) -> np.ndarray:
    """Gaussian kernel density of the points at each cell centre (unnormalised).

    Points are binned to squares of a quarter cell first; a bin centre never falls
    exactly on a cell centre (it is offset by an eighth of a cell), so no distance
    is zero (a sparse distance matrix would drop it).
    """
    out = np.zeros(len(cells))
    if len(x) == 0:
        return out
    step = grid.size / 4.0
    bx, by = np.floor(x / step), np.floor(y / step)
    bins, counts = np.unique(np.stack([bx, by], axis=1), axis=0, return_counts=True)
    centres = (bins + 0.5) * step
    tree = cKDTree(centres)
    cx, cy = grid.centres(cells)
    reach = KDE_CUTOFF * bandwidth
    for start in range(0, len(cells), 2000):
        part = cKDTree(np.stack([cx[start:start + 2000], cy[start:start + 2000]], axis=1))
        pairs = part.sparse_distance_matrix(tree, reach, output_type="coo_matrix")
        weight = counts[pairs.col] * np.exp(-0.5 * (pairs.data / bandwidth) ** 2)
        out[start:start + 2000] = np.bincount(pairs.row, weights=weight,
                                              minlength=min(2000, len(cells) - start))
    return out


def run_backtest(points: PointData, train: Period, test: Period, *,
                 cell_size: float | None = None, config: PriorityConfig | None = None,
                 shares: tuple[float, ...] = AREA_SHARES,
                 kde_bandwidth_cells: float = KDE_BANDWIDTH_CELLS) -> BacktestResult:
    """Rank cells on ``train`` with every method and measure them on ``test``.

    ``kde_bandwidth_cells`` changes the KDE baseline's bandwidth (for the
    sensitivity table in ``docs/method.md``; the CLI always uses the default).
    """
    config = config or load_config()
    tr = _in(points.t, train)
    te = _in(points.t, test)
    n_train, n_test = int(tr.sum()), int(te.sum())
    if n_train == 0 or n_test == 0:
        which, period = ("träningsperioden", train) if n_train == 0 else ("testperioden", test)
        raise BacktestError(f"Inga händelser under {which} ({period.code}): filen har "
                            f"händelser {_span(points.t)}.")
    size = float(cell_size or config.cell_size or _auto_size(points, tr, train))
    grid = Grid(size, config.shape)
    k_train = grid.keys_of(points.x[tr], points.y[tr])
    k_test = grid.keys_of(points.x[te], points.y[te])
    area = np.unique(np.concatenate([k_train, k_test]))
    n = len(area)
    counts = np.bincount(np.searchsorted(area, k_train), minlength=n).astype(float)
    test_counts = np.bincount(np.searchsorted(area, k_test), minlength=n).astype(float)

    notes = []
    priority = _priority_scores(grid, area, points, tr, train, config, notes)
    bandwidth = kde_bandwidth_cells * size
    scores = {
        "priority": priority,
        "prior_counts": counts,
        "kde": kde_scores(grid, area, points.x[tr], points.y[tr], bandwidth),
    }
    rng = np.random.default_rng(RANDOM_SEED)
    draws = [rng.permutation(n) for _ in range(RANDOM_DRAWS)]
    results = []
    for method in METHODS:
        for share in shares:
            k = max(1, int(round(share * n)))
            if method == "random":
                rate = float(np.mean([test_counts[d[:k]].sum() for d in draws]) /
                             test_counts.sum())
            else:
                rate = hit_rate(scores[method], test_counts, k)
            results.append({"method": method, "area_share": share,
                            "hit_rate": round(rate, 6), "pai": round(rate / (k / n), 6)})
    return BacktestResult(size, n, n_train, n_test, results, train, test, points.crs,
                          config.shape, bandwidth, points.skipped, notes)


def _priority_scores(grid: Grid, area: np.ndarray, points: PointData, tr: np.ndarray,
                     train: Period, config: PriorityConfig, notes: list[str]) -> np.ndarray:
    """The priority score of each study-area cell, from the training period only."""
    k_train = grid.keys_of(points.x[tr], points.y[tr])
    occupied = np.unique(k_train)
    domain = np.union1d(occupied, grid.ring(occupied))
    at = np.searchsorted(domain, k_train)
    weighted = np.bincount(at, weights=config.weights_of(points.category[tr]),
                           minlength=len(domain))
    counts = np.bincount(at, minlength=len(domain)).astype(float)
    before = train.year_before()
    rise = None
    if points.t.min() <= np.datetime64(before.start, "ns"):
        pb = _in(points.t, before)
        kb = grid.keys_of(points.x[pb], points.y[pb])
        pos = np.minimum(np.searchsorted(domain, kb), len(domain) - 1)
        ok = domain[pos] == kb
        previous = np.bincount(pos[ok], minlength=len(domain))
        rise = relative_rise(counts, previous, config.trend_min_previous)
        notes.append(f"Trenden jämför med {before.code}.")
    cells = analyse_cells(grid, domain, weighted, config, rise=rise)
    pos = np.minimum(np.searchsorted(domain, area), len(domain) - 1)
    found = domain[pos] == area
    out = np.zeros(len(area))
    out[found] = cells.score[pos[found]]
    return out


def _auto_size(points: PointData, tr: np.ndarray, train: Period) -> int:
    """Cell size from the density of the training points (see :func:`auto_cell_size`)."""
    x, y = points.x[tr], points.y[tr]
    qx, qy = np.quantile(x, [0.01, 0.99]), np.quantile(y, [0.01, 0.99])
    core = (x >= qx[0]) & (x <= qx[1]) & (y >= qy[0]) & (y <= qy[1])
    hull = shapely.convex_hull(shapely.multipoints(np.stack([x[core], y[core]], axis=1)))
    per_year = len(x) / (train.days / 365.25)
    return auto_cell_size(per_year, float(hull.area))


def _span(t: np.ndarray) -> str:
    if len(t) == 0:
        return "inga"
    first = pd.Timestamp(t.min()).date().isoformat()
    last = pd.Timestamp(t.max()).date().isoformat()
    return f"från {first} till {last}"


__all__ = ["AREA_SHARES", "KDE_BANDWIDTH_CELLS", "KDE_CUTOFF", "METHODS", "RANDOM_DRAWS",
           "RANDOM_SEED", "BacktestResult", "hit_rate", "kde_scores", "run_backtest",
           "share_text"]
