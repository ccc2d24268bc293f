"""OGC API Features (Part 1 Core + GeoJSON + HTML, Part 2 CRS) at ``/ogc/`` for GIS clients.

QGIS, ArcGIS and GDAL (``ogrinfo OAPIF:https://…/ogc``) read the layers from here.
Written on Flask rather than pygeoapi (``docs/ogc.md`` says why): the few routes
reuse the JSON API's own code paths, so every collection gives each role exactly
what ``/api/<layer>`` gives it (:func:`mapapp.api.incident_access`,
:func:`mapapp.api.finding_fields`, :mod:`layers.core.privacy`): anonymous callers get no
sensitive categories and no incidents without a known street, findings without
description, owner, walk or photo, and no walks; a session or ``Authorization:
Bearer TOKEN`` gives more. Reads only. The parameters (``bbox``, ``bbox-crs``,
``crs``, ``datetime``, ``limit``) are read by :mod:`layers.io.ogc`; a bad one is 400 with
a Swedish message, an unknown collection or feature 404.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import geopandas as gpd
import pandas as pd
import shapely
from flask import Blueprint, Response, jsonify, render_template, request, url_for

from layers.analysis.aggregate import data_version
from layers.analysis.areas import area_catalogue
from layers.core import privacy
from layers.core.schema import PRECISIONS, STORE_EPSG
from layers.io import ogc
from layers.io.filters import FilterError, MapFilter, parse_filter, parse_int
from layers.io.geojson import feature_collection, json_value
from layers.store.base import Query, Store
from mapapp import api
from mapapp.auth import current_user
from mapapp.store_ import get_store

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
#: The standard's parameters every items request may carry.
ITEMS_PARAMETERS = {"f", "bbox", "bbox-crs", "datetime", "limit", "offset", "crs"}


@dataclass(frozen=True)
class Collection:
    """One collection: what it is, where it comes from, and what may filter it."""

    id: str
    title: str
    description: str
    #: The stored layer whose extent the collection has (None: the city's).
    extent_layer: str | None
    #: Property filters: name -> Swedish description (for the HTML and the OpenAPI doc).
    queryables: Mapping[str, str]
    #: The lowest role that reads it (None: everyone).
    role: str | None = None
    #: Other parameters the collection takes.
    parameters: frozenset[str] = frozenset()


COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    Collection("stadsdelar", "Stadsdelar",
               "Stockholms 117 stadsdelar med sitt nuvarande stadsdelsområde.",
               "stadsdelar", {"code": "stadsdelens kod", "sdo_code": "stadsdelsområdets kod"}),
    Collection("stadsdelsomraden", "Stadsdelsområden",
               "Stadsdelsområden i alla indelningar (13 områden 2020-07-01–2023-06-30, 11 "
               "från 2023-07-01); datetime väljer de indelningar som gällde då.",
               "stadsdelsomraden", {"code": "områdets kod",
                                    "division": "indelningens startdatum eller 'aktuell'"}),
    Collection("incidents", "Händelser",
               "Händelser som punkter. Utan inloggning: inga sexualbrott eller våld i nära "
               "relation, bara händelser placerade till adress eller gata, utan beskrivning.",
               "incidents", {"category": "kategorikod(er) eller grupp, kommaseparerade",
                             "sdo_code": "stadsdelsområdets kod", "stadsdel": "stadsdelens kod",
                             "precision": "lägesprecision (exact, street, stadsdel, kommun)",
                             "source": "källa", "strategic": "strategiskt brott (true/false)",
                             "site_id": "platssamverkan"}),
    Collection("findings", "Fynd från trygghetsvandringar",
               "Fynd (punkter, ibland linjer). Utan inloggning utan beskrivning, ansvarig, "
               "vandring och foto.",
               "findings", {"category": "fyndkategori(er)", "status": "status eller 'oppna'",
                            "severity": "allvarlighet 1–3", "sdo_code": "stadsdelsområdets kod",
                            "stadsdel": "stadsdelens kod", "site_id": "platssamverkan",
                            "owner": "ansvarig (kräver inloggning)",
                            "walk_id": "trygghetsvandring (kräver inloggning)"}),
    Collection("sites", "Platssamverkan", "Platser med platssamverkan (polygoner).",
               "sites", {"status": "planerad, aktiv eller avslutad",
                         "sdo_code": "stadsdelsområdets kod"}),
    Collection("walks", "Trygghetsvandringar",
               "Trygghetsvandringar med sin rutt (null utan rutt). Kräver inloggning (läsare).",
               "walk_routes", {"sdo_code": "stadsdelsområdets kod"}, role="läsare"),
    Collection("priority_places", "Prioriterade platser",
               "Rangordningen från /priority för en tertial (standard: den senaste hela "
               "tertialen med händelser på gatunivå); period= väljer en annan.",
               None, {"sdo_code": "stadsdelsområdets kod"},
               parameters=frozenset({"period"})),
)}


class OgcNotFound(Exception):
    """An unknown collection or feature (404)."""


class OgcUnauthorized(Exception):
    """A collection that needs a signed-in user (401)."""


def _error(status: int, code: str, message: str, parameter: str | None = None) -> Response:
    body = {"code": code, "description": message, "error": message}
    if parameter:
        body["parameter"] = parameter
    response = jsonify(body)
    response.status_code = status
    return response


@bp.errorhandler(FilterError)
def bad_parameter(exc: FilterError) -> Response:
    """A malformed parameter: 400 with the Swedish message and the parameter's name."""
    return _error(400, "InvalidParameterValue", exc.message, exc.parameter)


