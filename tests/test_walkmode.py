"""Walk mode's server side (issue 12): idempotent sync, CSRF, sign-out, manifest, worker.

The phone sends each walk and finding with an id it made (a UUID); the same id
twice stores one finding and answers the second time with the stored one. The
sync routes take the session and the app's CSRF token (as X-CSRFToken, fresh from
/walk/csrf); a phone whose session ended gets 401 JSON, so it keeps its queue.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest
from infra import create_user, login, make_test_app
from PIL import Image

from layers.io.photos import is_photo_name
from layers.store.base import Query
from layers.store.sessions import end_user_sessions
from mapapp.store_ import get_store
from mapapp.uploads import data_folder

#: A place in Husby (Järva), WGS 84.
LAT, LON = "59.4091", "17.9281"


def small_jpeg(colour=(30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def _signed_in(app, name: str = "ingrid"):
    create_user(app, name, "inventerare")
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def _token(client) -> str:
    response = client.get("/walk/csrf", headers={"Accept": "application/json"})
    assert response.status_code == 200
    return response.get_json()["csrf_token"]


def _walk(client, token: str, client_id: str, **extra):
    body = {"client_id": client_id, "date": "2025-05-14", "area": "Husby centrum",
            "organisers": "SDF Järva", "participants": {"boende": 6, "polis": 2}, **extra}
    return client.post("/walk/sync/walk", json=body, headers={"X-CSRFToken": token,
                                                               "Accept": "application/json"})


def _finding(client, token: str, client_id: str, walk: str = "", photo: bool = True):
    data = {"client_id": client_id, "walk_client_id": walk, "found_at": "2025-05-14 19:05",
            "category": "belysning", "severity": "3", "description": "Trasig lampa i tunneln",
            "owner": "", "lat": LAT, "lon": LON}
    if photo:
        data["photo"] = (io.BytesIO(small_jpeg()), "foto.jpg")
    return client.post("/walk/sync/finding", data=data, content_type="multipart/form-data",
                       headers={"X-CSRFToken": token, "Accept": "application/json"})


def test_same_client_id_twice_stores_one_finding_and_answers_with_it(app, data_dir):
    client = _signed_in(app)
    token = _token(client)
    walk, finding = str(uuid.uuid4()), str(uuid.uuid4())
    first_walk = _walk(client, token, walk)
    assert first_walk.status_code == 201, first_walk.get_data(as_text=True)
    assert _walk(client, token, walk).get_json() == {"id": f"app:{walk}", "stored": False}

    first = _finding(client, token, finding, walk)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["stored"] is True
    photos_before = sorted(p.name for p in data_folder_of(app).iterdir())
    again = _finding(client, token, finding, walk)
    assert again.status_code == 200
    body = again.get_json()
    assert body["stored"] is False and body["id"] == f"app:{finding}"
    assert body["walk_id"] == f"app:{walk}" and body["photo"] is True
    # the repeat kept no second photo either
    assert sorted(p.name for p in data_folder_of(app).iterdir()) == photos_before

    with app.app_context():
        store = get_store()
        rows = store.read("findings", Query(where={"id": f"app:{finding}"}))
        walks = store.read("walks", Query(where={"id": f"app:{walk}"}))
        counts = store.read("walk_participants", Query(where={"walk_id": f"app:{walk}"}))
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["walk_id"] == f"app:{walk}" and row["created_by"] == "ingrid"
    assert row["status"] == "ny" and is_photo_name(row["photo"])
    assert (data_dir / "photos" / row["photo"]).is_file()
    assert len(walks) == 1 and walks.iloc[0]["area"] == "Husby centrum"
    # the phone's walk lies where its first finding does
    assert walks.iloc[0]["sdo_code"] == row["sdo_code"] == "jarva"
    assert dict(zip(counts["participant_group"], counts["headcount"], strict=True)) == {
        "boende": 6, "polis": 2}
    # the walk's own page lists it with its finding, like any other walk
    page = client.get(f"/walks/app:{walk}")
    assert page.status_code == 200
    assert "Husby centrum" in page.get_data(as_text=True)
    assert f"app:{finding}" in page.get_data(as_text=True)


def data_folder_of(app):
    with app.test_request_context():
        return data_folder("photos")


def test_finding_waits_for_its_walk_and_refused_rows_store_nothing(app, data_dir):
    client = _signed_in(app)
    token = _token(client)
    response = _finding(client, token, str(uuid.uuid4()), str(uuid.uuid4()))
    assert response.status_code == 409  # the walk is not there yet: the phone retries
    bad = client.post("/walk/sync/finding", data={
        "client_id": str(uuid.uuid4()), "found_at": "2025-05-14 19:05", "category": "",
        "severity": "2", "lat": "59.86", "lon": "17.64",  # Uppsala, no category
        "photo": (io.BytesIO(small_jpeg()), "foto.jpg")},
        content_type="multipart/form-data", headers={"X-CSRFToken": token})
    assert bad.status_code == 422
    messages = " ".join(e["message"] for e in bad.get_json()["errors"])
    assert "kategori" in messages.lower() or "saknas" in messages
    assert not any((data_dir / "photos").glob("*.jpg")) if (data_dir / "photos").exists() \
        else True
    not_uuid = _finding(client, token, "1; drop table findings", photo=False)
    assert not_uuid.status_code == 422
    with app.app_context():
        assert get_store().count("findings", Query(where={"created_by": "ingrid"})) == 0


def test_sync_needs_the_csrf_token(app):
    client = _signed_in(app)
    response = client.post("/walk/sync/finding", data={"client_id": str(uuid.uuid4())},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    response = client.post("/walk/sync/walk", json={"client_id": str(uuid.uuid4())})
    assert response.status_code == 400


def test_ended_session_gets_401_json_so_the_phone_keeps_its_queue(app):
    client = _signed_in(app)
    token = _token(client)
    with app.app_context():
        end_user_sessions(get_store(), "ingrid")
    response = client.get("/walk/csrf", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.is_json
    response = _finding(client, token, str(uuid.uuid4()), photo=False)
    assert response.status_code == 401 and response.is_json
    anonymous = app.test_client().get("/walk")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]


def _status(client, url: str) -> int:
    response = client.get(url)
    response.close()
    return response.status_code


def test_manifest_service_worker_and_page(app):
    client = _signed_in(app)
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json(force=True)
    assert body["lang"] == "sv" and body["start_url"] == "/walk" and body["scope"] == "/"
    assert body["display"] == "standalone" and "vandring" in body["name"]
    for icon in body["icons"]:
        assert _status(client, icon["src"]) == 200, icon["src"]

    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    text = worker.get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in text and '"page": "/walk"' in text
    first = text.splitlines()[0]
    for url in json.loads(first[first.index("{"):first.rindex("}") + 1])["shell"]:
        assert _status(client, url) == 200, url

    page = client.get("/walk")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Spara och nytt fynd" in html
    assert 'rel="manifest"' in html and "Starta vandringen" in html
    # no inline script runs on the page (the service worker keeps it; CSP has no nonce to match)
    assert "<script>" not in html and "<script nonce" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "cdn" not in html.lower()


@pytest.mark.postgis
def test_same_client_id_twice_stores_one_finding_on_postgis(postgis_schema_url, tmp_path):
    """The idempotent sync on the PostGIS store: ids are unique there too."""
    # the app opens, initialises and fills the empty schema with the reference layers
    app = make_test_app(tmp_path, DATABASE=postgis_schema_url)
    try:
        client = _signed_in(app)
        token = _token(client)
        walk, finding = str(uuid.uuid4()), str(uuid.uuid4())
        assert _walk(client, token, walk).status_code == 201
        assert _walk(client, token, walk).status_code == 200
        assert _finding(client, token, finding, walk).status_code == 201
        again = _finding(client, token, finding, walk)
        assert again.status_code == 200 and again.get_json()["stored"] is False
        with app.app_context():
            rows = get_store().read("findings", Query(where={"walk_id": f"app:{walk}"}))
        assert rows["id"].tolist() == [f"app:{finding}"]
        assert is_photo_name(rows.iloc[0]["photo"]) and rows.iloc[0]["sdo_code"] == "jarva"
    finally:
        with app.app_context():
            get_store().close()
