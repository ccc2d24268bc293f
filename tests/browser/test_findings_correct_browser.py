"""Correct your own in a real browser on a phone (issue 12, acceptance 2).

An inventerare records two findings on a 390 px phone, edits the first (category,
description, a new place tapped on the map) and deletes the second; both are in the
history. Once a handläggare has assigned the first, the reporter sees no edit or
delete button, and the edit form and a delete are refused with 403.
"""

from __future__ import annotations

import json

import pytest
from infra import create_user
from test_findings_browser import PHONE, assert_land_drawn, assert_no_sideways_scroll, log_in

from layers.domain import findings as core
from layers.store.base import Query
from mapapp.store_ import get_store

pytestmark = pytest.mark.browser


def _record(page, url: str, description: str, x: float, y: float) -> None:
    """Record one finding in the phone form, tapping at (x, y) of the map's size."""
    page.goto(f"{url}/findings/new")
    assert_land_drawn(page)
    box = page.locator("#finding-map").bounding_box()
    page.tap("#finding-map", position={"x": box["width"] * x, "y": box["height"] * y})
    page.wait_for_function("() => document.getElementById('lat').value !== ''")
    page.select_option("#category", "belysning")
    page.click("label[for=severity-2]")
    page.fill("#description", description)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Spara fyndet')")
    assert "Fyndet sparades." in page.inner_text("main")


def _mine(app, description: str):
    with app.app_context():
        rows = get_store().read("findings", Query(where={"created_by": "ingrid"}))
    return rows[rows["description"] == description].iloc[0]


def _actions(app, finding_id: str) -> list[str]:
    with app.app_context():
        rows = get_store().read("finding_history", Query(where={"finding_id": finding_id}))
    return rows.sort_values("changed_at", kind="stable")["action"].tolist()


def test_reporter_edits_and_deletes_before_assignment_and_is_refused_after(
        live_server, browser, artifacts_dir):
    app, url = live_server.app, live_server.url
    create_user(app, "ingrid", "inventerare")
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # "Ta bort fyndet?"
    try:
        log_in(page, url, "ingrid")
        _record(page, url, "Lampan vid gångvägen är trasig", 0.5, 0.5)
        _record(page, url, "Skrevs av misstag", 0.4, 0.6)
        first = _mine(app, "Lampan vid gångvägen är trasig")
        second = _mine(app, "Skrevs av misstag")

        # edit: category, description and a new place tapped on the map
        page.goto(f"{url}/findings/{first['id']}")
        with page.expect_navigation():
            page.click("#edit-finding")
        assert_land_drawn(page)
        assert_no_sideways_scroll(page)
        before = page.input_value("#lat"), page.input_value("#lon")
        box = page.locator("#finding-map").bounding_box()
        page.tap("#finding-map", position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})
        page.wait_for_function(f"() => document.getElementById('lat').value !== '{before[0]}'")
        page.select_option("#category", "klotter")
        page.fill("#description", "Klotter på gångtunneln, inte lampan")
        page.screenshot(path=str(artifacts_dir / "finding_edit_phone.png"), full_page=True)
        with page.expect_navigation():
            page.click("button[type=submit]:has-text('Spara ändringen')")
        assert "Fyndet ändrades" in page.inner_text("main")
        assert "Klotter på gångtunneln" in page.inner_text("#finding-description")
        history = page.inner_text("#history")
        assert "ändrade kategori, beskrivning, plats" in history and "ingrid" in history
        edited = _mine(app, "Klotter på gångtunneln, inte lampan")
        assert edited["id"] == first["id"] and edited["category"] == "klotter"
        assert edited.geometry.distance(first.geometry) > 1
        assert _actions(app, first["id"]) == ["edit"]

        # delete the second one (the page asks first; the dialog is accepted)
        page.goto(f"{url}/findings/{second['id']}")
        with page.expect_navigation():
            page.click("#delete-finding")
        assert "Fyndet togs bort" in page.inner_text("main")
        with app.app_context():
            assert get_store().count("findings", Query(where={"id": second["id"]})) == 0
        assert _actions(app, second["id"]) == ["delete"]
        with app.app_context():
            kept = get_store().read("finding_history",
                                    Query(where={"finding_id": second["id"]}))
        assert json.loads(kept["changes"].iloc[0])["description"] == "Skrevs av misstag"

        # a handläggare assigns the first: the reporter may no longer change it
        with app.app_context():
            core.change_status(get_store(), first["id"], "tilldelad", user="hanna",
                               owner="trafikkontoret")
        page.goto(f"{url}/findings/{first['id']}")
        assert page.locator("#edit-finding").count() == 0
        assert page.locator("#delete-finding").count() == 0
        assert "redan hanterats" in page.inner_text("#correct-refused")
        assert_no_sideways_scroll(page)
        page.screenshot(path=str(artifacts_dir / "finding_assigned_phone.png"), full_page=True)
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        response = page.goto(f"{url}/findings/{first['id']}/edit")
        assert response.status == 403
        assert "redan hanterats" in page.inner_text("main")
        refused = context.request.post(f"{url}/findings/{first['id']}/delete",
                                       form={"csrf_token": token}, max_redirects=0)
        assert refused.status == 403
        refused = context.request.post(f"{url}/findings/{first['id']}/edit", form={
            "csrf_token": token, "category": "ovrigt", "severity": "1",
            "found_at": "2025-05-14T21:30", "lat": "59.41", "lon": "17.93"}, max_redirects=0)
        assert refused.status == 403
        still = _mine(app, "Klotter på gångtunneln, inte lampan")
        assert (still["category"], still["status"]) == ("klotter", "tilldelad")
        assert _actions(app, first["id"]) == ["edit", "status"]
        assert errors == []
    finally:
        context.close()
