"""The brief's places: platssamverkan sites with their counts, the top priority places and
the static map's data.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import geodata
from layers.core.schema import (
    SITE_STATUSES,
    STORE_EPSG,
)
from layers.documents.brief.findings import last_day_of
from layers.documents.brief.model import TOP_PLACES, MapData, PriorityPlace, SiteSeries
from layers.documents.brief.protection import BriefContext
from layers.documents.brief.tables import (
    SHOWN,
    Cell,
    Row,
    Table,
    change_cell,
    count_cell,
    format_date,
    suppress,
)
from layers.indicators import (
    INDICATORS,
    NOT_AVAILABLE,
    Area,
    CityData,
    area_sites,
    format_rate,
    site_counts,
    trend_periods,
)

#: At most this many periods as columns of the platssamverkan table.
SITE_TREND_COLUMNS = 6


def sites_table(ctx: BriefContext) -> tuple[Table, list[SiteSeries], gpd.GeoDataFrame]:
    chosen = area_sites(ctx.data, ctx.area, last_day_of(ctx))
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
                       f"{format_date(last_day_of(ctx))}; status enligt registret (det har "
                       "inget slutdatum).")
    if not rows:
        table.notes.append("Ingen platssamverkan är registrerad i området.")
    return table, series, chosen


def _as_date(value) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def priority_places(ctx: BriefContext) -> tuple[list[PriorityPlace], str]:
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


def places_table(places: list[PriorityPlace], source: str) -> Table:
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




def map_data(data: CityData, area: Area, places: list[PriorityPlace],
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
