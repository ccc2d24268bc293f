"""Area briefs (lägesbild): the figures for one stadsdelsområde and one period.

:func:`build_brief` computes everything a brief shows, the same indicators for every
district, so the city can compare them; :mod:`layers.documents.brief_render` turns a
:class:`Brief` into HTML, PDF and DOCX. :func:`build_city_overview` puts the 11 current
stadsdelsområden side by side on the same indicators. No Flask here.

Definitions (also printed in the brief's section "Om underlaget"):

* **Rates** are incidents per 1 000 inhabitants *during the period* (not annualised).
  Population is the store's ``population`` table (31 December); for a year without a
  figure the nearest year is used and a footnote says so. An area without a
  population figure (Rinkeby-Kista alone, say) gets counts but no rates.
* **The city average** is the whole city's rate: every incident joined to some
  stadsdelsområde divided by the sum of the current areas' population.
* **The comparable period** is the same period one year earlier (tertial 2 2025 →
  tertial 2 2024), so the season does not distort the change.
* **Division change 2023-07-01.** Incidents and findings carry the area of the
  division valid at their date. An area made by a merger (:data:`geodata.MERGERS`,
  Järva = Rinkeby-Kista + Spånga-Tensta) counts, for any time before the merger, the
  sum of the areas it was made of; an old area that was merged away counts, after the
  merger, the incidents in its own stadsdelar. Either case gets a footnote.
* **Small counts are suppressed.** A count of 1 to ``threshold - 1`` (default 4) is
  shown as ``<5``; zero is shown as 0. Rates, changes and shares computed from a hidden
  count are hidden too (``..``). Secondary suppression covers the *whole document*
  (:mod:`layers.core.disclosure`, :class:`Protection`): every incident count of every table
  and of the trend chart is one relation over base cells (category × victim gender ×
  period, the area and the rest of the city), and more counts are hidden (``..``)
  until no hidden count can be derived from the shown ones, by any sum or difference
  across tables. Headline figures shown on other pages too are hidden last. Counts
  of platssamverkan sites and priority places are protected on their own (they are
  spatial parts of the area, not sums of the tables' cells).
* **Per cent changes** need :data:`CHANGE_MIN_COUNT` events in both periods; below
  that the two counts are printed ("5 → 11").
* **As of the period's end.** Findings (status from ``finding_history``,
  :func:`findings_as_of`) and sites (:func:`sites_as_of`) are taken as they were when
  the period ended, or now for a period not over yet (:func:`as_of_time`); the clock
  (:mod:`layers.core.clock`) only dates the brief, so a closed period's brief is the same
  whenever it is made.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

import geodata
from layers.analysis.aggregate import ComputedPerStore
from layers.core import clock
from layers.core.disclosure import Figure, protect
from layers.core.periods import Period, parse_period
from layers.core.privacy import PUBLIC_CATEGORY_CODES
from layers.core.schema import (
    ACTION_STATUSES,
    DIVISION_CHANGE,
    FINDING_CATEGORIES,
    FINDING_STATUSES,
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    LOCAL_TZ,
    OPEN_STATUSES,
    OWNERS,
    SITE_STATUSES,
    STORE_EPSG,
    STRATEGIC_CODES,
    VICTIM_GENDERS,
    by_code,
)
from layers.domain import est as est_core
from layers.indicators import (  # noqa: F401  (re-exported: the brief's older names)
    CHANGE_MIN_COUNT,
    HIDDEN,
    INDICATORS,
    MINUS,
    NBSP,
    NOT_AVAILABLE,
    AreaValues,
    area_values,
    as_of_time,
    findings_as_of,
    format_change,
    format_days,
    format_int,
    format_rate,
    format_share,
    in_period,
    overdue,
    parse_promises,
    share_within_target,
    site_counts,
    sites_as_of,
)
from layers.indicators import area_incidents as _area_incidents
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)
#: Incidents of a window per store and incidents version (:func:`_window_incidents`).
_WINDOW_INCIDENTS = ComputedPerStore(4, 3600.0)

#: Counts from 1 up to this number minus one are shown as "<5".
SUPPRESS_BELOW = 5
#: How many periods the trend covers, by kind of period (the brief's own included).
TREND_PERIODS = {"year": 5, "tertial": 6, "month": 12, "range": 4}
#: At most this many periods as columns of the platssamverkan table.
SITE_TREND_COLUMNS = 6
#: How many priority places and oldest open findings a brief lists.
TOP_PLACES = 5
OLDEST_OPEN = 5

#: The section headings of every brief, in order (the renderers and tests use them).
SECTION_HEADINGS: tuple[str, ...] = (
    "Sammanfattning",
    "Karta över området",
    "Utveckling över tid",
    "Händelser per kategorigrupp",
    "Strategiska brott",
    "Brottsoffer efter kön",
    "Prioriterade platser",
    "Fynd från trygghetsvandringar",
    "Platssamverkan",
    "Handlingsplan",
    "Analys av nuläge",
    "Möjlig utveckling",
    "Föreslagna åtgärder",
    "Om underlaget",
    "Definitioner",
)
#: The secretary's own sections: field of the brief_texts table -> heading.
TEXT_FIELDS: dict[str, str] = {
    "analysis": "Analys av nuläge",
    "development": "Möjlig utveckling",
    "measures": "Föreslagna åtgärder",
}
#: Longest text kept per analysis field.
TEXT_MAX_LENGTH = 20_000


_CATEGORY = by_code(INCIDENT_CATEGORIES)
_GROUP_OF = {c.code: c.group for c in INCIDENT_CATEGORIES}
_FINDING_LABEL = {c.code: c.label for c in FINDING_CATEGORIES}

# status of a count under suppression
SHOWN, PRIMARY, SECONDARY = 0, 1, 2


class BriefError(ValueError):
    """A brief cannot be made (unknown district, bad period); the message is Swedish."""


# --- formatting --------------------------------------------------------------------


def format_date(day: dt.date | pd.Timestamp | None) -> str:
    if day is None or pd.isna(day):
        return NOT_AVAILABLE
    return pd.Timestamp(day).strftime("%Y-%m-%d")


# --- cells and tables -------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure as printed. ``value`` is the number behind a shown figure; it is None
    when the figure is hidden or not a number, so a brief never holds a hidden count."""

    text: str
    value: float | None = None
    numeric: bool = True
    #: the indicator this cell shows (:data:`layers.indicators.INDICATORS`), for the
    #: ``data-figure`` attribute and the definition tooltip
    figure: str | None = None

    @classmethod
    def label(cls, text: str) -> Cell:
        return cls(text, None, numeric=False)


