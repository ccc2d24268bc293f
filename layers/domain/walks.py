"""Trygghetsvandringar as objects: route, darkness, participants by group, files.

A walk is a row of ``walks`` (date, start and end time, area, organisers, the total
number of participants), with an optional route in ``walk_routes`` (a line drawn
on the map or a GPX track; its id is the walk's id) and a head count per group in
``walk_participants`` (boende, polis, … — counts only, never names). Its findings
are the ``findings`` whose ``walk_id`` is the walk's id. Whether it took place in
the dark follows from sunset in Stockholm on its date (:func:`layers.analysis.darkness.walk_light`).

The groups overlap (a woman who lives in the area counts as ``boende`` and as
``kvinnor``), so the total is kept in ``walks.participants``; when it is not
given it is the larger of the sum of the role groups and the sum of kvinnor and män.

**Files.** ``trygghetskartan import walks FILE``:

* a **GPX** file becomes *one* walk: its track (``<trk>``, else ``<rte>``) is the
  route, its waypoints are the findings (read as any GPX of findings is, see
  :mod:`layers.io.readers`; a waypoint without a time gets the walk's start), the
  date and the start and end time come from the track points' times, the area
  from the track's name (else the stadsdel the route lies in). Walk, route,
  findings and the import log are one transaction;
* a **table** (CSV with a ``wkt`` column, GeoJSON, GeoPackage — what
  ``trygghetskartan export walks`` writes) gives one walk a row: the walk's
  fields, ``participants_<group>`` columns and the route as a line geometry,
  which may be empty.

The same rules serve the web form, the upload and ``POST /api/walks``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from layers.analysis.darkness import WalkLight, parse_clock, walk_light
from layers.core.errors import FileRejected, RowError
from layers.core.schema import (
    FINDINGS,
    LOCAL_TZ,
    OPEN_STATUSES,
    PARTICIPANT_GROUPS,
    PARTICIPANT_ROLES,
    STORE_EPSG,
    WALK_PARTICIPANTS,
    WALKS,
    WEB_EPSG,
    Field,
    LayerSchema,
)
from layers.domain.findings import UPLOAD_SOURCE, complete_rows, walk_id_for, walk_label
from layers.io.forms import geometry_from_geojson, validate_form
from layers.io.importer import (
    ImportReport,
    PreparedImport,
    commit_import,
    district_index,
    file_checksum,
    join_layer,
)
from layers.io.readers import DEFAULT_MAX_BYTES, check_xml, detect_format, read_table
from layers.io.upload_checks import check_upload
from layers.io.validate import validate
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: The id namespace of walks and findings read from files.
FILE_SOURCE = UPLOAD_SOURCE
#: The columns of a walk file that hold the head count of each group.
PARTICIPANT_COLUMNS = {g: f"participants_{g}" for g in PARTICIPANT_GROUPS}

#: A walk as a file: the walk's fields, one column per group, the route as geometry.
WALK_FILE = LayerSchema(
    name="walks",
    label="trygghetsvandringar",
    geometry_type="MULTILINESTRING",
    fields=(
        *WALKS.fields,
        *(Field(PARTICIPANT_COLUMNS[g], "int", f"deltagare {label}", minimum=0,
                maximum=10000, aliases=(f"deltagare {label}", f"deltagare_{label}",
                                        f"deltagare_{g}"))
          for g, label in PARTICIPANT_GROUPS.items()),
        Field("darkness", "str", "mörker", derived=True),
        Field("sunset", "str", "solnedgång", derived=True),
    ),
)


# --- reading walks ---------------------------------------------------------------------


@dataclass
class Walk:
    """One walk with its route, head counts, light and findings."""

    row: pd.Series
    route: BaseGeometry | None
    participants: dict[str, int]
    light: WalkLight | None
    findings: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)

    @property
    def id(self) -> str:
        return str(self.row["id"])

    @property
    def label(self) -> str:
        return walk_label(self.row)

    @property
    def total(self) -> int | None:
        """The number of participants: the given total, else the groups' (module doc)."""
        given = self.row.get("participants")
        if given is not None and not pd.isna(given):
            return int(given)
        return derived_total(self.participants)

    @property
    def route_length_m(self) -> float | None:
        return None if self.route is None else float(self.route.length)


