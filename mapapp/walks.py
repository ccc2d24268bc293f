"""Trygghetsvandringar in the web app: walks, their protocols, and lighting against the dark.

Pages (Swedish UI, for signed-in users like the findings pages): ``/walks`` lists
the walks (date, area, darkness, participants, findings) with filters and the
upload of a GPX track (one walk: the track is the
route, the waypoints the findings); ``/walks/<id>`` shows one walk with its route,
participants by group, whether it took place in the dark and its findings by
owner, with the protocol one click away: ``/walks/<id>/protocol.pdf`` (or
``.docx``, ``.html``), and ``?owner=trafikkontoret`` for that owner's part only.
Inventerare and above record walks (``/walks/new``, the route drawn with
Leaflet.draw) and change them; handläggare delete them.

``/lighting`` puts the open lighting findings against incidents after dark nearby.
``GET /api/walks`` needs läsare, like the pages.

API: ``GET /api/walks`` (GeoJSON: the route as geometry, null without one) and
``POST /api/walks`` (bearer token; a JSON list of walks, a FeatureCollection, or a
file — GPX, CSV, GeoJSON, GeoPackage — in ``file``): every row valid or nothing is
stored (422 with a list of row, field, message).
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from folium.plugins import Draw

from layers.analysis import lighting as lighting_core
from layers.core import privacy
from layers.core.errors import FileRejected, RowError, RowsRejected
from layers.core.filenames import display_name, suffix_of
from layers.core.periods import Period, PeriodError, parse_period
from layers.core.privacy import suppress
from layers.core.schema import FINDING_STATUSES, OWNERS, PARTICIPANT_GROUPS, STORE_EPSG, WEB_EPSG
from layers.documents.protocol import ProtocolError, build_protocol, file_name, owner_choices
from layers.domain import walks as core
from layers.domain.findings import CATEGORY_LABELS, SEVERITY_LABELS
from layers.io.forms import errors_by_field
from layers.io.geojson import feature_collection
from layers.io.readers import FORMATS
from mapapp.access import current_user, may_write, require_write, role_required, user_name
from mapapp.extensions import csrf
from mapapp.folium_ import base_map, folium_parts
from mapapp.reading import WALK_API_FIELDS, latest_data_year, suppress_below, walks_features
from mapapp.store_ import get_store
from mapapp.uploads import GPX_WALK, api_folder, data_folder, keep_file, request_file, start_pending
from mapapp.views import (
    api_errors,
    area_names,
    context_shapes,
    created,
    drawn_feature,
    map_data,
    saved_edit,
    text,
    token_required,
)

bp = Blueprint("walks", __name__)

#: Who records and changes walks, and who deletes them.
RECORD_ROLE = "inventerare"
DELETE_ROLE = "handläggare"
#: Light states in the list's filter.
LIGHT_LABELS = {"dark": "i mörker", "partly": "delvis i mörker", "daylight": "i dagsljus"}


def _walk_or_404(walk_id: str) -> core.Walk:
    walk = core.load_walk(get_store(), walk_id)
    if walk is None:
        abort(404)
    return walk


def _changeable_walk(walk_id: str, role: str) -> core.Walk:
    """The walk, when this user may change it with ``role`` (404 missing, 403 outside area)."""
    walk = _walk_or_404(walk_id)
    require_write(role, [walk.row["sdo_code"]])
    return walk


def _authorize_import(areas: list) -> None:
    """The walk importer's check before it writes (403 outside the user's area)."""
    require_write(RECORD_ROLE, areas)


# --- the list and the upload ---------------------------------------------------------------


@bp.get("/walks")
@role_required("läsare")
def list_walks():
    """List the walks with their light, participants and findings; upload a GPX track."""
    store = get_store()
    areas = area_names()
    sdo = [s for s in request.args.getlist("sdo") if s in areas]
    light = request.args.get("light") if request.args.get("light") in LIGHT_LABELS else None
    try:
        year = int(request.args["year"]) if request.args.get("year") else None
    except ValueError:
        year = None
    frame = core.walks_overview(store, sdo=sdo, year=year, dark=light)
    years = sorted({d.year for d in store.read("walks")["date"] if d is not None},
                   reverse=True)
    return render_template(
        "walks/list.html", walks=frame, areas=areas, chosen_sdo=sdo, light=light,
        light_labels=LIGHT_LABELS, year=year, years=years, groups=PARTICIPANT_GROUPS,
        may_record=may_write(RECORD_ROLE), text=text, formats=sorted(FORMATS))


@bp.post("/walks/import")
@role_required(RECORD_ROLE)
def import_walk():
    """Preview an uploaded GPX walk (track and waypoints), or import a table of walks.

    A GPX file goes to the upload preview (its waypoints' refused rows listed, the
    rest stored with the walk on confirm); a table of walks is all or nothing.
    """
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Välj en fil att ladda upp (GPX med spår och waypoints).", "error")
        return redirect(url_for("walks.list_walks"))
    name = display_name(upload.filename)
    suffix = suffix_of(name)
    if suffix not in FORMATS:
        flash(f"Filen {name}: okänt filformat '{suffix}'.", "error")
        return redirect(url_for("walks.list_walks"))
    if suffix == ".gpx":
        # one walk: its waypoints are previewed as any upload of findings is
        token = start_pending(upload, suffix, {
            "name": name, "kind": GPX_WALK,
            "area": request.form.get("area", "").strip() or None,
            "organisers": request.form.get("organisers", "").strip()})
        return redirect(url_for("findings.upload_preview", token=token))
    folder = data_folder("uploads", "walks", secrets.token_hex(12))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload{suffix}"
    upload.save(path)
    try:
        result = core.import_walk_file(get_store(), path, user=user_name(), display_name=name,
                                       authorize=_authorize_import, log_rejected=False)
        keep_file(path)
    except FileRejected as exc:
        flash(f"{exc} Inget sparades.", "error")
        return redirect(url_for("walks.list_walks"))
    except RowsRejected as exc:
        flash(f"Filen {name}: {exc}", "error")
        return redirect(url_for("walks.list_walks"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    flash(result.report.summary_sv(), "success")
    if len(result.walk_ids) == 1:
        return redirect(url_for("walks.show_walk", walk_id=result.walk_ids[0]))
    return redirect(url_for("walks.list_walks"))


# --- one walk -------------------------------------------------------------------------------


def _route_shapes(walk: core.Walk) -> list[dict]:
    if walk.route is None:
        return []
    geom = gpd.GeoSeries([walk.route], crs=STORE_EPSG).to_crs(WEB_EPSG).iloc[0]
    return [{"type": "Feature", "geometry": geom.__geo_interface__,
             "properties": {"kind": "route",
                            "label": f"Rutt, {round(walk.route_length_m)} m"}}]


def _walk_extent(walk: core.Walk):
    """The route and findings of a walk as one geometry (None when it has neither)."""
    import shapely

    geoms = [g for g in [walk.route, *walk.findings.geometry] if g is not None]
    return shapely.union_all(geoms) if geoms else None


@bp.get("/walks/<walk_id>")
@role_required("läsare")
def show_walk(walk_id: str):
    """One walk: facts, darkness, participants by group, route and findings by owner."""
    walk = _walk_or_404(walk_id)
    parts = folium_parts(base_map(zoom_start=15))
    findings = walk.findings
    by_owner: dict[str, list] = {}
    for f in findings.itertuples(index=False):
        by_owner.setdefault(text(f.owner) or "ingen", []).append(f)
    order = [*OWNERS, "ingen"]
    by_owner = dict(sorted(by_owner.items(), key=lambda kv: order.index(kv[0])
                           if kv[0] in order else len(order)))
    return render_template(
        "walks/detail.html", walk=walk, parts=parts, shapes=_route_shapes(walk),
        context=context_shapes(_walk_extent(walk)),
        findings_data=map_data(findings), by_owner=by_owner, owners=owner_choices(),
        groups=PARTICIPANT_GROUPS, categories=CATEGORY_LABELS, severities=SEVERITY_LABELS,
        statuses=FINDING_STATUSES, text=text, area_name=area_names().get(
            text(walk.row["sdo_code"]), text(walk.row["sdo_code"])),
        may_record=may_write(RECORD_ROLE, [walk.row["sdo_code"]]),
        may_delete=may_write(DELETE_ROLE, [walk.row["sdo_code"]]),
        signed_in=current_user() is not None)


def _render_form(walk: core.Walk | None, values: dict, counts: dict, drawn: str,
                 errors: list[RowError], status: int = 200):
    m = base_map(zoom_start=12 if walk is None else 15)
    draw = Draw(position="topleft", show_geometry_on_click=False,
                draw_options={"polygon": False, "rectangle": False, "circle": False,
                              "marker": False, "circlemarker": False,
                              "polyline": {"shapeOptions": {"color": "#0b3d6b", "weight": 5}}})
    draw.add_to(m)
    return render_template(
        "walks/form.html", walk=walk, context=context_shapes(
            None if walk is None else _walk_extent(walk)),
        values=values, counts=counts, drawn=drawn,
        errors=errors, field_errors=errors_by_field(errors), parts=folium_parts(m),
        draw_name=draw.get_name(), groups=PARTICIPANT_GROUPS, areas=area_names()), status


def _form_input() -> tuple[dict[str, str], dict[str, str], str]:
    form = request.form
    values = {k: form.get(k, "").strip() for k in ("date", "start_time", "end_time", "area",
                                                   "sdo_code", "organisers", "participants")}
    counts = {g: form.get(f"group_{g}", "").strip() for g in PARTICIPANT_GROUPS}
    return values, counts, form.get("route", "")


@bp.route("/walks/new", methods=("GET", "POST"))
@role_required(RECORD_ROLE)
def new_walk():
    """Record a walk: when, where, who (counts by group) and the route on the map."""
    if request.method == "GET":
        today = pd.Timestamp.now(tz="Europe/Stockholm")
        return _render_form(None, {"date": today.date().isoformat()}, {}, "", [])
    values, counts, drawn = _form_input()
    store = get_store()
    walk, errors = core.walk_from_form(store, values, drawn, counts, user=user_name())
    if errors:
        return _render_form(None, values, counts, drawn, errors, 422)
    require_write(RECORD_ROLE, walk.walk["sdo_code"])
    if not core.save_new_walk(store, walk):
        flash("En vandring med samma datum, område och arrangörer fanns redan; den visas "
              "här. Ändra den vid behov.", "info")
    else:
        flash("Vandringen sparades.", "success")
    return redirect(url_for("walks.show_walk", walk_id=walk.id))


@bp.route("/walks/<walk_id>/edit", methods=("GET", "POST"))
@role_required(RECORD_ROLE)
def edit_walk(walk_id: str):
    """Change a walk's details, head counts and route (its old and new area: the user's)."""
    walk = _changeable_walk(walk_id, RECORD_ROLE)
    if request.method == "GET":
        row = walk.row
        values = {k: text(row[k]) for k in ("date", "start_time", "end_time", "area",
                                             "sdo_code", "organisers", "participants")}
        counts = {g: str(n) for g, n in walk.participants.items()}
        return _render_form(walk, values, counts, drawn_feature(walk.route), [])
    values, counts, drawn = _form_input()
    store = get_store()
    changed, errors = core.walk_from_form(store, values, drawn, counts, walk_id=walk_id,
                                          user=user_name())
    if errors:
        return _render_form(walk, values, counts, drawn, errors, 422)
    require_write(RECORD_ROLE, changed.walk["sdo_code"])
    return saved_edit(core.update_walk(store, walk_id, changed), "walks.show_walk",
                      walk_id=walk_id)


@bp.post("/walks/<walk_id>/delete")
@role_required(DELETE_ROLE)
def delete_walk(walk_id: str):
    """Delete a walk, its route and head counts (its findings stay)."""
    walk = _changeable_walk(walk_id, DELETE_ROLE)
    core.delete_walk(get_store(), walk_id)
    flash(f"Vandringen {walk.label} togs bort; dess fynd finns kvar.", "success")
    return redirect(url_for("walks.list_walks"))


@bp.get("/walks/<walk_id>/protocol.<any(pdf, docx, html):fmt>")
@role_required("läsare")
def protocol(walk_id: str, fmt: str):
    """The walk's protocol (``?owner=`` for one owner's part) as PDF, DOCX or HTML."""
    from layers.documents.protocol_render import FORMATS as MIME
    from layers.documents.protocol_render import render

    owner = request.args.get("owner") or None
    try:
        proto = build_protocol(get_store(), walk_id, owner=owner,
                               photo_dir=data_folder("photos"), area_names=area_names())
    except ProtocolError as exc:
        abort(404 if owner is None else 400, description=str(exc))
    data = render(proto, fmt, back_url=url_for("walks.show_walk", walk_id=walk_id))
    headers = {}
    if fmt != "html":
        headers["Content-Disposition"] = f'attachment; filename="{file_name(proto, fmt)}"'
    return Response(data, mimetype=MIME[fmt].split(";")[0], headers=headers)


# --- lighting -------------------------------------------------------------------------------


@bp.get("/lighting")
@role_required("läsare")
def lighting():
    """Open lighting findings against incidents in the dark nearby (``distance``, ``period``)."""
    store = get_store()
    error = None
    try:
        period = parse_period(request.args["period"]) if request.args.get("period") \
            else Period.year(latest_data_year(store))
    except PeriodError as exc:
        error, period = str(exc), Period.year(latest_data_year(store))
    try:
        distance = float(request.args.get("distance", lighting_core.DEFAULT_DISTANCE_M))
    except ValueError:
        distance = lighting_core.DEFAULT_DISTANCE_M
    distance = min(max(distance, 5.0), lighting_core.MAX_DISTANCE_M)
    include_closed = request.args.get("all") == "1"
    areas = area_names()
    sdo = tuple(s for s in request.args.getlist("sdo") if s in areas)
    below = suppress_below()
    counted = privacy.counted_categories(current_user(), None)
    table = lighting_core.lighting_conflicts(store, period, distance_m=distance,
                                             open_only=not include_closed, sdo=sdo,
                                             categories=counted.codes, suppress_below=below)
    rows = table.to_dict("records")
    for r in rows:
        r["dark_text"] = suppress(r["dark"], below)
        r["daylight_text"] = suppress(r["daylight"], below)
        # the circle's size: a hidden count is drawn as the class, never its value
        r["weight"] = r["dark"] if isinstance(r["dark_text"], int) else None
    shapes = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r["lon"],
                                                                                r["lat"]]},
               "properties": {"kind": "lamp", "weight": r["weight"],
                              "small": r["weight"] is None,
                              "label": f"Belysning: {r['dark_text']} händelser i mörker",
                              "lines": [text(r["description"]),
                                        f"I mörker inom {distance:g} m: {r['dark_text']}",
                                        f"I dagsljus: {r['daylight_text']}",
                                        f"Status: {FINDING_STATUSES.get(text(r['status']), '')}",
                                        f"Ansvarig: {OWNERS.get(text(r['owner']), '–')}"],
                              "url": url_for("findings.show_finding", finding_id=r["id"]),
                              "link": "Visa fyndet"}} for r in rows]
    parts = folium_parts(base_map(zoom_start=11))
    return render_template(
        "walks/lighting.html", context=context_shapes(), rows=rows, shapes=shapes,
        parts=parts, period=period,
        distance=distance, include_closed=include_closed, areas=areas, chosen_sdo=sdo,
        error=error, suppress=below, statuses=FINDING_STATUSES, owners=OWNERS, text=text,
        note=counted.note)


# --- the API ----------------------------------------------------------------------------------


@bp.get("/api/walks")
@role_required("läsare")
def api_list():
    """Every walk as GeoJSON (the route as geometry, null without one), newest first.

    For läsare and above, like the walk pages: organisers, participants and routes
    are not public (anonymous callers get 401; the public map does not use it).
    """
    frame, extra = walks_features(get_store())
    collection = feature_collection(frame, WALK_API_FIELDS, extra=extra)
    response = jsonify(collection)
    response.mimetype = "application/geo+json"
    return response


def _payload_file(folder: Path) -> tuple[Path, str]:
    """Save the request as a file the walk importer reads: (path, name for messages).

    A JSON list of walks becomes a GeoJSON FeatureCollection (``route`` a GeoJSON
    line or null, ``participants`` an object of counts by group or a number), so the
    object at position k is row k.
    """
    saved = request_file(folder)
    if saved is not None:
        return saved
    payload = request.get_json(silent=True, force=True)
    if isinstance(payload, dict) and payload.get("type") == "FeatureCollection":
        features = payload.get("features") or []
    elif isinstance(payload, list) and all(isinstance(o, dict) for o in payload):
        features = [_feature(o) for o in payload]
    else:
        raise FileRejected("Skicka en JSON-lista med vandringar, en GeoJSON "
                           "FeatureCollection eller en fil (fältet 'file').")
    if not features:
        raise FileRejected("Inga vandringar att spara (tom lista).")
    path = folder / "walks.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features}, ensure_ascii=False), encoding="utf-8")
    return path, "anrop.geojson"


def _feature(obj: dict) -> dict:
    props = {k: v for k, v in obj.items() if k not in ("route", "geometry", "participants")}
    counts = obj.get("participants")
    if isinstance(counts, dict):
        labels = {label: code for code, label in PARTICIPANT_GROUPS.items()}
        for key, n in counts.items():
            code = key if key in PARTICIPANT_GROUPS else labels.get(key, key)
            props[core.PARTICIPANT_COLUMNS.get(code, f"participants_{code}")] = n
    elif counts is not None:
        props["participants"] = counts
    return {"type": "Feature", "properties": props,
            "geometry": obj.get("route") or obj.get("geometry")}


@bp.post("/api/walks")
@csrf.exempt
@role_required(RECORD_ROLE)
@token_required
def api_create():
    """Create walks from JSON, GeoJSON or a file (GPX: one walk); all or none (422 per row)."""
    folder = api_folder()
    try:
        path, name = _payload_file(folder)
        result = core.import_walk_file(get_store(), path, user=user_name(), display_name=name,
                                       authorize=_authorize_import, log_rejected=False)
        keep_file(path)
    except FileRejected as exc:
        return api_errors([RowError(None, None, str(exc))])
    except RowsRejected as exc:
        return api_errors(exc.errors)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    body = {"walks": result.walk_ids, "new_walks": result.new_walks,
            "findings_inserted": result.report.inserted if result.report.layer == "findings"
            else 0}
    return created(body, bool(result.new_walks))
