"""The phone form for one finding: tap the map, photo, walk; stored all or nothing.

``GET /findings/new`` shows it (with the file upload of :mod:`.upload`); ``POST``
stores one finding with its photo (EXIF off), walk and place in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping

import pandas as pd
from flask import abort, flash, g, redirect, render_template, request, session, url_for

from layers.core.errors import FileRejected, RowError
from layers.core.schema import LOCAL_TZ
from layers.domain import findings as core
from layers.domain.access import RECORD_ROLE, write_refusal
from layers.io.photos import is_photo_name
from layers.io.readers import FORMATS
from mapapp.access import role_required, user_name
from mapapp.findings.blueprint import bp, labels, map_parts
from mapapp.store_ import get_store
from mapapp.uploads import data_folder, save_request_photo

_SUBMISSION_RE = re.compile(r"^[0-9a-f]{32}$")


def form_defaults() -> dict[str, str]:
    """The empty form's values: a new submission id, now, the last walk."""
    now = pd.Timestamp.now(tz=LOCAL_TZ)
    return {
        "submission": uuid.uuid4().hex,
        "found_at": now.strftime("%Y-%m-%dT%H:%M"),
        "severity": "2",
        "walk": session.get("last_walk", ""),
        "walk_date": now.date().isoformat(),
    }


def render_form(values: dict[str, str], errors: list[RowError] | None = None,
                upload_error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The form page (errors by field, an upload error) with ``status``."""
    store = get_store()
    walks = core.list_walks(store)
    return render_template(
        "findings/new.html", values=values, errors=errors or [],
        field_errors={e.field: e.message for e in errors or []},
        upload_error=upload_error, walks=walks,
        walk_labels={w["id"]: core.walk_label(w) for _, w in walks.iterrows()},
        map_parts=map_parts(zoom=12), template_help=core.template_help(),
        accept=",".join(sorted(FORMATS)), **labels()), status


@bp.get("/findings/new")
@role_required(RECORD_ROLE)
def new_finding():
    """Show the phone form to record one finding, and the upload of a whole walk."""
    return render_form(form_defaults())


def new_walk_row(details: dict[str, str]) -> pd.DataFrame:
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


#: The form fields of a new walk.
WALK_FIELDS = ("walk_date", "walk_area", "walk_participants", "walk_organisers")


def walk_from_form(form: Mapping[str, str], errors: list[RowError]
                   ) -> tuple[str | None, pd.DataFrame | None]:
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
        walk = new_walk_row({k: form.get(k, "") for k in WALK_FIELDS})
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

    walk_id, walk = walk_from_form(form, errors)
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
        return render_form(values, errors, status=422)
    if refusal:
        abort(403, description=refusal)
    frame = core.complete_rows(frame, user=user_name())
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
