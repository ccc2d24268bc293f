"""Findings uploaded as a file or posted to the API, and their likely duplicates."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.errors import FileRejected
from layers.core.schema import (
    FINDINGS,
    OPEN_STATUSES,
)
from layers.domain.findings.records import MAX_UPLOAD_BYTES, UPLOAD_SOURCE, complete_rows
from layers.io.exporters import spreadsheet_safe
from layers.io.importer import ImportReport, PreparedImport, commit_import, prepare_import
from layers.io.readers import canonical_columns
from layers.io.upload_checks import check_upload
from layers.store.base import Query, Store

#: A new finding this close to an open finding of the same category is a likely duplicate.
DUPLICATE_DISTANCE_M = 10.0


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
        name = canonical_columns([str(key)], FINDINGS).get(str(key), str(key))
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