def derived_total(counts: Mapping[str, int]) -> int | None:
    """The larger of the role groups' sum and kvinnor + män (None without counts)."""
    if not counts:
        return None
    roles = sum(int(counts.get(g) or 0) for g in PARTICIPANT_ROLES)
    people = int(counts.get("kvinnor") or 0) + int(counts.get("man") or 0)
    return max(roles, people)


def participants_of(store: Store, walk_ids: Iterable[str] | None = None
                    ) -> dict[str, dict[str, int]]:
    """Head counts by group for each walk (all walks when ``walk_ids`` is None)."""
    query = None if walk_ids is None else Query(where={"walk_id": tuple(walk_ids)})
    frame = store.read("walk_participants", query)
    out: dict[str, dict[str, int]] = {}
    for row in frame.itertuples(index=False):
        out.setdefault(row.walk_id, {})[row.participant_group] = int(row.headcount)
    order = list(PARTICIPANT_GROUPS)
    return {w: dict(sorted(c.items(), key=lambda kv: order.index(kv[0]))) for w, c in out.items()}


def routes_of(store: Store, walk_ids: Iterable[str] | None = None) -> dict[str, BaseGeometry]:
    """The route of each walk that has one (EPSG:3011)."""
    query = None if walk_ids is None else Query(where={"id": tuple(walk_ids)})
    frame = store.read("walk_routes", query)
    return {str(i): g for i, g in zip(frame["id"], frame.geometry, strict=True)
            if g is not None and not g.is_empty}


def load_walk(store: Store, walk_id: str) -> Walk | None:
    """A walk with everything that belongs to it, or None."""
    rows = store.read("walks", Query(where={"id": walk_id}))
    if rows.empty:
        return None
    row = rows.iloc[0]
    findings = store.read("findings", Query(where={"walk_id": walk_id}, order_by="found_at"))
    return Walk(row, routes_of(store, [walk_id]).get(walk_id),
                participants_of(store, [walk_id]).get(walk_id, {}),
                walk_light(_date(row["date"]), row["start_time"], row["end_time"]),
                findings.reset_index(drop=True))


def walks_overview(store: Store, *, sdo: Iterable[str] = (), year: int | None = None,
                   dark: str | None = None) -> pd.DataFrame:
    """Every walk, newest first, with its light, route, head count and findings.

    ``dark`` keeps only walks whose light state (``dark``, ``partly``,
    ``daylight``) is given.
    """
    walks = store.read("walks", Query(where={"sdo_code": tuple(sdo)} if tuple(sdo) else {}))
    if year is not None and len(walks):
        walks = walks[[d is not None and d.year == year for d in walks["date"]]]
    ids = walks["id"].tolist()
    counts = participants_of(store, ids) if ids else {}
    routes = routes_of(store, ids) if ids else {}
    findings = store.read("findings", Query(where={"walk_id": tuple(ids)})) if ids \
        else pd.DataFrame(columns=["walk_id", "status"])
    n_all = findings.groupby("walk_id").size() if len(findings) else pd.Series(dtype=int)
    n_open = findings[findings["status"].isin(OPEN_STATUSES)].groupby("walk_id").size() \
        if len(findings) else pd.Series(dtype=int)
    rows = []
    for _, w in walks.iterrows():
        light = walk_light(_date(w["date"]), w["start_time"], w["end_time"])
        given = w["participants"]
        total = int(given) if not pd.isna(given) else derived_total(counts.get(w["id"], {}))
        rows.append({
            "id": w["id"], "date": w["date"], "start_time": w["start_time"],
            "end_time": w["end_time"], "area": w["area"], "sdo_code": w["sdo_code"],
            "organisers": w["organisers"], "participants": total,
            "groups": counts.get(w["id"], {}),
            "light": light.state if light else None,
            "light_label": light.label if light else "okänt (tid saknas)",
            "sunset": f"{light.sun.sunset:%H.%M}" if light else "",
            "route_m": round(routes[w["id"]].length) if w["id"] in routes else None,
            "findings": int(n_all.get(w["id"], 0)), "open": int(n_open.get(w["id"], 0)),
            "label": walk_label(w),
        })
    out = pd.DataFrame(rows, columns=["id", "date", "start_time", "end_time", "area",
                                      "sdo_code", "organisers", "participants", "groups",
                                      "light", "light_label", "sunset", "route_m",
                                      "findings", "open", "label"])
    if dark:
        out = out[out["light"] == dark]
    return out.sort_values(["date", "area"], ascending=[False, True], kind="stable",
                           na_position="last").reset_index(drop=True)


