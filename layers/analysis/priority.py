"""Priority places: a ranked, explained list of where situational prevention pays.

The city (or one stadsdelsområde) is cut into cells of :class:`layers.analysis.grid.Grid`.
For one period each cell gets

* its incidents, counted with the category weights of ``priority_weights.toml``
  (strategic crimes weigh more; the **weighted count is the backbone** of the score);
* a local Getis-Ord Gi* z-score (:mod:`layers.analysis.hotspots`) with a Benjamini–Hochberg
  correction for the many cells tested: a cell is a *significant hot spot* when its
  z is positive and its q-value is at most ``alpha``;
* the open findings of trygghetsvandringar in it, weighted by severity;
* the trend against the same period one year earlier;
* whether an active platssamverkan site already covers it.

Significant hot cells that touch each other merge into **places**: each climbs to
the neighbouring significant cell with the highest z until it reaches a peak, and
the cells of one peak form one place (a busy centre with several peaks becomes
several places, not one blob). Other cells with incidents stay places of one cell.
A place is named after the platssamverkan site it overlaps, else after the square
or street its findings, walks and incident texts name most often, else after its
stadsdel and a number.

The score of a cell or a place is ``weighted incidents × (1 + bonuses)``
(:func:`combine`): every part is kept, so each place comes with a Swedish sentence
that says why it ranks where it does. The bonuses are small on purpose: the
backtest (:mod:`layers.analysis.backtest`, ``docs/method.md``) ranks cells by the same score
and shows that it keeps the accuracy of prior-period counts, a hard baseline to beat.

Privacy: a place is an aggregate of cells; categories marked sensitive are
weighted into the ranking (a place where many sexual offences happen should rank
high) but never drawn or quoted, and their descriptions are never used for names.
The counts a place shows follow :func:`layers.core.privacy.counted_categories` for
"all categories": ``incidents`` and the sentence count the non-sensitive
categories only, for every role. Handläggare and admin also get the sensitive
count, the weighted count, the score and its parts; every other role gets none
of these (``None``), because each includes the sensitive categories with known
weights, so subtracting the shown categories would give the sensitive count of
the place (see ``docs/privacy.md``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

import geodata
from layers.analysis import default_period as rule
from layers.analysis.aggregate import ComputedPerStore
from layers.analysis.default_period import point_span
from layers.analysis.emerging import BY_CODE, EmergingResult, emerging_for_store
from layers.analysis.grid import Grid, auto_cell_size
from layers.analysis.hotspots import GiStar, fdr_bh, gi_star
from layers.core.periods import Period, parse_period
from layers.core.privacy import POINT_PRECISIONS, suppress
from layers.core.schema import (
    FINDING_CATEGORIES,
    INCIDENT_CATEGORIES,
    LOCAL_TZ,
    OPEN_STATUSES,
    SENSITIVE_CODES,
    STORE_EPSG,
    category_lookup,
)
from layers.io.joins import representative_points

LOGGER = logging.getLogger(__name__)

#: The documented defaults of the analysis.
CONFIG_FILE = Path(__file__).with_name("priority_weights.toml")

_INCIDENT_LOOKUP = category_lookup(INCIDENT_CATEGORIES)
_INCIDENT_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}
_FINDING_LABELS = {c.code: c.label for c in FINDING_CATEGORIES}
_SENSITIVE = frozenset(SENSITIVE_CODES)


# --- configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityConfig:
    """The settings of the analysis (see ``priority_weights.toml`` for each one)."""

    cell_size: float | None = None
    shape: str = "square"
    alpha: float = 0.05
    permutations: int = 0
    seed: int = 12345
    significance_bonus: float = 0.02
    findings_bonus: float = 0.15
    findings_full: float = 10.0
    trend_bonus: float = 0.10
    trend_min_previous: int = 5
    site_bonus: float = -0.05
    min_incidents: int = 5
    max_radius: float | None = 300.0
    limit: int = 20
    suppress_below: int = 5
    severity_weights: Mapping[int, float] = field(
        default_factory=lambda: {1: 1.0, 2: 2.0, 3: 4.0})
    incident_weights: Mapping[str, float] = field(
        default_factory=lambda: {c.code: c.weight for c in INCIDENT_CATEGORIES})

    def weights_of(self, categories: Iterable[object]) -> np.ndarray:
        """The weight of each category (code, Swedish name or alias); unknown ones weigh 1."""
        codes, uniques = pd.factorize(pd.Series(list(categories) if not isinstance(
            categories, (np.ndarray, pd.Series)) else categories, dtype=object))
        table = np.array([self._weight(v) for v in uniques] + [1.0], dtype=float)
        return table[codes]  # code -1 (missing) takes the last entry, 1.0

    def _weight(self, value: object) -> float:
        code = _INCIDENT_LOOKUP.get(str(value).strip().lower())
        return float(self.incident_weights.get(code, 1.0)) if code else 1.0

    def severity_weight(self, severities: Iterable[object]) -> np.ndarray:
        """The weight of each finding severity (1–3); missing severities count as 2."""
        out = []
        for s in severities:
            level = 2 if s is None or (isinstance(s, float) and math.isnan(s)) or s is pd.NA \
                else int(s)
            out.append(float(self.severity_weights.get(level, level)))
        return np.asarray(out, dtype=float)


def load_config(path: str | Path | None = None) -> PriorityConfig:
    """Read the defaults of ``priority_weights.toml``, then the file at ``path`` over them."""
    data = _read_toml(CONFIG_FILE)
    if path is not None:
        for section, values in _read_toml(Path(path)).items():
            if isinstance(values, dict):
                data.setdefault(section, {}).update(values)
            else:
                data[section] = values
    return _config_from(data)


def _read_toml(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _config_from(data: dict) -> PriorityConfig:
    cells = data.get("cells", {})
    sig = data.get("significance", {})
    score = data.get("score", {})
    places = data.get("places", {})
    size = cells.get("size_m", "auto")
    weights = {c.code: c.weight for c in INCIDENT_CATEGORIES}
    weights.update({str(k): float(v) for k, v in data.get("incident_weights", {}).items()})
    severity = {1: 1.0, 2: 2.0, 3: 4.0}
    severity.update({int(k): float(v) for k, v in data.get("findings", {}).items()})
    return PriorityConfig(
        cell_size=None if str(size).lower() == "auto" else float(size),
        shape=str(cells.get("shape", "square")),
        alpha=float(sig.get("alpha", 0.05)),
        permutations=int(sig.get("permutations", 0)),
        seed=int(sig.get("seed", 12345)),
        significance_bonus=float(score.get("significance_bonus", 0.02)),
        findings_bonus=float(score.get("findings_bonus", 0.15)),
        findings_full=float(score.get("findings_full", 10.0)),
        trend_bonus=float(score.get("trend_bonus", 0.10)),
        trend_min_previous=int(score.get("trend_min_previous", 5)),
        site_bonus=float(score.get("site_bonus", -0.05)),
        min_incidents=int(places.get("min_incidents", 5)),
        max_radius=float(places["max_radius_m"]) if places.get("max_radius_m") else None,
        limit=int(places.get("limit", 20)),
        suppress_below=int(places.get("suppress_below", 5)),
        severity_weights=severity,
        incident_weights=weights,
    )


# --- the score ---------------------------------------------------------------------------


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


# --- the study area (Stockholm) ----------------------------------------------------------


@dataclass(frozen=True)
class StudyArea:
    """The area to rank: the city or one stadsdelsområde, with its land in EPSG:3011.

    ``context`` is the land around it whose cells count as Gi* neighbours but are
    not ranked (the rest of the city, for a district).
    """

    code: str | None
    name: str
    land: BaseGeometry
    context: BaseGeometry | None
    #: stadsdel code -> (name, current stadsdelsområde code, its name)
    stadsdelar: Mapping[str, tuple[str, str, str]]
    #: stadsdelsområde code -> land area in m²
    area_m2: Mapping[str, float]


@lru_cache(maxsize=1)
def _city() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, str]]:
    full = geodata.stadsdelar(crs=STORE_EPSG, land=False)
    land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
    areas = geodata.stadsdelsomraden(crs=STORE_EPSG)
    names = dict(zip(areas["code"], areas["name"], strict=True))
    return full, land, names


@lru_cache(maxsize=32)
def study_area(sdn: str | None = None) -> StudyArea:
    """The city (``sdn`` None) or one stadsdelsområde by code, of either division.

    Raises KeyError for an unknown code (see :func:`resolve_sdn` for names).
    """
    full, land, names = _city()
    current = {r.code: (r.name, r.sdo_2023, names.get(r.sdo_2023, r.sdo_2023))
               for r in full.itertuples()}
    land_sdo = land["sdo_2023"].to_numpy()
    areas = {code: float(shapely.area(shapely.union_all(
        land.geometry.to_numpy()[land_sdo == code]))) for code in set(land_sdo)}
    city_land = shapely.union_all(land.geometry.to_numpy())
    if sdn is None:
        return StudyArea(None, "Stockholms stad", city_land, None, current, areas)
    if sdn not in names:
        raise KeyError(sdn)
    inside = (land["sdo_2023"] == sdn) | (land["sdo_2020"] == sdn)
    district = shapely.union_all(land.geometry.to_numpy()[inside.to_numpy()])
    area = {sdn: float(shapely.area(district))}
    return StudyArea(sdn, names[sdn], district, city_land, current, area)


def resolve_sdn(text: str) -> str:
    """Turn a stadsdelsområde code or name (any division, any case) into its code.

    Raises ValueError with a Swedish message listing the current areas.
    """
    _, _, names = _city()
    code = geodata.slugify(text)
    if code in names:
        return code
    by_name = {geodata.slugify(name): c for c, name in names.items()}
    if code in by_name:
        return by_name[code]
    current = sorted({n for c, n in names.items()
                      if c in set(geodata.stadsdelsomraden(division="2023")["code"])})
    raise ValueError(f"Okänt stadsdelsområde '{text}'. Välj ett av: {', '.join(current)}.")


@lru_cache(maxsize=16)
def _covering(size: float, shape: str, sdn: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(ranked cells, all cells of the analysis) for an area, cached."""
    area = study_area(sdn)
    grid = Grid(size, shape)
    ranked = grid.covering(area.land)
    if area.context is None:
        return ranked, ranked
    city, _ = _covering(size, shape, None)
    ring = np.intersect1d(grid.ring(ranked), city, assume_unique=True)
    return ranked, np.union1d(ranked, ring)


