"""The indicators' definitions: code, Swedish name and Swedish definition of every figure,
the rules they share (comparison, minimum counts, the site ring) and ``docs/indicators.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A change is given in per cent only when both counts reach this; below it a per cent
#: swings wildly on a handful of events (5 -> 11 is "+120 %"), so the two counts are
#: shown instead ("5 → 11").
CHANGE_MIN_COUNT = 20
#: Width of the ring around a platssamverkan site (metres).
SITE_RING_M = 300.0
#: Segments per quarter circle of the ring's round corners (as shapely's ``buffer``).
QUAD_SEGS = 16

#: The weekly lägesbild compares a week with the same ISO week of the year before and
#: this many weeks on either side of it (the weekly average over 2 × span + 1 weeks).
WEEK_SPAN = 1

#: The comparison rule, as pages and briefs state it.
COMPARISON_RULE = "Jämförelsen görs alltid med samma period året innan."


@dataclass(frozen=True)
class Indicator:
    """One indicator: code, Swedish name and one-sentence Swedish definition."""

    code: str
    name: str
    definition: str


_AS_OF = ("läget vid periodens slut (för en pågående period: i dag), enligt fyndens "
          "statushistorik")
INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    Indicator("incidents", "Händelser",
              "Antal händelser med brottsdatum under perioden i stadsdelsområdet (också de "
              "som bara är kända på stadsdelsnivå), utom sexualbrott och våld i nära "
              "relation; jämförs med samma period året innan."),
    Indicator("rate", "Händelser per 1 000 invånare",
              "Händelser under perioden delat med folkmängden den 31 december (närmaste år "
              "med uppgift) gånger 1 000, inte omräknat till helår."),
    Indicator("city_rate", "Staden, per 1 000 invånare",
              "Alla händelser i staden under perioden (utom sexualbrott och våld i nära "
              "relation) delat med summan av stadsdelsområdenas folkmängd gånger 1 000."),
    Indicator("comparison", "Händelser samma period året innan",
              "Antal händelser i stadsdelsområdet under samma period ett år tidigare, "
              "räknat på samma sätt."),
    Indicator("change", "Förändring",
              "Förändring mot samma period året innan i procent, bara när båda perioderna "
              f"har minst {CHANGE_MIN_COUNT} händelser; annars visas de två antalen "
              "(till exempel 5 → 11)."),
    Indicator("previous", "Händelser föregående period",
              "Antal händelser i stadsdelsområdet under perioden närmast före (föregående "
              "tertial, månad eller år); används inte för förändringen."),
    Indicator("strategic", "Strategiska brott",
              "Antal rån, tillgrepp av motorfordon, narkotikabrott, våld/hot mot tjänsteman "
              "och övergrepp i rättssak under perioden i stadsdelsområdet."),
    Indicator("sensitive", "Sexualbrott och våld i nära relation",
              "Antal sexualbrott och fall av våld i nära relation under perioden i "
              "stadsdelsområdet, redovisat bara här och aldrig i andra summor; under 5 "
              "visas <5."),
    Indicator("victims_women", "Kvinna/flicka som brottsoffer",
              "Antal händelser under perioden i stadsdelsområdet där brottsoffret är "
              "registrerat som kvinna eller flicka (utom sexualbrott och våld i nära "
              "relation)."),
    Indicator("victims_men", "Man/pojke som brottsoffer",
              "Antal händelser under perioden i stadsdelsområdet där brottsoffret är "
              "registrerat som man eller pojke (utom sexualbrott och våld i nära relation)."),
    Indicator("open_findings", "Öppna fynd",
              "Fynd från trygghetsvandringar i stadsdelsområdet, registrerade senast vid "
              f"periodens slut och med status ny eller tilldelad då ({_AS_OF})."),
    Indicator("median_days_to_fix", "Mediantid till åtgärd (dagar)",
              "Median av dagar från fynd till åtgärd, för fynd i stadsdelsområdet som "
              "åtgärdades under perioden (– = inga)."),
    Indicator("within_target", "Åtgärdade inom utlovad tid",
              "Andel av fynden med en utlovad åtgärdstid (till exempel klotter: 24 timmar) "
              "som åtgärdades under perioden och där tiden från fynd till åtgärd var högst "
              "den utlovade; bara fynd som åtgärdades under perioden räknas (– = inga)."),
    Indicator("overdue", "Försenade fynd",
              "Fynd med en utlovad åtgärdstid som vid periodens slut hade varit öppna (ny "
              f"eller tilldelad) längre än den utlovade tiden ({_AS_OF}); åldern räknas "
              "från fyndet till periodens slut."),
    Indicator("active_sites", "Aktiva platssamverkansplatser",
              "Platser med platssamverkan i stadsdelsområdet som startat senast vid "
              "periodens slut och har status aktiv i registret (det har inget slutdatum)."),
    Indicator("site_inside", "Händelser i platsen",
              "Händelser under perioden inom platsens yta (en punkt på gränsen räknas till "
              "platsen), bara händelser med känd adress eller gata, utom sexualbrott och "
              "våld i nära relation."),
    Indicator("site_ring", f"Händelser i ringen ({SITE_RING_M:.0f} m)",
              f"Händelser under perioden inom {SITE_RING_M:.0f} m från platsens gräns men "
              "utanför platsen, räknade som i platsen."),
    Indicator("week_incidents", "Händelser förra veckan",
              "Antal händelser med brottsdatum under ISO-veckan (måndag–söndag, svensk "
              "tid) i stadsdelsområdet, utom sexualbrott och våld i nära relation."),
    Indicator("week_average", "Veckosnitt året innan",
              f"Genomsnittligt antal händelser per vecka under de {WEEK_SPAN * 2 + 1} "
              "ISO-veckorna med samma veckonummer och veckorna närmast före och efter, "
              "året innan, räknat på samma sätt."),
)}
#: The indicators of a district's key figures, in the order pages show them.
AREA_CODES = ("incidents", "rate", "city_rate", "comparison", "change", "previous",
              "strategic", "sensitive", "victims_women", "victims_men", "open_findings",
              "median_days_to_fix", "active_sites")


def definition(code: str) -> str:
    """The Swedish definition of indicator ``code`` (for a tooltip or a footnote)."""
    return INDICATORS[code].definition


def definitions_markdown() -> str:
    """``docs/indicators.md``: every indicator with its definition, and the rules."""
    lines = ["# Indikatorer", "",
             "Genererad från `layers/indicators/` (testet `tests/test_indicators_consistency"
             ".py` kontrollerar att filen stämmer). Samma definitioner visas som verktygstips "
             "på sidorna och i lägesbildens bilaga Definitioner.", "",
             f"- {COMPARISON_RULE} Förändring i procent bara när båda perioderna har minst "
             f"{CHANGE_MIN_COUNT} händelser.",
             "- Öppna fynd, dagar öppet och platsernas status: läget vid periodens slut.",
             "- Små tal: 1–4 visas som <5 för besökare och läsare; tal beräknade ur dem som ..",
             "- Lägesbilder och /stad skyddas som helhet: fler tal döljs (..) tills inget dolt "
             "tal kan räknas fram ur andra tal i samma dokument; nyckeltalen döljs sist "
             "(se docs/privacy.md). Där visas ett nyckeltal alltså ibland som .. fast sidan "
             "för området visar det.",
             "", "| Kod | Namn | Definition |", "|---|---|---|"]
    lines += [f"| `{i.code}` | {i.name} | {i.definition} |" for i in INDICATORS.values()]
    return "\n".join(lines) + "\n"
