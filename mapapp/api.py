"""The read-only JSON API: GeoJSON layers in WGS 84 and the aggregated incident grid.

``GET /api/<layer>`` for ``incidents``, ``findings``, ``sites``, ``stadsdelar`` and
``stadsdelsomraden``, and ``GET /api/incidents/grid``; the parameters are those of
:mod:`layers.io.filters` and the reference is ``docs/api.md`` and
``/static/openapi.json``. A malformed parameter gives 400 with
``{"error": "<Swedish message>", "parameter": "<name>"}``.

Privacy (rules in :mod:`layers.core.privacy`):

* raw incident points of every category and precision, with description and
  victim gender, only for handläggare and admin;
* everyone else gets points of the other categories placed to the address or
  street, without description or victim gender; asking for a sensitive category
  by its code is refused with 403 (a group such as ``vald`` silently leaves the
  sensitive ones out, and the answer says so in ``restricted``);
* the grid counts what :func:`layers.core.privacy.counted_categories` says: never the
  sensitive categories unless a handläggare or admin names them (the answer's
  ``restricted`` says when they are left out; anyone else naming them gets 403),
  and for anonymous visitors and läsare a count of 1–4 is written "<5".

(``POST /api/findings`` belongs to :mod:`mapapp.findings`.)
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request, url_for

from layers.analysis import aggregate
from layers.analysis.areas import area_catalogue
from layers.analysis.default_period import default_period
from layers.analysis.places import describe_findings
from layers.core import privacy
from layers.core.periods import parse_period
from layers.io.filters import FilterError, MapFilter, parse_int
from layers.io.geojson import feature_collection
from mapapp.access import current_user
from mapapp.layer_access import (
    AREA_FIELDS,
    SITE_FIELDS,
    STADSDEL_FIELDS,
    finding_fields,
    finding_labels,
    incident_access,
    incident_labels,
    read_incidents,
    reference_query,
    site_labels,
    stadsdelar_with_areas,
)
from mapapp.page_cache import cached_page
from mapapp.reading import popup_extra, request_filter, suppress_below
from mapapp.store_ import get_store

bp = Blueprint("api", __name__, url_prefix="/api")

#: Responses larger than this are gzip-compressed when the client accepts it.
GZIP_MIN_BYTES = 2048
GEOJSON = "application/geo+json"
JSON_TYPES = ("application/json", GEOJSON)


class Forbidden(Exception):
    """A request for data the user's role may not see (403 with a Swedish message)."""

    def __init__(self, message: str, parameter: str) -> None:
        super().__init__(message)
        self.message, self.parameter = message, parameter


@bp.errorhandler(FilterError)
def bad_parameter(exc: FilterError):
    """A malformed parameter: 400 with the Swedish message and the parameter's name."""
    return jsonify({"error": exc.message, "parameter": exc.parameter}), 400


@bp.errorhandler(Forbidden)
def forbidden(exc: Forbidden):
    """Data the role may not see: 403 JSON."""
    return jsonify({"error": exc.message, "parameter": exc.parameter}), 403


@bp.errorhandler(privacy.SensitiveRefused)
def sensitive_refused(exc: privacy.SensitiveRefused):
    """A sensitive category named by a role that may not see it: 403 JSON."""
    return jsonify({"error": exc.message, "parameter": "category"}), 403


@bp.after_request
def compress(response: Response) -> Response:
    """Gzip large JSON answers (a city grid shrinks about eight times)."""
    if (response.status_code == 200 and response.mimetype in JSON_TYPES
            and "gzip" in request.headers.get("Accept-Encoding", "")
            and not response.direct_passthrough
            and "Content-Encoding" not in response.headers):
        data = response.get_data()
        if len(data) >= GZIP_MIN_BYTES:
            response.set_data(gzip.compress(data, compresslevel=5))
            response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


# --- paging -------------------------------------------------------------------------


