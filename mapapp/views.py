"""View helpers every blueprint shares: texts, findings on a map, outlines, outcomes.

Blueprints import these instead of each other's private helpers: the display of a
stored value (:func:`text`, :func:`local_time`), the findings a map draws
(:func:`map_data`), the stadsdelar outlines under a place map
(:func:`context_shapes`), the names of the current stadsdelsområden
(:func:`area_names`), a drawn geometry for the Leaflet.draw forms
(:func:`drawn_feature`), the flash of a one-row form's outcome
(:func:`flash_outcome`) and of an edit (:func:`saved_edit`), and the bearer-token
write API's check and errors (:func:`token_required`, :func:`api_errors`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import geopandas as gpd
import pandas as pd
from flask import Response, abort, flash, g, jsonify, redirect, url_for

from layers.analysis.places import describe_findings
from layers.core.errors import RowError
from layers.core.schema import FINDING_STATUSES, FINDINGS, LOCAL_TZ, OWNERS, STORE_EPSG, WEB_EPSG
from layers.domain.findings import CATEGORY_LABELS
from mapapp.store_ import get_store

#: Swedish names of the fields a row error of a finding may name.
FIELD_LABELS = {**{f.name: f.label for f in FINDINGS.fields}, "lon": "längdgrad",
                "lat": "breddgrad", "x": "x", "y": "y"}
#: Metres the context outlines are simplified by, and how far around a place they reach.
OUTLINE_SIMPLIFY_M = 10.0
CONTEXT_MARGIN_M = 3000.0

#: (area catalogue, the city's outline features) of the last whole-city context_shapes.
_CITY_OUTLINES: tuple | None = None


def text(value: object) -> str:
    """A stored text value for a page: "" for a missing one (None, NaN, NA)."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def local_time(value: object, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time in Stockholm's time zone ("" for a missing one)."""
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert(LOCAL_TZ).strftime(fmt)


def map_data(frame) -> list[dict]:
    """The findings a map draws, as plain values (the page escapes them as JSON).

    Each carries its ``place`` in words (:mod:`layers.analysis.places`): "Farsta centrum, 40 m
    (stadsdel Farsta)".

    Descriptions are shortened to 300 characters; the map's JavaScript puts every
    text into the popup as text, never as HTML.
    """
    if frame is None or frame.empty:
        return []
    wgs = frame.geometry.to_crs(WEB_EPSG)
    out = []
    places = describe_findings(get_store(), frame)
    for row, geom, place in zip(frame.itertuples(index=False), wgs, places, strict=True):
        if geom is None or geom.is_empty:
            continue
        item = {
            "id": row.id,
            "category": CATEGORY_LABELS.get(row.category, row.category),
            "severity": None if pd.isna(row.severity) else int(row.severity),
            "status": text(row.status) or "ny",
            "status_label": FINDING_STATUSES.get(text(row.status) or "ny", ""),
            "owner": OWNERS.get(text(row.owner), ""),
            "found": local_time(row.found_at, "%Y-%m-%d"),
            "description": text(row.description)[:300],
            "place": place.text,
        }
        item["url"] = url_for("findings.show_finding", finding_id=row.id)
        if geom.geom_type == "Point":
            item["lat"], item["lon"] = round(geom.y, 7), round(geom.x, 7)
        else:
            item["line"] = [[round(y, 7), round(x, 7)] for x, y in geom.coords]
        out.append(item)
    return out


def area_names() -> dict[str, str]:
    """The current stadsdelsområden: code -> name."""
    from layers.analysis.areas import area_catalogue

    return dict(area_catalogue(get_store()).current)


def context_shapes(around=None, *, sites: bool = False, skip: str | None = None
                   ) -> list[dict]:
    """Stadsdelar (and other sites) as features for place_map.js: a map that still
    reads when the basemap tiles cannot load. ``around`` (a geometry in EPSG:3011)
    keeps only what lies within :data:`CONTEXT_MARGIN_M` of it."""
    import shapely

    from layers.analysis.areas import area_catalogue
    from layers.io.geojson import feature_collection

    global _CITY_OUTLINES
    catalogue = area_catalogue(get_store())
    frame = catalogue.stadsdelar
    box = None if around is None else shapely.box(*around.buffer(CONTEXT_MARGIN_M).bounds)
    if box is not None:
        frame = frame[frame.intersects(box).to_numpy()]
    cached = _CITY_OUTLINES
    if box is None and cached is not None and cached[0] is catalogue:
        # the whole city's outlines: made once per catalogue, not on every form page
        out = list(cached[1])
    else:
        out = feature_collection(frame, ["name"], decimals=5, simplify=OUTLINE_SIMPLIFY_M,
                                 extra=lambda p: {"kind": "outline",
                                                  "label": p["name"]})["features"]
        if box is None:
            _CITY_OUTLINES = (catalogue, tuple(out))
    if sites:
        others = get_store().read("sites")
        if box is not None:
            others = others[others.intersects(box).to_numpy()]
        if skip is not None:
            others = others[others["id"] != skip]
        out += feature_collection(others, ["name"], decimals=6, extra=lambda p: {
            "kind": "other", "label": f"Platssamverkan: {p['name']}"})["features"]
    return out


def drawn_feature(geometry) -> str:
    """A stored geometry (EPSG:3011) as the GeoJSON Feature a Leaflet.draw form edits
    ("" without one)."""
    if geometry is None:
        return ""
    geom = gpd.GeoSeries([geometry], crs=STORE_EPSG).to_crs(WEB_EPSG).iloc[0]
    return json.dumps({"type": "Feature", "properties": {}, "geometry": geom.__geo_interface__})


def flash_outcome(errors: list, refused: str, saved: str) -> None:
    """Flash the errors of a one-row form (without its "rad 1, "), or that it was saved."""
    if errors:
        flash(refused + ": " + "; ".join(str(e).removeprefix("rad 1, ") for e in errors),
              "error")
    else:
        flash(saved, "success")


def token_required(view: Callable) -> Callable:
    """Let only bearer-token calls into a write API view (401 otherwise).

    The write API routes have no CSRF check, so a browser session must not count.
    """

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not g.get("via_token"):
            return jsonify({"error": "API:t kräver Authorization: Bearer TOKEN "
                                     "(trygghetskartan users token NAMN)."}), 401
        return view(*args, **kwargs)

    return wrapped


def saved_edit(updated: bool, endpoint: str, **values: object) -> Response:
    """After an edit form's update: 404 when the object was gone, else say it was
    saved and show it (``url_for(endpoint, **values)``)."""
    if not updated:
        abort(404)
    flash("Ändringarna sparades.", "success")
    return redirect(url_for(endpoint, **values))


def api_errors(errors: list[RowError], row_map: Callable[[int], int] | None = None
               ) -> tuple[Response, int]:
    """422 with a JSON list of {"row", "field", "message"} (rows as the client counts)."""
    out = []
    for e in errors:
        row = e.row if e.row is None or row_map is None else row_map(e.row)
        out.append({"row": row, "field": e.field, "message": e.message})
    return jsonify(out), 422


def created(body: dict, new: bool) -> tuple[Response, int]:
    """A write API's answer: 201 when it stored something new, else 200."""
    return jsonify(body), 201 if new else 200
