"""/priority in a real browser: clicking a ranked place zooms the Leaflet map to it.

Acceptance (issue #6, part 4). Uses the ``live_server`` (demo data) and ``browser``
(Debian's Chromium via Playwright) fixtures; a screenshot goes to the artifacts folder.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def _map_state(page, name: str) -> dict:
    return page.evaluate(
        """(name) => { const m = window[name]; const c = m.getCenter(); const b = m.getBounds();
             return {lat: c.lat, lng: c.lng, zoom: m.getZoom(),
                     south: b.getSouth(), west: b.getWest(), north: b.getNorth(),
                     east: b.getEast()}; }""", name)


def test_clicking_a_place_zooms_the_map_to_it(live_server, browser, artifacts_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/priority?sdn=jarva&period=2025-T3",
                  wait_until="networkidle")
        config = json.loads(page.locator("#tk-priority-config").text_content())
        name = config["map"]
        page.wait_for_function("(name) => window[name] && window[name].getZoom", arg=name)
        api = page.request.get(f"{live_server.url}/api/priority?sdn=jarva&period=2025-T3").json()
        rows = page.locator("button.tk-place")
        assert rows.count() == len(api["places"]) >= 3
        assert rows.nth(0).locator(".tk-place-name").text_content() == api["places"][0]["name"]
        # the map layer shows every place: a numbered marker per place
        assert page.locator(".tk-rank-icon").count() == len(api["places"])
        page.screenshot(path=str(artifacts_dir / "priority.png"), full_page=False)

        before = _map_state(page, name)
        for index in (1, 0):
            place = api["places"][index]
            rows.nth(index).click()
            (south, west), (north, east) = place["bounds"]
            page.wait_for_function(
                """([name, lat, lng]) => { const c = window[name].getCenter();
                     return Math.abs(c.lat - lat) < 1e-3 && Math.abs(c.lng - lng) < 2e-3; }""",
                arg=[name, (south + north) / 2, (west + east) / 2])
            after = _map_state(page, name)
            assert after["zoom"] > before["zoom"]
            assert after["south"] <= south and after["north"] >= north
            assert after["west"] <= west and after["east"] >= east
            # zoomed in close: the view is at most a few times the place
            assert (after["north"] - after["south"]) < 6 * (north - south)
            assert rows.nth(index).get_attribute("aria-current") == "true"
        page.screenshot(path=str(artifacts_dir / "priority_zoomed.png"), full_page=False)

        # plain words first, the statistics behind "Statistik", the backtest beside the list
        first = page.locator("li.tk-place-item").nth(0)
        assert first.locator(".tk-place-first").text_content() == \
            api["places"][0]["first_sentence"]
        stats = first.locator("details.tk-place-stats")
        assert not stats.locator("p").first.is_visible()
        stats.locator("summary").click()
        assert stats.locator("p").first.is_visible()
        assert stats.locator("p").first.text_content() == api["places"][0]["statistics"]
        assert page.locator(".tk-backtest-sentence").is_visible()
        assert "av nästa tertials händelser" in page.locator(".tk-backtest-sentence").inner_text()
        assert first.locator(".tk-place-links a").first.get_attribute("href") == \
            api["places"][0]["links"]["map"]
        assert not errors, errors
    finally:
        page.close()
