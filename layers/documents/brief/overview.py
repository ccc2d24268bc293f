"""The city overview: the current stadsdelsområden side by side on the common indicators,
small counts protected across the whole page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from layers.core import clock
from layers.core.disclosure import Figure, protect
from layers.core.periods import Period
from layers.core.privacy import PUBLIC_CATEGORY_CODES
from layers.core.schema import (
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    OPEN_STATUSES,
    STRATEGIC_CODES,
)
from layers.documents.brief.protection import ALL_GENDERS, AreaCounter
from layers.documents.brief.tables import (
    SUPPRESS_BELOW,
    Cell,
    Row,
    Table,
    change_cell,
    count_cell,
    format_date,
    rate_cell,
)
from layers.indicators import (
    NBSP,
    NOT_AVAILABLE,
    Area,
    CityData,
    area_values,
    as_of_time,
    as_period,
    findings_as_of,
    format_int,
    in_period,
    load_city_data,
    year_of,
)
from layers.store.base import Store

_GROUP_OF = {c.code: c.group for c in INCIDENT_CATEGORIES}


CITY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("population", "Folkmängd"),
    ("count", "Antal"),
    ("rate", f"Per 1{NBSP}000 inv."),
    ("change", "Förändring"),
    *((f"rate_{g}", label) for g, label in INCIDENT_GROUPS.items()),
    ("rate_strategic", "Strategiska brott"),
    ("women", "Kvinna/flicka som offer"),
    ("open_findings", "Öppna fynd"),
    ("sites", "Platssamverkan (aktiva)"),
)
#: City overview column -> the indicator it shows (:mod:`layers.indicators`).
CITY_FIGURES: dict[str, str] = {"count": "incidents", "rate": "rate", "change": "change",
                                "women": "victims_women", "open_findings": "open_findings",
                                "sites": "active_sites"}
#: Headings over groups of CITY_COLUMNS: (label, number of columns).
CITY_COLUMN_GROUPS: tuple[tuple[str, int], ...] = (
    ("", 1),
    ("Alla händelser", 3),
    ("Per 1 000 invånare", len(INCIDENT_GROUPS) + 1),
    ("Antal", 3),
)


def _protect_overview(data: CityData, areas: list[Area], period: Period, comparison: Period,
                      values: np.ndarray, threshold: int) -> np.ndarray:
    """Statuses of the overview's counts, protected across the whole page
    (:mod:`layers.core.disclosure`): a row's groups add up to its count, the city row is the
    sum of the areas, and each rate stands for its count. Open findings are never
    hidden (places, not people)."""
    groups = list(INCIDENT_GROUPS)
    frame = data.incidents
    pairs = frame[["category", "victim_gender"]].astype(object)
    women = {c for c, g in zip(pairs["category"], pairs["victim_gender"], strict=True)
             if g == "kvinna"}
    columns: list[tuple[Period, tuple[str, ...], tuple[str | None, ...]]] = [
        (period, PUBLIC_CATEGORY_CODES, ALL_GENDERS),
        (comparison, PUBLIC_CATEGORY_CODES, ALL_GENDERS),
        *((period, tuple(c for c in PUBLIC_CATEGORY_CODES if _GROUP_OF[c] == g), ALL_GENDERS)
          for g in groups),
        (period, STRATEGIC_CODES, ALL_GENDERS),
        (period, tuple(c for c in PUBLIC_CATEGORY_CODES if c in women), ("kvinna",)),
    ]
    figures = []
    for i, j in np.ndindex(values.shape):
        chosen = areas[i:i + 1] if i < len(areas) else areas
        if j < len(columns):
            p, cats, genders = columns[j]
            parts = frozenset((a.code, c, g, p.code) for a in chosen for c in cats
                              for g in genders)
        else:
            parts = frozenset()
        # the headline figures (count, comparison, women) are shown on /sdn too
        figures.append(Figure((i, j), int(values[i, j]), parts,
                              last=j in (0, 1, len(columns) - 1), fixed=j >= len(columns)))
    final = protect(figures, threshold)
    status = np.zeros(values.shape, dtype=np.int64)
    for f in figures:
        status[f.key] = final[f.key]
    return status


@dataclass
class CityOverview:
    """The 11 current stadsdelsområden side by side on the common indicators."""

    period: Period
    comparison: Period
    table: Table
    #: (area name, rate per 1 000 or None) for the chart, and the city's rate
    chart: list[tuple[str, float | None]]
    city_rate: float | None
    footnotes: list[str]
    demo: bool = False


def build_city_overview(store: Store | None, period: Period | str, *,
                        data: CityData | None = None,
                        threshold: int = SUPPRESS_BELOW,
                        now: dt.datetime | pd.Timestamp | None = None) -> CityOverview:
    """Every current stadsdelsområde on the same indicators, with the city total.

    Open findings and active sites are as of the period's end, as in the briefs.
    """
    period = as_period(period)
    if data is None:
        if store is None:
            raise ValueError("build_city_overview needs a store or loaded data")
        data = load_city_data(store, period)
    comparison = period.year_before()
    areas = data.current_areas
    year = year_of(period)
    city_counter = AreaCounter(data, None)
    groups = list(INCIDENT_GROUPS)
    # count columns: total, comparison total, groups…, strategic, women, open findings
    n_cols = 2 + len(groups) + 3
    values = np.zeros((len(areas) + 1, n_cols), dtype=np.int64)
    populations: list[int | None] = []
    site_counts: list[int] = []
    now = clock.now() if now is None else clock.as_local(now)
    last_day = (as_of_time(period, now) - pd.Timedelta(microseconds=1)).date()
    for i, area in enumerate(areas):
        # every figure but the groups from the indicator module (layers.indicators)
        v = area_values(data, area, period, now)
        by_group = AreaCounter(data, area).by(period, "group")
        values[i] = [v.incidents, v.comparison or 0,
                     *(int(by_group.get(g, 0)) for g in groups),
                     v.strategic, v.victims_women, v.open_findings]
        populations.append(v.population)
        site_counts.append(v.active_sites)
    by_group = city_counter.by(period, "group")
    values[-1] = values[:-1].sum(axis=0)
    values[-1, 0] = city_counter.total(period)
    values[-1, 1] = city_counter.total(comparison)
    values[-1, 2:2 + len(groups)] = [int(by_group.get(g, 0)) for g in groups]
    city_now = city_counter.table[in_period(city_counter.table["occurred_at"], period)]
    open_city = findings_as_of(data.findings, data.history, as_of_time(period, now))
    values[-1, -3:] = [
        int(city_now["category"].isin(STRATEGIC_CODES).sum()),
        int((city_now["victim_gender"] == "kvinna").sum()),
        int((open_city["status"].isin(OPEN_STATUSES) & open_city["sdo_code"].notna()).sum())
        if not open_city.empty else 0]
    status = _protect_overview(data, areas, period, comparison, values, threshold)
    city_pop = data.city_population(year)[0]
    has_comparison = data.covered(comparison)
    rows = []
    chart = []
    for i, area in enumerate([*areas, None]):
        pop = populations[i] if area is not None else city_pop
        v, s = values[i], status[i]
        cells = {
            "population": Cell(format_int(pop), float(pop)) if pop else Cell(NOT_AVAILABLE),
            "count": count_cell(int(v[0]), s[0], threshold),
            "rate": rate_cell(int(v[0]), s[0], pop),
            "change": change_cell(int(v[0]), s[0], int(v[1]) if has_comparison else None,
                                  s[1]),
        }
        for k, g in enumerate(groups):
            cells[f"rate_{g}"] = rate_cell(int(v[2 + k]), s[2 + k], pop)
        base = 2 + len(groups)
        cells["rate_strategic"] = rate_cell(int(v[base]), s[base], pop)
        cells["women"] = count_cell(int(v[base + 1]), s[base + 1], threshold)
        cells["open_findings"] = count_cell(int(v[base + 2]), s[base + 2], threshold)
        n_sites = site_counts[i] if area is not None else sum(site_counts)
        cells["sites"] = Cell(format_int(n_sites), float(n_sites))
        for column, code in CITY_FIGURES.items():
            cells[column] = replace(cells[column], figure=code)
        if area is not None:
            rows.append(Row(area.code, area.name, cells))
            chart.append((area.name, cells["rate"].value))
        else:
            rows.append(Row("staden", "Staden totalt", cells, total=True))
    table = Table("city", f"Stadsdelsområdena {period.label}", "Stadsdelsområde",
                  list(CITY_COLUMNS), rows)
    footnotes = [f"Förändring jämfört med {comparison.label}."]
    if not has_comparison:
        footnotes.append(f"Jämförelseperioden {comparison.label} saknas i underlaget.")
    used = data.city_population(year)[1]
    if used and used != {year}:
        footnotes.append("Folkmängd den 31 december " + ", ".join(map(str, sorted(used)))
                         + f" (närmaste år med uppgift; perioden gäller {year}).")
    footnotes.append(f"Öppna fynd och aktiva platser: läget {format_date(last_day)} (öppna fynd "
                     "= registrerade senast då med status ny eller tilldelad då).")
    demo = bool((data.incidents["source"] == "demo").any()) if not data.incidents.empty \
        else False
    return CityOverview(period, comparison, table, chart,
                        rows[-1].cells["rate"].value, footnotes, demo)
