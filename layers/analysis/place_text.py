"""Priority places in plain Swedish: what happens there, when, and what is done.

A planner reads a priority place as a story, not as statistics. Each place of
:mod:`layers.analysis.priority` therefore gets

* a **first sentence** in plain words: how many incidents of the counted
  categories (:func:`layers.core.privacy.counted_categories` for "all categories": the
  sensitive ones never, and counts 1–4 written "färre än 5"), the main categories,
  and the weekdays and hours when they happen ("mest fredag–lördag kväll, kl.
  20–02");
* further **plain sentences**: how the place has developed (the emerging hot spot
  pattern of :mod:`layers.analysis.emerging` in everyday words, the change against the year
  before, how much denser than the district), open findings from
  trygghetsvandringar, and platssamverkan;
* the **statistics** second (Gi*, FDR, the pattern's technical name), each with
  what it means for a planner.

:func:`explain` joins them into the place's text ("Nr 1, Namn: …").

The first sentence and the plain sentences use none of the statistical words of
:data:`STATISTICAL_TERMS`; ``tests/test_priority_text.py`` checks every place of
the demo store. No Flask here: the web layer adds the links.

Times: a night belongs to the evening before (an incident at 01:30 on a Saturday
counts as Friday evening), so "fredag–lördag kväll, kl. 20–02" reads as people say it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from layers.analysis.emerging import BY_CODE
from layers.core.privacy import DEFAULT_SUPPRESS_BELOW
from layers.core.schema import INCIDENT_CATEGORIES, LOCAL_TZ

if TYPE_CHECKING:
    from layers.analysis.priority.result import Place
    from layers.core.periods import Period

#: Words a planner should not meet before the "Statistik" part (case-insensitive;
#: ``z`` as a word of its own).
STATISTICAL_TERMS = ("Gi*", "Getis", "z", "z-värde", "FDR", "signifikant", "poäng",
                     "p-värde", "q-värde", "KDE", "PAI", "Mann-Kendall", "hot spot",
                     "cold spot", "hotspot", "z-score", "Benjamini")

#: Timed incidents a place needs before its hours and weekdays are described.
MIN_TIMED = 10
#: Share of a place's incidents the named hours (weekdays) must hold.
TIME_SHARE = 0.5
#: The longest hour window that still counts as "mostly then".
MAX_HOURS = 8
#: The most weekdays that still count as "mostly then".
MAX_DAYS = 3
#: A neighbouring hour (weekday) joins the window when it holds this share of the
#: window's mean: the window then shows the whole busy time, not only its core.
BUSY_SHARE = 0.5
#: Hours a night is moved back, so that it belongs to the evening before.
NIGHT_SHIFT_HOURS = 6
#: Categories named in the first sentence at most.
MAX_CATEGORIES = 3
#: Share of the counted incidents the named categories should cover.
CATEGORY_SHARE = 0.6

#: What the first sentence says when the times show no pattern.
NO_TIME_PATTERN = "utan tydlig tid på dygnet eller veckan"

WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}

#: The emerging hot spot patterns in a planner's words (codes of layers.analysis.emerging).
PATTERN_WORDS: Mapping[str, str] = {
    "new_hot": "nytt – här har det först den senaste månaden varit klart fler händelser "
               "än runt omkring",
    "intensifying_hot": "blir värre – klart fler händelser än runt omkring nästan varje "
                        "månad, och skillnaden växer",
    "consecutive_hot": "nytt sedan några månader – klart fler händelser än runt omkring "
                       "de senaste månaderna i rad, inte tidigare",
    "persistent_hot": "ett bestående problem – klart fler händelser än runt omkring nästan "
                      "varje månad, utan att det blir bättre eller sämre",
    "sporadic_hot": "återkommande – klart fler händelser än runt omkring vissa månader, "
                    "andra inte",
    "oscillating_hot": "växlande – nu klart fler händelser än runt omkring, men tidigare "
                       "månader färre",
    "diminishing_hot": "på väg att bli bättre – klart fler händelser än runt omkring nästan "
                       "varje månad, men skillnaden minskar",
    "historical_hot": "bättre än förut – tidigare klart fler händelser än runt omkring, "
                      "men inte den senaste månaden",
    "new_cold": "lugnare än runt omkring den senaste månaden, inte tidigare",
    "intensifying_cold": "allt lugnare än runt omkring",
    "consecutive_cold": "lugnare än runt omkring de senaste månaderna i rad",
    "persistent_cold": "lugnare än runt omkring nästan varje månad",
    "sporadic_cold": "lugnare än runt omkring vissa månader, andra inte",
    "oscillating_cold": "nu lugnare än runt omkring, men tidigare månader oroligare",
    "diminishing_cold": "lugnare än runt omkring, men skillnaden minskar",
    "historical_cold": "tidigare lugnare än runt omkring, inte längre",
    "none": "inget tydligt mönster – varken stadigt fler eller färre händelser än runt "
            "omkring",
}

_COMPARED = {"tertial": "samma tertial förra året", "month": "samma månad förra året",
             "year": "året före", "range": "samma period förra året"}


@dataclass(frozen=True)
class TimePattern:
    """When a place's incidents mostly happen; ``None`` parts have no clear pattern."""

    #: First and last weekday (0 = Monday) of the run, after the night shift.
    days: tuple[int, int] | None
    #: First hour and the hour after the last (20, 2 for 20:00–01:59).
    hours: tuple[int, int] | None
    #: Incidents with a known time the pattern was read from.
    n: int

    def phrase(self) -> str | None:
        """"mest fredag–lördag kväll, kl. 20–02"; "utan tydlig tid …" without a
        pattern; None when too few incidents have a known time to tell."""
        if self.n < MIN_TIMED:
            return None
        if self.days is None and self.hours is None:
            return NO_TIME_PATTERN
        words = []
        if self.days is not None:
            first, last = self.days
            words.append(WEEKDAYS[first] if first == last
                         else f"{WEEKDAYS[first]}–{WEEKDAYS[last]}")
        if self.hours is not None:
            start, end = self.hours
            words.append(f"{part_of_day(start, end)}, kl. {start:02d}–{end:02d}")
        return "mest " + " ".join(words)


