"""Incidents aggregated on the server into a grid of square cells in metres.

The map never draws 100 000 markers: at city and district zoom it shows a
choropleth of square cells of :data:`CELL_SIZES` metres in SWEREF 99 18 00
(EPSG:3011), on the lattice of :class:`layers.analysis.grid.Grid` that the priority
analysis uses too, so a cell is the same square in every view. Each cell holds
its count in the period, the count in the previous comparable period (the trend)
and its count per category.

Only incidents whose place is known to the address or street are gridded; those
placed at a stadsdel or the municipality are counted in :attr:`IncidentGrid.imprecise`
and shown in the district figures instead. Counts shown to the public go through
:func:`layers.core.privacy.suppress` ("<5").

A whole-city grid for one filter is computed once and kept for a few minutes
(keyed by :func:`cache_key`: the whole normalised query, the role's visibility
class and the store's data version); a map request only slices the cells inside
its bbox, so panning is cheap and the colour classes stay the same wherever the
user looks. What a grid counts for a user is decided by
:func:`layers.core.privacy.counted_categories` (never the sensitive categories unless
a handläggare names them).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import shapely

from layers.analysis.grid import Grid, pack, unpack
from layers.core.periods import Period
from layers.core.privacy import ALL_CATEGORY_CODES, VISIBILITY_RAW, suppress
from layers.core.schema import INCIDENT_CATEGORIES, STRATEGIC_CODES
from layers.io.filters import MapFilter, area_codes, xy_to_lonlat
from layers.store.base import Points, Query, Store
from layers.store.cache import ComputedPerStore

LOGGER = logging.getLogger(__name__)

#: Cell sizes (metres) a map may ask for.
CELL_SIZES = (100, 250, 500, 1000)
#: Colours of the choropleth classes, light to dark, by number of classes
#: (ColorBrewer YlOrRd).
CLASS_COLOURS = {
    1: ("#fd8d3c",),
    2: ("#fecc5c", "#e31a1c"),
    3: ("#ffeda0", "#feb24c", "#f03b20"),
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"),
}
#: How long a computed city grid is reused (seconds).
CACHE_SECONDS = 300
CACHE_SIZE = 48
#: Decimals of WGS 84 coordinates in the cell GeoJSON (5: about a metre).
COORD_DECIMALS = 5

_CATEGORY_CODES = np.array([c.code for c in INCIDENT_CATEGORIES], dtype=object)
_CATEGORY_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}


# --- reading points ------------------------------------------------------------------


def read_points(store: Store, query: Query) -> Points:
    """Return the points, categories and precision flags of the incidents a query selects.

    The store answers (:meth:`Store.read_points`): each backend reads only what a
    grid needs, with its own SQL. An object with nothing but ``read`` (a test
    double) gets the generic path.
    """
    if isinstance(store, Store):
        return store.read_points(query)
    return Store.read_points(store, query)  # type: ignore[arg-type]


# --- the grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentGrid:
    """Counts per cell for one filter, this period and the previous one.

    ``counts`` and ``previous`` are (cells × categories) integer matrices whose
    rows follow ``keys`` (sorted grid keys) and whose columns follow
    ``categories``.
    """

    grid: Grid
    period: Period
    previous_period: Period
    keys: np.ndarray
    categories: tuple[str, ...]
    counts: np.ndarray
    previous: np.ndarray
    #: Incidents in the period placed only at a stadsdel or the municipality.
    imprecise: int
    #: The same per category.
    imprecise_by_category: dict[str, int] = field(default_factory=dict)

    @property
    def totals(self) -> np.ndarray:
        """Count per cell in the period."""
        return self.counts.sum(axis=1)

    @property
    def previous_totals(self) -> np.ndarray:
        """Count per cell in the previous period."""
        return self.previous.sum(axis=1)

    def inside(self, bbox: tuple[float, float, float, float] | None) -> np.ndarray:
        """Indexes of the cells that intersect a bbox in EPSG:3011 (all when None)."""
        if bbox is None:
            return np.arange(len(self.keys))
        size = self.grid.size
        i, j = unpack(self.keys)
        minx, miny, maxx, maxy = bbox
        ok = ((i + 1) * size >= minx) & (i * size <= maxx) \
            & ((j + 1) * size >= miny) & (j * size <= maxy)
        return np.flatnonzero(ok)


def incident_grid(store: Store, flt: MapFilter, size: int,
                  categories: tuple[str, ...] | None = None, *,
                  visibility: str = VISIBILITY_RAW) -> IncidentGrid:
    """Aggregate the incidents of a filter (without its bbox) into cells of ``size`` m.

    ``categories`` overrides the filter's categories: pass the codes
    :func:`layers.core.privacy.counted_categories` returns for the user, so what a
    grid counts follows the privacy rule. The filter must have a period. The grid
    of every category is computed once per period, area and cell size, and each
    category set's grid once per visibility class; both are kept for
    :data:`CACHE_SECONDS` under :func:`cache_key` (which holds the data version).
    """
    if size not in CELL_SIZES:
        raise ValueError(f"cell size must be one of {CELL_SIZES}")
    if flt.period is None:
        raise ValueError("a grid needs a period")
    codes = categories if categories is not None else flt.categories
    if codes is None:
        return _all_categories(store, flt, size)
    query = flt.with_(categories=tuple(codes), category="", bbox=None)
    if visibility == VISIBILITY_RAW and query == _all_categories_query(flt):
        # the same cache entry: asking for it inside its own computation would wait forever
        return _all_categories(store, flt, size)
    key = cache_key(store, "grid", query, visibility=visibility, size=size)
    return _GRIDS.get(store, key, lambda: _some_categories(store, flt, size, query))


def _some_categories(store: Store, flt: MapFilter, size: int, query: MapFilter
                     ) -> IncidentGrid:
    """The columns of ``query``'s categories cut from the grid of every category."""
    full = _all_categories(store, flt, size)
    columns = [k for k, c in enumerate(full.categories) if c in query.categories]
    counts, previous = full.counts[:, columns], full.previous[:, columns]
    keep = (counts.sum(axis=1) + previous.sum(axis=1)) > 0
    imprecise = sum(full.imprecise_by_category.get(full.categories[k], 0) for k in columns)
    result = replace(full, keys=full.keys[keep],
                     categories=tuple(full.categories[k] for k in columns),
                     counts=counts[keep], previous=previous[keep], imprecise=imprecise,
                     imprecise_by_category={full.categories[k]: full.imprecise_by_category.get(
                         full.categories[k], 0) for k in columns})
    return result


