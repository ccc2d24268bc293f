"""The ranking read from a store: the observations of an area and period, the default
period, and the results kept per store and data version.

The incidents' reads are kept per incidents version (a findings upload reranks
without reading the incidents again); the whole ranking per data version of the
tables in :data:`PRIORITY_LAYERS`, so the page, the API and the map layer share one
computation and keep serving while an import runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.analysis import default_period as rule
from layers.analysis.aggregate import ComputedPerStore
from layers.analysis.default_period import point_span
from layers.analysis.emerging import emerging_for_store
from layers.analysis.priority.ranking import rank_places
from layers.analysis.priority.result import Observations, PriorityResult
from layers.analysis.priority_config import PriorityConfig, load_config
from layers.analysis.study_area import resolve_sdn, store_cell_size, study_area
from layers.core.periods import Period, parse_period
from layers.core.privacy import POINT_PRECISIONS
from layers.core.schema import LOCAL_TZ, OPEN_STATUSES, SENSITIVE_CODES

LOGGER = logging.getLogger(__name__)


def _open_at(findings: gpd.GeoDataFrame, end: dt.datetime) -> gpd.GeoDataFrame:
    """Findings found before ``end`` and still open then (or fixed only afterwards)."""
    if findings.empty:
        return findings
    found = pd.to_datetime(findings["found_at"], utc=True) < pd.Timestamp(end)
    status = findings["status"].fillna("ny")
    still_open = status.isin(OPEN_STATUSES)
    if "fixed_at" in findings:
        fixed = pd.to_datetime(findings["fixed_at"], utc=True)
        still_open |= (status == "atgardad") & fixed.notna() & (fixed >= pd.Timestamp(end))
    return findings[(found & still_open).to_numpy()]


def default_period(store, version: tuple | None = None) -> Period | None:
    """The default tertial (:mod:`layers.analysis.default_period`: the latest complete tertial
    with incidents placed to the street or better); None when the store has no
    placed incident at all. ``version`` is kept for callers; the rule remembers its
    answer per data version itself."""
    return rule.default_tertial(store)


def data_span(store) -> tuple[dt.date, dt.date] | None:
    """Local dates of the first and the last incident in the store (None when empty)."""
    span = store.time_span("incidents")
    if span is None:
        return None
    return _local_date(span[0]), _local_date(span[1])


def _local_date(value: object) -> dt.date:
    return pd.Timestamp(value).tz_convert(LOCAL_TZ).date()


@dataclass
class _IncidentReads:
    """What a ranking reads of the incidents (kept per incidents version, so a
    findings upload reranks without reading the incidents again): the placed points
    of the period and the year before, and the per-place reads (texts, times) memoised
    by box."""

    x: np.ndarray
    y: np.ndarray
    category: np.ndarray
    previous_x: np.ndarray | None
    previous_y: np.ndarray | None
    previous_known: bool
    texts: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)


#: The incident fields the places' texts and times are made of (and the geometry).
BOX_FIELDS = ("occurred_at", "category", "precision", "description")


def _incident_reads(store, period: Period, sdn: str | None, bbox: tuple) -> _IncidentReads:
    from layers.analysis.aggregate import cache_key
    from layers.core.privacy import VISIBILITY_RAW
    from layers.io.filters import MapFilter
    from layers.store.base import Query

    key = cache_key(store, "priority-incidents", MapFilter(period=period, sdn=sdn),
                    visibility=VISIBILITY_RAW, extra=(bbox,))

    def compute() -> _IncidentReads:
        precise = Query(bbox=bbox, where={"precision": POINT_PRECISIONS})
        # the trend compares placed incidents: the year before is known when they cover it
        span = point_span(store)
        previous = period.year_before()
        previous_known = span is not None and span[0].date() <= previous.start
        px = py = None
        if previous_known:  # both periods in one read (PostGIS: one statement)
            (x, y, cats), (px, py, _) = store.read_points_periods(
                precise, [period.bounds(), previous.bounds()])
        else:
            start, end = period.bounds()
            x, y, cats = store.read_points(replace(precise, start=start, end=end))
        return _IncidentReads(x, y, cats, px, py, previous_known)

    return _INCIDENT_READS.get(store, key, compute)


def observations_from_store(store, period: Period, *, sdn: str | None = None
                            ) -> tuple[Observations, bool]:
    """Read what :func:`rank_places` needs for one area and period.

    Returns the observations and whether the year before is covered by the data.
    The incidents' part is kept per incidents version (:func:`_incident_reads`);
    findings, sites and walks are read each time.
    """
    from layers.store.base import Query

    area = study_area(sdn)
    bbox = tuple((area.context or area.land).bounds) if sdn is None else \
        tuple(area.land.buffer(1000).bounds)
    start, end = period.bounds()
    precise = {"precision": POINT_PRECISIONS}
    reads = _incident_reads(store, period, sdn, bbox)
    findings = _open_at(store.read("findings", Query(bbox=bbox)), end)
    sites = store.read("sites", Query(bbox=bbox))
    walks_frame = store.read("walks")
    walks = dict(zip(walks_frame["id"], walks_frame["area"].fillna(""), strict=True)) \
        if not walks_frame.empty else {}

    def keep(box: tuple[float, float, float, float], rows: gpd.GeoDataFrame) -> None:
        """Remember the texts and times of a box from its placed incidents."""
        if rows.empty:
            reads.texts[box] = []
            reads.times[box] = (np.array([]), np.array([]), np.array([], dtype=object))
            return
        # masks on the columns, not frames of the rows: no geometry column is copied
        shown = ~rows["category"].isin(SENSITIVE_CODES).to_numpy(bool)
        exact = shown & (rows["precision"] == "exact").to_numpy(bool)
        reads.texts[box] = [str(t) for t in rows["description"][exact].dropna()]
        points = rows.geometry.to_numpy()[shown]
        # the times as the store's datetime column (time_pattern converts it at once)
        reads.times[box] = (shapely.get_x(points), shapely.get_y(points),
                            rows["occurred_at"].array[shown])

    def prefetch(boxes: list[tuple[float, float, float, float]]) -> None:
        missing = list(dict.fromkeys(b for b in boxes if b not in reads.times))
        if missing:
            query = Query(start=start, end=end, where=precise)
            frames = store.read_boxes("incidents", query, missing, fields=BOX_FIELDS)
            for box, rows in zip(missing, frames, strict=True):
                keep(box, rows)

    def texts(box: tuple[float, float, float, float]) -> list[str]:
        if box not in reads.texts:
            prefetch([box])
        return reads.texts[box]

    def times(box: tuple[float, float, float, float]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if box not in reads.times:
            prefetch([box])
        return reads.times[box]

    return Observations(reads.x, reads.y, reads.category, reads.previous_x, reads.previous_y,
                        findings, sites, walks, texts, times, prefetch), reads.previous_known


def priority_for_store(store, *, sdn: str | None = None, period: Period | str | None = None,
                       config: PriorityConfig | None = None, limit: int | None = None
                       ) -> PriorityResult:
    """The ranking for one area and period, read from a store.

    ``sdn`` is a code or name (ValueError in Swedish when unknown); ``period`` a
    :class:`Period` or its text (default: the tertial of the latest incident).
    Results are kept per store and data version (:meth:`Store.data_version`, which
    a running import does not change before it commits), so the page, the API and
    the map layer share one computation and keep serving while an import runs.
    """
    from layers.analysis.aggregate import cache_key
    from layers.core.privacy import VISIBILITY_RAW
    from layers.io.filters import MapFilter

    config = config or load_config()
    version = store.data_version()
    code = resolve_sdn(sdn) if sdn else None
    if isinstance(period, str):
        period = parse_period(period)
    if period is None:
        period = default_period(store, version) or Period.tertial(dt.date.today().year, 1)
    # the ranking reads every category; roles are filtered in Place.to_dict
    key = cache_key(store, "priority", MapFilter(period=period, sdn=code),
                    visibility=VISIBILITY_RAW, extra=(limit, repr(config)),
                    layers=PRIORITY_LAYERS)

    def compute() -> PriorityResult:
        size = store_cell_size(store, config)
        obs, _ = observations_from_store(store, period, sdn=code)
        emerging = emerging_for_store(store, sdn=code, period=period, cell_size=size,
                                      shape=config.shape)
        return rank_places(obs, period, sdn=code, config=config, cell_size=size, limit=limit,
                           emerging=emerging)

    # one computation per key: requests arriving while it runs wait for it instead of
    # ranking the city in parallel
    return _RESULTS.get(store, key, compute)


#: Seconds a ranking is reused at most. The key holds the store's data version, so a
#: change shows at once; the expiry only bounds memory of rankings nobody asks for.
CACHE_SECONDS = 3600.0
_RESULTS = ComputedPerStore(16, CACHE_SECONDS)
_INCIDENT_READS = ComputedPerStore(16, CACHE_SECONDS)
#: The tables a ranking reads: its cache holds while other tables change.
PRIORITY_LAYERS = ("incidents", "findings", "sites", "walks", "stadsdelar",
                   "stadsdelsomraden")


def clear_cache() -> None:
    """Forget every computed ranking (tests, after an import)."""
    _RESULTS.clear()
    _INCIDENT_READS.clear()
    rule.clear_cache()


def warm_cache(store) -> PriorityResult:
    """Compute the default ranking (the city, the latest tertial) into the cache.

    The web app runs this in a background thread at start and whenever the data
    version changes, so ``/priority`` and ``/api/priority`` answer from the cache
    even while the machine is busy with an import.
    """
    return priority_for_store(store)



__all__ = ["CACHE_SECONDS", "PRIORITY_LAYERS", "clear_cache", "data_span", "default_period",
           "observations_from_store", "priority_for_store", "warm_cache"]
