"""What a brief is made of: its sections, the places, trend points and map it shows, and
the :class:`Brief` value the renderers format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from layers.core.periods import Period
from layers.documents.brief.tables import Cell, Table
from layers.indicators import Area

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
