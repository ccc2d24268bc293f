"""Area brief figures on a hand-built store: every number checked against the test's own.

The fixture writes a few incidents, findings and one platssamverkan site with
``store.write`` and sets known populations. The expected numbers are computed here
from the fixture's own lists (group and strategic membership written out by hand),
not with :mod:`layers.documents.brief`. Covers acceptance points 1 (numbers, rates, changes,
averages, suppression), 4 (the city overview, zeros for a district without
incidents) and 6 (Järva before the 2023-07-01 merger = Rinkeby-Kista + Spånga-Tensta).
"""

from __future__ import annotations

import re
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from infra import create_user, login

import geodata
from layers.core import clock
from layers.core.schema import LOCAL_TZ, STORE_EPSG
from layers.documents.brief import (
    CHANGE_MIN_COUNT,
    HIDDEN,
    NBSP,
    PRIMARY,
    SECONDARY,
    SECTION_HEADINGS,
    SHOWN,
    BriefError,
    build_brief,
    build_city_overview,
    change_cell,
    column_lines,
    load_city_data,
    load_texts,
    method_notes,
    row_lines,
    save_texts,
    suppress,
)

# every test here that uses a store runs on GeoPackage and on PostGIS
pytestmark = pytest.mark.both_stores

# --- the fixture ---------------------------------------------------------------------

#: Category -> group and strategic flag, written out independently of layers.core.schema.
GROUP = {"misshandel": "vald", "ran": "vald", "hot": "vald", "stold": "egendom",
         "narkotikabrott": "narkotika", "brand": "olycka", "ovrigt": "ovrigt"}
STRATEGIC = {"ran", "narkotikabrott"}

POPULATION = {  # (area, year) -> inhabitants
    **{(code, 2024): 10_000 for code in (
        "jarva", "enskede-arsta-vantor", "farsta", "hagersten-alvsjo", "hasselby-vallingby",
        "kungsholmen", "norra-innerstaden", "skarholmen", "skarpnack", "sodermalm")},
    ("bromma", 2024): 20_000,
    ("jarva", 2022): 8_000,
}
CITY_2024 = 120_000

SDO_NAMES = {"jarva": "Järva", "bromma": "Bromma", "sodermalm": "Södermalm",
             "rinkeby-kista": "Rinkeby-Kista", "spanga-tensta": "Spånga-Tensta",
             "norrmalm": "Norrmalm"}


