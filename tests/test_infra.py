"""The test infrastructure itself: skip-or-fail, the browser, the local server, PostGIS."""

from __future__ import annotations

import urllib.request

import pytest
from infra import require_or_skip, serve_wsgi_in_thread

PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Trygghetskartan</title></head>
<body><h1>Trygghetskartan – Järva</h1><p id="ok">Sidan fungerar.</p></body></html>
"""


def hello_app(environ, start_response):
    """Answer every request with a small Swedish page."""
    body = PAGE.encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def test_require_or_skip_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Widget missing"):
        require_or_skip("Widget", False)
    require_or_skip("Widget", True)


def test_require_or_skip_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"Widget missing \(CI=true: required\)"):
        require_or_skip("Widget", False)
    require_or_skip("Widget", True)


def test_serve_wsgi_in_thread_serves_and_stops():
    base_url, stop = serve_wsgi_in_thread(hello_app)
    try:
        with urllib.request.urlopen(base_url + "/", timeout=10) as response:
            assert response.status == 200
            assert "Järva" in response.read().decode("utf-8")
    finally:
        stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(base_url + "/", timeout=2)


@pytest.mark.browser
def test_browser_renders_local_page(browser, artifacts_dir):
    base_url, stop = serve_wsgi_in_thread(hello_app)
    context = browser.new_context(viewport={"width": 800, "height": 600}, locale="sv-SE")
    try:
        page = context.new_page()
        page.goto(base_url + "/")
        assert page.locator("h1").inner_text() == "Trygghetskartan – Järva"
        assert page.title() == "Trygghetskartan"
        shot = artifacts_dir / "infra_browser.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 1000
    finally:
        context.close()
        stop()


@pytest.mark.postgis
def test_postgis_answers(postgis_url):
    import psycopg

    with psycopg.connect(postgis_url) as conn:
        (version,) = conn.execute("SELECT postgis_version()").fetchone()
        assert version.split()[0][0].isdigit()
        (distance,) = conn.execute(
            "SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(18.0686, 59.3293), 4326),"
            " 3011), ST_Transform(ST_SetSRID(ST_MakePoint(18.0686, 59.3383), 4326), 3011))"
        ).fetchone()
        # 0.009 degrees of latitude is about 1 km; EPSG:3011 (SWEREF 99 18 00) must be known.
        assert 990 < distance < 1010
