"""Priority places in plain Swedish, and the store's own backtest on /priority.

Acceptance (issue 14, point 5): ``/priority`` shows the store's own backtest figures
next to the ranking, and each place's first sentence has no statistical term.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from infra import create_user, login

from layers.analysis.backtest import (
    HEADLINE_SHARE,
    clear_store_cache,
    run_backtest,
    store_backtest,
    store_points,
    store_test_periods,
    training_before,
)
from layers.analysis.place_text import (
    NO_TIME_PATTERN,
    category_phrase,
    count_text,
    part_of_day,
    time_pattern,
)
from layers.analysis.priority import load_config, store_cell_size
from mapapp.cli import cli
from mapapp.store_ import get_store

#: Words a planner must not meet in a place's first sentence (nor in the plain part).
FORBIDDEN = ("Gi*", "Getis", "FDR", "signifikant", "poäng", "p-värde", "q-värde", "KDE",
             "PAI", "Mann-Kendall", "hot spot", "cold spot", "z-värde", "Benjamini")
#: "z" as a word of its own ("z = 19,6"), not inside a word.
LONE_Z = re.compile(r"(?<![\wåäö])z(?![\wåäö])", re.IGNORECASE)


def statistical_terms(text: str) -> list[str]:
    found = [t for t in FORBIDDEN if t.lower() in text.lower()]
    return found + (["z"] if LONE_Z.search(text) else [])


def small_counts(text: str) -> list[str]:
    """Counts of 1–4 a sentence states: "3 händelser", "stöld (2)"."""
    counts = re.findall(r"(?<![\d,])(\d+) händelser?\b", text)
    counts += re.findall(r"\((\d+)\)", text)
    return [c for c in counts if 0 < int(c) < 5]


# --- the words, on their own ------------------------------------------------------------


def _local(day: str, hour: int, minute: int = 15) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {hour:02d}:{minute:02d}", tz="Europe/Stockholm")


def test_friday_and_saturday_nights_read_as_people_say_them():
    # Fridays 2025-05-02 … and Saturdays, 20:00–01:59 (the night after counts to the evening)
    times = []
    for week in range(6):
        friday = pd.Timestamp("2025-05-02") + pd.Timedelta(days=7 * week)
        for day in (friday, friday + pd.Timedelta(days=1)):
            for hour in (20, 21, 22, 23):
                times.append(_local(day.date().isoformat(), hour))
            after = (day + pd.Timedelta(days=1)).date().isoformat()
            times += [_local(after, 0, 30), _local(after, 1, 30)]
    # a few at other times do not change the picture
    times += [_local("2025-05-06", 10), _local("2025-05-07", 14), _local("2025-05-13", 9)]
    pattern = time_pattern(times)
    assert pattern.days == (4, 5) and pattern.hours == (20, 2)
    assert pattern.phrase() == "mest fredag–lördag kväll, kl. 20–02"


def test_spread_times_and_too_few_times():
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2025-01-01", tz="Europe/Stockholm")
    spread = [start + pd.Timedelta(minutes=int(m)) for m in rng.integers(1, 60 * 24 * 120, 400)]
    assert time_pattern(spread).phrase() == NO_TIME_PATTERN
    assert time_pattern(spread[:9]).phrase() is None
    # midnight exactly is an unknown time, not a night
    assert time_pattern([start] * 50).n == 0


def test_parts_of_the_day():
    assert part_of_day(20, 2) == "kväll"
    assert part_of_day(14, 22) == "eftermiddag–kväll"
    assert part_of_day(10, 17) == "dagtid"
    assert part_of_day(2, 6) == "natt"
    assert part_of_day(7, 9) == "morgon"


def test_main_categories_never_state_a_small_count():
    assert category_phrase({"stold": 23, "skadegorelse": 12, "ran": 3, "hot": 2}) == \
        "främst stöld (23) och skadegörelse (12)"
    assert category_phrase({"ran": 3, "hot": 3}) == "främst hot och rån"
    assert count_text(3) == "färre än 5" and count_text(0) == "0" and count_text(12) == "12"


# --- every place of the demo store ------------------------------------------------------


def _page_places(text: str) -> list[tuple[str, str]]:
    names = re.findall(r'class="tk-place-name">([^<]*)<', text)
    firsts = re.findall(r'class="tk-place-first">([^<]*)<', text)
    assert len(names) == len(firsts)
    return [(html.unescape(n), html.unescape(f)) for n, f in zip(names, firsts, strict=True)]


@pytest.mark.parametrize("query", ["", "?sdn=jarva&period=2025-T3", "?sdn=farsta&period=2025-T1"])
def test_every_first_sentence_is_plain_on_the_page_and_in_the_api(demo_app, query):
    client = demo_app.test_client()
    api = client.get(f"/api/priority{query}").get_json()
    assert len(api["places"]) >= 3
    page = client.get(f"/priority{query}").get_data(as_text=True)
    assert _page_places(page) == [(p["name"], p["first_sentence"]) for p in api["places"]]
    assert page.count("<summary>Statistik</summary>") == len(api["places"])
    for place in api["places"]:
        first = place["first_sentence"]
        assert first and first.endswith(".")
        assert not statistical_terms(first), (place["name"], first)
        assert not statistical_terms(" ".join(place["plain"])), place["plain"]
        assert re.search(r"\bhändelser?\b", first)
        # the statistics are there, second, and the text says them after the plain words
        assert "Gi*" in place["statistics"]
        assert place["text"].index(first) < place["text"].index(place["statistics"])
        assert not small_counts(first) and not small_counts(" ".join(place["plain"]))
    # the demo's busy places do have a time pattern and a trend in words
    assert any(p["first_sentence"].count("kl.") or "mest " in p["first_sentence"]
               for p in api["places"])
    assert all(p["plain"][0].startswith("Utveckling: de senaste") for p in api["places"])


def test_every_stadsdelsomrade_of_the_demo_store_has_plain_first_sentences(demo_app):
    client = demo_app.test_client()
    with demo_app.app_context():
        from layers.analysis.areas import area_catalogue

        areas = sorted(area_catalogue(get_store()).current)
    checked = 0
    for code in areas:
        api = client.get(f"/api/priority?sdn={code}&period=2025-T3").get_json()
        for place in api["places"]:
            assert not statistical_terms(place["first_sentence"]), place["first_sentence"]
            assert not small_counts(place["first_sentence"]), place["first_sentence"]
            checked += 1
    assert checked >= 5 * len(areas)


def test_places_link_to_the_map_their_site_and_their_findings(demo_app):
    client = demo_app.test_client()
    api = client.get("/api/priority").get_json()
    page = client.get("/priority").get_data(as_text=True)
    with_site = [p for p in api["places"] if p["site_id"]]
    with_findings = [p for p in api["places"] if p["finding_ids"]]
    assert with_site and with_findings
    for place in api["places"]:
        links = place["links"]
        lat, lon = place["center"]
        assert links["map"].startswith("/?") and f"lat={lat:.5f}" in links["map"] \
            and f"lon={lon:.5f}" in links["map"] and "zoom=16" in links["map"]
        assert html.escape(links["map"]) in page
        assert client.get(links["map"]).status_code == 200
        if place["site_id"]:
            assert links["site"] == f"/sites/{place['site_id']}"
            site = client.get(links["site"]).get_data(as_text=True)
            assert html.escape(place["site"]) in site
        assert len(links["findings"]) == len(place["finding_ids"]) <= place["open_findings"]
    # a place no site touches names and links the site next to it
    near = [p for p in client.get("/api/priority?sdn=jarva&period=2025-T3").get_json()["places"]
            if p["near_site"]]
    assert near
    for place in near:
        assert place["site_id"] is None and place["near_site"]["distance_m"] <= 250
        assert place["links"]["near_site"] == f"/sites/{place['near_site']['id']}"
        assert f"närmast är {place['near_site']['name']}" in place["plain"][-1]
    create_user(demo_app, "läs", "läsare")
    reader = demo_app.test_client()
    login(reader, "läs")
    for url in with_findings[0]["links"]["findings"]:
        assert reader.get(url).status_code == 200


# --- the store's own backtest ------------------------------------------------------------


def _shown(page: str) -> dict[str, float]:
    return {m: float(v) for m, v in
            re.findall(r'data-backtest="(\w+)" data-value="([\d.]+)"', page)}


def test_page_shows_the_backtest_layers_backtest_computes_for_the_store(demo_app):
    client = demo_app.test_client()
    page = client.get("/priority?sdn=jarva&period=2025-T3").get_data(as_text=True)
    with demo_app.app_context():
        store = get_store()
        config = load_config()
        tests = store_test_periods(store)
        assert [p.code for p in tests] == ["2025-T3", "2025-T2", "2025-T1"]
        # computed afresh here, not from the page's cache
        points = store_points(store, "jarva")
        size = store_cell_size(store, config)
        fresh = [run_backtest(points, training_before(t), t, cell_size=size, config=config)
                 for t in tests]
        cached = store_backtest(store, sdn="jarva")
    expected = {m: round(fresh[0].value(m, HEADLINE_SHARE, "hit_rate") * 100, 1)
                for m in ("priority", "prior_counts", "random")}
    assert _shown(page) == expected
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))
    assert re.sub(r"\s+", " ", cached.sentence()) in text
    assert f"hade {expected['priority']:.0f} % av nästa tertials händelser" in text
    assert "förra årets antal ensamt" in text and cached.explanation() in text
    assert re.sub(r"\s+", " ", cached.trust()) in text and "Lita på den" in cached.trust()
    # every tested tertial in the table, one decimal
    for result in fresh:
        row = re.search(rf'data-test-period="{result.test.code}">(.*?)</tr>', page, re.S)
        assert row, result.test.code
        for method in ("priority", "prior_counts", "random"):
            value = result.value(method, HEADLINE_SHARE, "hit_rate") * 100
            cell = re.search(rf'data-method="{method}">([^<]*)<', row.group(1)).group(1)
            assert cell == f"{value:.1f} %".replace(".", ","), (method, cell, value)


def test_city_backtest_agrees_with_the_cli_on_the_exported_incidents(demo_app, demo_data_dir,
                                                                   tmp_path):
    """The same method as ``trygghetskartan backtest`` on ``export incidents``; the file
    rounds coordinates to WGS 84 degrees, so a few points near a cell edge may move."""
    with demo_app.app_context():
        result = store_backtest(get_store())
        size = result.latest.cell_size_m
    out = tmp_path / "incidents.csv"
    runner = CliRunner()
    done = runner.invoke(cli, ["export", "incidents", str(out), "--data-dir", str(demo_data_dir)])
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, ["backtest", str(out), "--test", result.latest.test.code,
                               "--cell-size", str(size), "--format", "json"])
    assert done.exit_code == 0, done.output
    cli_result = json.loads(done.output)
    assert cli_result["n_train"] == result.latest.n_train
    assert cli_result["n_test"] == result.latest.n_test
    for row in cli_result["results"]:
        mine = result.latest.value(row["method"], row["area_share"], "hit_rate")
        assert mine == pytest.approx(row["hit_rate"], abs=0.005), row


def test_backtest_is_cached_by_data_version(demo_app):
    from layers.store.base import Query

    with demo_app.app_context():
        store = get_store()
        clear_store_cache()
        first = store_backtest(store, sdn="jarva")
        assert store_backtest(store, sdn="jarva") is first
        # the backtest reads incidents only: a findings write keeps it
        one = store.read("findings", Query(limit=1))
        store.write({"findings": one.assign(id="test:cache-probe")})
        assert store_backtest(store, sdn="jarva") is first
        # a committed incidents write changes their version: computed anew
        one = store.read("incidents", Query(limit=1))
        store.write({"incidents": one.assign(id="test:cache-probe")})
        again = store_backtest(store, sdn="jarva")
        assert again is not first
        assert again.shares() == first.shares()


def test_a_store_without_a_year_of_history_says_so(app, client):
    page = client.get("/priority").get_data(as_text=True)
    assert "Hur väl träffar listan?" in page
    assert "kan inte prövas" in html.unescape(page)
    assert "data-backtest=" not in page
    with app.app_context():
        assert store_backtest(get_store()).results == []
