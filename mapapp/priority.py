"""Priority places on the web: the ranked list beside a map, its JSON, and a map layer.

``/priority`` shows the ranking of :mod:`layers.analysis.priority` for the chosen
stadsdelsområde and period: each row says why the place ranks where it does, and
clicking it zooms the map to the place (``static/js/priority.js``).
``/api/priority?sdn=&period=`` returns the same ranking as ``trygghetskartan
priority --format json`` (``format=geojson`` for the polygons), and
``/api/emerging?sdn=&period=`` the emerging hot spot patterns of :mod:`layers.analysis.emerging`
on the same cells (GeoJSON, one feature per pattern; the map's trend layer).
:func:`add_priority_layer` puts the places on any folium map, so the city and
district maps can show them too.
"""

from __future__ import annotations

import copy
import logging
import threading

import folium
from flask import Blueprint, Flask, jsonify, render_template, request, url_for
from markupsafe import escape

from layers.analysis.aggregate import INCIDENT_LAYERS
from layers.analysis.backtest import store_backtest
from layers.analysis.emerging import emerging_for_store
from layers.analysis.priority import (
    PRIORITY_LAYERS,
    PriorityResult,
    data_span,
    priority_for_store,
    study_area,
    warm_cache,
)
from layers.core.periods import Period, period_choices
from mapapp.folium_ import base_map, folium_parts
from mapapp.page_cache import cached_page
from mapapp.reading import (
    RANK_COLOURS,
    BadParameter,
    chosen_or_default,
    sdn_and_period,
    suppress_below,
)
from mapapp.store_ import get_store

bp = Blueprint("priority", __name__)
LOGGER = logging.getLogger(__name__)

#: Metres the stadsdel outlines are simplified by.
OUTLINE_SIMPLIFY_M = 10.0
#: The deepest zoom a click on a row goes to.
MAX_ZOOM = 17
#: The zoom of the city map a place's "Visa på kartan" link opens.
LINK_ZOOM = 16


def _colour(rank: int) -> str:
    return next(colour for last, colour in RANK_COLOURS if rank <= last)


def add_priority_layer(m: folium.Map, places: PriorityResult | dict, *,
                       name: str = "Prioriterade platser", show: bool = True
                       ) -> folium.FeatureGroup:
    """Add the places as a layer to a folium map and return the layer.

    ``places`` is a :class:`~layers.analysis.priority.PriorityResult` or its GeoJSON
    (:meth:`~layers.analysis.priority.PriorityResult.to_geojson`, ``/api/priority?format=geojson``).
    Each place is drawn as the outline of its cells, coloured by rank, with its rank
    number on top, a tooltip with the name and a popup with the Swedish explanation.
    Text is HTML-escaped (place names may come from free text).
    """
    collection = places.to_geojson() if isinstance(places, PriorityResult) \
        else copy.deepcopy(places)
    features = []
    for feature in collection.get("features", []):
        props = feature["properties"]
        features.append({"type": "Feature", "geometry": feature["geometry"], "properties": {
            "rank": int(props["rank"]), "name": str(escape(props["name"])),
            "text": str(escape(_popup_text(props))), "colour": _colour(int(props["rank"])),
        }})
    group = folium.FeatureGroup(name=name, show=show)
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            name=name,
            style_function=lambda f: {"color": "#67001f", "weight": 2, "fillOpacity": 0.45,
                                      "fillColor": f["properties"]["colour"]},
            highlight_function=lambda f: {"weight": 4, "fillOpacity": 0.65},
            tooltip=folium.GeoJsonTooltip(fields=["rank", "name"], aliases=["Nr", "Plats"]),
            popup=folium.GeoJsonPopup(fields=["text"], labels=False, max_width=320),
        ).add_to(group)
    for feature, source in zip(features, collection.get("features", []), strict=True):
        rank = feature["properties"]["rank"]
        lat, lon = source["properties"]["center"]
        folium.Marker(
            location=(lat, lon),
            icon=folium.DivIcon(
                html=(f'<div class="tk-rank-icon" style="width:24px;height:24px;'
                      f'border-radius:50%;background:#fff;border:2px solid #67001f;'
                      f'color:#67001f;font:700 12px/20px system-ui,sans-serif;'
                      f'text-align:center">{rank}</div>'),
                icon_size=(24, 24), icon_anchor=(12, 12), class_name="tk-rank"),
            tooltip=f"Nr {rank}: {feature['properties']['name']}",
        ).add_to(group)
    group.add_to(m)
    return group