def _date(value: object) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


# --- rows to store ------------------------------------------------------------------------


def participant_rows(walk_id: str, counts: Mapping[str, int | None]) -> pd.DataFrame:
    """Rows of ``walk_participants`` for the groups that have a count."""
    rows = [{"id": f"{walk_id}:{g}", "walk_id": walk_id, "participant_group": g,
             "headcount": int(n)} for g, n in counts.items()
            if g in PARTICIPANT_GROUPS and n is not None and not pd.isna(n)]
    return pd.DataFrame(rows, columns=WALK_PARTICIPANTS.names)


def route_rows(walk_id: str, route: BaseGeometry | None, *, source: str,
               user: str | None = None) -> gpd.GeoDataFrame:
    """The one-row ``walk_routes`` frame of a route (empty without a route)."""
    columns = ["id", "source", "updated_at", "updated_by"]
    if route is None or route.is_empty:
        return gpd.GeoDataFrame(pd.DataFrame(columns=columns), geometry=[], crs=STORE_EPSG)
    return gpd.GeoDataFrame(
        pd.DataFrame([{"id": walk_id, "source": source,
                       "updated_at": pd.Timestamp.now(tz=LOCAL_TZ), "updated_by": user}]),
        geometry=[as_multiline(route)], crs=STORE_EPSG)


def as_multiline(geom: BaseGeometry) -> BaseGeometry:
    """A LineString as a one-part MultiLineString (the layer's type); others as they are."""
    if geom.geom_type == "LineString":
        return shapely.MultiLineString([geom])
    return geom


def area_of_route(store: Store, route: BaseGeometry) -> tuple[str | None, str | None]:
    """(stadsdelsområde code, stadsdel name) where the route's middle lies."""
    index = district_index(store)
    middle = shapely.line_interpolate_point(shapely.line_merge(route), 0.5, normalized=True)
    if middle is None or middle.is_empty:
        middle = route.representative_point()
    sd = index.stadsdel_of(gpd.GeoSeries([middle], crs=STORE_EPSG))[0]
    if sd is None:
        return None, None
    codes, _ = index.area_of(np.array([sd], dtype=object),
                             pd.Series([pd.Timestamp.now(tz=LOCAL_TZ)]))
    return codes[0], index.names.get(sd)


# --- the web form -------------------------------------------------------------------------


@dataclass
class WalkInput:
    """A validated walk, ready to store: the row, its route and its head counts."""

    walk: pd.DataFrame
    route: gpd.GeoDataFrame
    participants: pd.DataFrame

    @property
    def id(self) -> str:
        return str(self.walk["id"].iloc[0])


def _clock_errors(values: Mapping[str, str], row: int = 1) -> tuple[dict[str, str | None],
                                                                    list[RowError]]:
    out: dict[str, str | None] = {}
    errors = []
    for name in ("start_time", "end_time"):
        text = str(values.get(name) or "").strip()
        clock = parse_clock(text)
        if text and clock is None:
            errors.append(RowError(row, name, f"'{text}' är ingen klocktid (skriv TT:MM, "
                                              "t.ex. 18:30)"))
        out[name] = f"{clock:%H:%M}" if clock else None
    return out, errors


def _count_errors(values: Mapping[str, object], row: int = 1
                  ) -> tuple[dict[str, int | None], list[RowError]]:
    counts: dict[str, int | None] = {}
    errors = []
    for g, label in PARTICIPANT_GROUPS.items():
        raw = values.get(g)
        text = "" if raw is None or (not isinstance(raw, str) and pd.isna(raw)) \
            else str(raw).strip()
        if not text:
            counts[g] = None
            continue
        try:
            n = float(text.replace(",", "."))
        except ValueError:
            n = math.nan
        # range first: int() of an infinite count ("inf", "1e400") would raise
        if not (0 <= n <= 10000 and n == int(n)):
            errors.append(RowError(row, f"deltagare {label}",
                                   f"'{text}' är inte ett heltal mellan 0 och 10000"))
            counts[g] = None
        else:
            counts[g] = int(n)
    return counts, errors