@lru_cache(maxsize=16)
def _cell_stadsdel(size: float, shape: str, keys_bytes: bytes) -> np.ndarray:
    """Stadsdel code of each cell (by its centre; the nearest one outside every stadsdel)."""
    keys = np.frombuffer(keys_bytes, dtype=np.int64)
    full, _, _ = _city()
    grid = Grid(size, shape)
    cx, cy = grid.centres(keys)
    points = shapely.points(cx, cy)
    tree = shapely.STRtree(full.geometry.to_numpy())
    src, dst = tree.query(points, predicate="intersects")
    codes = full["code"].to_numpy(dtype=object)
    out = np.full(len(keys), None, dtype=object)
    first = pd.Series(dst).groupby(src).min()
    out[first.index.to_numpy()] = codes[first.to_numpy()]
    missing = np.flatnonzero(pd.isna(out))
    if len(missing):
        near = tree.nearest(points[missing])
        out[missing] = codes[near]
    return out


# --- places and their explanations -------------------------------------------------------


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


def rank_places(obs: Observations, period: Period, *, sdn: str | None = None,
                config: PriorityConfig | None = None, cell_size: float | None = None,
                limit: int | None = None, emerging: EmergingResult | None = None
                ) -> PriorityResult:
    """Rank the places of Stockholm (or the stadsdelsområde ``sdn``) for one period.

    A pure function of what is in ``obs``: the same observations in any order give
    the same ranking. ``cell_size`` overrides the configured size (the store path
    passes the size it chose from data density). ``emerging`` (the patterns of
    :mod:`layers.analysis.emerging` on the same cells) gives each place its trend class.
    """
    config = config or load_config()
    size = float(cell_size or config.cell_size or 150.0)
    area = study_area(sdn)
    grid = Grid(size, config.shape)
    ranked_keys, keys = _covering(size, config.shape, sdn)
    previous_period = period.year_before()
    previous_known = obs.previous_x is not None
    n = len(keys)

    def index_of(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        cell = grid.keys_of(px, py)
        pos = np.searchsorted(keys, cell)
        pos = np.minimum(pos, max(n - 1, 0))
        return np.where((n > 0) & (keys[pos] == cell), pos, -1) if n else np.full(len(px), -1)

    idx = index_of(obs.x, obs.y)
    inside = idx >= 0
    idx = idx[inside]
    cats = np.asarray(obs.category, dtype=object)[inside]
    weights = config.weights_of(cats)
    weighted = np.bincount(idx, weights=weights, minlength=n)
    counts = np.bincount(idx, minlength=n)
    is_ranked = np.isin(keys, ranked_keys, assume_unique=True)
    n_incidents = int(counts[is_ranked].sum())
    codes = pd.Series(cats, dtype=object).astype(str).str.lower().map(_INCIDENT_LOOKUP)
    sensitive_cells = idx[codes.isin(_SENSITIVE).to_numpy(bool)]
    result = PriorityResult([], period, previous_period, previous_known, area.code, area.name,
                            size, config.shape, config.alpha, n_incidents, int(is_ranked.sum()),
                            0, "", config,
                            int(is_ranked[sensitive_cells].sum()) if n else 0)
    if n_incidents == 0:
        result.message = (f"Inga händelser med känd plats (adress eller gata) i {area.name} "
                          f"under {period.label} – det finns inga platser att prioritera.")
        return result

    previous = None
    if previous_known:
        pidx = index_of(obs.previous_x, obs.previous_y)
        previous = np.bincount(pidx[pidx >= 0], minlength=n)
    findings_weight, finding_cells = _findings_per_cell(grid, keys, obs.findings, config)
    covered, site_cells = _sites_per_cell(grid, keys, obs.sites)
    cells = analyse_cells(grid, keys, weighted, config,
                          rise=relative_rise(counts, previous, config.trend_min_previous),
                          findings_weight=findings_weight, covered=covered)
    result.n_significant = int((cells.significant & is_ranked).sum())

    listed = is_ranked & (counts > 0)
    labels = merge_places(grid, keys, cells.gi.z, cells.significant & is_ranked, listed,
                          config.max_radius)
    limit = config.limit if limit is None else limit
    ranked = _rank_groups(keys, labels, counts, weighted, previous, cells, findings_weight,
                          covered, config, limit)
    places = _build_places(grid, keys, ranked, counts, cells, idx, cats, finding_cells,
                           site_cells, obs, area, is_ranked, config)
    if obs.prefetch is not None and places:
        obs.prefetch([tuple(place.geometry.bounds) for place in places])
    _name_places(places, grid, keys, obs, area)
    usable = emerging is not None and emerging.complete and emerging.grid == grid
    for rank, place in enumerate(places, start=1):
        place.rank = rank
        if usable:
            place.trend_class = emerging.code_of(place.cells)
            place.trend_months = len(emerging.months)
        place.time_phrase = _time_phrase(place, grid, obs)
        place.text = explain(place, period, previous_known, config.alpha)
    result.places = places
    if not places:
        result.message = (f"Ingen plats i {area.name} har minst {config.min_incidents} "
                          f"händelser under {period.label}.")
    return result


def _findings_per_cell(grid: Grid, keys: np.ndarray, findings: gpd.GeoDataFrame | None,
                       config: PriorityConfig) -> tuple[np.ndarray, np.ndarray]:
    """Severity-weighted open findings per cell and the cell index of each finding."""
    n = len(keys)
    if findings is None or findings.empty or n == 0:
        return np.zeros(n), np.array([], dtype=np.int64)
    points = representative_points(findings.geometry)
    cell = grid.keys_of(shapely.get_x(points), shapely.get_y(points))
    pos = np.minimum(np.searchsorted(keys, cell), n - 1)
    where = np.where(keys[pos] == cell, pos, -1)
    ok = where >= 0
    weight = config.severity_weight(findings["severity"].to_numpy(dtype=object))
    return np.bincount(where[ok], weights=weight[ok], minlength=n), where


def _sites_per_cell(grid: Grid, keys: np.ndarray, sites: gpd.GeoDataFrame | None
                    ) -> tuple[np.ndarray, dict[int, list[int]]]:
    """1 for cells an active site covers; cell index -> rows of the sites it touches."""
    n = len(keys)
    covered = np.zeros(n)
    touching: dict[int, list[int]] = {}
    if sites is None or sites.empty or n == 0:
        return covered, touching
    for row, (geom, status) in enumerate(zip(sites.geometry, sites["status"], strict=True)):
        if geom is None or geom.is_empty:
            continue
        hit = grid.covering(geom)
        pos = np.minimum(np.searchsorted(keys, hit), n - 1)
        found = pos[keys[pos] == hit]
        for i in found:
            touching.setdefault(int(i), []).append(row)
        if status == "aktiv":
            covered[found] = 1.0
    return covered, touching


@dataclass(frozen=True)
class _Group:
    """A candidate place: its cells and the sums its score is made of."""

    cells: np.ndarray
    incidents: int
    weighted: float
    significant_share: float
    findings_weight: float
    previous: int | None
    rise: float
    covered: bool
    parts: dict[str, float]
    score: float


def _rank_groups(keys: np.ndarray, labels: np.ndarray, counts: np.ndarray,
                 weighted: np.ndarray, previous: np.ndarray | None, cells: CellAnalysis,
                 findings_weight: np.ndarray, covered: np.ndarray, config: PriorityConfig,
                 limit: int | None = None) -> list[_Group]:
    """Score every place at once (:func:`combine` on the sums of its cells) and rank them.

    Places with fewer than ``min_incidents`` incidents are left out; ties are broken
    by the lowest cell key, so the order never depends on the order of the input.
    Only the first ``limit`` places are returned (all when None or 0).
    """
    members = np.flatnonzero(labels >= 0)
    if not len(members):
        return []
    groups, inverse = np.unique(labels[members], return_inverse=True)
    n = len(groups)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=np.asarray(values, float)[members], minlength=n)

    n_inc = total(counts)
    w = total(weighted)
    share = np.divide(total(weighted * cells.significant), w, out=np.zeros(n), where=w > 0)
    found = total(findings_weight)
    prev = total(previous) if previous is not None else None
    rise = relative_rise(n_inc, prev, config.trend_min_previous)
    cover = total(covered) > 0
    parts = combine(w, share, found, rise, cover.astype(float), config)
    score = parts.score
    first_key = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_key, inverse, keys[members])
    keep = np.flatnonzero(n_inc >= config.min_incidents)
    order = keep[np.lexsort((first_key[keep], -score[keep]))]
    if limit:
        order = order[:limit]
    by_group = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[by_group], np.arange(n + 1))
    out = []
    for g in order:
        out.append(_Group(
            cells=members[by_group[bounds[g]:bounds[g + 1]]], incidents=int(n_inc[g]),
            weighted=float(w[g]), significant_share=float(share[g]),
            findings_weight=float(found[g]), previous=None if prev is None else int(prev[g]),
            rise=float(rise[g]), covered=bool(cover[g]),
            parts={"weighted_incidents": float(parts.base[g]),
                   "significance": float(parts.significance[g]),
                   "findings": float(parts.findings[g]), "trend": float(parts.trend[g]),
                   "site": float(parts.site[g])},
            score=float(score[g])))
    return out


