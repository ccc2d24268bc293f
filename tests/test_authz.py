"""Authorization: every route against every role, and the district scope of writes.

The role matrix enumerates ``app.url_map`` (every rule × method) and checks each
against anonymous, läsare, inventerare, handläggare, a handläggare bound to Järva and
admin, with the table :data:`ACCESS` of what each endpoint needs. A route missing from
the table fails :func:`test_every_route_has_an_access_rule`: a new route must get a
rule. Objects in the URLs lie outside Järva (Södermalm), so the Järva handläggare is
refused every write on them. The matrix app runs without CSRF (it checks who may, not
the forms' tokens; CSRF has its own tests) on one demo store for the module.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_test_app
from infra import create_user, login

from layers.domain.users import new_token
from layers.store.base import Query
from mapapp.store_ import get_store

ROLES = ("anonymous", "läsare", "inventerare", "handläggare", "jarva", "admin")
ROLE_RANK = {"läsare": 1, "inventerare": 2, "handläggare": 3, "jarva": 3, "admin": 4}

#: What each endpoint needs: (minimal role or None for public, scoped). ``scoped``: the
#: write is limited to the user's stadsdelsområde for the object in the URL (the Järva
#: handläggare is refused, since every object used lies outside Järva). Creation routes
#: are scoped by the new object's place, which the matrix's empty forms never reach;
#: :func:`test_area_bound_user_cannot_create_outside_the_area` covers them.
ACCESS: dict[tuple[str, str], tuple[str | None, bool]] = {
    ("static", "GET"): (None, False),
    ("health.healthz", "GET"): (None, False),
    ("auth.login", "GET"): (None, False),
    ("auth.login", "POST"): (None, False),
    ("auth.logout", "POST"): (None, False),
    ("auth.password", "GET"): ("läsare", False),
    ("auth.password", "POST"): ("läsare", False),
    ("auth.sessions", "GET"): ("admin", False),
    ("auth.end_sessions", "POST"): ("admin", False),
    ("notify.notifications", "GET"): ("läsare", False),
    ("notify.notifications", "POST"): ("läsare", False),
    ("findings.list_findings", "GET"): ("läsare", False),
    ("findings.export_findings", "GET"): ("läsare", False),
    ("findings.photo", "GET"): ("läsare", False),
    ("findings.new_finding", "GET"): ("inventerare", False),
    ("findings.create_finding", "POST"): ("inventerare", False),
    ("findings.upload_template", "GET"): ("inventerare", False),
    ("findings.upload_file", "POST"): ("inventerare", False),
    ("findings.upload_preview", "GET"): ("inventerare", False),
    ("findings.confirm_upload", "POST"): ("inventerare", False),
    ("findings.cancel_upload", "POST"): ("inventerare", False),
    ("findings.show_finding", "GET"): ("läsare", False),
    ("findings.change_status", "POST"): ("handläggare", True),
    # a finding's reporter may also correct it until it is assigned (the demo findings
    # used here were recorded by nobody in the matrix): tests/test_findings_correct.py
    ("findings.edit_finding", "GET"): ("handläggare", True),
    ("findings.edit_finding", "POST"): ("handläggare", True),
    ("findings.delete_finding", "POST"): ("handläggare", True),
    ("findings.api_create", "POST"): ("inventerare", False),
    ("api.index", "GET"): (None, False),
    ("api.openapi", "GET"): (None, False),
    ("api.incidents", "GET"): (None, False),
    ("api.incident_grid", "GET"): (None, False),
    ("api.layer", "GET"): (None, False),
    ("api.indicators", "GET"): (None, False),
    ("api.promises", "GET"): (None, False),
    ("maps.city", "GET"): (None, False),
    ("maps.district", "GET"): (None, False),
    ("maps.district_figures", "GET"): (None, False),
    ("briefs.index", "GET"): ("läsare", False),
    ("briefs.document", "GET"): ("läsare", False),
    ("briefs.edit_text", "GET"): ("läsare", False),
    ("briefs.edit_text", "POST"): ("handläggare", True),
    ("briefs.city", "GET"): ("läsare", False),
    ("priority.api", "GET"): (None, False),
    ("priority.ranking", "GET"): (None, False),
    ("priority.emerging_api", "GET"): (None, False),
    ("sites.list_sites", "GET"): (None, False),
    ("sites.show_site", "GET"): (None, False),
    ("sites.new_site", "GET"): ("handläggare", False),
    ("sites.new_site", "POST"): ("handläggare", False),
    ("sites.edit_site", "GET"): ("handläggare", True),
    ("sites.edit_site", "POST"): ("handläggare", True),
    ("sites.delete_site", "POST"): ("handläggare", True),
    ("sites.add_measure", "POST"): ("handläggare", True),
    ("sites.measure_status", "POST"): ("handläggare", True),
    ("sites.add_log_entry", "POST"): ("handläggare", True),
    ("sites.api_create", "POST"): ("handläggare", False),
    ("walks.list_walks", "GET"): ("läsare", False),
    ("walks.import_walk", "POST"): ("inventerare", False),
    ("walks.show_walk", "GET"): ("läsare", False),
    ("walks.new_walk", "GET"): ("inventerare", False),
    ("walks.new_walk", "POST"): ("inventerare", False),
    ("walks.edit_walk", "GET"): ("inventerare", True),
    ("walks.edit_walk", "POST"): ("inventerare", True),
    ("walks.delete_walk", "POST"): ("handläggare", True),
    ("walks.protocol", "GET"): ("läsare", False),
    ("walks.lighting", "GET"): ("läsare", False),
    ("walks.api_list", "GET"): ("läsare", False),
    ("walks.api_create", "POST"): ("inventerare", False),
    # OGC API Features: reads only, every role gets what /api/* gives it (test_ogc.py)
    ("ogc.landing", "GET"): (None, False),
    ("ogc.conformance", "GET"): (None, False),
    ("ogc.openapi", "GET"): (None, False),
    ("ogc.collections", "GET"): (None, False),
    ("ogc.collection", "GET"): (None, False),
    ("ogc.items", "GET"): (None, False),
    ("ogc.item", "GET"): (None, False),
    ("admin.users", "GET"): ("admin", False),
    ("admin.create_user", "POST"): ("admin", False),
    ("admin.change_role", "POST"): ("admin", False),
    ("admin.change_active", "POST"): ("admin", False),
    ("admin.change_password", "POST"): ("admin", False),
    ("admin.tokens", "GET"): ("admin", False),
    ("admin.create_token", "POST"): ("admin", False),
    ("admin.revoke", "POST"): ("admin", False),
    ("admin.audit_log", "GET"): ("admin", False),
    # walk mode (offline app): the page, its CSRF token and the sync of the phone's queue
    ("walkmode.walk_page", "GET"): ("inventerare", False),
    ("walkmode.manifest", "GET"): (None, False),
    ("walkmode.service_worker", "GET"): (None, False),
    ("walkmode.csrf_token", "GET"): ("inventerare", False),
    ("walkmode.sync_walk", "POST"): ("inventerare", False),
    ("walkmode.sync_finding", "POST"): ("inventerare", False),
    # EST: pages for every signed-in role, writes as for site measures (tests/test_est_web.py)
    ("est.weekly", "GET"): ("läsare", False),
    ("est.index", "GET"): ("läsare", False),
    ("est.problems", "GET"): ("läsare", False),
    ("est.create_theme", "POST"): ("handläggare", True),
    # the place comes from the form: the matrix's empty form is refused after the role check
    ("est.from_place", "POST"): ("handläggare", False),
    ("est.show_problem", "GET"): ("läsare", False),
    ("est.score", "POST"): ("handläggare", True),
    ("est.add_action", "POST"): ("handläggare", True),
    ("est.update_action", "POST"): ("handläggare", True),
    ("est.matrix", "GET"): ("läsare", False),
    ("est.plan", "GET"): ("läsare", False),
}

#: Objects outside Järva in the demo data.
SITE = "demo:site-11"  # Södermalm
OUTSIDE_SDO = "sodermalm"
PROBLEM, ACTION = "t:problem-1", "t:action-1"  # an EST problem and action in Södermalm


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_route_has_an_access_rule():
    app = make_test_app(Path("/nonexistent-authz-probe"))
    routes = {(rule.endpoint, m) for rule in app.url_map.iter_rules() for m in _methods(rule)}
    missing = sorted(routes - set(ACCESS))
    assert not missing, f"routes without an entry in ACCESS (give them a rule): {missing}"
    stale = sorted(set(ACCESS) - routes)
    assert not stale, f"ACCESS names routes that do not exist: {stale}"


# --- the module's demo app ----------------------------------------------------------------


class World:
    """The module's app, a client and a bearer token per role, and objects to act on."""

    def __init__(self, app, folder: Path) -> None:
        self.app, self.folder = app, folder
        self.clients: dict[str, object] = {"anonymous": app.test_client()}
        self.tokens: dict[str, str | None] = {"anonymous": None}
        for role in ROLES[1:]:
            real = "handläggare" if role == "jarva" else role
            name = f"u-{role}"
            create_user(app, name, real, sdo_code="jarva" if role == "jarva" else None)
            client = app.test_client()
            response = client.post("/auth/login", data={"username": name,
                                                        "password": "losenord123"})
            assert response.status_code == 302, role
            self.clients[role] = client
            with app.app_context():
                self.tokens[role] = new_token(get_store(), name)
        with app.app_context():
            store = get_store()
            walks = store.read("walks")
            self.walk = str(walks.loc[walks["sdo_code"] == OUTSIDE_SDO, "id"].iloc[0])
            findings = store.read("findings", Query(where={"sdo_code": OUTSIDE_SDO}))
            self.finding = str(findings["id"].iloc[0])
            store.write({"site_measures": pd.DataFrame([{
                "id": "t:measure-1", "site_id": SITE, "measure": "Belysning", "owner": "x",
                "due_date": None, "status": "planerad", "created_at": None,
                "created_by": "test"}])})
            store.write({"problems": pd.DataFrame([{
                "id": PROBLEM, "sdo_code": OUTSIDE_SDO, "title": "Tunneln", "kind": "tema",
                "status": "aktivt"}]),
                "actions": pd.DataFrame([{
                    "id": ACTION, "problem_id": PROBLEM, "sdo_code": OUTSIDE_SDO,
                    "what": "Belysning", "owner": "x", "status": "planerad"}])})
        self.copies = 0

    def copy_of(self, table: str, object_id: str) -> str:
        """A fresh copy of a site, walk or finding (for deletes: every role gets its own)."""
        self.copies += 1
        new_id = f"{object_id}-copy{self.copies}"
        with self.app.app_context():
            store = get_store()
            row = store.read(table, Query(where={"id": object_id}))
            store.write({table: row.assign(id=new_id)})
        return new_id

    def values(self, endpoint: str) -> dict[str, str]:
        """URL values for an endpoint: cheap to answer, outside Järva."""
        return {
            "static": {"filename": "openapi.json"},
            "findings.export_findings": {"fmt": "csv"},
            "findings.photo": {"name": "saknas.jpg"},
            "findings.upload_preview": {"token": "x" * 24},
            "findings.confirm_upload": {"token": "x" * 24},
            "findings.cancel_upload": {"token": "x" * 24},
            "findings.show_finding": {"finding_id": self.finding},
            "findings.change_status": {"finding_id": self.finding},
            "findings.edit_finding": {"finding_id": self.finding},
            "findings.delete_finding": {"finding_id": self.copy_of("findings", self.finding)},
            "api.layer": {"layer": "stadsdelsomraden"},
            "maps.district": {"code": OUTSIDE_SDO},
            "maps.district_figures": {"code": OUTSIDE_SDO},
            # a period that is no period: 400 once the role check has passed
            "briefs.document": {"sdn": OUTSIDE_SDO, "period": "x", "fmt": "html"},
            "briefs.edit_text": {"sdn": OUTSIDE_SDO, "period": "2024-T1"},
            "sites.show_site": {"site_id": SITE},
            "sites.edit_site": {"site_id": SITE},
            "sites.delete_site": {"site_id": self.copy_of("sites", SITE)},
            "sites.add_measure": {"site_id": SITE},
            "sites.measure_status": {"site_id": SITE, "measure_id": "t:measure-1"},
            "sites.add_log_entry": {"site_id": SITE},
            "walks.show_walk": {"walk_id": self.walk},
            "walks.edit_walk": {"walk_id": self.walk},
            "walks.delete_walk": {"walk_id": self.copy_of("walks", self.walk)},
            "walks.protocol": {"walk_id": self.walk, "fmt": "html"},
            "ogc.collection": {"collection_id": "sites"},
            "ogc.items": {"collection_id": "sites"},
            "ogc.item": {"collection_id": "sites", "fid": SITE},
            # the matrix's empty forms change nothing: no role, no password, no such token
            "admin.change_role": {"name": "u-läsare"},
            "admin.change_active": {"name": "u-admin"},
            "admin.change_password": {"name": "u-läsare"},
            "admin.tokens": {"name": "u-läsare"},
            "admin.create_token": {"name": "u-läsare"},
            "admin.revoke": {"token_id": "ffffffffffff"},
            "est.weekly": {"sdn": OUTSIDE_SDO},
            "est.problems": {"sdn": OUTSIDE_SDO},
            "est.create_theme": {"sdn": OUTSIDE_SDO},
            "est.show_problem": {"problem_id": PROBLEM},
            "est.score": {"problem_id": PROBLEM},
            "est.add_action": {"problem_id": PROBLEM},
            "est.update_action": {"action_id": ACTION},
            "est.matrix": {"sdn": OUTSIDE_SDO},
            "est.plan": {"sdn": OUTSIDE_SDO},
        }.get(endpoint, {})


