"""Walks entered in the web form or posted to the API: checked, saved, changed, deleted."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from layers.analysis.darkness import parse_clock
from layers.core.errors import RowError
from layers.core.schema import (
    PARTICIPANT_GROUPS,
    WALKS,
)
from layers.domain.findings import walk_id_for
from layers.domain.walks.model import area_of_route, derived_total, participant_rows, route_rows
from layers.io.forms import geometry_from_geojson, validate_form
from layers.store.base import Store


@dataclass
class WalkInput:
    """A validated walk, ready to store: the row, its route and its head counts."""

    walk: pd.DataFrame
    route: gpd.GeoDataFrame
    participants: pd.DataFrame

    @property
    def id(self) -> str:
        return str(self.walk["id"].iloc[0])


def read_clocks(values: Mapping[str, str], row: int = 1) -> tuple[dict[str, str | None],
                                                                   list[RowError]]:
    """The start and end time as "TT:MM" (None where empty), and an error per unreadable one."""
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
    clocks, clock_errors = read_clocks(values)
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
    walk = complete_walk(store, walk, route, group_counts)
    return WalkInput(walk, route_rows(new_id, route, source="ritad", user=user),
                     participant_rows(new_id, group_counts)), []


def complete_walk(store: Store, walk: pd.DataFrame, route: BaseGeometry | None,
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
