"""Fuzz walk mode's sync routes: the phone's queue of walks and findings (with photos).

``/walk/sync/walk`` takes a JSON object and ``/walk/sync/finding`` a multipart form
with an optional photo, both with the browser session and the ``X-CSRFToken``
header (mapapp/walkmode.py). The properties are the upload routes' (see
``test_fuzz_uploads.py``): the answer is 2xx, or 4xx with a Swedish message (JSON
``error``/``errors``, or a Swedish page), never 5xx; after a refusal the store and
the data folder are as they were. And, since the phone sends again whenever it is
unsure an answer arrived: **the same client id again stores nothing** and answers
200 with ``stored: false``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.fuzzkit import assert_unchanged, check_answer
from fuzz.strategies import huge_file, json_payloads, photos, values
from fuzz.test_fuzz_uploads import multipart, named_files

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

#: A client id as phones send it (canonical, upper case, without dashes) or garbage.
client_ids = st.one_of(
    st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
    st.uuids().map(lambda u: u.hex), values, st.just(""))
participants = st.one_of(
    st.dictionaries(st.sampled_from(["boende", "polis", "fastighetsägare", "förvaltning",
                                     "annan"]) | st.text(max_size=10),
                    values | st.integers(-5, 1000), max_size=6),
    values, st.lists(values, max_size=3), st.none())
walk_payloads = st.one_of(
    st.fixed_dictionaries({
        "client_id": client_ids,
        "date": st.one_of(values, st.just("2025-05-14"), st.dates().map(str)),
        "area": st.one_of(values, st.just("Järva")), "organisers": values,
        "start_time": st.one_of(values, st.just("19:30")), "participants": participants}),
    json_payloads)


def _sync_headers(fuzzer) -> dict[str, str]:
    return {"X-CSRFToken": fuzzer.csrf}


def _check_retry(fuzzer, send, what: str) -> None:
    """A stored item sent again: 200, ``stored: false``, nothing changes."""
    after = fuzzer.state()
    again = send()
    check_answer(again, api=None)
    assert again.status_code == 200, f"{what}: sent again, {again.status_code}"
    assert again.get_json()["stored"] is False, f"{what}: sent again, stored again"
    assert_unchanged(fuzzer, after, f"{what} (sent again)")


@example(payload={"client_id": "6b1d4c52-8a3e-4f7c-9a0e-2c4b5d6e7f80", "date": "2025-05-14",
                  "area": "Järva", "organisers": "SDN", "start_time": "19:30",
                  "participants": {"boende": 3}}, raw=False)
@example(payload={"client_id": "cd613e30-d8f1-6adf-91b7-584a2265b1f5", "date": "2025-05-14",
                  "area": "Järva", "organisers": "ufo", "start_time": "19:30",
                  "participants": {"boende": "inf"}}, raw=False)  # was a 500 (OverflowError)
@given(payload=walk_payloads, raw=st.booleans())
def test_walk_sync_walk(fuzzer, payload, raw):
    fuzzer.count("/walk/sync/walk")
    body = json.dumps(payload)
    if raw:
        body = body[: max(0, len(body) // 2)]  # cut short: not JSON

    def send():
        return fuzzer.client.post("/walk/sync/walk", data=body,
                                  content_type="application/json",
                                  headers=_sync_headers(fuzzer))

    before = fuzzer.before()
    response = send()
    check_answer(response, api=None)
    if response.status_code >= 400:
        assert_unchanged(fuzzer, before, f"/walk/sync/walk {body[:200]!r}")
    elif response.status_code == 201:
        _check_retry(fuzzer, send, f"/walk/sync/walk {body[:200]!r}")
    else:
        fuzzer.state()


finding_fields = st.fixed_dictionaries({
    "client_id": client_ids,
    "found_at": st.one_of(values, st.just("2025-05-14T21:30")),
    "category": st.one_of(values, st.just("belysning"), st.just("klotter")),
    "severity": st.one_of(values, st.sampled_from(["1", "2", "3"])),
    "description": values, "owner": st.one_of(values, st.just("")),
    "lat": st.one_of(values, st.just("59.4091")), "lon": st.one_of(values, st.just("17.9281")),
})
#: The walk a finding names: none, garbage, one the phone never sent, or one it sent.
walk_refs = st.sampled_from(["none", "garbage", "unsent", "sent"])


@example(fields={"client_id": "0d6f3a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6",
                 "found_at": "2025-05-14T21:30", "category": "belysning", "severity": "2",
                 "description": "Trasig lampa", "owner": "", "lat": "59.4091",
                 "lon": "17.9281"},
         walk="sent", walk_id="3c2b1a09-8f7e-4d6c-9b5a-0f1e2d3c4b5a", garbage="",
         photo=None)
@example(fields={"client_id": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d", "found_at": "",
                 "category": "", "severity": "", "description": "", "owner": "", "lat": "",
                 "lon": ""},
         walk="none", walk_id="", garbage="", photo=(huge_file(), "stor.jpg", "image/jpeg"))
@given(fields=finding_fields, walk=walk_refs, walk_id=st.uuids().map(str), garbage=values,
       photo=st.one_of(st.none(), named_files(photos)))
def test_walk_sync_finding(fuzzer, fields, walk, walk_id, garbage, photo):
    fuzzer.count("/walk/sync/finding")
    form = dict(fields)
    if walk == "garbage":
        form["walk_client_id"] = garbage
    elif walk in ("unsent", "sent"):
        form["walk_client_id"] = walk_id
    if walk == "sent":
        stored = fuzzer.client.post(
            "/walk/sync/walk", data=json.dumps({"client_id": walk_id, "date": "2025-05-14",
                                                "area": "Järva", "organisers": "SDN"}),
            content_type="application/json", headers=_sync_headers(fuzzer))
        assert stored.status_code in (200, 201), stored.get_data(as_text=True)[:500]
    content_type = "image/jpeg"
    if photo is not None:
        data, name, content_type = photo
        form["photo"] = (data, name)

    def send():
        return fuzzer.client.post("/walk/sync/finding", headers=_sync_headers(fuzzer),
                                  **multipart(form, content_type))

    before = fuzzer.before()
    response = send()
    check_answer(response, api=None)
    what = f"/walk/sync/finding {fields!r} walk={walk}"
    if response.status_code >= 400:
        assert_unchanged(fuzzer, before, what)
    elif response.status_code == 201:
        _check_retry(fuzzer, send, what)
    else:
        fuzzer.state()
