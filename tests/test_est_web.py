"""The EST pages on the demo store: the weekly lägesbild (page, PDF, CLI) for Järva's
last full week, a problem made from a priority place, scored, given an action that the
brief then shows, and the district scope of the writes (mapapp/est.py)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from conftest import make_test_app
from infra import create_user

from layers.core import clock
from layers.store.base import Query
from mapapp.cli import cli
from mapapp.store_ import get_store

#: Järva's last full week when "today" is Wednesday 3 December 2025 (demo data end 2025).
TODAY = "2025-12-03 10:00"
WEEK = "2025-W48"


@pytest.fixture(scope="module")
def web(tmp_path_factory, demo_store_file):
    """One demo app for the module (no CSRF), with a handläggare, a Järva-bound one and
    a läsare signed in."""
    folder = tmp_path_factory.mktemp("est-web")
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    app = make_test_app(folder, WTF_CSRF_ENABLED=False)
    clients = {}
    for name, role, sdo in (("h", "handläggare", None), ("hj", "handläggare", "jarva"),
                            ("l", "läsare", None)):
        create_user(app, name, role, sdo_code=sdo)
        clients[name] = app.test_client()
        assert clients[name].post("/auth/login", data={
            "username": name, "password": "losenord123"}).status_code == 302
    with clock.frozen(TODAY):
        yield app, clients, folder


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode("utf-8")


def test_weekly_lagesbild_for_jarva_last_full_week_as_page_and_pdf(web):
    _, clients, _ = web
    page = clients["l"].get("/lagesbild/jarva")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Veckolägesbild Järva, vecka 48 2025" in html
    assert "vecka 47–49 2024" in html and 'data-figure="week_incidents"' in html
    for heading in ("Händelser", "Nya fynd", "Försenade löften", "Platssamverkan",
                    "Handlingsplan"):
        assert f"<h2>{heading}</h2>" in html
    # the same week asked for by name gives the same page
    assert clients["l"].get(f"/lagesbild/jarva?vecka={WEEK}").get_data(as_text=True) == html
    pdf = clients["l"].get(f"/lagesbild/jarva.pdf?vecka={WEEK}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    text = _pdf_text(pdf.data)
    assert "Veckolägesbild Järva" in text and "vecka 48 2025" in text
    assert "Veckosnitt året innan" in text and "Försenade löften" in text
    # bad week: 400 in Swedish; unknown area: 404; anonymous: log in first
    assert clients["l"].get("/lagesbild/jarva?vecka=2025-W60").status_code == 400
    assert clients["l"].get("/lagesbild/ingenstans").status_code == 404
    assert web[0].test_client().get("/lagesbild/jarva").status_code == 302


def test_cli_writes_the_weekly_lagesbild(web, tmp_path):
    _, _, folder = web
    out = tmp_path / "v48.pdf"
    result = CliRunner().invoke(cli, ["lagesbild", "--data-dir", str(folder),
                                      "--area", "Järva", "--week", WEEK, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "vecka 48 2025" in _pdf_text(out.read_bytes())
    html = tmp_path / "v48.html"
    result = CliRunner().invoke(cli, ["lagesbild", "--data-dir", str(folder),
                                      "--area", "jarva", "--out", str(html)])
    assert result.exit_code == 0 and "vecka 48 2025" in html.read_text(encoding="utf-8")
    bad = CliRunner().invoke(cli, ["lagesbild", "--data-dir", str(folder), "--area", "x"])
    assert bad.exit_code == 2


def _problem_from_first_place(client) -> str:
    page = client.get("/priority?sdn=jarva&period=2025-T3").get_data(as_text=True)
    assert "Skapa problem" in page
    response = client.post("/est/problems/from-place",
                           data={"sdn": "jarva", "period": "2025-T3", "rank": "1"})
    assert response.status_code == 302
    return response.headers["Location"].rsplit("/", 1)[1]


def test_problem_from_a_priority_place_scored_with_an_action_shows_in_the_brief(web):
    app, clients, _ = web
    client = clients["h"]
    problem_id = _problem_from_first_place(client)
    with app.app_context():
        problem = get_store().read("problems", Query(where={"id": problem_id})).iloc[0]
    assert problem["kind"] == "plats" and problem["place_rank"] == 1
    assert problem["place_wkt"].startswith(("POLYGON", "MULTIPOLYGON"))
    detail = client.get(f"/est/problems/{problem_id}").get_data(as_text=True)
    assert problem["title"] in detail and "prioriterad plats" in detail.lower()
    assert client.post(f"/est/problems/{problem_id}/score", data={
        "need": "5", "influence": "4", "back": "matrix"}).status_code == 302
    matrix = client.get("/est/jarva/matris").get_data(as_text=True)
    cell = re.search(r'data-need="5" data-influence="4">(.*?)</td>', matrix, re.S).group(1)
    assert f'data-problem="{problem_id}"' in cell
    assert client.post(f"/est/problems/{problem_id}/actions", data={
        "what": "Ny belysning vid entrén", "owner": "trafikkontoret",
        "deadline": "2025-12-20", "follow_up": "2025-12-10"}).status_code == 302
    listing = client.get("/est/jarva").get_data(as_text=True)
    assert f'data-problem="{problem_id}"' in listing and "Nytt tema" in listing
    assert "/est/jarva" in client.get("/est/").get_data(as_text=True)
    assert "Misshandel" in detail  # the place's incidents per category, in Swedish
    plan = client.get("/est/jarva/handlingsplan").get_data(as_text=True)
    assert "Ny belysning vid entrén" in plan and "2025-12-10" in plan
    brief = client.get("/briefs/jarva/2025-T3.html").get_data(as_text=True)
    section = brief[brief.index('id="handlingsplan"'):]
    assert "Ny belysning vid entrén" in section and "2025-12-10" in section
    assert "planerad" in section
    # an action carried out as a Järva site's measure links to the site
    with app.app_context():
        import pandas as pd

        from layers.domain import est

        store = get_store()
        site = store.read("sites", Query(where={"sdo_code": "jarva"}))["id"].iloc[0]
        store.write({"site_measures": pd.DataFrame([{
            "id": "t:measure-jarva", "site_id": site, "measure": "Väktare", "owner": "x",
            "due_date": None, "status": "planerad", "created_at": None,
            "created_by": "t"}])})
        measure = est.measures_in(store, ("jarva",)).iloc[0]
    assert client.post(f"/est/problems/{problem_id}/actions", data={
        "what": "Väktare kvällstid", "owner": "fastighetsägaren",
        "measure_id": measure["id"]}).status_code == 302
    detail = client.get(f"/est/problems/{problem_id}").get_data(as_text=True)
    assert f'/sites/{measure["site_id"]}#measures' in detail
    # a läsare sees the pages but has no forms, and may not write
    assert "Spara bedömning" not in clients["l"].get(
        f"/est/problems/{problem_id}").get_data(as_text=True)
    assert clients["l"].post(f"/est/problems/{problem_id}/score",
                             data={"need": "1", "influence": "1"}).status_code == 403


def test_area_bound_handlaggare_writes_only_in_the_area(web):
    app, clients, _ = web
    with app.app_context():
        from layers.domain import est

        outside, _ = est.create_problem(get_store(), {
            "sdo_code": "sodermalm", "title": "Medborgarplatsen", "kind": "tema"}, user="t")
    client = clients["hj"]
    for url, data in ((f"/est/problems/{outside}/score", {"need": "2", "influence": "2"}),
                      (f"/est/problems/{outside}/actions", {"what": "x", "owner": "y"}),
                      ("/est/sodermalm/problems", {"title": "Nytt"})):
        response = client.post(url, data=data)
        assert response.status_code == 403 and "stadsdelsområde" in response.get_data(
            as_text=True), url
    # inside Järva: a theme problem, then an action
    response = client.post("/est/jarva/problems", data={"title": "Mopedåkning i centrum"})
    assert response.status_code == 302
    inside = response.headers["Location"].rsplit("/", 1)[1]
    assert client.post(f"/est/problems/{inside}/actions", data={
        "what": "Dialog med fastighetsägaren", "owner": "SDF"}).status_code == 302
    with app.app_context():
        store = get_store()
        assert store.count("actions", Query(where={"problem_id": inside})) == 1
        assert store.count("actions", Query(where={"problem_id": outside})) == 0
        action = store.read("actions", Query(where={"problem_id": inside}))["id"].iloc[0]
    assert client.post(f"/est/actions/{action}", data={
        "status": "pagar", "follow_up": "2025-12-19", "back": "plan"}).status_code == 302
    with app.app_context():
        history = get_store().read("action_history", Query(where={"action_id": action}))
    assert sorted(history["status"]) == ["pagar", "planerad"]
    # invalid input is refused with the field named, nothing stored
    response = client.post(f"/est/actions/{action}", data={"follow_up": "inte ett datum"},
                           follow_redirects=True)
    assert "ändrades inte" in response.get_data(as_text=True)
