"""What a ranking is made from and what it gives: Observations in, Places and a PriorityResult out.

:class:`Observations` holds everything :func:`layers.analysis.priority.rank_places` reads
(already read from a store or a file); :class:`Place` is one ranked place with every part
of its score and its Swedish texts, and :class:`PriorityResult` the ranking of one area
and period. Their ``to_dict``/``to_geojson`` are the JSON of ``/api/priority`` and of
``trygghetskartan priority``, with the privacy rules of the package docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from layers.analysis.emerging import BY_CODE
from layers.analysis.priority_config import PriorityConfig
from layers.core.periods import Period
from layers.core.privacy import suppress


@dataclass
class Place:
    """One ranked place with every part of its score and the reasons in Swedish."""

    rank: int
    name: str
    name_source: str
    cells: np.ndarray
    geometry: BaseGeometry
    stadsdel: str | None
    stadsdel_name: str | None
    sdo_code: str | None
    sdo_name: str | None
    incidents: int
    weighted: float
    sensitive: int
    categories: dict[str, int]
    previous: int | None
    rise: float | None
    z_max: float
    q_min: float
    significant: bool
    significant_share: float
    open_findings: int
    severe_findings: int
    severe_categories: list[str]
    findings_weight: float
    site: str | None
    site_status: str | None
    covered: bool
    density_ratio: float | None
    parts: dict[str, float]
    score: float
    text: str = ""
    #: The emerging hot spot pattern of the place (:mod:`layers.analysis.emerging`; None: no cube).
    trend_class: str | None = None
    #: Months of the cube the pattern comes from.
    trend_months: int = 0
    #: When the counted incidents mostly happen, in words (:mod:`layers.analysis.place_text`).
    time_phrase: str | None = None
    #: The most common categories (Swedish labels) of the open findings, at most two.
    finding_categories: list[str] = field(default_factory=list)
    #: Ids of the open findings, the most severe first (at most five).
    finding_ids: list[str] = field(default_factory=list)
    #: Id of the platssamverkan site in ``site``.
    site_id: str | None = None
    #: (name, id, metres) of a site near a place that no site touches (None: none near).
    near_site: tuple[str, str | None, int] | None = None
    #: The plain first sentence (no statistical terms).
    first_sentence: str = ""
    #: The plain sentences after the first.
    plain: list[str] = field(default_factory=list)
    #: The statistics, in a planner's words.
    statistics: str = ""

    @property
    def counted(self) -> int:
        """Incidents of the non-sensitive categories (what ``incidents`` shows)."""
        return self.incidents - self.sensitive

    def to_dict(self, *, sensitive_below: int | None = 5, public_below: int | None = None,
                sees_sensitive: bool = True) -> dict:
        """JSON-ready properties (English keys; Swedish text in ``text``).

        Counts of sensitive categories are always written "<5" below
        ``sensitive_below``; with ``public_below`` (anonymous visitors, läsare) the
        small counts per category and of the year before are too. Without
        ``sees_sensitive`` every figure that includes a sensitive category (the
        sensitive count, the weighted count, the score and its parts, the count of
        the year before) is None.
        """
        centroid = self.geometry.centroid
        lon, lat = _to_web(np.array([centroid.x]), np.array([centroid.y]))
        minx, miny, maxx, maxy = self.geometry.bounds
        wlon, wlat = _to_web(np.array([minx, maxx]), np.array([miny, maxy]))
        return {
            "rank": self.rank,
            "name": self.name,
            "name_source": self.name_source,
            "stadsdel": self.stadsdel_name,
            "sdo_code": self.sdo_code,
            "sdo_name": self.sdo_name,
            "score": round(self.score, 3) if sees_sensitive else None,
            "parts": {k: round(v, 3) for k, v in self.parts.items()} if sees_sensitive
            else None,
            "incidents": suppress(self.counted, public_below),
            "weighted_incidents": round(self.weighted, 3) if sees_sensitive else None,
            "categories": {c: suppress(v, public_below) for c, v in self.categories.items()},
            "sensitive_incidents": suppress(self.sensitive, sensitive_below) if sees_sensitive
            else None,
            "density_ratio": None if self.density_ratio is None
            else round(self.density_ratio, 2),
            "gi_z": round(self.z_max, 3),
            "gi_q": round(self.q_min, 6),
            "significant": self.significant,
            "significant_share": round(self.significant_share, 3),
            "previous_incidents": None if self.previous is None or not sees_sensitive
            else suppress(self.previous, public_below),
            "trend": None if self.rise is None else round(self.rise, 3),
            "open_findings": self.open_findings,
            "severe_findings": self.severe_findings,
            "severe_categories": list(self.severe_categories),
            "findings_weight": round(self.findings_weight, 3),
            "site": self.site,
            "site_status": self.site_status,
            "covered_by_site": self.covered,
            "cells": int(len(self.cells)),
            "area_m2": round(float(self.geometry.area), 1),
            "center": [round(float(lat[0]), 6), round(float(lon[0]), 6)],
            "bounds": [[round(float(wlat[0]), 6), round(float(wlon[0]), 6)],
                       [round(float(wlat[1]), 6), round(float(wlon[1]), 6)]],
            "trend_class": self.trend_class,
            "trend_label": BY_CODE[self.trend_class].label if self.trend_class else None,
            "first_sentence": self.first_sentence,
            "plain": list(self.plain),
            "statistics": self.statistics,
            "when": self.time_phrase,
            "finding_categories": list(self.finding_categories),
            "finding_ids": list(self.finding_ids),
            "site_id": self.site_id,
            "near_site": None if self.near_site is None else {
                "name": self.near_site[0], "id": self.near_site[1],
                "distance_m": self.near_site[2]},
            "text": self.text,
        }


@dataclass
class PriorityResult:
    """The ranking of one area and period, with what it was computed from."""

    places: list[Place]
    period: Period
    previous_period: Period
    previous_known: bool
    area_code: str | None
    area_name: str
    cell_size: float
    shape: str
    alpha: float
    n_incidents: int
    n_cells: int
    n_significant: int
    message: str
    config: PriorityConfig = field(repr=False, default_factory=PriorityConfig)
    #: Of ``n_incidents``, those of the sensitive categories.
    n_sensitive: int = 0

    def to_dict(self, public_below: int | None = None, sees_sensitive: bool = True) -> dict:
        """The ranking as JSON (what ``priority --format json`` and /api/priority give).

        ``public_below`` hides small counts for users who may not see them, and
        without ``sees_sensitive`` the figures that include sensitive categories are
        None (see :meth:`Place.to_dict`); the ranking itself never changes.
        """
        return {
            "area": self.area_name,
            "sdn": self.area_code,
            "period": self.period.code,
            "period_label": self.period.label,
            "compared_with": self.previous_period.code,
            "cell_size_m": self.cell_size,
            "cell_shape": self.shape,
            "alpha": self.alpha,
            "n_incidents": suppress(self.n_incidents - self.n_sensitive, public_below),
            "n_sensitive": self.n_sensitive if sees_sensitive else None,
            "n_cells": self.n_cells,
            "n_significant_cells": self.n_significant,
            "message": self.message,
            "places": [p.to_dict(sensitive_below=self.config.suppress_below,
                                 public_below=public_below, sees_sensitive=sees_sensitive)
                       for p in self.places],
        }

    def to_geojson(self, public_below: int | None = None, sees_sensitive: bool = True) -> dict:
        """The places as a GeoJSON FeatureCollection in WGS 84 (polygons of their cells)."""
        features = []
        for place in self.places:
            geom = shapely.transform(place.geometry, _web_transform, interleaved=False)
            geom = shapely.set_precision(geom, 1e-6)
            features.append({"type": "Feature", "id": place.rank,
                             "geometry": shapely.geometry.mapping(geom),
                             "properties": place.to_dict(
                                 sensitive_below=self.config.suppress_below,
                                 public_below=public_below, sees_sensitive=sees_sensitive)})
        meta = self.to_dict(public_below, sees_sensitive)
        meta.pop("places")
        return {"type": "FeatureCollection", "features": features, "metadata": meta}


def _web_transform(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _to_web(x, y)


def _to_web(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from layers.io.filters import xy_to_lonlat

    return xy_to_lonlat(x, y)


@dataclass
class Observations:
    """Everything the ranking uses, already read (EPSG:3011 coordinates).

    ``x``/``y``/``category`` are the incidents of the period placed to the street or
    better; ``previous_*`` those of the same period a year earlier (None when the
    data do not reach back that far). ``findings`` are the findings open at the end
    of the period (any geometry; ``severity``, ``category``, ``description``,
    ``walk_id``); ``sites`` the platssamverkan polygons (``name``, ``status``);
    ``walks`` maps walk id to its area text. ``incident_texts(bbox)`` returns the
    descriptions of non-sensitive incidents of the period in a bbox (for names);
    ``incident_times(bbox)`` the x, y and times of the non-sensitive incidents of the
    period placed to the street or better in a bbox (for "when" in the first sentence).
    ``prefetch(boxes)``, when given, is told every box those will be asked for.
    """

    x: np.ndarray
    y: np.ndarray
    category: np.ndarray
    previous_x: np.ndarray | None = None
    previous_y: np.ndarray | None = None
    findings: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    walks: Mapping[str, str] = field(default_factory=dict)
    incident_texts: Callable[[tuple[float, float, float, float]], list[str]] | None = None
    incident_times: Callable[[tuple[float, float, float, float]],
                             tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    #: Called once with the boxes of all places before ``incident_texts`` and
    #: ``incident_times`` are asked for them (a store reads them in one go).
    prefetch: Callable[[list[tuple[float, float, float, float]]], None] | None = None



__all__ = ["Observations", "Place", "PriorityResult"]
