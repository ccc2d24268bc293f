"""OGC API Features (Part 1 Core + GeoJSON + HTML, Part 2 CRS) at ``/ogc/`` for GIS clients.

QGIS, ArcGIS and GDAL (``ogrinfo OAPIF:https://…/ogc``) read the layers from here.
Written on Flask rather than pygeoapi (``docs/ogc.md`` says why): the few routes
reuse the JSON API's own code paths, so every collection gives each role exactly
what ``/api/<layer>`` gives it (:func:`mapapp.layer_access.incident_access`,
:func:`mapapp.layer_access.finding_fields`, :mod:`layers.core.privacy`): anonymous callers get no
sensitive categories and no incidents without a known street, findings without
description, owner, walk or photo, and no walks; a session or ``Authorization:
Bearer TOKEN`` gives more. Reads only. The parameters (``bbox``, ``bbox-crs``,
``crs``, ``datetime``, ``limit``) are read by :mod:`layers.io.ogc`; a bad one is 400 with
a Swedish message, an unknown collection or feature 404.
"""

from __future__ import annotations

import datetime as dt
import threading

from flask import Blueprint, Response, jsonify, render_template, request, url_for

from layers.analysis.aggregate import data_version
from layers.core import privacy
from layers.io import ogc
from layers.io.filters import FilterError
from layers.io.geojson import feature_collection, json_value
from layers.store.base import Store
from mapapp.access import current_user
from mapapp.ogc_collections import (
    COLLECTIONS,
    Collection,
    ItemsRequest,
    OgcNotFound,
    OgcUnauthorized,
    Rows,
    items_request,
    read_rows,
)
from mapapp.store_ import get_store

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


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
    req = items_request(collection, request.args)
    rows = read_rows(collection, req)
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
    rows = read_rows(collection, req, fid)
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
