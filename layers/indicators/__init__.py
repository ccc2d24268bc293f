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

The modules, by concern (this package re-exports their public names):

* :mod:`~layers.indicators.definitions`: every indicator's code, name and definition;
* :mod:`~layers.indicators.formatting`: how a figure is written in Swedish;
* :mod:`~layers.indicators.citydata`: the areas and the data of a period
  (:func:`~layers.indicators.citydata.load_city_data`);
* :mod:`~layers.indicators.asof`: periods, and findings and sites as of an instant;
* :mod:`~layers.indicators.counts`: counts at a site and per week;
* :mod:`~layers.indicators.promises`: time-to-fix targets kept;
* :mod:`~layers.indicators.values`: a district's values (:func:`area_values`);
* :mod:`~layers.indicators.keyfigures`: the key figures of the map panel (cached).

May import: ``layers.core``, ``layers.store``, ``layers.io`` and ``layers.analysis``
(the per-store cache). No Flask here.
"""

from __future__ import annotations

from layers.indicators.asof import (
    as_of_time,
    days_to_fix,
    findings_as_of,
    in_period,
    last_day,
    median_days_to_fix,
    period_bounds,
    sites_as_of,
)
from layers.indicators.citydata import (
    TREND_PERIODS,
    Area,
    BriefError,
    CityData,
    as_period,
    data_span,
    find_area,
    latest_incident_time,
    load_areas,
    load_city_data,
    period_window,
    periods_needed,
    trend_periods,
)
from layers.indicators.counts import (
    classify,
    site_countable,
    site_counts,
    weekly_average,
    weekly_counts,
)
from layers.indicators.definitions import (
    AREA_CODES,
    CHANGE_MIN_COUNT,
    COMPARISON_RULE,
    INDICATORS,
    QUAD_SEGS,
    SITE_RING_M,
    WEEK_SPAN,
    Indicator,
    definition,
    definitions_markdown,
)
from layers.indicators.formatting import (
    HIDDEN,
    MINUS,
    NBSP,
    NOT_AVAILABLE,
    change_text,
    count_text,
    format_age,
    format_change,
    format_days,
    format_decimal,
    format_int,
    format_rate,
    format_share,
)
from layers.indicators.promises import (
    ANY_OWNER,
    DEFAULT_PROMISES,
    PromiseReport,
    overdue,
    parse_promises,
    promise_kept,
    promise_report,
    share_within_target,
    target_hours,
)
from layers.indicators.values import (
    ALL_CODES,
    AreaValues,
    area_findings,
    area_incidents,
    area_sites,
    area_values,
    site_values,
    year_of,
)

__all__ = [
    "AREA_CODES",
    "CHANGE_MIN_COUNT",
    "COMPARISON_RULE",
    "INDICATORS",
    "Indicator",
    "QUAD_SEGS",
    "SITE_RING_M",
    "WEEK_SPAN",
    "definition",
    "definitions_markdown",
    "HIDDEN",
    "MINUS",
    "NBSP",
    "NOT_AVAILABLE",
    "change_text",
    "count_text",
    "format_age",
    "format_change",
    "format_days",
    "format_decimal",
    "format_int",
    "format_rate",
    "format_share",
    "as_of_time",
    "days_to_fix",
    "findings_as_of",
    "in_period",
    "last_day",
    "median_days_to_fix",
    "period_bounds",
    "sites_as_of",
    "Area",
    "BriefError",
    "CityData",
    "TREND_PERIODS",
    "as_period",
    "data_span",
    "find_area",
    "latest_incident_time",
    "load_areas",
    "load_city_data",
    "period_window",
    "periods_needed",
    "trend_periods",
    "classify",
    "site_countable",
    "site_counts",
    "weekly_average",
    "weekly_counts",
    "ANY_OWNER",
    "DEFAULT_PROMISES",
    "PromiseReport",
    "overdue",
    "parse_promises",
    "promise_kept",
    "promise_report",
    "share_within_target",
    "target_hours",
    "ALL_CODES",
    "AreaValues",
    "area_findings",
    "area_incidents",
    "area_sites",
    "area_values",
    "site_values",
    "year_of",
]
