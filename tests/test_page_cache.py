"""The page cache (mapapp/page_cache.py), per-layer data versions and the write gate.

Not timed: these check that a kept answer is the answer the view renders, that a
data change (of a table the view reads) gives a new one, that one role's rendering
never reaches another role, and that N concurrent requests for one key make one
computation. The speed under load is measured by ``bench/load.py``.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from infra import create_user, login

from mapapp import page_cache
from mapapp.write_gate import WriteGate

JARVA_BBOX = "17.86,59.38,17.96,59.43"
ROUTES = ["/", "/sdn/jarva", "/priority", "/api/priority",
          f"/api/incidents?bbox={JARVA_BBOX}&limit=500", f"/api/incidents/grid?bbox={JARVA_BBOX}"]
_NONCE = re.compile(r"'nonce-([^']+)'")
#: folium names every map element with a fresh random hex id per rendering
_FOLIUM_ID = re.compile(r"[0-9a-f]{32}")
_CSRF = re.compile(r'name="csrf_token" value="[^"]+"')


def _nonce(response) -> str:
    return _NONCE.search(response.headers["Content-Security-Policy"]).group(1)


def _normalised(response) -> str:
    """The body with this answer's nonce and folium's random ids blanked."""
    text = response.get_data(as_text=True).replace(_nonce(response), "NONCE")
    text = _CSRF.sub('name="csrf_token" value="TOKEN"', text)  # signed with the time
    return _FOLIUM_ID.sub("ID", text)


def _incident_csv(tmp_path: Path, ident: str) -> Path:
    path = tmp_path / f"{ident}.csv"
    path.write_text("id,occurred_at,category,lon,lat\n"
                    f"{ident},2025-06-03 22:15,rån,17.905,59.405\n", encoding="utf-8")
    return path


def _finding_csv(tmp_path: Path, ident: str) -> Path:
    path = tmp_path / f"{ident}.csv"
    path.write_text("id,datum,kategori,allvarlighet,beskrivning,lat,lon\n"
                    f"{ident},2025-05-14 21:30,belysning,3,Trasig lampa,59.405,17.905\n",
                    encoding="utf-8")
    return path


def _import(app, layer: str, path: Path) -> None:
    from layers.io.importer import import_file
    from mapapp.store_ import get_store

    with app.app_context():
        report = import_file(get_store(), layer, path)
        assert report.inserted == 1 and not report.errors, report


@pytest.mark.parametrize("path", ROUTES)
def test_a_kept_answer_is_the_rendered_one_with_its_own_nonce(demo_app, path):
    client = demo_app.test_client()
    first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert _normalised(first) == _normalised(second)
    assert _nonce(first) != _nonce(second)
    if first.mimetype == "text/html":
        # every script of the kept page carries this answer's nonce, none the old one
        assert _nonce(first) not in second.get_data(as_text=True)
        assert f'nonce="{_nonce(second)}"' in second.get_data(as_text=True)
        assert page_cache.NONCE_PLACEHOLDER not in second.get_data(as_text=True)


@pytest.mark.parametrize("path", ROUTES)
def test_a_kept_answer_equals_an_uncached_rendering(demo_app, path):
    client = demo_app.test_client()
    client.get(path)
    kept = client.get(path)
    demo_app.config["PAGE_CACHE"] = False
    fresh = client.get(path)
    assert _normalised(kept) == _normalised(fresh)


def test_an_incident_import_shows_at_once(demo_app, tmp_path):
    client = demo_app.test_client()
    path = "/api/incidents?bbox=17.9045,59.4045,17.9055,59.4055&period=2025"
    before = client.get(path).get_json()
    assert "load-test-1" not in {f["properties"]["id"] for f in before["features"]}
    _import(demo_app, "incidents", _incident_csv(tmp_path, "load-test-1"))
    after = client.get(path).get_json()
    assert any(f["properties"]["id"].endswith("load-test-1") for f in after["features"])


def test_a_findings_upload_keeps_incident_answers_and_renews_finding_answers(
        demo_app, tmp_path, monkeypatch):
    import mapapp.api

    calls = []
    original = mapapp.api.read_incidents
    monkeypatch.setattr(mapapp.api, "read_incidents",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    client = demo_app.test_client()
    incidents = f"/api/incidents?bbox={JARVA_BBOX}&limit=500"
    findings = f"/api/findings?bbox={JARVA_BBOX}&limit=1000"
    client.get(incidents)
    before = client.get(findings).get_json()
    assert len(calls) == 1
    _import(demo_app, "findings", _finding_csv(tmp_path, "cache-fynd-1"))
    client.get(incidents)
    assert len(calls) == 1  # the incidents' answer is still valid
    after = client.get(findings).get_json()
    assert after["numberReturned"] == before["numberReturned"] + 1
    _import(demo_app, "incidents", _incident_csv(tmp_path, "load-test-2"))
    client.get(incidents)
    assert len(calls) == 2  # an incident import renews it


@pytest.mark.parametrize("path", ["/priority", "/sdn/jarva", "/api/priority?sdn=jarva"])
def test_no_role_gets_another_roles_rendering(demo_app, path):
    create_user(demo_app, "hanna", "handläggare", display_name="Hanna Handläggare")
    officer = demo_app.test_client()
    login(officer, "hanna")
    privileged = officer.get(path)  # rendered and kept first
    assert privileged.status_code == 200
    public = demo_app.test_client().get(path)
    assert public.status_code == 200
    assert "Hanna Handläggare" not in public.get_data(as_text=True)
    demo_app.config["PAGE_CACHE"] = False
    public_fresh = demo_app.test_client().get(path)
    privileged_fresh = officer.get(path)
    assert _normalised(public) == _normalised(public_fresh)
    assert _normalised(privileged) == _normalised(privileged_fresh)
    # the roles do see different things here (else this test would prove nothing)
    assert _normalised(public) != _normalised(privileged)


def test_a_signed_in_page_gets_a_working_csrf_token(demo_app):
    create_user(demo_app, "hanna", "handläggare")
    client = demo_app.test_client()
    login(client, "hanna")
    client.get("/priority")
    page = client.get("/priority").get_data(as_text=True)
    assert page_cache.CSRF_PLACEHOLDER not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302


def test_concurrent_requests_for_one_key_make_one_computation(demo_app, monkeypatch):
    import mapapp.api

    calls = []
    original = mapapp.api.read_incidents

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(mapapp.api, "read_incidents", slow)
    path = f"/api/incidents?bbox={JARVA_BBOX}&limit=100"
    demo_app.test_client().get("/")  # open the store first
    answers = []

    def ask() -> None:
        answers.append(demo_app.test_client().get(path).get_json())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 8 and all(a == answers[0] for a in answers)
    assert len(calls) == 1


def test_grace_keeps_the_last_answer_for_churn_only_changes():
    answers = page_cache._Answers(8, 600)
    made = []

    def compute(value):
        def run():
            made.append(value)
            return value
        return run

    key = ("page", "x")
    assert answers.get(key, (("findings", 1),), 0.2, compute("a")) == "a"
    # the findings changed, within the grace: the last answer, nothing computed
    assert answers.get(key, (("findings", 2),), 0.2, compute("b")) == "a"
    time.sleep(0.25)
    # after the grace the next request renders again
    assert answers.get(key, (("findings", 2),), 0.2, compute("b")) == "b"
    # strict (no grace): a change is never served late
    assert answers.get(key, (("findings", 3),), 0, compute("c")) == "c"
    assert made == ["a", "b", "c"]


def test_a_page_with_a_flash_message_is_not_kept(demo_app):
    client = demo_app.test_client()
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Ett meddelande")]
    assert "Ett meddelande" in client.get("/priority").get_data(as_text=True)
    assert "Ett meddelande" not in client.get("/priority").get_data(as_text=True)
    assert "Ett meddelande" not in demo_app.test_client().get("/priority").get_data(as_text=True)


def test_api_answers_carry_an_etag(demo_app):
    client = demo_app.test_client()
    path = f"/api/incidents?bbox={JARVA_BBOX}&limit=50"
    client.get(path)
    kept = client.get(path)
    assert kept.headers.get("ETag")
    again = client.get(path, headers={"If-None-Match": kept.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.both_stores
def test_layer_version_follows_only_its_tables(store, tmp_path):
    from layers.io.importer import import_file
    from layers.io.reference import load_reference

    load_reference(store)
    incidents, findings = store.layer_version(["incidents"]), store.layer_version(["findings"])
    everything = store.layer_version()
    assert not {"api_tokens", "sessions", "audit_log"} & {v[0] for v in everything}
    assert import_file(store, "findings", _finding_csv(tmp_path, "lv-1")).inserted == 1
    assert store.layer_version(["incidents"]) == incidents
    assert store.layer_version(["findings"]) != findings
    assert import_file(store, "incidents", _incident_csv(tmp_path, "lv-2")).inserted == 1
    assert store.layer_version(["incidents"]) != incidents


def _slow_writer(environ, start_response):
    time.sleep(0.3)
    start_response("201 Created", [("Content-Type", "application/json")])
    return [b"{}"]


def test_the_write_gate_answers_503_with_retry_after_when_full():
    gate = WriteGate(_slow_writer, slots=1, wait=0.05)
    answers = []

    def post() -> None:
        statuses = []
        body = gate({"REQUEST_METHOD": "POST", "PATH_INFO": "/api/findings"},
                    lambda status, headers: statuses.append((status, dict(headers))))
        answers.append((statuses[0], b"".join(body)))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    codes = sorted(status.split()[0] for (status, _), _ in answers)
    assert codes == ["201", "503", "503"]
    for (status, headers), body in answers:
        if status.startswith("503"):
            assert headers["Retry-After"] == "5"
            assert "försök igen" in body.decode()
    # reads never wait for the gate
    statuses = []
    gate({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda s, h: statuses.append(s))
    assert statuses == ["201 Created"]
