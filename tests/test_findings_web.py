"""The findings pages and API: form, upload with preview, status workflow, roles, escaping.

Acceptance points of issue #5 tested here (the browser one is in
tests/browser/test_findings_browser.py):

2. a 50-row CSV with 3 bad rows: preview names the 3, nothing stored until the
   confirm, then exactly 47; the same file again stores 0 and says so;
3. a failure half-way through storing an upload leaves the store exactly as before;
4. läsare get 403 on every form, upload, API and status route, and every POST route
   of the blueprint refuses a request without a CSRF token;
5. HTML/JS payloads are text in the list, the page, the map data and the exports;
   11 MB, a zip bomb and a KML entity bomb are refused and nothing is stored;
6. a handläggare assigns to trafikkontoret and marks åtgärdad; the history shows
   both with user and time; trafikkontoret's export lists it.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from pathlib import Path

import pyogrio
import pytest
from infra import create_user, login
from test_findings_domain import HUSBY, add_finding, assert_no_metadata, jpeg_with_gps
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from layers.domain.users import new_token
from layers.store import open_store
from mapapp.store_ import get_store

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">=1+2'


# --- helpers -------------------------------------------------------------------------------


def csrf_token(client, path: str = "/findings") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def user_client(app, name: str, role: str, **kwargs):
    create_user(app, name, role, **kwargs)
    client = app.test_client()
    assert login(client, name).status_code == 302
    return client


def count(app, layer: str) -> int:
    with app.app_context():
        return get_store().count(layer)


def snapshot(data_dir: Path) -> list[str]:
    """Every row of every table of the GeoPackage, as SQL."""
    store = open_store(data_dir)
    try:
        return list(store.conn.iterdump())
    finally:
        store.close()


def walk_csv(n: int = 50, bad: dict[int, tuple[str, str]] | None = None) -> bytes:
    """A Swedish-Excel CSV of one walk (';', decimal commas) with ``n`` findings.

    ``bad`` maps a 0-based finding number to (column, wrong value).
    """
    categories = ["belysning", "vegetation/buskage", "klotter", "nedskräpning", "skymd sikt",
                  "trasig utrustning", "otrygg passage", "övergiven byggnad", "övrigt"]
    header = ["datum", "kategori", "allvarlighet", "beskrivning", "ansvarig", "breddgrad",
              "längdgrad"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for i in range(n):
        row = {
            "datum": f"2025-05-14 21:{i % 60:02d}",
            "kategori": categories[i % len(categories)],
            "allvarlighet": str(1 + i % 3),
            "beskrivning": f"Fynd nummer {i + 1} vid gångvägen",
            "ansvarig": "trafikkontoret",
            # northwards from Husby, all 50 inside the city (points outside are refused)
            "breddgrad": f"{59.4000 + 0.0003 * i:.5f}".replace(".", ","),
            "längdgrad": f"{17.9300 + 0.0006 * (i % 5):.5f}".replace(".", ","),
        }
        if bad and i in bad:
            column, value = bad[i]
            row[column] = value
        writer.writerow([row[h] for h in header])
    return out.getvalue().encode("cp1252")


BAD_ROWS = {10: ("kategori", "ufo"), 25: ("allvarlighet", "5"),
            40: ("datum", "2025-13-40 25:00")}


def multipart(fields: dict) -> dict:
    """A multipart body built in memory (the test client spools big ones to unclosed files).

    Values that are ``(bytes, name)`` become files.
    """
    values = {k: FileStorage(io.BytesIO(v[0]), filename=v[1]) if isinstance(v, tuple) else v
              for k, v in fields.items()}
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(client, data: bytes, name: str = "vandring.csv", **fields):
    return client.post("/findings/upload", **multipart({
        "csrf_token": csrf_token(client, "/findings/new"), "file": (data, name), **fields}))


def preview_token(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def confirm(client, token: str, **fields):
    return client.post(f"/findings/upload/{token}/confirm",
                       data={"csrf_token": csrf_token(client, f"/findings/upload/{token}"),
                             **fields})


def flashes(client) -> str:
    """The text of the next page's flash messages."""
    page = client.get("/findings?status=avvisad").get_data(as_text=True)
    return " ".join(re.findall(r'role="alert">([^<]*)<', page))