@bp.errorhandler(privacy.SensitiveRefused)
def sensitive_refused(exc: privacy.SensitiveRefused) -> Response:
    """A sensitive category named by a role that may not see it: 403."""
    return _error(403, "Forbidden", exc.message, "category")


@bp.errorhandler(OgcNotFound)
def not_found(exc: OgcNotFound) -> Response:
    return _error(404, "NotFound", str(exc))


@bp.errorhandler(OgcUnauthorized)
def unauthorized(exc: OgcUnauthorized) -> Response:
    response = _error(401, "Unauthorized", str(exc))
    response.headers["WWW-Authenticate"] = 'Bearer realm="trygghetskartan"'
    return response


# --- formats and links ------------------------------------------------------------------


def _wants_html() -> bool:
    f = (request.args.get("f") or "").strip().lower()
    if f:
        if f not in ("json", "geojson", "html"):
            raise FilterError("f ska vara json eller html.", "f")
        return f == "html"
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML])
    return best == HTML and request.accept_mimetypes[HTML] > request.accept_mimetypes[JSON]


def _url(endpoint: str, **values: object) -> str:
    return url_for(endpoint, _external=True, **values)


def _link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _self_links(endpoint: str, json_type: str = JSON, **values: object) -> list[dict]:
    """``self`` and ``alternate`` links of a resource in JSON and HTML (this one is self)."""
    html = _wants_html()
    json_link = _link(_url(endpoint, **values, f="json"), "alternate" if html else "self",
                      json_type, "som JSON")
    html_link = _link(_url(endpoint, **values, f="html"), "self" if html else "alternate",
                      HTML, "som HTML")
    return [json_link, html_link]


def _json(body: dict, mimetype: str = JSON) -> Response:
    response = jsonify(body)
    response.mimetype = mimetype
    return response


def _page(title: str, paragraphs: list[str], links: list[dict], columns: list[str] | None = None,
          rows: list[list] | None = None) -> Response:
    html = render_template("ogc/page.html", title=title, paragraphs=paragraphs,
                           links=[lk for lk in links if lk.get("type") != HTML or
                                  lk.get("rel") not in ("self", "alternate")],
                           columns=columns or [], rows=rows or [])
    return Response(html, mimetype=HTML)


def _visible(collection: Collection) -> bool:
    user = current_user()
    return collection.role is None or (user is not None and user.can(collection.role))