def _build_places(grid: Grid, keys: np.ndarray, ranked: list[_Group], counts: np.ndarray,
                  cells: CellAnalysis, idx: np.ndarray, cats: np.ndarray,
                  finding_cells: np.ndarray, site_cells: dict[int, list[int]],
                  obs: Observations, area: StudyArea, is_ranked: np.ndarray,
                  config: PriorityConfig) -> list[Place]:
    """The details of the ranked places: geometry, density, categories, findings, site."""
    if not ranked:
        return []
    stadsdel_of = _cell_stadsdel(grid.size, grid.shape, keys.tobytes())
    sdo_of = np.array([area.stadsdelar.get(s, (None, None, None))[1] for s in stadsdel_of],
                      dtype=object)
    density = _area_densities(counts, sdo_of, area, is_ranked)
    findings = obs.findings
    sites = obs.sites
    wanted = np.concatenate([g.cells for g in ranked])
    chosen = np.isin(idx, wanted)
    cat_cell = pd.DataFrame({"cell": idx[chosen], "cat": cats[chosen]})
    by_cell = {c: g["cat"].to_numpy() for c, g in cat_cell.groupby("cell")} \
        if len(cat_cell) else {}
    land = area.land
    places = []
    for candidate in ranked:
        group = candidate.cells
        n_inc = candidate.incidents
        peak = group[np.lexsort((keys[group], -cells.weighted[group]))[0]]
        sd = stadsdel_of[peak]
        sd_name, sdo, sdo_name = area.stadsdelar.get(sd, (sd, None, None))
        if area.code is not None:
            sdo, sdo_name = area.code, area.name
        geometry = shapely.union_all(grid.polygons(keys[group]))
        land_area = float(shapely.area(shapely.intersection(geometry, land))) or \
            float(geometry.area)
        dens = density.get(sdo)
        ratio = (n_inc / land_area) / dens if dens else None
        sig_cells = cells.significant[group]
        prev = candidate.previous
        in_place = np.isin(finding_cells, group) if len(finding_cells) else np.array([], bool)
        f_rows = findings.iloc[np.flatnonzero(in_place)] if findings is not None and \
            len(in_place) else None
        severe = f_rows[f_rows["severity"].fillna(0).astype(int) >= 3] if f_rows is not None \
            else None
        severe_cats = [_FINDING_LABELS.get(c, c) for c, _ in
                       Counter(severe["category"]).most_common(2)] if severe is not None \
            else []
        finding_cats = [_FINDING_LABELS.get(c, c) for c, _ in
                        Counter(f_rows["category"]).most_common(2)] if f_rows is not None \
            else []
        finding_ids = _most_severe_ids(f_rows)
        site_rows = sorted({r for i in group for r in site_cells.get(int(i), [])})
        site_name, site_status, site_id = None, None, None
        if site_rows and sites is not None:
            overlap = [(float(shapely.area(shapely.intersection(sites.geometry.iloc[r],
                                                                geometry))), -r)
                       for r in site_rows]
            best = -max(overlap)[1]
            site_name = str(sites["name"].iloc[best])
            site_id = str(sites["id"].iloc[best]) if "id" in sites else None
            site_status = str(sites["status"].iloc[best]) if sites["status"].iloc[best] \
                else None
        near = None if site_rows else _near_site(sites, geometry)
        all_cats = np.concatenate([by_cell.get(int(i), np.array([], dtype=object))
                                   for i in group])
        counted = Counter(str(_INCIDENT_LOOKUP.get(str(c).lower(), c)) for c in all_cats)
        sensitive = sum(v for c, v in counted.items() if c in _SENSITIVE)
        shown = {c: v for c, v in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))
                 if c not in _SENSITIVE}
        places.append(Place(
            rank=0, name="", name_source="", cells=keys[group], geometry=geometry,
            stadsdel=sd, stadsdel_name=sd_name, sdo_code=sdo, sdo_name=sdo_name,
            incidents=n_inc, weighted=candidate.weighted, sensitive=sensitive,
            categories=shown, previous=prev,
            rise=None if prev is None or prev < config.trend_min_previous
            else float((n_inc - prev) / prev),
            z_max=float(cells.gi.z[group].max()), q_min=float(cells.q[group].min()),
            significant=bool(sig_cells.any()), significant_share=candidate.significant_share,
            open_findings=0 if f_rows is None else len(f_rows),
            severe_findings=0 if severe is None else len(severe),
            severe_categories=severe_cats, findings_weight=candidate.findings_weight,
            site=site_name, site_status=site_status, covered=candidate.covered,
            density_ratio=ratio, parts=dict(candidate.parts), score=candidate.score,
            finding_categories=finding_cats, finding_ids=finding_ids, site_id=site_id,
            near_site=near,
        ))
    return places