#: The part of the day each hour belongs to (an hour after midnight is still evening).
_PARTS = (("kväll", range(0, 2)), ("natt", range(2, 6)), ("morgon", range(6, 10)),
          ("förmiddag", range(10, 12)), ("eftermiddag", range(12, 17)),
          ("kväll", range(17, 24)))


def _part(hour: int) -> str:
    return next(word for word, hours in _PARTS if hour % 24 in hours)


def part_of_day(start: int, end: int) -> str:
    """The Swedish part of the day of the hour window ``start``–``end`` (end
    exclusive): "kväll" for 20–02, "eftermiddag–kväll" for 14–22, "dagtid" for 10–17."""
    first, last = _part(start), _part(end - 1)
    if first == last:
        return first
    if (first, last) == ("förmiddag", "eftermiddag"):
        return "dagtid"
    return f"{first}–{last}"


def _shortest_window(counts: np.ndarray, share: float) -> tuple[int, int] | None:
    """(start, length) of the shortest cyclic window holding ``share`` of ``counts``;
    ties: the one holding most, then the earliest."""
    total = float(counts.sum())
    if total <= 0:
        return None
    n = len(counts)
    doubled = np.concatenate([counts, counts]).astype(float)
    cumulative = np.concatenate([[0.0], np.cumsum(doubled)])
    for length in range(1, n + 1):
        sums = cumulative[length:length + n] - cumulative[:n]
        best = int(np.argmax(sums))
        if sums[best] >= share * total - 1e-9:
            return best, length
    return 0, n


def _widen(counts: np.ndarray, start: int, length: int, limit: int) -> tuple[int, int]:
    """Widen a window by the neighbouring steps that are still busy (at least
    :data:`BUSY_SHARE` of the window's mean), as long as it stays within ``limit``;
    a window that would grow past ``limit`` stays as it was."""
    n = len(counts)
    mean = float(sum(counts[(start + i) % n] for i in range(length))) / length
    first, size = start, length
    while size < n:
        before, after = counts[(first - 1) % n], counts[(first + size) % n]
        if max(before, after) < BUSY_SHARE * mean:
            break
        if after >= before:
            size += 1
        else:
            first, size = (first - 1) % n, size + 1
    return (first, size) if size <= limit else (start, length)