def walk_from_form(store: Store, values: Mapping[str, str], drawn: str | None,
                   counts: Mapping[str, str], *, walk_id: str | None = None,
                   user: str | None = None) -> tuple[WalkInput | None, list[RowError]]:
    """Validate a walk typed into the form (route drawn on the map, optional)."""
    route, errors = geometry_from_geojson(drawn, "line", "rutt", required=False)
    clocks, clock_errors = _clock_errors(values)
    group_counts, count_errors = _count_errors(counts)
    row = {"date": values.get("date", ""), "area": " ".join(str(values.get("area") or "")
                                                            .split()),
           "organisers": str(values.get("organisers") or "").strip(),
           "participants": values.get("participants", ""),
           "sdo_code": values.get("sdo_code", ""), **clocks}
    if not row["area"]:
        errors.append(RowError(1, "area", "värde saknas (område är obligatoriskt)"))
    validated = validate_form(WALKS, {**row, "id": walk_id or "webb:ny"})
    errors = [*errors, *clock_errors, *count_errors, *validated.errors]
    if errors:
        return None, errors
    walk = pd.DataFrame(validated.frame.drop(columns="geometry"))
    new_id = walk_id or walk_id_for(walk["date"].iloc[0], row["area"], row["organisers"])
    walk["id"] = new_id
    walk = _complete_walk(store, walk, route, group_counts)
    return WalkInput(walk, route_rows(new_id, route, source="ritad", user=user),
                     participant_rows(new_id, group_counts)), []


def _complete_walk(store: Store, walk: pd.DataFrame, route: BaseGeometry | None,
                   counts: Mapping[str, int | None]) -> pd.DataFrame:
    """Fill the stadsdelsområde from the route and the total from the groups."""
    walk = walk.copy()
    for column in WALKS.names:
        if column not in walk.columns:
            walk[column] = None
    if route is not None and pd.isna(walk["sdo_code"].iloc[0]):
        walk.loc[walk.index[0], "sdo_code"] = area_of_route(store, route)[0]
    if pd.isna(walk["participants"].iloc[0]):
        total = derived_total({g: n for g, n in counts.items() if n is not None})
        walk["participants"] = pd.array([total], dtype="Int64")
    return walk[WALKS.names]


def save_new_walk(store: Store, walk: WalkInput) -> bool:
    """Store a new walk with its route and head counts in one transaction.

    Returns False when a walk with the same id was already stored (nothing changes).
    """
    results = store.write({"walks": walk.walk, "walk_routes": walk.route,
                           "walk_participants": walk.participants})
    return results["walks"].inserted == 1


def update_walk(store: Store, walk_id: str, walk: WalkInput) -> bool:
    """Change a stored walk's fields, route and head counts; False when it is gone.

    An empty route removes the stored one; a group without a count loses its row.
    """
    row = walk.walk.iloc[0]
    values = {c: (None if not isinstance(row[c], (str, dt.date)) and pd.isna(row[c])
                  else row[c]) for c in WALKS.names if c != "id"}
    if not store.update("walks", walk_id, values):
        return False
    if walk.route.empty:
        store.delete("walk_routes", [walk_id])
    else:
        r = walk.route.iloc[0]
        changed = store.update("walk_routes", walk_id, {
            "geometry": walk.route.geometry.iloc[0], "source": r["source"],
            "updated_at": r["updated_at"], "updated_by": r["updated_by"]})
        if not changed:
            store.write({"walk_routes": walk.route})
    given = {r.participant_group: r for r in walk.participants.itertuples(index=False)}
    gone = [f"{walk_id}:{g}" for g in PARTICIPANT_GROUPS if g not in given]
    store.delete("walk_participants", gone)
    for g, r in given.items():
        if not store.update("walk_participants", r.id, {"headcount": int(r.headcount)}):
            store.write({"walk_participants": walk.participants[
                walk.participants["participant_group"] == g]})
    return True


def delete_walk(store: Store, walk_id: str) -> bool:
    """Delete a walk, its route and head counts (its findings stay, without the walk)."""
    store.delete("walk_participants", [f"{walk_id}:{g}" for g in PARTICIPANT_GROUPS])
    store.delete("walk_routes", [walk_id])
    return store.delete("walks", [walk_id]) > 0