#: A platssamverkan site this close (metres) to a place it does not touch is named
#: and linked as the nearest one.
NEAR_SITE_M = 250.0


def _near_site(sites: gpd.GeoDataFrame | None, geometry: BaseGeometry
               ) -> tuple[str, str | None, int] | None:
    """(name, id, metres) of the nearest site within :data:`NEAR_SITE_M`, else None."""
    if sites is None or sites.empty:
        return None
    geoms = sites.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return None
    distance = np.full(len(geoms), np.inf)
    distance[ok] = shapely.distance(geoms[ok], geometry)
    best = int(np.argmin(distance))
    if distance[best] > NEAR_SITE_M:
        return None
    site_id = str(sites["id"].iloc[best]) if "id" in sites else None
    return str(sites["name"].iloc[best]), site_id, int(round(float(distance[best]) / 10) * 10)


#: Open findings a place links to at most.
MAX_FINDING_LINKS = 5


def _most_severe_ids(rows: gpd.GeoDataFrame | None) -> list[str]:
    """Ids of the open findings of a place, the most severe first (then by id)."""
    if rows is None or rows.empty or "id" not in rows:
        return []
    frame = pd.DataFrame({"id": rows["id"].astype(str).to_numpy(),
                          "severity": rows["severity"].fillna(2).astype(int).to_numpy()})
    frame = frame.sort_values(["severity", "id"], ascending=[False, True])
    return frame["id"].head(MAX_FINDING_LINKS).tolist()


