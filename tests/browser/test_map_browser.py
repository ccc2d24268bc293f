"""The city and district maps in a real browser (issue #4, acceptance 1, 2, 3 and 5).

Debian's Chromium via Playwright (``browser`` fixture) against the demo app served
over HTTP (``live_server``). The basemap points at a tile host that every test
blocks, so the maps must work without tiles; every request is logged and any host
other than the app and that tile host fails the test, as does any JavaScript error
or dialog. Screenshots go to the artifacts folder.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

import geodata
from layers.core.schema import LOCAL_TZ, STORE_EPSG
from mapapp.cli import cli
from mapapp.store_ import get_store

pytestmark = pytest.mark.browser

TILE_HOST = "tiles.example.test"
TILE_URL = f"https://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"
DISTRICTS = sorted(geodata.stadsdelsomraden(division="2023")["code"])
SETTLED = ("() => window.tkMap && tkMap.state.pending === 0 && !tkMap.state.moving"
           " && tkMap.state.loads >= 3")
XSS = "<img src=x onerror=alert(1)>"


class Watch:
    """Everything a page did that a test may object to."""

    def __init__(self, page, app_url: str) -> None:
        self.app = urlparse(app_url).netloc
        self.requests: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.tiles = 0
        page.on("request", self._request)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console.append(f"pageerror: {exc}"))
        page.on("dialog", self._dialog)
        page.route(f"https://{TILE_HOST}/**", lambda route: route.abort())

    def _request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.netloc == TILE_HOST:
            self.tiles += 1
            return
        self.requests.append(request.url)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        # a blocked tile is logged by Chromium as a failed resource: that is the test
        if TILE_HOST in (message.location or {}).get("url", ""):
            return
        self.console.append(f"{message.text} ({(message.location or {}).get('url')})")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self) -> None:
        foreign = [u for u in self.requests if urlparse(u).netloc != self.app]
        assert not foreign, f"requests to other hosts: {foreign}"
        assert not self.console, f"JavaScript console errors: {self.console}"
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"


@pytest.fixture
def server(live_server):
    live_server.app.config["TILE_URL"] = TILE_URL
    return live_server


def open_page(browser, server, width: int = 1366, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="sv-SE",
                                  timezone_id="Europe/Stockholm")
    page = context.new_page()
    return context, page, Watch(page, server.url)


def sign_in(page, server, name: str) -> None:
    """Log in through the form (password of infra.create_user); lands on the map."""
    page.goto(server.url + "/auth/login")
    page.get_by_label("Användarnamn").fill(name)
    page.get_by_label("Lösenord").fill("losenord123")
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(server.url + "/")


def settle(page) -> dict:
    page.wait_for_function(SETTLED, timeout=20_000)
    return page.evaluate("tkMap.state")


def overlays(page) -> dict[str, bool]:
    """Overlay name -> checked, from the layer control."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
          .map(l => [l.textContent.trim(), l.querySelector('input').checked]))""")


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


# A grid cell (a feature with by_category) to click with the mouse, most events first:
# its centre inside the middle of the view, outside every priority place and site
# (when ``clear``), and with nothing that takes clicks (a marker, a badge, a control, the
# stroke of an outline) over that pixel; a canvas or SVG pane above must let it through. Returns the
# page pixel to click and the cell's count, or null.
CELL_TO_CLICK = """(clear) => { const map = tkMap.map, inner = map.getBounds().pad(-0.3);
    const box = map.getContainer().getBoundingClientRect(), cells = [], covers = [];
    map.eachLayer(l => { const p = l.feature && l.feature.properties;
      if (p && p.by_category && inner.contains(l.getBounds().getCenter())) cells.push(l);
      if (l.feature && l.getBounds && ['tk-priority', 'tk-sites'].includes(l.options.pane))
        covers.push(l.getBounds().pad(0.2)); });
    cells.sort((a, b) => (+b.feature.properties.count || 0) - (+a.feature.properties.count || 0));
    for (const cell of cells) {
      const centre = cell.getBounds().getCenter();
      if (clear && covers.some(b => b.contains(centre))) continue;
      const pt = map.latLngToContainerPoint(centre);
      const x = box.left + pt.x, y = box.top + pt.y, hit = document.elementFromPoint(x, y);
      // the grid's own canvas under the pointer: no marker, badge, control or the
      // stroke of an outline above it
      if (!hit || !hit.closest('.leaflet-overlay-pane')) continue;
      return { x: x, y: y, count: +cell.feature.properties.count || 0 };
    }
    return null; }"""


def click_cell(page, clear: bool = False) -> dict:
    """Click a grid cell with the mouse, as a user would; the cell's popup opens."""
    target = page.evaluate(CELL_TO_CLICK, clear)
    assert target, "no grid cell to click"
    page.mouse.click(target["x"], target["y"])
    page.locator(".leaflet-popup-content .tk-popup-count").wait_for(timeout=5_000)
    return target