# --- files: GPX ----------------------------------------------------------------------------

#: A check of the areas an import is about to write to; it raises to refuse.
Authorize = Callable[[list], None]


@dataclass
class WalkImport:
    """What importing a walk file did: the walks' ids and the findings' report."""

    walk_ids: list[str]
    report: ImportReport
    #: the walks that were new (the others were stored already: same id)
    new_walks: int = 0


def _read_layer(path: Path, layer: str, **kwargs) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on a bad file
            return pyogrio.read_dataframe(path, layer=layer, datetime_as_string=True, **kwargs)
    except Exception:  # GDAL lists every GPX layer, even one the file lacks
        return pd.DataFrame()


def _gpx_route(path: Path, name: str) -> tuple[BaseGeometry, str | None]:
    """The file's track (else route) in EPSG:3011 and its name."""
    for layer in ("tracks", "routes"):
        frame = _read_layer(path, layer)
        # a track of only empty segments reads as empty geometries: no route
        geoms = frame.geometry.to_numpy() if len(frame) else None
        present = None if geoms is None else ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if present is not None and present.any():
            frame = frame[present]
            lines = gpd.GeoSeries(frame.geometry.to_numpy(), crs=WEB_EPSG).to_crs(STORE_EPSG)
            parts = [p for g in lines for p in getattr(g, "geoms", [g])
                     if p.geom_type == "LineString" and len(p.coords) >= 2]
            if parts:
                names = frame["name"].dropna().astype(str) if "name" in frame.columns \
                    else pd.Series(dtype=str)
                title = next((n.strip() for n in names if n.strip()), None)
                return shapely.force_2d(shapely.MultiLineString(parts)), title
    raise FileRejected(f"Filen {name} har inget spår (<trk>) eller rutt (<rte>) med minst två "
                       "punkter: en trygghetsvandring behöver sin väg. (Bara fynd? Ladda upp "
                       "filen under Fynd.)")


