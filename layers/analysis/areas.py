"""The district geography as the map needs it: names, codes, bounds and outlines.

:func:`area_catalogue` reads the ``stadsdelar`` and ``stadsdelsomraden`` layers
once and keeps them for a few minutes: every map page and API call needs the
area names (to check an ``sdn`` parameter) and the simplified outlines, and the
reference layers change only when an admin loads a new division.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from layers.io.filters import bbox_to_web
from layers.io.joins import DistrictIndex
from layers.store.base import Store

#: Seconds a catalogue is reused before the store is read again.
CACHE_SECONDS = 300.0


@dataclass(frozen=True, eq=False)
class AreaCatalogue:
    """Stadsdelsområden (current division) and stadsdelar, EPSG:3011.

    Compared and hashed by identity, so derived data (map outlines) can be cached
    per catalogue.
    """

    #: The current division: code, name, number, geometry (sorted by name).
    omraden: gpd.GeoDataFrame
    #: The 117 stadsdelar with the code and name of their current area.
    stadsdelar: gpd.GeoDataFrame
    #: Every area code of every division -> name (old codes too).
    all_areas: dict[str, str]
    #: Label of the current division ("2023-07-01").
    division: str

    @property
    def current(self) -> dict[str, str]:
        """Current area code -> name, in name order."""
        return dict(zip(self.omraden["code"], self.omraden["name"], strict=True))

    @property
    def stadsdel_names(self) -> dict[str, str]:
        """Stadsdel code -> name."""
        return dict(zip(self.stadsdelar["code"], self.stadsdelar["name"], strict=True))

    def bounds_wgs84(self, code: str) -> tuple[float, float, float, float]:
        """(minlon, minlat, maxlon, maxlat) of one current area."""
        row = self.omraden[self.omraden["code"] == code]
        if row.empty:
            raise KeyError(code)
        return bbox_to_web(tuple(row.geometry.iloc[0].bounds))

    def city_bounds_wgs84(self) -> tuple[float, float, float, float]:
        """(minlon, minlat, maxlon, maxlat) of the whole city."""
        return bbox_to_web(tuple(self.omraden.total_bounds))


_SWEDISH_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"})


def swedish_key(name: str) -> str:
    """Sort key in Swedish alphabetical order (… x y z å ä ö)."""
    return str(name).casefold().translate(_SWEDISH_ORDER)


_LOCK = threading.Lock()
# keyed by the store object itself (weakly): a new store never sees another's data
_CACHE: weakref.WeakKeyDictionary[Store, tuple[float, AreaCatalogue]] = \
    weakref.WeakKeyDictionary()


def area_catalogue(store: Store, *, max_age: float = CACHE_SECONDS) -> AreaCatalogue:
    """The catalogue of a store (cached per store object for ``max_age`` seconds)."""
    with _LOCK:
        hit = _CACHE.get(store)
        if hit is not None and time.monotonic() - hit[0] <= max_age:
            return hit[1]
    catalogue = build_catalogue(store)
    with _LOCK:
        _CACHE[store] = (time.monotonic(), catalogue)
    return catalogue


def clear_cache() -> None:
    """Forget every catalogue (after a new division is loaded, and in tests)."""
    with _LOCK:
        _CACHE.clear()


def build_catalogue(store: Store) -> AreaCatalogue:
    """Read the reference layers and relate each stadsdel to its current area."""
    areas = store.read("stadsdelsomraden")
    stadsdelar = store.read("stadsdelar")
    starts = pd.to_datetime(areas["valid_from"].astype(str))
    latest = starts.max()
    current = areas[starts == latest].sort_values("name", key=_keys).reset_index(drop=True)
    index = DistrictIndex(stadsdelar, areas)
    mapping = index.divisions[-1].areas if index.divisions else {}
    stadsdelar = stadsdelar.assign(
        sdo_code=[mapping.get(c, (None, None))[0] for c in stadsdelar["code"]],
        sdo_name=[mapping.get(c, (None, None))[1] for c in stadsdelar["code"]],
    ).sort_values("name", key=_keys).reset_index(drop=True)
    return AreaCatalogue(
        omraden=current,
        stadsdelar=stadsdelar,
        all_areas=dict(zip(areas["code"], areas["name"], strict=True)),
        division=latest.date().isoformat() if pd.notna(latest) else "",
    )


def _keys(names: pd.Series) -> pd.Series:
    return names.map(swedish_key)