def _point(stadsdel: str, k: int) -> shapely.Point:
    sd = geodata.stadsdelar(crs=STORE_EPSG)
    geom = sd.loc[sd["code"] == stadsdel, "geometry"].iloc[0]
    p = geom.representative_point()
    return shapely.Point(p.x + (k % 5) * 3.0, p.y + (k // 5) * 3.0)


def _incidents() -> list[dict]:
    """(date, category, area, stadsdel, victim gender, site) of every fixture incident."""
    rows = []

    def add(n, day, category, sdo, stadsdel, gender=None, site=None):
        for _ in range(n):
            rows.append(dict(day=day, category=category, sdo=sdo, stadsdel=stadsdel,
                             gender=gender, site=site))

    # Järva, tertial 2 2025 (May–August): 24 incidents
    add(6, "2025-05-15", "misshandel", "jarva", "rinkeby", "kvinna", "site-1")
    add(1, "2025-05-16", "misshandel", "jarva", "rinkeby", "kvinna")
    add(3, "2025-06-15", "misshandel", "jarva", "rinkeby", "man")
    add(2, "2025-06-16", "misshandel", "jarva", "rinkeby")
    add(3, "2025-07-01", "ran", "jarva", "rinkeby", "man")
    add(6, "2025-07-02", "stold", "jarva", "rinkeby")
    add(2, "2025-08-30", "narkotikabrott", "jarva", "rinkeby")
    add(1, "2025-08-31", "ovrigt", "jarva", "rinkeby")
    # Järva, tertial 2 2024: 16
    add(2, "2024-05-10", "misshandel", "jarva", "rinkeby", "kvinna", "site-1")
    add(2, "2024-05-11", "misshandel", "jarva", "rinkeby", "kvinna")
    add(4, "2024-06-10", "misshandel", "jarva", "rinkeby", "man")
    add(1, "2024-06-11", "ran", "jarva", "rinkeby")
    add(5, "2024-07-10", "stold", "jarva", "rinkeby")
    add(2, "2024-08-10", "ovrigt", "jarva", "rinkeby")
    # Järva, tertial 1 2025 and tertial 3 2023
    add(5, "2025-02-01", "hot", "jarva", "rinkeby")
    add(2, "2023-09-15", "hot", "jarva", "rinkeby")
    # other districts, tertial 2 2025
    add(4, "2025-06-01", "hot", "bromma", "abrahamsberg", "kvinna")
    add(10, "2025-06-01", "stold", "sodermalm", "sodermalm")
    add(6, "2025-07-01", "brand", "sodermalm", "sodermalm")
    # before the merger, tertial 1 2023
    add(5, "2023-02-01", "misshandel", "rinkeby-kista", "kista")
    add(6, "2023-03-01", "stold", "spanga-tensta", "tensta")
    add(2, "2023-03-02", "hot", "norrmalm", "norrmalm")
    return rows


def _incident_frame() -> gpd.GeoDataFrame:
    rows = _incidents()
    frame = pd.DataFrame({
        "id": [f"t:{i}" for i in range(len(rows))],
        "occurred_at": [pd.Timestamp(f"{r['day']} 12:00", tz=LOCAL_TZ) for r in rows],
        "category": [r["category"] for r in rows],
        "source": "test",
        "precision": "exact",
        "victim_gender": pd.Series([r["gender"] for r in rows], dtype=object),
        "description": "testhändelse",
        "strategic": [r["category"] in STRATEGIC for r in rows],
        "sensitive": False,
        "stadsdel": [r["stadsdel"] for r in rows],
        "sdo_code": [r["sdo"] for r in rows],
        "sdo_name": [SDO_NAMES[r["sdo"]] for r in rows],
        "site_id": pd.Series([r["site"] for r in rows], dtype=object),
    })
    geoms = [_point(r["stadsdel"], k) for k, r in enumerate(rows)]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORE_EPSG)


FINDINGS = [  # id, found, category, owner, status, fixed
    ("f1", "2025-03-01", "belysning", "trafikkontoret", "atgardad", "2025-03-11"),
    ("f2", "2025-05-10", "klotter", "bostadsbolag", "ny", None),
    ("f3", "2025-06-01", "belysning", "trafikkontoret", "atgardad", "2025-06-21"),
    ("f4", "2025-06-02", "nedskrapning", "trafikkontoret", "tilldelad", None),
    ("f5", "2025-09-15", "vegetation", "trafikkontoret", "ny", None),  # after the period
    ("f6", "2024-10-01", "skymd_sikt", "fastighetsagare", "avvisad", None),
]


def _findings_frame() -> gpd.GeoDataFrame:
    def ts(day):
        return pd.Timestamp(f"{day} 18:00", tz=LOCAL_TZ) if day else pd.NaT

    frame = pd.DataFrame({
        "id": [f[0] for f in FINDINGS],
        "found_at": [ts(f[1]) for f in FINDINGS],
        "category": [f[2] for f in FINDINGS],
        "severity": np.array([2] * len(FINDINGS), dtype="int64"),
        "description": [f"fynd {f[0]}" for f in FINDINGS],
        "owner": [f[3] for f in FINDINGS],
        "status": [f[4] for f in FINDINGS],
        "fixed_at": pd.Series([ts(f[5]) for f in FINDINGS]),
        "stadsdel": "rinkeby",
        "sdo_code": "jarva",
        "sdo_name": "Järva",
    })
    geoms = [_point("rinkeby", 40 + k) for k in range(len(FINDINGS))]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=STORE_EPSG)


def _site_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["site-1"], "name": ["Testtorget"], "status": ["aktiv"],
        "start_date": [pd.Timestamp("2024-01-01").date()],
        "sdo_code": ["jarva"], "sdo_name": ["Järva"],
    }, geometry=[_point("rinkeby", 0).buffer(60)], crs=STORE_EPSG)


@pytest.fixture
def fixture_store(store):
    population = pd.DataFrame([
        {"id": f"{code}:{year}", "sdo_code": code, "year": year, "population": n}
        for (code, year), n in POPULATION.items()])
    store.write({"population": population}, replace=("population",))
    store.write({"incidents": _incident_frame(), "findings": _findings_frame(),
                 "sites": _site_frame()})
    return store


def count(rows, **match) -> int:
    """Fixture incidents matching every given key (area, group, period bounds …)."""
    def ok(r):
        for key, value in match.items():
            if key == "period":
                start, end = value
                if not start <= r["day"] <= end:
                    return False
            elif key == "group":
                if GROUP[r["category"]] != value:
                    return False
            elif key == "strategic":
                if (r["category"] in STRATEGIC) != value:
                    return False
            elif key == "sdo":
                if r["sdo"] not in (value if isinstance(value, tuple) else (value,)):
                    return False
            elif r[key] != value:
                return False
        return True

    return sum(1 for r in rows if ok(r))