def _gpx_times(path: Path) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last time of the track points (else the route points), in Stockholm."""
    from layers.io.validate import parse_datetimes

    for layer in ("track_points", "route_points", "waypoints"):
        frame = _read_layer(path, layer, columns=["time"], read_geometry=False)
        if len(frame) and "time" in frame.columns:
            times = parse_datetimes(frame["time"].astype("string")).dropna()
            if len(times):
                return times.min(), times.max()
    return None, None


@dataclass
class GpxWalk:
    """A GPX walk read and validated, not stored: the walk, its route and its findings."""

    walk: pd.DataFrame
    route: BaseGeometry
    #: the waypoints as findings: valid rows in ``frame``, refused ones in ``errors``
    prepared: PreparedImport
    #: the walk is stored already (same id): confirming adds only new findings
    already: bool = False

    @property
    def walk_id(self) -> str:
        return str(self.walk["id"].iloc[0])


def prepare_gpx_walk(store: Store, path: str | Path, *, user: str | None = None,
                     display_name: str | None = None, area: str | None = None,
                     organisers: str = "", date: dt.date | None = None,
                     owner: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> GpxWalk:
    """Read a GPX file as one walk (module doc) without storing anything.

    ``area``, ``organisers`` and ``date`` override what the file says. A waypoint that
    cannot be read (unknown category, a point outside Stockholm …) is a refused row in
    ``prepared.errors``, not a refusal of the walk. Raises :class:`FileRejected` for a
    file that cannot be a walk.
    """
    path = Path(path)
    name = display_name or path.name
    if not path.is_file() or path.stat().st_size == 0:
        raise FileRejected(f"Filen {name} finns inte eller är tom.")
    if path.stat().st_size > max_bytes:
        raise FileRejected(f"Filen {name} är för stor; högst {max_bytes / 1e6:.0f} MB tas emot.")
    check_xml(path, name)
    route, title = _gpx_route(path, name)
    first, last = _gpx_times(path)
    day = date or (first.date() if first is not None else None)
    if day is None:
        raise FileRejected(f"Filen {name} har inga tider: ange vandringens datum.")
    sdo_code, stadsdel = area_of_route(store, route)
    area = " ".join((area or title or stadsdel or "").split()) or "okänt område"
    walk = pd.DataFrame([{
        "id": walk_id_for(day, area, organisers.strip()), "date": day,
        "start_time": f"{first:%H:%M}" if first is not None and first.date() == day else None,
        "end_time": f"{last:%H:%M}" if last is not None and first is not None
        and first.date() == day else None,
        "area": area, "sdo_code": sdo_code, "participants": None,
        "organisers": organisers.strip() or None,
    }], columns=WALKS.names)
    walk["participants"] = walk["participants"].astype("Int64")
    walk_id = str(walk["id"].iloc[0])
    start = first if first is not None and first.date() == day else \
        pd.Timestamp(day).tz_localize(LOCAL_TZ)
    prepared = _prepare_waypoints(store, path, name, walk_id, start, user=user or "import",
                                  owner=owner, max_bytes=max_bytes)
    already = store.count("walks", Query(where={"id": walk_id})) > 0
    times = " – ".join(t for t in walk[["start_time", "end_time"]].iloc[0] if t)
    prepared.notes.insert(0, f"Trygghetsvandring {day} {times} {area} (id {walk_id}): "
                             f"rutt {round(route.length)} m, {len(prepared.frame)} fynd från "
                             "waypoints." + (" Vandringen fanns redan (samma id) och ändrades "
                                              "inte." if already else ""))
    return GpxWalk(walk, route, prepared, already)


def commit_gpx_walk(store: Store, gpx: GpxWalk, *, user: str | None = None,
                    allow_partial: bool = False, authorize: Authorize | None = None,
                    log_rejected: bool = True) -> WalkImport:
    """Store a prepared GPX walk, its route, its valid findings and the log in one transaction.

    Without ``allow_partial`` a refused waypoint refuses the walk
    (:class:`layers.core.errors.RowsRejected`, nothing stored); with it (after a preview)
    the walk is stored without the refused waypoints. ``authorize`` and
    ``log_rejected`` as for :func:`import_walk_file`.
    """
    prepared = gpx.prepared
    if authorize is not None and (allow_partial or not prepared.errors):  # invalid: 422 first
        authorize([gpx.walk["sdo_code"].iloc[0], *prepared.frame.get("sdo_code", [])])
    report = commit_import(store, prepared, user=user, allow_partial=allow_partial, extra={
        "walks": gpx.walk,
        "walk_routes": route_rows(gpx.walk_id, gpx.route, source="gpx", user=user)},
        log_rejected=log_rejected)
    LOGGER.info("imported walk %s from %s with %d findings", gpx.walk_id, prepared.file_name,
                report.inserted)
    return WalkImport([gpx.walk_id], report, 0 if gpx.already else 1)


def import_gpx_walk(store: Store, path: str | Path, *, user: str | None = None,
                    display_name: str | None = None, area: str | None = None,
                    organisers: str = "", date: dt.date | None = None,
                    owner: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
                    authorize: Authorize | None = None,
                    log_rejected: bool = True) -> WalkImport:
    """Import a GPX file as one walk: track → route, waypoints → findings (module doc).

    All or nothing: :class:`layers.core.errors.RowsRejected` when a waypoint is invalid
    (the web previews instead: :func:`prepare_gpx_walk`, :func:`commit_gpx_walk`).
    Otherwise as those two.
    """
    gpx = prepare_gpx_walk(store, path, user=user, display_name=display_name, area=area,
                           organisers=organisers, date=date, owner=owner, max_bytes=max_bytes)
    return commit_gpx_walk(store, gpx, user=user, authorize=authorize,
                           log_rejected=log_rejected)


def _prepare_waypoints(store: Store, path: Path, name: str, walk_id: str,
                       start: pd.Timestamp, *, user: str, owner: str | None,
                       max_bytes: int) -> PreparedImport:
    """The waypoints of a GPX file as findings of the walk, validated and joined."""
    empty = gpd.GeoDataFrame(pd.DataFrame(columns=FINDINGS.names), geometry=[],
                             crs=STORE_EPSG)
    checksum = file_checksum(path)
    waypoints = _read_layer(path, "waypoints", read_geometry=False)
    if waypoints.empty:
        return PreparedImport("findings", name, checksum, FILE_SOURCE, empty, [], [], 0,
                              notes=["Filen har inga waypoints: vandringen sparas utan fynd."])
    table = read_table(path, FINDINGS, max_bytes=max_bytes, display_name=name)
    time_column = FINDINGS.time_field
    if time_column not in table.frame.columns:
        table.frame[time_column] = None
    times = table.frame[time_column]
    blank = times.isna() | (times.astype("string").str.strip() == "")
    if blank.any():
        table.frame[time_column] = times.astype(object).where(~blank, start.isoformat())
        table.notes.append(f"{int(blank.sum())} fynd saknade tid och fick vandringens start "
                           f"({start:%Y-%m-%d %H:%M}).")
    validated = validate(table, FINDINGS, source=FILE_SOURCE)
    frame = validated.frame
    if len(frame):
        frame = join_layer(store, FINDINGS, frame)
        frame = complete_rows(frame, user=user, walk_id=walk_id, owner=owner)
        frame["walk_id"] = walk_id
    prepared = PreparedImport("findings", name, checksum, FILE_SOURCE, frame,
                              [int(r) for r in validated.rows], validated.errors,
                              validated.n_read, notes=list(table.notes))
    check_upload(store, prepared)
    return prepared


# --- files: tables -----------------------------------------------------------------------


def _route_is_optional(problems: list[RowError]) -> list[RowError]:
    """Drop the readers' complaints about a missing geometry: a walk needs no route."""
    return [p for p in problems
            if not (p.field in ("wkt", "geometry", "geometri", "geom")
                    and ("saknas" in p.message or "saknar geometri" in p.message))]


