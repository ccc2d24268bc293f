"""Trygghetsvandring findings: record on the map, upload a walk, follow each to åtgärdad.

Pages (Swedish UI): ``/findings`` lists with filters, a map, history and exports per
owner; ``/findings/new`` is the phone form (tap the map, photo, walk) and the file
upload, whose preview is ``/findings/upload/<token>``; ``/findings/<id>`` shows one
finding with its photo and history and, for handläggare, the status change.
``POST /api/findings`` takes JSON, GeoJSON or a file with a bearer token.

Files live under the data folder: photos in ``photos/`` (EXIF stripped, see
:mod:`layers.io.photos`), uploads waiting for their confirm in ``uploads/pending/<token>/``
(the token is kept in the session) and confirmed uploads in ``uploads/<date>/``.
The domain rules are in :mod:`layers.domain.findings`; this module parses requests and
renders pages.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import geopandas as gpd
import pandas as pd
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from markupsafe import Markup

from layers.analysis.places import describe_findings
from layers.core.errors import FileRejected, RowError
from layers.core.filenames import display_name, stored_name, suffix_of
from layers.core.schema import (
    FINDING_STATUSES,
    FINDINGS,
    LOCAL_TZ,
    OWNERS,
    STORE_EPSG,
    WEB_EPSG,
)
from layers.domain import findings as core
from layers.domain import walks as walks_core
from layers.domain.access import MANAGE_ROLE, RECORD_ROLE, write_refusal
from layers.indicators import INDICATORS, format_age, format_share
from layers.io.photos import PhotoRejected, clean_photo, is_photo_name, store_photo
from layers.io.readers import FORMATS
from layers.store.base import StoreBusy
from mapapp import csrf
from mapapp import promises as promises_
from mapapp.access import correction_refusal, may_write, require_correction, require_write
from mapapp.auth import role_required
from mapapp.folium_ import base_map, folium_parts
from mapapp.notify import status_hook
from mapapp.store_ import get_store, location_for

LOGGER = logging.getLogger(__name__)

bp = Blueprint("findings", __name__)

#: Findings per page of the list.
PAGE_SIZE = 50
#: At most this many findings are drawn on a map (the list pages through all).
MAP_LIMIT = 3000
#: ``kind`` of a pending upload that is a GPX walk (track and waypoints), from /walks.
GPX_WALK = "gpx_walk"
#: Uploads not confirmed within this many seconds are deleted.
PENDING_MAX_AGE_S = 24 * 3600
#: API and walk upload folders older than this were left by a killed request (a request
#: that finishes, stored or refused, removes its own folder at once).
ABANDONED_MAX_AGE_S = 15 * 60
#: The file in a pending upload's folder naming the user who uploaded it.
PENDING_OWNER_FILE = ".owner"
#: Pending uploads remembered per session.
PENDING_PER_SESSION = 5
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SUBMISSION_RE = re.compile(r"^[0-9a-f]{32}$")
#: Swedish names of the fields a row error may name.
FIELD_LABELS = {**{f.name: f.label for f in FINDINGS.fields}, "lon": "längdgrad",
                "lat": "breddgrad", "x": "x", "y": "y"}
STATUS_COLOURS = {"ny": "danger", "tilldelad": "warning", "atgardad": "success",
                  "avvisad": "secondary"}


# --- helpers ------------------------------------------------------------------------


def data_folder(*parts: str) -> Path:
    """A folder under the data folder (the GeoPackage's folder, else the instance folder)."""
    location = location_for(current_app)
    if "://" in location:
        base = Path(current_app.instance_path)
    else:
        base = Path(location)
        if base.suffix.lower() == ".gpkg":
            base = base.parent
    return base.joinpath(*parts)


def _user_name() -> str:
    return g.user.name


def remove_old_folders(root: Path, max_age_s: float) -> None:
    """Delete the sub-folders of ``root`` not changed for ``max_age_s`` seconds."""
    if not root.is_dir():
        return
    limit = time.time() - max_age_s
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


@bp.record_once
def _clean_abandoned_uploads(state) -> None:
    """At app start: remove payload folders that killed API or walk uploads left behind."""
    with state.app.app_context():
        for kind in ("api", "walks"):
            remove_old_folders(data_folder("uploads", kind), ABANDONED_MAX_AGE_S)


def _labels() -> dict:
    """Label tables every findings template uses."""
    return {
        "categories": core.CATEGORY_LABELS,
        "statuses": FINDING_STATUSES,
        "owners": OWNERS,
        "status_colours": STATUS_COLOURS,
        "severities": core.SEVERITY_LABELS,
        "field_labels": FIELD_LABELS,
    }


def _text(value: object) -> str:
    return core.text_or_none(value) or ""


def _local(value: object, fmt: str = "%Y-%m-%d %H:%M") -> str:
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
    labels = _labels()
    places = describe_findings(get_store(), frame)
    for row, geom, place in zip(frame.itertuples(index=False), wgs, places, strict=True):
        if geom is None or geom.is_empty:
            continue
        item = {
            "id": row.id,
            "category": labels["categories"].get(row.category, row.category),
            "severity": None if pd.isna(row.severity) else int(row.severity),
            "status": _text(row.status) or "ny",
            "status_label": FINDING_STATUSES.get(_text(row.status) or "ny", ""),
            "owner": OWNERS.get(_text(row.owner), ""),
            "found": _local(row.found_at, "%Y-%m-%d"),
            "description": _text(row.description)[:300],
            "place": place.text,
        }
        item["url"] = url_for("findings.show_finding", finding_id=row.id)
        if geom.geom_type == "Point":
            item["lat"], item["lon"] = round(geom.y, 7), round(geom.x, 7)
        else:
            item["line"] = [[round(y, 7), round(x, 7)] for x, y in geom.coords]
        out.append(item)
    return out


def _map_parts(zoom: int = 11) -> dict:
    """The folium map plus ``context``: the stadsdelar outlines (land) that place_map.js
    draws under everything, so the map reads (and a phone user sees where to tap)
    even when the basemap tiles do not load."""
    from mapapp.sites import context_shapes

    parts = folium_parts(base_map(zoom_start=zoom))
    parts["context"] = context_shapes()
    return parts


# --- the list -------------------------------------------------------------------------


@bp.get("/findings")
@role_required("läsare")
def list_findings():
    """List findings with filters, their history, a map and the owners' fix times."""
    store = get_store()
    flt = core.FindingFilter.from_values(request.args.getlist)
    frame = core.read_findings(store, flt)
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(frame) // PAGE_SIZE))
    page = min(page, pages)
    shown = frame.iloc[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    history = core.histories(store, shown["id"])
    walks = core.list_walks(store)
    try:
        promise_period = promises_.requested_period(request.args.get("promise_period"))
    except ValueError:
        promise_period = promises_.requested_period(None)
    return render_template(
        "findings/list.html", promise=promises_.report(store, promise_period, frame),
        format_share=format_share, format_age=format_age, promise_defs=INDICATORS,
        findings=shown, total=len(frame), page=page, pages=pages, flt=flt,
        history=history, describe=core.describe_history, summary=core.fix_summary(frame),
        walks=walks, walk_labels={w["id"]: core.walk_label(w) for _, w in walks.iterrows()},
        areas=core.area_choices(store), map_parts=_map_parts(),
        map_items=map_data(frame.iloc[:MAP_LIMIT]), map_limited=len(frame) > MAP_LIMIT,
        local=_local, text=_text, **_labels())


@bp.get("/findings/export.<fmt>")
@role_required("läsare")
def export_findings(fmt: str):
    """Export the filtered findings (e.g. one owner's list) as CSV or GeoPackage."""
    if fmt not in ("csv", "gpkg"):
        abort(404)
    flt = core.FindingFilter.from_values(request.args.getlist)
    frame = core.read_findings(get_store(), flt)
    stem = "fynd" + "".join(f"-{v}" for v in flt.owner + flt.status)
    stamp = dt.date.today().isoformat()
    if fmt == "csv":
        names = get_store().read("stadsdelar")
        csv_bytes = core.owner_list_csv(frame, dict(zip(names["code"], names["name"],
                                                        strict=True)))
        return Response(csv_bytes, mimetype="text/csv",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{stem}-{stamp}.csv"'})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.gpkg"
        core.owner_list_gpkg(frame, path)
        data = path.read_bytes()
    return Response(data, mimetype="application/geopackage+sqlite3",
                    headers={"Content-Disposition": f'attachment; filename="{stem}-{stamp}.gpkg"'})


@bp.get("/findings/photo/<name>")
@role_required("läsare")
def photo(name: str):
    """Serve a stored photo (EXIF already stripped) to signed-in users."""
    if not is_photo_name(name):
        abort(404)
    response = send_from_directory(data_folder("photos"), name, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# --- the form -------------------------------------------------------------------------


def save_request_photo(errors: list[RowError], field: str = "photo"
                       ) -> tuple[Path | None, tuple[float, float] | None]:
    """Clean (EXIF off) and store the request's photo: (its path, its GPS position).

    (None, None) without a photo; a refused photo adds a Swedish error on "foto".
    """
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        return None, None
    try:
        cleaned = clean_photo(upload.read())
    except PhotoRejected as exc:
        errors.append(RowError(1, "foto", str(exc)))
        return None, None
    name = store_photo(data_folder("photos"), cleaned)
    return data_folder("photos", name), cleaned.gps


def _form_defaults() -> dict[str, str]:
    now = pd.Timestamp.now(tz=LOCAL_TZ)
    return {
        "submission": uuid.uuid4().hex,
        "found_at": now.strftime("%Y-%m-%dT%H:%M"),
        "severity": "2",
        "walk": session.get("last_walk", ""),
        "walk_date": now.date().isoformat(),
    }


def _render_form(values: dict[str, str], errors: list[RowError] | None = None,
                 upload_error: str | None = None, status: int = 200):
    store = get_store()
    walks = core.list_walks(store)
    return render_template(
        "findings/new.html", values=values, errors=errors or [],
        field_errors={e.field: e.message for e in errors or []},
        upload_error=upload_error, walks=walks,
        walk_labels={w["id"]: core.walk_label(w) for _, w in walks.iterrows()},
        map_parts=_map_parts(zoom=12), template_help=core.template_help(),
        accept=",".join(sorted(FORMATS)), **_labels()), status


@bp.get("/findings/new")
@role_required(RECORD_ROLE)
def new_finding():
    """Show the phone form to record one finding, and the upload of a whole walk."""
    return _render_form(_form_defaults())


def _new_walk(details: dict[str, str]) -> pd.DataFrame:
    """A new walk from the form's text fields; raises FileRejected with a Swedish reason."""
    try:
        date = dt.date.fromisoformat(details.get("walk_date", "").strip())
    except ValueError:
        raise FileRejected("Ange vandringens datum (ÅÅÅÅ-MM-DD).") from None
    participants = details.get("walk_participants", "").strip()
    try:
        count = int(participants) if participants else None
    except ValueError:
        raise FileRejected("Antal deltagare ska vara ett heltal.") from None
    return core.new_walk(date, details.get("walk_area", ""), participants=count,
                         organisers=details.get("walk_organisers", ""))


_WALK_FIELDS = ("walk_date", "walk_area", "walk_participants", "walk_organisers")


def _walk_from_form(form, errors: list[RowError]) -> tuple[str | None, pd.DataFrame | None]:
    """The walk chosen or entered in a form: (walk id, new walk row or None)."""
    choice = form.get("walk", "").strip()
    if not choice:
        return None, None
    if choice != "new":
        if get_store().count("walks", core.Query(where={"id": choice})) == 0:
            errors.append(RowError(1, "vandring", "vandringen finns inte; välj en i listan"))
            return None, None
        return choice, None
    try:
        walk = _new_walk({k: form.get(k, "") for k in _WALK_FIELDS})
    except FileRejected as exc:
        errors.append(RowError(1, "vandring", str(exc)))
        return None, None
    return str(walk["id"].iloc[0]), walk


@bp.post("/findings/new")
@role_required(RECORD_ROLE)
def create_finding():
    """Store one finding from the form: photo without EXIF, walk, place, all or nothing."""
    form = request.form
    values = {k: form.get(k, "") for k in (
        "submission", "found_at", "category", "severity", "description", "owner", "walk",
        "walk_date", "walk_area", "walk_participants", "walk_organisers", "lat", "lon",
        "photo_name")}
    if not _SUBMISSION_RE.match(values["submission"]):
        values["submission"] = uuid.uuid4().hex
    errors: list[RowError] = []
    lat, lon = values["lat"].strip(), values["lon"].strip()
    notes: list[str] = []

    # the photo first: its position is the place when none was chosen
    photo_name = values["photo_name"] if is_photo_name(values["photo_name"]) and \
        data_folder("photos", values["photo_name"]).is_file() else ""
    # saved by this request: deleted when it is refused
    saved_photo, gps = save_request_photo(errors)
    if saved_photo is not None:
        photo_name = saved_photo.name
        if gps and not (lat and lon):
            lat, lon = (str(v) for v in gps)
            values["lat"], values["lon"] = lat, lon
            notes.append("Platsen togs från fotots GPS-position.")
    values["photo_name"] = photo_name

    walk_id, walk = _walk_from_form(form, errors)
    store = get_store()
    row = {
        "id": f"{core.FORM_SOURCE}:{values['submission']}",
        "found_at": values["found_at"].replace("T", " "),
        "category": values["category"],
        "severity": values["severity"],
        "description": values["description"],
        "owner": values["owner"],
        "walk_id": walk_id or "",
        "photo": photo_name,
    }
    frame, row_errors = core.validate_form(store, row, lat, lon)
    errors += row_errors
    refusal = None if errors else write_refusal(g.user, RECORD_ROLE, frame["sdo_code"])
    if (errors or refusal) and saved_photo is not None:
        # nothing is stored, so neither is the photo (the form asks for it again)
        saved_photo.unlink(missing_ok=True)
        values["photo_name"] = ""
    if errors:
        return _render_form(values, errors, status=422)
    if refusal:
        abort(403, description=refusal)
    frame = core.complete_rows(frame, user=_user_name())
    duplicates = core.likely_duplicates(store, frame)
    if walk is not None and len(frame) and pd.notna(frame["sdo_code"].iloc[0]):
        walk["sdo_code"] = frame["sdo_code"].iloc[0]
    inserted = core.record_finding(store, frame, walk=walk)
    session["last_walk"] = walk_id or ""
    if not inserted:
        flash("Fyndet var redan sparat (formuläret skickades två gånger).", "info")
    else:
        flash(" ".join(["Fyndet sparades.", *notes]), "success")
    for dup in duplicates.values():
        flash(f"Obs: ett öppet fynd av samma kategori finns {dup.distance_m:.0f} m bort "
              f"({dup.existing_id}). Kontrollera om det är samma sak.", "info")
    return redirect(url_for("findings.list_findings", _anchor="fynd-" + frame["id"].iloc[0]))


# --- the upload -----------------------------------------------------------------------


def _pending_dir(token: str) -> Path:
    if not _TOKEN_RE.match(token):
        abort(404)
    return data_folder("uploads", "pending", token)


def _pending_owner(folder: Path) -> str | None:
    try:
        return (folder / PENDING_OWNER_FILE).read_text(encoding="utf-8")
    except OSError:
        return None


def _check_pending_owner(folder: Path, *, admin_may: bool = False) -> None:
    """404 for an upload that is gone, 403 for someone else's (admin may cancel it)."""
    if not folder.is_dir():
        abort(404, description="Uppladdningen finns inte längre. Ladda upp filen igen.")
    if _pending_owner(folder) != _user_name() and not (admin_may and g.user.role == "admin"):
        abort(403, description="Uppladdningen tillhör en annan användare.")


def _pending(token: str) -> tuple[dict, Path]:
    """The session's record of this user's pending upload and its file, or 404/403."""
    folder = _pending_dir(token)
    _check_pending_owner(folder)
    meta = session.get("uploads", {}).get(token)
    if meta is None:
        abort(404, description="Uppladdningen finns inte längre. Ladda upp filen igen.")
    files = [p for p in folder.iterdir() if p.is_file() and p.name != PENDING_OWNER_FILE]
    if not files:
        abort(404)
    return meta, files[0]


def _forget(token: str) -> None:
    uploads = dict(session.get("uploads", {}))
    uploads.pop(token, None)
    session["uploads"] = uploads


def _clean_old_pending() -> None:
    remove_old_folders(data_folder("uploads", "pending"), PENDING_MAX_AGE_S)


def kept_path(suffix: str) -> Path:
    """Where an uploaded file is kept for good: ``uploads/<date>/<generated name>``.

    The user's file name is never part of a path; it is kept as data (the import
    log's ``file_name``, the messages).
    """
    return data_folder("uploads", dt.date.today().isoformat(), stored_name(suffix))


def keep_upload(path: Path, target: Path) -> None:
    """Move an uploaded file to where it is kept (after its rows were stored)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)


@bp.get("/findings/template.csv")
@role_required(RECORD_ROLE)
def upload_template():
    """The CSV template for a whole walk (Swedish headers, ';' for Excel)."""
    return Response(core.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition":
                             'attachment; filename="trygghetsvandring-mall.csv"'})


@bp.post("/findings/upload")
@role_required(RECORD_ROLE)
def upload_file():
    """Receive a file of findings and keep it until the preview is confirmed."""
    upload = request.files.get("file")
    values = _form_defaults()
    if upload is None or not upload.filename:
        return _render_form(values, upload_error="Välj en fil att ladda upp.", status=422)
    name = display_name(upload.filename)
    suffix = suffix_of(name)
    if suffix not in FORMATS:
        return _render_form(values, status=422, upload_error=(
            f"Filen {name}: okänt filformat '{suffix}'. Tillåtna: "
            f"{', '.join(sorted(FORMATS))}."))
    errors: list[RowError] = []
    walk_id, walk = _walk_from_form(request.form, errors)
    if errors:
        return _render_form(values, upload_error=errors[0].message, status=422)
    token = start_pending(upload, suffix, {
        "name": name,
        "walk_id": walk_id,
        # the new walk's details, to create it in the confirm's transaction
        "walk": None if walk is None else {k: request.form.get(k, "") for k in _WALK_FIELDS},
        "owner": request.form.get("owner") if request.form.get("owner") in OWNERS else None,
    })
    return redirect(url_for("findings.upload_preview", token=token))


def start_pending(upload, suffix: str, meta: dict) -> str:
    """Keep an uploaded file until its preview is confirmed; return the preview's token.

    ``meta`` (kept in the session) has the file's ``name`` and what the confirm needs;
    ``kind`` "gpx_walk" makes it a GPX walk (see :func:`_prepare`). Every upload page
    (findings and walks) previews through here, in one code path.
    """
    _clean_old_pending()
    token = secrets.token_urlsafe(18)
    folder = _pending_dir(token)
    folder.mkdir(parents=True)
    (folder / PENDING_OWNER_FILE).write_text(_user_name(), encoding="utf-8")
    upload.save(folder / f"upload{suffix}")
    uploads = dict(session.get("uploads", {}))
    uploads[token] = meta
    # only the newest few; older ones are cleaned up with their folders
    for old in list(uploads)[:-PENDING_PER_SESSION]:
        shutil.rmtree(_pending_dir(old), ignore_errors=True)
        uploads.pop(old)
    session["uploads"] = uploads
    return token


def _prepare(token: str):
    """The pending upload's meta, file and preview (a GPX walk's too: ``upload.gpx``)."""
    meta, path = _pending(token)
    store = get_store()
    if meta.get("kind") == GPX_WALK:
        gpx = walks_core.prepare_gpx_walk(
            store, path, user=_user_name(), display_name=meta["name"],
            area=meta.get("area"), organisers=meta.get("organisers", ""))
        upload = core.upload_of(store, gpx.prepared)
        upload.gpx = gpx
        return meta, path, upload
    upload = core.prepare_upload(store, path, display_name=meta["name"],
                                 user=_user_name(), walk_id=meta.get("walk_id"),
                                 owner=meta.get("owner"))
    return meta, path, upload


def _walk_parts(meta: dict, upload) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """The walk (new from the form, or a GPX walk) and its route, stored with the rows."""
    if upload.gpx is not None:
        gpx = upload.gpx
        return gpx.walk, {"walk_routes": walks_core.route_rows(
            gpx.walk_id, gpx.route, source="gpx", user=_user_name())}
    return (_new_walk(meta["walk"]) if meta.get("walk") else None), {}


@bp.get("/findings/upload/<token>")
@role_required(RECORD_ROLE)
def upload_preview(token: str):
    """Preview an upload: valid rows on a map, rejected rows with reasons, duplicates."""
    try:
        meta, _path, upload = _prepare(token)
    except FileRejected as exc:
        shutil.rmtree(_pending_dir(token), ignore_errors=True)
        _forget(token)
        values = _form_defaults()
        return _render_form(values, upload_error=f"{exc} Inget sparades.", status=422)
    frame = upload.frame
    items = map_data(frame)
    for item, row_no in zip(items, upload.prepared.rows, strict=False):
        item["url"] = None
        item["row"] = row_no
    stored = upload.already_stored
    return render_template(
        "findings/preview.html", token=token, meta=meta, upload=upload,
        rows=upload.prepared.rows, stored=stored, map_parts=_map_parts(),
        map_items=items, local=_local, text=_text, **_labels())


@bp.post("/findings/upload/<token>/confirm")
@role_required(RECORD_ROLE)
def confirm_upload(token: str):
    """Store every valid row of a previewed upload in one transaction."""
    try:
        meta, path, upload = _prepare(token)
    except FileRejected as exc:
        flash(f"{exc} Inget sparades.", "error")
        return redirect(url_for("findings.new_finding"))
    skip = request.form.get("skip_duplicates") == "1"
    rows = upload.frame
    if skip and upload.duplicates:
        rows = rows.drop(index=rows.index[list(upload.duplicates)])
    walk, extra = _walk_parts(meta, upload)
    areas = list(rows["sdo_code"]) if len(rows) else []
    if upload.gpx is not None:
        areas.append(walk["sdo_code"].iloc[0])
    require_write(RECORD_ROLE, areas)
    target = kept_path(path.suffix)
    note = f"Filen sparas i datamappen som {target.relative_to(data_folder()).as_posix()}."
    try:
        report = core.commit_upload(get_store(), upload, user=_user_name(), walk=walk,
                                    skip_duplicates=skip, notes=[note], extra=extra)
    except Exception as exc:  # the transaction was rolled back: nothing was stored
        if isinstance(exc, StoreBusy):
            # an import holds the store: the app's 503 with Retry-After says so
            raise
        LOGGER.exception("upload %s could not be stored", meta["name"])
        flash("Uppladdningen kunde inte sparas på grund av ett fel i databasen. Inget sparades; "
              "filen finns kvar, försök igen.", "error")
        return redirect(url_for("findings.upload_preview", token=token))
    keep_upload(path, target)
    shutil.rmtree(_pending_dir(token), ignore_errors=True)
    _forget(token)
    LOGGER.info("upload %s kept as %s", meta["name"], target)
    if meta.get("walk_id"):
        session["last_walk"] = meta["walk_id"]
    if report.inserted:
        message = f"{report.inserted} nya fynd sparades från {meta['name']}."
    else:
        message = f"Inga nya fynd sparades från {meta['name']}."
    if report.unchanged:
        message += f" {report.unchanged} fanns redan (samma fynd) och sparades inte igen."
    if report.errors:
        message += f" {len(report.errors)} rader med fel sparades inte."
    flash(message, "success" if report.inserted else "info")
    if upload.gpx is not None:
        return redirect(url_for("walks.show_walk", walk_id=upload.gpx.walk_id))
    args = {"walk": meta["walk_id"]} if meta.get("walk_id") else {}
    return redirect(url_for("findings.list_findings", **args))


@bp.post("/findings/upload/<token>/cancel")
@role_required(RECORD_ROLE)
def cancel_upload(token: str):
    """Throw a pending upload away (the uploader's own, or any for an admin)."""
    folder = _pending_dir(token)
    _check_pending_owner(folder, admin_may=True)
    shutil.rmtree(folder, ignore_errors=True)
    _forget(token)
    flash("Uppladdningen avbröts. Inget sparades.", "info")
    return redirect(url_for("findings.new_finding"))


# --- one finding and its status --------------------------------------------------------


@bp.get("/findings/<path:finding_id>")
@role_required("läsare")
def show_finding(finding_id: str):
    """One finding: details, photo, history and (for handläggare) the status change."""
    store = get_store()
    finding = core.get_finding(store, finding_id)
    if finding is None:
        abort(404)
    history = core.histories(store, [finding_id]).get(finding_id)
    status = _text(finding["status"]) or "ny"
    choices = list(core.allowed_transitions(status))
    if status == "tilldelad":
        choices.insert(0, "tilldelad")
    frame = store.read("findings", core.Query(where={"id": finding_id}))
    walk = None
    if _text(finding["walk_id"]):
        walks = store.read("walks", core.Query(where={"id": finding["walk_id"]}))
        walk = None if walks.empty else core.walk_label(walks.iloc[0])
    names = store.read("stadsdelar")
    stadsdel = dict(zip(names["code"], names["name"], strict=True)).get(
        _text(finding["stadsdel"]), _text(finding["stadsdel"]))
    return render_template(
        "findings/detail.html", f=finding, history=history, choices=choices, stadsdel=stadsdel,
        place=describe_findings(store, frame)[0],
        can_manage=may_write(MANAGE_ROLE, [finding["sdo_code"]]),
        can_correct=correction_refusal(finding) is None,
        correct_refusal=correction_refusal(finding), describe=core.describe_history,
        photo_ok=is_photo_name(_text(finding["photo"])),
        days=core.days_to_fix(frame).iloc[0], walk=walk, map_parts=_map_parts(zoom=15),
        map_items=map_data(frame), local=_local, text=_text, **_labels())


@bp.post("/findings/<path:finding_id>/status")
@role_required(MANAGE_ROLE)
def change_status(finding_id: str):
    """Change a finding's status and owner, with a comment, kept in its history."""
    store = get_store()
    finding = core.get_finding(store, finding_id)
    if finding is None:
        abort(404)
    require_write(MANAGE_ROLE, [finding["sdo_code"]])
    owner = request.form.get("owner") or None
    try:
        entry = core.change_status(store, finding_id, request.form.get("status", ""),
                                   user=_user_name(), comment=request.form.get("comment", ""),
                                   owner=owner, seen_status=request.form.get("seen_status"),
                                   notify=status_hook())
    except core.StatusChangeRefused as exc:
        flash(str(exc), "error")
    else:
        flash(f"Status ändrad till {FINDING_STATUSES[entry['to_status']]}"
              + (f", ansvarig {OWNERS[entry['owner']]}" if entry["owner"] else "") + ".",
              "success")
    return redirect(url_for("findings.show_finding", finding_id=finding_id))


# --- correcting a finding (its reporter until it is assigned, or a handläggare) ---------


def _correctable(finding_id: str) -> pd.Series:
    """The finding, after checking this user may correct it as stored (404 / 403)."""
    finding = core.get_finding(get_store(), finding_id)
    if finding is None:
        abort(404)
    require_correction(finding)
    return finding


def _edit_values(finding: pd.Series) -> dict[str, str]:
    """The edit form's values from the stored finding."""
    point = None
    if finding.geometry is not None and not finding.geometry.is_empty:
        point = gpd.GeoSeries([finding.geometry], crs=STORE_EPSG).to_crs(WEB_EPSG).iloc[0]
        point = point.representative_point()
    severity = finding["severity"]
    return {
        "found_at": _local(finding["found_at"], "%Y-%m-%dT%H:%M"),
        "category": _text(finding["category"]),
        "severity": "" if pd.isna(severity) else str(int(severity)),
        "description": _text(finding["description"]),
        "owner": _text(finding["owner"]),
        "lat": "" if point is None else f"{point.y:.6f}",
        "lon": "" if point is None else f"{point.x:.6f}",
    }


def _render_edit(finding: pd.Series, values: dict[str, str],
                 errors: list[RowError] | None = None, status: int = 200):
    return render_template(
        "findings/edit.html", f=finding, values=values, errors=errors or [],
        field_errors={e.field: e.message for e in errors or []},
        map_parts=_map_parts(zoom=16), **_labels()), status


@bp.route("/findings/<path:finding_id>/edit", methods=["GET", "POST"])
@role_required(RECORD_ROLE)
def edit_finding(finding_id: str):
    """Correct a finding: its reporter until it is assigned, or a handläggare."""
    finding = _correctable(finding_id)
    if request.method == "GET":
        return _render_edit(finding, _edit_values(finding))
    form = request.form
    values = {k: form.get(k, "") for k in ("found_at", "category", "severity", "description",
                                           "owner", "lat", "lon")}
    store = get_store()
    row = {"id": finding_id, "found_at": values["found_at"].replace("T", " "),
           "category": values["category"], "severity": values["severity"],
           "description": values["description"], "owner": values["owner"],
           "walk_id": _text(finding["walk_id"]), "photo": _text(finding["photo"])}
    frame, errors = core.validate_form(store, row, values["lat"].strip(), values["lon"].strip())
    if errors:
        return _render_edit(finding, values, errors, status=422)
    # the new place must be inside the user's area too
    require_correction(finding, frame["sdo_code"])
    try:
        entry = core.edit_finding(store, finding, frame, user=_user_name())
    except core.FindingChangeRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("findings.show_finding", finding_id=finding_id))
    if entry is None:
        flash("Inget ändrades.", "info")
    else:
        flash(f"Fyndet ändrades ({core.describe_history(entry)}).", "success")
    return redirect(url_for("findings.show_finding", finding_id=finding_id))


@bp.post("/findings/<path:finding_id>/delete")
@role_required(RECORD_ROLE)
def delete_finding(finding_id: str):
    """Delete a finding (its history stays): its reporter until it is assigned, or a
    handläggare."""
    finding = _correctable(finding_id)
    try:
        core.delete_finding(get_store(), finding, user=_user_name())
    except core.FindingChangeRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("findings.show_finding", finding_id=finding_id))
    photo_name = _text(finding["photo"])
    if is_photo_name(photo_name) and get_store().count(
            "findings", core.Query(where={"photo": photo_name})) == 0:
        # the photo was this finding's only: it goes with it
        data_folder("photos", photo_name).unlink(missing_ok=True)
    flash("Fyndet togs bort. Ändringen finns kvar i fyndens historik.", "success")
    return redirect(url_for("findings.list_findings"))


# --- the API ------------------------------------------------------------------------------


def _api_errors(errors: list[RowError], row_map=None):
    """422 with a JSON list of {"row", "field", "message"} (rows as the client counts)."""
    out = []
    for e in errors:
        row = e.row if e.row is None or row_map is None else row_map(e.row)
        out.append({"row": row, "field": e.field, "message": e.message})
    return jsonify(out), 422


def _api_file(folder: Path) -> tuple[Path, str, object]:
    """Save the API request's body as a file: (path, name for messages, row mapping)."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        name = display_name(upload.filename)
        suffix = suffix_of(name)
        if suffix not in FORMATS:
            raise FileRejected(f"Filen {name}: okänt filformat '{suffix}'. Tillåtna: "
                               f"{', '.join(sorted(FORMATS))}.")
        path = folder / f"upload{suffix}"
        upload.save(path)
        return path, name, None
    payload = request.get_json(silent=True, force=True)
    if payload is None:
        raise FileRejected("Anropet är inte giltig JSON. Skicka en lista med objekt, en "
                           "GeoJSON FeatureCollection eller en fil (fältet 'file').")
    return core.api_payload_file(payload, folder)


@bp.post("/api/findings")
@csrf.exempt
@role_required(RECORD_ROLE)
def api_create():
    """Create findings from JSON, GeoJSON or a file; all rows or none (422 per row).

    Only bearer tokens are accepted here (this route has no CSRF check, so a
    browser session must not count).
    """
    if not g.get("via_token"):
        return jsonify({"error": "API:t kräver Authorization: Bearer TOKEN "
                                 "(trygghetskartan users token NAMN)."}), 401
    store = get_store()
    folder = data_folder("uploads", "api", secrets.token_hex(12))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        path, name, row_map = _api_file(folder)
        upload = core.prepare_upload(store, path, display_name=name, user=_user_name())
        if upload.prepared.errors:
            return _api_errors(upload.prepared.errors, row_map)
        require_write(RECORD_ROLE, upload.frame["sdo_code"] if len(upload.frame) else ())
        target = kept_path(path.suffix)
        note = f"Via API:t; sparad i datamappen som {target.relative_to(data_folder()).as_posix()}."
        report = core.commit_upload(store, upload, user=_user_name(), allow_partial=False,
                                    notes=[note])
        keep_upload(path, target)
    except FileRejected as exc:
        return _api_errors([RowError(None, None, str(exc))])
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def position(row: int) -> int:
        return row if row_map is None else row_map(row)

    rows = upload.prepared.rows
    duplicates = [{"row": position(rows[d.position]), "existing_id": d.existing_id,
                   "distance_m": round(d.distance_m, 1)} for d in upload.duplicates.values()]
    body = {"inserted": report.inserted, "unchanged": report.unchanged,
            "ids": upload.frame["id"].tolist(), "likely_duplicates": duplicates}
    return jsonify(body), 201 if report.inserted else 200


@bp.app_template_filter("nl2br_escaped")
def nl2br_escaped(text: str) -> Markup:
    """Escape a text and keep its line breaks."""
    return Markup("<br>").join(Markup.escape(text or "").split("\n"))