def _popup_text(props: dict) -> str:
    """A place's plain words for a popup (the statistics are on /priority)."""
    if props.get("first_sentence"):
        return " ".join([props["first_sentence"], *props.get("plain", [])])
    return props.get("text", "")


def _parameters() -> tuple[str | None, Period | None, int | None]:
    """``sdn``, ``period`` and ``limit`` of the request (raises BadParameter)."""
    sdn, period = sdn_and_period(request.args.get("sdn") or "", request.args.get("period") or "")
    limit_text = (request.args.get("limit") or "").strip()
    limit = None
    if limit_text:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            raise BadParameter("limit ska vara ett heltal 1–1000.", "limit")
        limit = int(limit_text)
    return sdn, period, limit


def _sees_sensitive() -> bool:
    """Whether the user gets the figures that include sensitive categories (score,
    weighted and sensitive counts): handläggare and admin (layers.core.privacy)."""
    from layers.core.privacy import sees_sensitive_points
    from mapapp.access import current_user

    return sees_sensitive_points(current_user())


def _add_outlines(m: folium.Map, sdn: str | None) -> None:
    """Stadsdel outlines under the places, so the map reads without basemap tiles."""
    import geodata
    from layers.core.schema import STORE_EPSG
    from layers.io.geojson import feature_collection

    stadsdelar = geodata.stadsdelar(crs=STORE_EPSG, land=True)
    if sdn:
        stadsdelar = stadsdelar[(stadsdelar["sdo_2023"] == sdn) | (stadsdelar["sdo_2020"] == sdn)]
    folium.GeoJson(
        feature_collection(stadsdelar, ["name"], decimals=5, simplify=OUTLINE_SIMPLIFY_M),
        name="Stadsdelar",
        style_function=lambda f: {"color": "#8c959f", "weight": 1, "fill": False},
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["Stadsdel"]),
    ).add_to(m)


def _add_sites(m: folium.Map, store, sdn: str | None) -> None:
    """Platssamverkan sites as dashed blue outlines over the places (not clickable)."""
    from layers.io.geojson import feature_collection
    from layers.store.base import Query

    sites = store.read("sites", Query(bbox=tuple(study_area(sdn).land.bounds)))
    if not sites.empty:
        folium.GeoJson(
            feature_collection(sites, ["name"], decimals=6),
            name="Platssamverkan",
            style_function=lambda f: {"color": "#1f4e9c", "weight": 3, "dashArray": "5 4",
                                      "fill": False, "interactive": False},
        ).add_to(m)


@bp.errorhandler(BadParameter)
def bad_parameter(exc: BadParameter):
    """A bad ``sdn``, ``period`` or ``limit`` on the JSON routes: 400 with the Swedish
    message and the parameter (the page catches it itself and shows the form)."""
    return jsonify({"error": exc.message, "parameter": exc.parameter}), 400


@bp.get("/api/priority")
@cached_page(PRIORITY_LAYERS, grace=True)
def api():
    """The ranking as JSON (as the CLI prints it) or, with ``format=geojson``, GeoJSON."""
    sdn, period, limit = _parameters()
    store = get_store()
    period, reason = chosen_or_default(store, period)
    result = priority_for_store(store, sdn=sdn, period=period, limit=limit)
    if request.args.get("format") == "geojson":
        response = jsonify(result.to_geojson(suppress_below(), _sees_sensitive()))
        response.mimetype = "application/geo+json"
        return response
    answer = _with_links(result.to_dict(suppress_below(), _sees_sensitive()), result.period)
    if reason:
        answer["period_reason"] = reason
    return jsonify(answer)


@bp.get("/api/emerging")
@cached_page(INCIDENT_LAYERS)
def emerging_api():
    """The emerging hot spot patterns of an area for the months up to the period, as
    GeoJSON: one (multi)polygon per pattern, no counts (the same for every role)."""
    sdn, period, _ = _parameters()
    store = get_store()
    period, reason = chosen_or_default(store, period)
    collection = emerging_for_store(store, sdn=sdn, period=period).to_geojson()
    if reason:
        collection["metadata"]["period_reason"] = reason
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response


