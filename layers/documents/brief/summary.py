"""The brief's key figures, its plain-language highlights and the notes on the method,
the division change and the population.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from layers.core.schema import (
    DIVISION_CHANGE,
    INCIDENT_CATEGORIES,
    STRATEGIC_CODES,
    by_code,
)
from layers.documents.brief.findings import Findings
from layers.documents.brief.model import PriorityPlace
from layers.documents.brief.protection import BriefContext
from layers.documents.brief.tables import SUPPRESS_BELOW, Cell, Row, Table
from layers.indicators import (
    CHANGE_MIN_COUNT,
    HIDDEN,
    NOT_AVAILABLE,
    AreaValues,
    format_int,
    trend_periods,
    year_of,
)

_CATEGORY = by_code(INCIDENT_CATEGORIES)


SUMMARY_FIGURES: dict[str, dict[str, str]] = {
    "alla": {"count": "incidents", "rate": "rate", "previous": "comparison",
             "change": "change", "city_rate": "city_rate"},
    "strategiska": {"count": "strategic"},
    "kvinnor": {"count": "victims_women"},
    "kansliga": {"count": "sensitive"},
    "oppna_fynd": {"count": "open_findings"},
    "median": {"count": "median_days_to_fix"},
    "platser": {"count": "active_sites"},
}


def summary_table(ctx: BriefContext, groups: Table, strategic: Table, gender: Table,
             findings: Findings, values: AreaValues) -> Table:
    """Key figures: incident counts taken from the other tables (the same cells, never
    recomputed), the rest from the indicator module's values; each cell names its
    indicator."""
    def row(key: str, label: str, source: Table, row_key: str) -> Row:
        cells = source.row(row_key).cells
        return Row(key, label, {k: cells[k] for k in
                                ("count", "rate", "previous", "change", "city_rate")})

    na = Cell(NOT_AVAILABLE)

    def single(key: str, label: str, cell: Cell) -> Row:
        return Row(key, label, {"count": cell, "rate": na, "previous": na, "change": na,
                                "city_rate": na})

    texts = values.texts(ctx.threshold, ctx.threshold)
    rows = [
        row("alla", "Alla händelser", groups, "alla"),
        row("vald", "Våld och hot", groups, "vald"),
        row("strategiska", "Strategiska brott", strategic, "strategiska"),
        row("kvinnor", "Händelser med kvinna/flicka som brottsoffer", gender, "kvinna"),
        single("kansliga", "Sexualbrott och våld i nära relation",
               Cell(texts["sensitive"], float(values.sensitive)
                    if texts["sensitive"] == format_int(values.sensitive) else None)),
        single("oppna_fynd", "Öppna fynd från trygghetsvandringar",
               findings.by_category.cell("totalt", "oppna")),
        single("median", "Mediantid till åtgärd (dagar)", findings.median_days),
        single("platser", "Aktiva platssamverkansplatser",
               Cell(format_int(values.active_sites), float(values.active_sites))),
    ]
    for r in rows:
        for column, code in SUMMARY_FIGURES.get(r.key, {}).items():
            r.cells[column] = replace(r.cells[column], figure=code)
    return Table("summary", "Nyckeltal", "Indikator", groups.columns, rows)


def highlights(ctx: BriefContext, summary: Table, victims: Table, oldest: Table,
                places: list[PriorityPlace]) -> list[str]:
    """A few plain sentences from shown figures only."""
    out = []
    total = summary.row("alla").cells
    if total["city_rate"].value == 0:
        # nothing anywhere in the city: the period lies outside the loaded data, and
        # zeros would read as a fact about the district
        out.append(f"Databasen har inga händelser alls för {ctx.period.label} i hela staden: "
                   "perioden ligger utanför de inlästa uppgifterna, så nyckeltalen för "
                   "händelser säger inget om läget.")
    elif total["count"].value is not None:
        text = (f"Under {ctx.period.label} registrerades {total['count'].text} händelser i "
                f"{ctx.area.name}")
        if total["rate"].value is not None:
            text += f", {total['rate'].text} per 1 000 invånare"
            city = total["city_rate"].value
            if city is not None:
                word = "högre än" if total["rate"].value > city * 1.05 else (
                    "lägre än" if total["rate"].value < city * 0.95 else "ungefär som")
                text += f" ({word} staden som helhet, {total['city_rate'].text})"
        out.append(text + ".")
    change = total["change"]
    if change.value is not None and total["city_rate"].value != 0:
        word = "fler" if change.value > 0 else "färre"
        if round(change.value) == 0:
            out.append(f"Antalet är oförändrat jämfört med {ctx.comparison.label}.")
        else:
            out.append(f"Det är {format_int(abs(round(change.value)))} % {word} än under "
                       f"{ctx.comparison.label}.")
    elif (change.value is None and total["previous"].value is not None
          and total["count"].value is not None and total["city_rate"].value != 0):
        out.append(f"Under {ctx.comparison.label} registrerades {total['previous'].text} "
                   "händelser; förändringen anges inte i procent när någon av perioderna har "
                   f"färre än {CHANGE_MIN_COUNT}.")
    women = victims.row("summa").cells
    if women["kvinna"].value:
        text = f"{women['kvinna'].text} händelser hade en kvinna eller flicka som brottsoffer"
        if women["share_women"].value is not None:
            text += f" ({women['share_women'].text} av händelserna med känt kön)"
        out.append(text + ".")
    if oldest.rows:
        first = oldest.rows[0]
        out.append(f"Det äldsta öppna fyndet från en trygghetsvandring har varit öppet i "
                   f"{first.cells['days_open'].text} dagar ({first.cells['category'].text.lower()}"
                   f", {first.label}).")
    if places:
        out.append(f"Högst prioriterad plats: {places[0].name}.")
    return out


# --- the EST action plan -----------------------------------------------------------------


def division_notes(ctx: BriefContext) -> None:
    change = dt.date.fromisoformat(DIVISION_CHANGE)
    looked_at = [ctx.period, ctx.comparison, *trend_periods(ctx.period)]
    names = {a.code: a.name for a in ctx.data.areas}
    area = ctx.area
    if area.parts and any(p.start < change for p in looked_at):
        parts = " och ".join(names.get(c, c) for c in area.parts)
        ctx.note(f"{area.name} bildades {DIVISION_CHANGE} av {parts}. För tiden före "
                 f"{DIVISION_CHANGE} är siffrorna för {area.name} summan av {parts}.")
    if area.parent and any(p.end >= change for p in looked_at):
        ctx.note(f"{area.name} ingår sedan {DIVISION_CHANGE} i {names.get(area.parent)}. "
                 f"För tiden därefter räknas händelserna i {area.name}s stadsdelar.")


def population_notes(ctx: BriefContext, pop_year: int | None, city_years: set[int]) -> None:
    year = year_of(ctx.period)
    if ctx.population is None:
        ctx.note(f"Folkmängd saknas för {ctx.area.name}; därför visas antal men inga tal per "
                 "1 000 invånare.")
    elif pop_year != year:
        ctx.note(f"Folkmängd den 31 december {pop_year} (närmaste år med uppgift; perioden "
                 f"gäller {year}).")
    else:
        ctx.note(f"Folkmängd den 31 december {pop_year}.")
    if city_years and city_years != {year}:
        used = ", ".join(str(y) for y in sorted(city_years))
        ctx.note(f"Stadens genomsnitt räknas mot folkmängden {used} (närmaste år med uppgift).")


def method_notes(threshold: int = SUPPRESS_BELOW) -> list[str]:
    """The paragraphs of "Om underlaget" that are the same in every brief."""
    strategic = ", ".join(_CATEGORY[c].label for c in STRATEGIC_CODES)
    return [
        "Lägesbilden har samma indikatorer för alla stadsdelsområden, så att staden kan "
        "jämföra dem. Händelser räknas per 1 000 invånare under perioden (inte omräknat till "
        "helår). Stadens genomsnitt är alla händelser i staden delat med stadens folkmängd.",
        "Förändringen jämförs med samma period året innan, så att årstiden inte påverkar. "
        f"Den anges i procent bara när båda perioderna har minst {CHANGE_MIN_COUNT} "
        "händelser; annars visas de två antalen (till exempel 5 → 11), eftersom några få "
        "händelser hit eller dit ger stora procenttal.",
        "Fynd från trygghetsvandringar och platssamverkan redovisas som läget var vid "
        "periodens slut (för en pågående period: den dag lägesbilden togs fram): öppna fynd "
        "är fynd gjorda senast då med status ny eller tilldelad enligt fyndens "
        "statushistorik, dagar öppet räknas till periodens slut och mediantiden till åtgärd "
        "gäller fynd som åtgärdades under perioden. Platser som startat efter periodens slut "
        "tas inte med; registret har inget slutdatum, så en plats som avslutats senare visas "
        "som avslutad. Samma lägesbild ger därför samma siffror när den tas fram igen.",
        f"Strategiska brott enligt stadens trygghetsprogram: {strategic}.",
        f"Små tal skyddas: antal mellan 1 och {threshold - 1} visas som <{threshold}. Tal som "
        "beräknas ur ett dolt antal (per 1 000 invånare, förändring, andel) visas som "
        f"{HIDDEN}. Skyddet gäller hela lägesbilden: fler tal döljs (som {HIDDEN}) tills "
        "inget dolt tal kan räknas fram ur summor och skillnader mellan de visade talen, "
        "i samma tabell eller mellan tabeller och diagram. Nyckeltal som också visas på "
        "andra sidor döljs sist. "
        "Fynd från trygghetsvandringar beskriver platser, inte personer, och visas exakt.",
        "Händelser och fynd hör till det stadsdelsområde som gällde på händelsedagen "
        f"(indelningen ändrades {DIVISION_CHANGE}).",
    ]