T2_2025 = ("2025-05-01", "2025-08-31")
T2_2024 = ("2024-05-01", "2024-08-31")
T1_2023 = ("2023-01-01", "2023-04-30")


def rate(n: int, population: int) -> float:
    return n / population * 1000


def pct(now: int, before: int) -> float:
    return (now - before) / before * 100


# --- suppression as a rule ---------------------------------------------------------------


def test_suppress_primary_and_secondary_in_one_column():
    values = np.array([[9], [5], [0], [0], [2], [16]])  # last row = total
    status = suppress(values, column_lines(6, [0]), 5)
    assert list(status[:, 0]) == [SHOWN, SECONDARY, SHOWN, SHOWN, PRIMARY, SHOWN]


def test_suppress_never_leaves_one_hidden_cell_in_a_line():
    rng = np.random.default_rng(7)
    for _ in range(200):
        body = rng.integers(0, 9, size=(4, 3))
        values = np.zeros((5, 4), dtype=int)
        values[:4, :3] = body
        values[:4, 3] = body.sum(axis=1)
        values[4] = values[:4].sum(axis=0)
        lines = column_lines(5, range(4)) + row_lines(range(5), 4)
        status = suppress(values, lines, 5)
        assert ((values > 0) & (values < 5) <= (status == PRIMARY)).all()
        for line in lines:
            hidden = [c for c in line if status[c] != SHOWN]
            shown_nonzero_other = [c for c in line if status[c] == SHOWN and values[c] > 0]
            # one hidden cell alone is only possible when nothing could hide it
            assert len(hidden) != 1 or not shown_nonzero_other


# --- acceptance 1: every number of a brief -------------------------------------------------