def post_form(client, **fields):
    page = client.get("/findings/new").get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "submission": re.search(r'name="submission" value="([^"]+)"', page).group(1),
        "lat": str(HUSBY[0]), "lon": str(HUSBY[1]), "category": "belysning", "severity": "3",
        "description": "Trasig lampa", "found_at": "2025-05-14T21:30", "owner": "",
        "walk": "new", "walk_date": "2025-05-14", "walk_area": "Husby centrum",
        "walk_participants": "14", "walk_organisers": "SDF Järva, polisen",
        **fields,
    }
    return client.post("/findings/new", data=data, content_type="multipart/form-data")


# --- the form ---------------------------------------------------------------------------------


def test_form_stores_finding_walk_and_photo_without_exif(app, data_dir):
    client = user_client(app, "ingrid", "inventerare")
    response = post_form(client, photo=(io.BytesIO(jpeg_with_gps()), "IMG_0001.jpg"))
    assert response.status_code == 302
    with app.app_context():
        store = get_store()
        finding = store.read("findings").iloc[0]
        walk = store.read("walks").iloc[0]
    assert finding["id"].startswith("webb:") and finding["created_by"] == "ingrid"
    assert (finding["category"], finding["severity"], finding["status"]) == ("belysning", 3, "ny")
    assert finding["sdo_code"] == "jarva" and finding["walk_id"] == walk["id"]
    assert (walk["area"], walk["participants"], walk["sdo_code"]) == ("Husby centrum", 14, "jarva")
    photo = data_dir / "photos" / finding["photo"]
    assert_no_metadata(photo.read_bytes())
    with client.get(f"/findings/photo/{finding['photo']}") as served:
        assert served.status_code == 200 and served.data == photo.read_bytes()
    assert app.test_client().get(f"/findings/photo/{finding['photo']}").status_code == 302


def test_photo_gps_is_the_place_when_none_was_chosen(app):
    client = user_client(app, "ingrid", "inventerare")
    response = post_form(client, lat="", lon="",
                         photo=(io.BytesIO(jpeg_with_gps(59.3326, 18.0649)), "p.jpg"))
    assert response.status_code == 302
    with app.app_context():
        finding = get_store().read("findings").to_crs(4326).iloc[0]
    assert (finding.geometry.y, finding.geometry.x) == pytest.approx((59.3326, 18.0649), abs=1e-5)
    assert finding["sdo_code"] == "norra-innerstaden"
    assert "fotots GPS-position" in flashes(client)


def test_form_errors_are_swedish_and_keep_the_values(app):
    client = user_client(app, "ingrid", "inventerare")
    response = post_form(client, lat="", lon="", category="", severity="7",
                         description="Behåll mig", found_at="2099-01-01T10:00")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "Fyndet sparades inte" in page and "tryck på kartan" in page
    assert "värde saknas (kategori är obligatoriskt)" in page
    assert "'7' är inte ett heltal mellan 1 och 3" in page
    assert "ligger i framtiden" in page
    assert "Behåll mig" in page
    assert count(app, "findings") == 0 and count(app, "walks") == 0


def test_sending_the_form_twice_stores_one_finding(app):
    client = user_client(app, "ingrid", "inventerare")
    page = client.get("/findings/new").get_data(as_text=True)
    submission = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    assert post_form(client, submission=submission).status_code == 302
    assert post_form(client, submission=submission).status_code == 302
    assert count(app, "findings") == 1
    assert "redan sparat" in flashes(client)


def test_form_flags_a_likely_duplicate_but_keeps_it(app):
    with app.app_context():
        add_finding(get_store(), "t:open", category="belysning")
    client = user_client(app, "ingrid", "inventerare")
    assert post_form(client, walk="").status_code == 302
    assert count(app, "findings") == 2
    assert "ett öppet fynd av samma kategori finns 0 m bort (t:open)" in flashes(client)


