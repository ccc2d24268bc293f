"""The EST cycle's core: ISO weeks, the weekly comparison, problems and the action plan
as of a date (layers/documents/weekly.py, layers/domain/est.py, the brief's Handlingsplan)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import geodata
from layers.core import clock
from layers.core.schema import LOCAL_TZ, STORE_EPSG
from layers.documents.brief import build_brief
from layers.documents.brief_render.weekly import render_weekly_html
from layers.documents.weekly import (
    WeekError,
    baseline_weeks,
    build_weekly,
    last_full_week,
    parse_week,
    week_code,
    week_period,
)
from layers.domain import est

# --- week arithmetic -------------------------------------------------------------------


def test_parse_week_is_monday_to_sunday():
    week = parse_week("2025-W48")
    assert (week.start, week.end) == (dt.date(2025, 11, 24), dt.date(2025, 11, 30))
    assert parse_week("2025w48") == week and week_code(week) == "2025-W48"
    # ISO week 1 of 2026 starts in December 2025
    assert parse_week("2026-W01").start == dt.date(2025, 12, 29)
    for bad in ("2025-48", "2025-W54", "2025-W00", "vecka 48", ""):
        with pytest.raises(WeekError):
            parse_week(bad)
    assert week_period(2020, 53).end == dt.date(2021, 1, 3)


@pytest.mark.parametrize(("today", "expected"), [
    ("2025-12-03", "2025-W48"),  # a Wednesday
    ("2025-12-01", "2025-W48"),  # Monday: the week before is the last full one
    ("2025-11-30", "2025-W47"),  # Sunday: its own week is not over yet
    ("2026-01-02", "2025-W52"),
])
def test_last_full_week(today, expected):
    assert week_code(last_full_week(dt.date.fromisoformat(today))) == expected


def test_last_full_week_defaults_to_the_clock():
    with clock.frozen("2025-12-03 10:00"):
        assert week_code(last_full_week()) == "2025-W48"


def test_baseline_is_the_same_week_and_one_either_side_a_year_earlier():
    codes = [week_code(w) for w in baseline_weeks(parse_week("2025-W48"))]
    assert codes == ["2024-W47", "2024-W48", "2024-W49"]
    # across the turn of the year
    assert [week_code(w) for w in baseline_weeks(parse_week("2025-W01"))] == \
        ["2023-W52", "2024-W01", "2024-W02"]
    # week 53 compares with the year before's last week (2019 has 52)
    assert [week_code(w) for w in baseline_weeks(parse_week("2020-W53"))] == \
        ["2019-W51", "2019-W52", "2020-W01"]
    # and a week 52 with a 53-week year before it
    assert [week_code(w) for w in baseline_weeks(parse_week("2021-W52"))] == \
        ["2020-W51", "2020-W52", "2020-W53"]


# --- the weekly figures on a store with known incidents --------------------------------

pytestmark_store = pytest.mark.both_stores


def _point(stadsdel: str, k: int) -> shapely.Point:
    sd = geodata.stadsdelar(crs=STORE_EPSG)
    p = sd.loc[sd["code"] == stadsdel, "geometry"].iloc[0].representative_point()
    return shapely.Point(p.x + (k % 5) * 3.0, p.y + (k // 5) * 3.0)


#: (local time, category, area, stadsdel) — Järva in week 48 2025 and the baseline.
KNOWN = [
    *[("2025-11-26 12:00", "misshandel", "jarva", "rinkeby")] * 5,
    ("2025-11-30 23:30", "misshandel", "jarva", "rinkeby"),   # Sunday night: in the week
    ("2025-12-01 00:10", "misshandel", "jarva", "rinkeby"),   # Monday: the next week
    ("2025-11-23 23:50", "misshandel", "jarva", "rinkeby"),   # Sunday before: not in it
    *[("2025-11-27 15:00", "stold", "jarva", "rinkeby")] * 5,
    ("2025-11-27 15:00", "sexualbrott", "jarva", "rinkeby"),  # never in a total
    *[("2025-11-27 15:00", "stold", "sodermalm", "sodermalm")] * 9,  # another area
    # baseline: 2024 weeks 47 (18–24 Nov), 48 (25 Nov–1 Dec), 49 (2–8 Dec)
    *[("2024-11-20 12:00", "misshandel", "jarva", "rinkeby")] * 3,
    *[("2024-11-27 12:00", "misshandel", "jarva", "rinkeby")] * 3,
    *[("2024-12-04 12:00", "misshandel", "jarva", "rinkeby")] * 3,
    *[("2024-11-21 12:00", "stold", "jarva", "rinkeby")] * 2,
    *[("2024-11-28 12:00", "stold", "jarva", "rinkeby")] * 2,
    *[("2024-12-05 12:00", "stold", "jarva", "rinkeby")] * 2,
    *[("2024-12-09 12:00", "stold", "jarva", "rinkeby")] * 7,  # week 50: outside
]


def _known_frame() -> gpd.GeoDataFrame:
    frame = pd.DataFrame({
        "id": [f"t:{i}" for i in range(len(KNOWN))],
        "occurred_at": [pd.Timestamp(t, tz=LOCAL_TZ) for t, *_ in KNOWN],
        "category": [c for _, c, *_ in KNOWN],
        "source": "test", "precision": "exact",
        "victim_gender": pd.Series([None] * len(KNOWN), dtype=object),
        "description": "testhändelse",
        "strategic": False,
        "sensitive": [c == "sexualbrott" for _, c, *_ in KNOWN],
        "stadsdel": [s for *_, s in KNOWN],
        "sdo_code": [a for _, _, a, _ in KNOWN],
        "sdo_name": ["Järva" if a == "jarva" else "Södermalm" for _, _, a, _ in KNOWN],
        "site_id": pd.Series([None] * len(KNOWN), dtype=object),
    })
    return gpd.GeoDataFrame(frame, geometry=[_point(s, k) for k, (*_, s) in enumerate(KNOWN)],
                            crs=STORE_EPSG)


@pytest.fixture
def known(store):
    store.write({"incidents": _known_frame()})
    return store


def _texts(table) -> dict[str, dict[str, str]]:
    return {r.key: {k: c.text for k, c in r.cells.items()} for r in table.rows}


@pytestmark_store
def test_week_against_the_weekly_average_of_the_same_weeks_a_year_earlier(known):
    report = build_weekly(known, "Järva", "2025-W48", now=pd.Timestamp("2026-02-01",
                                                                      tz=LOCAL_TZ))
    rows = _texts(report.incidents)
    assert rows["vald"] == {"week": "6", "average": "3,0", "difference": "+3,0"}
    assert rows["egendom"] == {"week": "5", "average": "2,0", "difference": "+3,0"}
    assert rows["total"] == {"week": "11", "average": "5,0", "difference": "+6,0"}
    assert rows["narkotika"]["week"] == "0"
    # the sensitive categories: their own count, suppressed, never in a total
    assert rows["sensitive"]["week"] == "<5"
    assert report.code == "2025-W48" and report.as_of == dt.date(2025, 11, 30)
    assert [week_code(w) for w in report.baseline] == ["2024-W47", "2024-W48", "2024-W49"]


@pytestmark_store
def test_small_counts_are_hidden_and_cannot_be_derived(known):
    # a week with 1 misshandel: its group hides it, and so does the total (or another
    # figure), so the hidden count cannot be worked out from the shown ones
    report = build_weekly(known, "Järva", "2025-W49", now=pd.Timestamp("2026-02-01",
                                                                      tz=LOCAL_TZ))
    rows = _texts(report.incidents)
    assert rows["vald"]["week"] == "<5"
    assert rows["total"]["week"] in ("<5", "..")
    assert rows["vald"]["difference"] == ".."


@pytestmark_store
def test_a_closed_week_renders_the_same_whenever_it_is_made(known):
    pages = []
    for now in ("2025-12-03 09:00", "2026-06-01 18:00"):
        with clock.frozen(now):
            pages.append(render_weekly_html(build_weekly(known, "jarva", "2025-W48")))
    assert pages[0] == pages[1]
    assert "Veckolägesbild Järva, vecka 48 2025" in pages[0]


@pytestmark_store
def test_default_week_is_the_last_full_one(known):
    with clock.frozen("2025-12-03 10:00"):
        assert build_weekly(known, "jarva").code == "2025-W48"


# --- problems and actions --------------------------------------------------------------


def _problem(store) -> pd.Series:
    with clock.frozen("2025-11-20 10:00"):
        problem_id, errors = est.create_problem(
            store, {"sdo_code": "jarva", "title": "Otrygg gångtunnel", "kind": "tema"},
            user="anna")
    assert not errors
    return est.get_problem(store, problem_id)


@pytestmark_store
def test_problem_scores_and_matrix(store):
    problem = _problem(store)
    assert est.score_problem(store, problem["id"], "6", "2") is not None
    assert est.score_problem(store, problem["id"], "4", "3", "bevakas") is None
    stored = est.get_problem(store, problem["id"])
    assert (stored["need"], stored["influence"], stored["status"]) == (4, 3, "bevakas")
    cells = est.matrix(est.problems_of(store, "jarva"))
    assert [p["id"] for p in cells[(4, 3)]] == [problem["id"]]
    log = store.read("audit_log")
    assert set(log.loc[log["kind"] == "problem", "action"]) == {"create", "update"}


@pytestmark_store
def test_action_needs_what_and_owner_and_a_real_site_measure(store):
    problem = _problem(store)
    errors = est.add_action(store, problem, {"what": "", "owner": "x"}, user="anna")
    assert [e.field for e in errors] == ["what"]
    errors = est.add_action(store, problem, {"what": "Belysning", "owner": "trafikkontoret",
                                             "measure_id": "finns-inte"}, user="anna")
    assert [e.field for e in errors] == ["measure_id"]
    assert store.read("actions").empty and store.read("action_history").empty


@pytestmark_store
def test_a_closed_periods_brief_shows_the_action_plan_as_it_stood_then(store):
    problem = _problem(store)
    with clock.frozen("2025-11-20 10:00"):
        assert est.add_action(store, problem, {
            "what": "Byt belysning i tunneln", "owner": "trafikkontoret",
            "deadline": "2025-12-15", "follow_up": "2025-11-28"}, user="anna") == []
    action_id = est.actions_of(store, problem_id=problem["id"])["id"].iloc[0]
    with clock.frozen("2025-12-05 10:00"):
        assert est.update_action(store, action_id, {"status": "klar"}, user="anna") == []
    later = pd.Timestamp("2026-03-01", tz=LOCAL_TZ)
    november = build_brief(store, "jarva", "2025-11", now=later).action_plan
    december = build_brief(store, "jarva", "2025-12", now=later).action_plan
    october = build_brief(store, "jarva", "2025-10", now=later).action_plan
    assert [r.cells["status"].text for r in november.rows] == ["planerad"]
    assert november.rows[0].label == "Otrygg gångtunnel"
    assert november.rows[0].cells["follow_up"].text == "2025-11-28"
    assert [r.cells["status"].text for r in december.rows] == ["klar"]
    assert october.rows == []  # the action did not exist yet
    # a later change leaves the closed November brief as it was
    with clock.frozen("2026-01-10 10:00"):
        assert est.update_action(store, action_id, {"status": "installd",
                                                    "follow_up": "2026-02-01"},
                                 user="anna") == []
    again = build_brief(store, "jarva", "2025-11", now=later).action_plan
    assert [(r.cells["status"].text, r.cells["follow_up"].text) for r in again.rows] == \
        [("planerad", "2025-11-28")]
    history = store.read("action_history")
    assert sorted(history["status"]) == ["installd", "klar", "planerad"]


@pytestmark_store
def test_weekly_site_activity_is_the_weeks_measures_and_log(known):
    from layers.domain import sites

    point = _point("rinkeby", 0)
    known.write({"sites": gpd.GeoDataFrame({
        "id": ["t:site"], "name": ["Rinkeby torg"], "status": ["aktiv"],
        "start_date": [dt.date(2024, 1, 1)], "sdo_code": ["jarva"], "sdo_name": ["Järva"]},
        geometry=[shapely.MultiPolygon([point.buffer(50)])], crs=STORE_EPSG)})
    with clock.frozen("2025-11-25 09:00"):
        assert sites.add_measure(known, "t:site", {"measure": "Städning av torget",
                                                   "owner": "fastighetsägaren"},
                                 user="anna") == []
    with clock.frozen("2025-12-02 09:00"):  # the week after: not in week 48
        assert sites.add_measure(known, "t:site", {"measure": "Kameror", "owner": "polisen"},
                                 user="anna") == []
    assert sites.add_log_entry(known, "t:site", {"date": "2025-11-27", "kind": "mote",
                                                 "note": "Trygghetsmöte"}, user="anna") == []
    assert sites.add_log_entry(known, "t:site", {"date": "2025-11-23", "kind": "mote",
                                                 "note": "Veckan innan"}, user="anna") == []
    report = build_weekly(known, "jarva", "2025-W48",
                          now=pd.Timestamp("2026-01-01", tz=LOCAL_TZ))
    rows = [(r.label, r.cells["site"].text, r.cells["kind"].text, r.cells["text"].text)
            for r in report.sites.rows]
    assert rows == [
        ("2025-11-25", "Rinkeby torg", "Åtgärd: ny åtgärd, status planerad",
         "Städning av torget"),
        ("2025-11-27", "Rinkeby torg", "Möte", "Trygghetsmöte"),
    ]