def _time_phrase(place: Place, grid: Grid, obs: Observations) -> str | None:
    """When the counted incidents of a place mostly happen (None: no clear pattern)."""
    from layers.analysis.place_text import time_pattern

    if obs.incident_times is None:
        return None
    x, y, times = obs.incident_times(tuple(place.geometry.bounds))
    if len(times) == 0:
        return None
    inside = np.isin(grid.keys_of(np.asarray(x, float), np.asarray(y, float)), place.cells)
    return time_pattern(np.asarray(times, dtype=object)[inside]).phrase()


def _area_densities(counts: np.ndarray, sdo_of: np.ndarray, area: StudyArea,
                    is_ranked: np.ndarray) -> dict[str, float]:
    """Incidents per m² of land in each stadsdelsområde (or in the ranked district)."""
    if area.code is not None:
        m2 = area.area_m2[area.code]
        return {area.code: float(counts[is_ranked].sum()) / m2} if m2 else {}
    return {code: float(counts[sdo_of == code].sum()) / m2
            for code, m2 in area.area_m2.items() if m2 > 0}


# --- names ------------------------------------------------------------------------------

#: Lower-case words that end a place name: "Tensta centrum", "Hässelby torg".
PLACE_NOUNS = ("centrum", "torg", "torget", "allé", "väg", "vägen", "gata", "gatan",
               "gången", "gränd", "plan", "planen", "station", "stationen",
               "tunnelbanestation", "strand", "park", "parken", "backe", "backen", "stråket",
               "gård", "trädgård", "kyrka", "hamn", "kaj", "bro", "bron", "platsen",
               "terminal", "tunnel", "tunneln", "trappa", "trappan", "skola", "skolan")