def _all_categories(store: Store, flt: MapFilter, size: int) -> IncidentGrid:
    """The grid of every category for the filter's period and area (cached).

    The query is normalised first (every category, no bbox), and the cache key
    and the computation are both made from that one query, so an entry can never
    hold a narrower selection than its key says (issue 17: a grid first asked for
    one category was served as "all categories").
    """
    query = _all_categories_query(flt)
    key = cache_key(store, "grid", query, visibility=VISIBILITY_RAW, size=size)
    return _GRIDS.get(store, key, lambda: _compute_all_categories(store, query, size))


def _all_categories_query(flt: MapFilter) -> MapFilter:
    return flt.with_(categories=ALL_CATEGORY_CODES, category="", bbox=None)


def _compute_all_categories(store: Store, query: MapFilter, size: int) -> IncidentGrid:
    """Count every category of ``query`` (normalised) per cell, in the store."""
    started = time.perf_counter()
    grid = Grid(float(size), "square")
    period, previous = query.period, query.period.previous()
    used = tuple(_CATEGORY_CODES)
    parts, imprecise = [], {}
    for p in (period, previous):
        # the store counts per cell, category and precision in its own database
        counts = store.grid_counts(query.incident_query(period=p, bbox=False), float(size))
        ok = counts.precise
        if p is period:
            names = counts.category[~ok].astype(str)
            imprecise = {str(c): int(counts.n[~ok][names == c].sum()) for c in np.unique(names)}
        parts.append((pack(counts.i[ok], counts.j[ok]), counts.category[ok], counts.n[ok]))
    all_keys = np.unique(np.concatenate([parts[0][0], parts[1][0]]))
    matrices = []
    for cell_keys, cats, n in parts:
        matrix = np.zeros((len(all_keys), len(used)), dtype=np.int64)
        if len(cell_keys):
            rows = np.searchsorted(all_keys, cell_keys)
            cols = pd.Categorical(cats, categories=list(used)).codes.astype(np.int64)
            ok = cols >= 0
            np.add.at(matrix, (rows[ok], cols[ok]), n[ok])
        matrices.append(matrix)
    for matrix in matrices:
        matrix.setflags(write=False)  # shared by every request: never changed in place
    result = IncidentGrid(grid, period, previous, all_keys, used, matrices[0], matrices[1],
                          sum(imprecise.values()), imprecise)
    LOGGER.debug("grid %s %s m: %d cells in %.2f s", query.period.code, size, len(all_keys),
                 time.perf_counter() - started)
    return result


