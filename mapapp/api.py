"""The read-only JSON API: GeoJSON layers in WGS 84 and the aggregated incident grid.

``GET /api/<layer>`` for ``incidents``, ``findings``, ``sites``, ``stadsdelar`` and
``stadsdelsomraden``, and ``GET /api/incidents/grid``; the parameters are those of
:mod:`layers.filters` and the reference is ``docs/api.md`` and
``/static/openapi.json``. A malformed parameter gives 400 with
``{"error": "<Swedish message>", "parameter": "<name>"}``.

Privacy (rules in :mod:`layers.privacy`):

* raw incident points of every category and precision, with description and
  victim gender, only for handläggare and admin;
* everyone else gets points of the other categories placed to the address or
  street, without description or victim gender; asking for a sensitive category
  by its code is refused with 403 (a group such as ``vald`` silently leaves the
  sensitive ones out, and the answer says so in ``restricted``);
* the grid counts what :func:`layers.privacy.counted_categories` says: never the
  sensitive categories unless a handläggare or admin names them (the answer's
  ``restricted`` says when they are left out; anyone else naming them gets 403),
  and for anonymous visitors and läsare a count of 1–4 is written "<5".

(``POST /api/findings`` belongs to :mod:`mapapp.findings`.)
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request, url_for

from layers import aggregate, privacy
from layers.areas import AreaCatalogue, area_catalogue
from layers.default_period import default_period
from layers.filters import FilterError, MapFilter, area_codes, parse_int
from layers.geojson import feature_collection, unplaced_without_points
from layers.periods import PeriodError, parse_date, parse_period
from layers.places import describe_findings
from layers.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    INCIDENT_CATEGORIES,
    SITE_STATUSES,
)
from layers.store.base import Query, Store
from layers.users import User
from mapapp.access import current_user
from mapapp.page_cache import cached_page
from mapapp.reading import popup_extra, request_filter, suppress_below
from mapapp.store_ import get_store

bp = Blueprint("api", __name__, url_prefix="/api")

#: Incident fields everyone may see, and the extra ones for handläggare/admin.
INCIDENT_PUBLIC_FIELDS = ("id", "occurred_at", "category", "strategic", "precision", "source",
                          "stadsdel", "sdo_code", "sdo_name", "site_id")
INCIDENT_FULL_FIELDS = (*INCIDENT_PUBLIC_FIELDS, "sensitive", "victim_gender", "description")
FINDING_FIELDS = ("id", "found_at", "category", "severity", "description", "owner", "status",
                  "walk_id", "photo", "status_changed_at", "fixed_at", "stadsdel", "sdo_code",
                  "sdo_name", "site_id")
#: What anonymous callers get of a finding: what the public city map draws (icon, colour,
#: place, date), without the description, owner, walk or photo, which are for läsare.
FINDING_PUBLIC_FIELDS = ("id", "found_at", "category", "severity", "status", "stadsdel",
                         "sdo_code", "sdo_name", "site_id")
SITE_FIELDS = ("id", "name", "status", "start_date", "partners", "activities", "contact",
               "sdo_code", "sdo_name")
AREA_FIELDS = ("code", "name", "number", "division", "valid_from", "valid_to")
STADSDEL_FIELDS = ("code", "name", "sdo_code", "sdo_name")
#: Responses larger than this are gzip-compressed when the client accepts it.
GZIP_MIN_BYTES = 2048
GEOJSON = "application/geo+json"
JSON_TYPES = ("application/json", GEOJSON)

_INCIDENT_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}
_FINDING_LABELS = {c.code: c.label for c in FINDING_CATEGORIES}


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
    from layers import clock
    from layers.brief import BriefError, find_area, load_city_data
    from layers.indicators import INDICATORS, area_values, count_text, site_values
    from layers.priority import default_period

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


@dataclass(frozen=True)
class IncidentAccess:
    """What incident rows and fields a user may read for a filter (layers.privacy)."""

    fields: tuple[str, ...]
    #: Category codes to read (None: every category).
    categories: tuple[str, ...] | None
    #: Further store conditions (precision to the street or better for most roles).
    where: dict[str, object]
    #: Swedish note of what the role does not get as points (None: nothing held back).
    restricted: str | None


def incident_access(user: User | None, flt: MapFilter) -> IncidentAccess:
    """The incident rule of the module docstring for ``user`` and the filter's categories.

    Raises :class:`layers.privacy.SensitiveRefused` when a role that may not see
    sensitive points names a sensitive category (403).
    """
    if privacy.sees_sensitive_points(user):
        return IncidentAccess(INCIDENT_FULL_FIELDS, flt.categories, {}, None)
    privacy.counted_categories(user, flt.category)  # a named sensitive code: 403
    return IncidentAccess(
        INCIDENT_PUBLIC_FIELDS, privacy.point_categories(user, flt.categories),
        {"precision": privacy.POINT_PRECISIONS},
        "Sexualbrott och våld i nära relation, och händelser utan känt läge "
        "(stadsdel/kommun), visas bara som aggregat för din roll: de känsliga "
        "kategorierna bara som en summa per stadsdelsområde.")


def read_incidents(store: Store, query: Query) -> gpd.GeoDataFrame:
    """One page of incidents, with no point for those known only to a stadsdel or the city."""
    return unplaced_without_points(store.read_page("incidents", query))


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


def finding_fields(user: User | None) -> tuple[str, ...]:
    """The finding properties this user may see (anonymous: what the public map draws)."""
    if user is None:
        return FINDING_PUBLIC_FIELDS
    if user.can("handläggare"):
        return (*FINDING_FIELDS, "created_by", "created_at")
    return FINDING_FIELDS


def incident_labels(p: dict) -> dict:
    """Swedish labels of an incident feature's codes."""
    return {"category_label": _INCIDENT_LABELS.get(p["category"])}


