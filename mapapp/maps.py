"""The maps planners browse: the city map (``/``) and one district's map (``/sdn/<code>``).

Folium builds the map (basemap from TILE_URL, the empty layer groups, the scale);
``static/js/map.js`` fills the groups from ``/api/...`` for the filter in the form
and the part of the map in view (the priority places of :mod:`mapapp.priority` for
the area and period alone), draws the legend and keeps the filter and the map
position in the URL (``?period=2024-T2&category=strategiska&zoom=13&lat=…&lon=…``),
so a view can be bookmarked and shared and a filter change never moves the map.
The page also works as a plain form: submitting it reloads with the same URL.
"""

from __future__ import annotations

import functools
import math

import folium
import geopandas as gpd
import shapely
from flask import Blueprint, abort, redirect, render_template, request, url_for

import geodata
from layers.analysis.areas import AreaCatalogue, area_catalogue
from layers.analysis.default_period import default_period
from layers.analysis.emerging import PATTERNS
from layers.core import privacy
from layers.core.periods import period_choices
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    OWNERS,
    SENSITIVE_CODES,
    STORE_EPSG,
    STRATEGIC_CODES,
)
from layers.domain.users import User
from layers.indicators import INDICATORS
from layers.indicators.keyfigures import FIGURE_LAYERS, area_figures
from layers.io.filters import CATEGORY_GROUPS, OPEN_STATUS, FilterError, MapFilter, xy_to_lonlat
from layers.io.geojson import feature_collection
from layers.io.joins import representative_points
from layers.store.base import Store
from mapapp.access import current_user
from mapapp.folium_ import base_map, folium_parts
from mapapp.page_cache import MAP_LAYERS, cached_page
from mapapp.reading import RANK_COLOURS, latest_data_year, request_filter, suppress_below
from mapapp.store_ import get_store

bp = Blueprint("maps", __name__)

#: Zoom levels snap to quarters.
ZOOM_SNAP = 0.25
#: Zoom from which incidents are drawn as (clustered) points instead of cells.
POINT_ZOOM = 15
#: (lowest zoom, cell size in metres): larger cells when zoomed out.
CELL_SIZE_BY_ZOOM = ((0, 1000), (11, 500), (12, 250), (13, 100))
#: Most points fetched for one view.
POINT_LIMIT = 5000
#: Metres the map outlines are simplified by (the API gives full detail).
OUTLINE_SIMPLIFY_M = 10.0
#: Metres the land underlay is simplified by.
LAND_SIMPLIFY_M = 20.0

#: The layer groups, drawing order bottom to top, and their Swedish names.
GROUP_LABELS = {
    "omraden": "Stadsdelsområden",
    "stadsdelar": "Stadsdelar",
    "incidents": "Händelser",
    "trend": "Trendklass (hot spots över tid)",
    "priority": "Prioriterade platser",
    "sites": "Platssamverkan",
    "findings": "Fynd från trygghetsvandringar",
}
#: Groups off until the visitor turns them on in the layer control (costly to compute).
HIDDEN_GROUPS = ("trend",)
#: Font Awesome icon per finding category.
FINDING_ICONS = {
    "belysning": "lightbulb", "vegetation": "tree", "klotter": "spray-can",
    "nedskrapning": "trash-can", "skymd_sikt": "eye-slash",
    "trasig_utrustning": "screwdriver-wrench", "otrygg_passage": "archway",
    "overgiven_byggnad": "house-crack", "ovrigt": "circle-info",
}
#: Colour per finding status (red: new, orange: assigned, green: fixed, grey: rejected).
STATUS_COLOURS = {"ny": "#c62828", "tilldelad": "#ef6c00", "atgardad": "#2e7d32",
                  "avvisad": "#616161"}
#: Colour of each incident group, for points.
GROUP_COLOURS = {"vald": "#b71c1c", "egendom": "#1565c0", "narkotika": "#6a1b9a",
                 "olycka": "#ef6c00", "ovrigt": "#455a64"}


@bp.app_template_filter("antal")
def count_filter(value: object, suppress_below: int | None = None) -> str:
    """A count the Swedish way ("12 345"), or "<5" when small counts are hidden
    (a count suppressed already, such as "<5", is shown as it is)."""
    if isinstance(value, str) and not value.strip().isdigit():
        return value
    shown = privacy.suppress(int(value), suppress_below)  # type: ignore[arg-type]
    return shown if isinstance(shown, str) else f"{shown:,}".replace(",", "\u00a0")