#: The tables an incident aggregate (grid, area of a code) reads.
INCIDENT_LAYERS = ("incidents", "stadsdelar", "stadsdelsomraden")


def cache_key(store: Store, kind: str, flt: MapFilter, *, visibility: str,
              size: float | None = None, bbox: bool = False, extra: tuple = (),
              layers: tuple[str, ...] | None = INCIDENT_LAYERS) -> tuple:
    """The one cache key of every cache of aggregated incident data.

    Built from the whole normalised query: what is cached (``kind``), the
    versions of the tables it reads (``layers``, :meth:`Store.layer_version`;
    None: every data table), the period, the categories (sorted codes; None
    is spelled out as every code, so "all" and the list of all are one entry),
    the stadsdelsområde (with the areas it was made of) and the stadsdel, the
    bbox when the cached answer depends on it, the cell size, the visibility
    class of the role (:func:`layers.core.privacy.visibility`, or
    :data:`layers.core.privacy.VISIBILITY_RAW` for an answer filtered afterwards) and
    anything else the computation reads (``extra``). A cache that leaves out a
    field it depends on serves one user's answer to another; building every key
    here keeps that mistake in one place.
    """
    codes = ALL_CATEGORY_CODES if flt.categories is None else flt.categories
    return (kind, data_version(store, layers),
            flt.period.code if flt.period is not None else None,
            tuple(sorted(set(codes))),
            area_codes(flt.sdn) if flt.sdn else None,
            flt.stadsdel,
            tuple(round(v, 6) for v in flt.bbox) if bbox and flt.bbox is not None else None,
            None if size is None else float(size),
            visibility, *extra)


def data_version(store: Store, layers: tuple[str, ...] | None = None) -> tuple:
    """The store's data version of ``layers`` (:meth:`Store.layer_version`; None: every
    data table): changes with every committed write of those tables, never with an
    uncommitted one, and never waits."""
    return store.layer_version(layers)


# one cache per store object, held weakly: a new store never sees another's grids; a
# grid is computed once however many requests ask for it at the same time
_GRIDS = ComputedPerStore(CACHE_SIZE, CACHE_SECONDS)


def clear_cache() -> None:
    """Forget every computed grid (tests, after an import)."""
    _GRIDS.clear()


# --- classes, trend and the GeoJSON the map draws ---------------------------------------


def class_breaks(totals: np.ndarray, suppress_below: int | None, n_classes: int = 5
                 ) -> list[int]:
    """Lower bounds of the colour classes for cell counts (the first is 1).

    With suppression the first class is exactly 1..below-1 (shown "<5"), so a
    colour never tells a suppressed count. The other bounds are rounded quantiles
    of the non-empty cells, each at least two above the one before.
    """
    values = np.asarray(totals)[np.asarray(totals) > 0]
    floor = suppress_below if suppress_below and suppress_below > 1 else 1
    breaks = [1] if floor == 1 else [1, floor]
    rest = values[values >= floor]
    if len(rest):
        wanted = n_classes - len(breaks) + 1
        for q in np.linspace(0, 1, wanted + 1)[1:-1]:
            b = _nice(float(np.quantile(rest, q)))
            # no class one count wide ("5", "6–9"): too fine to read on a map
            if b >= breaks[-1] + 2:
                breaks.append(b)
    return breaks[:n_classes]