def test_city_and_every_district_render_without_tiles_or_foreign_hosts(
        server, browser, artifacts_dir):
    context, page, watch = open_page(browser, server)
    try:
        for path in ["/", *(f"/sdn/{code}" for code in DISTRICTS)]:
            page.goto(server.url + path)
            state = settle(page)
            assert state["incidents"]["mode"] == "grid" and state["incidents"]["features"] > 0, path
            # sites and findings answered (not every district has them)
            assert state["sites"]["count"] >= (1 if path == "/" else 0), path
            assert state["findings"]["count"] >= (1 if path == "/" else 0), path
            assert overlays(page) == {"Händelser": True, "Fynd från trygghetsvandringar": True,
                                      "Platssamverkan": True, "Stadsdelsområden": True,
                                      "Stadsdelar": True, "Prioriterade platser": True,
                                      # off until turned on (issue 14)
                                      "Trendklass (hot spots över tid)": False}, path
            assert state["trend"] is None, path
            assert state["priority"]["count"] > 0, path
            assert state["priority"]["sdn"] == (None if path == "/" else path[5:]), path
            assert int(page.locator("#tk-legend").get_attribute("data-total")) > 0
            assert page.locator(".tk-label-text").count() > 0
            assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zooma in"
            if path == "/":
                page.screenshot(path=str(artifacts_dir / "map_city_desktop.png"))
                labels = page.locator(".tk-label-sdo .tk-label-text a")
                assert labels.count() == 11
            else:
                assert page.locator("#tk-figures [data-figure='rate']").count() == 1
            if path == "/sdn/jarva":
                page.screenshot(path=str(artifacts_dir / "map_district_jarva.png"))
        assert watch.tiles > 0, "the basemap was never asked for"
        watch.check()
    finally:
        context.close()


