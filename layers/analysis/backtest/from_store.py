"""The backtest of the priority ranking on the store's own latest tertials (shown on
``/priority``), kept per store data version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from layers.analysis.aggregate import ComputedPerStore
from layers.analysis.backtest.methods import (
    METHODS,
    BacktestResult,
    run_backtest,
    share_text,
)
from layers.analysis.backtest.points import BacktestError, PointData
from layers.analysis.priority_config import PriorityConfig, load_config
from layers.analysis.study_area import resolve_sdn, store_cell_size, study_area
from layers.core.periods import Period, period_from_dates
from layers.core.privacy import POINT_PRECISIONS
from layers.core.schema import STORE_EPSG
from layers.indicators import format_decimal

LOGGER = logging.getLogger(__name__)

#: Completed tertials the store's own backtest is run on at most (the latest first).
STORE_SPLITS = 3
#: The share of the area the headline sentence speaks of.
HEADLINE_SHARE = 0.05
#: Seconds a store backtest is reused at most (the key holds the data version).
STORE_CACHE_SECONDS = 3600.0


def training_before(test: Period) -> Period:
    """The twelve whole months before ``test``: the training period the CLI and the
    store's backtest use by default."""
    import datetime as dt

    start = test.start
    first = dt.date(start.year - 1, start.month, 1)
    return period_from_dates(first, start - dt.timedelta(days=1))


@dataclass
class StoreBacktest:
    """The backtest of the priority ranking on the store's own latest tertials.

    ``results`` holds one :class:`BacktestResult` per tested tertial, the latest
    first; it is empty (and ``message`` says why) when the store has no completed
    tertial with a whole year of data before it.
    """

    area_code: str | None
    area_name: str
    results: list[BacktestResult]
    seconds: float
    message: str = ""

    @property
    def latest(self) -> BacktestResult | None:
        return self.results[0] if self.results else None

    def shares(self, result: BacktestResult | None = None, share: float = HEADLINE_SHARE
               ) -> dict[str, float]:
        """Hit rate in per cent (one decimal) of every method at ``share`` of the area."""
        result = result or self.latest
        if result is None:
            return {}
        return {m: round(result.value(m, share, "hit_rate") * 100, 1) for m in METHODS}

    def headline(self) -> dict[str, str]:
        """The latest tertial's hit rates at :data:`HEADLINE_SHARE` as whole per cent
        ("41 %"), one text per method, and the share itself as ``area``."""
        out = {m: f"{format_decimal(v, 0)}\u00a0%" for m, v in self.shares().items()}
        return {"area": share_text(HEADLINE_SHARE).replace(" ", "\u00a0"), **out} if out else {}

    def sentence(self) -> str:
        """"De 5 % av ytan som rankas högst hade 41 % av nästa tertials händelser; …"."""
        if self.latest is None:
            return self.message
        h = self.headline()
        return (f"De {h['area']} av ytan som rankas högst hade {h['priority']} av nästa "
                f"tertials händelser; förra årets antal ensamt: {h['prior_counts']}; "
                f"slumpvis utvalda rutor: {h['random']}.")

    def explanation(self) -> str:
        """How the figures were made (Swedish)."""
        latest = self.latest
        if latest is None:
            return ""
        return (f"Provet: rutorna rangordnades på samma sätt som listan, men bara med "
                f"händelserna under {latest.train.label}, och sedan räknades hur många av "
                f"händelserna under {latest.test.label} som hamnade i de högst rankade "
                f"rutorna. Rutor utan händelser räknas inte till ytan.")

    def trust(self) -> str:
        """How much to trust the ranking, from the figures (Swedish)."""
        if self.latest is None:
            return ""
        pct = self.shares()
        margins = [self.shares(r)["priority"] - self.shares(r)["prior_counts"]
                   for r in self.results]
        if all(m >= -1.0 for m in margins) and pct["priority"] >= 2 * pct["random"]:
            trust = ("Rangordningen pekar ut platser där händelserna fortsätter: den träffar "
                     "minst lika bra som att bara räkna förra årets händelser och långt bättre "
                     "än slumpen. Lita på den för att välja var man ska börja, men den "
                     "förutsäger inte enskilda händelser: "
                     f"{format_decimal(100 - pct['priority'], 0)}\u00a0% hände på andra ställen.")
        elif pct["priority"] >= 2 * pct["random"]:
            trust = ("Rangordningen träffar långt bättre än slumpen men inte alltid lika bra "
                     "som förra årets antal ensamt: se den som ett stöd, och väg in egen "
                     "kännedom om platserna.")
        else:
            trust = ("Rangordningen träffar inte mycket bättre än slumpen här: för få "
                     "händelser eller för spridda för att peka ut platser säkert. Använd den "
                     "med försiktighet.")
        return trust

    def to_dict(self) -> dict:
        """JSON-ready: the tested periods and the hit rates (per cent) at each share."""
        return {"area": self.area_name, "sdn": self.area_code,
                "sentence": self.sentence(), "trust": self.trust(),
                "explanation": self.explanation(),
                "seconds": round(self.seconds, 3),
                "splits": [{"train": r.train.code, "test": r.test.code,
                            "cell_size_m": r.cell_size_m, "n_cells": r.n_cells,
                            "hit_rate_pct": {f"{s:g}": self.shares(r, s)
                                             for s in sorted({x["area_share"]
                                                              for x in r.results})}}
                           for r in self.results]}