@pytest.fixture(scope="module")
def world(tmp_path_factory, demo_store_file):
    folder = tmp_path_factory.mktemp("authz")
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    app = make_test_app(folder, WTF_CSRF_ENABLED=False)
    return World(app, folder)


def _denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 302 and "/auth/login" in response.headers.get("Location", "")


def _expected_allowed(role: str, need: str | None, scoped: bool) -> bool:
    if need is None:
        return True
    if role == "anonymous" or ROLE_RANK[role] < ROLE_RANK[need]:
        return False
    return not (scoped and role == "jarva")


#: Cheap query strings for pages that would otherwise compute a lot.
QUERY = {"priority.api": "?sdn=sodermalm", "priority.ranking": "?sdn=sodermalm",
         "priority.emerging_api": "?sdn=sodermalm",
         "api.incidents": "?limit=1", "api.incident_grid": "?sdn=sodermalm",
         "api.indicators": "?sdn=sodermalm&period=2025-T1",
         "api.promises": "?period=2025-T1",
         "findings.export_findings": "?status=avvisad", "briefs.city": "?period=x",
         "sites.list_sites": "?q=ingen-plats-heter-sa", "walks.list_walks": "?year=1900",
         "walks.lighting": "?sdo=sodermalm&period=2020-01",
         "findings.list_findings": "?status=avvisad&sdo=sodermalm",
         # a week that is no week: 400 once the role check has passed
         "est.weekly": "?vecka=x"}


