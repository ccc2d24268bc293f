"""Issue 16, point 2: a user's file name is data, never a path.

Every upload route gets a valid file under a 500-character name and under
``../../x``: the answer is 4xx or success (never 5xx), every stored file has a
generated name, the original name is kept (cut) in the import log, and nothing is
written outside the data folder.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from test_findings_domain import jpeg_with_gps
from test_sites import _drawn
from test_walks import walk_gpx
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fuzz.fuzzkit import admin_app
from layers.core.filenames import MAX_NAME_CHARS
from mapapp.store_ import get_store

FINDINGS_CSV = ("datum;kategori;allvarlighet;breddgrad;längdgrad\n"
                "2025-05-14 21:30;belysning;2;59,4091;17,9281\n").encode()
#: A stored upload: uploads/<date>/<16 hex digits><suffix>; a photo: <32 hex digits>.jpg.
GENERATED = re.compile(r"^uploads/\d{4}-\d{2}-\d{2}/[0-9a-f]{16}\.[a-z]{2,8}$"
                       r"|^photos/[0-9a-f]{32}\.jpg$")
LONG = "å" * 496
NAMES = {"long": LONG, "dotdot": "../../x"}


def multipart(fields: dict) -> dict:
    parts = {k: FileStorage(io.BytesIO(v[0]), filename=v[1]) if isinstance(v, tuple) else v
             for k, v in fields.items()}
    boundary, body = encode_multipart(parts)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory, reference_store_file: Path):
    """A data folder two levels down, so ``../../x`` would land in the sandbox's root."""
    root = tmp_path_factory.mktemp("names")
    data_dir = root / "root" / "data"
    data_dir.mkdir(parents=True)
    app, client, headers, csrf = admin_app(data_dir, reference_store_file, user="anna")
    return app, client, headers, csrf, root, data_dir


def _outside(tmp_path: Path, data_dir: Path) -> list[str]:
    """Every file under ``tmp_path`` that is not in the data folder."""
    return [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
            if p.is_file() and data_dir not in p.parents]


def _stored(data_dir: Path) -> list[str]:
    return sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")
                  if p.is_file() and p.parent != data_dir)


def _log_names(app) -> list[str]:
    with app.app_context():
        return get_store().read("import_log")["file_name"].tolist()


ROUTES = ["api-findings", "api-walks", "api-sites", "walks-import", "findings-upload",
          "findings-photo"]


@pytest.mark.parametrize("kind", sorted(NAMES))
@pytest.mark.parametrize("route", ROUTES)
def test_hostile_names_are_data_not_paths(sandbox, route, kind):
    app, client, headers, csrf, tmp_path, data_dir = sandbox
    stem = NAMES[kind]
    before, logs_before = set(_stored(data_dir)), len(_log_names(app))
    if route == "api-findings":
        name = stem + ".csv"
        response = client.post("/api/findings", headers=headers,
                               **multipart({"file": (FINDINGS_CSV, name)}))
        assert response.status_code in (200, 201), response.get_json()  # 200: stored before
    elif route == "api-walks":
        name = stem + ".gpx"
        response = client.post("/api/walks", headers=headers,
                               **multipart({"file": (walk_gpx().encode(), name)}))
        assert response.status_code in (200, 201), response.get_json()  # 200: stored before
    elif route == "api-sites":
        name = stem + ".geojson"
        response = client.post("/api/sites", headers=headers,
                               **multipart({"file": (_drawn().encode(), name)}))
        # the drawn square has no name column: refused with a Swedish row message
        assert response.status_code in (201, 422), response.get_json()
    elif route == "walks-import":
        name = stem + ".gpx"
        response = client.post("/walks/import", **multipart({
            "csrf_token": csrf, "file": (walk_gpx().encode(), name)}))
        assert response.status_code == 302
        # a GPX walk is previewed first, then stored on confirm
        preview = response.headers["Location"]
        assert client.get(preview).status_code == 200
        response = client.post(preview + "/confirm", data={"csrf_token": csrf})
        assert response.status_code == 302
        with client.session_transaction() as sess:
            # info: the same walk's findings were stored by an earlier case
            assert [c for c, _ in sess.pop("_flashes", [])] in (["success"], ["info"])
    elif route == "findings-upload":
        name = stem + ".csv"
        response = client.post("/findings/upload", **multipart({
            "csrf_token": csrf, "file": (FINDINGS_CSV, name)}))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        preview = response.headers["Location"]
        pending = set(_stored(data_dir)) - before
        assert pending and all(re.fullmatch(r"uploads/pending/[\w-]+/(upload\.csv|\.owner)", p)
                   for p in pending), pending
        assert client.get(preview).status_code == 200
        response = client.post(preview + "/confirm", data={"csrf_token": csrf})
        assert response.status_code == 302
    else:
        name = stem + ".jpg"
        response = client.post("/findings/new", **multipart({
            "csrf_token": csrf, "category": "belysning", "severity": "2",
            "found_at": "2025-05-14T21:30", "lat": "59.4091", "lon": "17.9281",
            "photo": (jpeg_with_gps(), name)}))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.status_code < 500

    assert _outside(tmp_path, data_dir) == []
    stored = set(_stored(data_dir)) - before
    assert all(GENERATED.match(p) for p in stored), stored
    if response.status_code < 400 and route != "findings-photo":
        assert stored, "a stored upload keeps its file"
        (logged,) = _log_names(app)[logs_before:]
        assert len(logged) <= MAX_NAME_CHARS and "/" not in logged and "\\" not in logged
        assert logged.endswith(Path(name).suffix)
        assert logged.startswith("åå" if kind == "long" else "x")


@pytest.mark.parametrize(("raw", "shown"), [
    ("../../x.csv", "x.csv"), ("..\\..\\x.csv", "x.csv"), ("/etc/passwd", "passwd"),
    ("x\x00y.gpx", "xy.gpx"), ("..", "fil"), ("", "fil"), (None, "fil"),
    ("a/b/\u202etxt.exe", "txt.exe"),
])
def test_display_name(raw, shown):
    from layers.core.filenames import display_name

    assert display_name(raw) == shown


def test_long_names_are_cut_and_keep_their_suffix():
    from layers.core.filenames import display_name, stored_name, suffix_of

    name = display_name("å" * 500 + ".geojson")
    assert len(name) == MAX_NAME_CHARS and name.endswith("….geojson")
    assert suffix_of(name) == ".geojson" and suffix_of("x.ÇSV") == "" and suffix_of(".csv") == ""
    assert re.fullmatch(r"[0-9a-f]{16}\.csv", stored_name(".csv"))
    assert re.fullmatch(r"[0-9a-f]{16}", stored_name("/../x"))
