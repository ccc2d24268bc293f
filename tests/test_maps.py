"""The map pages as HTML: self-hosted assets, the filter in the URL, key figures."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

import geodata
from layers.indicators.keyfigures import area_figures, population_by_area
from layers.io.filters import parse_filter
from mapapp.store_ import get_store

# every test here that uses a store runs on GeoPackage and on PostGIS
pytestmark = pytest.mark.both_stores

CURRENT = sorted(geodata.stadsdelsomraden(division="2023")["code"])


class Assets(HTMLParser):
    """Collect every script src, stylesheet href and the config JSON of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.selected: dict[str, str] = {}
        self._select: str | None = None
        self._config = False
        self.config_text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href"):
            self.urls.append(a["href"])
        if tag == "img" and a.get("src"):
            self.urls.append(a["src"])
        if tag == "select":
            self._select = a.get("name")
        if tag == "option" and "selected" in a and self._select:
            self.selected[self._select] = a.get("value", "")
        self._config = tag == "script" and a.get("id") == "tk-map-config"

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "script":
            self._config = False

    def handle_data(self, data):
        if self._config:
            self.config_text += data


def parse(html: str) -> Assets:
    page = Assets()
    page.feed(html)
    return page


def test_city_page_loads_only_our_assets_and_is_small(demo_app):
    response = demo_app.test_client().get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(response.data) < 1_000_000
    page = parse(html)
    assert page.urls and all(u.startswith("/static/") for u in page.urls), page.urls
    # the only absolute URLs in the page: the tile server and attribution links
    tile_host = re.escape("tile.openstreetmap.org")
    for url in re.findall(r"https?://[^\s\"'<>)]+", html):
        assert re.match(rf"https?://({tile_host}|www\.openstreetmap\.org)", url), url
    assert "user-scalable=no" not in html
    assert "DEMODATA" in html
    config = json.loads(page.config_text)
    assert config["api"]["grid"] == "/api/incidents/grid"
    assert len(config["outlines"]["omraden"]["features"]) == 11
    assert config["suppressBelow"] == 5 and not config["seesSensitive"]
    assert "sexualbrott" not in config["pointCategories"]


def test_maps_list_the_priority_layer_and_its_api(demo_app):
    """Issue #6: the city and district maps have a "Prioriterade platser" group that
    map.js fills from /api/priority (GeoJSON) for the area and period of the filter."""
    client = demo_app.test_client()
    for url, district in (("/?period=2024-T2&category=ran", None),
                          ("/sdn/jarva?period=2024-T2", "jarva")):
        config = json.loads(parse(client.get(url).get_data(as_text=True)).config_text)
        assert config["groupLabels"]["priority"] == "Prioriterade platser"
        assert config["groups"]["priority"].startswith("feature_group_")
        # drawn over the incident grid, under sites and findings
        order = list(config["groupLabels"])
        assert order.index("incidents") < order.index("priority") < order.index("sites")
        assert config["api"]["priority"] == "/api/priority"
        assert config["priorityUrl"] == "/priority"
        assert [pair[1] for pair in config["priorityColours"]] == \
            ["#b2182b", "#d6604d", "#f4a582"]
        assert config["district"] == district and config["filter"]["period"] == "2024-T2"
        # what map.js asks for answers with the ranking of that area and period
        query = f"period=2024-T2{'&sdn=' + district if district else ''}&format=geojson"
        answer = client.get(f"{config['api']['priority']}?{query}")
        assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
        collection = answer.get_json()
        assert collection["features"]
        assert collection["metadata"]["period"] == "2024-T2"
        assert collection["metadata"]["sdn"] == district
        for feature in collection["features"]:
            assert {"rank", "name", "text", "center", "bounds"} <= set(feature["properties"])


