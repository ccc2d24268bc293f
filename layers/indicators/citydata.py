"""The city data every figure is computed from: the stadsdelsområden of both divisions
(:class:`Area`, with what each is made of across the 2023-07-01 change) and what one
period's figures read from the store, loaded once for all districts (:class:`CityData`,
:func:`load_city_data`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

import geodata
from layers.analysis.aggregate import ComputedPerStore, data_version
from layers.core.periods import Period, parse_period
from layers.core.schema import INCIDENT_CATEGORIES, LOCAL_TZ, STORE_EPSG
from layers.indicators.asof import period_bounds
from layers.store.base import Query, Store

#: Incidents of a window per store and incidents version (:func:`_window_incidents`).
_WINDOW_INCIDENTS = ComputedPerStore(4, 3600.0)

#: How many periods the trend covers, by kind of period (the brief's own included).
TREND_PERIODS = {"year": 5, "tertial": 6, "month": 12, "range": 4}

_GROUP_OF = {c.code: c.group for c in INCIDENT_CATEGORIES}


class BriefError(ValueError):
    """A brief cannot be made (unknown district, bad period); the message is Swedish."""


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
        return self.data_start is not None and period_bounds(period)[1] > self.data_start

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


def period_window(periods: Iterable[Period]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first start and the last end of ``periods``."""
    bounds = [period_bounds(p) for p in periods]
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
    period = as_period(period)
    start, end = period_window(periods_needed(period) if periods is None else periods)
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


def as_period(period: Period | str) -> Period:
    """A period from itself or its code; a bad code raises :class:`BriefError`."""
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
