"""OGC API Features at /ogc/ (issue 14, acceptance 1) and its parameters, roles and errors.

The acceptance test runs GDAL's own OGC API Features client (``ogrinfo`` and
``ogr2ogr`` with ``OAPIF:``) against the app served over real HTTP on a small demo
store (2 500 incidents, so a role's incidents take several pages of 1 000). GDAL is
``gdal-bin`` (installed by ./dev.sh); without it the GDAL tests skip, under CI=true
they fail. Every expected figure is computed from the store itself, independently of
the code under test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from infra import create_user, make_test_app, require_or_skip, serve_wsgi_in_thread
from pyproj import Transformer

from layers.core.schema import SENSITIVE_CODES
from layers.domain.users import new_token
from layers.store import GeoPackageStore
from layers.store.base import Query
from mapapp.cli import cli
from mapapp.store_ import get_store

N_INCIDENTS = 2500
SWEREF_TM = "http://www.opengis.net/def/crs/EPSG/0/3006"
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
LOCAL = "http://www.opengis.net/def/crs/EPSG/0/3011"


@pytest.fixture(scope="module")
def small_store_file(tmp_path_factory, reference_store_file: Path) -> Path:
    """The demo data set with 2 500 incidents (the full demo has 60 000), built once."""
    from layers.io.demo_load import load_demo

    folder = tmp_path_factory.mktemp("ogc-store")
    shutil.copy(reference_store_file, folder / reference_store_file.name)
    store = GeoPackageStore(folder)
    load_demo(store, n_incidents=N_INCIDENTS)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return store.path


@pytest.fixture(scope="module")
def ogc_app(tmp_path_factory, small_store_file: Path):
    """An app on a copy of the small store, with a läsare and a handläggare and their tokens."""
    folder = tmp_path_factory.mktemp("ogc-app")
    shutil.copy(small_store_file, folder / small_store_file.name)
    app = make_test_app(folder)
    create_user(app, "lasse", "läsare")
    create_user(app, "hanna", "handläggare")
    with app.app_context():
        app.config["TEST_TOKENS"] = {"läsare": new_token(get_store(), "lasse"),
                                     "handläggare": new_token(get_store(), "hanna")}
    app.config["TEST_FOLDER"] = folder
    return app


@pytest.fixture(scope="module")
def server(ogc_app):
    url, stop = serve_wsgi_in_thread(ogc_app)
    yield url
    stop()


@pytest.fixture(scope="module")
def incidents(ogc_app) -> gpd.GeoDataFrame:
    with ogc_app.app_context():
        return get_store().read("incidents")


def _gdal(tool: str) -> str:
    path = shutil.which(tool)
    require_or_skip(f"GDAL's {tool} (apt-get install gdal-bin)", path is not None)
    return str(path)


def _get(app, url: str, role: str | None = None):
    headers = {}
    if role is not None:
        headers["Authorization"] = f"Bearer {app.config['TEST_TOKENS'][role]}"
    return app.test_client().get(url, headers=headers)


def _visible_to_public(frame: pd.DataFrame) -> pd.DataFrame:
    """The incidents /api/incidents gives an anonymous caller (README, Privacy and roles)."""
    return frame[~frame["category"].isin(SENSITIVE_CODES)
                 & frame["precision"].isin(["exact", "street"])]


def _all_pages(app, first_url: str, role: str | None = None) -> tuple[list[str], list[dict]]:
    """Follow the next links from ``first_url``; return every id and every page's body."""
    ids, bodies, url = [], [], first_url
    while url:
        response = _get(app, url, role)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        bodies.append(body)
        ids += [f["id"] for f in body["features"]]
        nexts = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        url = nexts[0].replace("http://localhost", "") if nexts else None
        assert len(bodies) < 50
    return ids, bodies


# --- acceptance 1: GDAL reads the layers -------------------------------------------------------