def time_pattern(times: Iterable[object]) -> TimePattern:
    """When incidents mostly happen: the shortest run of weekdays and of hours that
    holds :data:`TIME_SHARE` of them, if short enough (:data:`MAX_DAYS`,
    :data:`MAX_HOURS`), widened by the busy steps next to it (:data:`BUSY_SHARE`).
    Times at exactly midnight are taken as unknown. A datetime array or Series (the
    store's column) is converted as a whole, anything else value by value."""
    dtype = getattr(times, "dtype", None)
    if dtype is not None and pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.to_datetime(pd.Series(times).reset_index(drop=True), utc=True)
    else:
        stamps = pd.to_datetime(pd.Series(list(times), dtype=object), utc=True,
                                errors="coerce")
    stamps = stamps.dropna().dt.tz_convert(LOCAL_TZ)
    stamps = stamps[~((stamps.dt.hour == 0) & (stamps.dt.minute == 0)
                      & (stamps.dt.second == 0))]
    n = len(stamps)
    if n < MIN_TIMED:
        return TimePattern(None, None, n)
    hours = np.bincount(stamps.dt.hour.to_numpy(), minlength=24)
    shifted = stamps - pd.Timedelta(hours=NIGHT_SHIFT_HOURS)
    days = np.bincount(shifted.dt.weekday.to_numpy(), minlength=7)
    hour_window = _shortest_window(hours, TIME_SHARE)
    day_window = _shortest_window(days, TIME_SHARE)
    hour_part = None
    if hour_window and hour_window[1] <= MAX_HOURS:
        start, length = _widen(hours, *hour_window, MAX_HOURS)
        hour_part = (start, (start + length) % 24)
    day_part = None
    if day_window and day_window[1] <= MAX_DAYS:
        start, length = _widen(days, *day_window, MAX_DAYS)
        day_part = (start, (start + length - 1) % 7)
    return TimePattern(day_part, hour_part, n)


def count_text(count: int, below: int = DEFAULT_SUPPRESS_BELOW) -> str:
    """A count as every role may read it: "färre än 5" for 1 to ``below``−1."""
    count = int(count)
    if 0 < count < below:
        return f"färre än {below}"
    return f"{count}".replace(",", " ")


def main_categories(categories: Mapping[str, int], *, limit: int = MAX_CATEGORIES,
                    share: float = CATEGORY_SHARE) -> list[tuple[str, int]]:
    """The largest counted categories, fewest that cover ``share`` (at most ``limit``).

    ``categories`` holds non-sensitive codes only (:attr:`Place.categories`).
    """
    ranked = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(v for _, v in ranked)
    out, covered = [], 0
    for code, n in ranked[:limit]:
        if n <= 0:
            break
        out.append((code, n))
        covered += n
        if covered >= share * total:
            break
    return out


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " och " + words[-1]


def category_phrase(categories: Mapping[str, int]) -> str:
    """"främst stöld (23) och skadegörelse (12)"; small counts get no number."""
    named = []
    for code, n in main_categories(categories):
        label = _LABELS.get(code, code).lower()
        named.append(f"{label} ({n})" if n >= DEFAULT_SUPPRESS_BELOW else label)
    return f"främst {_join(named)}" if named else ""


def first_sentence(place: Place, period: Period) -> str:
    """The plain first sentence of a place: what happens and when (no statistics)."""
    counted = place.counted
    what = f"{count_text(counted)} {'händelse' if counted == 1 else 'händelser'} " \
           f"under {period.label}"
    parts = [what]
    cats = category_phrase(place.categories)
    if cats:
        parts.append(cats)
    if place.time_phrase:
        parts.append(place.time_phrase)
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] + "."


def plain_sentences(place: Place, period: Period, previous_known: bool) -> list[str]:
    """The plain sentences after the first: development, findings, platssamverkan."""
    out = []
    development = []
    if place.trend_class:
        words = PATTERN_WORDS.get(place.trend_class, BY_CODE[place.trend_class].phrase)
        development.append(f"de senaste {place.trend_months} månaderna: {words}")
    compared = _COMPARED.get(period.kind, "samma period förra året")
    if not previous_known:
        development.append(f"ingen jämförelse med {compared} (data saknas)")
    elif place.rise is None:
        development.append(f"för få händelser {compared} för att jämföra")
    else:
        development.append(_rise_words(place.rise, compared))
    if place.density_ratio is not None and place.density_ratio >= 1.5:
        development.append(f"ungefär {_times(place.density_ratio)} så många händelser per "
                           "ytenhet som i stadsdelsområdet i snitt")
    text = "; ".join(development)
    out.append("Utveckling: " + text + ".")
    if place.open_findings:
        n = place.open_findings
        text = (f"{n} {'öppet fynd' if n == 1 else 'öppna fynd'} från trygghetsvandringar "
                "här")
        if place.finding_categories:
            text += f" ({_join([c.lower() for c in place.finding_categories])})"
        if place.severe_findings:
            s = place.severe_findings
            text += f", varav {s} {'allvarligt' if s == 1 else 'allvarliga'}"
        out.append(text + ".")
    else:
        out.append("Inga öppna fynd från trygghetsvandringar här.")
    status = place.site_status
    if place.site and status == "aktiv":
        out.append(f"Platssamverkan pågår: {place.site}.")
    elif place.site and status == "planerad":
        out.append(f"Platssamverkan är planerad ({place.site}) men har inte börjat.")
    elif place.site and status == "avslutad":
        out.append(f"Platssamverkan har funnits ({place.site}) men är avslutad.")
    elif place.near_site:
        name, _, metres = place.near_site
        out.append(f"Ingen platssamverkan här; närmast är {name}, cirka {metres} m bort.")
    else:
        out.append("Ingen platssamverkan här ännu.")
    return out