def _collection(collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        raise OgcNotFound(f"Samlingen '{collection_id}' finns inte. Samlingar: "
                          f"{', '.join(COLLECTIONS)}.")
    if not _visible(collection):
        raise OgcUnauthorized(f"Samlingen {collection.id} kräver inloggning som "
                              f"{collection.role} (session eller Authorization: Bearer).")
    return collection


# --- landing page, conformance, API definition ---------------------------------------------


@bp.get("/", strict_slashes=False)
def landing() -> Response:
    """The landing page: what this is and where the collections are."""
    links = [*_self_links("ogc.landing"),
             _link(_url("ogc.openapi"), "service-desc", OPENAPI, "API-beskrivning (OpenAPI 3.0)"),
             _link(_url("ogc.landing", f="html"), "service-doc", HTML, "Om tjänsten"),
             _link(_url("ogc.conformance"), "conformance", JSON, "Standarder som följs"),
             _link(_url("ogc.collections"), "data", JSON, "Samlingar")]
    title = "Trygghetskartan – OGC API Features"
    description = ("Trygghetskartans lager (stadsdelar, händelser, fynd, platssamverkan, "
                   "trygghetsvandringar, prioriterade platser) för GIS-program som QGIS, "
                   "ArcGIS och GDAL, enligt OGC API Features del 1 och 2.")
    if _wants_html():
        return _page(title, [description, "Utan inloggning visas bara det som är offentligt; "
                             "logga in eller skicka en API-nyckel (Authorization: Bearer) för "
                             "mer."], [lk for lk in links if lk["rel"] != "service-doc"])
    return _json({"title": title, "description": description, "links": links})


@bp.get("/conformance")
def conformance() -> Response:
    """The conformance classes this API implements."""
    if _wants_html():
        return _page("Standarder som följs", [],
                     [{"href": uri, "title": uri} for uri in ogc.CONFORMANCE])
    return _json({"conformsTo": list(ogc.CONFORMANCE)})


@bp.get("/api")
def openapi() -> Response:
    """The API definition (OpenAPI 3.0)."""
    return _json(_openapi_document(), "application/vnd.oai.openapi+json")


def _openapi_document() -> dict:
    def parameter(name: str, description: str, schema: dict | None = None,
                  where: str = "query") -> dict:
        return {"name": name, "in": where, "required": where == "path",
                "description": description, "schema": schema or {"type": "string"}}

    common = [parameter("f", "json eller html", {"type": "string", "enum": ["json", "html"]})]
    items = [
        parameter("bbox", "minx,miny,maxx,maxy i bbox-crs (dess axelordning)",
                  {"type": "array", "items": {"type": "number"}, "minItems": 4,
                   "maxItems": 6}),
        parameter("bbox-crs", "bboxens CRS", {"type": "string", "enum": ogc.crs_uris()}),
        parameter("crs", "svarets CRS", {"type": "string", "enum": ogc.crs_uris()}),
        parameter("datetime", "tidpunkt, datum eller intervall start/slut (.. för öppen ände)"),
        parameter("limit", f"antal objekt per sida (standard {ogc.DEFAULT_LIMIT}, högst "
                  f"{ogc.MAX_LIMIT})", {"type": "integer", "minimum": 1,
                                        "default": ogc.DEFAULT_LIMIT}),
        parameter("offset", "objekt att hoppa över (följ hellre next-länken)",
                  {"type": "integer", "minimum": 0, "default": 0}),
    ]
    ok = {"200": {"description": "OK"}, "400": {"description": "Felaktig parameter"}}
    paths: dict[str, dict] = {
        "/": {"get": {"summary": "Startsida", "parameters": common, "responses": ok}},
        "/conformance": {"get": {"summary": "Standarder", "parameters": common,
                                 "responses": ok}},
        "/collections": {"get": {"summary": "Samlingar", "parameters": common,
                                 "responses": ok}},
    }
    for c in COLLECTIONS.values():
        filters = [parameter(name, text) for name, text in c.queryables.items()]
        filters += [parameter(name, "period: 2025, 2025-T2, 2025-05 …") for name in
                    sorted(c.parameters)]
        paths[f"/collections/{c.id}"] = {"get": {"summary": c.title, "parameters": common,
                                                 "responses": ok}}
        paths[f"/collections/{c.id}/items"] = {"get": {
            "summary": f"{c.title}: objekt", "description": c.description,
            "parameters": [*common, *items, *filters], "responses": ok}}
        paths[f"/collections/{c.id}/items/{{featureId}}"] = {"get": {
            "summary": f"{c.title}: ett objekt",
            "parameters": [*common, parameter("featureId", "objektets id", where="path"),
                           items[2]],
            "responses": {"200": {"description": "OK"}, "404": {"description": "Finns inte"}}}}
    return {"openapi": "3.0.3",
            "info": {"title": "Trygghetskartan OGC API Features", "version": "1.0",
                     "description": "Se docs/ogc.md."},
            "servers": [{"url": _url("ogc.landing").rstrip("/")}],
            "paths": paths}


# --- collections --------------------------------------------------------------------------


_extent_lock = threading.Lock()
_extent_cache: dict[tuple, dict] = {}


def _extent(store: Store, collection: Collection) -> dict:
    """The collection's extent (CRS84 bbox, UTC interval), kept per store data version."""
    key = (id(store), data_version(store), collection.id)
    with _extent_lock:
        if key in _extent_cache:
            return _extent_cache[key]
    extent = store.extent(collection.extent_layer or "stadsdelar")
    out: dict = {}
    if extent.bbox is not None:
        out["spatial"] = {"bbox": [ogc.store_bbox_as(extent.bbox, ogc.CRS_LIST[0])],
                          "crs": ogc.CRS84}
    if collection.extent_layer in ("incidents", "findings") and extent.times is not None:
        out["temporal"] = {"interval": [ogc.interval_text(*extent.times)], "trs": TRS}
    with _extent_lock:
        if len(_extent_cache) > 64:
            _extent_cache.clear()
        _extent_cache[key] = out
    return out


def _describe(store: Store, collection: Collection) -> dict:
    values = {"collection_id": collection.id}
    return {
        "id": collection.id, "title": collection.title, "description": collection.description,
        "itemType": "feature",
        "crs": ogc.crs_uris(), "storageCrs": ogc.STORAGE_CRS.uri,
        "extent": _extent(store, collection),
        "links": [
            _link(_url("ogc.collection", **values), "self", JSON, collection.title),
            _link(_url("ogc.items", **values), "items", GEOJSON,
                  f"{collection.title} (GeoJSON)"),
            _link(_url("ogc.items", **values, f="html"), "items", HTML,
                  f"{collection.title} (HTML)"),
        ],
    }


@bp.get("/collections")
def collections() -> Response:
    """Every collection this caller may read, with extents and CRS."""
    store = get_store()
    described = [_describe(store, c) for c in COLLECTIONS.values() if _visible(c)]
    links = _self_links("ogc.collections")
    if _wants_html():
        rows = [[{"href": _url("ogc.collection", collection_id=d["id"], f="html"),
                  "text": d["id"]}, d["title"], d["description"]] for d in described]
        return _page("Samlingar", [], [], ["id", "namn", "beskrivning"], rows)
    return _json({"links": links, "collections": described, "crs": ogc.crs_uris()})


@bp.get("/collections/<collection_id>")
def collection(collection_id: str) -> Response:
    """One collection's description."""
    described = _describe(get_store(), _collection(collection_id))
    if _wants_html():
        c = COLLECTIONS[collection_id]
        links = [{"href": _url("ogc.items", collection_id=c.id, f="html"),
                  "title": "Objekten"}]
        paragraphs = [c.description, "Filter: " + ", ".join(
            f"{name} ({text})" for name, text in c.queryables.items())]
        return _page(c.title, paragraphs, links)
    described["links"] = [*_self_links("ogc.collection", collection_id=collection_id),
                          *described["links"][1:]]
    return _json(described)


# --- items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemsRequest:
    """The standard's parameters of an items request, read."""

    crs: ogc.OgcCrs
    bbox: tuple[float, float, float, float] | None  # store CRS
    start: dt.datetime | None
    end: dt.datetime | None
    limit: int
    offset: int
    #: Property filters as given (checked per collection).
    properties: dict[str, str]


def _items_request(collection: Collection, args: Mapping[str, str]) -> ItemsRequest:
    allowed = ITEMS_PARAMETERS | set(collection.queryables) | collection.parameters
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise FilterError(f"Okänd parameter '{unknown[0]}'. Samlingen {collection.id} tar: "
                          f"{', '.join(sorted(allowed))}.", unknown[0])
    bbox_text = (args.get("bbox") or "").strip()
    bbox = ogc.parse_bbox(bbox_text, ogc.parse_crs(args.get("bbox-crs"), "bbox-crs")) \
        if bbox_text else None
    if not bbox_text and args.get("bbox-crs"):
        ogc.parse_crs(args.get("bbox-crs"), "bbox-crs")
    start, end = ogc.parse_datetime(args.get("datetime"))
    return ItemsRequest(crs=ogc.parse_crs(args.get("crs")), bbox=bbox, start=start, end=end,
                        limit=ogc.parse_limit(args.get("limit")),
                        offset=parse_int(args.get("offset"), "offset", 0, 0),
                        properties={k: v for k, v in args.items()
                                    if k in collection.queryables or k in collection.parameters})


@dataclass
class Rows:
    """What a collection read: rows of one page, the number matched, how to show them."""

    frame: gpd.GeoDataFrame
    matched: int
    fields: tuple[str, ...]
    extra: Callable[[dict], dict] | None = None
    restricted: str | None = None


def _map_filter(layer: str, req: ItemsRequest, names: Mapping[str, str]) -> MapFilter:
    """A MapFilter of the property filters; ``names`` maps a property to a filter parameter."""
    args = {names[k]: v for k, v in req.properties.items() if k in names}
    catalogue = area_catalogue(get_store())
    try:
        flt = parse_filter(args, layer=layer, areas=catalogue.all_areas,
                           stadsdelar=catalogue.stadsdel_names)
    except FilterError as exc:
        back = {v: k for k, v in names.items()}
        raise FilterError(exc.message, back.get(exc.parameter, exc.parameter)) from None
    return flt.with_(limit=req.limit, offset=req.offset)


def _choice(req: ItemsRequest, name: str, choices: tuple[str, ...]) -> tuple[str, ...] | None:
    text = (req.properties.get(name) or "").strip()
    if not text:
        return None
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in choices]
    if bad:
        raise FilterError(f"Okänt värde '{bad[0]}' för {name}. Använd: {', '.join(choices)}.",
                          name)
    return values


