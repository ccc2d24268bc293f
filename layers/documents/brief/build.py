"""Making a brief: :func:`build_brief` puts the sections together for one area and period,
with the EST action plan as it stood then.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pandas as pd

from layers.core import clock
from layers.core.periods import Period
from layers.core.schema import ACTION_STATUSES
from layers.documents.brief.findings import findings_tables, last_day_of
from layers.documents.brief.incidents import (
    gender_table,
    groups_table,
    strategic_table,
    trend_table,
    victims_table,
)
from layers.documents.brief.model import Brief
from layers.documents.brief.places import map_data, places_table, priority_places, sites_table
from layers.documents.brief.protection import (
    AreaCounter,
    BriefContext,
    Protection,
    unrecorded_counts,
)
from layers.documents.brief.summary import (
    division_notes,
    highlights,
    method_notes,
    population_notes,
    summary_table,
)
from layers.documents.brief.tables import SUPPRESS_BELOW, Cell, Row, Table, format_date
from layers.documents.brief.texts import read_texts
from layers.domain import est as est_core
from layers.indicators import (
    Area,
    CityData,
    area_values,
    as_of_time,
    as_period,
    load_city_data,
    period_bounds,
    period_window,
    periods_needed,
    year_of,
)
from layers.store.base import Store


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
    period = as_period(period)
    if data is None:
        if store is None:
            raise ValueError("build_brief needs a store or loaded data")
        data = load_city_data(store, period)
    start, end = period_window(periods_needed(period))
    if start < data.window[0] or end > data.window[1]:
        raise ValueError("the loaded data do not cover this period")
    area = data.area(sdn)
    now = clock.now() if now is None else clock.as_local(now)
    comparison = period.year_before()
    footnotes: list[str] = []
    population, pop_year = data.population_of(area.code, year_of(period))
    city_pop, city_years = data.city_population(year_of(period))
    ctx = BriefContext(data, area, period, comparison, threshold, population,
                   data.population_of(area.code, year_of(comparison))[0], city_pop,
                   AreaCounter(data, area), AreaCounter(data, None), footnotes,
                   as_of=as_of_time(period, now),
                   findings_threshold=threshold if suppress_findings else 0,
                   protection=Protection(threshold), promises=promises)
    division_notes(ctx)
    population_notes(ctx, pop_year, city_years)
    # twice: the first pass collects every incident count of the brief, the second
    # builds the tables with the statuses protected across the whole document
    for _ in range(2):
        groups = groups_table(ctx)
        strategic = strategic_table(ctx)
        victims = victims_table(ctx)
        gender = gender_table(ctx)
        trend, points = trend_table(ctx)
        if ctx.protection.final is None:
            ctx.protection.solve(partial(unrecorded_counts, {
                "L": ctx.local.table,
                "R": ctx.city.table[~ctx.city.table["id"].isin(ctx.local.table["id"])
                                    .to_numpy()]}))
    place_list, source = priority_places(ctx)
    places = places_table(place_list, source)
    findings = findings_tables(ctx)
    sites, series, site_frame = sites_table(ctx)
    values = area_values(data, area, period, now)
    summary = summary_table(ctx, groups, strategic, gender, findings, values)
    ctx.note(f"Förändring jämfört med {comparison.label} (samma period året innan). "
             "Vad varje nyckeltal räknar står i bilagan Definitioner.")
    if not data.covered(comparison):
        ctx.note(f"Jämförelseperioden {comparison.label} saknas i underlaget (det börjar "
                 f"{format_date(data.data_start)}); förändringen kan inte beräknas.")
    frame = ctx.local.table
    demo = bool((frame["source"] == "demo").any()) if not frame.empty else False
    return Brief(
        area=area, period=period, comparison=comparison, created=now.date(),
        as_of=last_day_of(ctx), threshold=threshold,
        population=population, population_year=pop_year, summary=summary,
        highlights=highlights(ctx, summary, victims, findings.oldest, place_list), groups=groups,
        strategic=strategic, victims=victims, gender=gender, trend=trend, trend_points=points,
        places=places, place_list=place_list, places_source=source,
        findings=findings, sites=sites, site_series=series,
        action_plan=action_plan_table(data.store, area, ctx.as_of,
                                      running=ctx.as_of < period_bounds(period)[1]),
        texts=read_texts(data.texts, area.code, period), footnotes=footnotes,
        method=method_notes(threshold), map=map_data(data, area, place_list, site_frame),
        demo=demo)
