"""/priority, /api/priority and the priority map layer show the CLI's ranking.

Acceptance (issue #6, part 4): the page, the JSON endpoint and the folium layer show the
same ranking as ``trygghetskartan priority --format json``. The click-to-zoom is
checked in a real browser in ``tests/browser/test_priority_browser.py``.
"""

from __future__ import annotations

import html
import json
import re

import folium
import pytest
from click.testing import CliRunner
from infra import create_user, login

from mapapp.cli import cli

# every test here that uses a store runs on GeoPackage and on PostGIS
pytestmark = pytest.mark.both_stores


def _cli_ranking(where: list[str], *args: str) -> dict:
    result = CliRunner().invoke(cli, ["priority", *where, "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _ranks(places: list[dict]) -> list[tuple[int, str, float]]:
    return [(p["rank"], p["name"], p["score"]) for p in places]


def test_page_api_layer_and_cli_agree(demo_app, demo_location, location_env):
    expected = _cli_ranking(location_env(demo_location), "--sdn", "Järva", "--period", "2025-T3")
    assert expected["places"], expected["message"]
    client = demo_app.test_client()

    api = client.get("/api/priority?sdn=jarva&period=2025-T3").get_json()
    # the score includes the sensitive categories: only handläggare and admin get it
    assert [p[:2] for p in _ranks(api["places"])] == [p[:2] for p in _ranks(expected["places"])]
    assert all(p["score"] is None and p["weighted_incidents"] is None for p in api["places"])
    assert [p["text"] for p in api["places"]] == [p["text"] for p in expected["places"]]
    create_user(demo_app, "hl", "handläggare")
    staff = demo_app.test_client()
    login(staff, "hl")
    full = staff.get("/api/priority?sdn=jarva&period=2025-T3").get_json()
    assert _ranks(full["places"]) == _ranks(expected["places"])

    page = client.get("/priority?sdn=jarva&period=2025-T3")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    names = [html.unescape(n) for n in re.findall(r'class="tk-place-name">([^<]*)<', text)]
    assert names == [p["name"] for p in expected["places"]]
    ranks = [int(r) for r in re.findall(r'data-rank="(\d+)"', text)]
    assert ranks == [p["rank"] for p in expected["places"]]

    geojson = client.get("/api/priority?sdn=jarva&period=2025-T3&format=geojson")
    assert geojson.mimetype == "application/geo+json"
    collection = geojson.get_json()
    assert [(f["properties"]["rank"], f["properties"]["name"])
            for f in collection["features"]] == [(p["rank"], p["name"])
                                                 for p in expected["places"]]

    from mapapp.priority import add_priority_layer

    with demo_app.test_request_context():
        m = folium.Map(tiles=None)
        layer = add_priority_layer(m, collection)
        [geo] = [c for c in layer._children.values() if isinstance(c, folium.GeoJson)]
        assert [(f["properties"]["rank"], f["properties"]["name"])
                for f in geo.data["features"]] == [(p["rank"], html.escape(p["name"]))
                                                   for p in expected["places"]]
        markers = [c for c in layer._children.values() if isinstance(c, folium.Marker)]
        assert len(markers) == len(expected["places"])


def test_layer_takes_a_result_and_escapes_text(demo_app):
    from layers.analysis.priority import Observations, rank_places
    from layers.core.periods import Period
    from mapapp.priority import add_priority_layer

    rng = __import__("numpy").random.default_rng(0)
    x = 144_225.0 + rng.uniform(-50, 50, 30)
    y = 6_586_575.0 + rng.uniform(-50, 50, 30)
    result = rank_places(Observations(x, y, __import__("numpy").array(["ran"] * 30,
                                                                      dtype=object)),
                         Period.year(2025), cell_size=150)
    result.places[0].name = "<script>alert(1)</script>"
    with demo_app.test_request_context():
        m = folium.Map(tiles=None)
        add_priority_layer(m, result)
        rendered = m.get_root().render()
    assert "<script>alert(1)</script>" not in rendered
    assert "&lt;script&gt;" in rendered


def test_bad_parameters_and_empty_periods(demo_app):
    client = demo_app.test_client()
    bad = client.get("/api/priority?sdn=atlantis")
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "sdn"
    assert "Järva" in bad.get_json()["error"]
    assert client.get("/api/priority?period=2024-T9").status_code == 400
    assert client.get("/api/priority?limit=0").status_code == 400
    page = client.get("/priority?sdn=atlantis")
    assert page.status_code == 400 and "Okänt stadsdelsområde" in page.get_data(as_text=True)
    empty = client.get("/api/priority?period=2019").get_json()
    assert empty["places"] == [] and empty["message"].startswith("Inga händelser")
    page = client.get("/priority?period=2019")
    assert page.status_code == 200 and "Inga händelser med känd plats" in \
        page.get_data(as_text=True)


def test_public_sees_small_counts_suppressed_but_the_same_ranking(demo_app, demo_location,
                                                                  location_env):
    expected = _cli_ranking(location_env(demo_location), "--sdn", "jarva", "--period", "2025-T3")
    public = demo_app.test_client().get("/api/priority?sdn=jarva&period=2025-T3").get_json()
    assert [p[:2] for p in _ranks(public["places"])] == \
        [p[:2] for p in _ranks(expected["places"])]
    for place, full in zip(public["places"], expected["places"], strict=True):
        for value in place["categories"].values():
            assert value == "<5" or value >= 5
        # the count leaves the sensitive categories out for every role; the CLI (and
        # handläggare) also get those apart, the public not at all
        assert full["incidents"] == sum(full["categories"].values())
        assert place["incidents"] in (full["incidents"], "<5")
        assert place["sensitive_incidents"] is None and full["sensitive_incidents"] is not None
    # the CLI (an administrator's tool) shows exact counts
    assert any(isinstance(v, int) and v < 5 for p in expected["places"]
               for v in p["categories"].values())


def test_page_serves_only_local_assets(demo_app):
    text = demo_app.test_client().get("/priority").get_data(as_text=True)
    assert "cdn" not in text.lower()
    for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', text):
        raise AssertionError(f"external asset {url}")
    assert "js/priority.js" in text and "leaflet" in text
