"""Correct your own (issue 12, point 2): the reporter edits or deletes until assignment.

The person who recorded a finding may edit or delete it while it is ``ny``; every
edit is a ``finding_history`` row (``action`` edit, ``changes`` {field: [before,
after]}), a delete keeps the finding's history with a last row (``action`` delete)
holding what it said. Once a handläggare has assigned it the reporter gets 403 on
the edit form, the edit and the delete; other inventerare always do; a handläggare
may correct any finding in their area. The browser version (phone viewport) is in
``tests/browser/test_findings_correct_browser.py``.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from test_findings_web import csrf_token, post_form, user_client

from layers.domain import findings as core
from layers.store.base import Query
from mapapp.store_ import get_store


def _only_finding(app) -> pd.Series:
    with app.app_context():
        frame = get_store().read("findings")
    assert len(frame) == 1
    return frame.iloc[0]


def _history(app, finding_id: str) -> pd.DataFrame:
    with app.app_context():
        rows = get_store().read("finding_history", Query(where={"finding_id": finding_id}))
    return rows.sort_values("changed_at", kind="stable").reset_index(drop=True)


def _edit_form(client, finding_id: str, **fields) -> dict[str, str]:
    """The edit form as the page fills it, with ``fields`` changed."""
    page = client.get(f"/findings/{finding_id}/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    values = {name: re.search(rf'name="{name}" id="{name}" value="([^"]*)"', text).group(1)
              for name in ("lat", "lon")}
    values["found_at"] = re.search(r'id="found_at" name="found_at" value="([^"]*)"',
                                   text).group(1)
    values["category"] = re.search(r'<option value="(\w+)" selected>', text).group(1)
    values["severity"] = re.search(r'value="(\d)"\s+autocomplete="off" checked', text).group(1)
    values["description"] = re.search(r'<textarea[^>]*name="description"[^>]*>([^<]*)</textarea>',
                                      text).group(1)
    values["owner"] = ""
    values["csrf_token"] = csrf_token(client, f"/findings/{finding_id}/edit")
    return {**values, **fields}


@pytest.fixture
def recorded(app):
    """Ingrid (inventerare) recorded one finding in the form; Hanna is a handläggare."""
    ingrid = user_client(app, "ingrid", "inventerare")
    assert post_form(ingrid).status_code == 302
    hanna = user_client(app, "hanna", "handläggare")
    return ingrid, hanna, _only_finding(app)


def test_reporter_edits_before_assignment_and_the_history_has_it(app, recorded):
    ingrid, _, finding = recorded
    fid = finding["id"]
    page = ingrid.get(f"/findings/{fid}").get_data(as_text=True)
    assert "Ändra fyndet" in page and "Ta bort fyndet" in page
    form = _edit_form(ingrid, fid, category="klotter", description="Klotter på tunneln",
                      lat="59.41000", lon="17.93000")
    response = ingrid.post(f"/findings/{fid}/edit", data=form)
    assert response.status_code == 302
    edited = _only_finding(app)
    assert (edited["category"], edited["description"]) == ("klotter", "Klotter på tunneln")
    assert edited["status"] == "ny" and edited["id"] == fid
    assert edited.geometry.distance(finding.geometry) > 50  # it moved
    history = _history(app, fid)
    assert history["action"].tolist() == ["edit"]
    entry = history.iloc[0]
    assert entry["changed_by"] == "ingrid" and entry["to_status"] == "ny"
    changes = json.loads(entry["changes"])
    assert changes["category"] == ["belysning", "klotter"]
    assert changes["description"] == ["Trasig lampa", "Klotter på tunneln"]
    assert changes["plats"][1] == "59.410000, 17.930000"
    assert set(changes) == {"category", "description", "plats"}
    page = ingrid.get(f"/findings/{fid}").get_data(as_text=True)
    assert "ändrade kategori, beskrivning, plats" in page
    # the same form again changes nothing and writes no history
    assert ingrid.post(f"/findings/{fid}/edit",
                       data=_edit_form(ingrid, fid)).status_code == 302
    assert len(_history(app, fid)) == 1


def test_an_invalid_edit_is_refused_with_swedish_errors_and_changes_nothing(app, recorded):
    ingrid, _, finding = recorded
    fid = finding["id"]
    form = _edit_form(ingrid, fid, severity="7", lat="40.0", lon="10.0")
    response = ingrid.post(f"/findings/{fid}/edit", data=form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Ändringen sparades inte." in text and "utanför Sverige" in text
    assert _only_finding(app)["severity"] == finding["severity"]
    assert _history(app, fid).empty


def test_reporter_deletes_before_assignment_and_the_history_stays(app, recorded, data_dir):
    ingrid, _, finding = recorded
    fid = finding["id"]
    response = ingrid.post(f"/findings/{fid}/delete",
                           data={"csrf_token": csrf_token(ingrid, f"/findings/{fid}")})
    assert response.status_code == 302
    with app.app_context():
        assert get_store().count("findings") == 0
    history = _history(app, fid)
    assert history["action"].tolist() == ["delete"]
    kept = json.loads(history["changes"].iloc[0])
    assert kept["category"] == "belysning" and kept["created_by"] == "ingrid"
    assert kept["description"] == "Trasig lampa" and kept["plats"]
    assert ingrid.get(f"/findings/{fid}").status_code == 404


def test_after_assignment_the_reporter_is_refused_403(app, recorded):
    ingrid, hanna, finding = recorded
    fid = finding["id"]
    response = hanna.post(f"/findings/{fid}/status", data={
        "csrf_token": csrf_token(hanna, f"/findings/{fid}"), "status": "tilldelad",
        "owner": "trafikkontoret", "seen_status": "ny"})
    assert response.status_code == 302
    assert _only_finding(app)["status"] == "tilldelad"
    page = ingrid.get(f"/findings/{fid}").get_data(as_text=True)
    assert "Ändra fyndet" not in page and "redan hanterats" in page
    assert ingrid.get(f"/findings/{fid}/edit").status_code == 403
    token = csrf_token(ingrid, f"/findings/{fid}")
    response = ingrid.post(f"/findings/{fid}/edit",
                           data={"csrf_token": token, "category": "klotter",
                                 "severity": "1", "found_at": "2025-05-14T21:30",
                                 "lat": "59.41", "lon": "17.93"})
    assert response.status_code == 403
    assert "redan hanterats" in response.get_data(as_text=True)
    response = ingrid.post(f"/findings/{fid}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    after = _only_finding(app)
    assert (after["category"], after["status"]) == ("belysning", "tilldelad")
    assert _history(app, fid)["action"].tolist() == ["status"]
    # a handläggare may still correct it; the history shows both
    form = _edit_form(hanna, fid, severity="2")
    form["owner"] = "trafikkontoret"
    assert hanna.post(f"/findings/{fid}/edit", data=form).status_code == 302
    assert _history(app, fid)["action"].tolist() == ["status", "edit"]


def test_another_inventerare_may_not_correct_it(app, recorded):
    _, _, finding = recorded
    olle = user_client(app, "olle", "inventerare")
    fid = finding["id"]
    assert olle.get(f"/findings/{fid}/edit").status_code == 403
    response = olle.post(f"/findings/{fid}/delete",
                         data={"csrf_token": csrf_token(olle, f"/findings/{fid}")})
    assert response.status_code == 403
    assert "Bara den som registrerade" in response.get_data(as_text=True)
    with app.app_context():
        assert get_store().count("findings") == 1


def test_an_edit_of_a_finding_assigned_meanwhile_changes_nothing(app, recorded):
    """The reporter's page was opened before the assignment: the store refuses the edit."""
    _, _, finding = recorded
    with app.app_context():
        store = get_store()
        core.change_status(store, finding["id"], "tilldelad", user="hanna",
                           owner="polisen")
        edited = store.read("findings").assign(category="klotter")
        with pytest.raises(core.FindingChangeRefused):
            core.edit_finding(store, finding, edited, user="ingrid")
        with pytest.raises(core.FindingChangeRefused):
            core.delete_finding(store, finding, user="ingrid")
        assert store.read("findings")["category"].tolist() == ["belysning"]
        assert store.count("finding_history") == 1