@pytest.mark.parametrize(("endpoint", "method"), sorted(ACCESS))
def test_role_matrix(world, endpoint, method):
    need, scoped = ACCESS[(endpoint, method)]
    wrong = []
    for role in ROLES:
        from flask import url_for

        with world.app.test_request_context():
            url = url_for(endpoint, **world.values(endpoint)) + QUERY.get(endpoint, "")
        client = world.clients[role]
        headers = {}
        if url.startswith("/api/") and method == "POST" and world.tokens[role]:
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
            client = world.app.test_client()  # a bearer call carries no session
        data = {}
        if endpoint in ("auth.login", "auth.logout"):
            # log-in and log-out act on a throwaway session (the role's own stays signed in)
            client = world.app.test_client()
            data = {"username": "u-läsare", "password": "losenord123"}
        response = client.open(url, method=method, headers=headers, data=data)
        response.close()
        assert response.status_code < 500, (role, url, response.status_code)
        allowed = not _denied(response)
        if allowed != _expected_allowed(role, need, scoped):
            wrong.append((role, response.status_code))
    assert not wrong, f"{method} {endpoint}: wrong access for {wrong}"


# --- acceptance 1: district scope on every write ---------------------------------------------


@pytest.fixture
def scoped(demo_data_dir):
    """A demo app without CSRF, a Järva-bound handläggare and inventerare signed in."""
    app = make_test_app(demo_data_dir, WTF_CSRF_ENABLED=False)
    clients = {}
    for name, role in (("hj", "handläggare"), ("ij", "inventerare")):
        create_user(app, name, role, sdo_code="jarva")
        clients[name] = app.test_client()
        response = clients[name].post("/auth/login", data={"username": name,
                                                           "password": "losenord123"})
        assert response.status_code == 302
    return app, clients


