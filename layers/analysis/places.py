"""Where is it? A human place for each finding: its stadsdel and the nearest named place.

A finding is stored as a point in metres; an owner on the ground needs words:
"Farsta centrum, 40 m" in the stadsdel Farsta. The named places the product knows
are the platssamverkan sites (``sites``: squares, centres and stations, drawn as
polygons with their names). No list of Stockholm's streets or squares with a
documented licence is bundled, so a finding far from every site is still named
after the nearest site, with its true distance: the text never pretends to be
closer than it is.

Distances are from the finding (a line's representative point) to the edge of the
site's polygon; a finding inside a site is "inom" it. Texts are Swedish and use a
decimal comma ("1,2 km").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.store.base import Store

LOGGER = logging.getLogger(__name__)

#: Below this distance (m) a finding is "at" the place; distances are rounded to this.
ROUND_M = 10


@dataclass(frozen=True)
class Place:
    """The human place of one finding."""

    #: name of the stadsdel the finding lies in (None: outside every stadsdel)
    stadsdel: str | None = None
    #: the nearest named place the product knows (None: it knows none)
    name: str | None = None
    #: metres from the finding to that place (0: inside it)
    distance_m: float | None = None

    @property
    def near(self) -> str:
        """The nearest named place and its distance: 'Farsta centrum, 40 m' ('' if none)."""
        if self.name is None or self.distance_m is None:
            return ""
        return f"{self.name}, {format_distance(self.distance_m)}"

    @property
    def text(self) -> str:
        """The whole place in one line: 'Farsta centrum, 40 m (stadsdel Farsta)'."""
        parts = [self.near] if self.near else []
        if self.stadsdel:
            parts.append(f"stadsdel {self.stadsdel}")
        if not parts:
            return "okänd plats"
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({parts[1]})"

    def as_json(self) -> dict[str, object]:
        """The place for the JSON API (English keys, the Swedish text in ``text``)."""
        return {"stadsdel": self.stadsdel, "name": self.name,
                "distance_m": None if self.distance_m is None else round(self.distance_m),
                "text": self.text}


def format_distance(metres: float) -> str:
    """A distance in Swedish: 'inom platsen', '40 m', '1,2 km' (rounded to 10 m / 100 m)."""
    if metres <= 0:
        return "inom platsen"
    if metres < ROUND_M:
        return f"under {ROUND_M} m"
    if metres < 1000:
        rounded = int(round(metres / ROUND_M) * ROUND_M)
        if rounded < 1000:
            return f"{rounded} m"
    return f"{metres / 1000:.1f} km".replace(".", ",")


def named_places(store: Store) -> gpd.GeoDataFrame:
    """The named places the product knows, in EPSG:3011: ``name``, ``kind``, geometry."""
    sites = store.read("sites")
    if sites.empty:
        return gpd.GeoDataFrame({"name": [], "kind": []}, geometry=[], crs=sites.crs)
    named = sites[sites["name"].notna() & sites.geometry.notna()]
    named = named[~named.geometry.is_empty]
    return gpd.GeoDataFrame({"name": named["name"].astype(str).str.strip().to_numpy(),
                             "kind": "platssamverkan"},
                            geometry=named.geometry.to_numpy(), crs=sites.crs)


def places_for(frame: gpd.GeoDataFrame, places: gpd.GeoDataFrame,
               stadsdel_names: dict[str, str] | None = None) -> list[Place]:
    """The :class:`Place` of every row of ``frame`` (findings in EPSG:3011), in order.

    ``places`` comes from :func:`named_places`; ``stadsdel_names`` maps the rows'
    ``stadsdel`` codes to names (a code without a name is shown as it is).
    """
    if frame.empty:
        return []
    names = stadsdel_names or {}
    codes = frame["stadsdel"] if "stadsdel" in frame.columns else pd.Series(
        [None] * len(frame), index=frame.index)
    stadsdelar = [None if code is None or (not isinstance(code, str) and pd.isna(code))
                  else names.get(str(code), str(code)) for code in codes]
    geoms = frame.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    nearest: list[tuple[str | None, float | None]] = [(None, None)] * len(frame)
    if len(places) and present.any():
        points = shapely.point_on_surface(geoms[present])
        tree = shapely.STRtree(places.geometry.to_numpy())
        hits, distances = tree.query_nearest(points, return_distance=True, all_matches=False)
        src, dst = hits
        place_names = places["name"].to_numpy(dtype=object)
        rows = np.flatnonzero(present)
        for s, d, gap in zip(src.tolist(), dst.tolist(), distances.tolist(), strict=True):
            nearest[int(rows[s])] = (str(place_names[d]), float(gap))
    return [Place(stadsdel, name, distance)
            for stadsdel, (name, distance) in zip(stadsdelar, nearest, strict=True)]


def describe_findings(store: Store, frame: gpd.GeoDataFrame,
                      stadsdel_names: dict[str, str] | None = None) -> list[Place]:
    """The places of ``frame``'s findings, reading the named places from ``store``."""
    if frame.empty:
        return []
    if stadsdel_names is None:
        from layers.analysis.areas import area_catalogue

        stadsdel_names = area_catalogue(store).stadsdel_names
    return places_for(frame, named_places(store), stadsdel_names)