def _text_values(req: ItemsRequest, name: str) -> tuple[str, ...] | None:
    text = (req.properties.get(name) or "").strip()
    return tuple(v.strip() for v in text.split(",") if v.strip()) if text else None


def _boolean(req: ItemsRequest, name: str) -> bool | None:
    text = (req.properties.get(name) or "").strip().lower()
    if not text:
        return None
    if text not in ("true", "false"):
        raise FilterError(f"{name} ska vara true eller false.", name)
    return text == "true"


def _store_rows(store: Store, layer: str, query: Query, req: ItemsRequest,
                read: Callable[[Store, Query], gpd.GeoDataFrame]) -> tuple[gpd.GeoDataFrame, int]:
    """One page of a stored layer and the number of rows the whole query matches."""
    query = replace(query, bbox=req.bbox, start=req.start, end=req.end, limit=req.limit,
                    offset=req.offset)
    matched = store.count(layer, replace(query, limit=None, offset=0))
    return read(store, query), matched


def _incident_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    flt = _map_filter("incidents", req, {"category": "category", "sdo_code": "sdn",
                                         "stadsdel": "stadsdel"})
    access = api.incident_access(current_user(), flt)
    where = dict(access.where)
    precisions = _choice(req, "precision", PRECISIONS)
    if precisions is not None:
        allowed = where.get("precision")
        where["precision"] = tuple(p for p in precisions
                                   if allowed is None or p in allowed)  # type: ignore[operator]
    for name in ("source", "site_id"):
        if (values := _text_values(req, name)) is not None:
            where[name] = values
    if (strategic := _boolean(req, "strategic")) is not None:
        where["strategic"] = strategic
    if fid is not None:
        where["id"] = fid
    query = flt.incident_query(categories=access.categories, where=where, bbox=False)
    frame, matched = _store_rows(store, "incidents", query, req, api.read_incidents)
    return Rows(frame, matched, access.fields, api.incident_labels, access.restricted)