def _first(app, table: str, sdo: str) -> str:
    with app.app_context():
        frame = get_store().read(table, Query(where={"sdo_code": sdo}))
    return str(frame["id"].iloc[0])


def _write_routes(app) -> list[tuple[str, str, dict]]:
    """(label, url template, form) of every write on an existing object; {site}, {walk}, …"""
    return [
        ("finding status", "/findings/{finding}/status",
         {"status": "tilldelad", "owner": "trafikkontoret"}),
        ("measure", "/sites/{site}/measures",
         {"measure": "Ny belysning", "owner": "trafikkontoret", "due_date": "2025-12-01"}),
        ("measure status", "/sites/{site}/measures/{measure}/status", {"status": "klar"}),
        ("site log", "/sites/{site}/log",
         {"date": "2025-05-01", "kind": "mote", "note": "Möte med fastighetsägare"}),
        ("brief text", "/briefs/{sdo}/2024-T2/text", {"analysis": "Läget är lugnt."}),
        ("walk edit", "/walks/{walk}/edit", {}),
        ("finding edit", "/findings/{finding}/edit", {}),
        ("site edit", "/sites/{site}/edit", {}),
        ("walk delete", "/walks/{walk}/delete", {}),
        ("site delete", "/sites/{site}/delete", {}),
    ]


