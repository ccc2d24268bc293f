"""Security headers, the CSP nonce, the cookie flags behind a proxy (issue 17, point 8),
and an old store that lacks the tables and columns added for sessions and tokens."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from infra import create_user, login, make_test_app

from layers.store.sessions import token_hash
from mapapp.security import content_security_policy, tile_source

TEMPLATES = Path(__file__).resolve().parent.parent / "mapapp" / "templates"
STATIC_JS = Path(__file__).resolve().parent.parent / "mapapp" / "static" / "js"


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in policy.split("; ")}


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/stadsdelsomraden",
                                  "/static/js/common.js", "/finns-inte", "/healthz"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    response.close()  # a static file is streamed
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = csp(response)
    assert policy["default-src"] == "'self'"
    assert re.fullmatch(r"'self' 'nonce-[\w-]{20,}'", policy["script-src"])
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'" and policy["form-action"] == "'self'"
    assert policy["base-uri"] == "'self'" and policy["font-src"] == "'self'"


def test_inline_scripts_carry_this_requests_nonce(client):
    first, second = client.get("/"), client.get("/")
    nonce = re.search(r"'nonce-([^']+)'", first.headers["Content-Security-Policy"]).group(1)
    assert nonce not in second.headers["Content-Security-Policy"]
    page = first.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", page)
    assert inline, "the map page has folium's inline scripts"
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline), inline


def test_the_tile_host_is_the_only_foreign_image_source(data_dir):
    app = make_test_app(data_dir, TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    img = csp(app.test_client().get("/"))["img-src"]
    assert img == "'self' data: blob: https://*.tiles.example.org"
    app = make_test_app(data_dir, TILE_URL="")
    assert csp(app.test_client().get("/"))["img-src"] == "'self' data: blob:"
    assert tile_source("http://127.0.0.1:9/tiles/{z}/{x}/{y}.png") == "http://127.0.0.1:9"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None
    assert "'nonce-abc'" in content_security_policy("abc", None)


def test_templates_mark_inline_scripts_and_have_no_inline_handlers():
    """The CSP blocks unmarked inline scripts and every onclick=/onsubmit= attribute."""
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" in tag or "application/json" in tag:
                continue
            if 'nonce="{{ csp_nonce() }}"' not in tag:
                problems.append(f"{path.name}: {tag}")
        problems += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        problems += [f"{path.name}: javascript: URL" for _ in re.findall(r"javascript:", text)]
    for path in sorted(STATIC_JS.glob("*.js")):
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.name}: {m}" for m in re.findall(
            r"setAttribute\(\s*['\"]on|\beval\(|new Function\(", text)]
    assert not problems, problems


# --- the cookie ----------------------------------------------------------------------


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def login_response(app, **environ):
    create_user(app, "anna", "läsare")
    client = app.test_client()
    client.environ_base.update(environ)
    return login(client, "anna"), client


def test_cookie_is_secure_behind_a_tls_proxy(data_dir):
    app = make_test_app(data_dir, PROXY_FIX=1, SESSION_COOKIE_SECURE="auto")
    # over https flask-wtf wants a same-site Referer, which browsers send
    response, client = login_response(app, HTTP_X_FORWARDED_PROTO="https",
                                      HTTP_X_FORWARDED_FOR="192.0.2.10",
                                      HTTP_REFERER="https://localhost/auth/login")
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with app.app_context():
        from mapapp.store_ import get_store

        assert get_store().read("sessions")["ip"].tolist() == ["192.0.2.10"]


def test_cookie_is_not_secure_on_plain_http(data_dir):
    app = make_test_app(data_dir, PROXY_FIX=1, SESSION_COOKIE_SECURE="auto")
    response, _ = login_response(app)
    cookie = session_cookie(response)
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forwarded_headers_are_ignored_without_proxy_fix(data_dir):
    app = make_test_app(data_dir, SESSION_COOKIE_SECURE="auto")
    response, _ = login_response(app, HTTP_X_FORWARDED_PROTO="https")
    assert "Secure" not in session_cookie(response)


def test_cookie_secure_when_configured(data_dir):
    app = make_test_app(data_dir, SESSION_COOKIE_SECURE="true")
    response, _ = login_response(app)
    assert "Secure" in session_cookie(response)
    with pytest.raises(ValueError):
        make_test_app(data_dir, SESSION_COOKIE_SECURE="kanske")


def test_the_default_is_auto(data_dir, monkeypatch):
    from mapapp import create_app

    monkeypatch.setenv("TRYGGHETSKARTAN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TRYGGHETSKARTAN_PROXY_FIX", "1")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] == "auto"
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600
    response = app.test_client().get("/auth/login",
                                     headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in session_cookie(response)


# --- a store made before sessions and token expiry -------------------------------------


def test_a_store_made_by_older_code_still_opens(data_dir, store):
    """An old store: no sessions/login_attempts tables, api_tokens without the new columns."""
    create_user(make_test_app(data_dir), "ingrid", "inventerare")
    store.close()
    conn = sqlite3.connect(store.path)
    conn.executescript("""
        DROP TABLE sessions; DROP TABLE login_attempts;
        DELETE FROM gpkg_contents WHERE table_name IN ('sessions', 'login_attempts');
        ALTER TABLE api_tokens DROP COLUMN name;
        ALTER TABLE api_tokens DROP COLUMN expires_at;
        ALTER TABLE api_tokens DROP COLUMN last_used_at;
    """)
    with conn:
        conn.execute("INSERT INTO api_tokens (id, user_id, created_at, revoked) VALUES "
                     "(?, 'ingrid', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 0)",
                     (token_hash("tk_gammal"),))
    conn.close()
    assert not store.is_initialized()
    app = make_test_app(data_dir)
    response, client = login_response(app)
    assert response.status_code == 302 and client.get("/findings").status_code == 200
    assert store.is_initialized()
    tokens = store.read("api_tokens")
    assert tokens["expires_at"].isna().all() and len(tokens) == 1
    # a token from before expiry lasts the default term from its creation
    response = client.get("/api/findings", headers={"Authorization": "Bearer tk_gammal"})
    assert response.status_code == 200
