"""Walks in files: a GPX walk with its findings, walk tables in, the walks table out."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from layers.analysis.darkness import walk_light
from layers.core.errors import FileRejected, RowError
from layers.core.schema import (
    FINDINGS,
    LOCAL_TZ,
    PARTICIPANT_GROUPS,
    STORE_EPSG,
    WALKS,
    WEB_EPSG,
    Field,
    LayerSchema,
)
from layers.domain.findings import UPLOAD_SOURCE, complete_rows, walk_id_for
from layers.domain.walks.edits import WalkInput, complete_walk, read_clocks
from layers.domain.walks.model import (
    area_of_route,
    as_date,
    as_multiline,
    participant_rows,
    participants_of,
    route_rows,
    routes_of,
)
from layers.io.importer import (
    ImportReport,
    PreparedImport,
    commit_import,
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


def _route_is_optional(problems: list[RowError]) -> list[RowError]:
    """Drop the readers' complaints about a missing geometry: a walk needs no route."""
    return [p for p in problems
            if not (p.field in ("wkt", "geometry", "geometri", "geom")
                    and ("saknas" in p.message or "saknar geometri" in p.message))]


def _calendar_day(value: object) -> dt.date | None:
    """The day a walk file's date cell names, or None when it names none.

    pandas reads dates outside Python's calendar (year 0, "-0774-05-01") as a
    Timestamp that has no ``date()``: such a cell gets no id here and the validator
    refuses its row, naming the field.
    """
    day = pd.to_datetime(str(value), errors="coerce")
    if pd.isna(day):
        return None
    try:
        return day.date()
    except (NotImplementedError, ValueError, OverflowError):
        return None


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
        day = _calendar_day(frame["date"].iloc[i] if "date" in frame.columns else "")
        area = str(frame["area"].iloc[i]) if "area" in frame.columns else ""
        organisers = frame["organisers"].iloc[i] if "organisers" in frame.columns else ""
        organisers = "" if organisers is None or pd.isna(organisers) else str(organisers)
        ids.append(walk_id_for(day, area, organisers.strip()) if day is not None else None)
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
        errors += read_clocks(values, int(table.rows[i]))[1]
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
        clocks = read_clocks({c: walk[c].iloc[0] for c in ("start_time", "end_time")
                                if c in walk.columns})[0]
        for c, v in clocks.items():
            walk[c] = v
        walk = complete_walk(store, walk, route, counts)
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


def walks_frame(store: Store) -> gpd.GeoDataFrame:
    """Every walk as one row with its head counts, light and route (for exports)."""
    walks = store.read("walks")
    counts = participants_of(store)
    routes = routes_of(store)
    frame = walks.copy()
    for g, column in PARTICIPANT_COLUMNS.items():
        frame[column] = pd.array([counts.get(i, {}).get(g) for i in frame["id"]],
                                 dtype="Int64")
    lights = [walk_light(as_date(d), s, e) for d, s, e in
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