@pytest.mark.parametrize("sdo", ["sodermalm", "hasselby-vallingby"])
def test_area_bound_handlaggare_is_refused_every_write_outside_the_area(scoped, sdo):
    app, clients = scoped
    client = clients["hj"]
    objects = {"finding": _first(app, "findings", sdo), "site": _first(app, "sites", sdo),
               "walk": _first(app, "walks", sdo), "sdo": sdo, "measure": "t:m-out"}
    with app.app_context():
        get_store().write({"site_measures": pd.DataFrame([{
            "id": "t:m-out", "site_id": objects["site"], "measure": "Belysning", "owner": "x",
            "due_date": None, "status": "planerad", "created_at": None, "created_by": "t"}])})
        status = get_store().read("findings", Query(where={"id": objects["finding"]}))[
            "status"].iloc[0]
        before = {t: len(get_store().read(t)) for t in ("sites", "walks", "site_measures",
                                                      "site_activity_log", "brief_texts",
                                                      "finding_history")}
    for label, template, form in _write_routes(app):
        response = client.post(template.format(**objects), data=form)
        assert response.status_code == 403, label
        assert "stadsdelsområde" in response.get_data(as_text=True), label
    # the edit forms are refused before they are shown
    for url in (f"/sites/{objects['site']}/edit", f"/walks/{objects['walk']}/edit"):
        assert client.get(url).status_code == 403, url
    with app.app_context():
        after = {t: len(get_store().read(t)) for t in before}
        measure = get_store().read("site_measures", Query(where={"id": "t:m-out"}))
        finding = get_store().read("findings", Query(where={"id": objects["finding"]}))
    assert after == before
    assert measure["status"].iloc[0] == "planerad" and finding["status"].iloc[0] == status
    # the walk edit is an inventerare's write: the Järva inventerare is refused too
    assert clients["ij"].get(f"/walks/{objects['walk']}/edit").status_code == 403