def _finding_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    flt = _map_filter("findings", req, {"category": "category", "status": "status",
                                        "sdo_code": "sdn", "stadsdel": "stadsdel"})
    fields = api.finding_fields(current_user())
    query = flt.layer_query()
    where = dict(query.where)
    severities = _choice(req, "severity", ("1", "2", "3"))
    if severities is not None:
        where["severity"] = tuple(int(s) for s in severities)
    for name in ("site_id", "owner", "walk_id"):
        values = _text_values(req, name)
        if values is None:
            continue
        if name not in fields:  # filtering on a hidden field would reveal it
            raise OgcUnauthorized(f"Filtret {name} kräver inloggning (läsare).")
        where[name] = values
    if fid is not None:
        where["id"] = fid
    frame, matched = _store_rows(store, "findings", replace(query, where=where), req,
                                 lambda s, q: s.read("findings", q))
    return Rows(frame, matched, fields, api.finding_labels)


def _site_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    flt = _map_filter("sites", req, {"status": "status", "sdo_code": "sdn"})
    query = flt.layer_query()
    if fid is not None:
        query = replace(query, where={**query.where, "id": fid})
    frame, matched = _store_rows(store, "sites", query, req, lambda s, q: s.read("sites", q))
    return Rows(frame, matched, api.SITE_FIELDS, api.site_labels)


