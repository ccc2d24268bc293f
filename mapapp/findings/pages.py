"""The findings' follow-up pages: the list, exports, photos, one finding, its status.

``/findings`` lists with filters, a map, history and the owners' fix times (CSV and
GeoPackage per owner at ``/findings/export.<fmt>``); ``/findings/<id>`` shows one
finding with its photo and history and, for handläggare, the status change; its
reporter (until it is assigned) or a handläggare corrects or deletes it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from layers.analysis.places import describe_findings
from layers.core.errors import RowError
from layers.core.schema import FINDING_STATUSES, OWNERS, STORE_EPSG, WEB_EPSG
from layers.domain import findings as core
from layers.domain.access import MANAGE_ROLE, RECORD_ROLE
from layers.indicators import INDICATORS, format_age, format_share
from layers.io.photos import is_photo_name
from mapapp import promises as promises_
from mapapp.access import (
    correction_refusal,
    may_write,
    require_correction,
    require_write,
    role_required,
    user_name,
)
from mapapp.findings.blueprint import bp, labels, map_parts
from mapapp.notify import status_hook
from mapapp.store_ import get_store
from mapapp.uploads import data_folder
from mapapp.views import local_time, map_data, text

#: Findings per page of the list.
PAGE_SIZE = 50
#: At most this many findings are drawn on a map (the list pages through all).
MAP_LIMIT = 3000


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
        areas=core.area_choices(store), map_parts=map_parts(),
        map_items=map_data(frame.iloc[:MAP_LIMIT]), map_limited=len(frame) > MAP_LIMIT,
        local=local_time, text=text, **labels())


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
    status = text(finding["status"]) or "ny"
    choices = list(core.allowed_transitions(status))
    if status == "tilldelad":
        choices.insert(0, "tilldelad")
    frame = store.read("findings", core.Query(where={"id": finding_id}))
    walk = None
    if text(finding["walk_id"]):
        walks = store.read("walks", core.Query(where={"id": finding["walk_id"]}))
        walk = None if walks.empty else core.walk_label(walks.iloc[0])
    names = store.read("stadsdelar")
    stadsdel = dict(zip(names["code"], names["name"], strict=True)).get(
        text(finding["stadsdel"]), text(finding["stadsdel"]))
    return render_template(
        "findings/detail.html", f=finding, history=history, choices=choices, stadsdel=stadsdel,
        place=describe_findings(store, frame)[0],
        can_manage=may_write(MANAGE_ROLE, [finding["sdo_code"]]),
        can_correct=correction_refusal(finding) is None,
        correct_refusal=correction_refusal(finding), describe=core.describe_history,
        photo_ok=is_photo_name(text(finding["photo"])),
        days=core.days_to_fix(frame).iloc[0], walk=walk, map_parts=map_parts(zoom=15),
        map_items=map_data(frame), local=local_time, text=text, **labels())


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
                                   user=user_name(), comment=request.form.get("comment", ""),
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
        "found_at": local_time(finding["found_at"], "%Y-%m-%dT%H:%M"),
        "category": text(finding["category"]),
        "severity": "" if pd.isna(severity) else str(int(severity)),
        "description": text(finding["description"]),
        "owner": text(finding["owner"]),
        "lat": "" if point is None else f"{point.y:.6f}",
        "lon": "" if point is None else f"{point.x:.6f}",
    }


def _render_edit(finding: pd.Series, values: dict[str, str],
                 errors: list[RowError] | None = None, status: int = 200):
    return render_template(
        "findings/edit.html", f=finding, values=values, errors=errors or [],
        field_errors={e.field: e.message for e in errors or []},
        map_parts=map_parts(zoom=16), **labels()), status


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
           "walk_id": text(finding["walk_id"]), "photo": text(finding["photo"])}
    frame, errors = core.validate_form(store, row, values["lat"].strip(), values["lon"].strip())
    if errors:
        return _render_edit(finding, values, errors, status=422)
    # the new place must be inside the user's area too
    require_correction(finding, frame["sdo_code"])
    try:
        entry = core.edit_finding(store, finding, frame, user=user_name())
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
        core.delete_finding(get_store(), finding, user=user_name())
    except core.FindingChangeRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("findings.show_finding", finding_id=finding_id))
    photo_name = text(finding["photo"])
    if is_photo_name(photo_name) and get_store().count(
            "findings", core.Query(where={"photo": photo_name})) == 0:
        # the photo was this finding's only: it goes with it
        data_folder("photos", photo_name).unlink(missing_ok=True)
    flash("Fyndet togs bort. Ändringen finns kvar i fyndens historik.", "success")
    return redirect(url_for("findings.list_findings"))