def _rise_words(rise: float, compared: str) -> str:
    pct = round(100 * rise)
    if pct >= 5:
        return f"{pct} % fler händelser än {compared}"
    if pct <= -5:
        return f"{-pct} % färre händelser än {compared}"
    return f"ungefär lika många händelser som {compared}"


def _times(ratio: float) -> str:
    if ratio < 10:
        value = f"{ratio:.1f}".replace(".", ",").replace(",0", "")
    else:
        value = f"{round(ratio)}"
    return f"{value} gånger"


def statistics_text(place: Place, alpha: float) -> str:
    """The statistics of a place, each with what it means for a planner."""
    z = f"{place.z_max:.1f}".replace(".", ",").replace("-", "−")
    pct = f"{alpha * 100:.0f}"
    if place.significant:
        test = (f"Klustringstest (Getis-Ord Gi*): z = {z}. Händelserna samlas här mer än "
                "slumpen kan förklara, även när man räknar med att alla rutor i staden "
                f"prövas samtidigt (signifikant efter FDR-korrektion, {pct} %).")
    else:
        test = (f"Klustringstest (Getis-Ord Gi*): z = {z}, inte signifikant efter "
                f"FDR-korrektion ({pct} %): platsen är med för sitt antal händelser, inte "
                "för att de samlas tydligare än slumpen ger.")
    out = [test]
    if place.trend_class:
        label = BY_CODE[place.trend_class].label
        out.append(f"Mönster över {place.trend_months} månader (Emerging Hot Spot "
                   f"Analysis, Gi* per månad och Mann-Kendalls trendtest): {label}.")
    out.append("Rangordningens poäng är antalet händelser viktade efter kategori "
               "(strategiska brott väger mer), med små tillägg för klustring, öppna fynd och "
               "ökning och ett litet avdrag där platssamverkan pågår.")
    return " ".join(out)


# --- the whole explanation, and numbers in the CLI's table --------------------------


def sv_number(value: float, decimals: int = 1) -> str:
    """A number the Swedish way: decimal comma, minus sign (−)."""
    text = f"{abs(value):.{decimals}f}".replace(".", ",")
    return f"−{text}" if value < 0 and float(text.replace(",", ".")) != 0 else text


def trend_text(rise: float) -> str:
    """A relative change as Swedish text: "+40 %", "−12 %", "±0 %"."""
    pct = round(100 * rise)
    sign = "+" if pct > 0 else "−" if pct < 0 else "±"
    return f"{sign}{abs(pct)} %"


def explain(place: Place, period: Period, previous_known: bool, alpha: float = 0.05) -> str:
    """The Swedish explanation of a place: plain words first, then the statistics.

    Sets ``first_sentence``, ``plain`` and ``statistics`` of ``place`` (see
    :func:`first_sentence`, :func:`plain_sentences`, :func:`statistics_text`) and
    returns them as one text, "Nr 1, Namn: …".
    """
    place.first_sentence = first_sentence(place, period)
    place.plain = plain_sentences(place, period, previous_known)
    place.statistics = statistics_text(place, alpha)
    return (f"Nr {place.rank}, {place.name}: {place.first_sentence} " + " ".join(place.plain)
            + f" Statistik: {place.statistics}")


__all__ = [
    "PATTERN_WORDS",
    "STATISTICAL_TERMS",
    "TimePattern",
    "category_phrase",
    "count_text",
    "explain",
    "first_sentence",
    "main_categories",
    "part_of_day",
    "plain_sentences",
    "statistics_text",
    "sv_number",
    "time_pattern",
    "trend_text",
]