def _in_memory(frame: gpd.GeoDataFrame, req: ItemsRequest, fid: str | None,
               times: Callable[[gpd.GeoDataFrame], pd.Series] | None = None
               ) -> tuple[gpd.GeoDataFrame, int]:
    """Filter a small layer read whole by id, bbox and time, and cut out the page."""
    if fid is not None:
        frame = frame[frame["id"].astype(str) == fid]
    if req.bbox is not None and len(frame):
        box = shapely.box(*req.bbox)
        geoms = frame.geometry.to_crs(STORE_EPSG) if frame.crs is not None else frame.geometry
        frame = frame[geoms.notna().to_numpy() & geoms.intersects(box).to_numpy()]
    if times is not None and (req.start is not None or req.end is not None) and len(frame):
        frame = frame[times(frame).to_numpy(dtype=bool)]
    page = frame.iloc[req.offset:req.offset + req.limit]
    return page, len(frame)


def _overlaps(first: pd.Series, last: pd.Series, req: ItemsRequest) -> pd.Series:
    """Rows whose [first, last) (local days or times; None: open) meet the request's time."""
    def stamp(value: object, default: pd.Timestamp) -> pd.Timestamp:
        if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
            return default
        return pd.Timestamp(value).tz_localize("Europe/Stockholm") \
            if pd.Timestamp(value).tzinfo is None else pd.Timestamp(value)

    low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    start = pd.Timestamp(req.start) if req.start is not None else low
    end = pd.Timestamp(req.end) if req.end is not None else high
    return pd.Series([stamp(a, low) < end and stamp(b, high) > start
                      for a, b in zip(first, last, strict=True)], index=first.index)