def test_every_form_control_has_a_label(demo_app):
    html = demo_app.test_client().get("/").get_data(as_text=True)
    ids = re.findall(r'<(?:select|input)[^>]*\bid="(f-[a-z]+)"[^>]*>', html)
    hidden = set(re.findall(r'<input type="hidden"[^>]*id="(f-[a-z]+)"', html))
    for control in set(ids) - hidden:
        assert f'for="{control}"' in html, control


def test_a_district_chosen_in_the_plain_form_opens_its_page(demo_app):
    client = demo_app.test_client()
    response = client.get("/?period=2024-T2&category=strategiska&sdn=jarva&zoom=13&lat=59.4"
                          "&lon=17.9")
    assert response.status_code == 302
    target = urlparse(response.location)
    assert target.path == "/sdn/jarva"
    assert parse_qs(target.query) == {"period": ["2024-T2"], "category": ["strategiska"]}
    # "Hela staden" from a district page, and another district, likewise
    assert urlparse(client.get("/sdn/jarva?sdn=&period=2024").location).path == "/"
    assert urlparse(client.get("/sdn/jarva?sdn=Farsta").location).path == "/sdn/farsta"
    # the district's own choice stays on the page
    assert client.get("/sdn/jarva?sdn=jarva&period=2024").status_code == 200


def test_filter_in_the_url_is_restored(demo_app):
    url = "/sdn/jarva?period=2024-T2&category=strategiska&status=oppna&zoom=13&lat=59.4&lon=17.9"
    html = demo_app.test_client().get(url).get_data(as_text=True)
    page = parse(html)
    assert page.selected == {"period": "2024-T2", "category": "strategiska", "sdn": "jarva",
                             "status": "oppna"}
    config = json.loads(page.config_text)
    assert config["view"] == {"zoom": 13, "lat": 59.4, "lon": 17.9}
    assert config["filter"]["period"] == "2024-T2"
    assert "tertial 2 2024 (maj–augusti)" in html


def test_custom_dates_from_the_plain_form(demo_app):
    html = demo_app.test_client().get("/?period=&from=2024-03-01&to=2024-03-20").get_data(
        as_text=True)
    assert 'value="2024-03-01"' in html and "1–20 mars 2024" in html
    # the menu's period is ignored when dates are filled in
    html = demo_app.test_client().get("/?period=2025&from=2024-05-01&to=2024-08-31").get_data(
        as_text=True)
    assert parse(html).selected["period"] == "2024-T2"


def test_bad_filter_shows_a_swedish_message(demo_app):
    response = demo_app.test_client().get("/?period=2024-T7")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Okänd tertial" in html and "standardfiltret" in html


def test_default_period_is_the_latest_year_with_incidents(demo_app):
    page = parse(demo_app.test_client().get("/").get_data(as_text=True))
    assert page.selected["period"] == "2025"


@pytest.mark.parametrize("code", CURRENT)
def test_district_pages(demo_app, code):
    response = demo_app.test_client().get(f"/sdn/{code}?period=2025-T2")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-figure="rate"' in html and "Nyckeltal, tertial 2 2025" in html
    config = json.loads(parse(html).config_text)
    assert config["district"] == code
    assert {f["properties"]["sdo_code"] for f in config["outlines"]["stadsdelar"]["features"]} \
        == {code}


def test_district_redirects_and_404(demo_app):
    client = demo_app.test_client()
    old = client.get("/sdn/rinkeby-kista?period=2024")
    assert old.status_code == 301 and old.headers["Location"].endswith(
        "/sdn/jarva?period=2024")
    assert client.get("/sdn/atlantis").status_code == 404


