"""Key figures of one stadsdelsområde for a period, for the district map page.

A thin user of :mod:`layers.indicators`: the values are the indicators' (incidents,
per 1 000 inhabitants, the city's rate, the same period a year earlier and the
previous period, strategic crimes, the sensitive count, victims, open findings as of
the period's end, median time to fix, sites), counted for the categories the map
shows (:func:`layers.core.privacy.counted_categories`). This module only adds the phrase
for what is counted and the population table lookup the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from layers.analysis.aggregate import ComputedPerStore, data_version
from layers.core import clock
from layers.core.privacy import CountedCategories, counted_categories
from layers.core.schema import INCIDENT_CATEGORIES
from layers.indicators import AreaValues, area_values
from layers.indicators.citydata import find_area, load_city_data
from layers.io.filters import CATEGORY_GROUPS, MapFilter
from layers.store.base import Store

_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}
#: The tables the key figures read (layers.indicators.citydata.load_city_data).
FIGURE_LAYERS = ("incidents", "findings", "finding_history", "sites", "population",
                 "stadsdelar", "stadsdelsomraden", "brief_texts")
_FIGURES = ComputedPerStore(64, 300.0)


@dataclass(frozen=True)
class AreaFigures:
    """The key figures of one area: the indicator values, with what they count."""

    name: str
    values: AreaValues
    #: What is counted, in Swedish ("alla händelser", "strategiska brott", "rån").
    what: str
    #: Swedish note when the counts leave sensitive categories out (None: nothing left out).
    note: str | None = None

    def __getattr__(self, name: str):
        """The indicator values by name (``figures.incidents``, ``figures.rate``…)."""
        if name == "values":
            raise AttributeError(name)
        return getattr(self.values, name)


def describe_categories(flt: MapFilter) -> str:
    """A Swedish phrase for the filter's categories."""
    if flt.categories is None:
        return "alla händelser"
    if flt.category in CATEGORY_GROUPS:
        return CATEGORY_GROUPS[flt.category].lower()
    return ", ".join(_LABELS[c] for c in flt.categories)


def population_by_area(store: Store, year: int) -> tuple[dict[str, int], int | None]:
    """Population per area for ``year`` (or the nearest year in the table) and that year."""
    table = store.read("population")
    if table.empty:
        return {}, None
    years = sorted(int(y) for y in table["year"].dropna().unique())
    earlier = [y for y in years if y <= year]
    chosen = earlier[-1] if earlier else years[0]
    rows = table[table["year"] == chosen]
    return {str(c): int(p) for c, p in zip(rows["sdo_code"], rows["population"], strict=True)
            if pd.notna(p)}, chosen


def area_figures(store: Store, code: str, name: str, flt: MapFilter,
                 counted: CountedCategories | None = None) -> AreaFigures:
    """The key figures of area ``code`` for the filter's period and categories.

    ``counted`` is the privacy rule applied to the user's request
    (:func:`layers.core.privacy.counted_categories`); without it the rule for an
    anonymous visitor is applied, so a figure never counts a sensitive category
    nobody asked for by name.
    """
    if flt.period is None:
        raise ValueError("key figures need a period")
    if counted is None:
        counted = counted_categories(None, flt.category)
    period = flt.period
    now = clock.now()

    def compute() -> AreaValues:
        data = load_city_data(store, period, [period, period.year_before(), period.previous()])
        return area_values(data, find_area(data.areas, code), period, now,
                           categories=counted.codes)

    # computed once per change of the tables it reads (and per minute: open findings
    # age with the clock); concurrent requests for one key wait for one computation
    key = ("area-figures", data_version(store, FIGURE_LAYERS), code, period.code,
           None if counted.codes is None else tuple(sorted(counted.codes)),
           now.replace(second=0, microsecond=0))
    values = _FIGURES.get(store, key, compute)
    return AreaFigures(name=name, values=values, what=describe_categories(flt),
                       note=counted.note)