def _reference_rows(store: Store, layer: str, req: ItemsRequest, fid: str | None) -> Rows:
    catalogue = area_catalogue(store)
    if layer == "stadsdelar":
        flt = _map_filter(layer, req, {"code": "stadsdel", "sdo_code": "sdn"})
    else:
        flt = _map_filter(layer, req, {"code": "sdn"})
        division = (req.properties.get("division") or "").strip()
        if division:
            flt = flt.with_(extra={"division": division})
    try:
        query = api.reference_query(layer, flt, catalogue)
    except FilterError as exc:
        raise FilterError(exc.message, "division" if exc.parameter == "division"
                          else exc.parameter) from None
    frame = store.read(layer, replace(query, bbox=None, limit=None, offset=0))
    times = None
    if layer == "stadsdelar":
        frame = api.stadsdelar_with_areas(frame, catalogue).assign(id=frame["code"])
        fields = api.STADSDEL_FIELDS
    else:
        # a code is one area per division: the feature id names both
        frame = frame.assign(id=[f"{c}@{v.isoformat()}" for c, v in
                                 zip(frame["code"], frame["valid_from"], strict=True)])
        fields = api.AREA_FIELDS

        def times(f: gpd.GeoDataFrame) -> pd.Series:
            ends = f["valid_to"].map(lambda d: None if d is None or pd.isna(d)
                                     else d + dt.timedelta(days=1))
            return _overlaps(f["valid_from"], ends, req)
    page, matched = _in_memory(frame, req, fid, times)
    return Rows(page, matched, fields)


def _walk_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    from mapapp.walks import API_FIELDS, walks_features

    sdo = _text_values(req, "sdo_code") or ()
    frame, extra = walks_features(store, tuple(sdo))

    def times(f: gpd.GeoDataFrame) -> pd.Series:
        ends = f["date"].map(lambda d: None if d is None else d + dt.timedelta(days=1))
        return _overlaps(f["date"], ends, req)

    page, matched = _in_memory(frame, req, fid, times)
    return Rows(page, matched, API_FIELDS, extra)


def _priority_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    from layers.analysis.priority import priority_for_store
    from mapapp.priority import _chosen_or_default, sdn_and_period

    try:
        sdn, period = sdn_and_period(req.properties.get("sdo_code") or "",
                                     req.properties.get("period") or "")
    except FilterError as exc:
        raise FilterError(exc.message, "sdo_code" if exc.parameter == "sdn"
                          else exc.parameter) from None
    period, _ = _chosen_or_default(store, period)
    result = priority_for_store(store, sdn=sdn, period=period)
    user = current_user()
    below, sees = api.suppress_below(), privacy.sees_sensitive_points(user)
    rows = [{"id": place.rank, **place.to_dict(sensitive_below=result.config.suppress_below,
                                               public_below=below, sees_sensitive=sees)}
            for place in result.places]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[p.geometry for p in result.places],
                             crs=STORE_EPSG)
    page, matched = _in_memory(frame, req, fid)
    fields = tuple(c for c in frame.columns if c not in ("geometry", "bounds", "center"))
    return Rows(page, matched, fields, lambda p: {"period": result.period.code})


def _rows(collection: Collection, req: ItemsRequest, fid: str | None = None) -> Rows:
    store = get_store()
    if collection.id == "incidents":
        return _incident_rows(store, req, fid)
    if collection.id == "findings":
        return _finding_rows(store, req, fid)
    if collection.id == "sites":
        return _site_rows(store, req, fid)
    if collection.id == "walks":
        return _walk_rows(store, req, fid)
    if collection.id == "priority_places":
        return _priority_rows(store, req, fid)
    return _reference_rows(store, collection.id, req, fid)


def _features(rows: Rows, crs: ogc.OgcCrs) -> dict:
    frame = rows.frame
    if "id" in frame.columns:
        frame = frame.assign(id=frame["id"].map(lambda v: str(json_value(v))))
    return feature_collection(frame, rows.fields, extra=rows.extra, epsg=crs.epsg,
                              lat_first=crs.lat_first, decimals=crs.decimals)


