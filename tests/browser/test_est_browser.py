"""The EST cycle in a real browser (Chromium), on the demo data.

Acceptance 2 of issue 14: a handläggare creates a problem from a priority place
("Skapa problem" on /priority), scores it in the need × influence matrix, adds an
action with a follow-up date, and sees the action in the brief's Handlingsplan; the
weekly lägesbild for Järva's last full week opens as a page. The clock is frozen at
a day after the demo data (process-wide: the live server's thread sees it) and moved
on between the steps, as time passes for a real user.
"""

from __future__ import annotations

import pytest
from infra import browser_log_in, create_user

from layers.core import clock

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1400, "height": 950}, "locale": "sv-SE",
           "timezone_id": "Europe/Stockholm"}


def test_problem_from_priority_place_to_matrix_action_and_brief(live_server, browser,
                                                                 artifacts_dir):
    create_user(live_server.app, "est-h", "handläggare", sdo_code="jarva")
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        with clock.frozen("2025-12-02 09:00"):
            browser_log_in(page, live_server.url, "est-h")
            page.goto(f"{live_server.url}/priority?sdn=jarva&period=2025-T3",
                      wait_until="domcontentloaded")
            name = page.locator("#tk-place-1 .tk-place-name").inner_text().strip()
            page.locator(".tk-problem-form button[data-rank='1']").click()
            page.wait_for_load_state()
            assert "/est/problems/" in page.url
            assert page.locator("h1").inner_text().strip() == name
            problem_id = page.url.rsplit("/", 1)[1]

            # the matrix: score need 4, influence 5 and see the problem placed there
            page.goto(f"{live_server.url}/est/jarva/matris")
            form = page.locator(f".tk-score-form[data-problem='{problem_id}']")
            form.locator("select[name=need]").select_option("4")
            form.locator("select[name=influence]").select_option("5")
            form.locator("button[type=submit]").click()
            page.wait_for_load_state()
            cell = page.locator("td[data-need='4'][data-influence='5']")
            assert cell.locator(f"a[data-problem='{problem_id}']").count() == 1
            page.screenshot(path=str(artifacts_dir / "est-matrix.png"), full_page=True)

            # an action with a follow-up date
            cell.locator(f"a[data-problem='{problem_id}']").click()
            page.wait_for_load_state()
            page.fill("#what", "Ny belysning vid gångvägen")
            page.fill("#owner", "trafikkontoret")
            page.fill("#deadline", "2025-12-19")
            page.fill("#follow_up", "2025-12-12")
            page.locator("#action-form button[type=submit]").click()
            page.wait_for_load_state()
            assert page.locator("#actions-table").inner_text().count("2025-12-12") == 1

        with clock.frozen("2025-12-03 10:00"):
            # the brief of the running tertial shows the action with its status and dates
            page.goto(f"{live_server.url}/briefs/jarva/2025-T3.html")
            plan = page.locator("#t-action_plan")
            text = plan.inner_text()
            assert "Ny belysning vid gångvägen" in text and name in text
            assert "2025-12-12" in text and "planerad" in text
            plan.screenshot(path=str(artifacts_dir / "est-brief-handlingsplan.png"))

            # the weekly lägesbild of the last full week opens as a page
            page.goto(f"{live_server.url}/lagesbild/jarva")
            assert "Veckolägesbild Järva, vecka 48 2025" in page.locator("h1").inner_text()
        assert not errors, errors
    finally:
        context.close()