def _paged(collection: dict, flt: MapFilter, rows: int, endpoint: str, **values) -> dict:
    """Add paging members (numberReturned, next link) to a FeatureCollection."""
    has_more = rows > flt.limit
    if has_more:
        collection["features"] = collection["features"][:flt.limit]
    collection["numberReturned"] = len(collection["features"])
    collection["limit"], collection["offset"] = flt.limit, flt.offset
    links = [{"rel": "self", "href": request.url, "type": "application/geo+json"}]
    collection["next"] = None
    if has_more:
        params = {**flt.extra, **flt.params(), "limit": flt.limit,
                  "offset": flt.offset + flt.limit}
        collection["next"] = url_for(endpoint, _external=True, **values, **params)
        links.append({"rel": "next", "href": collection["next"],
                      "type": "application/geo+json"})
    collection["links"] = links
    return collection


def _geojson(collection: dict) -> Response:
    response = jsonify(collection)
    response.mimetype = GEOJSON
    return response


# --- endpoints -------------------------------------------------------------------------


@bp.get("/")
def index():
    """List the layers and where the documentation is."""
    layers = {
        "incidents": "händelser (punkter; känsliga kategorier bara för handläggare/admin)",
        "incidents/grid": "händelser aggregerade i rutor (alla roller)",
        "findings": "fynd från trygghetsvandringar",
        "sites": "platssamverkan",
        "stadsdelar": "stadsdelar",
        "stadsdelsomraden": "stadsdelsområden (alla indelningar)",
        "indicators": "indikatorerna för ett stadsdelsområde och en period (?sdn=&period=)",
        "promises": "andel fynd åtgärdade inom utlovad tid och försenade fynd (?period=)",
    }
    return jsonify({
        "layers": [{"name": name, "description": text,
                    "href": request.host_url.rstrip("/") + f"/api/{name}"}
                   for name, text in layers.items()],
        "openapi": url_for("static", filename="openapi.json", _external=True),
        "documentation": "docs/api.md",
    })


