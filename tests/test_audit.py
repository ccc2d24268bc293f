"""The audit log (issue 13, acceptance 6): every creation, change and deletion of a
finding, site, measure, walk, user or API token is logged with who, when and the
old and new values, in the same transaction as the change; admins list it with
filters.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from infra import create_user, login
from test_sites import _drawn
from test_store_contract import sample_frame
from test_walks import ROUTE

from layers.core import audit
from layers.core.schema import STORE_EPSG
from layers.domain.users import add_user, check_token, new_token
from layers.store import open_store
from layers.store.base import Query
from mapapp.cli import cli
from mapapp.store_ import get_store

BACKENDS = ["geopackage", pytest.param("postgis", marks=pytest.mark.postgis)]


@pytest.fixture(params=BACKENDS)
def any_store(request, tmp_path):
    """An initialised, empty store of each backend."""
    if request.param == "geopackage":
        store = open_store(tmp_path / "data")
    else:
        store = open_store(request.getfixturevalue("postgis_schema_url"))
    store.initialize()
    yield store
    store.close()


def log_of(store, **where) -> pd.DataFrame:
    rows = store.read("audit_log", Query(where=where))
    return rows.sort_values("at", kind="stable").reset_index(drop=True)


# --- the store writes the log --------------------------------------------------------------

#: An audited layer, a field to change and its new value.
CHANGES = [
    ("findings", "status", "avvisad"),
    ("sites", "name", "Nytt namn"),
    ("site_measures", "status", "klar"),
    ("walks", "area", "Husby centrum"),
    ("users", "role", "admin"),
    ("api_tokens", "name", "surfplattan"),
]


@pytest.mark.parametrize(("layer", "field", "value"), CHANGES)
def test_create_change_delete_are_logged_with_values(any_store, layer, field, value):
    frame = sample_frame(layer, n=2)
    with audit.acting_as("anna"):
        any_store.write({layer: frame})
        assert any_store.update(layer, "r0", {field: value})
        assert any_store.delete(layer, ["r1"]) == 1
    rows = log_of(any_store)
    kind = audit.KINDS[layer]
    assert rows["kind"].tolist() == [kind] * 4
    assert rows["user_id"].tolist() == ["anna"] * 4
    assert rows["action"].tolist() == ["create", "create", "update", "delete"]
    assert rows["object_id"].tolist() == ["r0", "r1", "r0", "r1"]
    assert rows["at"].notna().all()
    created = audit.decode(rows["new_values"][0])
    assert audit.decode(rows["old_values"][0]) == {}
    old, new = audit.decode(rows["old_values"][2]), audit.decode(rows["new_values"][2])
    assert list(new) == [field] and new[field] == value
    assert old[field] == audit._jsonable(frame.iloc[0][field])
    assert old[field] == created.get(field)
    deleted = audit.decode(rows["old_values"][3])
    assert audit.decode(rows["new_values"][3]) == {}
    # a deletion keeps every field of the row as it was stored
    assert set(deleted) == set(audit.decode(rows["new_values"][1]))
    assert deleted.get(field) == audit._jsonable(frame.iloc[1][field])
    if layer == "users":  # a password hash is never copied into the log
        assert created["password_hash"] == audit.SECRET_TEXT
    if layer == "api_tokens":  # nor a token's hash (its id): a prefix names it
        assert "id" not in created
    if frame.__class__.__name__ == "GeoDataFrame":
        assert created["geometry"].split(" ")[0] in ("POINT", "LINESTRING", "MULTIPOLYGON",
                                                     "POLYGON")


def test_rows_already_stored_and_other_layers_are_not_logged(any_store):
    with audit.acting_as("anna"):
        any_store.write({"findings": sample_frame("findings", n=2)})
        any_store.write({"findings": sample_frame("findings", n=2),
                         "incidents": sample_frame("incidents", n=2)})
        any_store.update("incidents", "r0", {"category": "ran"})
    assert any_store.count("audit_log") == 2  # the two new findings only


def test_a_failed_change_leaves_no_entry(any_store):
    any_store.write({"findings": sample_frame("findings", n=1)})
    before = any_store.count("audit_log")
    bad = sample_frame("findings", n=2, prefix="x").assign(severity=["1", "not a number"])
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error
        any_store.write({"findings": bad})
    assert not any_store.update("findings", "r0", {"status": "avvisad"},
                                expect={"status": "tilldelad"})
    assert any_store.count("audit_log") == before


def test_token_use_and_paused_writes_are_not_logged(any_store):
    add_user(any_store, "ivar", "inventerare", "losenord123")
    token = new_token(any_store, "ivar")
    before = any_store.count("audit_log")
    any_store.update("api_tokens", check_token(any_store, token)[0] and
                     any_store.read("api_tokens")["id"].iloc[0],
                     {"last_used_at": pd.Timestamp.now(tz="Europe/Stockholm")})
    assert any_store.count("audit_log") == before
    with audit.paused():
        any_store.write({"sites": sample_frame("sites", n=1, prefix="p")})
    assert any_store.count("audit_log") == before


# --- every kind of change in the app, in the user's name ------------------------------------


def _csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _client(app, name: str, role: str):
    create_user(app, name, role)
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def test_every_web_change_is_in_the_log_with_its_user(app):
    hanna = _client(app, "hanna", "handläggare")
    anna = _client(app, "anna", "admin")
    token = _csrf(hanna, "/sites/new")
    # site, measure (create, change), walk (create, change, delete), site delete
    response = hanna.post("/sites/new", data={
        "csrf_token": token, "name": "Husby torg", "start_date": "2024-06-01",
        "status": "aktiv", "partner": ["fastighetsägare"], "activity": ["mote"],
        "contact": "husby@exempel.se", "geometry": _drawn()})
    assert response.status_code == 302
    site_id = response.headers["Location"].rsplit("/", 1)[1]
    assert hanna.post(f"/sites/{site_id}/measures", data={
        "csrf_token": token, "measure": "Ny belysning", "owner": "trafikkontoret",
        "due_date": "2025-04-30"}).status_code == 302
    with app.app_context():
        measure_id = get_store().read("site_measures")["id"].iloc[0]
    assert hanna.post(f"/sites/{site_id}/measures/{measure_id}/status", data={
        "csrf_token": token, "status": "klar"}).status_code == 302
    response = hanna.post("/walks/new", data={
        "csrf_token": token, "date": "2024-12-10", "start_time": "17:30", "end_time": "19:00",
        "area": "Husby centrum", "organisers": "SDF", "group_boende": "8", "route": ROUTE})
    assert response.status_code == 302
    walk_id = response.headers["Location"].rsplit("/", 1)[1]
    assert hanna.post(f"/walks/{walk_id}/edit", data={
        "csrf_token": token, "date": "2024-12-10", "start_time": "17:30", "end_time": "19:00",
        "area": "Husby torg", "organisers": "SDF", "group_boende": "9",
        "route": ROUTE}).status_code == 302
    assert hanna.post(f"/walks/{walk_id}/delete", data={"csrf_token": token}).status_code == 302
    assert hanna.post(f"/sites/{site_id}/delete", data={"csrf_token": token}).status_code == 302
    # a finding through the API, its status change through the form
    with app.app_context():
        api_token = new_token(get_store(), "hanna")
    response = app.test_client().post("/api/findings", json=[{
        "lon": 17.9387, "lat": 59.4077, "category": "belysning", "severity": 2,
        "description": "Mörk gång", "found_at": "2025-05-14 21:30"}],
        headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        finding_id = get_store().read("findings")["id"].iloc[0]
    assert hanna.post(f"/findings/{finding_id}/status", data={
        "csrf_token": _csrf(hanna, f"/findings/{finding_id}"), "status": "tilldelad",
        "owner": "trafikkontoret", "comment": "Till trafikkontoret"}).status_code == 302
    # users and tokens on the admin page
    admin_token = _csrf(anna, "/admin/users")
    assert anna.post("/admin/users/hanna/role", data={
        "csrf_token": admin_token, "role": "inventerare"}).status_code == 303
    assert anna.post("/admin/users/hanna/password", data={
        "csrf_token": admin_token, "password": "nytt-losen-123"}).status_code == 303
    page = anna.post("/admin/users/hanna/tokens", data={
        "csrf_token": admin_token, "label": "surfplattan", "days": "30"})
    assert page.status_code == 200
    new = re.search(r'id="new-token"[^>]*>([^<]+)<', page.get_data(as_text=True)).group(1)
    with app.app_context():
        token_row = get_store().read("api_tokens", Query(where={"name": "surfplattan"}))
    token_id = token_row["id"].iloc[0][:12]
    assert anna.post(f"/admin/tokens/{token_id}/revoke",
                     data={"csrf_token": admin_token}).status_code == 303
    assert app.test_client().get("/api/findings", headers={
        "Authorization": f"Bearer {new}"}).status_code == 401
    assert anna.post("/admin/users/hanna/active", data={
        "csrf_token": admin_token, "active": "0"}).status_code == 303

    with app.app_context():
        rows = log_of(get_store())
    seen = set(zip(rows["kind"], rows["action"], rows["user_id"], strict=True))
    for expected in [("site", "create", "hanna"), ("site", "delete", "hanna"),
                     ("measure", "create", "hanna"), ("measure", "update", "hanna"),
                     ("measure", "delete", "hanna"),
                     ("walk", "create", "hanna"), ("walk", "update", "hanna"),
                     ("walk", "delete", "hanna"),
                     ("finding", "create", "hanna"), ("finding", "update", "hanna"),
                     ("token", "create", "anna"), ("token", "update", "anna"),
                     ("user", "update", "anna")]:
        assert expected in seen, expected
    updates = rows[rows["action"] == "update"]
    by_kind = {k: [(audit.decode(o), audit.decode(n)) for o, n in
                   zip(g["old_values"], g["new_values"], strict=True)]
               for k, g in updates.groupby("kind")}
    assert ({"status": "planerad"}, {"status": "klar"}) in by_kind["measure"]
    assert any(o.get("area") == "Husby centrum" and n.get("area") == "Husby torg"
               for o, n in by_kind["walk"])
    assert any(o.get("status") == "ny" and n.get("status") == "tilldelad"
               for o, n in by_kind["finding"])
    user_changes = by_kind["user"]
    assert ({"role": "handläggare"}, {"role": "inventerare"}) in user_changes
    assert ({"active": True}, {"active": False}) in user_changes
    assert ({"password_hash": audit.SECRET_TEXT}, {"password_hash": audit.SECRET_TEXT}) \
        in user_changes
    assert ({"revoked": False}, {"revoked": True}) in by_kind["token"]

    # the admin page lists it, filtered by user, kind and date
    page = anna.get("/admin/audit?user=anna&kind=user").get_data(as_text=True)
    assert "inventerare" in page and "Husby torg" not in page
    count = int(re.search(r'id="audit-count">(\d+)', page).group(1))
    assert count == len(rows[(rows["user_id"] == "anna") & (rows["kind"] == "user")]) == 3
    page = anna.get("/admin/audit?kind=walk").get_data(as_text=True)
    assert "Husby torg" in page and int(re.search(r'id="audit-count">(\d+)', page).group(1)) \
        == (rows["kind"] == "walk").sum()
    today = pd.Timestamp.now(tz="Europe/Stockholm").date().isoformat()
    page = anna.get(f"/admin/audit?from={today}&to={today}").get_data(as_text=True)
    assert int(re.search(r'id="audit-count">(\d+)', page).group(1)) == len(rows)
    page = anna.get("/admin/audit?to=2000-01-01").get_data(as_text=True)
    assert int(re.search(r'id="audit-count">(\d+)', page).group(1)) == 0
    assert anna.get("/admin/audit?from=igår").status_code == 400
    assert hanna.get("/admin/audit").status_code in (302, 403)


def test_cli_changes_are_logged_in_the_os_users_name(data_dir, store):
    add_user(store, "ivar", "inventerare", "losenord123")
    add_user(store, "anna", "admin", "losenord123")
    result = CliRunner().invoke(cli, ["users", "disable", "ivar", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    rows = log_of(store, kind="user", action="update")
    assert len(rows) == 1 and rows["user_id"].iloc[0].endswith("(kommandorad)")
    assert audit.decode(rows["new_values"].iloc[0]) == {"active": False}


def test_geometry_changes_are_logged_as_wkt(store):
    import shapely

    frame = sample_frame("sites", n=1)
    store.write({"sites": frame})
    moved = shapely.affinity.translate(frame.geometry.iloc[0], 100, 0)
    store.update("sites", "r0", {"geometry": moved})
    row = log_of(store, action="update").iloc[0]
    old, new = audit.decode(row["old_values"]), audit.decode(row["new_values"])
    assert list(new) == ["geometry"]
    assert shapely.from_wkt(new["geometry"]).equals_exact(moved, 1)
    assert shapely.from_wkt(old["geometry"]).equals_exact(frame.geometry.iloc[0], 1)
    assert STORE_EPSG == 3011