def _geo_response(body: dict, crs: ogc.OgcCrs) -> Response:
    response = _json(body, GEOJSON)
    response.headers["Content-Crs"] = f"<{crs.uri}>"
    return response


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str) -> Response:
    """The collection's features, filtered and paged (``next``/``prev`` links)."""
    collection = _collection(collection_id)
    html = _wants_html()
    req = _items_request(collection, request.args)
    rows = _rows(collection, req)
    body = _features(rows, req.crs)
    returned = len(body["features"])
    params = {k: v for k, v in request.args.items() if k != "f"}

    def page_url(offset: int, f: str | None = None) -> str:
        values = {**params, "offset": offset, "limit": req.limit}
        if f:
            values["f"] = f
        return _url("ogc.items", collection_id=collection_id, **values)

    links = [_link(page_url(req.offset, "json"), "alternate" if html else "self", GEOJSON,
                   "den här sidan som GeoJSON"),
             _link(page_url(req.offset, "html"), "self" if html else "alternate", HTML,
                   "den här sidan som HTML"),
             _link(_url("ogc.collection", collection_id=collection_id), "collection", JSON,
                   collection.title)]
    if req.offset + returned < rows.matched:
        links.append(_link(page_url(req.offset + req.limit, "html" if html else None), "next",
                           HTML if html else GEOJSON, "nästa sida"))
    if req.offset > 0:
        links.append(_link(page_url(max(0, req.offset - req.limit), "html" if html else None),
                           "prev", HTML if html else GEOJSON, "föregående sida"))
    if html:
        return _items_page(collection, body, rows, links, req)
    body.update({
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "numberMatched": rows.matched, "numberReturned": returned, "links": links,
    })
    if rows.restricted:
        body["restricted"] = rows.restricted
    return _geo_response(body, req.crs)


def _items_page(collection: Collection, body: dict, rows: Rows, links: list[dict],
                req: ItemsRequest) -> Response:
    columns = ["id", *[f for f in rows.fields if f != "id"][:6]]
    table = []
    for feature in body["features"]:
        fid = str(feature.get("id"))
        href = _url("ogc.item", collection_id=collection.id, fid=fid, f="html")
        table.append([{"href": href, "text": fid},
                      *[feature["properties"].get(c) for c in columns[1:]]])
    first = req.offset + 1 if body["features"] else req.offset
    text = (f"Objekt {first}–{req.offset + len(body['features'])} av {rows.matched}."
            + (f" {rows.restricted}" if rows.restricted else ""))
    shown = [lk for lk in links if lk["rel"] in ("next", "prev")]
    return _page(collection.title, [text], shown, columns, table)


@bp.get("/collections/<collection_id>/items/<path:fid>")
def item(collection_id: str, fid: str) -> Response:
    """One feature by its id (404 when it does not exist or the role may not see it)."""
    collection = _collection(collection_id)
    args = {k: v for k, v in request.args.items() if k in ("crs", "f")}
    unknown = sorted(set(request.args) - {"crs", "f"})
    if unknown:
        raise FilterError(f"Okänd parameter '{unknown[0]}' (ett objekt tar crs och f).",
                          unknown[0])
    req = ItemsRequest(crs=ogc.parse_crs(args.get("crs")), bbox=None, start=None, end=None,
                       limit=1, offset=0, properties={})
    rows = _rows(collection, req, fid)
    features = _features(rows, req.crs)["features"]
    if not features:
        raise OgcNotFound(f"Objektet '{fid}' finns inte i samlingen {collection.id}.")
    feature = features[0]
    values = {"collection_id": collection_id, "fid": fid}
    if _wants_html():
        props = feature["properties"]
        return _page(f"{collection.title}: {fid}", [],
                     [{"href": _url("ogc.items", collection_id=collection_id, f="html"),
                       "title": "Alla objekt"}],
                     ["egenskap", "värde"], [[k, v] for k, v in props.items()])
    feature["links"] = [*_self_links("ogc.item", GEOJSON, **values),
                        _link(_url("ogc.collection", collection_id=collection_id),
                              "collection", JSON, collection.title)]
    return _geo_response(feature, req.crs)