@bp.app_template_filter("decimal")
def decimal_filter(value: float, places: int = 1) -> str:
    """A number with a decimal comma ("4,5")."""
    return f"{value:,.{places}f}".replace(",", "\u00a0").replace(".", ",")


@bp.get("/")
@cached_page(MAP_LAYERS)
def city():
    """The city map: every stadsdelsområde, filters, aggregated incidents."""
    chosen = _chosen_district(None)
    if chosen is not None:
        return chosen
    return _map_page(None)


@bp.get("/sdn/<code>")
@cached_page(FIGURE_LAYERS, grace=True)
def district(code: str):
    """One stadsdelsområde's map, zoomed to it, with its key figures."""
    catalogue = area_catalogue(get_store())
    if code not in catalogue.current:
        successor = {old: new for new, olds in geodata.MERGERS.items() for old in olds}
        if code in successor:
            return redirect(url_for("maps.district", code=successor[code], **request.args),
                            301)
        abort(404)
    chosen = _chosen_district(code)
    if chosen is not None:
        return chosen
    return _map_page(code)


def _chosen_district(current: str | None):
    """A redirect when the plain form chose another area than the page shows.

    Choosing a stadsdelsområde has one behaviour everywhere: it opens that area's page
    (``/sdn/<code>``, zoomed to it, with its heading and key figures), and "Hela
    staden" opens the city map; the other filters go along, the map position does not.
    Returns None when the page already shows the choice.
    """
    if "sdn" not in request.args:
        return None
    catalogue = area_catalogue(get_store())
    text = request.args.get("sdn", "").strip()
    target = None
    if text:
        matches = [c for c, name in catalogue.current.items()
                   if text.lower() in (c, name.lower())]
        if not matches:
            return None  # an unknown area: the filter reports it
        target = matches[0]
    if target == current:
        return None
    args = {k: v for k, v in request.args.items()
            if k not in ("sdn", "stadsdel", "zoom", "lat", "lon")}
    if target is None:
        return redirect(url_for("maps.city", **args))
    return redirect(url_for("maps.district", code=target, **args))


@bp.get("/sdn/<code>/nyckeltal")
@cached_page(FIGURE_LAYERS, grace=True)
def district_figures(code: str):
    """The key figures panel alone, for the filter in the query string (map.js)."""
    store = get_store()
    catalogue = area_catalogue(store)
    if code not in catalogue.current:
        abort(404)
    flt = request_filter("incidents", default_period=default_period(store, "year").period)
    user = current_user()
    try:
        counted = privacy.counted_categories(user, flt.category)
    except privacy.SensitiveRefused as exc:
        return render_template("maps/_figures_refused.html", message=exc.message), 403
    figures = area_figures(store, code, catalogue.current[code], flt.with_(sdn=code), counted)
    return render_template("maps/_figures.html", figures=figures, suppress=suppress_below(),
                           sensitive_below=privacy.sensitive_below(user, suppress_below()),
                           defs=INDICATORS)


# --- the page --------------------------------------------------------------------------


