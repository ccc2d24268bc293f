"""Walk mode: the finding form as an installable web app that works offline.

``/walk`` is one page a walker keeps open on the phone for a whole trygghetsvandring:
start a walk (date, area, participants by group), then record finding after finding
("Spara och nytt fynd" keeps the walk, the map's view and the category list; the
confirmation is on the page). Everything recorded is first kept in the phone's
IndexedDB with an id the phone makes (a UUID) and sent when there is a connection
(``static/js/walk_app.js``); a service worker (``/sw.js``, ``static/js/service_worker.js``)
keeps the page and the vendored map assets so the page opens without a connection.

The sync routes take the browser's session cookie and the CSRF token the app uses
for every form (Flask-WTF), sent as ``X-CSRFToken``; the phone asks ``/walk/csrf``
for a fresh one before each sync, since the page it holds may be hours old. A
signed-out phone gets 401 JSON and keeps its queue. Sending the same client id again
stores nothing and answers with what is stored (the walk's and the finding's id are
made from the client id, and ids are unique in both stores).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import generate_csrf

from layers.core.errors import RowError
from layers.core.schema import OWNERS, PARTICIPANT_GROUPS
from layers.domain import findings as core
from layers.domain import walks as walks_core
from layers.domain.access import RECORD_ROLE, write_refusal
from layers.io.photos import is_photo_name
from layers.store.base import Query
from mapapp.access import role_required
from mapapp.store_ import get_store
from mapapp.uploads import save_request_photo
from mapapp.views import FIELD_LABELS, context_shapes

bp = Blueprint("walkmode", __name__)

#: The id namespace of walks and findings recorded in walk mode.
APP_SOURCE = "app"
_CLIENT_ID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                           r"[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
#: Files under static/ the service worker keeps, so the walk page opens offline.
SHELL_ASSETS = (
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "css/app.css",
    "css/findings.css",
    "css/walk.css",
    "js/common.js",
    "js/walk_app.js",
    "js/finding_form.js",
    "js/place_map.js",
    "favicon.svg",
    "icons/icon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
)


def client_id(value: object) -> str | None:
    """A client-made UUID in canonical form (lower case, with dashes), or None."""
    text = str(value or "").strip()
    if not _CLIENT_ID_RE.match(text):
        return None
    return str(uuid.UUID(text))


def app_id(client: str) -> str:
    """The stored id of a walk or finding the phone made with ``client`` (a UUID)."""
    return f"{APP_SOURCE}:{client}"


def _json_errors(errors: list[RowError], status: int = 422):
    return jsonify({"errors": [{"field": FIELD_LABELS.get(e.field or "", e.field),
                                "message": e.message} for e in errors]}), status


# --- the page, its manifest and its service worker ---------------------------------------


@bp.get("/walk")
@role_required(RECORD_ROLE)
def walk_page():
    """The walk-mode page: start a walk, record findings offline, see what was sent."""
    data = {
        "categories": core.CATEGORY_LABELS,
        "severities": {str(k): v for k, v in core.SEVERITY_LABELS.items()},
        "owners": OWNERS,
        "groups": PARTICIPANT_GROUPS,
        "tile_url": current_app.config.get("TILE_URL") or "",
        "tile_attribution": current_app.config.get("TILE_ATTRIBUTION") or "",
        "user": g.user.name,
        "urls": {
            "csrf": url_for("walkmode.csrf_token"),
            "walk": url_for("walkmode.sync_walk"),
            "finding": url_for("walkmode.sync_finding"),
            "login": url_for("auth.login", next=url_for("walkmode.walk_page")),
            "sw": url_for("walkmode.service_worker"),
            "findings": url_for("findings.list_findings"),
        },
    }
    response = current_app.make_response(render_template(
        "walkmode/walk.html", data=data, context=context_shapes(), groups=PARTICIPANT_GROUPS,
        categories=core.CATEGORY_LABELS, severities=core.SEVERITY_LABELS, owners=OWNERS))
    # the service worker keeps its own copy; the browser's HTTP cache must not
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: installs walk mode with a Swedish name and our icons."""
    body = {
        "name": "Trygghetskartan – trygghetsvandring",
        "short_name": "Trygghetsvandring",
        "description": "Registrera fynd på en trygghetsvandring, även utan uppkoppling.",
        "lang": "sv",
        "start_url": url_for("walkmode.walk_page"),
        "scope": request.script_root + "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b3d6b",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any maskable"},
            {"src": url_for("static", filename="icons/icon.svg"), "sizes": "any",
             "type": "image/svg+xml"},
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _shell_urls() -> list[str]:
    return [url_for("static", filename=name) for name in SHELL_ASSETS]


def _shell_version() -> str:
    """A hash of the shell's files: a new version makes the service worker refresh them."""
    digest = hashlib.sha256()
    static = Path(current_app.static_folder)
    for name in (*SHELL_ASSETS, "js/service_worker.js"):
        digest.update(name.encode())
        digest.update((static / name).read_bytes())
    return digest.hexdigest()[:16]


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the app's root so its scope is the whole app.

    Served as JavaScript that is never cached by the HTTP cache (the browser checks it
    on every visit); its list of files and version come first, the code from
    ``static/js/service_worker.js``.
    """
    config = {"version": _shell_version(), "page": url_for("walkmode.walk_page"),
              "shell": _shell_urls(), "static": url_for("static", filename="")}
    code = (Path(current_app.static_folder) / "js" / "service_worker.js").read_text("utf-8")
    body = f"self.TK_SHELL = {json.dumps(config)};\n{code}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = request.script_root + "/"
    return response


# --- sync ----------------------------------------------------------------------------------


@bp.get("/walk/csrf")
@role_required(RECORD_ROLE)
def csrf_token():
    """A fresh CSRF token for this session (JSON), asked for before every sync."""
    response = jsonify({"csrf_token": generate_csrf(), "user": g.user.name})
    response.headers["Cache-Control"] = "no-store"
    return response


def _payload() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, description="Anropet ska vara ett JSON-objekt.")
    return payload


@bp.post("/walk/sync/walk")
@role_required(RECORD_ROLE)
def sync_walk():
    """Store a walk started on the phone; the same client id again stores nothing."""
    payload = _payload()
    client = client_id(payload.get("client_id"))
    if client is None:
        return _json_errors([RowError(1, "id", "klientens id saknas eller är ingen UUID")])
    walk_id = app_id(client)
    store = get_store()
    if store.count("walks", Query(where={"id": walk_id})):
        return jsonify({"id": walk_id, "stored": False}), 200
    counts = payload.get("participants") or {}
    if not isinstance(counts, dict):
        counts = {}
    values = {"date": str(payload.get("date") or ""), "area": str(payload.get("area") or ""),
              "organisers": str(payload.get("organisers") or ""), "participants": "",
              "start_time": str(payload.get("start_time") or "")}
    walk, errors = walks_core.walk_from_form(
        store, values, None, {g_: str(counts.get(g_) or "") for g_ in PARTICIPANT_GROUPS},
        walk_id=walk_id, user=g.user.name)
    if errors:
        return _json_errors(errors)
    # its area is not known until its first finding is (checked there)
    refusal = write_refusal(g.user, RECORD_ROLE)
    if refusal:
        abort(403, description=refusal)
    stored = walks_core.save_new_walk(store, walk)
    return jsonify({"id": walk_id, "stored": stored}), 201 if stored else 200


def _existing(store, finding_id: str):
    row = core.get_finding(store, finding_id)
    if row is None:
        return None
    return jsonify({"id": finding_id, "stored": False, "walk_id": core.text_or_none(
        row["walk_id"]), "photo": bool(core.text_or_none(row["photo"])),
        "url": url_for("findings.show_finding", finding_id=finding_id)}), 200


@bp.post("/walk/sync/finding")
@role_required(RECORD_ROLE)
def sync_finding():
    """Store one finding the phone kept (multipart: fields, ``photo``); idempotent.

    The finding's id is made from its client id, so a retry (the answer was lost, the
    phone sent it twice) stores nothing and is answered with the stored finding.
    """
    form = request.form
    client = client_id(form.get("client_id"))
    if client is None:
        return _json_errors([RowError(1, "id", "klientens id saknas eller är ingen UUID")])
    finding_id = app_id(client)
    store = get_store()
    existing = _existing(store, finding_id)
    if existing is not None:
        return existing
    errors: list[RowError] = []
    walk_id = ""
    if form.get("walk_client_id", "").strip():
        walk_client = client_id(form["walk_client_id"])
        if walk_client is None:
            return _json_errors([RowError(1, "walk_id", "vandringens id är ingen UUID")])
        walk_id = app_id(walk_client)
        if not store.count("walks", Query(where={"id": walk_id})):
            # the phone sends its walk first; this one waits for it
            return jsonify({"error": "Vandringen är inte sparad än."}), 409
    saved_photo, _gps = save_request_photo(errors)
    row = {"id": finding_id, "found_at": form.get("found_at", "").replace("T", " "),
           "category": form.get("category", ""), "severity": form.get("severity", ""),
           "description": form.get("description", ""), "owner": form.get("owner", ""),
           "walk_id": walk_id, "photo": saved_photo.name if saved_photo else ""}
    frame, row_errors = core.validate_form(store, row, form.get("lat", "").strip(),
                                           form.get("lon", "").strip())
    errors += row_errors
    refusal = None if errors else write_refusal(g.user, RECORD_ROLE, frame["sdo_code"])
    if (errors or refusal) and saved_photo is not None:
        saved_photo.unlink(missing_ok=True)
    if errors:
        return _json_errors(errors)
    if refusal:
        abort(403, description=refusal)
    frame = core.complete_rows(frame, user=g.user.name)
    inserted = core.record_finding(store, frame)
    if not inserted:
        # the same finding came twice at once: the other request stored it
        if saved_photo is not None and is_photo_name(saved_photo.name):
            saved_photo.unlink(missing_ok=True)
        return _existing(store, finding_id) or (jsonify({"id": finding_id}), 200)
    sdo = frame["sdo_code"].iloc[0]
    if walk_id and core.text_or_none(sdo):
        walk = store.read("walks", Query(where={"id": walk_id}))
        if len(walk) and core.text_or_none(walk["sdo_code"].iloc[0]) is None:
            # a walk started on the phone lies where its first finding does
            store.update("walks", walk_id, {"sdo_code": sdo})
    return jsonify({"id": finding_id, "stored": True, "walk_id": walk_id or None,
                    "photo": saved_photo is not None,
                    "url": url_for("findings.show_finding", finding_id=finding_id)}), 201

