"""The indicators: the one place where each figure of a district and period is defined
and computed, so the map panel, ``/stad``, the site pages, the API and the briefs
(HTML, PDF, DOCX) show the same number for the same thing.

Each :class:`Indicator` has a code (the ``data-figure`` attribute on pages, the key in
``/api/indicators``), a Swedish name and a Swedish definition (what is counted, where,
when, the as-of rule, the comparison rule) that pages show as a tooltip, the brief as a
footnote and in its appendix "Definitioner", and ``docs/indicators.md`` lists
(:func:`definitions_markdown`; a test keeps the file equal to it).

The rules every surface follows:

* **What is counted.** :func:`layers.core.privacy.counted_categories`: the sensitive
  categories are never in a total or a group; they are one indicator of their own per
  stadsdelsområde and period (``sensitive``), suppressed below five for every role that
  does not see them.
* **Comparison.** Always the same period a year earlier (:data:`COMPARISON_RULE`); a
  page that also shows the previous period labels it "föregående tertial".
  A per cent change needs :data:`CHANGE_MIN_COUNT` in both periods, else the two counts.
* **As of the period's end.** Open findings, days open, site statuses are taken as they
  stood when the period ended (or now, for a period not over yet: :func:`as_of_time`).
* **Sites.** The site is its polygon (a point on the edge counts in it); the ring is the
  polygon buffered :data:`SITE_RING_M` metres minus the polygon; only incidents placed to
  the address or street count (:func:`classify`).

No Flask here; the data come from :func:`layers.documents.brief.load_city_data`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core.periods import Period
from layers.core.privacy import (
    ALL_CATEGORY_CODES,
    POINT_PRECISIONS,
    PUBLIC_CATEGORY_CODES,
    suppress,
)
from layers.core.schema import LOCAL_TZ, OPEN_STATUSES, SENSITIVE_CODES, STRATEGIC_CODES

if TYPE_CHECKING:  # the brief's data classes; the brief imports this module
    from layers.documents.brief import Area, CityData

#: A change is given in per cent only when both counts reach this; below it a per cent
#: swings wildly on a handful of events (5 -> 11 is "+120 %"), so the two counts are
#: shown instead ("5 → 11").
CHANGE_MIN_COUNT = 20
#: Width of the ring around a platssamverkan site (metres).
SITE_RING_M = 300.0
#: Segments per quarter circle of the ring's round corners (as shapely's ``buffer``).
QUAD_SEGS = 16

HIDDEN = ".."
NOT_AVAILABLE = "–"
MINUS = "\u2212"
NBSP = "\u00a0"

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
             "Genererad från `layers/indicators.py` (testet `tests/test_indicators_consistency"
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


# --- formatting (Swedish) -------------------------------------------------------------


def format_int(n: int) -> str:
    """Swedish thousands separator (no-break space): 12 574."""
    return f"{int(n):,}".replace(",", NBSP)


def format_decimal(x: float, decimals: int = 1) -> str:
    """A fixed number of decimals with a decimal comma: 7,7."""
    return f"{x:.{decimals}f}".replace(".", ",")


def format_rate(x: float) -> str:
    """A rate with a decimal comma: two decimals below 10, one from 10."""
    return format_decimal(x, 1 if abs(x) >= 10 else 2)


def format_change(pct: float) -> str:
    """A change in per cent with a sign: +12 %, −8 %, ±0 %."""
    n = round(pct)
    if n == 0:
        return f"±0{NBSP}%"
    sign = "+" if n > 0 else MINUS
    return f"{sign}{format_int(abs(n))}{NBSP}%"


def format_days(value: float) -> str:
    """A median number of days: one decimal below 10, whole days from 10."""
    return format_rate(value) if value < 10 else format_int(round(value))


def change_text(before: int | None, after: int | None, below: int | None) -> str:
    """The change from ``before`` to ``after`` as shown everywhere: '–' without a base,
    '..' when a count is hidden, the two counts below :data:`CHANGE_MIN_COUNT`, else
    per cent."""
    if before is None or after is None:
        return NOT_AVAILABLE
    if below and (0 < before < below or 0 < after < below):
        return HIDDEN
    if min(before, after) < CHANGE_MIN_COUNT:
        return f"{format_int(before)}{NBSP}→{NBSP}{format_int(after)}"
    return format_change((after - before) / before * 100)


def count_text(n: int | None, below: int | None) -> str:
    """A count as shown: the number, '<5' below the threshold, '–' without data."""
    if n is None:
        return NOT_AVAILABLE
    value = suppress(n, below)
    return value if isinstance(value, str) else format_int(value)


# --- as of a point in time -------------------------------------------------------------


def _bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = period.bounds()
    return pd.Timestamp(start), pd.Timestamp(end)


def in_period(times: pd.Series, period: Period) -> np.ndarray:
    """Mask of the times that fall in ``period`` (start inclusive, end exclusive)."""
    start, end = _bounds(period)
    return ((times >= start) & (times < end)).to_numpy(dtype=bool)


def as_of_time(period: Period, now: pd.Timestamp) -> pd.Timestamp:
    """The instant findings and sites are taken at: the end of ``period``, or ``now``
    while the period is not over yet."""
    return min(_bounds(period)[1], now)


def last_day(as_of: pd.Timestamp) -> dt.date:
    """The last day included when figures are taken at ``as_of``."""
    return (as_of - pd.Timedelta(microseconds=1)).date()


def findings_as_of(findings: pd.DataFrame, history: pd.DataFrame,
                   when: pd.Timestamp) -> pd.DataFrame:
    """The findings found before ``when``, with ``status``, ``owner`` and ``fixed_at``
    as they were at ``when``, so a figure for a closed period does not change when a
    finding is fixed or reopened afterwards.

    The status at ``when`` is the ``to_status`` of the finding's last change before
    ``when`` in ``finding_history``; a finding whose changes all came later has the
    ``from_status`` of its first change, and one without any history row keeps the
    status it has (its creation status: every change writes a history row). The owner
    is the one the last earlier change recorded, else the current one. ``fixed_at`` is
    the time of the last change to åtgärdad before ``when`` (for a finding without
    history its own ``fixed_at``), and empty unless the finding was åtgärdad then.
    """
    if findings.empty:
        return findings
    sel = findings[(findings["found_at"] < when).to_numpy()].copy()
    status = sel["status"].fillna("ny").astype(object)
    owner = sel["owner"].astype(object)
    fixed = sel["fixed_at"]
    ids = sel["id"]
    changes = history[history["finding_id"].isin(ids)] if not history.empty else history
    if not changes.empty:
        changes = changes.sort_values(["changed_at", "id"], kind="stable")
        first = changes.groupby("finding_id").head(1).set_index("finding_id")
        before = changes[(changes["changed_at"] < when).to_numpy()]
        last = before.groupby("finding_id").tail(1).set_index("finding_id")
        created = ids.map(first["from_status"])
        status = created.where(created.notna(), status)
        at_when = ids.map(last["to_status"])
        status = at_when.where(at_when.notna(), status)
        owner_then = ids.map(last["owner"])
        owner = owner_then.where(owner_then.notna(), owner)
        fixes = before[(before["to_status"] == "atgardad").to_numpy()]
        # reindex, not map: Series.map with a tz-aware datetime mapper and a missing
        # key fails in pandas ("Cannot cast DatetimeArray to dtype float64")
        latest_fix = fixes.groupby("finding_id")["changed_at"].max()
        fixed_then = pd.Series(latest_fix.reindex(ids.to_numpy()).to_numpy(), index=ids.index)
        fixed = fixed_then.where(ids.isin(changes["finding_id"]), fixed)
    sel["status"] = status
    sel["owner"] = owner
    sel["fixed_at"] = pd.to_datetime(fixed, utc=True).dt.tz_convert(LOCAL_TZ).where(
        status == "atgardad")
    return sel


def sites_as_of(sites: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The platssamverkan sites that had started by ``day`` (or have no start date).

    The register keeps a start date but no end date: a site's status (planerad, aktiv,
    avslutad) is the register's current one, so a site ended after ``day`` shows as
    avslutad.
    """
    if sites.empty:
        return sites
    start = pd.to_datetime(sites["start_date"], errors="coerce")
    return sites[(start.isna() | (start <= pd.Timestamp(day))).to_numpy()]


