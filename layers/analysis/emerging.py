"""Emerging hot spots: how each cell's clustering develops over the last N months.

The method of ArcGIS Pro's *Emerging Hot Spot Analysis* (Esri, "How Emerging Hot
Spot Analysis works", see ``docs/method.md`` for the exact rules and the source),
on the cells of the priority analysis:

1. **The space-time cube.** Incidents of the counted categories
   (:func:`layers.core.privacy.counted_categories` for "all categories": the sensitive
   ones never) placed to the street or better are counted per cell and month, over
   the last ``periods`` months that end with the chosen period.
2. **Gi* per month.** Every month gets the local Getis-Ord Gi* of
   :mod:`layers.analysis.hotspots` over the same cells and neighbourhood as the priority
   places (the cell and its 8 or 6 neighbours), compared with that month's own mean
   (ArcGIS Pro's global window "individual time step"), and the Benjamini–Hochberg
   correction within the month. A bin is a significant hot (cold) spot when its
   q-value is at most ``alpha`` and its z is positive (negative).
3. **Mann-Kendall.** Each cell's series of Gi* z-scores is tested for a monotonic
   trend (:func:`mann_kendall`); so is each cell's series of counts and, for the cube
   as a whole, the total count per month (ArcGIS's "overall data trend").
4. **Patterns** (:func:`classify`): new, consecutive, intensifying, persistent,
   diminishing, sporadic, oscillating and historical hot spots, their cold-spot
   twins, and no pattern.

Everything here is pure (arrays in, arrays out) except :func:`emerging_for_store`,
which reads a store and keeps its answer per store data version.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from scipy import stats

from layers.analysis.aggregate import ComputedPerStore
from layers.analysis.default_period import default_tertial
from layers.analysis.grid import Grid
from layers.analysis.hotspots import fdr_bh, gi_star
from layers.analysis.priority_config import load_config
from layers.analysis.study_area import covering, resolve_sdn, store_cell_size, study_area
from layers.core.periods import Period

LOGGER = logging.getLogger(__name__)


# --- the patterns ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """One class of the analysis: code, Swedish label, plain phrase and map colour."""

    code: str
    label: str
    phrase: str
    colour: str


#: The eight rules of :func:`classify`, each once for both kinds: the code's first word,
#: the label and the phrase ("{spot}": hot or cold spot, "{Spot}" capitalised,
#: "{other}": the other kind), the map colour of the hot and of the cold pattern.
_RULES = (
    ("new", "Nytt {spot}", "nytt {spot}", "#67001f", "#053061"),
    ("intensifying", "Tilltagande {spot}", "tilltagande {spot}", "#b2182b", "#2166ac"),
    ("consecutive", "{Spot} i följd", "{spot} flera månader i rad", "#d6604d", "#4393c3"),
    ("persistent", "Ihållande {spot}", "ihållande {spot}", "#e7298a", "#5e3c99"),
    ("sporadic", "Sporadiskt {spot}", "sporadiskt {spot}, av och på", "#f4a582", "#92c5de"),
    ("oscillating", "Pendlande {spot}", "pendlande: {spot} nu, tidigare {other}", "#fdb863",
     "#b2abd2"),
    ("diminishing", "Avtagande {spot}", "avtagande {spot}", "#fddbc7", "#d1e5f0"),
    ("historical", "Tidigare {spot}", "tidigare {spot}, inte längre", "#bababa", "#e0e0e0"),
)
_KINDS = (("hot", "hot spot", "cold spot"), ("cold", "cold spot", "hot spot"))

#: Every pattern ("new_hot" … "historical_hot", then the same for cold spots); the
#: order breaks ties when a place's cells differ.
PATTERNS: tuple[Pattern, ...] = tuple(
    Pattern(f"{rule}_{kind}", label.format(spot=spot, Spot=spot.capitalize()),
            phrase.format(spot=spot, other=other), colours[i])
    for i, (kind, spot, other) in enumerate(_KINDS)
    for rule, label, phrase, *colours in _RULES
)
NO_PATTERN = Pattern("none", "Inget mönster", "inget tydligt mönster över tid", "#ffffff")
BY_CODE = {p.code: p for p in (*PATTERNS, NO_PATTERN)}
_ORDER = {p.code: i for i, p in enumerate(PATTERNS)}


@dataclass(frozen=True)
class EmergingConfig:
    """The settings of the analysis (documented in ``docs/method.md``)."""

    #: Months in the cube (the last ones up to the chosen period's end).
    periods: int = 24
    #: Fewer months with data than this: no pattern is given (the rules need a history).
    min_periods: int = 10
    #: Significance of a Gi* bin (FDR q-value) and of a Mann-Kendall trend (p-value).
    alpha: float = 0.05
    #: "Ninety percent of the time-step intervals".
    share: float = 0.9


# --- Mann-Kendall -------------------------------------------------------------------------


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall trend test per row: S, its variance (ties corrected), z, two-sided p
    and Kendall's tau-a (S over the number of pairs)."""

    s: np.ndarray
    variance: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def mann_kendall(series: np.ndarray) -> MannKendall:
    """The Mann-Kendall test of every row of ``series`` (rows: cells, columns: time).

    S = Σ_{i<j} sign(x_j − x_i); Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 over
    the groups of t tied values; z = (S − sign(S)) / √Var(S) (continuity correction);
    p two-sided from the normal distribution (Mann 1945, Kendall 1975). A row without
    variation gives S = 0, z = 0 and p = 1. Values are rounded to 1e-9 first, so
    z-scores equal up to floating-point noise count as ties.
    """
    x = np.round(np.atleast_2d(np.asarray(series, dtype=float)), 9)
    rows, n = x.shape
    s = np.zeros(rows)
    for i in range(n - 1):
        s += np.sign(x[:, i + 1:] - x[:, i:i + 1]).sum(axis=1)
    # ties: f(t) = t(t-1)(2t+5) summed over the runs of equal values of each sorted row,
    # grown one step at a time (f(r) - f(r-1) each time a run gets longer)
    ordered = np.sort(x, axis=1)
    run = np.ones(rows)
    ties = np.zeros(rows)
    for k in range(1, n):
        same = ordered[:, k] == ordered[:, k - 1]
        run = np.where(same, run + 1, 1)
        ties += np.where(same, _tie_term(run) - _tie_term(run - 1), 0.0)
    variance = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (s - np.sign(s)) / np.sqrt(variance), 0.0)
    p = np.where(variance > 0, 2.0 * stats.norm.sf(np.abs(z)), 1.0)
    pairs = n * (n - 1) / 2
    tau = s / pairs if pairs else np.zeros(rows)
    return MannKendall(s, variance, z, p, tau)


