"""Corrections and deletions of findings, and the history that shows them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import shapely

from layers.core.errors import TrygghetskartanError
from layers.core.schema import (
    FINDING_STATUSES,
    LOCAL_TZ,
    STORE_EPSG,
    WEB_EPSG,
)
from layers.domain.findings.records import now_local, text_or_none
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

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