def test_area_bound_handlaggare_writes_inside_the_area(scoped):
    app, clients = scoped
    client = clients["hj"]
    with app.app_context():
        new = get_store().read("findings", Query(where={"sdo_code": "jarva", "status": "ny"}))
    objects = {"finding": str(new["id"].iloc[0]), "site": _first(app, "sites", "jarva"),
               "walk": _first(app, "walks", "jarva"), "sdo": "jarva", "measure": "t:m-in"}
    with app.app_context():
        get_store().write({"site_measures": pd.DataFrame([{
            "id": "t:m-in", "site_id": objects["site"], "measure": "Belysning", "owner": "x",
            "due_date": None, "status": "planerad", "created_at": None, "created_by": "t"}])})
    for label, template, form in _write_routes(app):
        if "edit" in label:
            assert client.get(template.format(**objects)).status_code == 200, label
            continue
        response = client.post(template.format(**objects), data=form)
        assert response.status_code == 302, label
    with app.app_context():
        store = get_store()
        assert store.read("findings", Query(where={"id": objects["finding"]}))[
            "status"].iloc[0] == "tilldelad"
        assert store.count("sites", Query(where={"id": objects["site"]})) == 0
        assert store.count("walks", Query(where={"id": objects["walk"]})) == 0
        assert len(store.read("brief_texts")) == 1
    # an area of the old division belongs to Järva too: Rinkeby-Kista's brief text
    assert client.post("/briefs/rinkeby-kista/2023-T1/text",
                       data={"analysis": "Före sammanslagningen."}).status_code == 302


def test_area_bound_user_cannot_create_outside_the_area(scoped, tmp_path):
    from test_sites import _drawn

    app, clients = scoped
    with app.app_context():
        store = get_store()
        sodermalm = store.read("sites", Query(where={"id": "demo:site-11"})).geometry.iloc[0]
        token = new_token(store, "hj")
    form = {"name": "Ny plats på Söder", "status": "planerad", "start_date": "2025-01-01",
            "geometry": _drawn(sodermalm)}
    response = clients["hj"].post("/sites/new", data=form)
    assert response.status_code == 403
    # moving a Järva site to Södermalm is refused too
    jarva_site = _first(app, "sites", "jarva")
    response = clients["hj"].post(f"/sites/{jarva_site}/edit", data=form)
    assert response.status_code == 403
    # the API: a finding on Medborgarplatsen by a Järva-bound user
    headers = {"Authorization": f"Bearer {token}"}
    finding = {"datum": "2025-05-14 21:30", "kategori": "belysning", "allvarlighet": 3,
               "lat": 59.3143, "lon": 18.0735}
    response = app.test_client().post("/api/findings", headers=headers, json=[finding])
    assert response.status_code == 403 and "error" in response.get_json()
    inside = {**finding, "lat": 59.4091, "lon": 17.9281}
    assert app.test_client().post("/api/findings", headers=headers,
                                  json=[inside]).status_code == 201
    with app.app_context():
        assert get_store().count("sites", Query(where={"name": "Ny plats på Söder"})) == 0


# --- the status workflow cannot be skipped ----------------------------------------------------