def finding_labels(p: dict) -> dict:
    """Swedish labels of a finding feature's codes."""
    return {"category_label": _FINDING_LABELS.get(p["category"]),
            "status_label": FINDING_STATUSES.get(p["status"] or "")}


def site_labels(p: dict) -> dict:
    """Swedish label of a site feature's status."""
    return {"status_label": SITE_STATUSES.get(p["status"] or "")}


def stadsdelar_with_areas(frame: gpd.GeoDataFrame, catalogue: AreaCatalogue
                          ) -> gpd.GeoDataFrame:
    """Stadsdelar rows with the code and name of their current stadsdelsområde."""
    extra = catalogue.stadsdelar.set_index("code")
    return frame.assign(sdo_code=frame["code"].map(extra["sdo_code"]),
                        sdo_name=frame["code"].map(extra["sdo_name"]))


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


def reference_query(layer: str, flt: MapFilter, catalogue: AreaCatalogue) -> Query:
    """Query for stadsdelar / stadsdelsområden: bbox, ``sdn``, ``division``."""
    where: dict[str, object] = {}
    if layer == "stadsdelar":
        if flt.sdn:
            codes = catalogue.stadsdelar.loc[
                catalogue.stadsdelar["sdo_code"].isin(area_codes(flt.sdn)), "code"]
            where["code"] = tuple(codes)
        if flt.stadsdel:
            where["code"] = (flt.stadsdel,)
    else:
        if flt.sdn:
            where["code"] = flt.sdn
        division = flt.extra.get("division", "").strip()
        if division:
            if division == "aktuell":
                division = catalogue.division
            where["valid_from"] = _division_date(division)
    return Query(bbox=flt.store_bbox, where=where, limit=flt.limit + 1, offset=flt.offset)


def _division_date(text: str) -> dt.date:
    try:
        return parse_date(text, "indelning")
    except PeriodError:
        raise FilterError("division ska vara 'aktuell' eller indelningens startdatum, "
                          "t.ex. 2023-07-01.", "division") from None
