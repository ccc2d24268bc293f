"""The JSON API: GeoJSON layers, paging, Swedish 400s, privacy by role, the grid."""

from __future__ import annotations

import gzip
import json
from urllib.parse import parse_qs, urlparse

import pytest
from infra import create_user, login

from layers.core.periods import Period
from layers.core.schema import INCIDENT_CATEGORIES, SENSITIVE_CODES
from layers.store.base import Query
from mapapp.store_ import get_store

# every test here that uses a store runs on GeoPackage and on PostGIS
pytestmark = pytest.mark.both_stores

SODERMALM_BBOX = "18.03,59.30,18.11,59.325"


@pytest.fixture
def api(demo_app):
    return demo_app.test_client()


def as_role(app, role: str):
    client = app.test_client()
    create_user(app, f"user-{role}", role)
    login(client, f"user-{role}")
    return client


def test_index_and_openapi(api):
    index = api.get("/api/").get_json()
    assert {layer["name"] for layer in index["layers"]} >= {
        "incidents", "incidents/grid", "findings", "sites", "stadsdelar", "stadsdelsomraden"}
    spec = api.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/incidents", "/api/incidents/grid", "/api/findings", "/api/sites",
                 "/api/stadsdelar", "/api/stadsdelsomraden"):
        assert path in spec["paths"], path
    with api.get("/static/openapi.json") as static:
        assert static.status_code == 200


def test_incidents_geojson_in_wgs84_with_paging(api):
    first = api.get("/api/incidents?period=2025-T2&limit=100")
    assert first.status_code == 200 and first.mimetype == "application/geo+json"
    body = first.get_json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 100
    lon, lat = body["features"][0]["geometry"]["coordinates"]
    assert 17.7 < lon < 18.3 and 59.2 < lat < 59.5
    props = body["features"][0]["properties"]
    assert props["occurred_at"].startswith("2025-0") and props["category_label"]
    nxt = urlparse(body["next"])
    assert nxt.path == "/api/incidents"
    assert parse_qs(nxt.query) == {"period": ["2025-T2"], "limit": ["100"], "offset": ["100"]}
    second = api.get(f"{nxt.path}?{nxt.query}").get_json()
    assert {f["id"] for f in second["features"]}.isdisjoint(f["id"] for f in body["features"])
    assert any(link["rel"] == "next" for link in body["links"])


def test_bbox_and_category_filter_the_points(api):
    body = api.get(f"/api/incidents?bbox={SODERMALM_BBOX}&category=ran&period=2025&limit=10000"
                   ).get_json()
    assert body["features"] and body["next"] is None
    minlon, minlat, maxlon, maxlat = map(float, SODERMALM_BBOX.split(","))
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert minlon <= lon <= maxlon and minlat <= lat <= maxlat
        assert feature["properties"]["category"] == "ran"


@pytest.mark.parametrize(("query", "parameter"), [
    ("bbox=18,59", "bbox"), ("period=2024-T9", "period"), ("category=nope", "category"),
    ("limit=99999", "limit"), ("offset=x", "offset"), ("sdn=atlantis", "sdn"),
    ("from=2024-02-30", "from"), ("stadsdel=nowhere", "stadsdel"),
])
def test_malformed_parameter_is_a_swedish_400(api, query, parameter):
    for path in ("/api/incidents", "/api/incidents/grid", "/api/findings"):
        if parameter == "category" and path == "/api/findings":
            continue
        response = api.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        body = response.get_json()
        assert body["parameter"] == parameter and len(body["error"]) > 15


def test_grid_cell_parameter(api):
    response = api.get("/api/incidents/grid?cell=333")
    assert response.status_code == 400 and response.get_json()["parameter"] == "cell"


def test_public_points_leave_out_sensitive_and_imprecise_and_private_fields(api):
    body = api.get("/api/incidents?period=2025&limit=10000").get_json()
    props = [f["properties"] for f in body["features"]]
    assert props and not {p["category"] for p in props} & set(SENSITIVE_CODES)
    assert {p["precision"] for p in props} <= {"exact", "street"}
    assert all("description" not in p and "victim_gender" not in p for p in props)
    assert "bara som aggregat" in body["restricted"]


@pytest.mark.parametrize("role", [None, "läsare", "inventerare"])
def test_sensitive_points_are_refused_below_handlaggare(demo_app, role):
    client = as_role(demo_app, role) if role else demo_app.test_client()
    response = client.get("/api/incidents?category=ran,sexualbrott")
    assert response.status_code == 403
    assert response.get_json()["parameter"] == "category"
    # a group holding sensitive categories is answered without them
    body = client.get("/api/incidents?category=vald&period=2025&limit=10000").get_json()
    assert not {f["properties"]["category"] for f in body["features"]} & set(SENSITIVE_CODES)


@pytest.mark.parametrize("role", ["handläggare", "admin"])
def test_handlaggare_sees_every_point_with_details(demo_app, role):
    client = as_role(demo_app, role)
    body = client.get("/api/incidents?category=sexualbrott,vald_nara_relation&period=2025"
                      "&limit=10000").get_json()
    props = [f["properties"] for f in body["features"]]
    assert props and {p["category"] for p in props} == set(SENSITIVE_CODES)
    assert all("description" in p for p in props) and body["restricted"] is None
    start, end = Period.year(2025).bounds()
    with demo_app.app_context():
        stored = get_store().count("incidents", Query(
            where={"category": SENSITIVE_CODES}, start=start, end=end))
    assert len(props) == stored