# --- acceptance 2: a 50-row upload with 3 bad rows --------------------------------------------


def test_upload_preview_then_confirm_stores_47_then_0(app, data_dir):
    client = user_client(app, "ingrid", "inventerare")
    data = walk_csv(50, BAD_ROWS)
    token = preview_token(upload(client, data, walk="new", walk_date="2025-05-14",
                                 walk_area="Akalla", walk_participants="9"))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    rejected = re.search(r'<table[^>]*id="rejected".*?</table>', page, re.S).group(0)
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", rejected)
    assert [(r, f) for r, f, _ in cells] == [("12", "kategori"), ("27", "allvarlighet (1–3)"),
                                             ("42", "datum")]
    assert "okänd kategori &#39;ufo&#39;" in cells[0][2]
    assert "&#39;5&#39; är inte ett heltal mellan 1 och 3" in cells[1][2]
    assert "&#39;2025-13-40 25:00&#39; är inte en giltig tidpunkt" in cells[2][2]
    assert "47 giltiga" in page and "3 avvisade" in page and "Spara 47 fynd" in page
    assert count(app, "findings") == 0 and count(app, "walks") == 0
    assert count(app, "import_log") == 0

    response = confirm(client, token)
    assert response.status_code == 302
    assert "47 nya fynd sparades från vandring.csv" in flashes(client)
    assert count(app, "findings") == 47 and count(app, "walks") == 1
    with app.app_context():
        store = get_store()
        log = store.read("import_log").iloc[0]
        findings = store.read("findings")
    assert (log["rows_read"], log["rows_loaded"], log["rows_rejected"], log["imported_by"]) == \
        (50, 47, 3, "ingrid")
    assert findings["walk_id"].nunique() == 1 and findings["created_by"].eq("ingrid").all()
    # kept under a generated name; the user's name is data in the import log
    kept = list((data_dir / "uploads").glob("*/*.csv"))
    assert len(kept) == 1 and kept[0].read_bytes() == data
    assert "vandring" not in kept[0].name and log["file_name"] == "vandring.csv"
    assert not any((data_dir / "uploads" / "pending").iterdir())
    # the token is used up
    assert client.get(f"/findings/upload/{token}").status_code == 404

    again = preview_token(upload(client, data, walk="new", walk_date="2025-05-14",
                                 walk_area="Akalla", walk_participants="9"))
    page = client.get(f"/findings/upload/{again}").get_data(as_text=True)
    assert "0 nya, 47 finns redan och sparas inte igen" in page
    assert "Inga nya fynd att spara" in page
    confirm(client, again)
    message = flashes(client)
    assert "Inga nya fynd sparades från vandring.csv" in message
    assert "47 fanns redan" in message
    assert count(app, "findings") == 47 and count(app, "walks") == 1