def _tie_term(t: np.ndarray) -> np.ndarray:
    return t * (t - 1) * (2 * t + 5)


# --- the cube and the classification ------------------------------------------------------


def gi_star_cube(counts: np.ndarray, weights: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores and BH q-values of each column (month) of ``counts`` (cells × months).

    Each month is compared with its own mean and variance over all cells (the
    global window "individual time step"); the FDR correction runs within the month.
    """
    counts = np.asarray(counts, dtype=float)
    z = np.zeros_like(counts)
    q = np.ones_like(counts)
    for t in range(counts.shape[1]):
        gi = gi_star(counts[:, t], weights)
        z[:, t] = gi.z
        q[:, t] = fdr_bh(gi.p)
    return z, q


def classify(z: np.ndarray, q: np.ndarray, trend: MannKendall, *, alpha: float = 0.05,
             share: float = 0.9) -> np.ndarray:
    """The pattern code of every cell (row) from its Gi* z and q per month (columns)
    and the Mann-Kendall test of its z-scores (``trend``).

    The rules of ArcGIS Pro's Emerging Hot Spot Analysis, made exact and exclusive
    (``docs/method.md`` quotes the source). With n months, H hot and C cold bins:

    * final bin hot and H ≥ share·n: *intensifying* when the z-scores rise
      significantly, *diminishing* when they fall significantly, else *persistent*;
    * final bin hot, H < share·n: *oscillating* when any earlier bin is a significant
      cold spot; else *new* when the final bin is the only hot one; else
      *consecutive* when every hot bin lies in the one uninterrupted run at the end;
      else *sporadic*;
    * final bin not hot and H ≥ share·n: *historical*;
    * the same for cold spots with hot and cold swapped (intensifying: z falls);
    * anything else: *none*.
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    q = np.atleast_2d(np.asarray(q, dtype=float))
    rows, n = z.shape
    out = np.full(rows, NO_PATTERN.code, dtype=object)
    if n == 0:
        return out
    significant = q <= alpha
    hot, cold = significant & (z > 0), significant & (z < 0)
    up = (trend.s > 0) & (trend.p <= alpha)
    down = (trend.s < 0) & (trend.p <= alpha)
    need = share * n - 1e-9
    hot_codes = _one_kind("hot", hot, cold, up, down, need)
    cold_codes = _one_kind("cold", cold, hot, down, up, need)
    # the final bin decides between hot and cold; with neither, a historical hot spot
    # before a historical cold one (both at once would need 180 % of the months)
    out[:] = np.where(hot[:, -1], hot_codes, np.where(
        cold[:, -1], cold_codes, np.where(hot_codes != NO_PATTERN.code, hot_codes,
                                          cold_codes)))
    return out


def _one_kind(kind: str, this: np.ndarray, other: np.ndarray, rising: np.ndarray,
              falling: np.ndarray, need: float) -> np.ndarray:
    """The hot (or cold) pattern of every row, first matching rule wins."""
    rows = this.shape[0]
    count = this.sum(axis=1)
    last = this[:, -1]
    most = count >= need
    run = _final_run(this)
    rules = (
        (last & most & rising, "intensifying"),
        (last & most & falling, "diminishing"),
        (last & most, "persistent"),
        (last & other[:, :-1].any(axis=1), "oscillating"),
        (last & (count == 1), "new"),
        (last & (run == count), "consecutive"),
        (last, "sporadic"),
        (~last & most, "historical"),
    )
    out = np.full(rows, NO_PATTERN.code, dtype=object)
    free = np.ones(rows, dtype=bool)
    for mask, name in rules:
        out[mask & free] = f"{name}_{kind}"
        free &= ~mask
    return out


def _final_run(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True values that ends in the last column, per row."""
    rows, n = flags.shape
    run = np.zeros(rows, dtype=int)
    alive = np.ones(rows, dtype=bool)
    for t in range(n - 1, -1, -1):
        alive &= flags[:, t]
        run += alive
    return run


# --- the result --------------------------------------------------------------------------


@dataclass
class EmergingResult:
    """Patterns of every cell of a study area over the months of the cube."""

    grid: Grid
    #: every cell of the analysis (sorted; the Gi* domain)
    keys: np.ndarray
    #: the cells shown (the study area without its context ring)
    shown: np.ndarray
    months: list[Period]
    codes: np.ndarray
    #: Mann-Kendall of each cell's Gi* z-scores and of its counts
    trend: MannKendall | None
    count_trend: MannKendall | None
    #: Mann-Kendall of the total count per month (ArcGIS's overall data trend)
    overall: MannKendall | None
    config: EmergingConfig
    area_code: str | None = None
    area_name: str = ""
    message: str = ""
    seconds: float = 0.0
    n_incidents: int = 0

    @property
    def complete(self) -> bool:
        """Whether the cube had enough months for patterns."""
        return len(self.months) >= self.config.min_periods

    def code_of(self, cells: np.ndarray) -> str | None:
        """The pattern of a group of cells (a place): the one most of its cells have,
        "none" cells aside (ties: the order of :data:`PATTERNS`); None without a cube."""
        if not self.complete:
            return None
        cells = np.asarray(cells, dtype=np.int64)
        pos = np.searchsorted(self.keys, cells)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        found = pos[self.keys[pos] == cells] if len(self.keys) else np.array([], int)
        counted = Counter(c for c in self.codes[found] if c != NO_PATTERN.code)
        if not counted:
            return NO_PATTERN.code
        return min(counted, key=lambda c: (-counted[c], _ORDER[c]))

    def counts_by_pattern(self) -> dict[str, int]:
        """Number of shown cells per pattern (no pattern left out)."""
        shown = np.isin(self.keys, self.shown, assume_unique=True)
        counted = Counter(self.codes[shown])
        return {p.code: int(counted[p.code]) for p in PATTERNS if counted[p.code]}

    def metadata(self) -> dict:
        """What the layer says about itself (no counts: see the privacy note in the docs)."""
        first = self.months[0] if self.months else None
        last = self.months[-1] if self.months else None
        overall = None
        if self.overall is not None:
            direction = "ökande" if self.overall.s[0] > 0 else "minskande" \
                if self.overall.s[0] < 0 else "ingen"
            overall = {"z": round(float(self.overall.z[0]), 3),
                       "p": round(float(self.overall.p[0]), 6),
                       "significant": bool(self.overall.p[0] <= self.config.alpha),
                       "direction": direction}
        return {
            "area": self.area_name, "sdn": self.area_code,
            "months": len(self.months),
            "from": first.code if first else None, "to": last.code if last else None,
            "period_label": f"{first.label} – {last.label}" if first and last else "",
            "min_months": self.config.min_periods, "alpha": self.config.alpha,
            "cell_size_m": self.grid.size, "cell_shape": self.grid.shape,
            "overall_trend": overall, "cells": self.counts_by_pattern(),
            "message": self.message,
            "patterns": [{"code": p.code, "label": p.label, "colour": p.colour}
                         for p in PATTERNS],
        }

    def to_geojson(self) -> dict:
        """The shown cells with a pattern, one (multi)polygon per pattern, in WGS 84."""
        from layers.io.filters import xy_to_lonlat

        features = []
        shown = np.isin(self.keys, self.shown, assume_unique=True)
        for pattern in PATTERNS:
            cells = self.keys[shown & (self.codes == pattern.code)]
            if not len(cells):
                continue
            geom = shapely.union_all(self.grid.polygons(cells))
            geom = shapely.transform(geom, lambda x, y: xy_to_lonlat(x, y),
                                     interleaved=False)
            geom = shapely.set_precision(geom, 1e-6)
            features.append({"type": "Feature", "id": pattern.code,
                             "geometry": shapely.geometry.mapping(geom),
                             "properties": {"pattern": pattern.code, "label": pattern.label,
                                            "phrase": pattern.phrase,
                                            "colour": pattern.colour,
                                            "cells": int(len(cells))}})
        return {"type": "FeatureCollection", "features": features,
                "metadata": self.metadata()}


def emerging_hot_spots(grid: Grid, keys: np.ndarray, counts: np.ndarray,
                       months: list[Period], *, shown: np.ndarray | None = None,
                       config: EmergingConfig | None = None) -> EmergingResult:
    """Classify every cell of ``keys`` (sorted; the whole Gi* domain) from its counts
    per month (``counts``: cells × months, oldest first). Pure: arrays in, result out.

    With fewer than ``config.min_periods`` months every cell has no pattern and the
    result says why (``message``, Swedish).
    """
    started = time.perf_counter()
    config = config or EmergingConfig()
    keys = np.asarray(keys, dtype=np.int64)
    counts = np.asarray(counts, dtype=float).reshape(len(keys), len(months))
    shown = keys if shown is None else np.asarray(shown, dtype=np.int64)
    result = EmergingResult(grid, keys, shown, list(months),
                            np.full(len(keys), NO_PATTERN.code, dtype=object),
                            None, None, None, config, n_incidents=int(counts.sum()))
    if len(months) < config.min_periods:
        result.message = (f"För kort tidsserie för trendklasser: {len(months)} månader med "
                          f"data, minst {config.min_periods} behövs.")
        result.seconds = time.perf_counter() - started
        return result
    weights = grid.adjacency(keys, self_weight=True)
    z, q = gi_star_cube(counts, weights)
    result.trend = mann_kendall(z)
    result.count_trend = mann_kendall(counts)
    result.overall = mann_kendall(counts.sum(axis=0)[None, :])
    result.codes = classify(z, q, result.trend, alpha=config.alpha, share=config.share)
    result.seconds = time.perf_counter() - started
    return result


# --- the store ---------------------------------------------------------------------------


def cube_months(last: Period, periods: int, first_day: object | None) -> list[Period]:
    """The months of the cube: up to ``periods`` months ending with the month of
    ``last.end``, none that starts before ``first_day`` (the first placed incident),
    so a month before the data began is never counted as empty."""
    end = last.end
    months = []
    year, month = end.year, end.month
    for _ in range(periods):
        candidate = Period.month(year, month)
        if first_day is not None and candidate.start < first_day:
            break
        months.append(candidate)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def emerging_for_store(store, *, sdn: str | None = None, period: Period | None = None,
                       cell_size: float | None = None, shape: str | None = None,
                       config: EmergingConfig | None = None) -> EmergingResult:
    """The patterns of one area for the months up to ``period`` (default: the
    default tertial), on the cells of the priority analysis (``cell_size`` and
    ``shape`` default to its configuration), read from a store.

    Kept per store and data version (:func:`layers.analysis.aggregate.cache_key`), so the
    map layer and the priority places' reasons share one computation.
    """
    from layers.analysis.aggregate import cache_key
    from layers.core.privacy import VISIBILITY_RAW, counted_categories
    from layers.io.filters import MapFilter

    config = config or EmergingConfig()
    code = resolve_sdn(sdn) if sdn else None
    if period is None:
        period = default_tertial(store) or Period.tertial(2000, 1)
    if cell_size is None or shape is None:
        priority_config = load_config()
        cell_size = cell_size or store_cell_size(store, priority_config)
        shape = shape or priority_config.shape
    size = float(cell_size)
    counted = counted_categories(None, None).codes
    key = cache_key(store, "emerging", MapFilter(period=period, sdn=code, categories=counted),
                    visibility=VISIBILITY_RAW, size=size, extra=(shape, repr(config)))

    def compute() -> EmergingResult:
        started = time.perf_counter()
        area = study_area(code)
        shown, keys = covering(size, shape, code)
        grid = Grid(size, shape)
        months = _months_of_store(store, period, config)
        counts = _read_cube(store, grid, keys, months, counted)
        result = emerging_hot_spots(grid, keys, counts, months, shown=shown, config=config)
        result.area_code, result.area_name = code, area.name
        result.seconds = time.perf_counter() - started
        LOGGER.info("emerging hot spots for %s, %d months, %d cells: %.2f s", area.name,
                    len(months), len(keys), result.seconds)
        return result

    return _RESULTS.get(store, key, compute)


def _months_of_store(store, period: Period, config: EmergingConfig) -> list[Period]:
    from layers.analysis.default_period import point_span

    span = point_span(store)
    first_day = span[0].date() if span is not None else None
    if span is None:
        return []
    return cube_months(period, config.periods, first_day)


def _read_cube(store, grid: Grid, keys: np.ndarray, months: list[Period],
               counted: tuple[str, ...]) -> np.ndarray:
    """Counts per cell (rows, ``keys``) and month (columns) of the counted categories."""
    from layers.analysis.aggregate import read_points
    from layers.core.privacy import POINT_PRECISIONS
    from layers.core.schema import INCIDENT_CATEGORIES, category_lookup
    from layers.store.base import Query

    lookup = category_lookup(INCIDENT_CATEGORIES)
    wanted = frozenset(counted)
    n = len(keys)
    counts = np.zeros((n, len(months)))
    if not n:
        return counts
    for column, month in enumerate(months):
        start, end = month.bounds()
        # no bbox: the spatial filter costs more than reading the month's points of
        # the whole city (points outside the cells are dropped below)
        x, y, cats = read_points(store, Query(start=start, end=end,
                                              where={"precision": POINT_PRECISIONS}))
        if not len(x):
            continue
        keep = np.fromiter((lookup.get(str(c).strip().lower()) in wanted for c in cats),
                           dtype=bool, count=len(cats))
        cell = grid.keys_of(np.asarray(x)[keep], np.asarray(y)[keep])
        pos = np.minimum(np.searchsorted(keys, cell), n - 1)
        inside = keys[pos] == cell
        counts[:, column] = np.bincount(pos[inside], minlength=n)
    return counts


#: Seconds a result is reused at most (the key holds the data version; this bounds memory).
CACHE_SECONDS = 3600.0
_RESULTS = ComputedPerStore(16, CACHE_SECONDS)


def clear_cache() -> None:
    """Forget every computed result (tests)."""
    _RESULTS.clear()


__all__ = [
    "BY_CODE",
    "NO_PATTERN",
    "PATTERNS",
    "EmergingConfig",
    "EmergingResult",
    "MannKendall",
    "Pattern",
    "classify",
    "clear_cache",
    "cube_months",
    "emerging_for_store",
    "emerging_hot_spots",
    "gi_star_cube",
    "mann_kendall",
]