def test_key_figures_add_up(demo_app):
    with demo_app.test_request_context():
        store = get_store()
        flt = parse_filter({"period": "2025"})
        figures = area_figures(store, "jarva", "Järva", flt)
        population, year = population_by_area(store, 2025)
        assert year == 2024 and figures.population == population["jarva"]
        assert figures.rate == pytest.approx(1000 * figures.incidents / population["jarva"])
        total = sum(area_figures(store, c, c, flt).incidents for c in population)
        assert figures.city_rate == pytest.approx(1000 * total / sum(population.values()),
                                                  rel=0.01)
        assert figures.comparison_period.code == "2024"
        assert 0 < figures.strategic < figures.incidents
        assert figures.open_findings > 0 and figures.sites >= figures.active_sites > 0
        # Järva before the 2023 merger counts Rinkeby-Kista and Spånga-Tensta
        strategic = area_figures(store, "jarva", "Järva",
                                 parse_filter({"period": "2025", "category": "strategiska"}))
        assert strategic.incidents == figures.strategic and strategic.what == "strategiska brott"


def test_figures_fragment_suppresses_for_the_public(demo_app):
    client = demo_app.test_client()
    html = client.get("/sdn/skarholmen/nyckeltal?period=2025-02&category=overgrepp_rattssak"
                      ).get_data(as_text=True)
    assert 'id="tk-figures"' in html and "<html" not in html
    cell = re.search(r'data-figure="incidents">([^<]+)<', html).group(1)
    assert cell == "&lt;5" or int(cell.replace("\u00a0", "")) == 0 or \
        int(cell.replace("\u00a0", "")) >= 5


def test_every_map_has_a_metric_scale_only(demo_app):
    """folium's ``control_scale`` shows feet and miles; our scale bar is metric."""
    client = demo_app.test_client()
    for path in ("/", "/sdn/jarva", "/priority"):
        html = client.get(path).get_data(as_text=True)
        assert "L.control.scale({imperial: false})" in html, path
        assert "L.control.scale()" not in html, path


def test_maps_offer_the_trend_layer_and_its_api(demo_app):
    """Issue 14: a trend-class group (off until turned on in the layer control) that
    map.js fills from /api/emerging with ArcGIS's emerging hot spot patterns for the
    area and period; the answer holds patterns and areas, never counts."""
    client = demo_app.test_client()
    html = client.get("/?period=2025").get_data(as_text=True)
    config = json.loads(parse(html).config_text)
    assert config["groupLabels"]["trend"] == "Trendklass (hot spots över tid)"
    # drawn over the incident grid and under the priority places (creation order)
    from mapapp.maps import GROUP_LABELS

    order = list(GROUP_LABELS)
    assert order.index("incidents") < order.index("trend") < order.index("priority")
    trend_group = config["groups"]["trend"]
    assert f"{trend_group}.addTo(" not in html  # off at first: nothing computed
    assert f"{config['groups']['priority']}.addTo(" in html
    assert config["api"]["emerging"] == "/api/emerging"
    labels = {p["code"]: p["label"] for p in config["trendPatterns"]}
    assert labels["new_hot"] == "Nytt hot spot" and len(labels) == 16
    answer = client.get("/api/emerging?period=2025-T3")
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    collection = answer.get_json()
    meta = collection["metadata"]
    assert (meta["months"], meta["from"], meta["to"]) == (24, "2024-01", "2025-12")
    assert collection["features"] and meta["cells"]
    assert {f["properties"]["pattern"]: f["properties"]["cells"]
            for f in collection["features"]} == meta["cells"]
    for feature in collection["features"]:
        assert set(feature["properties"]) == {"pattern", "label", "phrase", "colour", "cells"}
        assert feature["properties"]["label"] == labels[feature["properties"]["pattern"]]
    district = client.get("/api/emerging?period=2025-T3&sdn=jarva").get_json()
    assert district["metadata"]["sdn"] == "jarva"
    assert sum(district["metadata"]["cells"].values()) < sum(meta["cells"].values())
    # eight months of data are too few for the rules: no cell, and the reason why
    short = client.get("/api/emerging?period=2024-T2").get_json()
    assert short["features"] == [] and "minst 10" in short["metadata"]["message"]
    bad = client.get("/api/emerging?sdn=ingenstans")
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "sdn"
