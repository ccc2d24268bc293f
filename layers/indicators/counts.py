"""Counts by place and week: incidents in a platssamverkan site and in the ring around it,
and incidents per category and ISO week (the weekly lägesbild's counts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core.periods import Period
from layers.core.privacy import ALL_CATEGORY_CODES, POINT_PRECISIONS, PUBLIC_CATEGORY_CODES
from layers.indicators.asof import in_period
from layers.indicators.definitions import QUAD_SEGS, SITE_RING_M

# --- sites -----------------------------------------------------------------------------


def classify(points: np.ndarray, site: BaseGeometry, ring_m: float = SITE_RING_M
             ) -> tuple[np.ndarray, np.ndarray]:
    """Masks (in the site, in the ring) of an array of points."""
    if len(points) == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    outer = shapely.buffer(site, ring_m, quad_segs=QUAD_SEGS)
    shapely.prepare(site)
    shapely.prepare(outer)
    in_site = shapely.covers(site, points)
    in_ring = shapely.covers(outer, points) & ~in_site
    return in_site, in_ring


def site_countable(incidents: pd.DataFrame) -> np.ndarray:
    """Mask of the incidents that can count at a site: placed to the address or street,
    of a category every count holds."""
    if incidents.empty:
        return np.zeros(0, bool)
    return (incidents["precision"].isin(POINT_PRECISIONS)
            & incidents["category"].isin(PUBLIC_CATEGORY_CODES)).to_numpy(bool)


def site_counts(incidents: pd.DataFrame, site: BaseGeometry, periods: list[Period],
                ring_m: float = SITE_RING_M) -> list[tuple[int, int]]:
    """(in the site, in the ring) per period, by the rule of :func:`classify`."""
    frame = incidents[site_countable(incidents)]
    in_site, in_ring = classify(frame.geometry.to_numpy(), site, ring_m)
    out = []
    for p in periods:
        inside = in_period(frame["occurred_at"], p)
        out.append((int((inside & in_site).sum()), int((inside & in_ring).sum())))
    return out


# --- weeks ---------------------------------------------------------------------------


def weekly_counts(incidents: pd.DataFrame, weeks: list[Period],
                  categories: tuple[str, ...] = ALL_CATEGORY_CODES) -> dict[str, list[int]]:
    """Per category, the number of ``incidents`` (``occurred_at`` local) in each of
    ``weeks``; the weekly lägesbild's counts (``week_incidents``, ``week_average``)."""
    out = {}
    for code in categories:
        own = incidents[(incidents["category"] == code).to_numpy(bool)] \
            if not incidents.empty else incidents
        out[code] = [int(in_period(own["occurred_at"], w).sum()) if not own.empty else 0
                     for w in weeks]
    return out


def weekly_average(total: int, weeks: int) -> float:
    """The weekly average of ``total`` incidents over ``weeks`` weeks."""
    return total / weeks if weeks else 0.0