def _map_page(district: str | None):
    store = get_store()
    catalogue = area_catalogue(store)
    last_year = latest_data_year(store)
    default = default_period(store, "year")
    error, status = None, 400
    args = dict(request.args)
    if args.get("from") and "period" in args:
        # the plain form sends the period menu and the dates: the dates win
        del args["period"]
    try:
        flt = request_filter("incidents", default_period=default.period, args=args)
    except FilterError as exc:
        error = exc
        flt = MapFilter(period=default.period)
    # the page says which period it shows and why, unless the visitor chose it
    chosen = any(args.get(k) for k in ("period", "from", "to"))
    period_reason = None if chosen and not error else default.reason
    if district:
        flt = flt.with_(sdn=district)
    view = _view_from_args()
    folium_map, groups = _folium_map(view)
    parts = folium_parts(folium_map)
    user = current_user()
    try:
        counted = privacy.counted_categories(user, flt.category)
    except privacy.SensitiveRefused as exc:
        # the page shows the default filter and says why (the grid would answer 403)
        error, status = FilterError(exc.message, "category"), 403
        flt = flt.with_(category="", categories=None)
        counted = privacy.counted_categories(user, None)
    figures = None
    if district:
        figures = area_figures(store, district, catalogue.current[district], flt, counted)
    config = _page_config(parts["name"], groups, catalogue, flt, district, view, user)
    first_year = _first_data_year(store, last_year)
    return render_template(
        "maps/map.html",
        parts=parts, config=config, flt=flt, error=error, figures=figures,
        period_reason=period_reason,
        district=district, district_name=catalogue.current.get(district or ""),
        areas=catalogue.current, stadsdelar=catalogue.stadsdelar,
        periods=period_choices(first_year, last_year),
        category_groups=CATEGORY_GROUPS,
        # the sensitive categories only for roles that may ask for them (else 403)
        categories=[c for c in INCIDENT_CATEGORIES
                    if not c.sensitive or privacy.sees_sensitive_points(user)],
        statuses=FINDING_STATUSES, open_status=OPEN_STATUS,
        suppress=suppress_below(),
        sensitive_below=privacy.sensitive_below(user, suppress_below()), defs=INDICATORS,
        carry={k: v for k, v in flt.params().items() if k not in ("sdn", "stadsdel")},
    ), (status if error else 200)


def _first_data_year(store: Store, last_year: int) -> int:
    """The year of the oldest incident (at most ten years back, for the period menu)."""
    span = store.time_span("incidents")
    if span is None:
        return last_year
    return max(int(span[0].year), last_year - 10)


def _view_from_args() -> dict[str, float] | None:
    """``zoom``, ``lat``, ``lon`` from the URL when all three are sane, else None."""
    try:
        zoom = round(float(request.args.get("zoom", "")) / ZOOM_SNAP) * ZOOM_SNAP
        lat = float(request.args.get("lat", ""))
        lon = float(request.args.get("lon", ""))
    except ValueError:
        return None
    if not (1 <= zoom <= 19 and -85 < lat < 85 and -180 <= lon <= 180) \
            or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return {"zoom": zoom, "lat": lat, "lon": lon}


def _folium_map(view: dict[str, float] | None) -> tuple[folium.Map, dict[str, str]]:
    """The folium map with its empty layer groups; return it and the groups' JS names."""
    # without a view in the URL map.js fits the area (without the pan animation
    # folium's fit_bounds would start after the page's script has run)
    # zoomSnap 0.25: fitting the city or an area fills a phone screen too
    folium_map = base_map((view["lat"], view["lon"]), view["zoom"], zoom_snap=ZOOM_SNAP) \
        if view else base_map(zoom_snap=ZOOM_SNAP)
    groups = {}
    for key, label in GROUP_LABELS.items():
        group = folium.FeatureGroup(name=label, show=key not in HIDDEN_GROUPS, control=False)
        group.add_to(folium_map)
        groups[key] = group.get_name()
    tiles = [c for c in folium_map._children.values() if isinstance(c, folium.TileLayer)]
    if tiles:
        groups["_tiles"] = tiles[0].get_name()
    return folium_map, groups