def test_posted_status_is_ignored_new_findings_start_as_ny(app):
    create_user(app, "ingrid", "inventerare")
    with app.app_context():
        token = new_token(get_store(), "ingrid")
    rows = [{"datum": "2025-05-14 21:30", "kategori": "belysning", "allvarlighet": 3,
             "status": status, "lat": 59.4091 + i / 1e4, "lon": 17.9281}
            for i, status in enumerate(("atgardad", "avvisad", "tilldelad"))]
    response = app.test_client().post("/api/findings", json=rows,
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        stored = get_store().read("findings")
        assert get_store().count("finding_history") == 0
    assert stored["status"].tolist() == ["ny"] * 3
    assert stored["fixed_at"].isna().all() and stored["status_changed_at"].isna().all()


# --- what anonymous API callers see ------------------------------------------------------------


def test_anonymous_api_reads_get_no_texts_owners_or_walks(demo_app):
    anonymous = demo_app.test_client()
    features = anonymous.get("/api/findings?limit=50").get_json()["features"]
    assert features
    for f in features:
        props = f["properties"]
        assert not {"description", "owner", "walk_id", "photo", "created_by"} & set(props)
        # what the public map draws is still there
        assert {"id", "category", "severity", "status", "found_at"} <= set(props)
        assert f["geometry"] is not None
    assert anonymous.get("/api/walks").status_code == 401
    create_user(demo_app, "lisa", "läsare")
    reader = demo_app.test_client()
    login(reader, "lisa")
    props = reader.get("/api/findings?limit=5").get_json()["features"][0]["properties"]
    assert "description" in props and "owner" in props
    assert reader.get("/api/walks").status_code == 200


# --- ids that would break addresses -------------------------------------------------------


def test_site_id_with_slash_is_refused_naming_row_and_field(app):
    from test_sites import _drawn

    create_user(app, "hanna", "handläggare")
    with app.app_context():
        token = new_token(get_store(), "hanna")
    collection = json.loads(_drawn())
    good = {**collection["features"][0], "properties": {
        "id": "ok-1", "name": "Husby torg", "start_date": "2024-06-01"}}
    bad = {**collection["features"][0], "properties": {
        "id": "a/b", "name": "Kista torg", "start_date": "2024-06-01"}}
    response = app.test_client().post(
        "/api/sites", headers={"Authorization": f"Bearer {token}"},
        json={"type": "FeatureCollection", "features": [good, bad]})
    assert response.status_code == 422
    errors = response.get_json()
    assert [(e["row"], e["field"]) for e in errors] == [(2, "id")]
    assert "a/b" in errors[0]["message"] and "kan inte vara ett id" in errors[0]["message"]
    with app.app_context():
        assert get_store().count("sites") == 0


# --- refused uploads leave no files -------------------------------------------------------------


def test_refused_form_post_deletes_its_photo(app, data_dir):
    from test_findings_domain import jpeg_with_gps

    create_user(app, "ingrid", "inventerare")
    client = app.test_client()
    login(client, "ingrid")
    page = client.get("/findings/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/findings/new", data={
        "csrf_token": token, "category": "ingen-sadan", "severity": "3",
        "found_at": "2025-05-14T21:30", "lat": "59.4091", "lon": "17.9281",
        "photo": (io.BytesIO(jpeg_with_gps()), "IMG_1.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 422
    photos = data_dir / "photos"
    assert not photos.exists() or not any(photos.iterdir())


def test_abandoned_api_folders_are_removed_at_start_and_on_refusal(app, data_dir):
    import os
    import time

    old = data_dir / "uploads" / "api" / "killed-request"
    old.mkdir(parents=True)
    (old / "upload.csv").write_text("x", encoding="utf-8")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fresh = data_dir / "uploads" / "api" / "running-request"
    fresh.mkdir()
    make_test_app(data_dir)  # a restart
    assert not old.exists() and fresh.exists()
    fresh.rmdir()
    create_user(app, "ingrid", "inventerare")
    with app.app_context():
        token = new_token(get_store(), "ingrid")
    response = app.test_client().post("/api/findings", headers={
        "Authorization": f"Bearer {token}"}, json=[{"kategori": "okänd", "lat": 1, "lon": 2}])
    assert response.status_code == 422
    assert not any((data_dir / "uploads" / "api").iterdir())