def median_days_to_fix(findings: pd.DataFrame, period: Period) -> float | None:
    """Median days from finding to fix over findings fixed within ``period`` (None: none)."""
    from layers.domain.findings import days_to_fix

    if findings.empty:
        return None
    start, end = _bounds(period)
    fixed = ((findings["fixed_at"] >= start) & (findings["fixed_at"] < end)).to_numpy()
    days = days_to_fix(findings)[fixed].dropna()
    return None if days.empty else float(np.median(days.to_numpy()))


# --- promises (time-to-fix targets) --------------------------------------------------

#: The city's published time-to-fix targets, in hours, per finding category; the source
#: of each is in ``docs/promises.md``. Only klotter has a published city-wide time.
DEFAULT_PROMISES: dict[str, dict[str, float]] = {"klotter": {"*": 24.0}}
#: The key of a category's target for every owner without one of its own.
ANY_OWNER = "*"


def parse_promises(config: object) -> dict[str, dict[str, float]]:
    """Targets from the instance config's ``PROMISES``: category -> hours, or category ->
    {owner or ``*`` -> hours}. None keeps :data:`DEFAULT_PROMISES`.

    Raises ValueError for a target that is not a positive number of hours.
    """
    if config is None:
        return {c: dict(t) for c, t in DEFAULT_PROMISES.items()}
    if not isinstance(config, dict):
        raise ValueError("PROMISES must map a category to hours or to {owner: hours}")
    out: dict[str, dict[str, float]] = {}
    for category, value in config.items():
        per_owner = value if isinstance(value, dict) else {ANY_OWNER: value}
        out[str(category)] = {}
        for owner, hours in per_owner.items():
            if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
                raise ValueError(f"PROMISES[{category!r}][{owner!r}]: {hours!r} is not "
                                 "a positive number of hours")
            out[str(category)][str(owner)] = float(hours)
    return out