def _page_config(map_name: str, groups: dict[str, str], catalogue: AreaCatalogue,
                 flt: MapFilter, district: str | None, view: dict | None,
                 user: User | None) -> dict:
    """Everything map.js needs, as JSON in the page."""
    labels = {c.code: c.label for c in INCIDENT_CATEGORIES}
    group_of = {c.code: c.group for c in INCIDENT_CATEGORIES}
    groups = dict(groups)
    tile_layer = groups.pop("_tiles", None)
    return {
        "map": map_name,
        "groups": groups,
        "groupLabels": GROUP_LABELS,
        "tileLayer": tile_layer,
        "district": district,
        "bounds": _leaflet_bounds(catalogue.bounds_wgs84(district) if district
                                  else catalogue.city_bounds_wgs84()),
        "figuresUrl": url_for("maps.district_figures", code=district) if district else None,
        "view": view,
        "api": {
            "grid": url_for("api.incident_grid"),
            "incidents": url_for("api.incidents"),
            "findings": url_for("api.layer", layer="findings"),
            "sites": url_for("api.layer", layer="sites"),
            "priority": url_for("priority.api"),
            "emerging": url_for("priority.emerging_api"),
        },
        # the priority layer ranks by sdn and period only (layers/analysis/priority/)
        "priorityUrl": url_for("priority.ranking"),
        "priorityColours": [list(pair) for pair in RANK_COLOURS],
        # the trend layer: ArcGIS's emerging hot spot patterns (layers/analysis/emerging.py)
        "trendPatterns": [{"code": p.code, "label": p.label, "colour": p.colour}
                          for p in PATTERNS],
        "districtUrl": url_for("maps.district", code="CODE"),
        "cityUrl": url_for("maps.city"),
        "pointZoom": POINT_ZOOM,
        "pointLimit": POINT_LIMIT,
        "cellSizes": CELL_SIZE_BY_ZOOM,
        "pointCategories": list(privacy.point_categories(user)),
        "pointPrecisions": list(privacy.POINT_PRECISIONS),
        "sensitiveCategories": list(SENSITIVE_CODES),
        "strategicCategories": list(STRATEGIC_CODES),
        "seesSensitive": privacy.sees_sensitive_points(user),
        "suppressBelow": suppress_below(),
        "categoryLabels": labels,
        "categoryGroups": {code: [c for c, g in group_of.items() if g == code]
                           for code in INCIDENT_GROUPS},
        "groupColours": {code: GROUP_COLOURS.get(group_of[code], "#455a64")
                         for code in labels},
        "findingCategories": {c.code: {"label": c.label, "icon": FINDING_ICONS.get(c.code,
                                                                                   "circle")}
                              for c in FINDING_CATEGORIES},
        "findingStatuses": {code: {"label": label, "colour": STATUS_COLOURS[code]}
                            for code, label in FINDING_STATUSES.items()},
        "findingStatusOrder": list(FINDING_STATUSES),
        "owners": OWNERS,
        "stadsdelNames": catalogue.stadsdel_names,
        "stadsdelLabelZoom": 12 if district else 13,
        "stadsdelOutlineZoom": 11 if district else 12,
        "filter": flt.params(),
        "land": _land(),
        "outlines": _map_outlines(catalogue, district),
    }


def _leaflet_bounds(bbox: tuple[float, float, float, float]) -> list[list[float]]:
    """(minlon, minlat, maxlon, maxlat) as Leaflet's [[south, west], [north, east]]."""
    minlon, minlat, maxlon, maxlat = bbox
    return [[round(minlat, 5), round(minlon, 5)], [round(maxlat, 5), round(maxlon, 5)]]


@functools.lru_cache(maxsize=1)
def _land() -> dict:
    """Stockholm's land (water removed), drawn under the basemap: when tiles cannot
    be fetched the map still shows the shore, the lakes and the bays."""
    land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
    union = shapely.union_all(land.geometry.to_numpy())
    frame = gpd.GeoDataFrame({"id": ["land"]}, geometry=[union], crs=STORE_EPSG)
    return feature_collection(frame, [], decimals=5, simplify=LAND_SIMPLIFY_M)


@functools.lru_cache(maxsize=32)
def _map_outlines(catalogue: AreaCatalogue, district: str | None) -> dict:
    """The outlines a page draws (the areas; the stadsdelar of the district or all),
    computed once per catalogue."""
    stadsdelar = catalogue.stadsdelar
    if district:
        stadsdelar = stadsdelar[stadsdelar["sdo_code"] == district]
    return {"omraden": _outlines(catalogue.omraden, ["code", "name"]),
            "stadsdelar": _outlines(stadsdelar, ["code", "name", "sdo_code"])}


def _outlines(frame: gpd.GeoDataFrame, columns: list[str]) -> dict:
    """Simplified outlines plus a label point per area (``label`` = [lat, lon])."""
    collection = feature_collection(frame, columns, decimals=5, simplify=OUTLINE_SIMPLIFY_M)
    xy = shapely.get_coordinates(representative_points(frame.geometry))
    lon, lat = xy_to_lonlat(xy[:, 0], xy[:, 1])
    for feature, la, lo in zip(collection["features"], lat, lon, strict=True):
        feature["properties"]["label"] = [round(float(la), 5), round(float(lo), 5)]
    return collection