def test_brief_numbers_equal_independent_computation(fixture_store):
    rows = _incidents()
    brief = build_brief(fixture_store, "Järva", "2025-T2")
    assert brief.area.code == "jarva" and brief.population == 10_000
    city_now = count(rows, period=T2_2025)
    assert city_now == 44

    groups = brief.groups
    for group in ("vald", "egendom", "narkotika", "olycka", "ovrigt"):
        now = count(rows, sdo="jarva", group=group, period=T2_2025)
        cell = groups.cell(group, "count")
        if 0 < now < 5:
            assert cell.text == "<5" and cell.value is None
            assert groups.cell(group, "rate").text == HIDDEN
        else:
            assert cell.value == now
            assert groups.cell(group, "rate").value == pytest.approx(rate(now, 10_000))
    total_now = count(rows, sdo="jarva", period=T2_2025)
    total_before = count(rows, sdo="jarva", period=T2_2024)
    assert (total_now, total_before) == (24, 16)
    assert groups.cell("alla", "count").value == total_now
    assert groups.cell("alla", "rate").value == pytest.approx(2.4)
    assert groups.cell("alla", "previous").value == total_before
    # 16 is below the minimum for a per cent change: the two counts instead
    assert groups.cell("alla", "change").value is None
    assert groups.cell("alla", "change").text == f"16{NBSP}→{NBSP}24"
    assert groups.cell("alla", "city_rate").value == pytest.approx(rate(44, CITY_2024))
    vald_now = count(rows, sdo="jarva", group="vald", period=T2_2025)
    vald_before = count(rows, sdo="jarva", group="vald", period=T2_2024)
    assert groups.cell("vald", "change").text == f"{vald_before}{NBSP}→{NBSP}{vald_now}"
    assert groups.cell("vald", "city_rate").value == pytest.approx(
        rate(count(rows, group="vald", period=T2_2025), CITY_2024))
    # suppression: the comparison column hides övrigt (2) alone -> egendom (5, the smallest
    # other non-zero count) is hidden as well, so 2 cannot be had as 16 - 9 - 5
    assert groups.cell("ovrigt", "previous").text == "<5"
    assert groups.cell("egendom", "previous").text == HIDDEN
    assert groups.cell("egendom", "change").text == HIDDEN
    assert groups.cell("vald", "previous").value == 9
    # the city column: narkotika 2 and övrigt 1 are small -> their city rates are hidden
    assert groups.cell("narkotika", "city_rate").text == HIDDEN
    assert groups.cell("olycka", "city_rate").value == pytest.approx(rate(6, CITY_2024))

    strategic = brief.strategic
    assert strategic.cell("ran", "count").text == "<5"
    assert strategic.cell("narkotikabrott", "count").text == "<5"
    assert strategic.cell("tillgrepp_motorfordon", "count").value == 0
    n_strategic = count(rows, sdo="jarva", strategic=True, period=T2_2025)
    assert strategic.cell("strategiska", "count").value == n_strategic == 5
    assert strategic.cell("strategiska", "rate").value == pytest.approx(0.5)
    assert strategic.cell("strategiska", "previous").text == "<5"  # 1 rån the year before
    assert strategic.cell("strategiska", "change").text == HIDDEN

    gender = brief.gender
    women = count(rows, sdo="jarva", gender="kvinna", period=T2_2025)
    men = count(rows, sdo="jarva", gender="man", period=T2_2025)
    assert (women, men) == (7, 6)
    assert gender.cell("kvinna", "count").value == women
    assert gender.cell("kvinna", "rate").value == pytest.approx(rate(7, 10_000))
    assert gender.cell("kvinna", "previous").text == "<5"
    assert gender.cell("kvinna", "city_rate").value == pytest.approx(
        rate(count(rows, gender="kvinna", period=T2_2025), CITY_2024))
    assert gender.cell("kant", "count").value == women + men
    assert brief.summary.cell("kvinnor", "count").value == women

    victims = brief.victims
    assert [r.key for r in victims.rows] == ["ran", "misshandel", "hot", "summa"]
    assert victims.cell("misshandel", "kvinna").value == 7
    assert victims.cell("misshandel", "man").text == "<5"
    assert victims.cell("ran", "man").text == "<5"
    assert victims.cell("summa", "man").value == 6
    assert victims.cell("summa", "share_women").value == pytest.approx(7 / 13 * 100)
    assert victims.cell("misshandel", "share_women").text == HIDDEN

    trend = brief.trend
    assert [r.key for r in trend.rows] == ["2023-T3", "2024-T1", "2024-T2", "2024-T3",
                                           "2025-T1", "2025-T2"]
    assert trend.cell("2023-T3", "count").text == "<5"
    assert trend.cell("2024-T1", "count").value == 0
    assert trend.cell("2025-T1", "count").value == 5
    assert trend.cell("2025-T1", "rate").value == pytest.approx(0.5)
    assert trend.cell("2025-T1", "city_rate").value == pytest.approx(rate(5, CITY_2024))
    assert trend.cell("2024-T2", "rate").value == pytest.approx(1.6)

    # findings: found up to 2025-08-31 in Järva, shown exactly (places, not people)
    status = brief.findings.status
    assert [status.cell(s, "all").value for s in ("ny", "tilldelad", "atgardad", "avvisad",
                                                  "totalt")] == [1, 1, 2, 1, 5]
    assert [status.cell(s, "period").value for s in ("ny", "tilldelad", "atgardad",
                                                     "avvisad", "totalt")] == [1, 1, 1, 0, 3]
    owners = brief.findings.by_owner
    assert owners.cell("trafikkontoret", "oppna").value == 1
    assert owners.cell("trafikkontoret", "atgardad").value == 2
    # time to fix counts the findings fixed within the period: f3 (20 days), not f1
    assert owners.cell("trafikkontoret", "median_days").value == pytest.approx(20.0)
    assert [r.key for r in owners.rows] == ["trafikkontoret", "fastighetsagare",
                                            "bostadsbolag", "totalt"]
    assert brief.findings.by_category.cell("belysning", "atgardad").value == 2
    assert brief.findings.by_category.cell("totalt", "totalt").value == 5
    assert brief.findings.median_days.value == pytest.approx(20.0)
    assert [r.key for r in brief.findings.oldest.rows] == ["f2", "f4"]
    assert brief.summary.cell("oppna_fynd", "count").value == 2

    sites = brief.sites
    # a site counts by geometry (layers.indicators.site_counts): the fixture puts every
    # Rinkeby incident within 12 m of the site's centre, inside its 60 m polygon
    assert sites.cell("site-1", "2025-T2").value == 24
    assert sites.cell("site-1", "2024-T2").value == 16
    assert sites.cell("site-1", "change").text == "16\u00a0→\u00a024"
    assert sites.cell("site-1", "ring").value == 0
    assert brief.summary.cell("platser", "count").value == 1

    # the population note: 2024 is the nearest year to 2025
    assert any("31 december 2024" in n and "närmaste" in n for n in brief.footnotes)


def test_priority_places_come_from_the_priority_ranking(fixture_store):
    from layers.analysis.priority import priority_for_store

    brief = build_brief(fixture_store, "jarva", "2025-T2")
    expected = priority_for_store(fixture_store, sdn="jarva", period="2025-T2", limit=5)
    assert [r.cells["name"].text for r in brief.places.rows] == \
        [p.name for p in expected.places]
    for row, place in zip(brief.places.rows, expected.places, strict=True):
        # a brief is public: the non-sensitive count, and no score
        assert row.cells["incidents"].value == place.counted >= 5
    assert "score" not in dict(brief.places.columns)


