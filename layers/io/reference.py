"""Reference data: load the bundled district geography into a store.

``trygghetskartan init`` calls :func:`load_reference`; it is safe to call again
(the reference layers are replaced in one transaction, never duplicated).
"""

from __future__ import annotations

import logging

import pandas as pd

import geodata
from layers.core.schema import STORE_EPSG
from layers.store.base import Store, WriteResult

LOGGER = logging.getLogger(__name__)


def load_reference(store: Store) -> dict[str, WriteResult]:
    """Store the 117 stadsdelar, both divisions of stadsdelsområden and population."""
    stadsdelar = geodata.stadsdelar(crs=STORE_EPSG)[["code", "name", "geometry"]]
    omraden = geodata.stadsdelsomraden(crs=STORE_EPSG)
    population = geodata.population()
    population = population.assign(
        id=population["sdo_code"] + ":" + population["year"].astype(str),
        source="Stockholms stad, Befolkningsöversikt 2024",
    )
    return store.write(
        {"stadsdelar": stadsdelar, "stadsdelsomraden": omraden, "population": population},
        replace=("stadsdelar", "stadsdelsomraden", "population"),
    )


def current_division(store: Store) -> pd.DataFrame:
    """The stadsdelsområden valid today (a GeoDataFrame, EPSG:3011)."""
    areas = store.read("stadsdelsomraden")
    latest = areas["valid_from"].max()
    return areas[areas["valid_from"] == latest].reset_index(drop=True)
