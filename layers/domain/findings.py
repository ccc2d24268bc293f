"""Findings from trygghetsvandringar: recording, duplicates, the status workflow, lists.

A finding is recorded on a phone (one at a time), uploaded with the rest of its walk
(a file), or posted to the API; all three go through the same validation as a file
import (:mod:`layers.io.validate`) and are stored in one transaction each.

* **Walks** are rows of the ``walks`` table; a new walk's id is a hash of its date,
  area and organisers, so entering the same walk twice gives one walk.
* **Likely duplicates**: a new finding with the same category as an *open* finding
  (status ny or tilldelad) within :data:`DUPLICATE_DISTANCE_M` metres. They are
  flagged, never dropped silently: a user may choose to skip them in an upload.
* **Status workflow** (:data:`layers.core.schema.FINDING_TRANSITIONS`): ny → tilldelad →
  åtgärdad or avvisad, and back where the table allows. Each change is a row in
  ``finding_history`` (who, when, from, to, owner, comment) written in the same
  transaction as the change itself (:meth:`layers.store.base.Store.update` with
  ``rows``); the change applies only if the finding still has the status the user
  saw. ``fixed_at`` is set when a finding becomes åtgärdad (and cleared when it is
  reopened), so the time to fix (``fixed_at − found_at``) is known for the briefs.
* **Owner lists**: the findings of one owner as CSV (Swedish headers, ``;``, UTF-8
  with BOM, for Excel) or GeoPackage. In the CSV every text cell that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe,
  so a spreadsheet shows it as text and never runs it as a formula (OWASP "CSV
  injection"; :func:`layers.io.exporters.spreadsheet_safe`, used by every CSV export).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.errors import FileRejected, RowError, TrygghetskartanError
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_HISTORY,
    FINDING_STATUSES,
    FINDING_TRANSITIONS,
    FINDINGS,
    LOCAL_TZ,
    OPEN_STATUSES,
    OWNERS,
    STORE_EPSG,
    WALKS,
    WEB_EPSG,
)
from layers.indicators.asof import days_to_fix
from layers.io.exporters import export_frame, spreadsheet_safe
from layers.io.importer import ImportReport, PreparedImport, commit_import, prepare_import
from layers.io.readers import SWEDEN_BOUNDS, RawTable, _canonical_columns
from layers.io.upload_checks import check_upload
from layers.io.validate import validate
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: A new finding this close to an open finding of the same category is a likely duplicate.
DUPLICATE_DISTANCE_M = 10.0
#: The id namespace of findings recorded in the form, uploaded or posted to the API.
FORM_SOURCE = "webb"
UPLOAD_SOURCE = "vandring"
#: Largest upload (web form and API).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CATEGORY_LABELS = {c.code: c.label for c in FINDING_CATEGORIES}
SEVERITY_LABELS = {1: "1 – låg", 2: "2 – medel", 3: "3 – hög"}


class StatusChangeRefused(TrygghetskartanError):
    """A status change is not allowed (message in Swedish)."""


def now_local() -> pd.Timestamp:
    """The current time in Stockholm."""
    return pd.Timestamp.now(tz=LOCAL_TZ)


# --- walks ----------------------------------------------------------------------------


def walk_id_for(date: dt.date, area: str, organisers: str = "") -> str:
    """The id of a walk: the same date, area and organisers give the same id."""
    key = "|".join((date.isoformat(), " ".join(area.lower().split()),
                    " ".join(organisers.lower().split())))
    return "walk:" + hashlib.sha1(key.encode()).hexdigest()[:12]


def new_walk(date: dt.date, area: str, *, participants: int | None = None,
             organisers: str = "", sdo_code: str | None = None) -> pd.DataFrame:
    """A one-row frame of the ``walks`` table for a walk entered by a user."""
    area = " ".join(area.split())
    if not area:
        raise FileRejected("Ange var vandringen gick (område).")
    if len(area) > 200 or len(organisers) > 500:
        raise FileRejected("Område eller arrangörer är för långt.")
    field_ = WALKS.field("participants")
    if participants is not None and not field_.minimum <= participants <= field_.maximum:
        raise FileRejected(f"Antal deltagare måste vara mellan {field_.minimum:g} och "
                           f"{field_.maximum:g}.")
    return pd.DataFrame([{
        "id": walk_id_for(date, area, organisers.strip()),
        "date": date,
        "area": area,
        "sdo_code": sdo_code,
        "participants": participants,
        "organisers": organisers.strip() or None,
    }], columns=["id", "date", "area", "sdo_code", "participants", "organisers"])


def list_walks(store: Store) -> pd.DataFrame:
    """Every walk, newest first."""
    walks = store.read("walks")
    return walks.sort_values(["date", "area"], ascending=[False, True], kind="stable",
                             na_position="last").reset_index(drop=True)


def walk_label(walk: pd.Series) -> str:
    """A Swedish label of a walk: '2025-05-14 Husby torg (12 deltagare)'."""
    text = f"{walk['date']} {walk['area'] or ''}".strip()
    if pd.notna(walk.get("participants")):
        text += f" ({int(walk['participants'])} deltagare)"
    return text


# --- one finding from the form -----------------------------------------------------------


def form_table(values: dict[str, str], lat: str, lon: str) -> RawTable:
    """Turn the form's text values and position into a table :func:`validate` reads.

    The form is "row 1" of its own table; a missing or foreign position is a row
    error on the field ``plats``.
    """
    problems: list[RowError] = []
    point = None
    try:
        y, x = float(lat.replace(",", ".")), float(lon.replace(",", "."))
    except (AttributeError, ValueError):
        problems.append(RowError(1, "plats", "tryck på kartan där fyndet finns (eller använd "
                                             "din position eller fotots position)"))
    else:
        w, s, e, n = SWEDEN_BOUNDS
        if np.isfinite([x, y]).all() and w <= x <= e and s <= y <= n:
            point = shapely.Point(x, y)
        else:
            problems.append(RowError(1, "plats", f"platsen ({y:.5f}, {x:.5f}) ligger utanför "
                                                 "Sverige"))
    frame = pd.DataFrame([{k: v for k, v in values.items()}], dtype=object)
    geoms = gpd.GeoSeries([point], crs=WEB_EPSG).to_crs(STORE_EPSG)
    gdf = gpd.GeoDataFrame(frame, geometry=geoms.values, crs=STORE_EPSG)
    return RawTable(gdf, np.array([1]), "form", WEB_EPSG, problems)


def validate_form(store: Store, values: dict[str, str], lat: str, lon: str
                  ) -> tuple[gpd.GeoDataFrame, list[RowError]]:
    """Validate one finding from the form and join it to its stadsdel.

    Returns the one-row frame (empty when invalid) and the errors.
    """
    from layers.io.importer import join_layer

    validated = validate(form_table(values, lat, lon), FINDINGS, source=FORM_SOURCE)
    frame = validated.frame
    if len(frame):
        frame = join_layer(store, FINDINGS, frame)
    return frame, validated.errors


def complete_rows(frame: gpd.GeoDataFrame, *, user: str, now: pd.Timestamp | None = None,
                  walk_id: str | None = None, owner: str | None = None) -> gpd.GeoDataFrame:
    """Fill who recorded the rows and when, and the walk and owner where rows have none.

    Used by every web and API path (form, upload, ``POST /api/findings``, GPX
    waypoints): the status is always reset to ``ny`` (see the comment below). The
    command-line ``import findings`` does not come here, so an admin can load a
    historical data set with its statuses.
    """
    now = now or now_local()
    frame = frame.copy()
    for f in FINDINGS.input_fields:
        if f.name not in frame.columns:
            frame[f.name] = None
    frame["created_by"] = user
    frame["created_at"] = now
    for column, default in (("walk_id", walk_id), ("owner", owner)):
        if column not in frame.columns:
            frame[column] = None
        if default:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), default)
    # A new finding starts the workflow as "ny", whatever the file or payload says: a
    # status is only changed through change_status, which writes the history row and
    # sets fixed_at at the real time of the fix (not the upload's time).
    frame["status"] = "ny"
    frame["status_changed_at"] = pd.Series(pd.NaT, index=frame.index,
                                           dtype=f"datetime64[ns, {LOCAL_TZ}]")
    frame["fixed_at"] = frame["status_changed_at"].copy()
    return frame


def record_finding(store: Store, frame: gpd.GeoDataFrame, *,
                   walk: pd.DataFrame | None = None) -> bool:
    """Store one completed finding (and its new walk) in one transaction.

    Returns False when a finding with the same id was stored already (the form was
    sent twice), True when it is new.
    """
    layers: dict[str, pd.DataFrame] = {}
    if walk is not None:
        layers["walks"] = walk
    layers["findings"] = frame
    results = store.write(layers)
    return results["findings"].inserted > 0


# --- duplicates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    """A new row that looks like an open finding already stored."""

    position: int
    existing_id: str
    distance_m: float
    existing_description: str | None = None


def stored_ids(store: Store, ids: Iterable[str], chunk: int = 500) -> set[str]:
    """The ids among ``ids`` that are stored already."""
    ids = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(ids), chunk):
        part = tuple(ids[start:start + chunk])
        found |= set(store.read("findings", Query(where={"id": part}))["id"])
    return found


def likely_duplicates(store: Store, frame: gpd.GeoDataFrame,
                      distance: float = DUPLICATE_DISTANCE_M) -> dict[int, Duplicate]:
    """Rows of ``frame`` with the same category as an open finding within ``distance`` m.

    Keys are row positions in ``frame``. A row whose id is stored already is not a
    duplicate of itself. The nearest open finding is named.
    """
    geoms = frame.geometry.to_numpy() if len(frame) else np.array([])
    present = ~shapely.is_missing(geoms) if len(geoms) else np.array([], bool)
    if not present.any():
        return {}
    minx, miny, maxx, maxy = shapely.total_bounds(geoms[present])
    open_ = store.read("findings", Query(
        bbox=(minx - distance, miny - distance, maxx + distance, maxy + distance),
        where={"status": OPEN_STATUSES}))
    if open_.empty:
        return {}
    tree = shapely.STRtree(open_.geometry.to_numpy())
    src, dst = tree.query(geoms, predicate="dwithin", distance=distance)
    found: dict[int, Duplicate] = {}
    categories = frame["category"].to_numpy(dtype=object)
    ids = frame["id"].to_numpy(dtype=object) if "id" in frame.columns else [None] * len(frame)
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        existing = open_.iloc[d]
        if existing["category"] != categories[s] or existing["id"] == ids[s]:
            continue
        gap = float(shapely.distance(geoms[s], existing.geometry))
        if s not in found or gap < found[s].distance_m:
            description = existing["description"]
            found[s] = Duplicate(s, existing["id"], gap,
                                 None if pd.isna(description) else str(description))
    return found


# --- uploads (web and API) ------------------------------------------------------------------


@dataclass
class FindingsUpload:
    """A validated upload of findings, with what a preview shows before storing."""

    prepared: PreparedImport
    #: ids of valid rows that are stored already (the same file uploaded again)
    already_stored: set[str] = field(default_factory=set)
    #: likely duplicates of open findings, by row position in ``prepared.frame``
    duplicates: dict[int, Duplicate] = field(default_factory=dict)
    #: the GPX walk (:class:`layers.domain.walks.GpxWalk`) these are the waypoints of, if any
    gpx: Any = None

    @property
    def frame(self) -> gpd.GeoDataFrame:
        return self.prepared.frame

    @property
    def n_new(self) -> int:
        """Valid rows that a confirm would store."""
        return int((~self.frame["id"].isin(self.already_stored)).sum()) if len(self.frame) \
            else 0


def prepare_upload(store: Store, path: Path, *, display_name: str, user: str,
                   walk_id: str | None = None, owner: str | None = None,
                   max_bytes: int = MAX_UPLOAD_BYTES) -> FindingsUpload:
    """Read, validate and join an uploaded file of findings without storing anything.

    Points outside Stockholm become refused rows (:mod:`layers.io.upload_checks`).
    Raises :class:`FileRejected` when the file as a whole cannot be read or is the
    template with its example row still in it.
    """
    prepared = prepare_import(store, FINDINGS.name, path, source=UPLOAD_SOURCE,
                              max_bytes=max_bytes, display_name=display_name)
    check_upload(store, prepared)
    if len(prepared.frame):
        prepared.frame = complete_rows(prepared.frame, user=user, walk_id=walk_id,
                                       owner=owner)
        prepared.frame = prepared.frame.reset_index(drop=True)
    return upload_of(store, prepared)


def upload_of(store: Store, prepared: PreparedImport) -> FindingsUpload:
    """What a preview shows of prepared findings: the rows stored already, likely duplicates."""
    upload = FindingsUpload(prepared)
    if len(prepared.frame):
        upload.already_stored = stored_ids(store, prepared.frame["id"])
        upload.duplicates = likely_duplicates(store, prepared.frame)
    return upload


def commit_upload(store: Store, upload: FindingsUpload, *, user: str,
                  walk: pd.DataFrame | None = None, skip_duplicates: bool = False,
                  allow_partial: bool = True, notes: Iterable[str] = (),
                  extra: dict[str, pd.DataFrame] | None = None) -> ImportReport:
    """Store the valid rows of an upload, its new walk and the import log in one transaction.

    With ``allow_partial`` False (the API) any invalid row refuses the whole upload
    (:class:`layers.core.errors.RowsRejected`). ``skip_duplicates`` leaves out the likely
    duplicates; the report says how many. ``extra`` are more tables written in the
    same transaction (a GPX walk's route).
    """
    prepared = upload.prepared
    prepared.notes = [*prepared.notes, *notes]
    if skip_duplicates and upload.duplicates:
        keep = np.ones(len(prepared.frame), bool)
        keep[list(upload.duplicates)] = False
        prepared.notes.append(f"{int((~keep).sum())} troliga dubbletter av öppna fynd "
                              "sparades inte (valt vid uppladdningen).")
        prepared.frame = prepared.frame[keep].reset_index(drop=True)
        prepared.rows = [r for r, k in zip(prepared.rows, keep, strict=True) if k]
        upload.duplicates = {}
    extra = dict(extra or {})
    if walk is not None:
        walk = walk.copy()
        if walk["sdo_code"].isna().all() and len(prepared.frame):
            codes = prepared.frame["sdo_code"].dropna()
            if len(codes):
                walk["sdo_code"] = codes.mode().iloc[0]
        extra["walks"] = walk
    return commit_import(store, prepared, user=user, allow_partial=allow_partial, extra=extra)


def api_payload_file(payload: object, folder: Path) -> tuple[Path, str, Callable[[int], int]]:
    """Write a JSON API payload as a file the readers read.

    A list of objects becomes a CSV (one row an object, the keys as headers), a
    GeoJSON FeatureCollection (or one Feature) a GeoJSON file. Returns the file, a
    name for messages, and a function from the file's row number to the position
    in the payload (1 = the first object or feature).
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem = uuid.uuid4().hex
    if isinstance(payload, dict) and payload.get("type") == "Feature":
        payload = {"type": "FeatureCollection", "features": [payload]}
    if isinstance(payload, dict) and payload.get("type") == "FeatureCollection":
        if not payload.get("features"):
            raise FileRejected("FeatureCollection saknar fynd (features är tom).")
        path = folder / f"{stem}.geojson"
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        return path, "anrop.geojson", lambda row: row
    if not isinstance(payload, list) or not all(isinstance(o, dict) for o in payload):
        raise FileRejected("Skicka en JSON-lista med objekt, en GeoJSON FeatureCollection "
                           "eller en fil (multipart/form-data, fältet 'file').")
    if not payload:
        raise FileRejected("Listan är tom: inga fynd att spara.")
    # objects may name a field differently ("datum", "found_at"): one column per field
    rows = [_canonical_keys(obj) for obj in payload]
    headers = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    # escaped as in our exports, which the CSV reader undoes: the texts arrive exactly
    cells = pd.DataFrame([[_cell(row.get(h)) for h in headers] for row in rows],
                         columns=headers, dtype=object)
    writer.writerows(spreadsheet_safe(cells).itertuples(index=False))
    path = folder / f"{stem}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    # the CSV's header is row 1, so object k is row k + 1
    return path, "anrop.csv", lambda row: row - 1


def _canonical_keys(obj: dict) -> dict[str, object]:
    """An API object with our field names as keys (the first non-empty value wins)."""
    # the readers' header matching, so that an object's keys mean what a CSV's headers do
    out: dict[str, object] = {}
    for key, value in obj.items():
        # one key at a time: several keys may mean the same field ("datum", "found_at")
        name = _canonical_columns([str(key)], FINDINGS).get(str(key), str(key))
        if out.get(name) in (None, ""):
            out[name] = value
    return out


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- the status workflow ------------------------------------------------------------------


def allowed_transitions(status: str) -> tuple[str, ...]:
    """The statuses a finding with ``status`` may get next."""
    return FINDING_TRANSITIONS.get(status, ())


def get_finding(store: Store, finding_id: str) -> pd.Series | None:
    """One finding by id (with ``geometry``), or None."""
    rows = store.read("findings", Query(where={"id": finding_id}))
    return None if rows.empty else rows.iloc[0]


def text_or_none(value: object) -> str | None:
    """A stored text value as ``str``, or None for a missing one (None, NaN, NA)."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else str(value)


def change_status(store: Store, finding_id: str, to_status: str, *, user: str,
                  comment: str = "", owner: str | None = None,
                  seen_status: str | None = None,
                  now: pd.Timestamp | None = None,
                  notify: Callable[[pd.Series, dict], pd.DataFrame] | None = None
                  ) -> dict[str, object]:
    """Change a finding's status (and owner) and record it in its history, atomically.

    ``notify(finding, entry)`` returns the mails the change causes (rows of the
    ``notify_outbox`` table, :func:`layers.domain.notify.status_messages`); they are written
    in the same transaction, so a stored change always has its mails queued.

    ``seen_status`` is the status the user saw: if the finding has another one now,
    nothing changes. Assigning (tilldelad) needs an owner; rejecting (avvisad) needs
    a comment; a tilldelad finding may be given to another owner without a status
    change. Returns the history row. Raises :class:`StatusChangeRefused`.
    """
    now = now or now_local()
    finding = get_finding(store, finding_id)
    if finding is None:
        raise StatusChangeRefused("Fyndet finns inte.")
    current = text_or_none(finding["status"]) or "ny"
    current_owner = text_or_none(finding["owner"])
    comment = (comment or "").strip()
    owner = owner or current_owner
    label = FINDING_STATUSES.get
    if seen_status and seen_status != current:
        raise StatusChangeRefused(f"Fyndet har ändrats under tiden (status är nu "
                                  f"{label(current, current)}). Ladda om sidan.")
    if to_status not in FINDING_STATUSES:
        raise StatusChangeRefused(f"Okänd status '{to_status}'.")
    if owner is not None and owner not in OWNERS:
        raise StatusChangeRefused(f"Okänd ansvarig '{owner}'.")
    if to_status == current:
        if not (current == "tilldelad" and owner != current_owner):
            raise StatusChangeRefused(f"Fyndet har redan status {label(current)}.")
    elif to_status not in allowed_transitions(current):
        allowed = ", ".join(label(s, s) for s in allowed_transitions(current)) or "ingen"
        raise StatusChangeRefused(f"Status kan inte ändras från {label(current)} till "
                                  f"{label(to_status)}. Tillåtet: {allowed}.")
    if to_status == "tilldelad" and not owner:
        raise StatusChangeRefused("Välj vem som ansvarar för åtgärden för att tilldela fyndet.")
    if to_status == "avvisad" and not comment:
        raise StatusChangeRefused("Skriv en kommentar om varför fyndet avvisas.")
    limit = FINDING_HISTORY.field("comment").max_length
    if len(comment) > limit:
        raise StatusChangeRefused(f"Kommentaren är för lång ({len(comment)} tecken, högst "
                                  f"{limit}).")
    entry = {
        "id": f"{finding_id}:{uuid.uuid4().hex}",
        "finding_id": finding_id,
        "changed_at": now,
        "changed_by": user,
        "from_status": current,
        "to_status": to_status,
        "owner": owner,
        "comment": comment or None,
        "action": "status",
        "changes": None,
    }
    values: dict[str, object] = {"status": to_status, "owner": owner,
                                 "status_changed_at": now}
    if to_status == "atgardad":
        values["fixed_at"] = now
    elif current == "atgardad":
        values["fixed_at"] = None
    rows = {"finding_history": pd.DataFrame([entry])}
    mails = notify(finding, entry) if notify is not None else None
    if mails is not None and len(mails):
        rows["notify_outbox"] = mails
    changed = store.update("findings", finding_id, values,
                           expect={"status": current, "owner": current_owner}, rows=rows)
    if not changed:
        raise StatusChangeRefused("Fyndet ändrades av någon annan samtidigt. Ladda om sidan "
                                  "och försök igen.")
    LOGGER.info("finding %s: %s -> %s by %s", finding_id, current, to_status, user)
    return entry


# --- correcting a finding (its reporter until it is assigned, or a handläggare) ---------

#: The fields an edit may change (besides the place), with their Swedish names.
EDITABLE_FIELDS = {"found_at": "datum", "category": "kategori", "severity": "allvarlighet",
                   "description": "beskrivning", "owner": "ansvarig"}
#: Fields that follow the place: the joins to stadsdel, area and site.
_PLACE_FIELDS = ("stadsdel", "sdo_code", "sdo_name", "site_id")
#: A move shorter than this (m) is no move (the form rounds to 6 decimals, ~10 cm).
_MOVE_TOLERANCE_M = 0.5


class FindingChangeRefused(TrygghetskartanError):
    """An edit or delete cannot be done (message in Swedish)."""


def _comparable(field_: str, value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if field_ == "found_at":
        return pd.Timestamp(value).tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if field_ == "severity":
        return int(value)
    text = str(value)
    return text if text.strip() else None


def _place_text(geom: object) -> str | None:
    """A finding's place as 'lat, lon' (WGS 84, 6 decimals) for the history."""
    if geom is None or shapely.is_missing(geom) or geom.is_empty:
        return None
    point = gpd.GeoSeries([geom], crs=STORE_EPSG).to_crs(WEB_EPSG).iloc[0]
    point = point.representative_point()
    return f"{point.y:.6f}, {point.x:.6f}"


def _history_row(finding: pd.Series, *, user: str, now: pd.Timestamp, action: str,
                 changes: dict, owner: object) -> dict[str, object]:
    status = text_or_none(finding["status"]) or "ny"
    return {
        "id": f"{finding['id']}:{uuid.uuid4().hex}",
        "finding_id": finding["id"],
        "changed_at": now,
        "changed_by": user,
        "from_status": status,
        "to_status": status,
        "owner": text_or_none(owner),
        "comment": None,
        "action": action,
        "changes": json.dumps(changes, ensure_ascii=False),
    }


def edit_finding(store: Store, finding: pd.Series, edited: gpd.GeoDataFrame, *, user: str,
                 now: pd.Timestamp | None = None) -> dict[str, object] | None:
    """Change a finding's fields and place to those of ``edited`` and record it, atomically.

    ``finding`` is the finding as the user saw it (its status and owner must still be
    the same, or nothing changes); ``edited`` is the one-row frame of
    :func:`validate_form` (joined to its stadsdel). Returns the history row (its
    ``changes``: ``{field: [before, after]}``), or None when nothing differs. Raises
    :class:`FindingChangeRefused` when the finding changed in between.
    """
    now = now or now_local()
    new = edited.iloc[0]
    changes: dict[str, list] = {}
    values: dict[str, object] = {}
    for name in EDITABLE_FIELDS:
        before, after = _comparable(name, finding[name]), _comparable(name, new[name])
        if before != after:
            changes[name] = [before, after]
            values[name] = new[name] if after is not None else None
    old_geom, new_geom = finding.geometry, new.geometry
    if old_geom is None or new_geom is None or \
            shapely.distance(old_geom, new_geom) > _MOVE_TOLERANCE_M:
        changes["plats"] = [_place_text(old_geom), _place_text(new_geom)]
        values["geometry"] = new_geom
        values.update({name: new[name] for name in _PLACE_FIELDS if name in new.index})
    if not changes:
        return None
    entry = _history_row(finding, user=user, now=now, action="edit", changes=changes,
                         owner=values.get("owner", finding["owner"]))
    changed = store.update("findings", str(finding["id"]), values,
                           expect={"status": finding["status"], "owner": finding["owner"]},
                           rows={"finding_history": pd.DataFrame([entry])})
    if not changed:
        raise FindingChangeRefused("Fyndet har ändrats av någon annan under tiden (eller "
                                   "tagits bort). Ladda om sidan och försök igen.")
    LOGGER.info("finding %s edited by %s: %s", finding["id"], user, ", ".join(changes))
    return entry


def delete_finding(store: Store, finding: pd.Series, *, user: str,
                   now: pd.Timestamp | None = None) -> dict[str, object]:
    """Delete a finding; its history stays, with a last row that keeps what it said.

    Applies only while the finding has the status and owner the user saw. Returns
    the history row. Raises :class:`FindingChangeRefused`.
    """
    now = now or now_local()
    kept = {name: _comparable(name, finding[name]) for name in EDITABLE_FIELDS}
    kept.update(plats=_place_text(finding.geometry), walk_id=text_or_none(finding["walk_id"]),
                photo=text_or_none(finding["photo"]),
                created_by=text_or_none(finding["created_by"]))
    entry = _history_row(finding, user=user, now=now, action="delete", changes=kept,
                         owner=finding["owner"])
    gone = store.delete("findings", [str(finding["id"])],
                        expect={"status": finding["status"], "owner": finding["owner"]},
                        rows={"finding_history": pd.DataFrame([entry])})
    if not gone:
        raise FindingChangeRefused("Fyndet har ändrats av någon annan under tiden (eller "
                                   "redan tagits bort). Ladda om sidan.")
    LOGGER.info("finding %s deleted by %s", finding["id"], user)
    return entry


def describe_history(entry: pd.Series | dict) -> str:
    """One history row in Swedish: 'ny → tilldelad', 'ändrade kategori, plats', 'borttaget'."""
    action = text_or_none(entry.get("action")) or "status"
    label = FINDING_STATUSES.get
    if action == "edit":
        try:
            fields = list(json.loads(entry.get("changes") or "{}"))
        except ValueError:
            fields = []
        names = [EDITABLE_FIELDS.get(f, f) for f in fields]
        return "ändrade " + ", ".join(names) if names else "ändrade"
    if action == "delete":
        return "tog bort fyndet"
    before, after = text_or_none(entry.get("from_status")), entry.get("to_status")
    return f"{label(before, before) or '–'} → {label(after, after)}"


def histories(store: Store, finding_ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The status history of each finding, oldest change first."""
    ids = tuple(dict.fromkeys(finding_ids))
    if not ids:
        return {}
    rows = store.read("finding_history", Query(where={"finding_id": ids}))
    rows = rows.sort_values("changed_at", kind="stable")
    return {fid: group.reset_index(drop=True) for fid, group in rows.groupby("finding_id")}


# --- lists and filters ---------------------------------------------------------------------


@dataclass(frozen=True)
class FindingFilter:
    """The list's filters; an empty tuple means "all"."""

    status: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    sdo_code: tuple[str, ...] = ()
    walk_id: tuple[str, ...] = ()

    @classmethod
    def from_values(cls, get: Callable[[str], list[str]]) -> FindingFilter:
        """Build a filter from request-like values (``get(name)`` returns a list).

        Unknown statuses, owners and categories are ignored.
        """
        def pick(name: str, allowed: Iterable[str] | None = None) -> tuple[str, ...]:
            values = [v.strip() for v in get(name) if v and v.strip()]
            if allowed is not None:
                allowed = set(allowed)
                values = [v for v in values if v in allowed]
            return tuple(dict.fromkeys(values))

        return cls(status=pick("status", FINDING_STATUSES), owner=pick("owner", OWNERS),
                   category=pick("category", CATEGORY_LABELS), sdo_code=pick("sdo"),
                   walk_id=pick("walk"))

    def query(self) -> Query:
        where = {name: values for name, values in (
            ("status", self.status), ("owner", self.owner), ("category", self.category),
            ("sdo_code", self.sdo_code), ("walk_id", self.walk_id)) if values}
        return Query(where=where)

    def args(self) -> dict[str, list[str]]:
        """The filter as query-string values (for links that keep it)."""
        return {k: list(v) for k, v in (("status", self.status), ("owner", self.owner),
                                         ("category", self.category), ("sdo", self.sdo_code),
                                         ("walk", self.walk_id)) if v}


def read_findings(store: Store, flt: FindingFilter | None = None) -> gpd.GeoDataFrame:
    """Findings matching a filter, the most recently recorded first."""
    frame = store.read("findings", (flt or FindingFilter()).query())
    return frame.sort_values(["created_at", "found_at", "id"], ascending=[False, False, True],
                             kind="stable", na_position="last").reset_index(drop=True)


def area_choices(store: Store) -> dict[str, str]:
    """Stadsdelsområden that have findings: code -> name, by name."""
    frame = store.read("findings")
    pairs = frame[["sdo_code", "sdo_name"]].dropna().drop_duplicates("sdo_code")
    return dict(sorted(zip(pairs["sdo_code"], pairs["sdo_name"], strict=True),
                       key=lambda kv: kv[1]))


def fix_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per owner: open, fixed and rejected findings and the median days to fix."""
    columns = ["owner", "label", "open", "fixed", "rejected", "median_days"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    work = pd.DataFrame({
        "owner": frame["owner"].fillna("").astype(str),
        "status": frame["status"],
        "days": days_to_fix(frame),
    })
    rows = []
    for owner, group in work.groupby("owner", sort=False):
        rows.append({
            "owner": owner,
            "label": OWNERS.get(owner, "ingen ansvarig") if owner else "ingen ansvarig",
            "open": int(group["status"].isin(OPEN_STATUSES).sum()),
            "fixed": int((group["status"] == "atgardad").sum()),
            "rejected": int((group["status"] == "avvisad").sum()),
            "median_days": float(group["days"].median()) if group["days"].notna().any()
            else None,
        })
    return pd.DataFrame(rows, columns=columns).sort_values("label").reset_index(drop=True)


# --- owner lists (exports) ------------------------------------------------------------------

#: The columns of an owner's list: (Swedish header, how to get it from the findings).
OWNER_LIST_HEADERS = ("id", "datum", "kategori", "allvarlighet", "beskrivning", "ansvarig",
                      "status", "status ändrad", "åtgärdad", "dagar till åtgärd", "stadsdel",
                      "stadsdelsområde", "vandring", "breddgrad", "längdgrad")


def _local_text(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True).dt.tz_convert(LOCAL_TZ)
    return ts.dt.strftime("%Y-%m-%d %H:%M").astype(object).where(ts.notna(), None)


def owner_list(frame: gpd.GeoDataFrame,
               stadsdel_names: dict[str, str] | None = None) -> pd.DataFrame:
    """The findings as a work list with Swedish headers and labels (one row a finding).

    The place is a point in WGS 84 (a line's point on the line), 6 decimals (10 cm);
    ``stadsdel_names`` maps stadsdel codes to the names shown.
    """
    points = frame.geometry.copy()
    lines = points.notna() & (points.geom_type != "Point")
    if lines.any():
        points[lines] = points[lines].representative_point()
    wgs = points.to_crs(WEB_EPSG) if len(points) else points
    out = pd.DataFrame({
        "id": frame["id"],
        "datum": _local_text(frame["found_at"]),
        "kategori": frame["category"].map(CATEGORY_LABELS).fillna(frame["category"]),
        "allvarlighet": frame["severity"],
        "beskrivning": frame["description"],
        "ansvarig": frame["owner"].map(OWNERS),
        "status": frame["status"].map(FINDING_STATUSES),
        "status ändrad": _local_text(frame["status_changed_at"]),
        "åtgärdad": _local_text(frame["fixed_at"]),
        "dagar till åtgärd": days_to_fix(frame),
        "stadsdel": frame["stadsdel"].map(stadsdel_names).fillna(frame["stadsdel"])
        if stadsdel_names else frame["stadsdel"],
        "stadsdelsområde": frame["sdo_name"],
        "vandring": frame["walk_id"],
        "breddgrad": wgs.y.round(6) if len(wgs) else [],
        "längdgrad": wgs.x.round(6) if len(wgs) else [],
    }, columns=list(OWNER_LIST_HEADERS))
    return out


def owner_list_csv(frame: gpd.GeoDataFrame,
                   stadsdel_names: dict[str, str] | None = None) -> bytes:
    """An owner's list as CSV for Excel: ``;``, decimal commas, UTF-8 with BOM, no formulas."""
    table = spreadsheet_safe(owner_list(frame, stadsdel_names))
    text = table.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def owner_list_gpkg(frame: gpd.GeoDataFrame, path: Path) -> None:
    """An owner's list as a GeoPackage layer ``findings`` (the schema's fields + days)."""
    out = frame.copy()
    out["days_to_fix"] = days_to_fix(frame)
    export_frame(out, path, FINDINGS.name)


# --- the upload template ------------------------------------------------------------------

TEMPLATE_HEADERS = ("datum", "kategori", "allvarlighet", "beskrivning", "ansvarig",
                    "breddgrad", "längdgrad", "vandring", "id")


def template_csv() -> bytes:
    """The CSV template for a walk's findings, Swedish headers and one example row."""
    example = ("2025-05-14 21:30", "belysning", "3",
               "EXEMPEL (ta bort raden): trasig gatlampa vid gångvägen", "trafikkontoret",
               "59,40312", "17,94460", "", "")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_help() -> list[tuple[str, str]]:
    """What each template column means, for the upload page."""
    return [
        ("datum", "när fyndet gjordes: ÅÅÅÅ-MM-DD TT:MM (svensk tid)"),
        ("kategori", ", ".join(c.label for c in FINDING_CATEGORIES)),
        ("allvarlighet", "1 (låg), 2 (medel) eller 3 (hög)"),
        ("beskrivning", "vad som gör platsen otrygg (valfri, högst 4000 tecken)"),
        ("ansvarig", ", ".join(OWNERS.values()) + " (valfri)"),
        ("breddgrad, längdgrad", "platsen i WGS 84, t.ex. 59,40312 och 17,94460"),
        ("vandring", "valfri; annars den vandring du väljer nedan"),
        ("id", "valfritt eget id; samma id laddas aldrig upp två gånger"),
    ]
