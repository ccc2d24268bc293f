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

The modules, by concern (this package re-exports their public names):

* :mod:`~layers.documents.brief.tables`: the value types (cells, rows, tables) and
  suppression within one table;
* :mod:`~layers.documents.brief.model`: the :class:`Brief` value and its parts;
* :mod:`~layers.documents.brief.texts`: the secretary's own texts;
* :mod:`~layers.documents.brief.protection`: document-wide protection of small counts
  and the context the sections share;
* :mod:`~layers.documents.brief.incidents`, :mod:`~layers.documents.brief.findings`,
  :mod:`~layers.documents.brief.places`, :mod:`~layers.documents.brief.summary`: the
  sections;
* :mod:`~layers.documents.brief.build`: :func:`build_brief` and the EST action plan;
* :mod:`~layers.documents.brief.overview`: :func:`build_city_overview`.

The areas and the loaded data (:class:`Area`, :class:`CityData`, :func:`load_city_data`)
are the indicators' (:mod:`layers.indicators.citydata`); they are re-exported here.
"""

from __future__ import annotations

from layers.documents.brief.build import (  # noqa: F401
    action_plan_table,
    build_brief,
)
from layers.documents.brief.findings import (  # noqa: F401
    FINDING_STATUS_GROUPS,
    findings_tables,
    last_day_of,
)
from layers.documents.brief.incidents import (  # noqa: F401
    gender_table,
    groups_table,
    strategic_table,
    trend_table,
    victims_table,
)
from layers.documents.brief.model import (  # noqa: F401
    OLDEST_OPEN,
    SECTION_HEADINGS,
    TEXT_FIELDS,
    TEXT_MAX_LENGTH,
    TOP_PLACES,
    Brief,
    Findings,
    MapData,
    PriorityPlace,
    SiteSeries,
    TrendPoint,
)
from layers.documents.brief.overview import (  # noqa: F401
    CITY_COLUMN_GROUPS,
    CITY_COLUMNS,
    CITY_FIGURES,
    CityOverview,
    build_city_overview,
)
from layers.documents.brief.places import (  # noqa: F401
    SITE_TREND_COLUMNS,
    map_data,
    places_table,
    priority_places,
    sites_table,
)
from layers.documents.brief.protection import (  # noqa: F401
    ALL_GENDERS,
    AreaCounter,
    BriefContext,
    Protection,
    unrecorded_counts,
)
from layers.documents.brief.summary import (  # noqa: F401
    SUMMARY_FIGURES,
    division_notes,
    highlights,
    method_notes,
    population_notes,
    summary_table,
)
from layers.documents.brief.tables import (  # noqa: F401
    PRIMARY,
    SECONDARY,
    SHOWN,
    SUPPRESS_BELOW,
    Cell,
    Row,
    Table,
    change_cell,
    column_lines,
    count_cell,
    format_date,
    rate_cell,
    row_lines,
    share_cell,
    suppress,
)
from layers.documents.brief.texts import (  # noqa: F401
    load_texts,
    read_texts,
    save_texts,
    text_id,
)
from layers.indicators import (  # noqa: F401  (re-exported: the brief's older names)
    CHANGE_MIN_COUNT,
    HIDDEN,
    INDICATORS,
    MINUS,
    NBSP,
    NOT_AVAILABLE,
    TREND_PERIODS,
    Area,
    AreaValues,
    BriefError,
    CityData,
    area_values,
    as_of_time,
    data_span,
    find_area,
    findings_as_of,
    format_change,
    format_days,
    format_int,
    format_rate,
    format_share,
    in_period,
    latest_incident_time,
    load_areas,
    load_city_data,
    overdue,
    parse_promises,
    periods_needed,
    share_within_target,
    site_counts,
    sites_as_of,
    trend_periods,
)
