"""Key figures of one stadsdelsområde for a period, for the district map page.

Incidents per 1 000 inhabitants this period against the previous comparable
period and the city average, strategic crimes, open findings and platssamverkan
sites. Population comes from the store's ``population`` table (31 December of
the period's year, or the nearest year the table has). Areas that were merged
in 2023 (Järva, Norra innerstaden) count the incidents of the areas they were
made of, so periods before and after the change compare.

What is counted follows :func:`layers.privacy.counted_categories`: "all
categories" and the groups leave the sensitive categories out for every role
(the figures carry the Swedish note), and those are given instead as one count
for the area and period (:attr:`AreaFigures.sensitive`), which a page shows as
"<5" below five to every role that does not see sensitive incidents.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from layers.filters import CATEGORY_GROUPS, MapFilter, area_codes
from layers.periods import Period
from layers.privacy import CountedCategories, counted_categories
from layers.schema import INCIDENT_CATEGORIES, OPEN_STATUSES, SENSITIVE_CODES, STRATEGIC_CODES
from layers.store.base import Query, Store

_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}


@dataclass(frozen=True)
class AreaFigures:
    """The figures of one area; rates are per 1 000 inhabitants (None without population)."""

    code: str
    name: str
    period: Period
    previous_period: Period
    #: What is counted, in Swedish ("alla händelser", "strategiska brott", "rån").
    what: str
    incidents: int
    previous: int
    population: int | None
    population_year: int | None
    rate: float | None
    previous_rate: float | None
    city_rate: float | None
    strategic: int
    strategic_previous: int
    open_findings: int
    sites: int
    active_sites: int
    #: Sexual offences and violence in close relationships in the area this period:
    #: the only figure of the sensitive categories for most roles, never in another sum.
    sensitive: int = 0
    #: Swedish note when the counts leave sensitive categories out (None: nothing left out).
    note: str | None = None

    @property
    def change_pct(self) -> float | None:
        """Change against the previous period in per cent (None when it had none)."""
        if not self.previous:
            return None
        return 100.0 * (self.incidents - self.previous) / self.previous

    @property
    def against_city(self) -> float | None:
        """The area's rate as a share of the city's (1.0: the same)."""
        if self.rate is None or not self.city_rate:
            return None
        return self.rate / self.city_rate


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


def _rate(count: int, population: int | None) -> float | None:
    return None if not population else 1000.0 * count / population


def area_figures(store: Store, code: str, name: str, flt: MapFilter,
                 counted: CountedCategories | None = None) -> AreaFigures:
    """Compute the figures of area ``code`` for the filter's period and categories.

    ``counted`` is the privacy rule applied to the user's request
    (:func:`layers.privacy.counted_categories`); without it the rule for an
    anonymous visitor is applied, so a figure never counts a sensitive category
    nobody asked for by name.
    """
    if flt.period is None:
        raise ValueError("key figures need a period")
    if counted is None:
        counted = counted_categories(None, flt.category)
    period, previous = flt.period, flt.period.previous()
    area = flt.with_(sdn=code, stadsdel=None, bbox=None, categories=counted.codes)
    city = flt.with_(sdn=None, stadsdel=None, bbox=None, categories=counted.codes)

    def count(f: MapFilter, p: Period, categories: tuple[str, ...] | None = None) -> int:
        return store.count("incidents", f.incident_query(period=p, categories=categories,
                                                         bbox=False))

    incidents, before = count(area, period), count(area, previous)
    population, year = population_by_area(store, period.end.year)
    previous_population, _ = population_by_area(store, previous.end.year)
    areas = area_codes(code)
    open_findings = store.count("findings", Query(where={"sdo_code": areas,
                                                         "status": OPEN_STATUSES}))
    sites = store.read("sites", Query(where={"sdo_code": areas}))
    city_population = sum(population.values()) or None
    return AreaFigures(
        code=code, name=name, period=period, previous_period=previous,
        what=describe_categories(flt),
        incidents=incidents, previous=before,
        population=population.get(code), population_year=year,
        rate=_rate(incidents, population.get(code)),
        previous_rate=_rate(before, previous_population.get(code)),
        city_rate=_rate(count(city, period), city_population),
        strategic=count(area, period, STRATEGIC_CODES),
        strategic_previous=count(area, previous, STRATEGIC_CODES),
        open_findings=open_findings,
        sites=len(sites),
        active_sites=int((sites["status"] == "aktiv").sum()) if len(sites) else 0,
        sensitive=count(area, period, SENSITIVE_CODES),
        note=counted.note,
    )