#: Endings of one-word street and square names: "Farstagången", "Medborgarplatsen".
PLACE_SUFFIXES = ("gången", "vägen", "gatan", "torget", "torg", "plan", "planen", "stigen",
                  "backen", "parken", "platsen", "stråket", "allén", "gränd", "leden", "bron",
                  "hamnen", "kajen", "centralen", "stationen", "terminalen")
_WORD = r"(?:S:t|[A-ZÅÄÖÉ][\wåäöéÅÄÖÉ:'-]*)"
_PHRASE = rf"{_WORD}(?:\s+{_WORD})*(?:\s+(?:{'|'.join(PLACE_NOUNS)})\b)?"
_PREPOSITIONS = ("vid", "på", "i", "längs", "mot", "nära", "bakom", "intill", "invid",
                 "utanför", "framför", "till", "från", "under", "genom", "kring", "runt",
                 "mellan", "och")
_AFTER_PREPOSITION = re.compile(rf"\b(?:{'|'.join(_PREPOSITIONS)})\s+({_PHRASE})")
_LEADING = re.compile(rf"^\s*({_PHRASE})")
#: An incident text must name a place this many times before it names the place.
MIN_INCIDENT_MENTIONS = 3


def place_names_in(text: str, *, leading: bool = False) -> list[str]:
    """Place names a text mentions: capitalised phrases after a preposition.

    A phrase may end in a place word (``torg``, ``centrum``, ``allé`` …, see
    :data:`PLACE_NOUNS`); one followed by any other lower-case word is left out, as
    the name probably goes on ("i Gamla stan" does not give "Gamla"). ``leading``
    also takes a name at the start (walk areas: "Tensta centrum och …").
    """
    if not text:
        return []
    matches = list(_AFTER_PREPOSITION.finditer(text))
    found = [m.group(1).strip() for m in matches if _complete(text, m.end(1), m.group(1))]
    if leading and (m := _LEADING.match(text)) and _complete(text, m.end(1), m.group(1)):
        found.insert(0, m.group(1).strip())
    return found


