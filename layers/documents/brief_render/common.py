"""What every renderer of the brief shares: the draft marks, the pictures (drawn once)
with their Swedish descriptions, and the sentence on the median time to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.core.periods import Period
from layers.documents.brief import Brief
from layers.documents.brief_render import figures

#: The word on every page of a draft, and the note on its first page.
DRAFT_MARK = "UTKAST"
DRAFT_NOTE = f"{DRAFT_MARK} – analysavsnitten är inte skrivna ännu"
#: What an analysis section nobody has written says, and where to write it.
EMPTY_TEXT = "Ej ifylld (utkast)"
WRITE_HINT = ("Förvaltningen skriver texten i Trygghetskartan under Lägesbilder → Skriv "
              "analys")
#: What an empty analysis section of the editable document (DOCX) says.
PLACEHOLDER = f"{EMPTY_TEXT}. {WRITE_HINT}, eller direkt här i dokumentet."


def draft_text(brief: Brief) -> str:
    """The first page's draft note with the sections still missing ("" when none)."""
    missing = brief.missing_texts
    if not missing:
        return ""
    return (f"{DRAFT_NOTE}. Ej ifyllda: {', '.join(missing)}. Lägesbilden är inte klar att "
            "lämnas till nämnden förrän alla tre avsnitten är skrivna.")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _span(periods: list[Period]) -> str:
    return f"{periods[0].short_label} till {periods[-1].short_label}" if periods else ""


def describe_pictures(brief: Brief) -> dict[str, str]:
    """A Swedish description of each picture, for people who cannot see it: what it
    shows and where its figures are in writing (``alt`` and ``descr``)."""
    places = _count(len(brief.place_list), "prioriterad plats", "prioriterade platser")
    n_sites = len(brief.map.sites)
    sites = _count(n_sites, "platssamverkansplats", "platssamverkansplatser")
    out = {"map": (f"Karta över {brief.area.name} med prioriterade platser och "
                   f"platssamverkansplatser: stadsdelarnas gränser, {places} (numrerade "
                   f"som i tabellen Prioriterade platser) och {sites}.")}
    periods = [p.period for p in brief.trend_points]
    unit = "per 1 000 invånare" if brief.population is not None else "antal"
    last = brief.trend.rows[-1].cells if brief.trend.rows else {}
    latest = ""
    if last and brief.population is not None and last["rate"].value is not None:
        latest = (f" Senaste perioden: {last['rate'].text} per 1 000 invånare i "
                  f"{brief.area.name}, {last['city_rate'].text} i staden.")
    out["trend"] = (f"Linjediagram: alla händelser {unit} i {brief.area.name} per period "
                    f"från {_span(periods)}, jämfört med staden, och per kategorigrupp."
                    f"{latest} Siffrorna finns i tabellen Händelser per period.")
    if brief.site_series:
        names = ", ".join(s.name for s in brief.site_series)
        shown = periods[-len(brief.site_series[0].counts):]
        n = _count(len(brief.site_series), "platssamverkansplats", "platssamverkansplatser")
        out["sites"] = (f"Linjediagram: antal händelser per period vid {n} "
                        f"({names}) från {_span(shown)}. Siffrorna finns i tabellen Händelser "
                        "per period vid platserna.")
    return out


@dataclass(frozen=True)
class Pictures:
    """The brief's pictures as PNG bytes (``sites`` None when there are no sites)."""

    map: bytes
    trend: bytes
    sites: bytes | None


def draw_pictures(brief: Brief) -> Pictures:
    """Draw the map and charts once; every format uses the same PNGs."""
    return Pictures(map=figures.district_map(brief), trend=figures.trend_chart(brief),
                    sites=figures.sites_chart(brief))


def median_text(brief: Brief) -> str:
    """The sentence part on the median time to fix, the same in every format."""
    median = brief.findings.median_days
    if median.value is None:
        return "uppgift saknas (inget fynd i området har åtgärdats med datum)"
    return f"{median.text} dagar"
