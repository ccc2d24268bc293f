"""The weekly lägesbild of the EST cycle: one page per stadsdelsområde and ISO week.

Weeks are ISO weeks, Monday to Sunday in Europe/Stockholm, written ``2025-W48``; the
default is the last full week before today (:func:`last_full_week`, the only use of
the clock). The page shows:

* incidents of the week per category group, strategic crimes and the total, against
  the **weekly average of the same weeks a year earlier**: the same ISO week number of
  the year before and :data:`layers.indicators.WEEK_SPAN` weeks on either side of it
  (W47–W49 2024 for 2025-W48), so one odd week last year does not set the baseline.
  Counts are suppressed as in the brief (below five ``<5``, and secondary suppression
  over the whole table with :func:`layers.core.disclosure.protect`); the sensitive
  categories are one count of their own, never in a total;
* findings from trygghetsvandringar recorded during the week;
* overdue promises (findings open longer than their time-to-fix target) at the end of
  the week, as the brief computes them;
* platssamverkan activity: site measures created or changed during the week (from the
  audit log) and meetings and activities logged for days of the week;
* the action plan's follow-ups due by the end of the week and actions past deadline.

A week that is over renders the same every time: everything is taken as of the end
of the week (findings by their status history, actions by theirs, audit entries by
their time). No Flask here; :mod:`layers.documents.brief_render.weekly` renders it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pandas as pd

from layers.core import clock
from layers.core.audit import decode
from layers.core.disclosure import PRIMARY, SHOWN, Figure, protect
from layers.core.periods import Period
from layers.core.privacy import PUBLIC_CATEGORY_CODES
from layers.core.schema import (
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    MEASURE_STATUSES,
    OWNERS,
    SENSITIVE_CODES,
    SITE_ACTIVITIES,
    STRATEGIC_CODES,
)
from layers.documents.brief import (
    SUPPRESS_BELOW,
    Area,
    BriefError,
    Cell,
    Row,
    Table,
    action_plan_table,
    count_cell,
    format_date,
    load_city_data,
)
from layers.indicators import (
    HIDDEN,
    INDICATORS,
    MINUS,
    WEEK_SPAN,
    area_findings,
    area_sites,
    format_age,
    format_decimal,
    overdue,
    parse_promises,
    weekly_average,
    weekly_counts,
)
from layers.store.base import Query, Store

_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_FINDING_LABEL = {c.code: c.label for c in FINDING_CATEGORIES}
WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")


class WeekError(ValueError):
    """A week that cannot be read (message in Swedish)."""


# --- week arithmetic ------------------------------------------------------------------


def week_period(year: int, week: int) -> Period:
    """ISO week ``week`` of ISO year ``year`` as a period (Monday to Sunday)."""
    monday = dt.date.fromisocalendar(year, week, 1)
    return Period(monday, monday + dt.timedelta(days=6), "range")


def parse_week(text: str) -> Period:
    """Read ``2025-W48`` (or ``2025W48``, ``2025-w48``); raise :class:`WeekError`."""
    match = _WEEK.match((text or "").strip())
    if not match:
        raise WeekError(f"Ogiltig vecka '{text}': skriv ÅÅÅÅ-Wvv, t.ex. 2025-W48.")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return week_period(year, week)
    except ValueError:
        raise WeekError(f"Vecka {week} finns inte år {year}.") from None


def week_code(week: Period) -> str:
    """The ISO code of the week a period starts in: ``2025-W48``."""
    year, number, _ = week.start.isocalendar()
    return f"{year}-W{number:02d}"


def week_label(week: Period) -> str:
    """A Swedish label: ``vecka 48 2025 (24–30 november 2025)``."""
    year, number, _ = week.start.isocalendar()
    return f"vecka {number} {year} ({week.label})"


def last_full_week(today: dt.date | None = None) -> Period:
    """The last Monday-to-Sunday week that ended before ``today`` (default: the
    clock's today in Stockholm)."""
    day = clock.today() if today is None else today
    monday = day - dt.timedelta(days=day.weekday())
    return week_period(*(monday - dt.timedelta(days=7)).isocalendar()[:2])


def weeks_in_year(year: int) -> int:
    """52 or 53: the number of ISO weeks of ISO year ``year``."""
    return dt.date(year, 12, 28).isocalendar()[1]


def baseline_weeks(week: Period, span: int = WEEK_SPAN) -> list[Period]:
    """The weeks a week is compared with: the same ISO week number a year earlier
    (week 53 → that year's last week) and ``span`` weeks on either side, oldest first."""
    year, number, _ = week.start.isocalendar()
    centre = week_period(year - 1, min(number, weeks_in_year(year - 1)))
    return [Period(centre.start + dt.timedelta(days=7 * k),
                   centre.end + dt.timedelta(days=7 * k), "range")
            for k in range(-span, span + 1)]


# --- the report -----------------------------------------------------------------------


@dataclass
class WeeklyReport:
    """Everything one weekly lägesbild prints; renderers only format it."""

    area: Area
    week: Period
    code: str
    baseline: list[Period]
    #: the last day the report is taken at: the week's Sunday, or today for a week
    #: not over yet (nothing else of a closed week depends on the clock)
    as_of: dt.date
    threshold: int
    incidents: Table
    findings: Table
    promises: Table
    sites: Table
    actions: Table
    notes: list[str] = field(default_factory=list)
    demo: bool = False

    @property
    def title(self) -> str:
        return f"Veckolägesbild {self.area.name} {self.code}"

    @property
    def label(self) -> str:
        return week_label(self.week)

    @property
    def baseline_label(self) -> str:
        first, last = self.baseline[0], self.baseline[-1]
        return (f"vecka {first.start.isocalendar()[1]}–{last.start.isocalendar()[1]} "
                f"{first.start.isocalendar()[0]} ({first.start.isoformat()}–"
                f"{last.end.isoformat()})")

    @property
    def tables(self) -> list[Table]:
        return [self.incidents, self.findings, self.promises, self.sites, self.actions]


def _rows_of_incidents() -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(key, label, categories, is total) of the incident table's rows."""
    rows = [(g, label, tuple(c.code for c in INCIDENT_CATEGORIES
                            if c.group == g and c.code in PUBLIC_CATEGORY_CODES), False)
            for g, label in INCIDENT_GROUPS.items()]
    rows.append(("strategic", "Varav strategiska brott", STRATEGIC_CODES, False))
    rows.append(("total", "Alla händelser", PUBLIC_CATEGORY_CODES, True))
    return rows


def _difference(now: int, average: float) -> Cell:
    diff = now - average
    sign = "+" if diff > 0 else (MINUS if diff < 0 else "±")
    return Cell(f"{sign}{format_decimal(abs(diff))}", diff)


def _incident_table(counts: dict[str, list[int]], n_base: int, threshold: int) -> Table:
    """Week against the weekly average of the baseline weeks, protected as a whole."""
    specs = _rows_of_incidents()
    figures, sums = [], {}
    for key, _, codes, is_total in specs:
        week_n = sum(counts[c][-1] for c in codes)
        base_n = sum(sum(counts[c][:-1]) for c in codes)
        sums[key] = (week_n, base_n)
        last = is_total or key == "strategic"
        figures.append(Figure((key, "week"), week_n, frozenset((c, "w") for c in codes),
                              last=last))
        figures.append(Figure((key, "base"), base_n, frozenset((c, "b") for c in codes),
                              last=last))
    status = protect(figures, threshold)
    rows = []
    for key, label, _, is_total in specs:
        week_n, base_n = sums[key]
        week_s, base_s = status[(key, "week")], status[(key, "base")]
        average = weekly_average(base_n, n_base)
        shown = week_s == SHOWN and base_s == SHOWN
        rows.append(Row(key, label, {
            "week": _figure(count_cell(week_n, week_s, threshold), "week_incidents"),
            "average": _figure(Cell(format_decimal(average), average) if base_s == SHOWN
                               else Cell(HIDDEN), "week_average"),
            "difference": _difference(week_n, average) if shown else Cell(HIDDEN),
        }, total=is_total))
    sensitive = sum(counts[c][-1] for c in SENSITIVE_CODES)
    rows.append(Row("sensitive", INDICATORS["sensitive"].name, {
        "week": count_cell(sensitive, PRIMARY if 0 < sensitive < threshold else SHOWN,
                           threshold),
        "average": Cell("–"), "difference": Cell("–")}))
    table = Table("week_incidents", "Händelser förra veckan och veckosnitt året innan",
                  "Kategorigrupp", [("week", "Veckan"), ("average", "Veckosnitt året innan"),
                                    ("difference", "Skillnad")], rows)
    table.notes.append(f"{INDICATORS['week_incidents'].definition} "
                       f"{INDICATORS['week_average'].definition}")
    return table


def _figure(cell: Cell, code: str) -> Cell:
    return Cell(cell.text, cell.value, cell.numeric, figure=code)


def _findings_table(found: pd.DataFrame, week: Period) -> Table:
    start, end = week.bounds()
    sel = found[((found["found_at"] >= start) & (found["found_at"] < end)).to_numpy()] \
        if not found.empty else found
    rows = []
    for f in sel.sort_values(["found_at", "id"], kind="stable").itertuples(index=False):
        owner = OWNERS.get(f.owner, f.owner) if isinstance(f.owner, str) and f.owner \
            else "ej angiven"
        rows.append(Row(str(f.id), format_date(f.found_at), {
            "category": Cell.label(_FINDING_LABEL.get(f.category, f.category).capitalize()),
            "description": Cell.label(f.description if isinstance(f.description, str)
                                      else ""),
            "owner": Cell.label(owner),
            "status": Cell.label(FINDING_STATUSES.get(f.status, f.status)),
        }))
    table = Table("week_findings", "Nya fynd under veckan", "Fynddatum", [
        ("category", "Kategori"), ("description", "Beskrivning"), ("owner", "Ansvarig"),
        ("status", "Status vid veckans slut")], rows)
    if not rows:
        table.notes.append("Inga nya fynd från trygghetsvandringar under veckan.")
    return table


def _promises_table(found: pd.DataFrame, promises: dict[str, dict[str, float]],
                    as_of: pd.Timestamp) -> Table:
    late = overdue(found, promises, as_of) if not found.empty else found
    rows = []
    for f in late.itertuples(index=False) if not late.empty else ():
        owner = OWNERS.get(f.owner, f.owner) if isinstance(f.owner, str) and f.owner \
            else "ej angiven"
        rows.append(Row(str(f.id), format_date(f.found_at), {
            "category": Cell.label(_FINDING_LABEL.get(f.category, f.category).capitalize()),
            "owner": Cell.label(owner),
            "target": Cell.label(format_age(f.target_h)),
            "age": Cell(format_age(f.age_h), float(f.age_h)),
        }))
    table = Table("week_overdue", "Försenade löften vid veckans slut", "Fynddatum", [
        ("category", "Kategori"), ("owner", "Ansvarig"), ("target", "Utlovad tid"),
        ("age", "Öppet")], rows)
    table.notes.append(INDICATORS["overdue"].definition)
    if not rows:
        table.notes.append("Inga försenade fynd vid veckans slut.")
    return table


def _site_table(store: Store, sites: pd.DataFrame, week: Period) -> Table:
    """Measures created or changed (audit log) and log entries during the week."""
    start, end = (pd.Timestamp(b) for b in week.bounds())
    names = {str(i): str(n) for i, n in zip(sites["id"], sites["name"], strict=True)} \
        if not sites.empty else {}
    rows: list[Row] = []
    if names:
        measures = store.read("site_measures", Query(where={"site_id": tuple(names)}))
        site_of = {str(i): str(s) for i, s in zip(measures["id"], measures["site_id"],
                                                  strict=True)}
        text_of = {str(i): str(m) for i, m in zip(measures["id"], measures["measure"],
                                                  strict=True)}
        log = store.read("audit_log", Query(start=start.to_pydatetime(),
                                            end=end.to_pydatetime(),
                                            where={"kind": "measure"}))
        log = log[log["object_id"].isin(site_of)] if not log.empty else log
        for entry in log.sort_values(["at", "id"], kind="stable").itertuples(index=False):
            new = decode(entry.new_values)
            what = {"create": "ny åtgärd", "delete": "borttagen"}.get(entry.action, "ändrad")
            if "status" in new:
                what += f", status {MEASURE_STATUSES.get(new['status'], new['status'])}"
            rows.append(Row(f"m:{entry.id}", format_date(pd.Timestamp(entry.at)), {
                "site": Cell.label(names[site_of[entry.object_id]]),
                "kind": Cell.label("Åtgärd: " + what),
                "text": Cell.label(text_of.get(entry.object_id, "")),
            }))
        activity = store.read("site_activity_log", Query(where={"site_id": tuple(names)}))
        if not activity.empty:
            day = pd.to_datetime(activity["date"], errors="coerce").dt.date
            activity = activity[day.map(lambda d: week.contains(d) if pd.notna(d) else False)
                                .to_numpy(bool)]
        for a in activity.sort_values(["date", "id"], kind="stable").itertuples(index=False):
            rows.append(Row(f"a:{a.id}", format_date(a.date), {
                "site": Cell.label(names.get(str(a.site_id), str(a.site_id))),
                "kind": Cell.label(SITE_ACTIVITIES.get(a.kind, a.kind).capitalize()),
                "text": Cell.label(a.note if isinstance(a.note, str) else ""),
            }))
    table = Table("week_sites", "Platssamverkan under veckan", "Datum",
                  [("site", "Plats"), ("kind", "Händelse"), ("text", "Text")], rows)
    if not rows:
        table.notes.append("Ingen registrerad aktivitet på områdets platser under veckan.")
    return table


def build_weekly(store: Store, sdn: str, week: Period | str | None = None, *,
                 threshold: int = SUPPRESS_BELOW,
                 promises: dict[str, dict[str, float]] | None = None,
                 now: pd.Timestamp | None = None) -> WeeklyReport:
    """Compute the weekly lägesbild of one stadsdelsområde (code or name).

    ``week`` is a week period, its code (``2025-W48``) or None for the last full week.
    Raises :class:`layers.documents.brief.BriefError` (Swedish) for an unknown area or week.
    """
    now = clock.now() if now is None else clock.as_local(now)
    try:
        if week is None:
            week = last_full_week(now.date())
        elif isinstance(week, str):
            week = parse_week(week)
    except WeekError as exc:
        raise BriefError(str(exc)) from exc
    base = baseline_weeks(week)
    data = load_city_data(store, week, periods=[*base, week])
    area = data.area(sdn)
    end = pd.Timestamp(week.bounds()[1])
    as_of = min(end, now)
    own = data.incidents[area.mask(data.incidents)] if not data.incidents.empty \
        else data.incidents
    counts = weekly_counts(own, [*base, week])
    found = area_findings(data, area, as_of)
    notes = []
    if not data.covered(base[0]):
        notes.append(f"Jämförelseveckorna ({base[0].start.isoformat()}–"
                     f"{base[-1].end.isoformat()}) saknas i underlaget; veckosnittet blir 0.")
    if data.data_end is None or data.data_end < pd.Timestamp(week.bounds()[0]):
        last = "inga händelser alls" if data.data_end is None else \
            f"händelser till och med {format_date(data.data_end.date())}"
        notes.append(f"Underlaget har {last}: veckan saknar händelser i databasen.")
    if as_of < end:
        notes.append(f"Veckan är inte slut: läget per {format_date(as_of.date())}.")
    targets = promises if promises is not None else parse_promises(None)
    demo = bool((own["source"] == "demo").any()) if not own.empty else False
    return WeeklyReport(
        area=area, week=week, code=week_code(week), baseline=base,
        as_of=(as_of - pd.Timedelta(microseconds=1)).date(),
        threshold=threshold,
        incidents=_incident_table(counts, len(base), threshold),
        findings=_findings_table(found, week),
        promises=_promises_table(found, targets, as_of),
        sites=_site_table(store, area_sites(data, area, week.end), week),
        actions=action_plan_table(store, area, as_of, running=as_of < end,
                                  key="week_actions",
                                  caption="Handlingsplan: att följa upp",
                                  due_by=week.end),
        notes=notes, demo=demo)


__all__ = ["WeekError", "WeeklyReport", "baseline_weeks",
           "build_weekly", "last_full_week", "parse_week", "week_code", "week_label",
           "week_period"]
