"""Backtest: does a ranking made on one period predict where incidents happen next?

Any dated point file will do (a CSV with ``lon``/``lat`` or ``x``/``y``, or a
GeoPackage/GeoJSON/Shapefile), from any city. The points are cut into cells of
:class:`layers.analysis.grid.Grid` in metres (SWEREF 99 18 00 around Stockholm, SWEREF 99 TM
elsewhere in Sweden, the local UTM zone anywhere else, or the file's own projected
CRS). Each method ranks the cells on the **training** period; the top 1 %, 2.5 %,
5 % and 10 % of the study area are flagged, and on the **test** period we measure

* the **hit rate**: the share of the test period's incidents inside the flagged cells;
* the **PAI** (Predictive Accuracy Index, Chainey, Tompson & Uhlig 2008): hit rate /
  share of the area flagged. Random flagging gives about 1.

Methods:

``priority``
    the score of :mod:`layers.analysis.priority` on the training period (weighted counts ×
    small bonuses; a file has no findings or sites, and the trend only counts when
    the file covers the year before the training period);
``prior_counts``
    the number of training incidents per cell;
``kde``
    a Gaussian kernel density of the training points at each cell centre, with a
    fixed bandwidth of :data:`KDE_BANDWIDTH_CELLS` cell widths (points are binned to
    a quarter of a cell first);
``random``
    cells in random order, averaged over :data:`RANDOM_DRAWS` draws with a fixed seed.

The **study area** (the denominator of the PAI) is the set of cells with at least
one incident in the training or the test period. A convex hull would count empty
water, parks and, in files with a few stray points far away (the London file has
some 380 km off), whole counties; the occupied cells are the area where incidents
can happen at all. It makes every PAI lower than a hull would, for every method
alike. The priority score's Gi* is computed on the training cells and their
neighbours only, so nothing of the test period leaks into the ranking.

Cells tied at the cut-off share the remaining flagged places in proportion (the
expected result of a random tie-break), so no method gains from an arbitrary order
of equal scores.

Times: a time without a zone is local time; a time with a UTC offset is taken at
the wall-clock time it states. Periods are written as in the rest of the product
(``2024``, ``2024-T2``, ``2024-05``, ``2024-01-01..2024-04-30``), and a range of
periods is allowed: ``2024-01..2024-12``.

The package, by concern: :mod:`~layers.analysis.backtest.points` reads the file,
:mod:`~layers.analysis.backtest.methods` ranks and measures, and
:mod:`~layers.analysis.backtest.from_store` runs it on the store's own data for
``/priority``.
"""

from __future__ import annotations

from layers.analysis.backtest.from_store import (
    HEADLINE_SHARE,
    STORE_SPLITS,
    StoreBacktest,
    clear_store_cache,
    store_backtest,
    store_points,
    store_test_periods,
    training_before,
)
from layers.analysis.backtest.methods import (
    AREA_SHARES,
    KDE_BANDWIDTH_CELLS,
    METHODS,
    RANDOM_DRAWS,
    BacktestResult,
    hit_rate,
    kde_scores,
    run_backtest,
)
from layers.analysis.backtest.points import (
    BacktestError,
    PointData,
    metric_crs,
    parse_span,
    read_points,
    wall_times,
)

__all__ = [
    "AREA_SHARES",
    "HEADLINE_SHARE",
    "KDE_BANDWIDTH_CELLS",
    "METHODS",
    "RANDOM_DRAWS",
    "STORE_SPLITS",
    "BacktestError",
    "BacktestResult",
    "PointData",
    "StoreBacktest",
    "clear_store_cache",
    "hit_rate",
    "kde_scores",
    "metric_crs",
    "parse_span",
    "read_points",
    "run_backtest",
    "store_backtest",
    "store_points",
    "store_test_periods",
    "training_before",
    "wall_times",
]
