"""The brief's incident sections: counts and rates per group, strategic crimes, victims by
gender, and the trend over periods.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd

from layers.core.periods import Period
from layers.core.privacy import PUBLIC_CATEGORY_CODES
from layers.core.schema import (
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    STRATEGIC_CODES,
    VICTIM_GENDERS,
    by_code,
)
from layers.documents.brief.model import TrendPoint
from layers.documents.brief.protection import ALL_GENDERS, BriefContext
from layers.documents.brief.tables import (
    Cell,
    Row,
    Table,
    change_cell,
    count_cell,
    format_date,
    rate_cell,
    share_cell,
)
from layers.indicators import (
    NOT_AVAILABLE,
    in_period,
    trend_periods,
    year_of,
)

_CATEGORY = by_code(INCIDENT_CATEGORIES)
_GROUP_OF = {c.code: c.group for c in INCIDENT_CATEGORIES}


def _sum(counts: pd.Series, keys: Iterable[str]) -> int:
    return int(sum(int(counts.get(k, 0)) for k in keys))



def _rate_rows(ctx: BriefContext, key: str, caption: str, row_header: str,
               rows: Sequence[tuple[str, str, tuple[str, ...]]], total: tuple[str, str],
               column: str = "category", last: Iterable[tuple[int, int]] = ()) -> Table:
    """A table of counts and rates per row, with the comparable period and the city.

    ``rows`` are (key, label, values of ``column`` counted); the total row adds them up.
    ``last`` are (row, column) counts shown on other pages too (``-1``: the total row;
    columns 0 now, 1 the comparable period, 2 the city).
    """
    local_now = ctx.local.by(ctx.period, column)
    have_comparison = ctx.data.covered(ctx.comparison)
    local_before = ctx.local.by(ctx.comparison, column)
    city_now = ctx.city.by(ctx.period, column)
    all_keys = tuple(k for _, _, keys in rows for k in keys)
    specs = [*rows, (total[0], total[1], all_keys)]
    values = np.array([[_sum(local_now, keys), _sum(local_before, keys), _sum(city_now, keys)]
                       for _, _, keys in specs])

    def parts(i: int, j: int) -> set[Hashable]:
        keys = specs[i][2]
        if column == "victim_gender":
            categories, genders = PUBLIC_CATEGORY_CODES, keys
        else:
            categories = keys if column == "category" else tuple(
                c for c in PUBLIC_CATEGORY_CODES if _GROUP_OF[c] in keys)
            genders = ALL_GENDERS
        return ctx.parts(categories, genders, ctx.comparison if j == 1 else ctx.period,
                         city=j == 2)

    status = ctx.statuses(key, values, parts,
                          [(len(specs) - 1 if i < 0 else i, j) for i, j in last])
    out = []
    for i, (row_key, label, _) in enumerate(specs):
        now, before, city = (int(v) for v in values[i])
        prev = before if have_comparison else None
        out.append(Row(row_key, label, {
            "count": count_cell(now, status[i, 0], ctx.threshold),
            "rate": rate_cell(now, status[i, 0], ctx.population),
            "previous": count_cell(before, status[i, 1], ctx.threshold)
            if have_comparison else Cell(NOT_AVAILABLE),
            "change": change_cell(now, status[i, 0], prev, status[i, 1]),
            "city_rate": rate_cell(city, status[i, 2], ctx.city_population),
        }, total=i == len(specs) - 1))
    return Table(key, caption, row_header, [
        ("count", "Antal"),
        ("rate", "Per 1 000 inv."),
        ("previous", f"Antal {ctx.comparison.short_label}"),
        ("change", "Förändring"),
        ("city_rate", "Staden per 1 000 inv."),
    ], out)


def groups_table(ctx: BriefContext) -> Table:
    rows = [(g, label, (g,)) for g, label in INCIDENT_GROUPS.items()]
    return _rate_rows(ctx, "groups", "Kategorigrupper: antal, per 1 000 invånare och "
                      "förändring", "Kategorigrupp",
                      rows, ("alla", "Alla händelser"), column="group",
                      last=[(-1, 0), (-1, 1)])


def strategic_table(ctx: BriefContext) -> Table:
    rows = [(c, _CATEGORY[c].label.capitalize(), (c,)) for c in STRATEGIC_CODES]
    return _rate_rows(ctx, "strategic", "Strategiska brott: antal, per 1 000 invånare och "
                      "förändring", "Brott", rows, ("strategiska", "Strategiska brott totalt"),
                      last=[(-1, 0)])


def gender_table(ctx: BriefContext) -> Table:
    """Incidents by the victim's gender with rates, the comparable period and the city."""
    rows = [(g, label.capitalize(), (g,)) for g, label in
            (("kvinna", "kvinna/flicka"), ("man", "man/pojke"), ("annat", "annat/okänt"))]
    table = _rate_rows(ctx, "gender", "Brottsoffrets kön: antal, per 1 000 invånare och "
                       "förändring", "Brottsoffer", rows, ("kant", "Känt kön totalt"),
                       column="victim_gender", last=[(0, 0), (1, 0)])
    table.notes.append("Bara händelser där brottsoffrets kön är registrerat. Per 1 000 "
                       "invånare räknas mot hela befolkningen.")
    return table