def prepare_walk_table(store: Store, path: Path, *, display_name: str | None = None,
                       max_bytes: int = DEFAULT_MAX_BYTES
                       ) -> tuple[list[WalkInput], list[RowError], int]:
    """Read and validate a table of walks; return the walks, the errors, rows read."""
    name = display_name or path.name
    table = read_table(path, WALK_FILE, max_bytes=max_bytes, display_name=name)
    table.problems = _route_is_optional(table.problems)
    frame = table.frame
    # a stable id from date, area and organisers, as for walks typed in the form
    given = frame["id"].astype("string").str.strip() if "id" in frame.columns else None
    ids = []
    for i in range(len(frame)):
        if given is not None and not pd.isna(given.iloc[i]) and given.iloc[i]:
            ids.append(given.iloc[i])
            continue
        day = pd.to_datetime(str(frame["date"].iloc[i]) if "date" in frame.columns else "",
                             errors="coerce")
        area = str(frame["area"].iloc[i]) if "area" in frame.columns else ""
        organisers = frame["organisers"].iloc[i] if "organisers" in frame.columns else ""
        organisers = "" if organisers is None or pd.isna(organisers) else str(organisers)
        ids.append(walk_id_for(day.date(), area, organisers.strip()) if not pd.isna(day)
                   else None)
    frame["id"] = pd.Series(ids, index=frame.index, dtype=object)
    errors: list[RowError] = []
    geoms = frame.geometry
    for i, g in enumerate(geoms):
        if g is not None and not g.is_empty and g.geom_type not in ("LineString",
                                                                   "MultiLineString"):
            errors.append(RowError(int(table.rows[i]), "geometri",
                                   f"rutten är en {g.geom_type}, men ska vara en linje"))
    for i in range(len(frame)):
        values = {c: frame[c].iloc[i] for c in ("start_time", "end_time") if c in frame.columns}
        errors += _clock_errors(values, int(table.rows[i]))[1]
        area = frame["area"].iloc[i] if "area" in frame.columns else None
        if area is None or pd.isna(area) or not str(area).strip():
            errors.append(RowError(int(table.rows[i]), "area",
                                   "värde saknas (område är obligatoriskt)"))
    validated = validate(table, WALK_FILE, source=FILE_SOURCE)
    bad = {e.row for e in errors}
    errors = sorted([*errors, *validated.errors], key=lambda e: (e.row or 0, e.field or ""))
    walks = []
    for k, row_number in enumerate(validated.rows):
        if int(row_number) in bad:
            continue
        row = validated.frame.iloc[[k]]
        route = row.geometry.iloc[0]
        route = None if route is None or route.is_empty else as_multiline(route)
        counts = {g: (None if pd.isna(row[c].iloc[0]) else int(row[c].iloc[0]))
                  for g, c in PARTICIPANT_COLUMNS.items() if c in row.columns}
        walk = pd.DataFrame(row.drop(columns="geometry"))
        clocks = _clock_errors({c: walk[c].iloc[0] for c in ("start_time", "end_time")
                                if c in walk.columns})[0]
        for c, v in clocks.items():
            walk[c] = v
        walk = _complete_walk(store, walk, route, counts)
        walk_id = str(walk["id"].iloc[0])
        walks.append(WalkInput(walk, route_rows(walk_id, route, source="fil"),
                               participant_rows(walk_id, counts)))
    return walks, errors, validated.n_read


