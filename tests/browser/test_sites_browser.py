"""Platssamverkan and walks in a real browser (Chromium), on the demo data.

Acceptance 1 of issue #8: a handläggare draws a site polygon with the Draw toolbar
(the polygon tool, points clicked on the map with the mouse), saves it with partners,
adds a measure, logs a meeting, and sees the site on the city map with its
before/after figures in the popup; a läsare sees the site but every write route
answers 403. Acceptance 5: none of the new pages loads anything from a third-party
host (every request is logged). Screenshots of the site page, the sites list, the
walks pages and the lighting page go to the artifacts folder.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from infra import create_user

from layers.domain.users import new_token
from mapapp.store_ import get_store

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1400, "height": 950}, "locale": "sv-SE",
           "timezone_id": "Europe/Stockholm"}
SAMPLE = {"site_id": None, "measure_id": "webb:measure-x", "walk_id": "demo:walk-03",
          "fmt": "pdf"}


class Requests:
    """Every URL a page asks for, and the page errors."""

    def __init__(self, page, base: str, tiles: str) -> None:
        self.urls: list[str] = []
        self.errors: list[str] = []
        self.allowed = {urlparse(base).netloc, urlparse(tiles).netloc}
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def foreign(self) -> list[str]:
        return [u for u in self.urls if not u.startswith(("data:", "blob:", "about:"))
                and urlparse(u).netloc not in self.allowed]


def log_in(page, url: str, name: str) -> None:
    page.goto(f"{url}/auth/login")
    page.fill("#username", name)
    page.fill("#password", "losenord123")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def draw_polygon(page, lat: float, lon: float) -> None:
    """Zoom to (lat, lon); click the polygon tool, five points, then the first one again."""
    page.evaluate("""([lat, lon]) => { Object.values(window).find(v => v instanceof L.Map)
        .setView([lat, lon], 17, {animate: false}); }""", [lat, lon])
    page.click(".leaflet-draw-draw-polygon")
    box = page.locator("#draw-map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    points = [(-70, -50), (60, -60), (90, 20), (10, 70), (-80, 40)]
    for dx, dy in [*points, points[0]]:
        page.mouse.move(cx + dx, cy + dy)
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(150)


def figures_on_page(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '#before-after-table td[data-key]')].map(td => [td.dataset.key, td.textContent.trim()]))""")


def write_routes(app, site_id: str) -> list[str]:
    values = {**SAMPLE, "site_id": site_id}
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("sites", "walks") and "POST" in rule.methods:
            urls.append(rule.build({k: values[k] for k in rule.arguments})[1])
    return sorted(urls)


