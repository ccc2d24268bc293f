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

Modules: :mod:`.model` (a walk read from the store, its participants and route),
:mod:`.edits` (the web form and the API: new, changed and deleted walks) and
:mod:`.files` (GPX and walk tables in, the walks table out).
"""

from __future__ import annotations

from layers.domain.walks.edits import (
    WalkInput,
    complete_walk,
    delete_walk,
    read_clocks,
    save_new_walk,
    update_walk,
    walk_from_form,
)
from layers.domain.walks.files import (
    FILE_SOURCE,
    PARTICIPANT_COLUMNS,
    WALK_FILE,
    Authorize,
    GpxWalk,
    WalkImport,
    commit_gpx_walk,
    export_walks,
    import_gpx_walk,
    import_walk_file,
    prepare_gpx_walk,
    prepare_walk_table,
    walks_frame,
)
from layers.domain.walks.model import (
    Walk,
    area_of_route,
    as_date,
    as_multiline,
    derived_total,
    load_walk,
    participant_rows,
    participants_of,
    route_rows,
    routes_of,
    walks_overview,
)

__all__ = ["Authorize", "FILE_SOURCE", "GpxWalk", "PARTICIPANT_COLUMNS", "WALK_FILE", "Walk",
           "WalkImport", "WalkInput", "area_of_route", "as_date", "as_multiline",
           "commit_gpx_walk", "complete_walk", "delete_walk", "derived_total", "export_walks",
           "import_gpx_walk", "import_walk_file", "load_walk", "participant_rows",
           "participants_of", "prepare_gpx_walk", "prepare_walk_table", "read_clocks",
           "route_rows", "routes_of", "save_new_walk", "update_walk", "walk_from_form",
           "walks_frame", "walks_overview"]

