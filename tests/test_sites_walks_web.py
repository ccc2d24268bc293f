"""Platssamverkan, walks and lighting in the web app: roles, forms, protocol, API.

Covers, without a browser: every write route of the sites and walks blueprints
refuses läsare (403) and anonymous visitors, needs a CSRF token, the forms store
what they should, the protocol downloads (whole and per owner), the JSON API's
all-or-nothing rule with bearer tokens, and the sites layer's popup figures (small
counts hidden for anonymous visitors and läsare).
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from infra import create_user, login
from test_sites import SITE, START, _drawn, _incidents
from test_walks import ROUTE, walk_gpx

from layers.core.schema import STORE_EPSG
from layers.domain.users import new_token
from mapapp.store_ import get_store

SAMPLE_IDS = {"site_id": "test:site", "measure_id": "webb:measure-1", "walk_id": "walk:1",
              "fmt": "pdf"}


def csrf_token(client, path: str = "/sites") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def user_client(app, name: str, role: str):
    create_user(app, name, role)
    client = app.test_client()
    login(client, name)
    return client


def seed(app) -> None:
    """A site with incidents on both sides of its start, and a walk."""
    with app.app_context():
        store = get_store()
        store.write({"incidents": _incidents(), "sites": gpd.GeoDataFrame(
            pd.DataFrame([{"id": "test:site", "name": "Testtorget", "start_date": START,
                           "status": "aktiv", "sdo_code": "jarva", "sdo_name": "Järva"}]),
            geometry=[SITE], crs=STORE_EPSG)})


def routes(app, method: str) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("sites", "walks") and method in rule.methods:
            urls.append(rule.build({k: SAMPLE_IDS[k] for k in rule.arguments})[1])
    return sorted(urls)


def test_write_routes_are_the_known_ones(app):
    assert routes(app, "POST") == [
        "/api/sites", "/api/walks", "/sites/new", "/sites/test:site/delete",
        "/sites/test:site/edit", "/sites/test:site/log", "/sites/test:site/measures",
        "/sites/test:site/measures/webb:measure-1/status", "/walks/import", "/walks/new",
        "/walks/walk:1/delete", "/walks/walk:1/edit",
    ]


def test_lasare_reads_but_every_write_route_is_403(app):
    seed(app)
    create_user(app, "lars", "läsare")
    with app.app_context():
        token = new_token(get_store(), "lars")
    client = app.test_client()
    login(client, "lars")
    for path in ("/sites", "/sites/test:site", "/walks", "/lighting"):
        page = client.get(path)
        assert page.status_code == 200, path
    detail = client.get("/sites/test:site").get_data(as_text=True)
    assert "Ändra plats och yta" not in detail and 'id="measure-form"' not in detail
    for path in ("/sites/new", "/sites/test:site/edit", "/walks/new"):
        assert client.get(path).status_code == 403, path
    token_value = csrf_token(client)
    for url in routes(app, "POST"):
        if url.startswith("/api/"):
            response = client.post(url, json=[{}], headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 403 and response.is_json, url
            continue
        response = client.post(url, data={"csrf_token": token_value, "name": "x",
                                          "measure": "x", "owner": "x", "status": "klar",
                                          "date": "2025-01-01", "kind": "mote"})
        assert response.status_code in (403, 404), url
        if response.status_code == 404:  # only the walk that does not exist may 404 first
            pytest.fail(f"{url} answered 404 before checking the role")
    with app.app_context():
        store = get_store()
        assert store.count("sites") == 1 and store.count("site_measures") == 0
        assert store.count("site_activity_log") == 0 and store.count("walks") == 0


def test_inventerare_records_walks_but_not_sites(app):
    seed(app)
    client = user_client(app, "ingrid", "inventerare")
    assert client.get("/walks/new").status_code == 200
    assert client.get("/sites/new").status_code == 403
    token = csrf_token(client, "/walks/new")
    assert client.post("/sites/test:site/measures", data={
        "csrf_token": token, "measure": "x", "owner": "y"}).status_code == 403


def test_anonymous_and_missing_csrf(app):
    seed(app)
    anonymous = app.test_client()
    assert anonymous.get("/sites/new").status_code == 302
    assert anonymous.post("/api/sites", json=[]).status_code == 401
    for path in ("/walks", "/walks/walk:1", "/walks/walk:1/protocol.pdf", "/lighting"):
        assert anonymous.get(path).status_code == 302, path
    assert anonymous.get("/sites").status_code == 200
    # organisers, participants and routes are for läsare, like the walk pages
    assert anonymous.get("/api/walks").status_code == 401
    client = user_client(app, "hanna", "handläggare")
    for url in routes(app, "POST"):
        response = client.post(url, data={"name": "x"})
        if url.startswith("/api/"):
            assert response.status_code == 401, url  # bearer tokens only
        else:
            assert response.status_code == 400, url


def test_handlaggare_draws_a_site_adds_a_measure_and_logs_a_meeting(app):
    client = user_client(app, "hanna", "handläggare")
    token = csrf_token(client, "/sites/new")
    bad = client.post("/sites/new", data={"csrf_token": token, "name": "Husby torg"})
    assert bad.status_code == 422 and "rita en yta" in bad.get_data(as_text=True)
    response = client.post("/sites/new", data={
        "csrf_token": token, "name": "Husby torg", "start_date": "2024-06-01",
        "status": "aktiv", "partner": ["fastighetsägare", "lokalpolisområde"],
        "partners_other": "Husby Centrum AB", "activity": ["platsaktivering", "mote"],
        "contact": "husby@exempel.se", "geometry": _drawn()})
    assert response.status_code == 302
    site_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        site = get_store().read("sites").iloc[0]
    assert site["partners"] == "fastighetsägare, lokalpolisområde, Husby Centrum AB"
    assert site["activities"] == "platsaktivering, möte" and site["sdo_code"] == "jarva"
    assert client.post(f"/sites/{site_id}/measures", data={
        "csrf_token": token, "measure": "Ny belysning", "owner": "trafikkontoret",
        "due_date": "2025-04-30"}).status_code == 302
    assert client.post(f"/sites/{site_id}/log", data={
        "csrf_token": token, "date": "2025-01-15", "kind": "mote",
        "note": "Första samverkansmötet"}).status_code == 302
    page = client.get(f"/sites/{site_id}").get_data(as_text=True)
    assert "Ny belysning" in page and "Första samverkansmötet" in page
    with app.app_context():
        measure = get_store().read("site_measures").iloc[0]
    assert client.post(f"/sites/{site_id}/measures/{measure['id']}/status", data={
        "csrf_token": token, "status": "klar"}).status_code == 302
    edit = client.get(f"/sites/{site_id}/edit").get_data(as_text=True)
    assert "MultiPolygon" in edit and 'value="Husby Centrum AB"' in edit
    assert client.post(f"/sites/{site_id}/delete", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert get_store().count("sites") == 0 and get_store().count("site_measures") == 0


def test_site_page_and_popup_figures_hide_small_counts(app):
    seed(app)
    with app.app_context():
        from layers.domain.sites import get_site, site_figures

        exact = site_figures(get_store(), get_site(get_store(), "test:site"))
    anonymous = app.test_client()
    feature = anonymous.get("/api/sites").get_json()["features"][0]["properties"]
    assert feature["site_before"] == str(exact.total.site_before)
    assert feature["url"] == "/sites/test:site" and feature["ring_m"] == 300
    page = anonymous.get("/sites/test:site?ring=150&months=6").get_data(as_text=True)
    assert "Ring 150 m runt platsen" in page and "6 månader" in page
    # a narrow window gives small counts: hidden for the public, exact for inventerare
    with app.app_context():
        store = get_store()
        store.write({"incidents": gpd.GeoDataFrame(pd.DataFrame([{
            "id": "t:late", "occurred_at": pd.Timestamp("2026-07-01", tz="Europe/Stockholm"),
            "category": "ran", "precision": "exact"}]),
            geometry=[SITE.centroid], crs=STORE_EPSG)})
        store.update("sites", "test:site", {"start_date": pd.Timestamp("2026-06-28").date()})
    feature = anonymous.get("/api/sites").get_json()["features"][0]["properties"]
    assert feature["site_after"] == "<5" and feature["site_change"] in ("..", "–")
    client = user_client(app, "ingrid", "inventerare")
    feature = client.get("/api/sites").get_json()["features"][0]["properties"]
    assert feature["site_after"] == "1"


def test_api_sites_all_or_nothing(app):
    create_user(app, "hanna", "handläggare")
    with app.app_context():
        token = new_token(get_store(), "hanna")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    geometry = json.loads(_drawn())["features"][0]["geometry"]
    good = {"type": "Feature", "properties": {"name": "Husby torg", "startdatum": "2024-06-01",
                                               "status": "aktiv"}, "geometry": geometry}
    bad = {"type": "Feature", "properties": {"name": "", "status": "okänd"},
           "geometry": geometry}
    response = client.post("/api/sites", headers=headers,
                           json={"type": "FeatureCollection", "features": [good, bad]})
    assert response.status_code == 422
    errors = response.get_json()
    assert {(e["row"], e["field"]) for e in errors} == {(2, "name"), (2, "status")}
    with app.app_context():
        assert get_store().count("sites") == 0
    response = client.post("/api/sites", headers=headers,
                           json={"type": "FeatureCollection", "features": [good]})
    assert response.status_code == 201 and len(response.get_json()["ids"]) == 1
    assert client.post("/api/sites", headers=headers, json=[]).status_code == 422
    with app.app_context():
        assert get_store().read("sites")["sdo_code"].tolist() == ["jarva"]


def test_walk_form_upload_detail_and_protocol(app, tmp_path):
    client = user_client(app, "hanna", "handläggare")
    token = csrf_token(client, "/walks/new")
    response = client.post("/walks/new", data={
        "csrf_token": token, "date": "2024-12-10", "start_time": "17:30",
        "end_time": "19:00", "area": "Husby centrum", "organisers": "SDF",
        "group_boende": "8", "group_polis": "2", "route": ROUTE})
    assert response.status_code == 302
    walk_id = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/walks/{walk_id}").get_data(as_text=True)
    assert "i mörker" in page and "boende" in page
    upload = client.post("/walks/import", data={
        "csrf_token": token, "file": _gpx_file(tmp_path),
        "organisers": "Järva SDF"}, content_type="multipart/form-data")
    # a GPX walk goes through the upload preview: nothing stored before the confirm
    assert upload.status_code == 302
    preview = upload.headers["Location"]
    assert "/findings/upload/" in preview and client.get(preview).status_code == 200
    with app.app_context():
        assert get_store().count("findings") == 0
    stored = client.post(preview + "/confirm", data={"csrf_token": token})
    assert stored.status_code == 302
    gpx_walk = stored.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        assert get_store().count("findings") == 12
    pdf = client.get(f"/walks/{gpx_walk}/protocol.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and "protokoll-2024-11-05" in \
        pdf.headers["Content-Disposition"]
    docx = client.get(f"/walks/{gpx_walk}/protocol.docx?owner=trafikkontoret")
    assert docx.status_code == 200 and "trafikkontoret.docx" in \
        docx.headers["Content-Disposition"]
    assert client.get(f"/walks/{gpx_walk}/protocol.pdf?owner=nasa").status_code == 400
    assert client.get("/walks/walk:nope/protocol.pdf").status_code == 404
    html = client.get(f"/walks/{gpx_walk}/protocol.html?owner=bostadsbolag")
    assert "WP04" in html.get_data(as_text=True) and "WP01" not in html.get_data(as_text=True)
    listing = client.get("/walks?light=dark").get_data(as_text=True)
    assert "Husby centrum runt" in listing
    assert client.post(f"/walks/{walk_id}/delete", data={"csrf_token": token}).status_code \
        == 302


def _gpx_file(tmp_path):
    path = tmp_path / "vandring.gpx"
    path.write_text(walk_gpx(), encoding="utf-8")
    return path.open("rb"), "vandring.gpx"


def test_api_walks_all_or_nothing_and_list(app, tmp_path):
    create_user(app, "ingrid", "inventerare")
    with app.app_context():
        token = new_token(get_store(), "ingrid")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    route = json.loads(ROUTE)["features"][0]["geometry"]
    good = {"date": "2024-10-01", "start_time": "18:00", "area": "Husby centrum",
            "organisers": "SDF", "participants": {"boende": 7, "polis": 2}, "route": route}
    bad = {"date": "i morgon", "area": "Kista", "participants": {"unga": -1}}
    response = client.post("/api/walks", headers=headers, json=[good, bad])
    assert response.status_code == 422
    rows = {(e["row"], e["field"]) for e in response.get_json()}
    assert (2, "date") in rows and (2, "participants_unga") in rows
    with app.app_context():
        assert get_store().count("walks") == 0
    response = client.post("/api/walks", headers=headers, json=[good])
    assert response.status_code == 201 and response.get_json()["new_walks"] == 1
    response = client.post("/api/walks", headers=headers,
                           data={"file": _gpx_file(tmp_path)},
                           content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["findings_inserted"] == 12
    listing = client.get("/api/walks", headers=headers).get_json()
    by_area = {f["properties"]["area"]: f for f in listing["features"]}
    assert by_area["Husby centrum"]["properties"]["participants_by_group"] == \
        {"boende": 7, "polis": 2}
    assert by_area["Husby centrum"]["geometry"]["type"] == "MultiLineString"
    assert by_area["Husby centrum runt"]["properties"]["findings"] == 12


def test_lighting_page(app):
    seed(app)
    with app.app_context():
        store = get_store()
        store.write({"findings": gpd.GeoDataFrame(pd.DataFrame([{
            "id": "f:lamp", "found_at": pd.Timestamp("2025-01-01", tz="Europe/Stockholm"),
            "category": "belysning", "severity": 3, "status": "ny",
            "description": "Trasig lampa vid torget"}]),
            geometry=[SITE.centroid], crs=STORE_EPSG)})
    assert app.test_client().get("/lighting").status_code == 302  # log in first
    client = user_client(app, "lars", "läsare")
    page = client.get("/lighting?period=2025&distance=80")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Trasig lampa vid torget" in text
    assert "inom 80 m" in text
    assert client.get("/lighting?period=bad").status_code == 200