def count_cell(n: int, status: int, threshold: int) -> Cell:
    """A count under suppression: the number, ``<5`` (primary) or ``..`` (secondary)."""
    if status == PRIMARY:
        return Cell(f"<{threshold}")
    if status == SECONDARY:
        return Cell(HIDDEN)
    return Cell(format_int(n), float(n))


def rate_cell(n: int, status: int, population: int | None) -> Cell:
    """Per 1 000 inhabitants; hidden with its count, ``–`` without a population."""
    if status != SHOWN:
        return Cell(HIDDEN)
    if not population:
        return Cell(NOT_AVAILABLE)
    value = n / population * 1000
    return Cell(format_rate(value), value)


def change_cell(current: int, current_status: int, previous: int | None,
                previous_status: int) -> Cell:
    """Change in per cent against the comparable period (``previous`` None: no data).

    Below :data:`CHANGE_MIN_COUNT` in either period the cell holds the two counts
    ("5 → 11") and no value, so no sentence or chart reads a per cent change into it.
    """
    if previous is None:
        return Cell(NOT_AVAILABLE)
    if current_status != SHOWN or previous_status != SHOWN:
        return Cell(HIDDEN)
    if min(current, previous) < CHANGE_MIN_COUNT:
        return Cell(f"{format_int(previous)}{NBSP}→{NBSP}{format_int(current)}")
    value = (current - previous) / previous * 100
    return Cell(format_change(value), value)


def share_cell(part: int, part_status: int, whole_parts: Sequence[tuple[int, int]]) -> Cell:
    """``part`` as a per cent share of the sum of ``whole_parts`` (count, status) pairs."""
    if part_status != SHOWN or any(s != SHOWN for _, s in whole_parts):
        return Cell(HIDDEN)
    whole = sum(n for n, _ in whole_parts)
    if whole == 0:
        return Cell(NOT_AVAILABLE)
    value = part / whole * 100
    return Cell(f"{round(value)}{NBSP}%", value)


@dataclass
class Row:
    """A table row: a key for code and tests, the label printed first, the cells."""

    key: str
    label: str
    cells: dict[str, Cell]
    total: bool = False


