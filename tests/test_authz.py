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

from layers.store.base import Query
from layers.users import new_token
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
    ("findings.api_create", "POST"): ("inventerare", False),
    ("api.index", "GET"): (None, False),
    ("api.openapi", "GET"): (None, False),
    ("api.incidents", "GET"): (None, False),
    ("api.incident_grid", "GET"): (None, False),
    ("api.layer", "GET"): (None, False),
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
}

#: Objects outside Järva in the demo data.
SITE = "demo:site-11"  # Södermalm
OUTSIDE_SDO = "sodermalm"


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
        self.copies = 0

    def copy_of(self, table: str, object_id: str) -> str:
        """A fresh copy of a site or walk (for deletes: every role gets its own)."""
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
         "api.incidents": "?limit=1", "api.incident_grid": "?sdn=sodermalm",
         "findings.export_findings": "?status=avvisad", "briefs.city": "?period=x",
         "sites.list_sites": "?q=ingen-plats-heter-sa", "walks.list_walks": "?year=1900",
         "walks.lighting": "?sdo=sodermalm&period=2020-01",
         "findings.list_findings": "?status=avvisad&sdo=sodermalm"}


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
        if endpoint.startswith("auth."):
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