def test_threshold_is_a_parameter(fixture_store):
    brief = build_brief(fixture_store, "jarva", "2025-T2", threshold=3)
    assert brief.strategic.cell("narkotikabrott", "count").text == "<3"
    # 2 alone would be 5 - 3: rån (3, the smallest other non-zero) is hidden too
    assert brief.strategic.cell("ran", "count").text == HIDDEN
    assert brief.groups.cell("vald", "previous").value == 9
    findings = build_brief(fixture_store, "jarva", "2025-T2", suppress_findings=True).findings
    assert findings.status.cell("ny", "all").text == "<5"


def test_unknown_district_and_period_are_refused(fixture_store):
    with pytest.raises(BriefError, match="Okänt stadsdelsområde"):
        build_brief(fixture_store, "Atlantis", "2025-T2")
    with pytest.raises(BriefError):
        build_brief(fixture_store, "jarva", "2025-T7")


# --- acceptance 6: across the division change -------------------------------------------------


def test_jarva_before_the_merger_sums_rinkeby_kista_and_spanga_tensta(fixture_store):
    rows = _incidents()
    brief = build_brief(fixture_store, "JÄRVA", "2023-T1")
    expected = count(rows, sdo=geodata.MERGERS["jarva"], period=T1_2023)
    assert expected == 11
    assert brief.groups.cell("alla", "count").value == expected
    assert brief.groups.cell("vald", "count").value == 5
    assert brief.groups.cell("egendom", "count").value == 6
    # population: 2022 and 2024 are equally near 2023; the earlier one is used
    assert brief.population == 8_000 and brief.population_year == 2022
    assert brief.groups.cell("alla", "rate").value == pytest.approx(rate(11, 8_000))
    note = next(n for n in brief.footnotes if "bildades" in n)
    assert "Rinkeby-Kista" in note and "Spånga-Tensta" in note and "2023-07-01" in note
    assert any("närmaste år" in n for n in brief.footnotes)
    # the year 2023 spans the change: old codes before, jarva after
    year = build_brief(fixture_store, "jarva", "2023")
    assert year.groups.cell("alla", "count").value == count(
        rows, sdo=("jarva", "rinkeby-kista", "spanga-tensta"), period=("2023-01-01",
                                                                       "2023-12-31"))
    # the footnote is printed in the document
    from layers.documents.brief_render import Pictures
    from layers.documents.brief_render.html import render_html

    html = render_html(brief, Pictures(b"", b"", None))
    assert "bildades 2023-07-01 av Rinkeby-Kista och Spånga-Tensta" in html


def test_old_areas_get_counts_and_rates_only_with_population(fixture_store):
    part = build_brief(fixture_store, "Spånga-Tensta", "2023-T1")
    assert part.area.code == "spanga-tensta" and not part.area.current
    assert part.groups.cell("alla", "count").value == 6
    assert part.groups.cell("alla", "rate").text == "–"
    assert any("Folkmängd saknas" in n for n in part.footnotes)
    # after the merger an old area counts the incidents of its own stadsdelar (exact
    # counts: what is counted, not what is hidden, is under test here)
    later = build_brief(fixture_store, "rinkeby-kista", "2024-T2", threshold=1)
    members = set(geodata.stadsdelar().query("sdo_2020 == 'rinkeby-kista'")["code"])
    assert "rinkeby" in members
    assert later.groups.cell("alla", "count").value == count(
        [r for r in _incidents() if r["stadsdel"] in members], period=T2_2024)
    assert any("ingår sedan 2023-07-01 i Järva" in n for n in later.footnotes)


# --- acceptance 4: the city overview ------------------------------------------------------------


CURRENT_AREAS = ("Bromma", "Enskede-Årsta-Vantör", "Farsta", "Hägersten-Älvsjö",
                 "Hässelby-Vällingby", "Järva", "Kungsholmen", "Norra innerstaden",
                 "Skarpnäck", "Skärholmen", "Södermalm")