def _nice(value: float) -> int:
    """Round to the nearest 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5 times a power of ten."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    steps = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 10)
    return max(1, int(round(min(steps, key=lambda s: abs(s * power - value)) * power)))


def legend(breaks: list[int], suppress_below: int | None) -> list[dict]:
    """Legend entries: class index, Swedish label and colour, light to dark."""
    colours = CLASS_COLOURS[max(1, min(len(breaks), len(CLASS_COLOURS)))]
    entries = []
    for k, low in enumerate(breaks):
        high = breaks[k + 1] - 1 if k + 1 < len(breaks) else None
        if suppress_below and k == 0 and high == suppress_below - 1:
            label = f"<{suppress_below}"
        elif high is None:
            label = f"{low} eller fler"
        elif high == low:
            label = f"{low}"
        else:
            label = f"{low}–{high}"
        entries.append({"class": k, "min": low, "max": high, "label": label,
                        "colour": colours[k]})
    return entries


def trend(count: int, previous: int, suppress_below: int | None, previous_label: str
          ) -> tuple[str | None, str]:
    """Direction (``upp``/``ned``/``oförändrad``/``ny``/None) and a Swedish sentence."""
    small = bool(suppress_below) and (0 < count < suppress_below
                                      or 0 < previous < suppress_below)
    if small:
        shown = f"{suppress(count, suppress_below)} mot {suppress(previous, suppress_below)}"
        return None, f"För få för att visa förändring ({shown} under {previous_label})."
    if previous == 0 and count == 0:
        return None, f"Inga händelser, inte heller under {previous_label}."
    if previous == 0:
        return "ny", f"Nytt: {count} händelser, inga under {previous_label}."
    change = count - previous
    pct = round(100 * change / previous)
    direction = "upp" if change > 0 else "ned" if change < 0 else "oförändrad"
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return direction, f"{sign}{abs(pct)} % mot {previous_label} ({previous} → {count})."


def grid_geojson(result: IncidentGrid, bbox: tuple[float, float, float, float] | None,
                 suppress_below: int | None) -> dict:
    """The cells inside ``bbox`` (EPSG:3011) as a GeoJSON FeatureCollection in WGS 84.

    Only cells with incidents in the period are features. Properties: ``count``
    and ``previous`` (numbers, or "<5" when suppressed), ``class`` (legend index),
    ``trend`` and ``trend_text`` (Swedish), ``strategic`` (strategic crimes) and
    ``by_category`` ({code: count}, largest first; the labels are in the top-level
    ``categories``). Top-level members also give the period, the cell size, the
    totals in the bbox and the legend.
    """
    breaks = class_breaks(result.totals, suppress_below)
    totals, prev_totals = result.totals, result.previous_totals
    rows = result.inside(bbox)
    in_view, prev_in_view = int(totals[rows].sum()), int(prev_totals[rows].sum())
    rows = rows[totals[rows] > 0]
    strategic_cols = [k for k, c in enumerate(result.categories) if c in STRATEGIC_CODES]
    strategic = result.counts[rows][:, strategic_cols].sum(axis=1) if strategic_cols \
        else np.zeros(len(rows), dtype=np.int64)
    label_prev = result.previous_period.short_label
    rings = _to_wgs84(result.grid.polygons(result.keys[rows])) if len(rows) else []
    features = []
    for pos, r in enumerate(rows):
        count, prev = int(totals[r]), int(prev_totals[r])
        direction, text = trend(count, prev, suppress_below, label_prev)
        nonzero = np.flatnonzero(result.counts[r])
        order = nonzero[np.argsort(-result.counts[r, nonzero], kind="stable")]
        features.append({
            "type": "Feature",
            "id": str(int(result.keys[r])),
            "geometry": {"type": "Polygon", "coordinates": [rings[pos]]},
            "properties": {
                "count": suppress(count, suppress_below),
                "previous": suppress(prev, suppress_below),
                "class": _class_of(count, breaks),
                "trend": direction,
                "trend_text": text,
                "strategic": suppress(int(strategic[pos]), suppress_below),
                "by_category": {result.categories[c]: suppress(int(result.counts[r, c]),
                                                               suppress_below)
                                for c in order},
            },
        })
    return {
        "type": "FeatureCollection",
        "features": features,
        "period": result.period.code,
        "period_label": result.period.label,
        "previous_period": result.previous_period.code,
        "previous_period_label": result.previous_period.label,
        "cell_size": int(result.grid.size),
        "total": suppress(in_view, suppress_below),
        "total_previous": suppress(prev_in_view, suppress_below),
        "imprecise": suppress(result.imprecise, suppress_below),
        "suppress_below": suppress_below or None,
        "categories": {c: _CATEGORY_LABELS[c] for c in result.categories},
        "legend": legend(breaks, suppress_below),
    }


def _class_of(count: int, breaks: list[int]) -> int | None:
    if count <= 0:
        return None
    return int(np.searchsorted(np.asarray(breaks), count, side="right") - 1)


def _to_wgs84(polygons: np.ndarray) -> list[list[list[float]]]:
    """Exterior rings of polygons (EPSG:3011) as WGS 84 coordinate lists."""
    if len(polygons) == 0:
        return []
    coords = shapely.get_coordinates(shapely.get_exterior_ring(polygons))
    lon, lat = xy_to_lonlat(coords[:, 0], coords[:, 1])
    per_ring = shapely.get_num_coordinates(shapely.get_exterior_ring(polygons))
    points = np.round(np.column_stack([lon, lat]), COORD_DECIMALS).tolist()
    out, start = [], 0
    for n in per_ring:
        out.append(points[start:start + n])
        start += n
    return out