def target_hours(findings: pd.DataFrame, promises: dict[str, dict[str, float]]
                 ) -> pd.Series:
    """Each finding's target in hours: its owner's for its category, else the category's
    ``*`` target, else NaN (no promise)."""
    def one(category: object, owner: object) -> float:
        per_owner = promises.get(str(category), {})
        if isinstance(owner, str) and owner in per_owner:
            return per_owner[owner]
        return per_owner.get(ANY_OWNER, np.nan)

    if findings.empty:
        return pd.Series(dtype=float)
    return pd.Series([one(c, o) for c, o in zip(findings["category"], findings["owner"],
                                                 strict=True)],
                     index=findings.index, dtype=float)


def _hours(later: pd.Series | pd.Timestamp, earlier: pd.Series) -> pd.Series:
    return (later - pd.to_datetime(earlier, utc=True)).dt.total_seconds() / 3600


def promise_kept(findings: pd.DataFrame, promises: dict[str, dict[str, float]],
                 period: Period) -> pd.DataFrame:
    """The findings with a target that were fixed within ``period`` (``findings`` as of
    the period's end: :func:`findings_as_of`), with ``target_h``, ``hours_to_fix`` and
    ``within`` (hours to fix at most the target)."""
    columns = [*findings.columns, "target_h", "hours_to_fix", "within"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    start, end = _bounds(period)
    fixed_at = pd.to_datetime(findings["fixed_at"], utc=True)
    fixed = ((findings["status"] == "atgardad") & (fixed_at >= start) & (fixed_at < end))
    target = target_hours(findings, promises)
    sel = findings[(fixed & target.notna()).to_numpy(bool)].copy()
    sel["target_h"] = target[sel.index]
    sel["hours_to_fix"] = _hours(pd.to_datetime(sel["fixed_at"], utc=True), sel["found_at"])
    sel["within"] = sel["hours_to_fix"] <= sel["target_h"]
    return sel


def share_within_target(findings: pd.DataFrame, promises: dict[str, dict[str, float]],
                        period: Period, by: str | None = None) -> pd.DataFrame:
    """Fixed findings with a target, those fixed within it and the share (0–1), in total
    (``by`` None) or per ``by`` (``owner``, ``category`` or ``sdo_code``); columns
    ``key``, ``fixed``, ``within``, ``share``."""
    kept = promise_kept(findings, promises, period)
    if kept.empty:
        return pd.DataFrame(columns=["key", "fixed", "within", "share"])
    keys = kept[by].fillna("").astype(str) if by else pd.Series("", index=kept.index)
    grouped = kept.groupby(keys.to_numpy())["within"].agg(["size", "sum"])
    out = pd.DataFrame({"key": grouped.index.astype(str), "fixed": grouped["size"].astype(int),
                        "within": grouped["sum"].astype(int)}).reset_index(drop=True)
    out["share"] = out["within"] / out["fixed"]
    return out.sort_values("key", kind="stable").reset_index(drop=True)


def overdue(findings: pd.DataFrame, promises: dict[str, dict[str, float]],
            as_of: pd.Timestamp) -> pd.DataFrame:
    """The findings open at ``as_of`` (``findings`` taken as of it: :func:`findings_as_of`)
    for longer than their target, oldest first, with ``target_h`` and ``age_h`` (hours
    from found to ``as_of``)."""
    columns = [*findings.columns, "target_h", "age_h"]
    if findings.empty:
        return pd.DataFrame(columns=columns)
    target = target_hours(findings, promises)
    age = _hours(pd.Timestamp(as_of).tz_convert("UTC"), findings["found_at"])
    late = findings["status"].isin(OPEN_STATUSES) & target.notna() & (age > target)
    sel = findings[late.to_numpy(bool)].copy()
    sel["target_h"] = target[sel.index]
    sel["age_h"] = age[sel.index]
    return sel.sort_values(["age_h", "id"], ascending=[False, True], kind="stable")


@dataclass(frozen=True)
class PromiseReport:
    """Promises kept in one period: shares within target and the overdue list."""

    period: Period
    as_of: pd.Timestamp
    total: pd.DataFrame
    by_owner: pd.DataFrame
    by_category: pd.DataFrame
    by_area: pd.DataFrame
    overdue: pd.DataFrame

    @property
    def share(self) -> float | None:
        """The share within target over every fixed finding with a target (None: none)."""
        return None if self.total.empty else float(self.total["share"].iloc[0])


def promise_report(findings: pd.DataFrame, history: pd.DataFrame, period: Period,
                   now: pd.Timestamp, promises: dict[str, dict[str, float]]
                   ) -> PromiseReport:
    """Shares within target (in total, per owner, category and stadsdelsområde) and the
    overdue list of ``findings``, all as of the period's end (:func:`as_of_time`)."""
    as_of = as_of_time(period, now)
    then = findings_as_of(findings, history, as_of)
    return PromiseReport(
        period=period, as_of=as_of, total=share_within_target(then, promises, period),
        by_owner=share_within_target(then, promises, period, "owner"),
        by_category=share_within_target(then, promises, period, "category"),
        by_area=share_within_target(then, promises, period, "sdo_code"),
        overdue=overdue(then, promises, as_of))


def format_share(share: float | None) -> str:
    """A share as whole per cent: 67 % ('–' without a base)."""
    return NOT_AVAILABLE if share is None else f"{format_int(round(share * 100))}{NBSP}%"


def format_age(hours: float) -> str:
    """An age: hours below two days (30 h), else days (3,5 d)."""
    if hours < 48:
        return f"{format_int(int(hours))}{NBSP}h"
    return f"{format_rate(hours / 24) if hours < 240 else format_int(round(hours / 24))}{NBSP}d"


# --- sites -----------------------------------------------------------------------------


def classify(points: np.ndarray, site: BaseGeometry, ring_m: float = SITE_RING_M
             ) -> tuple[np.ndarray, np.ndarray]:
    """Masks (in the site, in the ring) of an array of points."""
    if len(points) == 0:
        return np.zeros(0, bool), np.zeros(0, bool)
    outer = shapely.buffer(site, ring_m, quad_segs=QUAD_SEGS)
    shapely.prepare(site)
    shapely.prepare(outer)
    in_site = shapely.covers(site, points)
    in_ring = shapely.covers(outer, points) & ~in_site
    return in_site, in_ring


def site_countable(incidents: pd.DataFrame) -> np.ndarray:
    """Mask of the incidents that can count at a site: placed to the address or street,
    of a category every count holds."""
    if incidents.empty:
        return np.zeros(0, bool)
    return (incidents["precision"].isin(POINT_PRECISIONS)
            & incidents["category"].isin(PUBLIC_CATEGORY_CODES)).to_numpy(bool)


def site_counts(incidents: pd.DataFrame, site: BaseGeometry, periods: list[Period],
                ring_m: float = SITE_RING_M) -> list[tuple[int, int]]:
    """(in the site, in the ring) per period, by the rule of :func:`classify`."""
    frame = incidents[site_countable(incidents)]
    in_site, in_ring = classify(frame.geometry.to_numpy(), site, ring_m)
    out = []
    for p in periods:
        inside = in_period(frame["occurred_at"], p)
        out.append((int((inside & in_site).sum()), int((inside & in_ring).sum())))
    return out


# --- weeks ---------------------------------------------------------------------------


def weekly_counts(incidents: pd.DataFrame, weeks: list[Period],
                  categories: tuple[str, ...] = ALL_CATEGORY_CODES) -> dict[str, list[int]]:
    """Per category, the number of ``incidents`` (``occurred_at`` local) in each of
    ``weeks``; the weekly lägesbild's counts (``week_incidents``, ``week_average``)."""
    out = {}
    for code in categories:
        own = incidents[(incidents["category"] == code).to_numpy(bool)] \
            if not incidents.empty else incidents
        out[code] = [int(in_period(own["occurred_at"], w).sum()) if not own.empty else 0
                     for w in weeks]
    return out


def weekly_average(total: int, weeks: int) -> float:
    """The weekly average of ``total`` incidents over ``weeks`` weeks."""
    return total / weeks if weeks else 0.0


# --- a district's values ---------------------------------------------------------------


@dataclass(frozen=True)
class AreaValues:
    """The exact values of one area and period (suppress them when shown: :meth:`texts`)."""

    code: str
    period: Period
    comparison_period: Period
    previous_period: Period
    incidents: int
    #: None: the store has no incidents from the comparison period's time
    comparison: int | None
    previous: int | None
    population: int | None
    population_year: int | None
    city_incidents: int
    city_population: int | None
    strategic: int
    sensitive: int
    victims_women: int
    victims_men: int
    open_findings: int
    median_days_to_fix: float | None
    sites: int
    active_sites: int
    as_of: dt.date

    @property
    def rate(self) -> float | None:
        return None if not self.population else 1000.0 * self.incidents / self.population

    @property
    def city_rate(self) -> float | None:
        return None if not self.city_population else \
            1000.0 * self.city_incidents / self.city_population

    def texts(self, below: int | None, sensitive_below: int | None) -> dict[str, str]:
        """Every indicator as shown to a user (``below`` None: exact counts)."""
        hidden = bool(below) and 0 < self.incidents < below
        rate = HIDDEN if hidden else (NOT_AVAILABLE if self.rate is None
                                      else format_rate(self.rate))
        city = NOT_AVAILABLE if self.city_rate is None else format_rate(self.city_rate)
        median = NOT_AVAILABLE if self.median_days_to_fix is None \
            else format_days(self.median_days_to_fix)
        return {
            "incidents": count_text(self.incidents, below), "rate": rate, "city_rate": city,
            "comparison": count_text(self.comparison, below),
            "change": change_text(self.comparison, self.incidents, below),
            "previous": count_text(self.previous, below),
            "strategic": count_text(self.strategic, below),
            "sensitive": count_text(self.sensitive, sensitive_below),
            "victims_women": count_text(self.victims_women, below),
            "victims_men": count_text(self.victims_men, below),
            "open_findings": format_int(self.open_findings),
            "median_days_to_fix": median,
            "active_sites": format_int(self.active_sites),
        }


def year_of(period: Period) -> int:
    """The year whose population a period is measured against (its middle day's)."""
    return (period.start + (period.end - period.start) / 2).year


def area_incidents(data: CityData, area: Area | None,
                   categories: tuple[str, ...] = PUBLIC_CATEGORY_CODES) -> pd.DataFrame:
    """The loaded incidents of ``area`` (None: every incident placed to some area) of
    ``categories``, without geometry."""
    frame = data.incidents
    m = area.mask(frame) if area is not None else frame["sdo_code"].notna().to_numpy(bool)
    if not frame.empty:
        m = m & frame["category"].isin(categories).to_numpy(bool)
    return pd.DataFrame(frame[m].drop(columns="geometry"))


def area_findings(data: CityData, area: Area, as_of: pd.Timestamp) -> pd.DataFrame:
    """The area's findings with status as of ``as_of``."""
    frame = data.findings
    return findings_as_of(frame[area.mask(frame)] if not frame.empty else frame,
                          data.history, as_of)


def area_sites(data: CityData, area: Area, day: dt.date) -> pd.DataFrame:
    """The area's sites started by ``day`` (an old area: its sites in its outline)."""
    sites = sites_as_of(data.sites, day)
    if sites.empty:
        return sites
    m = sites["sdo_code"].isin(area.codes).to_numpy()
    if area.parent and area.geometry is not None:
        inside = shapely.within(shapely.point_on_surface(sites.geometry.to_numpy()),
                                area.geometry)
        m = m | ((sites["sdo_code"] == area.parent).to_numpy() & inside)
    return sites[m].sort_values("name")


def area_values(data: CityData, area: Area, period: Period, now: pd.Timestamp,
                categories: tuple[str, ...] = PUBLIC_CATEGORY_CODES) -> AreaValues:
    """Compute every indicator of ``area`` for ``period`` from loaded data.

    ``categories`` are the codes counted (the privacy rule's
    :attr:`layers.core.privacy.CountedCategories.codes`; default every non-sensitive one);
    strategic crimes, victims and the sensitive count do not depend on them.
    """
    comparison, previous = period.year_before(), period.previous()
    own = area_incidents(data, area, ALL_CODES)
    counted = own[own["category"].isin(categories).to_numpy(bool)]
    public = own[own["category"].isin(PUBLIC_CATEGORY_CODES).to_numpy(bool)]
    city = area_incidents(data, None, categories)
    now_mask = in_period(public["occurred_at"], period)
    population, pop_year = data.population_of(area.code, year_of(period))
    as_of = as_of_time(period, now)
    findings = area_findings(data, area, as_of)
    open_n = int(findings["status"].isin(OPEN_STATUSES).sum()) if not findings.empty else 0
    sites = area_sites(data, area, last_day(as_of))
    current = public[now_mask]
    return AreaValues(
        code=area.code, period=period, comparison_period=comparison, previous_period=previous,
        incidents=int(in_period(counted["occurred_at"], period).sum()),
        comparison=int(in_period(counted["occurred_at"], comparison).sum())
        if data.covered(comparison) else None,
        previous=int(in_period(counted["occurred_at"], previous).sum())
        if data.covered(previous) else None,
        population=population, population_year=pop_year,
        city_incidents=int(in_period(city["occurred_at"], period).sum()),
        city_population=data.city_population(year_of(period))[0],
        strategic=int(current["category"].isin(STRATEGIC_CODES).sum()),
        sensitive=int((in_period(own["occurred_at"], period)
                       & own["category"].isin(SENSITIVE_CODES).to_numpy(bool)).sum()),
        victims_women=int((current["victim_gender"] == "kvinna").sum()),
        victims_men=int((current["victim_gender"] == "man").sum()),
        open_findings=open_n,
        median_days_to_fix=median_days_to_fix(findings, period),
        sites=len(sites),
        active_sites=int((sites["status"] == "aktiv").sum()) if len(sites) else 0,
        as_of=last_day(as_of),
    )


ALL_CODES = (*PUBLIC_CATEGORY_CODES, *SENSITIVE_CODES)


def site_values(data: CityData, area: Area, period: Period, now: pd.Timestamp
                ) -> list[tuple[str, str, int, int]]:
    """(site id, name, in the site, in the ring) for the area's sites in ``period``,
    the sites as of the period's end."""
    sites = area_sites(data, area, last_day(as_of_time(period, now)))
    return [(str(s.id), str(s.name), *site_counts(data.incidents, s.geometry, [period])[0])
            for s in sites.itertuples(index=False)]