def test_city_overview_lists_all_areas_with_the_same_indicators(fixture_store):
    rows = _incidents()
    overview = build_city_overview(fixture_store, "2025-T2")
    table = overview.table
    assert sorted(r.label for r in table.rows if not r.total) == sorted(CURRENT_AREAS)
    keys = {tuple(r.cells) for r in table.rows}
    assert len(keys) == 1  # the same indicators in every row
    skarholmen = table.row("skarholmen").cells
    assert skarholmen["count"].text == "0" and skarholmen["rate"].value == 0.0
    assert skarholmen["change"].text == f"0{NBSP}→{NBSP}0"
    assert skarholmen["rate_vald"].value == 0.0 and skarholmen["women"].value == 0
    jarva = table.row("jarva").cells
    assert jarva["count"].value == 24
    assert jarva["rate"].value == pytest.approx(2.4)
    assert jarva["change"].value is None  # 16 -> 24: below the per cent minimum
    assert jarva["open_findings"].value == 2
    assert jarva["sites"].value == 1
    assert table.row("bromma").cells["count"].text == "<5"
    assert table.row("bromma").cells["rate"].text == HIDDEN
    city = table.row("staden").cells
    exact = build_city_overview(fixture_store, "2025-T2", threshold=1).table
    assert exact.row("staden").cells["count"].value == count(rows, period=T2_2025) == 44
    assert exact.row("staden").cells["rate"].value == pytest.approx(rate(44, CITY_2024))
    if city["count"].value is not None:
        assert city["count"].value == 44
        assert overview.city_rate == pytest.approx(rate(44, CITY_2024))
    # bromma (4) alone hidden in the count column -> one more hidden: no subtraction
    # (tests/test_suppression.py checks that nothing hidden can be derived)
    hidden = [r.key for r in table.rows if r.cells["count"].value is None]
    assert len(hidden) >= 2 and set(hidden) - {"bromma"} <= {"sodermalm", "jarva", "staden"}
    # the brief's summary and the overview agree wherever the overview shows the figure
    data = load_city_data(fixture_store, "2025-T2")
    for row in table.rows[:-1]:
        brief = build_brief(None, row.key, "2025-T2", data=data)
        if row.cells["count"].value is not None:
            assert brief.summary.cell("alla", "count").text == row.cells["count"].text
            assert brief.summary.cell("alla", "rate").text == row.cells["rate"].text


def test_city_page_lists_the_areas_and_zeros(fixture_store, app, client):
    create_user(app, "lasare", "läsare")
    assert client.get("/stad?period=2025-T2").status_code == 302  # log in first
    login(client, "lasare")
    page = client.get("/stad?period=2025-T2")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in CURRENT_AREAS:
        assert f">{name}<br>" in html
    row = re.search(r'data-area="skarholmen">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'<td class="num" data-col="count"[^>]*>0</td>', row), row
    assert re.search(r'<td class="num" data-col="rate"[^>]*>0,00</td>', row), row
    assert "data:image/png;base64," in html
    empty = client.get("/stad?period=2019-T1")  # no incidents at all: zeros, no error
    assert empty.status_code == 200


# --- the secretary's texts --------------------------------------------------------------------


def test_texts_are_kept_per_district_and_period(fixture_store):
    save_texts(fixture_store, "jarva", "2025-T2", {"analysis": "A", "measures": "M"}, "anna")
    save_texts(fixture_store, "jarva", "2025-T2", {"analysis": "A2", "development": "D"})
    assert load_texts(fixture_store, "jarva", "2025-T2") == {
        "analysis": "A2", "development": "D", "measures": ""}
    assert load_texts(fixture_store, "jarva", "2025-T1")["analysis"] == ""
    assert fixture_store.count("brief_texts") == 1
    brief = build_brief(fixture_store, "jarva", "2025-T2")
    assert brief.texts["analysis"] == "A2"


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_analysis_form_roles_and_csrf(fixture_store, app, client):
    create_user(app, "lasare", "läsare")
    create_user(app, "hl", "handläggare", sdo_code="jarva")
    login(client, "lasare")
    form = client.get("/briefs/jarva/2025-T2/text")
    assert form.status_code == 200 and "<textarea" not in form.get_data(as_text=True)
    assert client.post("/briefs/jarva/2025-T2/text", data={
        "csrf_token": _token(client.get("/briefs/").get_data(as_text=True)),
        "analysis": "x"}).status_code == 403
    client.post("/auth/logout", data={"csrf_token": _token(form.get_data(as_text=True))})
    login(client, "hl")
    page = client.get("/briefs/jarva/2025-T2/text").get_data(as_text=True)
    assert "<textarea" in page
    assert client.post("/briefs/jarva/2025-T2/text",
                       data={"analysis": "utan nyckel"}).status_code == 400  # CSRF
    ok = client.post("/briefs/jarva/2025-T2/text", data={
        "csrf_token": _token(page), "analysis": "Läget <b>oroar</b>", "development": "",
        "measures": "Belysning"})
    assert ok.status_code == 302
    assert load_texts(fixture_store, "jarva", "2025-T2")["measures"] == "Belysning"
    other = client.post("/briefs/bromma/2025-T2/text", data={"csrf_token": _token(page),
                                                            "analysis": "x"})
    assert other.status_code == 403  # another district's handläggare
    html = client.get("/briefs/jarva/2025-T2.html").get_data(as_text=True)
    assert "Läget &lt;b&gt;oroar&lt;/b&gt;" in html
    # what the form saved is in the PDF and the DOCX too
    import io
    import shutil
    import subprocess

    import docx

    document = docx.Document(io.BytesIO(client.get("/briefs/jarva/2025-T2.docx").data))
    assert "Läget <b>oroar</b>" in [p.text for p in document.paragraphs]
    pdf = client.get("/briefs/jarva/2025-T2.pdf")
    assert pdf.mimetype == "application/pdf"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True,
                              check=True).stdout.decode("utf-8")
        assert "Läget <b>oroar</b>" in text and "Belysning" in text
    index = client.get("/briefs/?period=2025-T2").get_data(as_text=True)
    for name in CURRENT_AREAS:
        assert name in index
    assert "/briefs/jarva/2025-T2.pdf" in index and "/briefs/jarva/2025-T2.docx" in index
    assert client.get("/briefs/atlantis/2025-T2.pdf").status_code == 404
    assert client.get("/briefs/jarva/2025-T9.pdf").status_code == 400