def _complete(text: str, end: int, phrase: str) -> bool:
    """A phrase is a whole name when it ends in a place word or suffix ("Farstagången"),
    or when no lower-case word follows it."""
    last = phrase.split()[-1].lower()
    if last in PLACE_NOUNS or last.endswith(PLACE_SUFFIXES):
        return True
    return not re.match(r"\s+[a-zåäöé]", text[end:])


def _name_places(places: list[Place], grid: Grid, keys: np.ndarray, obs: Observations,
                 area: StudyArea) -> None:
    """Name each place: site, else the most named square or street, else stadsdel + number."""
    too_general = {geodata.slugify(v[0]) for v in area.stadsdelar.values()} | \
        {geodata.slugify(v[2]) for v in area.stadsdelar.values() if v[2]} | \
        {"stockholm", "stockholms stad"}
    findings = obs.findings
    numbered: Counter[str] = Counter()
    used: Counter[str] = Counter()
    for place in places:
        name, source = None, "stadsdel"
        if place.site:
            name, source = place.site, "site"
        if name is None and findings is not None and not findings.empty:
            name = _best_name(_texts_of_findings(place, grid, findings, obs.walks), too_general, 1)
            source = "finding" if name else source
        if name is None and obs.incident_texts is not None:
            texts = obs.incident_texts(tuple(place.geometry.bounds))
            mentions = Counter(n for t in texts for n in set(place_names_in(t)))
            name = _best_name(mentions, too_general, MIN_INCIDENT_MENTIONS)
            source = "incident" if name else source
        if name is None:
            base = place.stadsdel_name or area.name
            numbered[base] += 1
            name = f"{base} {numbered[base]}"
        used[name] += 1
        if used[name] > 1:
            name = f"{name} ({used[name]})"
        place.name, place.name_source = name, source


def _texts_of_findings(place: Place, grid: Grid, findings: gpd.GeoDataFrame,
                       walks: Mapping[str, str]) -> Counter[str]:
    """Names mentioned by the findings in a place and the areas of their walks."""
    points = representative_points(findings.geometry)
    cell = grid.keys_of(shapely.get_x(points), shapely.get_y(points))
    inside = np.isin(cell, place.cells)
    mentions: Counter[str] = Counter()
    rows = findings.iloc[np.flatnonzero(inside)]
    for text in rows["description"].fillna(""):
        mentions.update(set(place_names_in(str(text))))
    for walk in dict.fromkeys(rows["walk_id"].dropna()) if "walk_id" in rows else ():
        mentions.update(set(place_names_in(walks.get(walk, ""), leading=True)))
    return mentions


def _best_name(mentions: Counter[str], too_general: set[str], minimum: int) -> str | None:
    ranked = sorted(((n, name) for name, n in mentions.items()
                     if geodata.slugify(name) not in too_general and n >= minimum),
                    key=lambda t: (-t[0], t[1]))
    return ranked[0][1] if ranked else None


