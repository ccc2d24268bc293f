"""The area a ranking covers: the city or one stadsdelsområde, its land and its cells.

:func:`study_area` gives the land (EPSG:3011) of the city or of one stadsdelsområde of
either division, with the rest of the city as context; :func:`covering` the cells of
:class:`layers.analysis.grid.Grid` that are ranked and the ring of context cells around
them that count as Gi* neighbours; :func:`store_cell_size` the cell size for a store's
data. The priority places, their backtest and the emerging hot spots all run on these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

import geodata
from layers.analysis.default_period import point_span
from layers.analysis.grid import Grid, auto_cell_size
from layers.core.schema import STORE_EPSG

if TYPE_CHECKING:
    from layers.analysis.priority_config import PriorityConfig


@dataclass(frozen=True)
class StudyArea:
    """The area to rank: the city or one stadsdelsområde, with its land in EPSG:3011.

    ``context`` is the land around it whose cells count as Gi* neighbours but are
    not ranked (the rest of the city, for a district).
    """

    code: str | None
    name: str
    land: BaseGeometry
    context: BaseGeometry | None
    #: stadsdel code -> (name, current stadsdelsområde code, its name)
    stadsdelar: Mapping[str, tuple[str, str, str]]
    #: stadsdelsområde code -> land area in m²
    area_m2: Mapping[str, float]


@lru_cache(maxsize=1)
def _city() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, str]]:
    full = geodata.stadsdelar(crs=STORE_EPSG, land=False)
    land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
    areas = geodata.stadsdelsomraden(crs=STORE_EPSG)
    names = dict(zip(areas["code"], areas["name"], strict=True))
    return full, land, names


@lru_cache(maxsize=32)
def study_area(sdn: str | None = None) -> StudyArea:
    """The city (``sdn`` None) or one stadsdelsområde by code, of either division.

    Raises KeyError for an unknown code (see :func:`resolve_sdn` for names).
    """
    full, land, names = _city()
    current = {r.code: (r.name, r.sdo_2023, names.get(r.sdo_2023, r.sdo_2023))
               for r in full.itertuples()}
    land_sdo = land["sdo_2023"].to_numpy()
    areas = {code: float(shapely.area(shapely.union_all(
        land.geometry.to_numpy()[land_sdo == code]))) for code in set(land_sdo)}
    city_land = shapely.union_all(land.geometry.to_numpy())
    if sdn is None:
        return StudyArea(None, "Stockholms stad", city_land, None, current, areas)
    if sdn not in names:
        raise KeyError(sdn)
    inside = (land["sdo_2023"] == sdn) | (land["sdo_2020"] == sdn)
    district = shapely.union_all(land.geometry.to_numpy()[inside.to_numpy()])
    area = {sdn: float(shapely.area(district))}
    return StudyArea(sdn, names[sdn], district, city_land, current, area)


def resolve_sdn(text: str) -> str:
    """Turn a stadsdelsområde code or name (any division, any case) into its code.

    Raises ValueError with a Swedish message listing the current areas.
    """
    _, _, names = _city()
    code = geodata.slugify(text)
    if code in names:
        return code
    by_name = {geodata.slugify(name): c for c, name in names.items()}
    if code in by_name:
        return by_name[code]
    current = sorted({n for c, n in names.items()
                      if c in set(geodata.stadsdelsomraden(division="2023")["code"])})
    raise ValueError(f"Okänt stadsdelsområde '{text}'. Välj ett av: {', '.join(current)}.")


@lru_cache(maxsize=16)
def covering(size: float, shape: str, sdn: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(ranked cells, all cells of the analysis) for an area, cached."""
    area = study_area(sdn)
    grid = Grid(size, shape)
    ranked = grid.covering(area.land)
    if area.context is None:
        return ranked, ranked
    city, _ = covering(size, shape, None)
    ring = np.intersect1d(grid.ring(ranked), city, assume_unique=True)
    return ranked, np.union1d(ranked, ring)


@lru_cache(maxsize=16)
def cell_stadsdel(size: float, shape: str, keys_bytes: bytes) -> np.ndarray:
    """Stadsdel code of each cell (by its centre; the nearest one outside every stadsdel)."""
    keys = np.frombuffer(keys_bytes, dtype=np.int64)
    full, _, _ = _city()
    grid = Grid(size, shape)
    cx, cy = grid.centres(keys)
    points = shapely.points(cx, cy)
    tree = shapely.STRtree(full.geometry.to_numpy())
    src, dst = tree.query(points, predicate="intersects")
    codes = full["code"].to_numpy(dtype=object)
    out = np.full(len(keys), None, dtype=object)
    first = pd.Series(dst).groupby(src).min()
    out[first.index.to_numpy()] = codes[first.to_numpy()]
    missing = np.flatnonzero(pd.isna(out))
    if len(missing):
        near = tree.nearest(points[missing])
        out[missing] = codes[near]
    return out


def store_cell_size(store, config: PriorityConfig) -> float:
    """The configured cell size, or one chosen from the density of the whole store."""
    if config.cell_size:
        return float(config.cell_size)
    # only placed incidents are ranked, so only their span sets the density
    span = point_span(store)
    if span is None:
        return 150.0
    n = store.placed_count()
    years = max((span[1] - span[0]).days + 1, 30) / 365.25
    return float(auto_cell_size(n / years, study_area(None).land.area))


__all__ = ["StudyArea", "cell_stadsdel", "covering", "resolve_sdn", "store_cell_size",
           "study_area"]
