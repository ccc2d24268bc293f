"""Where a broken lamp and night-time crime meet: lighting findings against the dark.

For every lighting finding (category ``belysning``; by default only open ones, ny or
tilldelad) the incidents of a period within ``distance_m`` metres (default 50) are
counted twice: those that happened in the dark — after sunset or before sunrise in
Stockholm, see :mod:`layers.analysis.darkness` — and those in daylight. A planner sorts by the
first count to see which lamps to fix first. Only incidents placed to the address or
street count (a police event placed at a stadsdel says nothing about a lamp), and
only the categories :func:`layers.core.privacy.counted_categories` gives for the user
(never the sensitive ones unless a handläggare names them: the page names none, so
it counts the non-sensitive categories for every role). Counts shown to anonymous
visitors and läsare go through :func:`layers.core.privacy.suppress`; with
``suppress_below`` the order treats every hidden count alike, so the ranking does
not tell a hidden 4 from a hidden 1.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.analysis.darkness import is_dark
from layers.core.periods import Period
from layers.core.privacy import POINT_PRECISIONS, PUBLIC_CATEGORY_CODES
from layers.core.schema import OPEN_STATUSES, WEB_EPSG
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: Incidents within this many metres of a lighting finding count.
DEFAULT_DISTANCE_M = 50.0
#: Largest distance a user may ask for (metres).
MAX_DISTANCE_M = 500.0
#: The finding category of lighting problems.
LIGHTING = "belysning"

COLUMNS = ["id", "found_at", "description", "status", "owner", "severity", "walk_id",
           "sdo_code", "sdo_name", "stadsdel", "dark", "daylight", "lat", "lon"]


def lighting_findings(store: Store, *, open_only: bool = True,
                      sdo: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """The lighting findings (open ones unless ``open_only`` is False)."""
    where: dict[str, object] = {"category": LIGHTING}
    if open_only:
        where["status"] = OPEN_STATUSES
    if sdo:
        where["sdo_code"] = sdo
    return store.read("findings", Query(where=where))


def lighting_conflicts(store: Store, period: Period, *, distance_m: float = DEFAULT_DISTANCE_M,
                       open_only: bool = True, sdo: tuple[str, ...] = (),
                       categories: tuple[str, ...] = PUBLIC_CATEGORY_CODES,
                       suppress_below: int | None = None) -> pd.DataFrame:
    """Each lighting finding with its incidents (of ``categories``) in the dark and
    in daylight nearby.

    Sorted by incidents in the dark (most first; with ``suppress_below`` the counts
    1 to below-1 as one), then severity. One small bbox read per finding, so the
    cost follows the number of findings, not the city.
    """
    findings = lighting_findings(store, open_only=open_only, sdo=sdo)
    findings = findings[findings.geometry.notna().to_numpy()
                        & ~findings.geometry.is_empty.to_numpy()].reset_index(drop=True)
    if findings.empty:
        return pd.DataFrame(columns=COLUMNS)
    start, end = period.bounds()
    dark_counts = np.zeros(len(findings), dtype=int)
    day_counts = np.zeros(len(findings), dtype=int)
    for i, geom in enumerate(findings.geometry):
        minx, miny, maxx, maxy = geom.bounds
        near = store.read("incidents", Query(
            bbox=(minx - distance_m, miny - distance_m, maxx + distance_m, maxy + distance_m),
            start=start, end=end, where={"precision": POINT_PRECISIONS,
                                         "category": tuple(categories)}))
        if near.empty:
            continue
        within = shapely.dwithin(geom, near.geometry.to_numpy(), distance_m)
        if not within.any():
            continue
        dark = is_dark(near["occurred_at"][within]).fillna(False).to_numpy(bool)
        dark_counts[i] = int(dark.sum())
        day_counts[i] = int((~dark).sum())
    points = findings.geometry.representative_point().to_crs(WEB_EPSG)
    out = pd.DataFrame({
        **{c: findings[c] for c in COLUMNS if c in findings.columns},
        "dark": dark_counts, "daylight": day_counts,
        "lat": points.y.round(6).to_numpy(), "lon": points.x.round(6).to_numpy(),
    })[COLUMNS]
    rank = out["dark"].astype(float)
    if suppress_below:
        rank = rank.where((rank == 0) | (rank >= suppress_below), suppress_below - 0.5)
    order = out.assign(_rank=rank).sort_values(["_rank", "severity", "found_at"],
                                               ascending=[False, False, True], kind="stable")
    return order.drop(columns="_rank").reset_index(drop=True)