def test_handlaggare_draws_a_site_and_lasare_may_only_look(live_server, browser, artifacts_dir):
    app, url = live_server.app, live_server.url
    create_user(app, "hanna", "handläggare")
    create_user(app, "lars", "läsare")
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    watch = Requests(page, url, app.config["TILE_URL"])
    try:
        log_in(page, url, "hanna")
        page.goto(f"{url}/sites/new")
        assert page.locator(".leaflet-draw-draw-polygon").get_attribute("title") == \
            "Rita en yta (polygon)"
        draw_polygon(page, 59.3326, 18.0649)  # Sergels torg
        page.locator("#draw-status", has_text="1 yta ritad").wait_for()
        assert '"Polygon"' in page.input_value("#geometry")
        page.fill("#name", "Testplats vid Sergels torg")
        page.fill("#start_date", "2025-01-01")
        page.select_option("#status", "aktiv")
        page.check("input[name=partner][value='fastighetsägare']")
        page.check("input[name=partner][value='näringsidkare']")
        page.check("input[name=partner][value='lokalpolisområde']")
        page.fill("#partners_other", "Gallerian AB")
        page.fill("#contact", "sergel@exempel.se")
        page.check("#activity-vaktare")
        page.click("#save-site")
        page.wait_for_url(re.compile(r".*/sites/webb:site-[0-9a-f]+$"))
        site_id = page.url.rsplit("/", 1)[1]
        assert page.inner_text("#site-name") == "Testplats vid Sergels torg"
        assert "Gallerian AB" in page.inner_text("#site-partners")

        page.fill("#measure", "Bättre belysning i gångtunneln")
        page.fill("#measure-owner", "trafikkontoret")
        page.fill("#due_date", "2025-06-30")
        page.click("#measure-form button[type=submit]")
        page.wait_for_load_state()
        assert "Bättre belysning i gångtunneln" in page.inner_text("#measures-table")
        page.select_option("#log-kind", "mote")
        page.fill("#log-note", "Uppstartsmöte med fastighetsägarna")
        page.click("#log-form button[type=submit]")
        page.wait_for_load_state()
        assert "Uppstartsmöte med fastighetsägarna" in page.inner_text("#log-list")
        assert "möte" in page.inner_text("#log-list")
        figures = figures_on_page(page)
        # whole numbers the Swedish way ("1\xa0097"), never "<5" for a handläggare
        assert all(re.fullmatch(r"\d{1,3}(?:\xa0\d{3})*", v) for v in figures.values()), figures
        assert int(figures["site_before"].replace("\xa0", "")) \
            + int(figures["site_after"].replace("\xa0", "")) > 0
        page.screenshot(path=str(artifacts_dir / "site_page.png"), full_page=True)
        with app.app_context():
            stored = get_store().read("sites")
        stored = stored[stored["id"] == site_id].iloc[0]
        assert stored["sdo_code"] == "norra-innerstaden"
        assert "lokalpolisområde" in stored["partners"]

        # the city map: the site's popup shows the same before/after figures
        page.goto(f"{url}/?zoom=17&lat=59.3326&lon=18.0649&period=2025")
        page.wait_for_function("() => window.tkMap && tkMap.state.sites && "
                               "tkMap.state.sites.count > 0", timeout=20_000)
        page.evaluate("""(id) => { tkMap.map.eachLayer(l => {
            if (l.feature && l.feature.id === id) l.openPopup(); }); }""", site_id)
        popup = page.locator(".leaflet-popup-content .tk-popup-site")
        popup.wait_for()
        cells = popup.locator(".tk-site-figures td").all_inner_texts()
        assert cells[:2] == [figures["site_before"], figures["site_after"]]
        assert cells[3:5] == [figures["ring_before"], figures["ring_after"]]
        assert "Testplats vid Sergels torg" in popup.inner_text()
        assert popup.locator("a", has_text="Visa platsen").get_attribute("href") == \
            f"/sites/{site_id}"
        page.screenshot(path=str(artifacts_dir / "site_popup_city_map.png"))

        page.goto(f"{url}/sites")
        assert "Testplats vid Sergels torg" in page.inner_text("#sites-table")
        page.screenshot(path=str(artifacts_dir / "sites_list.png"), full_page=True)
        assert watch.foreign() == [] and watch.errors == []
    finally:
        context.close()

    # a läsare sees the site, without edit controls, and every write route says 403
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    try:
        log_in(page, url, "lars")
        page.goto(f"{url}/sites/{site_id}")
        assert page.inner_text("#site-name") == "Testplats vid Sergels torg"
        assert page.locator("#edit-site").count() == 0
        assert page.locator("#measure-form, #log-form").count() == 0
        assert "Bättre belysning i gångtunneln" in page.inner_text("#measures-table")
        token = page.locator("input[name=csrf_token]").first.input_value()
        with app.app_context():
            api_token = new_token(get_store(), "lars")
        routes = write_routes(app, site_id)
        assert len(routes) == 12
        for route in routes:
            if route.startswith("/api/"):
                response = page.request.post(url + route, data="[]", headers={
                    "Authorization": f"Bearer {api_token}",
                    "Content-Type": "application/json"})
            else:
                response = page.request.post(url + route, form={
                    "csrf_token": token, "name": "Ändrad", "measure": "x", "owner": "x",
                    "status": "klar", "date": "2025-02-01", "kind": "mote"})
            assert response.status == 403, route
        for route in ("/sites/new", f"/sites/{site_id}/edit", "/walks/new",
                      "/walks/demo:walk-03/edit"):
            assert page.request.get(url + route).status == 403, route
        with app.app_context():
            store = get_store()
            assert store.read("sites").set_index("id").loc[site_id, "name"] == \
                "Testplats vid Sergels torg"
            assert store.count("site_measures") == 1 and store.count("site_activity_log") == 1
    finally:
        context.close()


def test_new_pages_load_nothing_from_other_hosts(live_server, browser, artifacts_dir):
    app, url = live_server.app, live_server.url
    create_user(app, "hanna", "handläggare")
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    watch = Requests(page, url, app.config["TILE_URL"])
    try:
        log_in(page, url, "hanna")
        pages = {
            "/sites": None, "/sites/demo:site-03": None, "/sites/new": None,
            "/sites/demo:site-03/edit": None, "/walks": "walks_list.png",
            "/walks/demo:walk-03": "walk_page.png", "/walks/new": None,
            "/walks/demo:walk-03/edit": None, "/lighting": "lighting.png",
            "/walks/demo:walk-03/protocol.html": None,
        }
        for path, shot in pages.items():
            response = page.goto(url + path)
            assert response.status == 200, path
            page.wait_for_load_state("networkidle")
            if shot:
                page.screenshot(path=str(artifacts_dir / shot), full_page=True)
        assert len(watch.urls) > 30
        assert watch.foreign() == [], watch.foreign()
        assert watch.errors == []
        # the edit form loads the stored polygon into the Draw toolbar's layer group
        page.goto(f"{url}/sites/demo:site-03/edit")
        assert "1 yta ritad" in page.inner_text("#draw-status")
    finally:
        context.close()