def test_phone_layout_has_no_overlapping_controls(server, browser, artifacts_dir):
    context, page, watch = open_page(browser, server, 390, 844)
    try:
        page.goto(server.url + "/")
        settle(page)
        page.screenshot(path=str(artifacts_dir / "map_city_phone.png"))
        controls = [page.locator(s).bounding_box() for s in (
            ".leaflet-control-zoom", ".leaflet-control-layers", "#tk-legend",
            ".leaflet-control-attribution", ".leaflet-control-scale")]
        assert all(controls)
        for i, a in enumerate(controls):
            for b in controls[i + 1:]:
                assert not boxes_overlap(a, b), (a, b)
        # the filter panel opens from its button and is usable by keyboard
        toggle = page.locator("#tk-panel-toggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert not page.locator("#f-period").is_visible()
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "f-period"
        page.screenshot(path=str(artifacts_dir / "map_city_phone_filter.png"))
        watch.check()
    finally:
        context.close()


def test_filters_change_the_map_keep_the_view_and_survive_a_reload(server, browser,
                                                                   artifacts_dir):
    context, page, watch = open_page(browser, server)
    try:
        page.goto(server.url + "/?zoom=12&lat=59.33&lon=18.05")
        first = settle(page)
        view = page.evaluate("[tkMap.map.getZoom(), tkMap.map.getCenter()]")
        total_2025 = int(page.locator("#tk-legend").get_attribute("data-total"))

        # toggling a layer in the layer control removes and restores what it shows
        findings = page.locator(".tk-finding, .tk-finding-cluster")
        assert findings.count() > 0
        page.get_by_label("Fynd från trygghetsvandringar").uncheck()
        assert findings.count() == 0
        page.get_by_label("Fynd från trygghetsvandringar").check()
        settle(page)
        assert findings.count() > 0
        incidents_shown = "tkMap.map.hasLayer(window[tkMap.config.groups.incidents])"
        page.get_by_label("Händelser").uncheck()
        assert not page.evaluate(incidents_shown)
        page.get_by_label("Händelser").check()
        settle(page)
        assert page.evaluate(incidents_shown)

        page.get_by_label("Period").select_option("2024-T2")
        page.wait_for_function("() => tkMap.state.incidents.period === '2024-T2'")
        settle(page)
        total_t2 = int(page.locator("#tk-legend").get_attribute("data-total"))
        assert 0 < total_t2 < total_2025
        assert "tertial 2 2024" in page.locator("#tk-legend").inner_text()

        page.get_by_label("Kategori").select_option("ran")
        page.wait_for_function(f"() => tkMap.state.loads > {first['loads'] + 4}")
        settle(page)
        total_ran = int(page.locator("#tk-legend").get_attribute("data-total"))
        assert 0 < total_ran < total_t2
        # every cell drawn now counts robberies only
        categories = page.evaluate("""() => { const seen = new Set();
            tkMap.map.eachLayer(l => { const p = l.feature && l.feature.properties;
              if (p && p.by_category) Object.keys(p.by_category).forEach(c => seen.add(c)); });
            return [...seen]; }""")
        assert categories == ["ran"]
        # the map stayed where it was, and the URL holds filter and view
        assert page.evaluate("[tkMap.map.getZoom(), tkMap.map.getCenter()]") == view
        query = parse_qs(urlparse(page.url).query)
        assert query["period"] == ["2024-T2"] and query["category"] == ["ran"]
        assert query["zoom"] == ["12"]

        # a popup explains a cell: count, period, trend
        # the cell with most robberies in the middle of the view, clicked with the mouse
        # (priority places and sites may lie over it: they must let the click through)
        click_cell(page)
        popup = page.locator(".leaflet-popup-content .tk-popup")
        assert "händelser, tertial 2 2024" in popup.inner_text()
        assert "Rån" in popup.inner_text()
        page.wait_for_function(  # the popup's fade-in
            "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity"
            " === '1'")
        page.screenshot(path=str(artifacts_dir / "map_city_cell_popup.png"))


        # reloading the URL restores the filter, the view and what the map shows
        page.reload()
        settle(page)
        assert page.get_by_label("Period").input_value() == "2024-T2"
        assert page.get_by_label("Kategori").input_value() == "ran"
        assert page.evaluate("[tkMap.map.getZoom(), tkMap.map.getCenter()]") == view
        assert int(page.locator("#tk-legend").get_attribute("data-total")) == total_ran
        watch.check()
    finally:
        context.close()


def test_mouse_clicks_reach_grid_cells_and_sites_under_the_priority_layer(server, browser,
                                                                         artifacts_dir):
    """The priority places and sites draw in panes above the grid; a click beside their
    paths must still open the grid cell's popup, and a click on a site its own, whether
    the priority layer is ticked or not."""
    context, page, watch = open_page(browser, server)
    try:
        for path in ("/?period=2025", f"/sdn/{DISTRICTS[0]}?period=2025"):
            page.goto(server.url + path)
            settle(page)
            assert page.evaluate("tkMap.state.priority.count") > 0, path
            click_cell(page, clear=True)
            assert "händelser" in page.locator(".leaflet-popup-content .tk-popup").inner_text()
            if path.startswith("/?"):
                page.wait_for_function(  # the popup's fade-in
                    "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity"
                    " === '1'")
                page.screenshot(path=str(artifacts_dir / "map_city_cell_click.png"))
            page.evaluate("void tkMap.map.closePopup()")
            page.locator(".leaflet-popup").wait_for(state="detached")
            # a cell inside a priority place: the outline takes clicks on its stroke only
            click_cell(page)
            page.evaluate("void tkMap.map.closePopup()")
            page.locator(".leaflet-popup").wait_for(state="detached")
            # with the priority layer unticked too
            page.get_by_label("Prioriterade platser").uncheck()
            click_cell(page, clear=True)
            page.evaluate("void tkMap.map.closePopup()")
            page.locator(".leaflet-popup").wait_for(state="detached")
            page.get_by_label("Prioriterade platser").check()
            settle(page)

        # a site polygon, clicked inside, opens the site's popup
        page.goto(server.url + "/?period=2025")
        settle(page)
        page.evaluate("""() => { let site = null; tkMap.map.eachLayer(l => {
            if (!site && l.options.pane === 'tk-sites' && l.feature) site = l; });
            tkMap.map.fitBounds(site.getBounds(), { maxZoom: 16, animate: false }); }""")
        settle(page)
        spot = page.evaluate("""() => { const map = tkMap.map, box =
            map.getContainer().getBoundingClientRect(); let found = null;
            map.eachLayer(l => { if (found || l.options.pane !== 'tk-sites' || !l.feature
                                  || !l._path) return;
              const r = l._path.getBoundingClientRect();
              for (let fy = 0.3; fy <= 0.7 && !found; fy += 0.1)
                for (let fx = 0.3; fx <= 0.7 && !found; fx += 0.1) {
                  const x = r.left + fx * r.width, y = r.top + fy * r.height;
                  if (x < box.left || y < box.top || x > box.right || y > box.bottom) continue;
                  if (document.elementFromPoint(x, y) === l._path) found = { x: x, y: y };
                } });
            return found; }""")
        assert spot, "no site polygon to click"
        page.mouse.click(spot["x"], spot["y"])
        page.locator(".leaflet-popup-content .tk-popup-site").wait_for(timeout=5_000)
        watch.check()
    finally:
        context.close()


def test_choosing_a_district_in_the_filter_opens_it_zoomed_with_its_heading(server, browser):
    """Choosing Farsta on / has the behaviour of the district link: /sdn/farsta, zoomed
    to Farsta, heading Farsta, every layer narrowed, the other filters carried over."""
    context, page, watch = open_page(browser, server)
    try:
        page.goto(server.url + "/?period=2025&category=strategiska")
        first = settle(page)
        total_city = int(page.locator("#tk-legend").get_attribute("data-total"))
        sites_city = page.evaluate("tkMap.state.sites.count")
        zoom_city = page.evaluate("tkMap.map.getZoom()")
        with page.expect_navigation():
            page.get_by_label("Stadsdelsområde", exact=True).select_option("farsta")
        assert urlparse(page.url).path == "/sdn/farsta"
        query = parse_qs(urlparse(page.url).query)
        assert query["period"] == ["2025"] and query["category"] == ["strategiska"]
        settle(page)
        assert page.locator("#tk-panel-title").inner_text().startswith("Farsta")
        assert page.get_by_label("Stadsdelsområde", exact=True).input_value() == "farsta"
        # zoomed to Farsta: the view is closer than the city's and Farsta's centre is in it
        assert page.evaluate("tkMap.map.getZoom()") > zoom_city
        farsta = geodata.stadsdelsomraden(division="2023").to_crs(4326)
        centre = farsta.loc[farsta["code"] == "farsta"].geometry.iloc[0].representative_point()
        assert page.evaluate(f"tkMap.map.getBounds().contains([{centre.y}, {centre.x}])")
        total_farsta = int(page.locator("#tk-legend").get_attribute("data-total"))
        assert 0 < total_farsta < total_city
        assert 0 < page.evaluate("tkMap.state.sites.count") < sites_city
        # the district carries over to the priority list, the findings and the briefs
        links = page.eval_on_selector_all(".tk-district-links a", "as => as.map(a => a.href)")
        assert any("/priority?" in h and "sdn=farsta" in h for h in links), links
        assert any("/findings?" in h and "sdo=farsta" in h for h in links), links
        assert any("/briefs/?" in h and "sdn=farsta" in h for h in links), links
        # and "Hela staden" goes back to the city map
        with page.expect_navigation():
            page.get_by_label("Stadsdelsområde", exact=True).select_option("")
        assert urlparse(page.url).path == "/"
        settle(page)
        assert page.locator("#tk-panel-title").inner_text().startswith("Stockholms stad")
        assert first["loads"] >= 3
        watch.check()
    finally:
        context.close()


def test_rapid_filter_changes_end_with_the_figures_matching_the_map(server, browser):
    """Quick changes of period, category and status on /sdn/jarva: the key-figures panel
    ends showing the figures of the last filter, as the map does (no stale answer)."""
    context, page, watch = open_page(browser, server)
    try:
        page.goto(server.url + "/sdn/jarva?period=2025")
        settle(page)
        # slow the figures down so older answers arrive late, and in reverse order
        delays = iter([900, 600, 300, 0, 0, 0, 0, 0])

        def slow(route):
            page.wait_for_timeout(next(delays, 0))
            route.continue_()

        page.route("**/sdn/jarva/nyckeltal*", slow)
        period = page.get_by_label("Period", exact=True)
        category = page.get_by_label("Kategori", exact=True)
        period.select_option("2024")
        category.select_option("strategiska")
        page.get_by_label("Status för fynd", exact=True).select_option("oppna")
        category.select_option("ran")
        page.wait_for_timeout(1500)
        settle(page)
        final = parse_qs(urlparse(page.url).query)
        assert final["period"] == ["2024"] and final["category"] == ["ran"]
        panel = page.locator("#tk-figures")
        assert parse_qs(panel.get_attribute("data-filter"))["category"] == ["ran"]
        shown = panel.locator('[data-figure="incidents"]').inner_text()
        page.unroute("**/sdn/jarva/nyckeltal*")
        fresh = page.evaluate("""() => fetch('/sdn/jarva/nyckeltal?period=2024&category=ran'
            + '&status=oppna').then(r => r.text())""")
        expected = fresh.split('data-figure="incidents">', 1)[1].split("<", 1)[0]
        assert shown == expected
        assert "2024" in panel.locator("#tk-figures-title").inner_text()
        watch.check()
    finally:
        context.close()


def test_close_zoom_shows_points_but_never_sensitive_ones_to_the_public(server, browser):
    context, page, watch = open_page(browser, server)
    answers: list[dict] = []
    page.on("response", lambda r: answers.append(r.json())
            if urlparse(r.url).path == "/api/incidents" else None)
    try:
        page.goto(server.url + "/?zoom=16&lat=59.3146&lon=18.0718&period=2025")
        state = settle(page)
        assert state["incidents"]["mode"] == "points" and state["incidents"]["features"] > 0
        assert page.locator("#tk-legend").get_attribute("data-mode") == "points"
        assert "Sexualbrott, Våld i nära relation visas inte som punkter" in \
            page.locator("#tk-legend").inner_text()
        assert answers and all(
            f["properties"]["category"] not in ("sexualbrott", "vald_nara_relation")
            and f["properties"]["precision"] in ("exact", "street")
            for answer in answers for f in answer["features"])
        # the public cannot ask for a sensitive category at all (the API answers 403)
        options = page.locator("#f-category option").evaluate_all(
            "nodes => nodes.map(n => n.value)")
        assert "vald" in options
        assert not {"sexualbrott", "vald_nara_relation"} & set(options)
        watch.check()
    finally:
        context.close()


def test_user_text_in_popups_is_text_not_html(server, browser):
    lon, lat = 18.0500, 59.3400
    with server.app.app_context():
        store = get_store()
        point = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(STORE_EPSG)
        store.write({"findings": gpd.GeoDataFrame({
            "id": ["xss-1"], "found_at": [pd.Timestamp("2025-05-05 19:00", tz=LOCAL_TZ)],
            "category": ["ovrigt"], "severity": [2], "description": [XSS], "status": ["ny"],
            "owner": ["trafikkontoret"], "walk_id": [XSS], "sdo_code": ["norra-innerstaden"],
            "stadsdel": ["vasastaden"]}, geometry=point, crs=STORE_EPSG),
            "sites": gpd.GeoDataFrame({
                "id": ["xss-site"], "name": [f"Torget {XSS}"], "status": ["aktiv"],
                "partners": ["<script>alert(2)</script>"], "sdo_code": ["norra-innerstaden"]},
                geometry=point.buffer(60), crs=STORE_EPSG)})
    from infra import create_user

    # descriptions are for signed-in users (anonymous API callers do not get them)
    create_user(server.app, "lisa", "läsare")
    context, page, watch = open_page(browser, server)
    try:
        sign_in(page, server, "lisa")
        page.goto(server.url + f"/?zoom=17&lat={lat}&lon={lon}&period=2025")
        settle(page)
        marker = page.locator(".leaflet-marker-icon[title='Övrigt (ny)']")
        marker.click()
        popup = page.locator(".leaflet-popup-content")
        assert popup.locator(".tk-popup-text").inner_text() == XSS
        assert XSS in popup.inner_text()
        # its place in words names the site it lies in (issue 12), as text too
        assert f"Torget {XSS}, inom platsen (stadsdel Vasastaden)" in popup.inner_text()
        assert popup.locator("img").count() == 0
        page.keyboard.press("Escape")
        # the site's polygon around it: name and partners as text too
        page.evaluate("""() => { tkMap.map.eachLayer(l => {
            if (l.feature && l.feature.id === 'xss-site') l.openPopup(); }); }""")
        site = page.locator(".leaflet-popup-content .tk-popup-site")
        assert f"Torget {XSS}" in site.inner_text()
        assert "<script>alert(2)</script>" in site.inner_text()
        assert site.locator("img, script").count() == 0
        page.wait_for_timeout(300)  # give an injected handler time to fire
        watch.check()
    finally:
        context.close()


def test_handlaggare_sees_sensitive_points_but_never_imprecise_ones(server, browser):
    from infra import create_user

    create_user(server.app, "hanna", "handläggare")
    context, page, watch = open_page(browser, server)
    answers: list[dict] = []
    page.on("response", lambda r: answers.append(r.json())
            if urlparse(r.url).path == "/api/incidents" else None)
    try:
        sign_in(page, server, "hanna")
        page.goto(server.url + "/?zoom=15&lat=59.3146&lon=18.0718&period=2025")
        state = settle(page)
        assert state["incidents"]["mode"] == "points"
        features = [f for answer in answers for f in answer["features"]]
        categories = {f["properties"]["category"] for f in features}
        assert {"sexualbrott", "vald_nara_relation"} & categories
        precise = [f for f in features if f["properties"]["precision"] in ("exact", "street")]
        assert len(precise) < len(features), "the demo has imprecise incidents here"
        assert state["incidents"]["features"] == len(precise)
        assert "visas inte som punkter" not in page.locator("#tk-legend").inner_text()
        watch.check()
    finally:
        context.close()


def cli_ranking(server, *args: str) -> list[tuple[int, str]]:
    """(rank, name) of ``trygghetskartan priority --format json`` on the server's store."""
    result = CliRunner().invoke(cli, ["priority", "--data-dir", server.app.config["DATA_DIR"],
                                      "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return [(p["rank"], p["name"]) for p in json.loads(result.output)["places"]]


def shown_ranking(page) -> list[tuple[int, str]]:
    """(rank, name) of the numbered badges on the map, in the order they are drawn."""
    return [(int(rank), title.split(". ", 1)[1]) for rank, title in page.evaluate(
        """() => [...document.querySelectorAll('.tk-priority-icon')].map(
            i => [i.querySelector('.tk-priority-rank').textContent, i.title])""")]


def test_priority_layer_shows_the_cli_ranking(server, browser, artifacts_dir):
    """Issue #6: the priority layer of the city map ranks as the CLI does, for the period
    of the filter; other filters leave it alone and its popup says so."""
    context, page, watch = open_page(browser, server)
    try:
        expected = cli_ranking(server, "--period", "2024-T2")
        assert len(expected) >= 10
        page.goto(server.url + "/?period=2024-T2")
        page.wait_for_function(
            "() => tkMap.state.priority && tkMap.state.priority.period === '2024-T2'")
        settle(page)
        assert shown_ranking(page) == expected
        assert [int(r) for r in page.locator(".tk-priority-rank").all_text_contents()] == \
            [rank for rank, _ in expected]
        assert overlays(page)["Prioriterade platser"] is True
        legend = page.locator("#tk-legend .tk-legend-priority")
        assert legend.get_attribute("data-count") == str(len(expected))
        assert "Nr 1–5" in legend.inner_text() and "tertial 2 2024" in legend.inner_text()
        page.screenshot(path=str(artifacts_dir / "map_city_priority.png"))
        page.goto(server.url + "/?period=2024-T2&zoom=13&lat=59.328&lon=18.06")
        settle(page)
        page.screenshot(path=str(artifacts_dir / "map_city_priority_inner.png"))
        page.goto(server.url + "/?period=2024-T2")
        settle(page)

        # the first place's popup: name, the explanation, a link to the ranked list
        page.locator(".tk-priority-icon").first.click()
        popup = page.locator(".leaflet-popup-content .tk-popup-priority")
        assert popup.locator(".tk-popup-title").inner_text() == f"Nr 1: {expected[0][1]}"
        api = page.request.get(f"{server.url}/api/priority?period=2024-T2").json()
        # plain words first (issue 14); the statistics stay on /priority
        first = api["places"][0]
        assert popup.locator(".tk-popup-text").inner_text() == \
            " ".join([first["first_sentence"], *first["plain"]])
        assert popup.locator(".tk-popup-unfiltered").count() == 0
        link = popup.locator("a.tk-popup-more")
        assert link.get_attribute("href") == "/priority?period=2024-T2"
        page.evaluate("() => { tkMap.map.closePopup(); }")

        # a category filter changes the grid, not the ranking, and the popup says so
        loads = page.evaluate("tkMap.state.loads")
        page.get_by_label("Kategori").select_option("ran")
        page.wait_for_function(f"() => tkMap.state.loads >= {loads + 3}")
        settle(page)
        assert shown_ranking(page) == expected
        page.locator(".tk-priority-icon").first.click()
        note = page.locator(".leaflet-popup-content .tk-popup-unfiltered")
        assert "filtret för kategori används inte" in note.inner_text()
        page.wait_for_function(  # the popup's fade-in
            "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity"
            " === '1'")
        page.screenshot(path=str(artifacts_dir / "map_city_priority_popup.png"))
        page.evaluate("() => { tkMap.map.closePopup(); }")

        # a new period reloads the layer with that period's ranking
        page.get_by_label("Period").select_option("2025-T1")
        page.wait_for_function("() => tkMap.state.priority.period === '2025-T1'")
        settle(page)
        expected_t1 = cli_ranking(server, "--period", "2025-T1")
        assert expected_t1 != expected
        assert shown_ranking(page) == expected_t1

        # and the popup's link opens /priority with the same ranking
        page.locator(".tk-priority-icon").first.click()
        page.locator(".leaflet-popup-content a.tk-popup-more").click()
        page.wait_for_url(f"{server.url}/priority?period=2025-T1")
        names = page.locator(".tk-place-name").all_text_contents()
        assert names == [name for _, name in expected_t1]
        watch.check()
    finally:
        context.close()


CSP_PAGES = ["/", "/sdn/jarva", "/findings/new", "/sites/new", "/priority",
             "/briefs/jarva/2025-T1.html", "/auth/sessions", "/auth/password"]


def test_pages_run_under_the_content_security_policy(server, browser):
    """No page needs anything the CSP forbids: every inline script has the nonce, no
    inline handlers, no foreign hosts except the tile host (allowed in img-src)."""
    from infra import create_user

    create_user(server.app, "ada", "admin")
    context, page, watch = open_page(browser, server)
    context.add_init_script("""window.__csp = [];
        document.addEventListener('securitypolicyviolation', e => window.__csp.push(
            e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile
            + ':' + e.lineNumber));""")
    try:
        sign_in(page, server, "ada")
        for path in CSP_PAGES:
            response = page.goto(server.url + path)
            assert response.status == 200, path
            assert "script-src 'self' 'nonce-" in response.headers["content-security-policy"]
            if path in ("/", "/sdn/jarva"):
                settle(page)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.__csp") == [], path
            if path in ("/", "/sdn/jarva", "/findings/new", "/sites/new", "/priority"):
                # the map ran: folium's inline scripts were allowed
                assert page.locator(".leaflet-container").count() >= 1, path
        watch.check()
    finally:
        context.close()


def test_trend_layer_draws_the_emerging_patterns_with_a_swedish_legend(server, browser,
                                                                       artifacts_dir):
    """Issue 14: ticking "Trendklass" draws /api/emerging's patterns for the area and
    period of the filter, with one legend row per pattern shown, in Swedish."""
    context, page, watch = open_page(browser, server)
    try:
        page.goto(server.url + "/?period=2025-T3")
        settle(page)
        assert page.locator("#tk-legend .tk-legend-trend").is_hidden()
        page.locator(".leaflet-control-layers").hover()
        page.get_by_label("Trendklass (hot spots över tid)").check()
        page.wait_for_function("() => tkMap.state.trend !== null")
        state = settle(page)
        api = page.request.get(f"{server.url}/api/emerging?period=2025-T3").json()
        assert state["trend"]["patterns"] == api["metadata"]["cells"]
        assert state["trend"]["months"] == 24
        legend = page.locator("#tk-legend .tk-legend-trend")
        assert legend.is_visible()
        assert "Trendklass, 24 månader" in legend.inner_text()
        rows = legend.locator(".tk-legend-row")
        labels = {p["code"]: p["label"] for p in api["metadata"]["patterns"]}
        assert [rows.nth(i).get_attribute("data-pattern") for i in range(rows.count())] == \
            [code for code in labels if code in api["metadata"]["cells"]]
        assert rows.first.inner_text().strip() == labels[rows.first.get_attribute("data-pattern")]
        page.screenshot(path=str(artifacts_dir / "map_city_trend.png"))
        # a district's page asks for its own area; unticking hides the legend
        page.goto(server.url + "/sdn/jarva?period=2025-T3")
        settle(page)
        page.locator(".leaflet-control-layers").hover()
        page.get_by_label("Trendklass (hot spots över tid)").check()
        page.wait_for_function("() => tkMap.state.trend && tkMap.state.trend.sdn === 'jarva'")
        page.get_by_label("Trendklass (hot spots över tid)").uncheck()
        assert legend.is_hidden()
        watch.check()
    finally:
        context.close()
