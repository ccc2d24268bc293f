"""The OGC API Features collections and how each one's items are read.

:data:`COLLECTIONS` says what /ogc/ offers; :func:`items_request` reads the
standard's parameters of an items request and :func:`read_rows` one page of a
collection for this request's user, through the JSON API's own code paths
(:mod:`mapapp.layer_access`, :mod:`layers.core.privacy`), so every collection gives each
role exactly what ``/api/<layer>`` gives it. The routes are in :mod:`mapapp.ogc`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import geopandas as gpd
import pandas as pd
import shapely

from layers.analysis.areas import area_catalogue
from layers.core import privacy
from layers.core.schema import PRECISIONS, STORE_EPSG
from layers.io import ogc
from layers.io.filters import FilterError, MapFilter, parse_filter, parse_int
from layers.store.base import Query, Store
from mapapp import layer_access
from mapapp.access import current_user
from mapapp.reading import (
    WALK_API_FIELDS,
    chosen_or_default,
    sdn_and_period,
    suppress_below,
    walks_features,
)
from mapapp.store_ import get_store

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


def items_request(collection: Collection, args: Mapping[str, str]) -> ItemsRequest:
    """Read the standard's parameters of an items request (FilterError for a bad one)."""
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
    access = layer_access.incident_access(current_user(), flt)
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
    frame, matched = _store_rows(store, "incidents", query, req, layer_access.read_incidents)
    return Rows(frame, matched, access.fields, layer_access.incident_labels, access.restricted)


def _finding_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    flt = _map_filter("findings", req, {"category": "category", "status": "status",
                                        "sdo_code": "sdn", "stadsdel": "stadsdel"})
    fields = layer_access.finding_fields(current_user())
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
    return Rows(frame, matched, fields, layer_access.finding_labels)


def _site_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    flt = _map_filter("sites", req, {"status": "status", "sdo_code": "sdn"})
    query = flt.layer_query()
    if fid is not None:
        query = replace(query, where={**query.where, "id": fid})
    frame, matched = _store_rows(store, "sites", query, req, lambda s, q: s.read("sites", q))
    return Rows(frame, matched, layer_access.SITE_FIELDS, layer_access.site_labels)


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
        query = layer_access.reference_query(layer, flt, catalogue)
    except FilterError as exc:
        raise FilterError(exc.message, "division" if exc.parameter == "division"
                          else exc.parameter) from None
    frame = store.read(layer, replace(query, bbox=None, limit=None, offset=0))
    times = None
    if layer == "stadsdelar":
        frame = layer_access.stadsdelar_with_areas(frame, catalogue).assign(id=frame["code"])
        fields = layer_access.STADSDEL_FIELDS
    else:
        # a code is one area per division: the feature id names both
        frame = frame.assign(id=[f"{c}@{v.isoformat()}" for c, v in
                                 zip(frame["code"], frame["valid_from"], strict=True)])
        fields = layer_access.AREA_FIELDS

        def times(f: gpd.GeoDataFrame) -> pd.Series:
            ends = f["valid_to"].map(lambda d: None if d is None or pd.isna(d)
                                     else d + dt.timedelta(days=1))
            return _overlaps(f["valid_from"], ends, req)
    page, matched = _in_memory(frame, req, fid, times)
    return Rows(page, matched, fields)


def _walk_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    sdo = _text_values(req, "sdo_code") or ()
    frame, extra = walks_features(store, tuple(sdo))

    def times(f: gpd.GeoDataFrame) -> pd.Series:
        ends = f["date"].map(lambda d: None if d is None else d + dt.timedelta(days=1))
        return _overlaps(f["date"], ends, req)

    page, matched = _in_memory(frame, req, fid, times)
    return Rows(page, matched, WALK_API_FIELDS, extra)


def _priority_rows(store: Store, req: ItemsRequest, fid: str | None) -> Rows:
    from layers.analysis.priority import priority_for_store

    try:
        sdn, period = sdn_and_period(req.properties.get("sdo_code") or "",
                                     req.properties.get("period") or "")
    except FilterError as exc:
        raise FilterError(exc.message, "sdo_code" if exc.parameter == "sdn"
                          else exc.parameter) from None
    period, _ = chosen_or_default(store, period)
    result = priority_for_store(store, sdn=sdn, period=period)
    user = current_user()
    below, sees = suppress_below(), privacy.sees_sensitive_points(user)
    rows = [{"id": place.rank, **place.to_dict(sensitive_below=result.config.suppress_below,
                                               public_below=below, sees_sensitive=sees)}
            for place in result.places]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[p.geometry for p in result.places],
                             crs=STORE_EPSG)
    page, matched = _in_memory(frame, req, fid)
    fields = tuple(c for c in frame.columns if c not in ("geometry", "bounds", "center"))
    return Rows(page, matched, fields, lambda p: {"period": result.period.code})


def read_rows(collection: Collection, req: ItemsRequest, fid: str | None = None) -> Rows:
    """One page of ``collection`` (or the feature ``fid``) for this request's user."""
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