def test_cli_writes_each_format(fixture_store, runner, store_location, location_env, tmp_path):
    from mapapp.cli import cli

    where = location_env(store_location)
    for fmt in ("html", "docx"):
        out = tmp_path / f"j.{fmt}"
        result = runner.invoke(cli, ["brief", *where, "--sdn", "JÄRVA",
                                     "--period", "2023-T1", "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 1000
    assert "Spånga-Tensta" in (tmp_path / "j.html").read_text(encoding="utf-8")
    bad = runner.invoke(cli, ["brief", *where, "--sdn", "Atlantis",
                              "--period", "2025-T2", "-o", str(tmp_path / "x.pdf")])
    assert bad.exit_code == 2 and "Okänt stadsdelsområde" in bad.output
    bad = runner.invoke(cli, ["brief", *where, "--sdn", "jarva",
                              "--period", "2025-T9"])
    assert bad.exit_code == 2


def test_section_headings_are_fixed():
    assert SECTION_HEADINGS[0] == "Sammanfattning"
    assert {"Analys av nuläge", "Möjlig utveckling", "Föreslagna åtgärder"} <= set(
        SECTION_HEADINGS)
    assert Counter(SECTION_HEADINGS).most_common(1)[0][1] == 1


def test_a_period_without_any_data_is_not_reported_as_zero_incidents(fixture_store):
    """A period outside the loaded data must not read as "0 incidents" in the summary."""
    from layers.core.periods import parse_period
    from layers.documents.brief import build_brief

    brief = build_brief(fixture_store, "jarva", parse_period("2099-T1"))
    text = " ".join(brief.highlights)
    assert "Databasen har inga händelser alls" in text
    assert "registrerades" not in text and "oförändrat" not in text


# --- as of the period's end (issue 11) ----------------------------------------------------


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=LOCAL_TZ)


#: Findings whose status changed after the period (2025-T2 ends 2025-08-31), with the
#: status they have in the register now: id, found, status now, fixed now.
LATER_FINDINGS = [
    ("g1", "2025-04-01 18:00", "atgardad", "2026-03-01 09:00"),  # open at the end
    ("g2", "2025-02-01 18:00", "tilldelad", None),  # fixed in the period, reopened after
    ("g3", "2025-04-10 18:00", "atgardad", "2025-07-10 18:00"),  # fixed in the period
]
#: (finding, changed at, from, to)
LATER_HISTORY = [
    ("g1", "2025-04-05 09:00", "ny", "tilldelad"),
    ("g1", "2026-03-01 09:00", "tilldelad", "atgardad"),
    ("g2", "2025-02-02 09:00", "ny", "tilldelad"),
    ("g2", "2025-06-01 18:00", "tilldelad", "atgardad"),
    ("g2", "2025-10-01 09:00", "atgardad", "tilldelad"),
    ("g3", "2025-04-11 09:00", "ny", "tilldelad"),
    ("g3", "2025-07-10 18:00", "tilldelad", "atgardad"),
]


@pytest.fixture
def history_store(fixture_store):
    """The fixture store plus findings with a status history and a site that starts
    after the period: the register now differs from the state at 2025-08-31."""
    rows = pd.DataFrame({
        "id": [f[0] for f in LATER_FINDINGS],
        "found_at": [_ts(f[1]) for f in LATER_FINDINGS],
        "category": "klotter", "severity": np.array([2] * 3, dtype="int64"),
        "description": [f"fynd {f[0]}" for f in LATER_FINDINGS],
        "owner": "bostadsbolag",
        "status": [f[2] for f in LATER_FINDINGS],
        "fixed_at": pd.Series([_ts(f[3]) if f[3] else pd.NaT for f in LATER_FINDINGS]),
        "stadsdel": "rinkeby", "sdo_code": "jarva", "sdo_name": "Järva",
    })
    findings = gpd.GeoDataFrame(rows, geometry=[_point("rinkeby", 60 + k) for k in range(3)],
                                crs=STORE_EPSG)
    history = pd.DataFrame([{
        "id": f"{fid}:{k}", "finding_id": fid, "changed_at": _ts(at), "changed_by": "test",
        "from_status": before, "to_status": after, "owner": "bostadsbolag", "comment": None,
    } for k, (fid, at, before, after) in enumerate(LATER_HISTORY)])
    site = gpd.GeoDataFrame({
        "id": ["site-2"], "name": ["Nya torget"], "status": ["aktiv"],
        "start_date": [pd.Timestamp("2025-10-01").date()],
        "sdo_code": ["jarva"], "sdo_name": ["Järva"],
    }, geometry=[_point("rinkeby", 90).buffer(40)], crs=STORE_EPSG)
    fixture_store.write({"findings": findings, "finding_history": history, "sites": site})
    return fixture_store


def test_findings_and_sites_are_as_of_the_period_end(history_store):
    with clock.frozen("2026-12-01 12:00"):
        brief = build_brief(history_store, "jarva", "2025-T2")
    assert brief.as_of == pd.Timestamp("2025-08-31").date()
    assert brief.created == pd.Timestamp("2026-12-01").date()
    status = brief.findings.status
    # at 2025-08-31: f2 ny; f4, g1 tilldelad; f1, f3, g2, g3 åtgärdade; f6 avvisad
    assert [status.cell(s, "all").value for s in ("ny", "tilldelad", "atgardad", "avvisad",
                                                  "totalt")] == [1, 2, 4, 1, 8]
    assert brief.summary.cell("oppna_fynd", "count").value == 3
    oldest = brief.findings.oldest
    assert [r.key for r in oldest.rows] == ["g1", "f2", "f4"]
    # days open counted to the period's end (2025-09-01 00:00), not to the clock
    assert oldest.cell("g1", "days_open").value == (_ts("2025-09-01") - _ts(
        "2025-04-01 18:00")).days == 152
    assert oldest.cell("g1", "status").text == "tilldelad"
    assert "status vid periodens slut (2025-08-31)" in " ".join(status.notes)
    # time to fix: fixed within the period -> f3 20 days, g2 120 days, g3 91 days
    assert brief.findings.median_days.value == pytest.approx(91.0)
    # the site that starts after the period is not listed (nor drawn on the map)
    assert [r.key for r in brief.sites.rows] == ["site-1"]
    assert list(brief.map.sites["name"]) == ["Testtorget"]
    assert "152 dagar" in " ".join(brief.highlights)


def test_a_period_not_over_yet_is_taken_at_now(history_store):
    with clock.frozen("2025-07-01 12:00"):
        brief = build_brief(history_store, "jarva", "2025-T2")
    assert brief.as_of == pd.Timestamp("2025-07-01").date()
    oldest = brief.findings.oldest
    assert oldest.cell("f2", "days_open").value == (_ts("2025-07-01 12:00") - _ts(
        "2025-05-10 18:00")).days
    assert "perioden pågår" in " ".join(oldest.notes)


def test_city_overview_open_findings_are_as_of_the_period_end(history_store):
    with clock.frozen("2026-12-01 12:00"):
        overview = build_city_overview(history_store, "2025-T2")
    assert overview.table.row("jarva").cells["open_findings"].value == 3
    assert overview.table.row("jarva").cells["sites"].value == 1


def test_per_cent_change_needs_the_minimum_in_both_periods():
    assert CHANGE_MIN_COUNT == 20
    assert change_cell(30, SHOWN, 20, SHOWN).text == f"+50{NBSP}%"
    assert change_cell(30, SHOWN, 20, SHOWN).value == pytest.approx(50.0)
    small = change_cell(11, SHOWN, 5, SHOWN)
    assert small.text == f"5{NBSP}→{NBSP}11" and small.value is None
    assert change_cell(11, SHOWN, 19, SHOWN).value is None
    assert change_cell(11, SHOWN, 3, PRIMARY).text == HIDDEN  # never reveals a hidden count
    assert change_cell(11, SHOWN, None, SHOWN).text == "–"
    assert any(f"minst {CHANGE_MIN_COUNT} händelser" in p for p in method_notes())