def place_links(place: dict, period: Period) -> dict:
    """Where a planner goes from a place: the city map zoomed to it (same period), its
    platssamverkan site and its open findings (URLs of this app)."""
    lat, lon = place["center"]
    near = place.get("near_site") or {}
    return {
        "map": url_for("maps.city", period=period.code, lat=f"{lat:.5f}", lon=f"{lon:.5f}",
                       zoom=LINK_ZOOM),
        "site": url_for("sites.show_site", site_id=place["site_id"])
        if place.get("site_id") else None,
        "near_site": url_for("sites.show_site", site_id=near["id"]) if near.get("id")
        else None,
        "findings": [url_for("findings.show_finding", finding_id=i)
                     for i in place.get("finding_ids", [])],
    }


def _with_links(answer: dict, period: Period) -> dict:
    for place in answer["places"]:
        place["links"] = place_links(place, period)
    return answer


@bp.get("/priority")
@cached_page(PRIORITY_LAYERS, grace=True)
def ranking():
    """The ranked list beside the map, with filters for area and period."""
    store = get_store()
    error = None
    try:
        sdn, period, limit = _parameters()
    except BadParameter as exc:
        error, sdn, period, limit = exc.message, None, None, None
    period, period_reason = chosen_or_default(store, period)
    result = priority_for_store(store, sdn=sdn, period=period, limit=limit)
    summary = _with_links(result.to_dict(suppress_below(), _sees_sensitive()), result.period)
    places = summary["places"]
    # how well the same ranking picked the places of the next tertial, on this store
    backtest = store_backtest(store, sdn=sdn)
    m = base_map()
    if places:
        bounds = [p["bounds"] for p in places]
        m.fit_bounds([[min(b[0][0] for b in bounds), min(b[0][1] for b in bounds)],
                      [max(b[1][0] for b in bounds), max(b[1][1] for b in bounds)]])
    else:
        from layers.io.filters import bbox_to_web

        minlon, minlat, maxlon, maxlat = bbox_to_web(tuple(study_area(sdn).land.bounds))
        m.fit_bounds([[minlat, minlon], [maxlat, maxlon]])
    _add_outlines(m, sdn)
    add_priority_layer(m, result)
    _add_sites(m, store, sdn)
    parts = folium_parts(m)
    span = data_span(store)
    last_year = span[1].year if span else (result.period.end.year)
    first_year = max(span[0].year, last_year - 10) if span else last_year
    from layers.analysis.areas import area_catalogue

    periods = period_choices(first_year, last_year)
    in_menu = any(p.code == result.period.code for _, items in periods for p in items)
    return render_template(
        "priority/ranking.html", result=result, summary=summary, places=places, parts=parts,
        error=error, period_reason=period_reason, backtest=backtest,
        areas=area_catalogue(store).current, periods=periods, period_in_menu=in_menu,
        config={"map": parts["name"], "maxZoom": MAX_ZOOM},
        may_create_problem=_may_create_problem,
    ), (400 if error else 200)


def _may_create_problem(sdo_code: str | None) -> bool:
    """Tell whether the "Skapa problem" button (EST) shows for a place of ``sdo_code``."""
    from layers.domain.access import MANAGE_ROLE
    from mapapp.access import may_write

    return bool(sdo_code) and may_write(MANAGE_ROLE, [sdo_code])


def start_cache_warmer(app: Flask, *, interval: float = 5.0) -> threading.Thread:
    """Keep the default ranking and pages warm in a daemon thread (``serve`` starts it).

    It computes the ranking, the backtest and the default pages
    (:data:`mapapp.page_cache.WARM_PATHS`, as an anonymous visitor) at once and again
    whenever the store's data tables change (:meth:`Store.layer_version`: an import
    or an upload committed, in this process or another; sign-ins and token marks do
    not count). Reading the version is cheap and never waits for a writer, so the
    thread costs nothing while an import runs, and a page request never has to pay
    for the first computation after a change.
    """
    from mapapp import page_cache

    def run() -> None:
        seen = None
        with app.app_context():
            store = get_store()
            while True:
                try:
                    # findings churn is left to the pages' grace (mapapp/page_cache.py)
                    version = tuple(v for v in store.layer_version()
                                    if v[0] not in page_cache.CHURN_LAYERS)
                    if version != seen:
                        warm_cache(store)
                        store_backtest(store)
                        page_cache.warm(app)
                        seen = version
                except Exception:  # a store that is down now may answer later
                    LOGGER.warning("warming the priority cache failed", exc_info=True)
                threading.Event().wait(interval)

    thread = threading.Thread(target=run, name="priority-cache-warmer", daemon=True)
    thread.start()
    return thread