@pytest.mark.parametrize("fmt", ["geojson", "kml", "gpx", "gpkg"])
def test_upload_formats(app, tmp_path, fmt):
    """GeoJSON, KML (Google My Maps style), GPX waypoints and GeoPackage are read."""
    client = user_client(app, "ingrid", "inventerare")
    if fmt == "geojson":
        data = json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [17.9281, 59.4091]},
            "properties": {"datum": "2025-05-14 21:00", "kategori": "klotter",
                           "allvarlighet": 1}}]}).encode()
    elif fmt == "kml":
        data = (b"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Vandring Husby</name>
<Placemark><name>Belysning: trasig lampa</name>
<description><![CDATA[Vid <b>tunneln</b>]]></description>
<TimeStamp><when>2025-05-14T21:00:00+02:00</when></TimeStamp>
<Point><coordinates>17.9281,59.4091,0</coordinates></Point></Placemark>
</Document></kml>""")
    elif fmt == "gpx":
        data = ("""<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="59.4091" lon="17.9281"><time>2025-05-14T19:00:00Z</time>
<name>Klotter på muren</name></wpt>
</gpx>""").encode()
    else:
        import geopandas as gpd
        import shapely

        path = tmp_path / "w.gpkg"
        gpd.GeoDataFrame({"datum": ["2025-05-14 21:00"], "kategori": ["skymd sikt"],
                          "allvarlighet": [2]}, geometry=[shapely.Point(17.9281, 59.4091)],
                         crs=4326).to_file(path, driver="GPKG")
        data = path.read_bytes()
    token = preview_token(upload(client, data, name=f"vandring.{fmt}"))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    assert "1 giltiga" in page, page
    confirm(client, token)
    assert count(app, "findings") == 1


def test_upload_can_skip_likely_duplicates(app):
    with app.app_context():
        add_finding(get_store(), "t:open", category="belysning", lat=59.4000, lon=17.9300)
    client = user_client(app, "ingrid", "inventerare")
    token = preview_token(upload(client, walk_csv(3)))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    assert "Troliga dubbletter (1)" in page and "Trasig lampa" in page
    confirm(client, token, skip_duplicates="1")
    assert count(app, "findings") == 3  # the open one + 2 of 3
    assert "2 nya fynd sparades" in flashes(client)


def test_cancel_throws_the_file_away(app, data_dir):
    client = user_client(app, "ingrid", "inventerare")
    token = preview_token(upload(client, walk_csv(2)))
    response = client.post(f"/findings/upload/{token}/cancel",
                           data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert not (data_dir / "uploads" / "pending" / token).exists()
    assert count(app, "findings") == 0


def test_another_user_cannot_see_confirm_or_cancel_an_upload(app, data_dir):
    first = user_client(app, "ingrid", "inventerare")
    token = preview_token(upload(first, walk_csv(2)))
    other = user_client(app, "olle", "inventerare")
    assert other.get(f"/findings/upload/{token}").status_code == 403
    response = other.post(f"/findings/upload/{token}/confirm",
                          data={"csrf_token": csrf_token(other)})
    assert response.status_code == 403
    response = other.post(f"/findings/upload/{token}/cancel",
                          data={"csrf_token": csrf_token(other)})
    assert response.status_code == 403
    assert (data_dir / "uploads" / "pending" / token).is_dir()
    assert count(app, "findings") == 0
    # a handläggare is not the uploader either; an admin may throw it away
    boss = user_client(app, "hanna", "handläggare")
    assert boss.get(f"/findings/upload/{token}").status_code == 403
    admin = user_client(app, "ada", "admin")
    assert admin.get(f"/findings/upload/{token}").status_code == 403
    response = admin.post(f"/findings/upload/{token}/cancel",
                          data={"csrf_token": csrf_token(admin)})
    assert response.status_code == 302
    assert not (data_dir / "uploads" / "pending" / token).exists()
    # the uploader's own preview is gone with it
    assert first.get(f"/findings/upload/{token}").status_code == 404


def test_template_download(app):
    client = user_client(app, "ingrid", "inventerare")
    response = client.get("/findings/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.decode("utf-8-sig").startswith("datum;kategori;allvarlighet")


# --- acceptance 3: a failure half-way through storing ------------------------------------------


def test_failure_half_way_through_an_upload_leaves_the_store_as_before(app, data_dir,
                                                                       monkeypatch):
    client = user_client(app, "ingrid", "inventerare")
    with app.app_context():
        add_finding(get_store(), "t:before")
    token = preview_token(upload(client, walk_csv(50, BAD_ROWS), walk="new",
                                 walk_date="2025-05-14", walk_area="Akalla"))
    with app.app_context():
        get_store().close()
    before = snapshot(data_dir)

    # the backend of this store (a GeoPackage): its row writer fails half-way
    backend_class = type(open_store(data_dir))
    original = backend_class._insert_rows
    calls = []

    def insert_then_fail(self, conn, schema, frame):
        if schema.name != "findings":
            return original(self, conn, schema, frame)
        # 20 rows really go in (inside the transaction), then the disk "fails"
        original(self, conn, schema, frame.iloc[:20])
        calls.append(conn.execute('SELECT count(*) FROM "findings"').fetchone()[0])
        raise OSError("disk I/O error (injected)")

    monkeypatch.setattr(backend_class, "_insert_rows", insert_then_fail)
    response = confirm(client, token)
    assert response.status_code == 302 and response.headers["Location"].endswith(token)
    assert calls == [21]  # the 20 rows were written before the failure
    assert "Inget sparades" in client.get(f"/findings/upload/{token}").get_data(as_text=True)
    with app.app_context():
        get_store().close()
    assert snapshot(data_dir) == before

    # the file is still there: the same confirm works once the fault is gone
    monkeypatch.setattr(backend_class, "_insert_rows", original)
    confirm(client, token)
    assert count(app, "findings") == 48


# --- acceptance 4: roles and CSRF ------------------------------------------------------------


def _post_routes(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("findings.") and "POST" in rule.methods:
            values = {name: {"token": "A" * 24, "finding_id": "t:1"}[name]
                      for name in rule.arguments}
            urls.append(rule.build(values)[1])
    return sorted(urls)


def test_blueprint_post_routes_are_the_known_ones(app):
    assert _post_routes(app) == [
        "/api/findings", "/findings/new", "/findings/t:1/delete", "/findings/t:1/edit",
        "/findings/t:1/status", "/findings/upload",
        "/findings/upload/AAAAAAAAAAAAAAAAAAAAAAAA/cancel",
        "/findings/upload/AAAAAAAAAAAAAAAAAAAAAAAA/confirm",
    ]


def test_lasare_is_refused_everywhere_it_may_not_go(app):
    create_user(app, "lars", "läsare")
    with app.app_context():
        add_finding(get_store(), "t:1")
        token = new_token(get_store(), "lars")
    client = app.test_client()
    login(client, "lars")
    for path in ("/findings/new", "/findings/template.csv", f"/findings/upload/{'A' * 24}"):
        assert client.get(path).status_code == 403, path
    token_value = csrf_token(client)
    for url in _post_routes(app):
        if url.startswith("/api/"):
            response = client.post(url, json=[{}], headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 403 and response.is_json, url
            continue
        response = client.post(url, data={"csrf_token": token_value, "status": "tilldelad",
                                          "owner": "polisen"})
        assert response.status_code == 403, url
        assert "kräver rollen" in response.get_data(as_text=True)
    # the page itself is readable, and nothing changed
    assert client.get("/findings").status_code == 200
    with app.app_context():
        assert get_store().read("findings")["status"].tolist() == ["ny"]
        assert get_store().count("finding_history") == 0


def test_every_post_route_refuses_a_request_without_csrf_token(app):
    with app.app_context():
        add_finding(get_store(), "t:1")
    client = user_client(app, "hanna", "handläggare")
    for url in _post_routes(app):
        response = client.post(url, data={"status": "tilldelad", "owner": "polisen"})
        if url.startswith("/api/"):
            # exempt from CSRF because it takes only bearer tokens, never the session
            assert response.status_code == 401, url
            continue
        assert response.status_code == 400, url
        assert "säkerhetsnyckel (CSRF)" in response.get_data(as_text=True), url
    with app.app_context():
        assert get_store().read("findings")["status"].tolist() == ["ny"]


def test_anonymous_visitors_are_sent_to_log_in(app):
    client = app.test_client()
    for path in ("/findings", "/findings/new", "/findings/t:1"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post("/api/findings", json=[]).status_code == 401


def test_handlaggare_of_another_area_may_not_change_status(app):
    with app.app_context():
        add_finding(get_store(), "t:1")  # in Järva
    client = user_client(app, "frida", "handläggare", sdo_code="farsta")
    response = client.post("/findings/t:1/status", data={
        "csrf_token": csrf_token(client), "status": "avvisad", "comment": "x"})
    assert response.status_code == 403
    assert "utanför ditt stadsdelsområde" in response.get_data(as_text=True)


# --- acceptance 5: escaping and hostile uploads ----------------------------------------------


def test_payloads_are_text_in_list_page_map_data_and_exports(app, tmp_path):
    client = user_client(app, "ingrid", "inventerare")
    assert post_form(client, description=XSS, owner="trafikkontoret").status_code == 302
    with app.app_context():
        fid = get_store().read("findings")["id"].iloc[0]
    for path in ("/findings", f"/findings/{fid}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>window.__xss" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=" in page, path
        data = re.search(r'class="js-findings-data"[^>]*>(.*?)</script>', page, re.S).group(1)
        assert "<" not in data  # tojson writes < as \u003c inside the script element
        assert json.loads(data)[0]["description"] == XSS

    export = client.get("/findings/export.csv?owner=trafikkontoret")
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["beskrivning"] == XSS  # starts with "<": no formula prefix needed
    formula = "=HYPERLINK(\"http://x\")"
    assert post_form(client, description=formula, owner="trafikkontoret").status_code == 302
    export = client.get("/findings/export.csv?owner=trafikkontoret")
    texts = {r["beskrivning"] for r in csv.DictReader(
        io.StringIO(export.data.decode("utf-8-sig")), delimiter=";")}
    assert texts == {XSS, "'" + formula}

    gpkg = client.get("/findings/export.gpkg?owner=trafikkontoret")
    path = tmp_path / "export.gpkg"
    path.write_bytes(gpkg.data)
    assert set(pyogrio.read_dataframe(path)["description"]) == {XSS, formula}


def test_eleven_megabytes_are_refused_with_a_swedish_message(app, data_dir):
    client = user_client(app, "ingrid", "inventerare")
    big = walk_csv(2) + b"#" * (11 * 1024 * 1024)
    response = upload(client, big)
    assert response.status_code == 413
    assert "Filen är för stor: högst 10 MB tas emot. Inget sparades." in \
        response.get_data(as_text=True)
    response = client.post("/findings/new", **multipart({"photo": (big, "p.jpg")}))
    assert response.status_code == 413
    assert count(app, "findings") == 0 and count(app, "import_log") == 0
    assert not (data_dir / "uploads" / "pending").exists() or \
        not any((data_dir / "uploads" / "pending").iterdir())


def _kmz(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


KML_ONE = (b'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
           b"<Document><Placemark><name>Klotter</name><TimeStamp><when>2025-05-14T21:00:00Z"
           b"</when></TimeStamp><Point><coordinates>17.9281,59.4091</coordinates></Point>"
           b"</Placemark></Document></kml>")


def _refused(client, app, data_dir, data: bytes, name: str) -> str:
    token = preview_token(upload(client, data, name=name))
    response = client.get(f"/findings/upload/{token}")
    assert response.status_code == 422
    assert count(app, "findings") == 0
    assert not (data_dir / "uploads" / "pending" / token).exists()
    return re.search(r'id="upload-error">([^<]*)<', response.get_data(as_text=True)).group(1)


def test_zip_bombs_are_refused(app, data_dir, monkeypatch):
    client = user_client(app, "ingrid", "inventerare")
    # 30 MB of blanks in a KMZ of a few kB: far more than 100 times its size
    bomb = _kmz({"doc.kml": KML_ONE + b" " * (30 * 1024 * 1024)})
    assert len(bomb) < 100_000
    message = _refused(client, app, data_dir, bomb, "vandring.kmz")
    assert "packas upp till" in message and "Inget sparades" in message
    # and the absolute limit: lowered here so that a test file can pass it
    import random

    from layers.io.readers import checks as readers

    monkeypatch.setattr(readers, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    noise = random.Random(1).randbytes(1_000_000).hex()  # 2 MB that compress to about 1 MB
    message = _refused(client, app, data_dir,
                       _kmz({"doc.kml": KML_ONE + f"<!-- {noise} -->".encode()}), "v.kmz")
    assert "mer än tillåtet (1.0 MB" in message


def test_kml_entity_bomb_is_refused(app, data_dir):
    client = user_client(app, "ingrid", "inventerare")
    lol = (b'<?xml version="1.0"?>\n<!DOCTYPE kml [\n <!ENTITY l0 "lol">\n'
           + b"".join(f' <!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n'.encode() for i in range(1, 10))
           + b']>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
             b"<name>Klotter &l9;</name><Point><coordinates>17.9281,59.4091</coordinates>"
             b"</Point></Placemark></Document></kml>")
    message = _refused(client, app, data_dir, lol, "vandring.kml")
    assert "DTD" in message and "säkerhetsskäl" in message


def test_unknown_file_type_is_refused(app):
    client = user_client(app, "ingrid", "inventerare")
    response = upload(client, b"MZ\x90\x00", name="virus.exe")
    assert response.status_code == 422
    assert "okänt filformat &#39;.exe&#39;" in response.get_data(as_text=True)


# --- acceptance 6: the status workflow through the pages -----------------------------------------


def test_handlaggare_assigns_fixes_and_the_owner_export_lists_it(app):
    with app.app_context():
        add_finding(get_store(), "t:1", found_at="2025-05-01 21:00")
    client = user_client(app, "hanna", "handläggare", display_name="Hanna H")
    for status, owner, comment in (("tilldelad", "trafikkontoret", "Lampan byts"),
                                   ("atgardad", "", "Ny armatur på plats")):
        response = client.post("/findings/t:1/status", data={
            "csrf_token": csrf_token(client, "/findings/t:1"), "status": status,
            "owner": owner, "comment": comment, "seen_status": "ny" if owner else "tilldelad"})
        assert response.status_code == 302
    page = client.get("/findings/t:1").get_data(as_text=True)
    history = re.search(r'<table[^>]*id="history".*?</table>', page, re.S).group(0)
    rows = re.findall(r"<tr><td[^>]*>([^<]+)</td><td>([^<]+)</td>\s*<td>([^<]+)</td>\s*"
                      r"<td>([^<]+)</td><td>([^<]*)</td></tr>", history)
    assert [(who, change, owner, comment) for _, who, change, owner, comment in rows] == [
        ("hanna", "ny → tilldelad", "trafikkontoret", "Lampan byts"),
        ("hanna", "tilldelad → åtgärdad", "trafikkontoret", "Ny armatur på plats"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when) for when, *_ in rows)
    assert "Åtgärdat" in page

    listing = client.get("/findings?owner=trafikkontoret").get_data(as_text=True)
    assert "Historik (2)" in listing and "ny → tilldelad" in listing

    export = client.get("/findings/export.csv?owner=trafikkontoret")
    assert export.status_code == 200
    assert 'filename="fynd-trafikkontoret-' in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig")), delimiter=";"))
    assert [(r["id"], r["status"], r["ansvarig"]) for r in rows] == \
        [("t:1", "åtgärdad", "trafikkontoret")]
    assert float(rows[0]["dagar till åtgärd"].replace(",", ".")) > 0
    assert client.get("/findings/export.csv?owner=polisen").data.decode("utf-8-sig") \
        .count("\n") == 1  # only the header


def test_a_refused_status_change_is_explained(app):
    with app.app_context():
        add_finding(get_store(), "t:1")
    client = user_client(app, "hanna", "handläggare")
    client.post("/findings/t:1/status", data={"csrf_token": csrf_token(client, "/findings/t:1"),
                                              "status": "atgardad"})
    page = client.get("/findings/t:1").get_data(as_text=True)
    assert "Status kan inte ändras från ny till åtgärdad" in page
    assert count(app, "finding_history") == 0


def test_list_filters(app):
    with app.app_context():
        store = get_store()
        add_finding(store, "t:1", category="klotter")
        add_finding(store, "t:2", category="belysning", status="tilldelad", owner="polisen")
        add_finding(store, "t:3", category="belysning", lat=59.2489, lon=18.0917)  # Farsta
    client = user_client(app, "lars", "läsare")

    def shown(query: str) -> list[str]:
        page = client.get("/findings?" + query).get_data(as_text=True)
        return sorted(re.findall(r'<tr id="fynd-([^"]+)"', page))

    assert shown("") == ["t:1", "t:2", "t:3"]
    assert shown("category=belysning") == ["t:2", "t:3"]
    assert shown("status=tilldelad&owner=polisen") == ["t:2"]
    assert shown("sdo=farsta") == ["t:3"]
    assert shown("status=ny&sdo=jarva") == ["t:1"]


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def api(app):
    create_user(app, "ingrid", "inventerare")
    with app.app_context():
        token = new_token(get_store(), "ingrid")
    client = app.test_client()

    def post(**kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return client.post("/api/findings", headers=headers, **kwargs)

    return post


ROWS = [
    {"datum": "2025-05-14 21:00", "kategori": "belysning", "allvarlighet": 3,
     "beskrivning": "Mörk passage", "lat": 59.4091, "lon": 17.9281},
    {"found_at": "2025-05-14T21:10:00+02:00", "category": "klotter", "severity": 1,
     "lat": 59.4095, "lon": 17.9290, "owner": "fastighetsägare"},
]


def test_api_json_list_all_or_nothing(api, app):
    bad = [*ROWS, {"datum": "igår", "kategori": "ufo", "allvarlighet": 2, "lat": 59.4,
                   "lon": 17.9}]
    response = api(json=bad)
    assert response.status_code == 422
    errors = response.get_json()
    assert {(e["row"], e["field"]) for e in errors} == {(3, "found_at"), (3, "category")}
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)
    assert count(app, "findings") == 0 and count(app, "import_log") == 0

    response = api(json=ROWS)
    assert response.status_code == 201
    body = response.get_json()
    assert body["inserted"] == 2 and len(body["ids"]) == 2
    assert count(app, "findings") == 2
    again = api(json=ROWS)
    assert again.status_code == 200 and again.get_json()["inserted"] == 0


def test_api_geojson_and_file(api, app):
    collection = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [17.9281, 59.4091]},
        "properties": {"datum": "2025-05-14 21:00", "kategori": "skymd sikt",
                       "allvarlighet": 2}}]}
    assert api(json=collection).status_code == 201
    response = api(data={"file": (io.BytesIO(walk_csv(3)), "w.csv")},
                   content_type="multipart/form-data")
    assert response.status_code == 201 and response.get_json()["inserted"] == 3
    response = api(data={"file": (io.BytesIO(walk_csv(3)), "w.csv")},
                   content_type="multipart/form-data")
    assert response.status_code == 200  # stored already: nothing new, no error
    response = api(data={"file": (io.BytesIO(walk_csv(4, {3: ("kategori", "x")})), "w.csv")},
                   content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json() == [{"row": 5, "field": "category", "message": response
                                    .get_json()[0]["message"]}]
    assert count(app, "findings") == 4


@pytest.mark.parametrize(("body", "message"), [
    ({"a": 1}, "JSON-lista"), ([], "tom"), ("x", "JSON-lista"),
    ([{"lon": 17.9, "lat": 59.4}], "Kolumn saknas"),
])
def test_api_refuses_bad_bodies(api, app, body, message):
    response = api(json=body)
    assert response.status_code == 422
    assert message in response.get_json()[0]["message"]
    assert count(app, "findings") == 0


def test_api_needs_a_token_not_a_session(app):
    client = user_client(app, "ingrid", "inventerare")
    response = client.post("/api/findings", json=ROWS)
    assert response.status_code == 401 and "Bearer" in response.get_json()["error"]
    response = client.post("/api/findings", json=ROWS,
                           headers={"Authorization": "Bearer fel"})
    assert response.status_code == 401
    assert count(app, "findings") == 0


def test_api_too_large_is_json_413(api):
    response = api(**multipart({"file": (b"x" * (11 * 1024 * 1024), "w.csv")}))
    assert response.status_code == 413 and "för stor" in response.get_json()["error"]


def test_get_api_findings_is_not_shadowed_by_the_post_route(app):
    assert app.test_client().get("/api/findings").status_code != 405
