"""Recording findings: walks, the phone form, completing rows and storing one finding."""

from __future__ import annotations

import datetime as dt
import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.core.errors import FileRejected, RowError
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDINGS,
    LOCAL_TZ,
    STORE_EPSG,
    WALKS,
    WEB_EPSG,
)
from layers.io.readers import SWEDEN_BOUNDS, RawTable
from layers.io.validate import validate
from layers.store.base import Store

#: The id namespace of findings recorded in the form, uploaded or posted to the API.
FORM_SOURCE = "webb"
UPLOAD_SOURCE = "vandring"
#: Largest upload (web form and API).
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CATEGORY_LABELS = {c.code: c.label for c in FINDING_CATEGORIES}
SEVERITY_LABELS = {1: "1 – låg", 2: "2 – medel", 3: "3 – hög"}


def now_local() -> pd.Timestamp:
    """The current time in Stockholm."""
    return pd.Timestamp.now(tz=LOCAL_TZ)


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


def text_or_none(value: object) -> str | None:
    """A stored text value as ``str``, or None for a missing one (None, NaN, NA)."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else str(value)
