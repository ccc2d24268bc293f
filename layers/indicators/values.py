"""A district's values: every indicator of one stadsdelsområde and period computed from
the loaded city data (:class:`AreaValues`), and the counts of its sites.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import shapely

from layers.core.periods import Period
from layers.core.privacy import PUBLIC_CATEGORY_CODES
from layers.core.schema import OPEN_STATUSES, SENSITIVE_CODES, STRATEGIC_CODES
from layers.indicators.asof import (
    as_of_time,
    findings_as_of,
    in_period,
    last_day,
    median_days_to_fix,
    sites_as_of,
)
from layers.indicators.citydata import Area, CityData
from layers.indicators.counts import site_counts
from layers.indicators.formatting import (
    HIDDEN,
    NOT_AVAILABLE,
    change_text,
    count_text,
    format_days,
    format_int,
    format_rate,
)


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