def store_points(store, sdn: str | None = None) -> PointData:
    """The store's incidents placed to the street or better as a :class:`PointData`
    (EPSG:3011, local wall-clock times): all of them (what ``trygghetskartan
    backtest`` reads from ``trygghetskartan export incidents``), or those on the land
    of one stadsdelsområde.

    Every category counts, as in the ranking itself; the backtest only ever shows
    shares of them."""
    from layers.core.schema import LOCAL_TZ
    from layers.store.base import Query

    land = study_area(sdn).land if sdn else None
    frame = store.read("incidents", Query(bbox=None if land is None else tuple(land.bounds),
                                          where={"precision": POINT_PRECISIONS}))
    if frame.empty:
        return PointData(np.array([]), np.array([]), np.array([], dtype="datetime64[ns]"),
                         np.array([], dtype=object), f"EPSG:{STORE_EPSG}")
    x, y = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    inside = np.ones(len(x), bool) if land is None else shapely.contains_xy(land, x, y)
    times = pd.to_datetime(frame["occurred_at"], utc=True).dt.tz_convert(LOCAL_TZ)
    t = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return PointData(x[inside], y[inside], t[inside],
                     frame["category"].to_numpy(dtype=object)[inside], f"EPSG:{STORE_EPSG}")


def store_test_periods(store, splits: int = STORE_SPLITS) -> list[Period]:
    """The latest completed tertials (the latest first) with placed incidents and a
    whole year of placed incidents before them, at most ``splits``."""
    from layers.analysis.default_period import default_period, point_span

    choice = default_period(store, "tertial")
    span = point_span(store)
    if not choice.complete or span is None:
        return []
    first = span[0].date()
    out, test = [], choice.period
    while len(out) < splits and training_before(test).start >= first:
        out.append(test)
        test = test.previous()
    return out


_STORE_RESULTS = ComputedPerStore(8, STORE_CACHE_SECONDS)


def store_backtest(store, *, sdn: str | None = None, config: PriorityConfig | None = None,
                   splits: int = STORE_SPLITS) -> StoreBacktest:
    """Backtest the priority ranking on the store's own latest completed tertials.

    Each tertial is the test period and the twelve months before it the training
    period (:func:`training_before`), with the cells of the ranking on the page
    (:func:`layers.analysis.priority.store_cell_size`). Kept per store data version, like
    the ranking (:func:`layers.analysis.priority.priority_for_store`).
    """
    import time

    from layers.analysis.aggregate import cache_key
    from layers.core.privacy import VISIBILITY_RAW
    from layers.io.filters import MapFilter

    config = config or load_config()
    code = resolve_sdn(sdn) if sdn else None
    tests = store_test_periods(store, splits)
    # the backtest reads incidents only: a findings upload keeps it
    key = cache_key(store, "backtest", MapFilter(sdn=code), visibility=VISIBILITY_RAW,
                    extra=(tuple(p.code for p in tests), repr(config)))

    def compute() -> StoreBacktest:
        began = time.perf_counter()
        area = study_area(code)
        if not tests:
            return StoreBacktest(code, area.name, [], time.perf_counter() - began,
                                 "Ingen hel tertial med ett helt år av händelser före: "
                                 "rangordningen kan inte prövas på databasens egna data än.")
        points = store_points(store, code)
        size = store_cell_size(store, config)
        results = []
        for test in tests:
            try:
                results.append(run_backtest(points, training_before(test), test,
                                            cell_size=size, config=config))
            except BacktestError:
                continue  # a tertial without incidents in this area
        seconds = time.perf_counter() - began
        LOGGER.info("store backtest of %s: %d tertials in %.2f s", area.name, len(results),
                    seconds)
        message = "" if results else (f"Inga händelser i {area.name} under de senaste "
                                      "tertialerna: rangordningen kan inte prövas.")
        return StoreBacktest(code, area.name, results, seconds, message)

    return _STORE_RESULTS.get(store, key, compute)


def clear_store_cache() -> None:
    """Forget every store backtest (tests)."""
    _STORE_RESULTS.clear()


__all__ = ["HEADLINE_SHARE", "STORE_SPLITS", "StoreBacktest", "clear_store_cache",
           "store_backtest", "store_points", "store_test_periods", "training_before"]