@bp.get("/indicators")
def indicators():
    """Every indicator of one stadsdelsområde and period, as this user may see it
    (:mod:`layers.indicators`; the same texts as the pages and the briefs)."""
    from layers.analysis.priority import default_period
    from layers.core import clock
    from layers.documents.brief import BriefError, find_area, load_city_data
    from layers.indicators import INDICATORS, area_values, count_text, site_values

    store = get_store()
    try:
        period = parse_period(request.args["period"]) if request.args.get("period") \
            else default_period(store)
    except ValueError as exc:
        raise FilterError(str(exc), "period") from exc
    if period is None:
        raise FilterError("Ingen period: databasen har inga händelser.", "period")
    data = load_city_data(store, period, [period, period.year_before(), period.previous()])
    try:
        area = find_area(data.current_areas, request.args.get("sdn", ""))
    except BriefError as exc:
        raise FilterError(str(exc), "sdn") from exc
    user = current_user()
    below = suppress_below()
    values = area_values(data, area, period, clock.now())
    texts = values.texts(below, privacy.sensitive_below(user, below))
    return jsonify({
        "sdn": area.code, "name": area.name, "period": period.code,
        "comparison_period": values.comparison_period.code,
        "previous_period": values.previous_period.code, "as_of": values.as_of.isoformat(),
        "indicators": {code: {"name": INDICATORS[code].name, "value": text,
                              "definition": INDICATORS[code].definition}
                       for code, text in texts.items()},
        "sites": [{"id": sid, "name": name, "site_inside": count_text(inside, below),
                   "site_ring": count_text(ring, below)}
                  for sid, name, inside, ring in site_values(data, area, period, clock.now())],
    })


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description (also at /static/openapi.json)."""
    path = Path(current_app.static_folder or "") / "openapi.json"
    return Response(path.read_bytes(), mimetype="application/json")


@bp.get("/promises")
def promises():
    """Promises kept in a period (``?period=``, default the running tertial): the share
    fixed within target per category and stadsdelsområde for everyone, per owner and
    the overdue findings (with description and owner) for läsare and up."""
    from layers.indicators import INDICATORS
    from mapapp import promises as promises_

    try:
        period = promises_.requested_period(request.args.get("period"))
    except ValueError as exc:
        raise FilterError(str(exc), "period") from exc
    user = current_user()
    report = promises_.report(get_store(), period)

    def rows(table) -> list[dict]:
        return [{"key": r.key, "fixed": int(r.fixed), "within": int(r.within),
                 "share": round(float(r.share), 4)} for r in table.itertuples()]

    out = {"period": period.code, "as_of": report.as_of.isoformat(),
           "targets_hours": promises_.promises(),
           "definitions": {c: INDICATORS[c].definition for c in ("within_target", "overdue")},
           "total": rows(report.total)[0] if not report.total.empty else None,
           "by_category": rows(report.by_category), "by_sdo": rows(report.by_area),
           "overdue_count": len(report.overdue)}
    if user is not None:
        out["by_owner"] = rows(report.by_owner)
        out["overdue"] = [
            {"id": f.id, "category": f.category, "owner": None if pd.isna(f.owner) else f.owner,
             "sdo_code": f.sdo_code, "description": f.description,
             "found_at": f.found_at.isoformat(), "age_hours": round(float(f.age_h), 1),
             "target_hours": float(f.target_h)}
            for f in report.overdue.itertuples()]
    return jsonify(out)


@bp.get("/incidents")
@cached_page(aggregate.INCIDENT_LAYERS)
def incidents():
    """Incident points (GeoJSON), paged; what a role sees is in the module docstring."""
    flt = request_filter("incidents")
    access = incident_access(current_user(), flt)
    query = flt.incident_query(categories=access.categories, where=access.where, paged=True)
    # events known only to a stadsdel or the city: no point, for every role
    frame = read_incidents(get_store(), query)
    collection = feature_collection(frame, access.fields, extra=incident_labels)
    collection["restricted"] = access.restricted
    if flt.period is not None:
        collection["period"], collection["period_label"] = flt.period.code, flt.period.label
    return _geojson(_paged(collection, flt, len(frame), "api.incidents"))


@bp.get("/incidents/grid")
@cached_page(aggregate.INCIDENT_LAYERS)
def incident_grid():
    """Incidents counted per square cell (GeoJSON polygons), this period and the previous."""
    store = get_store()
    flt = request_filter("incidents", default_period=default_period(store, "year").period)
    size = parse_int(request.args.get("cell"), "cell", 250, 1)
    if size not in aggregate.CELL_SIZES:
        raise FilterError(f"cell ska vara en av {', '.join(map(str, aggregate.CELL_SIZES))} "
                          "(meter).", "cell")
    user = current_user()
    counted = privacy.counted_categories(user, flt.category)
    result = aggregate.incident_grid(store, flt, size, counted.codes,
                                     visibility=privacy.visibility(user))
    collection = aggregate.grid_geojson(result, flt.store_bbox, suppress_below())
    collection["restricted"] = counted.note
    return _geojson(collection)


@bp.get("/<any(findings, sites, stadsdelar, stadsdelsomraden):layer>")
@cached_page()
def layer(layer: str):
    """Findings, sites, stadsdelar or stadsdelsområden as GeoJSON, paged."""
    store = get_store()
    flt = request_filter(layer)
    catalogue = area_catalogue(store)
    if layer == "findings":
        fields = finding_fields(current_user())
        query = flt.layer_query(paged=True)
        places: dict[str, dict] = {}

        def labels(p: dict) -> dict:
            return {**finding_labels(p), "place": places.get(p["id"])}
    elif layer == "sites":
        fields = SITE_FIELDS
        query = flt.with_(stadsdel=None, categories=None).layer_query(paged=True)
        labels = site_labels
    else:
        fields = STADSDEL_FIELDS if layer == "stadsdelar" else AREA_FIELDS
        query = reference_query(layer, flt, catalogue)

        def labels(p: dict) -> dict:
            return {}
    frame = store.read(layer, query)
    if layer == "findings":
        # where each finding is in words: the nearest named place and the stadsdel
        places.update(zip(frame["id"], (p.as_json() for p in describe_findings(
            store, frame, catalogue.stadsdel_names)), strict=True))
    if layer == "stadsdelar":
        frame = stadsdelar_with_areas(frame, catalogue)
    if layer == "sites" and "sites" in current_app.blueprints:
        # before/after figures and the page of each site for the popups (mapapp/reading.py)
        labels = popup_extra(frame, labels)
    collection = feature_collection(frame, fields, extra=labels)
    return _geojson(_paged(collection, flt, len(frame), "api.layer", layer=layer))