def test_grid_suppresses_small_counts_for_public_and_lasare_only(demo_app):
    url = "/api/incidents/grid?period=2025-03&category=ran&cell=250"
    public = demo_app.test_client().get(url).get_json()
    values = [f["properties"]["count"] for f in public["features"]]
    assert "<5" in values and not any(isinstance(v, int) and 0 < v < 5 for v in values)
    assert public["suppress_below"] == 5
    lasare = as_role(demo_app, "läsare").get(url).get_json()
    assert [f["properties"]["count"] for f in lasare["features"]] == values
    exact = as_role(demo_app, "inventerare").get(url).get_json()
    counts = [f["properties"]["count"] for f in exact["features"]]
    assert all(isinstance(v, int) for v in counts) and exact["suppress_below"] is None
    assert sum(counts) == exact["total"]


@pytest.mark.parametrize("role", [None, "läsare", "inventerare"])
def test_grid_refuses_named_sensitive_categories_below_handlaggare(demo_app, role):
    client = as_role(demo_app, role) if role else demo_app.test_client()
    for category in ("sexualbrott", "stold,vald_nara_relation"):
        response = client.get(f"/api/incidents/grid?period=2025&cell=500&category={category}")
        assert response.status_code == 403, category
        assert response.get_json()["parameter"] == "category"
        assert "stadsdelsområde" in response.get_json()["error"]
    body = client.get("/api/incidents/grid?period=2025&cell=500&category=vald").get_json()
    assert set(body["categories"]) & set(SENSITIVE_CODES) == set()
    assert "Sexualbrott och våld i nära relation ingår inte" in body["restricted"]


def test_all_categories_leave_sensitive_out_for_every_role(demo_app):
    """"Alla kategorier" means the same figure for every role: without the sensitive."""
    url = "/api/incidents/grid?period=2025&cell=1000"
    public = demo_app.test_client().get(url).get_json()
    admin = as_role(demo_app, "admin")
    full = admin.get(url).get_json()
    assert full["total"] == public["total"] and full["restricted"] == public["restricted"]
    assert not set(full["categories"]) & set(SENSITIVE_CODES)
    named = admin.get(url + "&category=sexualbrott").get_json()
    assert named["total"] > 0 and named["restricted"] is None
    every_code = ",".join(c.code for c in INCIDENT_CATEGORIES)
    everything = admin.get(url + "&category=" + every_code).get_json()
    assert everything["total"] == full["total"] + named["total"] + admin.get(
        url + "&category=vald_nara_relation").get_json()["total"]


def test_grid_matches_the_points_it_counts(demo_app):
    client = as_role(demo_app, "admin")
    grid = client.get("/api/incidents/grid?period=2025&cell=1000&category=ran").get_json()
    points = client.get("/api/incidents?period=2025&category=ran&limit=10000").get_json()
    precise = [f for f in points["features"]
               if f["properties"]["precision"] in ("exact", "street")]
    assert grid["total"] == len(precise)
    assert grid["imprecise"] == len(points["features"]) - len(precise)
    assert grid["period_label"] == "2025" and grid["previous_period"] == "2024"
    assert grid["legend"][0]["min"] == 1


def test_large_answers_are_gzipped(api):
    response = api.get("/api/incidents/grid?cell=500", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(response.data))
    assert body["features"]
    assert "Accept-Encoding" in response.headers["Vary"]


def test_findings_sites_and_areas(api):
    findings = api.get("/api/findings?status=oppna&sdn=jarva&limit=10000").get_json()
    assert findings["features"]
    for f in findings["features"]:
        assert f["properties"]["status"] in ("ny", "tilldelad")
        assert f["properties"]["sdo_code"] == "jarva" and f["properties"]["status_label"]
        assert "created_by" not in f["properties"]
    sites = api.get("/api/sites?status=aktiv").get_json()
    assert sites["features"] and all(f["properties"]["status"] == "aktiv"
                                      for f in sites["features"])
    assert sites["features"][0]["geometry"]["type"] == "MultiPolygon"
    current = api.get("/api/stadsdelsomraden?division=aktuell").get_json()
    assert len(current["features"]) == 11
    assert len(api.get("/api/stadsdelsomraden").get_json()["features"]) == 24
    stadsdelar = api.get("/api/stadsdelar?sdn=jarva&limit=1000").get_json()
    names = {f["properties"]["name"] for f in stadsdelar["features"]}
    assert {"Rinkeby", "Tensta", "Kista"} <= names
    assert {f["properties"]["sdo_code"] for f in stadsdelar["features"]} == {"jarva"}
    bad = api.get("/api/stadsdelsomraden?division=igår")
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "division"


def test_unknown_layer_is_a_json_404(api):
    response = api.get("/api/nonsense")
    assert response.status_code == 404 and response.get_json()["error"]