@dataclass
class Table:
    """A table of a brief: columns (key, Swedish label) after the row label column."""

    key: str
    caption: str
    row_header: str
    columns: list[tuple[str, str]]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def row(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(key)

    def cell(self, row_key: str, column_key: str) -> Cell:
        return self.row(row_key).cells[column_key]

    @property
    def empty(self) -> bool:
        return not self.rows

    def is_numeric(self, key: str) -> bool:
        """Tell whether a column holds figures (right-aligned) rather than text."""
        return all(r.cells[key].numeric for r in self.rows)


def suppress(values: np.ndarray, lines: Iterable[Sequence[tuple[int, int]]],
             threshold: int = SUPPRESS_BELOW) -> np.ndarray:
    """Return the suppression status (SHOWN, PRIMARY, SECONDARY) of each count.

    ``values`` is a 2-D array of counts; ``lines`` lists the additive lines of the
    table, each the (row, column) cells of a row or column *including* the total they
    add up to. Primary: 0 < value < threshold. Secondary: while some line hides exactly
    one cell, hide the smallest non-zero shown cell of that line too.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.ndim != 2:
        raise ValueError("values must be 2-D")
    status = np.where((values > 0) & (values < threshold), PRIMARY, SHOWN)
    lines = [list(line) for line in lines]
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [c for c in line if status[c] != SHOWN]
            if len(hidden) != 1:
                continue
            candidates = [c for c in line if status[c] == SHOWN and values[c] > 0]
            if not candidates:
                continue
            pick = min(candidates, key=lambda c: (values[c], c))
            status[pick] = SECONDARY
            changed = True
    return status


def column_lines(n_rows: int, columns: Iterable[int]) -> list[list[tuple[int, int]]]:
    """Lines of a table whose last row is the total of the rows above it."""
    return [[(i, j) for i in range(n_rows)] for j in columns]


def row_lines(rows: Iterable[int], n_cols: int) -> list[list[tuple[int, int]]]:
    """Lines of a table whose last column is the total of the columns before it."""
    return [[(i, j) for j in range(n_cols)] for i in rows]


# --- districts ----------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A stadsdelsområde of one division, with what it is made of across the change."""

    code: str
    name: str
    division: str
    valid_from: dt.date
    valid_to: dt.date | None
    #: areas of the older division merged into this one (Järva: Rinkeby-Kista, …)
    parts: tuple[str, ...] = ()
    #: the newer area this one was merged into (Rinkeby-Kista: Järva)
    parent: str | None = None
    stadsdelar: tuple[str, ...] = ()
    geometry: BaseGeometry | None = field(default=None, compare=False, repr=False)

    @property
    def current(self) -> bool:
        return self.valid_to is None

    @property
    def codes(self) -> tuple[str, ...]:
        """The ``sdo_code`` values whose rows belong to this area."""
        return (self.code, *self.parts)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of an incidents or findings frame that lie in this area (any date)."""
        if frame.empty:
            return np.zeros(0, dtype=bool)
        m = frame["sdo_code"].isin(self.codes)
        if self.parent:
            m = m | ((frame["sdo_code"] == self.parent) & frame["stadsdel"].isin(self.stadsdelar))
        return m.to_numpy(dtype=bool)


def load_areas(store: Store) -> list[Area]:
    """Both divisions' stadsdelsområden from the store, with merger links."""
    frame = store.read("stadsdelsomraden")
    members = geodata.stadsdelar(crs=STORE_EPSG)
    parent_of = {part: whole for whole, parts in geodata.MERGERS.items() for part in parts}
    areas = []
    for row in frame.itertuples(index=False):
        column = f"sdo_{row.division}"
        codes = members.loc[members[column] == row.code, "code"] \
            if column in members.columns else pd.Series(dtype=object)
        current = row.valid_to is None or pd.isna(row.valid_to)
        areas.append(Area(
            code=row.code, name=row.name, division=str(row.division),
            valid_from=pd.Timestamp(row.valid_from).date(),
            valid_to=None if current else pd.Timestamp(row.valid_to).date(),
            parts=tuple(geodata.MERGERS.get(row.code, ())) if current else (),
            parent=None if current else parent_of.get(row.code),
            stadsdelar=tuple(sorted(codes)), geometry=row.geometry,
        ))
    areas.sort(key=lambda a: (not a.current, a.name))
    return areas


def find_area(areas: Sequence[Area], name: str) -> Area:
    """Find an area by code (``jarva``) or name (``Järva``), ignoring case.

    A name used by both divisions (Bromma) gives the current area.
    """
    key = geodata.slugify(name or "")
    for area in areas:  # current areas sort first
        if key and key in (area.code, geodata.slugify(area.name)):
            return area
    names = ", ".join(a.name for a in areas if a.current)
    raise BriefError(f"Okänt stadsdelsområde '{name}'. Välj ett av: {names} "
                     "(eller ett av de 13 områdena före 2023-07-01).")


# --- data ------------------------------------------------------------------------------


def _bounds(period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = period.bounds()
    return pd.Timestamp(start), pd.Timestamp(end)


_in_period = in_period


def trend_periods(period: Period) -> list[Period]:
    """The periods of the trend, oldest first, ending with ``period``."""
    periods = [period]
    for _ in range(TREND_PERIODS.get(period.kind, 4) - 1):
        periods.append(periods[-1].previous())
    return periods[::-1]


@dataclass
class CityData:
    """What the briefs of one period read from the store, loaded once for all districts."""

    incidents: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    population: pd.DataFrame
    areas: list[Area]
    texts: pd.DataFrame
    #: the first and last incident in the store (None: no incidents at all)
    data_start: pd.Timestamp | None
    data_end: pd.Timestamp | None
    window: tuple[pd.Timestamp, pd.Timestamp]
    #: the store the data came from (the priority ranking reads it itself)
    store: Store | None = None
    #: every status change of a finding (``finding_history``), for status as of a date
    history: pd.DataFrame = field(default_factory=pd.DataFrame)

    def area(self, name: str) -> Area:
        return find_area(self.areas, name)

    @property
    def current_areas(self) -> list[Area]:
        return [a for a in self.areas if a.current]

    def covered(self, period: Period) -> bool:
        """Tell whether the store has incidents from the period's time (or earlier)."""
        return self.data_start is not None and _bounds(period)[1] > self.data_start

    def population_of(self, code: str, year: int) -> tuple[int | None, int | None]:
        """Population of an area for a year: (inhabitants, year used) or (None, None).

        The nearest year with a figure is used (the earlier one on a tie).
        """
        known = self._population_index.get(code)
        if not known:
            return None, None
        used = min(known, key=lambda y: (abs(y - year), y > year))
        return known[used], used

    @cached_property
    def _population_index(self) -> dict[str, dict[int, int]]:
        index: dict[str, dict[int, int]] = {}
        for code, year, n in zip(self.population["sdo_code"], self.population["year"],
                                 self.population["population"], strict=True):
            if pd.notna(n):
                index.setdefault(code, {})[int(year)] = int(n)
        return index

    def city_population(self, year: int) -> tuple[int | None, set[int]]:
        """Sum of the current areas' populations (nearest years) and the years used."""
        total, years = 0, set()
        for area in self.current_areas:
            n, used = self.population_of(area.code, year)
            if n is None:
                continue
            total += n
            years.add(used)
        return (total or None), years


def _window(periods: Iterable[Period]) -> tuple[pd.Timestamp, pd.Timestamp]:
    bounds = [_bounds(p) for p in periods]
    return min(b[0] for b in bounds), max(b[1] for b in bounds)


def periods_needed(period: Period) -> list[Period]:
    """Every period a brief for ``period`` looks at (trend and comparable periods)."""
    trend = trend_periods(period)
    return [*trend, *(p.year_before() for p in trend)]


def load_city_data(store: Store, period: Period | str,
                   periods: Iterable[Period] | None = None) -> CityData:
    """Read what the briefs of ``period`` need: incidents of the trend window (or of
    ``periods`` only), all findings with their status history and sites, population,
    the areas and the saved analysis texts."""
    period = _as_period(period)
    start, end = _window(periods_needed(period) if periods is None else periods)
    incidents = _window_incidents(store, start, end).copy()
    findings = store.read("findings")
    for column in ("found_at", "fixed_at", "status_changed_at"):
        findings[column] = _local(findings[column])
    history = store.read("finding_history")
    history["changed_at"] = _local(history["changed_at"])
    data_start, data_end = data_span(store) or (None, None)
    return CityData(
        incidents=incidents, findings=findings, sites=store.read("sites"),
        population=store.read("population"), areas=load_areas(store),
        texts=store.read("brief_texts"), data_start=data_start, data_end=data_end,
        window=(start, end), store=store, history=history)


def _window_incidents(store: Store, start: pd.Timestamp, end: pd.Timestamp
                      ) -> gpd.GeoDataFrame:
    """The incidents of a window with local times and groups, read once per incidents
    version and window (the district pages ask for the same windows again and again,
    and a findings upload does not change them); callers get a copy."""
    from layers.analysis.aggregate import data_version

    def compute() -> gpd.GeoDataFrame:
        incidents = store.read("incidents", Query(start=start.to_pydatetime(),
                                                  end=end.to_pydatetime()))
        incidents["occurred_at"] = _local(incidents["occurred_at"])
        incidents["group"] = incidents["category"].map(_GROUP_OF).fillna("ovrigt")
        return incidents

    key = ("window-incidents", data_version(store, ("incidents",)), start, end)
    return _WINDOW_INCIDENTS.get(store, key, compute)


def _local(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times, utc=True).dt.tz_convert(LOCAL_TZ)


# --- as of a point in time -------------------------------------------------------------


def _as_period(period: Period | str) -> Period:
    if isinstance(period, Period):
        return period
    try:
        return parse_period(period)
    except ValueError as exc:
        raise BriefError(str(exc)) from exc


def data_span(store: Store) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Times of the first and the last incident in the store (None when empty)."""
    span = store.time_span("incidents")
    if span is None:
        return None
    first, last = _local(pd.Series(span))
    return first, last


def latest_incident_time(store: Store) -> pd.Timestamp | None:
    """Time of the newest incident (for a default period), or None."""
    span = data_span(store)
    return None if span is None else span[1]


# --- brief texts -----------------------------------------------------------------------


def text_id(code: str, period: Period) -> str:
    return f"{code}:{period.code}"


def read_texts(texts: pd.DataFrame, code: str, period: Period) -> dict[str, str]:
    """The saved analysis texts of one area and period (empty strings if none)."""
    rows = texts[texts["id"] == text_id(code, period)] if not texts.empty else texts
    if rows.empty:
        return dict.fromkeys(TEXT_FIELDS, "")
    row = rows.iloc[0]
    return {k: (row[k] if isinstance(row[k], str) else "") for k in TEXT_FIELDS}


def load_texts(store: Store, code: str, period: Period | str) -> dict[str, str]:
    period = _as_period(period)
    return read_texts(store.read("brief_texts", Query(where={"id": text_id(code, period)})),
                      code, period)


def save_texts(store: Store, code: str, period: Period | str, values: dict[str, str],
               user: str | None = None) -> None:
    """Save the secretary's texts for one area and period (one row, updated in place)."""
    period = _as_period(period)
    clean = {k: (values.get(k) or "").replace("\r\n", "\n")[:TEXT_MAX_LENGTH]
             for k in TEXT_FIELDS}
    row = {**clean, "updated_at": clock.now(), "updated_by": user}
    key = text_id(code, period)
    if not store.update("brief_texts", key, row):
        store.write({"brief_texts": pd.DataFrame([{
            "id": key, "sdo_code": code, "period": period.code, **row}])})


# --- the brief ------------------------------------------------------------------------


@dataclass
class PriorityPlace:
    """A place to act on, with the reasons it ranks where it does."""

    rank: int
    name: str
    geometry: BaseGeometry
    incidents: Cell
    score: Cell
    reasons: list[str]


@dataclass
class TrendPoint:
    """One period of the trend: rates per group (None = hidden or no data)."""

    period: Period
    covered: bool
    rate: float | None
    count: float | None
    city_rate: float | None
    group_rates: dict[str, float | None]


@dataclass
class SiteSeries:
    name: str
    start_date: dt.date | None
    counts: list[float | None]


@dataclass
class MapData:
    """What the static map draws (all EPSG:3011)."""

    outline: BaseGeometry | None
    stadsdelar: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    places: list[PriorityPlace]
    sites: gpd.GeoDataFrame


@dataclass
class Brief:
    """Everything one brief prints; renderers only format it."""

    area: Area
    period: Period
    comparison: Period
    #: the day the brief was made ("Framtagen"); nothing else depends on it
    created: dt.date
    #: the last day findings and sites are taken at: the period's end, or the day the
    #: brief was made while the period is not over
    as_of: dt.date
    threshold: int
    population: int | None
    population_year: int | None
    summary: Table
    highlights: list[str]
    groups: Table
    strategic: Table
    victims: Table
    gender: Table
    trend: Table
    trend_points: list[TrendPoint]
    places: Table
    place_list: list[PriorityPlace]
    places_source: str
    findings: Findings
    sites: Table
    site_series: list[SiteSeries]
    #: the EST action plan of the area as it stood at ``as_of`` (section Handlingsplan)
    action_plan: Table
    texts: dict[str, str]
    footnotes: list[str]
    method: list[str]
    map: MapData
    demo: bool = False

    @property
    def title(self) -> str:
        return f"Lägesbild {self.area.name} {self.period.short_label}"

    @property
    def missing_texts(self) -> list[str]:
        """Headings of the analysis sections nobody has written yet."""
        return [heading for key, heading in TEXT_FIELDS.items()
                if not (self.texts.get(key) or "").strip()]

    @property
    def draft(self) -> bool:
        """A brief is a draft (marked UTKAST) until every analysis section is written:
        it must not reach the board looking finished with empty sections."""
        return bool(self.missing_texts)

    @property
    def tables(self) -> list[Table]:
        return [self.summary, self.trend, self.groups, self.strategic, self.gender,
                self.victims,
                self.places, self.findings.status, self.findings.by_category,
                self.findings.by_owner, self.findings.oldest,
                *([self.findings.promises] if self.findings.promises else []),
                self.sites, self.action_plan]


class _Counter:
    """Counts for one area (or the whole city) from the loaded incidents, of the
    categories every count holds (:func:`layers.indicators.area_incidents`: never the
    sensitive ones, which are one figure of their own)."""

    def __init__(self, data: CityData, area: Area | None) -> None:
        self.table = _area_incidents(data, area)
        self.data = data

    def by(self, period: Period, column: str = "category") -> pd.Series:
        """Counts per value of ``column`` in ``period``."""
        sel = self.table[_in_period(self.table["occurred_at"], period)]
        return sel[column].value_counts()

    def total(self, period: Period) -> int:
        return int(_in_period(self.table["occurred_at"], period).sum())


def _sum(counts: pd.Series, keys: Iterable[str]) -> int:
    return int(sum(int(counts.get(k, 0)) for k in keys))


#: Every value of ``victim_gender``, unknown (None) included.
ALL_GENDERS: tuple[str | None, ...] = (*VICTIM_GENDERS, None)


class Protection:
    """Document-wide suppression of a brief's incident counts (:mod:`layers.core.disclosure`).

    The brief's tables are built twice: the first pass registers every count with its
    base cells and gets primary statuses; :meth:`solve` protects them all together; the
    second pass gets the final statuses, so a count hidden anywhere is hidden with
    everything computed from it, in every table and chart.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.figures: dict[Hashable, Figure] = {}
        self.final: dict[Hashable, int] | None = None

    def statuses(self, table: str, values: np.ndarray,
                 parts: Callable[[int, int], set[Hashable]],
                 last: Iterable[tuple[int, int]] = ()) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        out = np.zeros(values.shape, dtype=np.int64)
        last = set(last)
        for i, j in np.ndindex(values.shape):
            key = (table, i, j)
            if self.final is not None:
                out[i, j] = self.final[key]
                continue
            value = int(values[i, j])
            self.figures[key] = Figure(key, value, frozenset(parts(i, j)),
                                       last=(i, j) in last)
            out[i, j] = PRIMARY if 0 < value < self.threshold else SHOWN
        return out

    def solve(self, unrecorded: Callable[[set[Hashable]], dict[Hashable, int]]) -> None:
        """Protect the collected counts together.

        ``unrecorded`` gives the counts of the base cells of incidents without a
        recorded victim gender. Where there are none, a reader may take a category's
        victims by gender as its whole count (the Farsta case of issue 11: 9 våld/hot mot
        tjänsteman, 6 men, 0 other, so 3 women), so those cells count as a shown 0.
        """
        parts = {p for f in self.figures.values() for p in f.parts if p[2] is None}
        known = [Figure(("unrecorded", p), 0, frozenset({p}), fixed=True)
                 for p, n in unrecorded(parts).items() if n == 0]
        self.final = protect([*self.figures.values(), *known], self.threshold)


def unrecorded_counts(frames: dict[str, pd.DataFrame], parts: set[Hashable]
                      ) -> dict[Hashable, int]:
    """Counts of the base cells ``(scope, category, None, period code)`` in ``parts``:
    incidents of a category without a recorded victim gender in a period, of the frame
    of ``scope`` (its rows' ``occurred_at``, ``category`` and ``victim_gender``)."""
    out: dict[Hashable, int] = {}
    for code in {p[3] for p in parts}:
        period = parse_period(code)
        counts = {}
        for scope, frame in frames.items():
            sel = frame[_in_period(frame["occurred_at"], period)
                        & frame["victim_gender"].isna().to_numpy()]
            counts[scope] = sel["category"].value_counts()
        for p in parts:
            if p[3] == code:
                out[p] = int(counts[p[0]].get(p[1], 0))
    return out


@dataclass
class _Context:
    """What the table builders share while one brief is made."""

    data: CityData
    area: Area
    period: Period
    comparison: Period
    threshold: int
    population: int | None
    comparison_population: int | None
    city_population: int | None
    local: _Counter
    city: _Counter
    footnotes: list[str]
    #: the instant findings and sites are taken at (see :func:`as_of_time`)
    as_of: pd.Timestamp
    #: threshold for counts of findings (0: shown exactly, see build_brief)
    findings_threshold: int = 0
    #: the document-wide suppression of incident counts (see :class:`Protection`)
    protection: Protection | None = None
    #: time-to-fix targets (:func:`layers.indicators.parse_promises`)
    promises: dict[str, dict[str, float]] | None = None

    def note(self, text: str) -> None:
        if text not in self.footnotes:
            self.footnotes.append(text)

    def statuses(self, table: str, values: np.ndarray,
                 parts: Callable[[int, int], set[Hashable]],
                 last: Iterable[tuple[int, int]] = ()) -> np.ndarray:
        """The suppression status of a table's counts under the brief's protection."""
        if self.protection is None:
            self.protection = Protection(self.threshold)
        return self.protection.statuses(table, values, parts, last)

    def parts(self, categories: Iterable[str], genders: Iterable[str | None],
              period: Period, city: bool = False) -> set[Hashable]:
        """The base cells of a count of the area's incidents (``city``: the whole
        city's) of ``categories`` and victim ``genders`` in ``period``."""
        scopes = ("L", "R") if city else ("L",)
        return {(scope, c, g, period.code) for scope in scopes for c in categories
                for g in genders if g in self.genders.get(c, ())}

    @cached_property
    def genders(self) -> dict[str, set[str | None]]:
        """Per category, the victim genders (None: not recorded) the data hold at all.

        A reader may know that a category always records the victim's gender (then its
        victims by gender add up to its count), so a combination the data never hold is
        no base cell of any count.
        """
        frame = self.data.incidents
        out: dict[str, set[str | None]] = {}
        if frame.empty:
            return out
        pairs = frame[["category", "victim_gender"]].astype(object)
        for c, g in set(zip(pairs["category"], pairs["victim_gender"], strict=True)):
            out.setdefault(c, set()).add(None if pd.isna(g) else g)
        return out


def _rate_rows(ctx: _Context, key: str, caption: str, row_header: str,
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


def _groups_table(ctx: _Context) -> Table:
    rows = [(g, label, (g,)) for g, label in INCIDENT_GROUPS.items()]
    return _rate_rows(ctx, "groups", "Kategorigrupper: antal, per 1 000 invånare och "
                      "förändring", "Kategorigrupp",
                      rows, ("alla", "Alla händelser"), column="group",
                      last=[(-1, 0), (-1, 1)])


def _strategic_table(ctx: _Context) -> Table:
    rows = [(c, _CATEGORY[c].label.capitalize(), (c,)) for c in STRATEGIC_CODES]
    return _rate_rows(ctx, "strategic", "Strategiska brott: antal, per 1 000 invånare och "
                      "förändring", "Brott", rows, ("strategiska", "Strategiska brott totalt"),
                      last=[(-1, 0)])


def _gender_table(ctx: _Context) -> Table:
    """Incidents by the victim's gender with rates, the comparable period and the city."""
    rows = [(g, label.capitalize(), (g,)) for g, label in
            (("kvinna", "kvinna/flicka"), ("man", "man/pojke"), ("annat", "annat/okänt"))]
    table = _rate_rows(ctx, "gender", "Brottsoffrets kön: antal, per 1 000 invånare och "
                       "förändring", "Brottsoffer", rows, ("kant", "Känt kön totalt"),
                       column="victim_gender", last=[(0, 0), (1, 0)])
    table.notes.append("Bara händelser där brottsoffrets kön är registrerat. Per 1 000 "
                       "invånare räknas mot hela befolkningen.")
    return table


def _victims_table(ctx: _Context) -> Table:
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
    sel = frame[_in_period(frame["occurred_at"], ctx.period)
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


def _trend(ctx: _Context) -> tuple[Table, list[TrendPoint]]:
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
        city_pop = ctx.data.city_population(_year_of(p))[0]
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


def _year_of(period: Period) -> int:
    """The year whose population a period is measured against (its middle day's)."""
    return (period.start + (period.end - period.start) / 2).year


def _population(ctx: _Context, period: Period) -> tuple[int | None, int | None]:
    return ctx.data.population_of(ctx.area.code, _year_of(period))


#: Status groups of the findings tables: key -> (Swedish label, statuses).
FINDING_STATUS_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "oppna": ("Öppna", OPEN_STATUSES),
    "atgardad": ("Åtgärdade", ("atgardad",)),
    "avvisad": ("Avvisade", ("avvisad",)),
}


@dataclass
class Findings:
    """The tables of the findings section."""

    status: Table
    by_category: Table
    by_owner: Table
    oldest: Table
    median_days: Cell
    #: promises kept: share fixed within target per category, overdue at the end
    promises: Table | None = None


def _findings_tables(ctx: _Context) -> Findings:
    """Findings found up to the period's end, each with its status at the end."""
    frame = ctx.data.findings
    start, end = _bounds(ctx.period)
    sel = findings_as_of(frame[ctx.area.mask(frame)] if not frame.empty else frame,
                         ctx.data.history, end)
    in_period = (sel["found_at"] >= start).to_numpy() if not sel.empty else np.zeros(0, bool)

    # by status: found during the period, and everything found up to its end
    statuses = list(FINDING_STATUSES)
    values = np.zeros((len(statuses) + 1, 2), dtype=np.int64)
    for i, s in enumerate(statuses):
        is_s = (sel["status"] == s).to_numpy() if not sel.empty else np.zeros(0, bool)
        values[i] = [int((is_s & in_period).sum()), int(is_s.sum())]
    values[-1] = values[:-1].sum(axis=0)
    status = suppress(values, column_lines(len(statuses) + 1, range(2)), ctx.findings_threshold)
    labels = [FINDING_STATUSES[s].capitalize() for s in statuses] + ["Totalt"]
    status_table = Table("findings_status", "Fynd efter status", "Status", [
        ("period", "Registrerade under perioden"),
        ("all", f"Registrerade t.o.m. {format_date(ctx.period.end)}"),
    ], [Row(k, label, {c: count_cell(int(values[i, j]), status[i, j], ctx.findings_threshold)
                       for j, c in enumerate(("period", "all"))}, total=k == "totalt")
        for i, (k, label) in enumerate(zip([*statuses, "totalt"], labels, strict=True))])
    status_table.notes.append(f"Fynd i området; {_status_when(ctx)}.")

    groups = list(FINDING_STATUS_GROUPS)

    def crosstab(key: str, caption: str, header: str, column: str,
                 row_keys: list[str], row_labels: list[str], with_median: bool) -> Table:
        values = np.zeros((len(row_keys) + 1, len(groups) + 1), dtype=np.int64)
        parts = []
        for i, rk in enumerate(row_keys):
            part = sel[(sel[column].fillna("") == rk).to_numpy()] if not sel.empty else sel
            parts.append(part)
            for j, g in enumerate(groups):
                values[i, j] = int(part["status"].isin(FINDING_STATUS_GROUPS[g][1]).sum()) \
                    if not part.empty else 0
        values[:, -1] = values[:, :-1].sum(axis=1)
        values[-1] = values[:-1].sum(axis=0)
        n_rows, n_cols = values.shape
        lines = column_lines(n_rows, range(n_cols)) + row_lines(range(n_rows), n_cols)
        status = suppress(values, lines, ctx.findings_threshold)
        rows = []
        for i, (rk, label) in enumerate(zip([*row_keys, "totalt"], [*row_labels, "Totalt"],
                                            strict=True)):
            if with_median and i < len(row_keys) and values[i, -1] == 0:
                continue  # owners without findings are left out; categories always shown
            cells = {g: count_cell(int(values[i, j]), status[i, j], ctx.findings_threshold)
                     for j, g in enumerate([*groups, "totalt"])}
            if with_median:
                cells["median_days"] = _median_days(parts[i] if i < len(parts) else sel,
                                                    ctx.period)
            rows.append(Row(rk, label, cells, total=rk == "totalt"))
        columns = [(g, FINDING_STATUS_GROUPS[g][0]) for g in groups] + [("totalt", "Totalt")]
        if with_median:
            columns.append(("median_days", "Mediantid till åtgärd (dagar)"))
        return Table(key, caption, header, columns, rows)

    categories = [c.code for c in FINDING_CATEGORIES]
    by_category = crosstab("findings_category", "Fynd efter kategori", "Kategori",
                           "category", categories,
                           [_FINDING_LABEL[c].capitalize() for c in categories], False)
    by_category.notes.append(f"Fynd registrerade t.o.m. {format_date(ctx.period.end)}. "
                             "Öppna = ny eller tilldelad.")
    by_owner = crosstab("findings_owner", "Fynd efter ansvarig", "Ansvarig", "owner",
                        [*OWNERS, ""], [OWNERS[o].capitalize() for o in OWNERS]
                        + ["Ej angiven"], True)
    by_owner.notes.append("Ansvarig och status vid periodens slut. Mediantid från fynd till "
                          "åtgärd, för fynd åtgärdade under perioden (– = inga åtgärdade fynd "
                          "med datum under perioden).")

    open_ = sel[sel["status"].isin(OPEN_STATUSES).to_numpy()] if not sel.empty else sel
    if not open_.empty:
        open_ = open_.sort_values(["found_at", "id"]).head(OLDEST_OPEN)
    oldest_rows = []
    for f in open_.itertuples(index=False):
        days = (ctx.as_of - f.found_at).days
        owner = OWNERS.get(f.owner, f.owner) if isinstance(f.owner, str) and f.owner \
            else "ej angiven"
        oldest_rows.append(Row(f.id, format_date(f.found_at), {
            "category": Cell.label(_FINDING_LABEL.get(f.category, f.category).capitalize()),
            "description": Cell.label(f.description if isinstance(f.description, str)
                                      else ""),
            "owner": Cell.label(owner),
            "status": Cell.label(FINDING_STATUSES.get(f.status, f.status)),
            "days_open": Cell(format_int(days), float(days)),
        }))
    oldest = Table("oldest_open", "Äldsta öppna fynd", "Fynddatum", [
        ("category", "Kategori"), ("description", "Beskrivning"), ("owner", "Ansvarig"),
        ("status", "Status"), ("days_open", "Dagar öppet"),
    ], oldest_rows)
    oldest.notes.append(f"Dagar öppet räknas till {format_date(_last_day(ctx))}; "
                        f"{_status_when(ctx)}.")
    if not oldest_rows:
        oldest.notes.append("Inga öppna fynd i området.")
    return Findings(status_table, by_category, by_owner, oldest,
                    _median_days(sel, ctx.period), _promises_table(ctx, sel))


def _promises_table(ctx: _Context, sel: pd.DataFrame) -> Table:
    """Per category with a target: fixed in the period, within target, share, overdue at
    the period's end (computed by :mod:`layers.indicators`)."""
    targets = ctx.promises if ctx.promises is not None else parse_promises(None)
    kept = share_within_target(sel, targets, ctx.period, "category").set_index("key")
    late = overdue(sel, targets, ctx.as_of)["category"].value_counts()
    rows = []
    for code in targets:
        fixed, within = (int(kept.loc[code, "fixed"]), int(kept.loc[code, "within"])) \
            if code in kept.index else (0, 0)
        small = [0 < n < ctx.findings_threshold for n in (fixed, within, fixed - within)]
        hidden = any(small)
        rows.append(Row(code, _FINDING_LABEL.get(code, code).capitalize(), {
            "fixed": count_cell(fixed, PRIMARY if small[0] else SECONDARY if hidden else 0,
                                ctx.findings_threshold),
            "within": count_cell(within, PRIMARY if small[1] else SECONDARY if hidden else 0,
                                 ctx.findings_threshold),
            "share": Cell(HIDDEN) if hidden else Cell(
                format_share(within / fixed if fixed else None),
                within / fixed if fixed else None),
            "overdue": Cell(format_int(int(late.get(code, 0))), float(late.get(code, 0))),
        }))
    table = Table("promises", "Utlovad åtgärdstid", "Kategori", [
        ("fixed", "Åtgärdade under perioden"), ("within", "Inom utlovad tid"),
        ("share", "Andel inom tid"), ("overdue", "Försenade vid periodens slut")], rows)
    table.notes.append(f"{INDICATORS['within_target'].definition} Försenade: "
                       f"{INDICATORS['overdue'].definition}")
    return table


def _last_day(ctx: _Context) -> dt.date:
    """The last day the brief's findings and sites are taken at."""
    return (ctx.as_of - pd.Timedelta(microseconds=1)).date()


def _status_when(ctx: _Context) -> str:
    """"status vid periodens slut (…)" or, for a period not over yet, the day it is."""
    if ctx.as_of < _bounds(ctx.period)[1]:
        return f"status {format_date(_last_day(ctx))} (perioden pågår)"
    return f"status vid periodens slut ({format_date(ctx.period.end)})"


def _median_days(findings: pd.DataFrame, period: Period) -> Cell:
    """Median days from finding to fix, over findings fixed within ``period``."""
    from layers.indicators import median_days_to_fix

    value = median_days_to_fix(findings, period)
    return Cell(NOT_AVAILABLE) if value is None else Cell(format_days(value), value)


def _sites(ctx: _Context) -> tuple[Table, list[SiteSeries], gpd.GeoDataFrame]:
    from layers.indicators import area_sites

    chosen = area_sites(ctx.data, ctx.area, _last_day(ctx))
    periods = trend_periods(ctx.period)[-SITE_TREND_COLUMNS:]
    frame = ctx.data.incidents
    columns = [(p.code, p.short_label) for p in periods]
    rows, series = [], []
    for site in chosen.itertuples(index=False):
        pairs = site_counts(frame, site.geometry, [*periods, ctx.comparison])
        counts = [inside for inside, _ in pairs[:-1]]
        ring = pairs[len(periods) - 1][1]
        before = pairs[-1][0]
        covered = [ctx.data.covered(p) for p in periods]
        values = np.array([[*counts, before, ring]])
        status = suppress(values, [], ctx.threshold)[0]
        cells = {"status": Cell.label(SITE_STATUSES.get(site.status, site.status or "")),
                 "start": Cell.label(format_date(site.start_date))}
        for j, (p, ok) in enumerate(zip(periods, covered, strict=True)):
            cells[p.code] = count_cell(counts[j], status[j], ctx.threshold) if ok \
                else Cell(NOT_AVAILABLE)
        cells["ring"] = count_cell(ring, status[-1], ctx.threshold)
        has_before = ctx.data.covered(ctx.comparison)
        cells["change"] = change_cell(counts[-1], status[len(periods) - 1],
                                      before if has_before else None, status[-2])
        rows.append(Row(site.id, site.name, cells))
        series.append(SiteSeries(site.name, _as_date(site.start_date), [
            float(c) if (ok and s == SHOWN) else None
            for c, s, ok in zip(counts, status[:len(periods)], covered, strict=True)]))
    table = Table("sites", "Händelser per period i platserna", "Plats", [
        ("status", "Status"), ("start", "Start"), *columns,
        ("ring", f"Ringen {ctx.period.short_label}"),
        ("change", f"Förändring mot {ctx.comparison.short_label}"),
    ], rows)
    table.notes.append(f"{INDICATORS['site_inside'].definition} "
                       f"{INDICATORS['site_ring'].definition} Platser som startat senast "
                       f"{format_date(_last_day(ctx))}; status enligt registret (det har "
                       "inget slutdatum).")
    if not rows:
        table.notes.append("Ingen platssamverkan är registrerad i området.")
    return table, series, chosen


def _as_date(value) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def _priority(ctx: _Context) -> tuple[list[PriorityPlace], str]:
    """The top places from :mod:`layers.analysis.priority`, with its Swedish explanation."""
    from layers.analysis.priority import priority_for_store

    if ctx.data.store is None:
        raise ValueError("the priority ranking needs the store the data came from")
    result = priority_for_store(ctx.data.store, sdn=ctx.area.code, period=ctx.period,
                                limit=TOP_PLACES)
    places = []
    for p in result.places:
        # a brief is public: the count of the categories every count holds (never the
        # sensitive ones), and no score (it weighs them in: handläggare and admin only)
        status = suppress(np.array([[p.counted]]), [], ctx.threshold)[0, 0]
        # the plain first sentence, as on /priority (the statistics stay there)
        reason = p.first_sentence or p.text
        places.append(PriorityPlace(p.rank, p.name, p.geometry,
                                    count_cell(p.counted, status, ctx.threshold),
                                    Cell(format_rate(p.score), float(p.score)), [reason]))
    source = (f"Rangordning enligt Trygghetskartans prioriteringsmetod: rutor om "
              f"{result.cell_size:.0f} m, händelser viktade efter kategori, Getis-Ord Gi* "
              "med korrektion för många test, öppna fynd, trend och platssamverkan. "
              "Bara händelser med känd adress eller gata.")
    if result.message:
        source += " " + result.message
    return places, source


def _places_table(places: list[PriorityPlace], source: str) -> Table:
    rows = [Row(str(p.rank), str(p.rank), {
        "name": Cell.label(p.name), "incidents": p.incidents,
        "reasons": Cell.label("; ".join(p.reasons)),
    }) for p in places]
    table = Table("places", "De högst rankade platserna och skälen", "Nr", [
        ("name", "Plats"), ("incidents", "Händelser"), ("reasons", "Skäl"),
    ], rows)
    table.notes.append("Händelser: utom sexualbrott och våld i nära relation, som ingår i "
                       "rangordningen men redovisas bara per stadsdelsområde.")
    table.notes.append(source)
    if not rows:
        table.notes.append("Inga händelser i området under perioden.")
    return table


#: Summary row -> the indicator of each of its cells (the count column's first).
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


def _summary(ctx: _Context, groups: Table, strategic: Table, gender: Table,
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


def _highlights(ctx: _Context, summary: Table, victims: Table, oldest: Table,
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


def action_plan_table(store: Store | None, area: Area, as_of: pd.Timestamp, *,
                      running: bool = False, key: str = "action_plan",
                      caption: str = "Handlingsplan", due_by: dt.date | None = None) -> Table:
    """The area's actions as they stood at ``as_of`` (:func:`layers.domain.est.actions_as_of`):
    what, owner, deadline, status, follow-up. ``running``: ``as_of`` is now (the period
    is not over), so a change made this very instant counts. ``due_by``: only the
    actions to follow up by that day or past their deadline then (the weekly
    lägesbild's selection)."""
    actions, history, problems = est_core.load_plan(store, area.codes)
    until = as_of + pd.Timedelta(microseconds=1) if running else as_of
    then = est_core.actions_as_of(actions, history, until)
    day = (as_of - pd.Timedelta(microseconds=1)).date()
    titles = {str(i): str(t) for i, t in zip(problems["id"], problems["title"], strict=True)} \
        if not problems.empty else {}
    if not then.empty:
        late = est_core.late(then, day).to_numpy(bool)
        then = then.assign(late_now=late)
        if due_by is not None:
            follow = pd.to_datetime(then["follow_up"], errors="coerce")
            due = (follow.notna() & (follow <= pd.Timestamp(due_by))
                   & ~then["status"].isin(est_core.DONE_STATUSES)).to_numpy(bool)
            then = then[due | late]
    rows = []
    for a in then.itertuples(index=False) if not then.empty else ():
        status = ACTION_STATUSES.get(a.status, a.status)
        rows.append(Row(str(a.id), titles.get(str(a.problem_id), str(a.problem_id)), {
            "what": Cell.label(str(a.what)),
            "owner": Cell.label(str(a.owner)),
            "deadline": Cell.label(format_date(a.deadline) if pd.notna(a.deadline) else "–"),
            "status": Cell.label(status + (" (försenad)" if a.late_now else "")),
            "follow_up": Cell.label(format_date(a.follow_up) if pd.notna(a.follow_up)
                                    else "–"),
        }))
    table = Table(key, caption, "Problem", [
        ("what", "Åtgärd"), ("owner", "Ansvarig"), ("deadline", "Klar senast"),
        ("status", "Status"), ("follow_up", "Uppföljning")], rows)
    table.notes.append(f"Handlingsplanen som den såg ut {format_date(day)} (status enligt "
                       "åtgärdernas historik; senare ändringar syns inte här).")
    if not rows:
        table.notes.append("Inga åtgärder att följa upp." if due_by is not None
                           else "Handlingsplanen har inga åtgärder för perioden.")
    return table


def build_brief(store: Store | None, sdn: str, period: Period | str, *,
                data: CityData | None = None, threshold: int = SUPPRESS_BELOW,
                suppress_findings: bool = False,
                now: dt.datetime | pd.Timestamp | None = None,
                promises: dict[str, dict[str, float]] | None = None) -> Brief:
    """Compute the brief of one stadsdelsområde (code or name) for one period.

    Pass ``data`` from :func:`load_city_data` to make several briefs of the same period
    without reading the store again. Counts of incidents are suppressed below
    ``threshold``; counts of findings only with ``suppress_findings`` (findings describe
    places, not people, and the brief lists the oldest ones one by one anyway).

    Findings and sites are taken as they were at the period's end (see
    :func:`as_of_time`); ``now`` (default :func:`layers.core.clock.now`) only dates the brief
    ("Framtagen") and caps a period that is not over yet, so a brief for a closed
    period has the same figures whenever it is made.
    """
    period = _as_period(period)
    if data is None:
        if store is None:
            raise ValueError("build_brief needs a store or loaded data")
        data = load_city_data(store, period)
    start, end = _window(periods_needed(period))
    if start < data.window[0] or end > data.window[1]:
        raise ValueError("the loaded data do not cover this period")
    area = data.area(sdn)
    now = clock.now() if now is None else clock.as_local(now)
    comparison = period.year_before()
    footnotes: list[str] = []
    population, pop_year = data.population_of(area.code, _year_of(period))
    city_pop, city_years = data.city_population(_year_of(period))
    ctx = _Context(data, area, period, comparison, threshold, population,
                   data.population_of(area.code, _year_of(comparison))[0], city_pop,
                   _Counter(data, area), _Counter(data, None), footnotes,
                   as_of=as_of_time(period, now),
                   findings_threshold=threshold if suppress_findings else 0,
                   protection=Protection(threshold), promises=promises)
    _division_notes(ctx)
    _population_notes(ctx, pop_year, city_years)
    # twice: the first pass collects every incident count of the brief, the second
    # builds the tables with the statuses protected across the whole document
    for _ in range(2):
        groups = _groups_table(ctx)
        strategic = _strategic_table(ctx)
        victims = _victims_table(ctx)
        gender = _gender_table(ctx)
        trend, points = _trend(ctx)
        if ctx.protection.final is None:
            ctx.protection.solve(partial(unrecorded_counts, {
                "L": ctx.local.table,
                "R": ctx.city.table[~ctx.city.table["id"].isin(ctx.local.table["id"])
                                    .to_numpy()]}))
    place_list, source = _priority(ctx)
    places = _places_table(place_list, source)
    findings = _findings_tables(ctx)
    sites, series, site_frame = _sites(ctx)
    values = area_values(data, area, period, now)
    summary = _summary(ctx, groups, strategic, gender, findings, values)
    ctx.note(f"Förändring jämfört med {comparison.label} (samma period året innan). "
             "Vad varje nyckeltal räknar står i bilagan Definitioner.")
    if not data.covered(comparison):
        ctx.note(f"Jämförelseperioden {comparison.label} saknas i underlaget (det börjar "
                 f"{format_date(data.data_start)}); förändringen kan inte beräknas.")
    frame = ctx.local.table
    demo = bool((frame["source"] == "demo").any()) if not frame.empty else False
    return Brief(
        area=area, period=period, comparison=comparison, created=now.date(),
        as_of=_last_day(ctx), threshold=threshold,
        population=population, population_year=pop_year, summary=summary,
        highlights=_highlights(ctx, summary, victims, findings.oldest, place_list), groups=groups,
        strategic=strategic, victims=victims, gender=gender, trend=trend, trend_points=points,
        places=places, place_list=place_list, places_source=source,
        findings=findings, sites=sites, site_series=series,
        action_plan=action_plan_table(data.store, area, ctx.as_of,
                                      running=ctx.as_of < _bounds(period)[1]),
        texts=read_texts(data.texts, area.code, period), footnotes=footnotes,
        method=method_notes(threshold), map=_map_data(data, area, place_list, site_frame),
        demo=demo)


def _division_notes(ctx: _Context) -> None:
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


def _population_notes(ctx: _Context, pop_year: int | None, city_years: set[int]) -> None:
    year = _year_of(ctx.period)
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


def _map_data(data: CityData, area: Area, places: list[PriorityPlace],
              sites: gpd.GeoDataFrame) -> MapData:
    land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
    members = land[land["code"].isin(area.stadsdelar)].reset_index(drop=True)
    if area.geometry is not None:
        minx, miny, maxx, maxy = area.geometry.bounds
        pad = max(maxx - minx, maxy - miny) * 0.08
        box = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
        context = land[~land["code"].isin(area.stadsdelar) & land.intersects(box)]
    else:
        context = land.iloc[0:0]
    return MapData(outline=area.geometry, stadsdelar=members,
                   context=context.reset_index(drop=True), places=places,
                   sites=sites[["name", "geometry"]].reset_index(drop=True)
                   if not sites.empty else gpd.GeoDataFrame(
                       {"name": []}, geometry=[], crs=STORE_EPSG))


# --- the city overview --------------------------------------------------------------


#: The common indicators of the city overview: key -> Swedish column label.
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
    period = _as_period(period)
    if data is None:
        if store is None:
            raise ValueError("build_city_overview needs a store or loaded data")
        data = load_city_data(store, period)
    comparison = period.year_before()
    areas = data.current_areas
    year = _year_of(period)
    city_counter = _Counter(data, None)
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
        by_group = _Counter(data, area).by(period, "group")
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
    city_now = city_counter.table[_in_period(city_counter.table["occurred_at"], period)]
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
