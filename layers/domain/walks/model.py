"""A walk as an object: read from the store, with its participants by group and its route."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.analysis.darkness import WalkLight, walk_light
from layers.core.schema import (
    LOCAL_TZ,
    OPEN_STATUSES,
    PARTICIPANT_GROUPS,
    PARTICIPANT_ROLES,
    STORE_EPSG,
    WALK_PARTICIPANTS,
)
from layers.domain.findings import walk_label
from layers.io.importer import (
    district_index,
)
from layers.store.base import Query, Store


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
                walk_light(as_date(row["date"]), row["start_time"], row["end_time"]),
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
        light = walk_light(as_date(w["date"]), w["start_time"], w["end_time"])
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


def as_date(value: object) -> dt.date | None:
    """The date of a stored date or timestamp, None for a missing one."""
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


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