def victims_table(ctx: BriefContext) -> Table:
    """Victims by gender per category, for the categories where the data records it.

    Only incidents with a recorded gender: a row does not add up to the category's count
    (the note says so), so the protection takes the unrecorded ones as unknown to the
    reader.
    """
    city = ctx.data.incidents
    known = city[city["victim_gender"].notna().to_numpy()]
    # the sensitive categories are one figure of their own, never part of a table
    codes = [c for c in PUBLIC_CATEGORY_CODES if c in set(known["category"])]
    genders = list(VICTIM_GENDERS)
    frame = ctx.local.table
    sel = frame[in_period(frame["occurred_at"], ctx.period)
                & frame["victim_gender"].notna().to_numpy()]
    cross = pd.crosstab(sel["category"], sel["victim_gender"]) if not sel.empty else None
    values = np.zeros((len(codes) + 1, len(genders)), dtype=np.int64)
    for i, code in enumerate(codes):
        for j, gender in enumerate(genders):
            if cross is not None and code in cross.index and gender in cross.columns:
                values[i, j] = int(cross.loc[code, gender])
    values[-1] = values[:-1].sum(axis=0)
    status = ctx.statuses("victims", values, lambda i, j: ctx.parts(
        codes[i:i + 1] if i < len(codes) else codes, (genders[j],), ctx.period))
    labels = [_CATEGORY[c].label.capitalize() for c in codes] + ["Summa"]
    rows = []
    for i, (key, label) in enumerate(zip([*codes, "summa"], labels, strict=True)):
        cells = {g: count_cell(int(values[i, j]), status[i, j], ctx.threshold)
                 for j, g in enumerate(genders)}
        cells["share_women"] = share_cell(
            int(values[i, 0]), status[i, 0],
            [(int(values[i, 0]), status[i, 0]), (int(values[i, 1]), status[i, 1])])
        rows.append(Row(key, label, cells, total=key == "summa"))
    table = Table("victims", "Händelser efter brottsoffrets kön", "Brott", [
        ("kvinna", "Kvinna/flicka"), ("man", "Man/pojke"), ("annat", "Annat/okänt"),
        ("share_women", "Andel kvinnor/flickor"),
    ], rows)
    table.notes.append("Bara händelser där brottsoffrets kön är registrerat; händelser utan "
                       "registrerat kön ingår inte, så en rad är inte kategorins hela antal. "
                       "Andelen kvinnor och flickor räknas av händelserna med känt kön "
                       "(kvinna eller man).")
    if not codes:
        table.notes.append("Underlaget har inga uppgifter om brottsoffrets kön för perioden.")
    return table


def trend_table(ctx: BriefContext) -> tuple[Table, list[TrendPoint]]:
    periods = trend_periods(ctx.period)
    groups = list(INCIDENT_GROUPS)
    # counts: rows = groups + total, columns = periods; column lines protect the chart
    values = np.zeros((len(groups) + 1, len(periods)), dtype=np.int64)
    city_values = np.zeros(len(periods), dtype=np.int64)
    for j, p in enumerate(periods):
        counts = ctx.local.by(p, "group")
        values[:-1, j] = [int(counts.get(g, 0)) for g in groups]
        city_values[j] = ctx.city.total(p)
    values[-1] = values[:-1].sum(axis=0)
    members = {g: tuple(c for c in PUBLIC_CATEGORY_CODES if _GROUP_OF[c] == g) for g in groups}
    status = ctx.statuses("trend", values, lambda i, j: ctx.parts(
        members[groups[i]] if i < len(groups) else PUBLIC_CATEGORY_CODES, ALL_GENDERS,
        periods[j]), [(len(groups), len(periods) - 1)])
    city_status = ctx.statuses("trend_city", city_values[None, :], lambda i, j: ctx.parts(
        PUBLIC_CATEGORY_CODES, ALL_GENDERS, periods[j], city=True))[0]
    rows, points = [], []
    for j, p in enumerate(periods):
        covered = ctx.data.covered(p)
        pop = _population(ctx, p)[0]
        city_pop = ctx.data.city_population(year_of(p))[0]
        n = int(values[-1, j])
        if covered:
            count, rate = count_cell(n, status[-1, j], ctx.threshold), rate_cell(
                n, status[-1, j], pop)
            city = rate_cell(int(city_values[j]), city_status[j], city_pop)
        else:
            count = rate = city = Cell(NOT_AVAILABLE)
        rows.append(Row(p.code, p.short_label, {"count": count, "rate": rate,
                                                "city_rate": city}))
        group_rates = {}
        for i, g in enumerate(groups):
            cell = rate_cell(int(values[i, j]), status[i, j], pop) if covered else None
            group_rates[g] = cell.value if cell is not None else None
        points.append(TrendPoint(p, covered, rate.value, count.value, city.value, group_rates))
    table = Table("trend", "Händelser per period", "Period", [
        ("count", "Antal händelser"), ("rate", "Per 1 000 inv."),
        ("city_rate", "Staden per 1 000 inv."),
    ], rows)
    if not all(pt.covered for pt in points):
        table.notes.append("– = inga uppgifter: underlaget börjar "
                           f"{format_date(ctx.data.data_start)}.")
    return table, points



def _population(ctx: BriefContext, period: Period) -> tuple[int | None, int | None]:
    return ctx.data.population_of(ctx.area.code, year_of(period))
