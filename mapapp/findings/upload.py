"""A file of findings (or a GPX walk from /walks): upload, preview, confirm or cancel.

The file waits in a pending folder (:mod:`mapapp.uploads`) while its preview shows
the valid rows on a map, the refused rows with their reasons and likely duplicates;
the confirm stores every valid row in one transaction and keeps the file.
"""

from __future__ import annotations

import logging
import shutil

import pandas as pd
from flask import Response, flash, redirect, render_template, request, session, url_for

from layers.core.errors import FileRejected, RowError
from layers.core.filenames import display_name, suffix_of
from layers.core.schema import OWNERS
from layers.domain import findings as core
from layers.domain import walks as walks_core
from layers.domain.access import RECORD_ROLE
from layers.io.readers import FORMATS
from layers.store.base import StoreBusy
from mapapp.access import require_write, role_required, user_name
from mapapp.findings.blueprint import bp, labels, map_parts
from mapapp.findings.form import (
    WALK_FIELDS,
    form_defaults,
    new_walk_row,
    render_form,
    walk_from_form,
)
from mapapp.store_ import get_store
from mapapp.uploads import (
    GPX_WALK,
    check_pending_owner,
    data_folder,
    forget,
    keep_upload,
    kept_path,
    pending,
    pending_dir,
    start_pending,
)
from mapapp.views import local_time, map_data, text

LOGGER = logging.getLogger(__name__)


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
    values = form_defaults()
    if upload is None or not upload.filename:
        return render_form(values, upload_error="Välj en fil att ladda upp.", status=422)
    name = display_name(upload.filename)
    suffix = suffix_of(name)
    if suffix not in FORMATS:
        return render_form(values, status=422, upload_error=(
            f"Filen {name}: okänt filformat '{suffix}'. Tillåtna: "
            f"{', '.join(sorted(FORMATS))}."))
    errors: list[RowError] = []
    walk_id, walk = walk_from_form(request.form, errors)
    if errors:
        return render_form(values, upload_error=errors[0].message, status=422)
    token = start_pending(upload, suffix, {
        "name": name,
        "walk_id": walk_id,
        # the new walk's details, to create it in the confirm's transaction
        "walk": None if walk is None else {k: request.form.get(k, "") for k in WALK_FIELDS},
        "owner": request.form.get("owner") if request.form.get("owner") in OWNERS else None,
    })
    return redirect(url_for("findings.upload_preview", token=token))


def _prepare(token: str):
    """The pending upload's meta, file and preview (a GPX walk's too: ``upload.gpx``)."""
    meta, path = pending(token)
    store = get_store()
    if meta.get("kind") == GPX_WALK:
        gpx = walks_core.prepare_gpx_walk(
            store, path, user=user_name(), display_name=meta["name"],
            area=meta.get("area"), organisers=meta.get("organisers", ""))
        upload = core.upload_of(store, gpx.prepared)
        upload.gpx = gpx
        return meta, path, upload
    upload = core.prepare_upload(store, path, display_name=meta["name"],
                                 user=user_name(), walk_id=meta.get("walk_id"),
                                 owner=meta.get("owner"))
    return meta, path, upload


def _walk_parts(meta: dict, upload) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """The walk (new from the form, or a GPX walk) and its route, stored with the rows."""
    if upload.gpx is not None:
        gpx = upload.gpx
        return gpx.walk, {"walk_routes": walks_core.route_rows(
            gpx.walk_id, gpx.route, source="gpx", user=user_name())}
    return (new_walk_row(meta["walk"]) if meta.get("walk") else None), {}


@bp.get("/findings/upload/<token>")
@role_required(RECORD_ROLE)
def upload_preview(token: str):
    """Preview an upload: valid rows on a map, rejected rows with reasons, duplicates."""
    try:
        meta, _path, upload = _prepare(token)
    except FileRejected as exc:
        shutil.rmtree(pending_dir(token), ignore_errors=True)
        forget(token)
        values = form_defaults()
        return render_form(values, upload_error=f"{exc} Inget sparades.", status=422)
    frame = upload.frame
    items = map_data(frame)
    for item, row_no in zip(items, upload.prepared.rows, strict=False):
        item["url"] = None
        item["row"] = row_no
    stored = upload.already_stored
    return render_template(
        "findings/preview.html", token=token, meta=meta, upload=upload,
        rows=upload.prepared.rows, stored=stored, map_parts=map_parts(),
        map_items=items, local=local_time, text=text, **labels())


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
        report = core.commit_upload(get_store(), upload, user=user_name(), walk=walk,
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
    shutil.rmtree(pending_dir(token), ignore_errors=True)
    forget(token)
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
    folder = pending_dir(token)
    check_pending_owner(folder, admin_may=True)
    shutil.rmtree(folder, ignore_errors=True)
    forget(token)
    flash("Uppladdningen avbröts. Inget sparades.", "info")
    return redirect(url_for("findings.new_finding"))