def import_walk_file(store: Store, path: str | Path, *, user: str | None = None,
                     display_name: str | None = None, allow_partial: bool = False,
                     authorize: Authorize | None = None, log_rejected: bool = True,
                     **gpx_options) -> WalkImport:
    """Import walks from a GPX file (one walk) or a table (one walk a row).

    All or nothing unless ``allow_partial``: with an invalid row nothing is stored
    and :class:`layers.core.errors.RowsRejected` is raised. ``authorize`` is called with
    the stadsdelsområde codes of everything about to be stored, after validation and
    before the write, so the web can refuse an upload outside the user's area
    (it raises; nothing is stored). A rejected file is logged in the import log
    unless ``log_rejected`` is False (the web: a refused upload leaves nothing).
    """
    from layers.core.errors import RowsRejected
    from layers.io.importer import log_frame

    path = Path(path)
    name = display_name or path.name
    if detect_format(Path(name)) == "gpx":
        return import_gpx_walk(store, path, user=user, display_name=name, authorize=authorize,
                               log_rejected=log_rejected, **gpx_options)
    walks, errors, n_read = prepare_walk_table(store, path, display_name=name)
    report = ImportReport("walks", name, file_checksum(path), n_read, errors=errors)
    if errors and not allow_partial:
        report.status = "rejected"
        if log_rejected:
            store.write({"import_log": log_frame(report, FILE_SOURCE, user)})
        raise RowsRejected(errors, n_read)
    if authorize is not None and walks:
        authorize([w.walk["sdo_code"].iloc[0] for w in walks])
    report.status = "partial" if errors else "loaded"
    routes = [w.route for w in walks if not w.route.empty]
    layers = {
        "walks": pd.concat([w.walk for w in walks], ignore_index=True) if walks
        else pd.DataFrame(columns=WALKS.names),
        "walk_routes": gpd.GeoDataFrame(pd.concat(routes, ignore_index=True), crs=STORE_EPSG)
        if routes else route_rows("", None, source="fil"),
        "walk_participants": pd.concat([w.participants for w in walks], ignore_index=True)
        if walks else participant_rows("", {}),
    }

    def log_with_counts(results):
        report.inserted = results["walks"].inserted
        report.unchanged = results["walks"].unchanged
        return {"import_log": log_frame(report, FILE_SOURCE, user)}

    store.write(layers, then=log_with_counts)
    return WalkImport([w.id for w in walks], report, report.inserted)


# --- export --------------------------------------------------------------------------------


def walks_frame(store: Store) -> gpd.GeoDataFrame:
    """Every walk as one row with its head counts, light and route (for exports)."""
    walks = store.read("walks")
    counts = participants_of(store)
    routes = routes_of(store)
    frame = walks.copy()
    for g, column in PARTICIPANT_COLUMNS.items():
        frame[column] = pd.array([counts.get(i, {}).get(g) for i in frame["id"]],
                                 dtype="Int64")
    lights = [walk_light(_date(d), s, e) for d, s, e in
              zip(frame["date"], frame["start_time"], frame["end_time"], strict=True)]
    frame["darkness"] = [light.label if light else None for light in lights]
    frame["sunset"] = [f"{light.sun.sunset:%H:%M}" if light else None for light in lights]
    geoms = [routes.get(i) for i in frame["id"]]
    return gpd.GeoDataFrame(frame[WALK_FILE.names], geometry=gpd.GeoSeries(geoms,
                                                                           crs=STORE_EPSG),
                            crs=STORE_EPSG)


def export_walks(store: Store, path: Path) -> int:
    """Write every walk to GPKG, GeoJSON or CSV; return how many."""
    from layers.io.exporters import export_frame

    frame = walks_frame(store)
    export_frame(frame, path, "walks")
    return len(frame)