def test_ogrinfo_lists_the_layers(server):
    ogrinfo = _gdal("ogrinfo")
    result = subprocess.run([ogrinfo, "-ro", f"OAPIF:{server}/ogc"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = {line.split(":", 1)[1].split("(")[0].strip()
             for line in result.stdout.splitlines() if line[:1].isdigit() and ":" in line}
    assert {"stadsdelar", "stadsdelsomraden", "incidents", "findings", "sites"} <= names
    assert "walks" not in names  # anonymous callers get no walks


def _ogr2ogr(server: str, layer: str, target: Path) -> None:
    """Copy a layer with GDAL's OGC API Features client to a GeoJSON file."""
    result = subprocess.run([_gdal("ogr2ogr"), "-f", "GeoJSON", str(target),
                             f"OAPIF:{server}/ogc", layer], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr


def test_ogr2ogr_copies_sites_as_the_cli_export_does(server, ogc_app, tmp_path):
    copied = tmp_path / "out.geojson"
    _ogr2ogr(server, "sites", copied)
    exported = tmp_path / "export.geojson"
    cli_result = ogc_app.test_cli_runner().invoke(cli, [
        "export", "sites", str(exported), "--data-dir", str(ogc_app.config["TEST_FOLDER"])])
    assert cli_result.exit_code == 0, cli_result.output
    ours = gpd.read_file(copied).set_index("id")
    theirs = gpd.read_file(exported).set_index("id")
    assert len(ours) == len(theirs) == 15
    assert sorted(ours.index) == sorted(theirs.index)
    for site_id, row in theirs.iterrows():
        mine = ours.loc[site_id]
        assert mine["name"] == row["name"]
        # the API rounds to 6 decimals (about 0.1 m): the same shape to within that
        assert shapely.hausdorff_distance(mine.geometry, row.geometry) < 1e-6, site_id
        assert mine.geometry.geom_type == row.geometry.geom_type


def test_ogr2ogr_copies_every_incident_an_anonymous_caller_may_see(server, incidents, tmp_path):
    copied = tmp_path / "incidents.geojson"
    _ogr2ogr(server, "incidents", copied)
    features = json.loads(copied.read_text())["features"]
    ids = [f["properties"]["id"] for f in features]
    expected = _visible_to_public(incidents)
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected["id"])
    assert all(f["geometry"]["type"] == "Point" for f in features)


@pytest.mark.parametrize("role", [None, "läsare", "handläggare"])
def test_paging_with_limit_1000_returns_every_visible_incident_once(ogc_app, incidents, role):
    ids, bodies = _all_pages(ogc_app, "/ogc/collections/incidents/items?limit=1000", role)
    expected = incidents if role == "handläggare" else _visible_to_public(incidents)
    assert len(expected) > 2000  # so it really takes three pages
    assert len(bodies) == int(np.ceil(len(expected) / 1000))
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected["id"])
    assert {b["numberMatched"] for b in bodies} == {len(expected)}
    assert [b["numberReturned"] for b in bodies][:-1] == [1000] * (len(bodies) - 1)
    prev = [lk for lk in bodies[-1]["links"] if lk["rel"] == "prev"]
    assert prev and parse_qs(urlsplit(prev[0]["href"]).query)["offset"] == [
        str(1000 * (len(bodies) - 2))]


def test_paging_inside_a_bbox_returns_each_once(ogc_app, incidents):
    bbox = (17.95, 59.28, 18.10, 59.36)
    ids, _ = _all_pages(ogc_app, "/ogc/collections/incidents/items?limit=100&bbox="
                        + ",".join(map(str, bbox)))
    public = _visible_to_public(incidents).to_crs(4326)
    inside = public[public.geometry.within(shapely.box(*bbox))]
    assert len(ids) == len(set(ids)) == len(inside) > 100
    assert set(ids) == set(inside["id"])


# --- roles and privacy: as /api/ -----------------------------------------------------------------


def test_anonymous_incidents_have_no_sensitive_categories_or_texts(ogc_app):
    body = _get(ogc_app, "/ogc/collections/incidents/items?limit=3000").get_json()
    for feature in body["features"]:
        props = feature["properties"]
        assert props["category"] not in SENSITIVE_CODES
        assert props["precision"] in ("exact", "street")
        assert not {"description", "victim_gender", "sensitive"} & set(props)
        assert feature["geometry"] is not None
    assert body["restricted"]
    refused = _get(ogc_app, "/ogc/collections/incidents/items?category=sexualbrott")
    assert refused.status_code == 403
    assert "handläggare" in refused.get_json()["description"]


def test_handlaggare_gets_sensitive_incidents_and_imprecise_ones_without_point(ogc_app,
                                                                                 incidents):
    body = _get(ogc_app, "/ogc/collections/incidents/items?limit=3000&precision=stadsdel",
                "handläggare").get_json()
    imprecise = incidents[incidents["precision"] == "stadsdel"]
    assert body["numberMatched"] == len(imprecise) > 0
    assert all(f["geometry"] is None and f["properties"]["stadsdel"] for f in body["features"])
    sensitive = incidents[incidents["category"].isin(SENSITIVE_CODES)]
    one = sensitive["id"].iloc[0]
    assert _get(ogc_app, f"/ogc/collections/incidents/items/{one}").status_code == 404
    shown = _get(ogc_app, f"/ogc/collections/incidents/items/{one}", "handläggare")
    assert shown.status_code == 200
    assert shown.get_json()["properties"]["sensitive"] is True


def test_findings_texts_and_owner_filter_need_a_signed_in_user(ogc_app):
    anonymous = _get(ogc_app, "/ogc/collections/findings/items?limit=500").get_json()
    assert anonymous["features"]
    for feature in anonymous["features"]:
        assert not {"description", "owner", "walk_id", "photo"} & set(feature["properties"])
    assert _get(ogc_app, "/ogc/collections/findings/items?owner=trafikkontoret"
                ).status_code == 401
    reader = _get(ogc_app, "/ogc/collections/findings/items?limit=5", "läsare").get_json()
    assert {"description", "owner"} <= set(reader["features"][0]["properties"])


def test_walks_need_laesare(ogc_app):
    assert _get(ogc_app, "/ogc/collections/walks/items").status_code == 401
    listed = {c["id"] for c in _get(ogc_app, "/ogc/collections").get_json()["collections"]}
    assert "walks" not in listed
    listed = {c["id"] for c in
              _get(ogc_app, "/ogc/collections", "läsare").get_json()["collections"]}
    assert {"stadsdelar", "stadsdelsomraden", "incidents", "findings", "sites", "walks",
            "priority_places"} == listed
    walks = _get(ogc_app, "/ogc/collections/walks/items", "läsare").get_json()
    assert walks["numberMatched"] == 21 == len(walks["features"])


# --- CRS (Part 2) --------------------------------------------------------------------------------


def test_crs_3006_and_4326_give_coordinates_in_the_registers_axis_order(ogc_app, incidents):
    first = _get(ogc_app, "/ogc/collections/incidents/items?limit=1").get_json()["features"][0]
    lon, lat = first["geometry"]["coordinates"]
    fid = first["id"]
    response = _get(ogc_app, f"/ogc/collections/incidents/items/{fid}?crs={SWEREF_TM}")
    assert response.headers["Content-Crs"] == f"<{SWEREF_TM}>"
    northing, easting = response.get_json()["geometry"]["coordinates"]
    stored = incidents.set_index("id").loc[fid].geometry
    x, y = Transformer.from_crs(3011, 3006, always_xy=True).transform(stored.x, stored.y)
    assert (northing, easting) == pytest.approx((y, x), abs=0.002)
    response = _get(ogc_app, f"/ogc/collections/incidents/items?limit=1&crs={EPSG_4326}")
    assert response.get_json()["features"][0]["geometry"]["coordinates"] == [lat, lon]
    response = _get(ogc_app, f"/ogc/collections/incidents/items?limit=1&crs={LOCAL}")
    assert response.get_json()["features"][0]["geometry"]["coordinates"] == pytest.approx(
        [stored.y, stored.x], abs=0.001)
    assert _get(ogc_app, "/ogc/collections/incidents/items?limit=1").headers["Content-Crs"] \
        == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"


def test_bbox_in_each_crs_selects_the_same_incidents(ogc_app):
    lonlat = (17.95, 59.28, 18.10, 59.36)
    to_tm = Transformer.from_crs(4326, 3006, always_xy=True)
    (x1, x2), (y1, y2) = to_tm.transform([lonlat[0], lonlat[2]], [lonlat[1], lonlat[3]])

    def matched(query: str) -> int:
        response = _get(ogc_app, f"/ogc/collections/incidents/items?limit=1&{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["numberMatched"]

    reference = matched("bbox=" + ",".join(map(str, lonlat)))
    assert reference > 100
    swapped = ",".join(map(str, (lonlat[1], lonlat[0], lonlat[3], lonlat[2])))
    assert matched(f"bbox={swapped}&bbox-crs={EPSG_4326}") == reference
    # a box in SWEREF 99 TM (northing first) around the same area: nearly the same points
    tm = matched(f"bbox={y1},{x1},{y2},{x2}&bbox-crs={SWEREF_TM}")
    assert abs(tm - reference) <= reference * 0.05


# --- time, filters, limits -----------------------------------------------------------------------


def test_datetime_instants_intervals_and_open_ends(ogc_app, incidents):
    public = _visible_to_public(incidents)
    times = public["occurred_at"]

    def matched(value: str) -> int:
        response = _get(ogc_app, f"/ogc/collections/incidents/items?limit=1&datetime={value}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["numberMatched"]

    day = times.iloc[10].date()
    on_day = int((times.dt.date == day).sum())
    assert matched(day.isoformat()) == on_day > 0
    start, end = pd.Timestamp("2024-03-01", tz="Europe/Stockholm"), \
        pd.Timestamp("2024-06-30", tz="Europe/Stockholm")
    inside = int(((times >= start) & (times < end + pd.Timedelta(days=1))).sum())
    assert matched("2024-03-01/2024-06-30") == inside > 0
    assert matched("../2024-06-30") == int((times < end + pd.Timedelta(days=1)).sum())
    assert matched("2024-03-01/..") == int((times >= start).sum())
    assert matched("2024-03-01/") == int((times >= start).sum())
    instant = times.iloc[3]
    utc = instant.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    assert matched(utc) == int((times == instant).sum()) >= 1


def test_property_filters_match_the_store(ogc_app, incidents):
    public = _visible_to_public(incidents)
    body = _get(ogc_app, "/ogc/collections/incidents/items?category=ran&sdo_code=jarva"
                "&limit=1").get_json()
    assert body["numberMatched"] == int(((public["category"] == "ran")
                                         & (public["sdo_code"] == "jarva")).sum()) > 0
    with ogc_app.app_context():
        findings = get_store().read("findings")
        sites = get_store().read("sites", Query(where={"status": "aktiv"}))
    body = _get(ogc_app, "/ogc/collections/findings/items?status=oppna&limit=1").get_json()
    assert body["numberMatched"] == int(findings["status"].isin(["ny", "tilldelad"]).sum())
    body = _get(ogc_app, "/ogc/collections/sites/items?status=aktiv").get_json()
    assert {f["id"] for f in body["features"]} == set(sites["id"])
    areas = _get(ogc_app, "/ogc/collections/stadsdelsomraden/items?datetime=2024-01-01"
                 ).get_json()
    assert areas["numberMatched"] == 11
    areas = _get(ogc_app, "/ogc/collections/stadsdelsomraden/items?datetime=2022-01-01"
                 ).get_json()
    assert areas["numberMatched"] == 13
    ids = [f["id"] for f in areas["features"]]
    assert len(set(ids)) == 13
    one = _get(ogc_app, f"/ogc/collections/stadsdelsomraden/items/{ids[0]}")
    assert one.status_code == 200 and one.get_json()["properties"]["valid_from"] == "2020-07-01"
    parts = _get(ogc_app, "/ogc/collections/stadsdelar/items?sdo_code=jarva").get_json()
    assert {f["properties"]["sdo_code"] for f in parts["features"]} == {"jarva"}
    assert parts["numberMatched"] == len(parts["features"]) > 3


@pytest.mark.parametrize(("query", "parameter"), [
    ("bbox=1,2,3", "bbox"),
    ("bbox=18.1,59.3,17.9,59.4", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("crs=EPSG:3857", "crs"),
    ("bbox=1,2,3,4&bbox-crs=urn:x", "bbox-crs"),
    ("datetime=igår", "datetime"),
    ("datetime=2025-05-01/2025-04-01", "datetime"),
    ("limit=0", "limit"),
    ("limit=tio", "limit"),
    ("offset=-1", "offset"),
    ("category=okand", "category"),
    ("sdo_code=atlantis", "sdo_code"),
    ("precision=ungefar", "precision"),
    ("strategic=kanske", "strategic"),
    ("farg=rod", "farg"),
])
def test_bad_parameters_get_400_in_swedish(ogc_app, query, parameter):
    response = _get(ogc_app, f"/ogc/collections/incidents/items?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter
    assert body["code"] == "InvalidParameterValue"
    assert any(word in body["description"] for word in (" ska ", "Okän", "inte", "stöds",
                                                        "ligger", "hörnet"))


def test_unknown_collections_and_features_are_404_and_limit_is_capped(ogc_app):
    assert _get(ogc_app, "/ogc/collections/nope").status_code == 404
    assert _get(ogc_app, "/ogc/collections/nope/items").status_code == 404
    missing = _get(ogc_app, "/ogc/collections/sites/items/demo:site-99")
    assert missing.status_code == 404 and "finns inte" in missing.get_json()["description"]
    assert _get(ogc_app, "/ogc/finns-inte").get_json()["code"]
    body = _get(ogc_app, "/ogc/collections/incidents/items?limit=20000").get_json()
    assert body["numberReturned"] == body["numberMatched"]  # fewer than the 10 000 cap
    next_links = [lk for lk in body["links"] if lk["rel"] == "next"]
    assert not next_links


# --- landing page, conformance, collections, HTML ------------------------------------------------


def test_landing_conformance_collections_and_api_definition(ogc_app):
    landing = _get(ogc_app, "/ogc").get_json()
    rels = {lk["rel"] for lk in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conforms = set(_get(ogc_app, "/ogc/conformance").get_json()["conformsTo"])
    assert {"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"} <= conforms
    collections = _get(ogc_app, "/ogc/collections").get_json()["collections"]
    incidents = next(c for c in collections if c["id"] == "incidents")
    assert incidents["storageCrs"] == LOCAL
    assert {SWEREF_TM, LOCAL, EPSG_4326} <= set(incidents["crs"])
    minlon, minlat, maxlon, maxlat = incidents["extent"]["spatial"]["bbox"][0]
    assert 17.5 < minlon < maxlon < 18.5 and 59.1 < minlat < maxlat < 59.6
    first, last = incidents["extent"]["temporal"]["interval"][0]
    assert first < last
    api = _get(ogc_app, "/ogc/api").get_json()
    assert api["openapi"].startswith("3.0")
    assert "/collections/incidents/items" in api["paths"]


def test_html_pages_are_swedish_and_carry_no_inline_script(ogc_app):
    for url in ("/ogc/?f=html", "/ogc/collections?f=html", "/ogc/collections/sites?f=html",
                "/ogc/collections/sites/items?f=html", "/ogc/conformance?f=html",
                "/ogc/collections/sites/items/demo:site-01?f=html"):
        response = _get(ogc_app, url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert 'lang="sv"' in page
        assert "<script>" not in page
    listing = _get(ogc_app, "/ogc/collections/sites/items?f=html").get_data(as_text=True)
    assert "Objekt 1–15 av 15" in listing
    browser = ogc_app.test_client().get("/ogc/", headers={"Accept": "text/html"})
    assert browser.mimetype == "text/html"


def test_priority_places_are_the_ranking_of_the_api(ogc_app):
    ranking = _get(ogc_app, "/api/priority?format=geojson").get_json()
    body = _get(ogc_app, "/ogc/collections/priority_places/items").get_json()
    assert body["numberMatched"] == len(ranking["features"]) > 0
    assert [f["id"] for f in body["features"]] == [str(f["id"]) for f in ranking["features"]]
    for ours, theirs in zip(body["features"], ranking["features"], strict=True):
        assert ours["properties"]["name"] == theirs["properties"]["name"]
        assert ours["properties"]["score"] is None  # as /api/priority for anonymous callers
        assert shapely.hausdorff_distance(shapely.geometry.shape(ours["geometry"]),
                                          shapely.geometry.shape(theirs["geometry"])) < 2e-6
    one = _get(ogc_app, f"/ogc/collections/priority_places/items/{body['features'][0]['id']}")
    assert one.status_code == 200


@pytest.mark.postgis
def test_paging_on_postgis_returns_every_visible_incident_once(postgis_schema_url, tmp_path):
    from layers.io.demo_load import load_demo
    from layers.store import open_store

    store = open_store(postgis_schema_url)
    try:
        load_demo(store, n_incidents=N_INCIDENTS)
        stored = store.read("incidents")
    finally:
        store.close()
    app = make_test_app(tmp_path, DATABASE=postgis_schema_url)
    create_user(app, "hanna", "handläggare")
    with app.app_context():
        app.config["TEST_TOKENS"] = {"handläggare": new_token(get_store(), "hanna")}
    try:
        for role, expected in ((None, _visible_to_public(stored)), ("handläggare", stored)):
            ids, bodies = _all_pages(app, "/ogc/collections/incidents/items?limit=1000", role)
            assert len(bodies) == 3
            assert len(ids) == len(set(ids)) == len(expected)
            assert set(ids) == set(expected["id"])
        collections = _get(app, "/ogc/collections").get_json()["collections"]
        extent = next(c for c in collections if c["id"] == "incidents")["extent"]
        assert extent["temporal"]["interval"][0][0] < extent["temporal"]["interval"][0][1]
    finally:
        store = app.extensions.get("trygghetskartan.store")
        if store is not None:
            store.close()
