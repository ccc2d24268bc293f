"""The ranking itself: cells counted and scored, merged into places, the places ranked,
described (geometry, density, categories, findings, sites), named and explained.

:func:`rank_places` is a pure function of its :class:`Observations`; the helpers below
are its steps in the order it calls them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.analysis.emerging import EmergingResult
from layers.analysis.grid import Grid
from layers.analysis.place_text import explain, time_pattern
from layers.analysis.priority.names import name_places
from layers.analysis.priority.result import Observations, Place, PriorityResult
from layers.analysis.priority.score import (
    CellAnalysis,
    analyse_cells,
    combine,
    merge_places,
    relative_rise,
)
from layers.analysis.priority_config import PriorityConfig, load_config
from layers.analysis.study_area import StudyArea, cell_stadsdel, covering, study_area
from layers.core.periods import Period
from layers.core.schema import (
    FINDING_CATEGORIES,
    INCIDENT_CATEGORIES,
    SENSITIVE_CODES,
    category_lookup,
)
from layers.io.joins import representative_points

_INCIDENT_LOOKUP = category_lookup(INCIDENT_CATEGORIES)
_FINDING_LABELS = {c.code: c.label for c in FINDING_CATEGORIES}
_SENSITIVE = frozenset(SENSITIVE_CODES)


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
    ranked_keys, keys = covering(size, config.shape, sdn)
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
    name_places(places, grid, keys, obs, area)
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
    stadsdel_of = cell_stadsdel(grid.size, grid.shape, keys.tobytes())
    sdo_of = np.array([area.stadsdelar.get(s, (None, None, None))[1] for s in stadsdel_of],
                      dtype=object)
    density = _area_densities(counts, sdo_of, area, is_ranked)
    findings = obs.findings
    sites = obs.sites
    category_counts = _categories_per_place(ranked, len(keys), idx, cats)
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
        counted = category_counts[len(places)]
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


def _categories_per_place(ranked: list[_Group], n_cells: int, idx: np.ndarray,
                          cats: np.ndarray) -> list[dict[str, int]]:
    """Incidents per category code (raw categories mapped through the taxonomy, as
    text) of each ranked place, in the order of ``ranked``; only categories present."""
    place_of_cell = np.full(n_cells, -1, dtype=np.int64)
    for k, candidate in enumerate(ranked):
        place_of_cell[candidate.cells] = k
    place = place_of_cell[idx] if len(idx) else np.array([], dtype=np.int64)
    chosen = place >= 0
    # each distinct raw category once: its code, then one label per distinct code
    raw: dict[object, int] = {}
    raw_of = np.fromiter((raw.setdefault(c, len(raw)) for c in cats[chosen]),
                         dtype=np.int64, count=int(chosen.sum()))
    labels: dict[str, int] = {}
    label_of_raw = np.array([labels.setdefault(str(_INCIDENT_LOOKUP.get(str(c).lower(), c)),
                                               len(labels)) for c in raw], dtype=np.int64)
    names = list(labels)
    n_labels = max(len(names), 1)
    label = label_of_raw[raw_of] if len(raw_of) else np.array([], dtype=np.int64)
    table = np.bincount(place[chosen] * n_labels + label,
                        minlength=len(ranked) * n_labels).reshape(len(ranked), n_labels)
    return [{names[j]: int(row[j]) for j in np.flatnonzero(row)} for row in table]


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
    if obs.incident_times is None:
        return None
    x, y, times = obs.incident_times(tuple(place.geometry.bounds))
    if len(times) == 0:
        return None
    inside = np.isin(grid.keys_of(np.asarray(x, float), np.asarray(y, float)), place.cells)
    if not pd.api.types.is_datetime64_any_dtype(getattr(times, "dtype", None)):
        times = np.asarray(times, dtype=object)  # a datetime array stays one (no objects)
    return time_pattern(times[inside]).phrase()


def _area_densities(counts: np.ndarray, sdo_of: np.ndarray, area: StudyArea,
                    is_ranked: np.ndarray) -> dict[str, float]:
    """Incidents per m² of land in each stadsdelsområde (or in the ranked district)."""
    if area.code is not None:
        m2 = area.area_m2[area.code]
        return {area.code: float(counts[is_ranked].sum()) / m2} if m2 else {}
    return {code: float(counts[sdo_of == code].sum()) / m2
            for code, m2 in area.area_m2.items() if m2 > 0}


__all__ = ["MAX_FINDING_LINKS", "NEAR_SITE_M", "rank_places"]