# --- the sentence ------------------------------------------------------------------------

def sv_number(value: float, decimals: int = 1) -> str:
    """A number the Swedish way: decimal comma, minus sign (−)."""
    text = f"{abs(value):.{decimals}f}".replace(".", ",")
    return f"−{text}" if value < 0 and float(text.replace(",", ".")) != 0 else text


def trend_text(rise: float) -> str:
    """A relative change as Swedish text: "+40 %", "−12 %", "±0 %"."""
    pct = round(100 * rise)
    sign = "+" if pct > 0 else "−" if pct < 0 else "±"
    return f"{sign}{abs(pct)} %"


def explain(place: Place, period: Period, previous_known: bool, alpha: float = 0.05) -> str:
    """The Swedish explanation of a place: plain words first, then the statistics.

    Sets ``first_sentence``, ``plain`` and ``statistics`` of ``place`` (see
    :mod:`layers.analysis.place_text`) and returns them as one text, "Nr 1, Namn: …".
    """
    from layers.analysis.place_text import first_sentence, plain_sentences, statistics_text

    place.first_sentence = first_sentence(place, period)
    place.plain = plain_sentences(place, period, previous_known)
    place.statistics = statistics_text(place, alpha)
    return (f"Nr {place.rank}, {place.name}: {place.first_sentence} " + " ".join(place.plain)
            + f" Statistik: {place.statistics}")


# --- reading the store ---------------------------------------------------------------------


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
    choice = rule.default_period(store, "tertial")
    return choice.period if choice.complete or point_span(store) else None


def data_span(store) -> tuple[dt.date, dt.date] | None:
    """Local dates of the first and the last incident in the store (None when empty)."""
    span = store.time_span("incidents")
    if span is None:
        return None
    return _local_date(span[0]), _local_date(span[1])


def _local_date(value: object) -> dt.date:
    return pd.Timestamp(value).tz_convert(LOCAL_TZ).date()


def store_cell_size(store, config: PriorityConfig) -> float:
    """The configured cell size, or one chosen from the density of the whole store."""
    if config.cell_size:
        return float(config.cell_size)
    # only placed incidents are ranked, so only their span sets the density
    span = point_span(store)
    if span is None:
        return 150.0
    n = store.placed_count()
    years = max((span[1] - span[0]).days + 1, 30) / 365.25
    return float(auto_cell_size(n / years, study_area(None).land.area))


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


def _incident_reads(store, period: Period, sdn: str | None, bbox: tuple) -> _IncidentReads:
    from layers.analysis.aggregate import cache_key
    from layers.core.privacy import VISIBILITY_RAW
    from layers.io.filters import MapFilter
    from layers.store.base import Query

    key = cache_key(store, "priority-incidents", MapFilter(period=period, sdn=sdn),
                    visibility=VISIBILITY_RAW, extra=(bbox,))

    def compute() -> _IncidentReads:
        start, end = period.bounds()
        precise = {"precision": POINT_PRECISIONS}
        x, y, cats = store.read_points(Query(bbox=bbox, start=start, end=end, where=precise))
        # the trend compares placed incidents: the year before is known when they cover it
        span = point_span(store)
        previous = period.year_before()
        previous_known = span is not None and span[0].date() <= previous.start
        px = py = None
        if previous_known:
            p_start, p_end = previous.bounds()
            px, py, _ = store.read_points(Query(bbox=bbox, start=p_start, end=p_end,
                                                where=precise))
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
        open_rows = rows[~rows["category"].isin(SENSITIVE_CODES)]
        exact = open_rows[(open_rows["precision"] == "exact").to_numpy(bool)]
        reads.texts[box] = [str(t) for t in exact["description"].dropna()]
        reads.times[box] = (open_rows.geometry.x.to_numpy(), open_rows.geometry.y.to_numpy(),
                            open_rows["occurred_at"].to_numpy(dtype=object))

    def prefetch(boxes: list[tuple[float, float, float, float]]) -> None:
        missing = list(dict.fromkeys(b for b in boxes if b not in reads.times))
        if missing:
            query = Query(start=start, end=end, where=precise)
            for box, rows in zip(missing, store.read_boxes("incidents", query, missing),
                                 strict=True):
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


__all__ = [
    "CONFIG_FILE",
    "CellAnalysis",
    "Observations",
    "Place",
    "PriorityConfig",
    "PriorityResult",
    "ScoreParts",
    "StudyArea",
    "analyse_cells",
    "clear_cache",
    "combine",
    "data_span",
    "default_period",
    "explain",
    "load_config",
    "merge_places",
    "place_names_in",
    "priority_for_store",
    "rank_places",
    "relative_rise",
    "resolve_sdn",
    "study_area",
    "warm_cache",
]
