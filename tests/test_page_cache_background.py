"""The findings grace renders a page again in a background thread, never in a request."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from infra import create_user, login

from mapapp import page_cache


def test_after_the_grace_the_last_answer_is_returned_while_a_thread_renders():
    answers = page_cache._Answers(8, 600)
    release, made, threads = threading.Event(), [], []

    def compute(value):
        def run():
            release.wait(30)
            made.append(value)
            return value
        return run

    def background(run):
        thread = threading.Thread(target=run)
        threads.append(thread)
        thread.start()

    key = ("page", "x")
    release.set()
    assert answers.get(key, (("findings", 1),), 0.1, compute("a"), background) == "a"
    release.clear()
    time.sleep(0.15)
    # the grace is over: one rendering starts elsewhere, the request gets "a" at once
    assert answers.get(key, (("findings", 2),), 0.1, compute("b"), background) == "a"
    assert len(threads) == 1 and threads[0].is_alive()
    # while it runs nobody starts another one, nor waits
    assert answers.get(key, (("findings", 3),), 0.1, compute("c"), background) == "a"
    assert len(threads) == 1
    release.set()
    threads[0].join(30)
    assert made == ["a", "b"]
    assert answers.get(key, (("findings", 2),), 0.1, compute("d"), background) == "b"
    # a change of a table that is not churn is never answered late
    assert answers.get(("page", "y"), (), 0.1, compute("e"), background) == "e"


def _finding_csv(tmp_path: Path, ident: str) -> Path:
    path = tmp_path / f"{ident}.csv"
    path.write_text("id,datum,kategori,allvarlighet,beskrivning,lat,lon\n"
                    f"{ident},2025-05-14 21:30,belysning,3,Trasig lampa,59.405,17.905\n",
                    encoding="utf-8")
    return path


def _wait_for_renderers(seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(t.name == "page-cache-render" and t.is_alive()
                   for t in threading.enumerate()):
            return
        time.sleep(0.05)
    raise AssertionError("the background rendering did not end")


def test_the_background_rendering_is_the_signed_in_users_own(demo_app, tmp_path, monkeypatch):
    from layers.io.importer import import_file
    from mapapp.store_ import get_store

    started = []
    original = page_cache._in_background

    def recorded(run, *, who):
        started.append(who)
        original(run, who=who)

    monkeypatch.setattr(page_cache, "_in_background", recorded)
    demo_app.config["PAGE_CACHE_GRACE"] = 0.2
    create_user(demo_app, "hanna", "handläggare")
    client = demo_app.test_client()
    login(client, "hanna")
    assert client.get("/priority").status_code == 200
    with demo_app.app_context():
        store = get_store()
        import_file(store, "findings", _finding_csv(tmp_path, "bg-1"))
        churn = tuple(v for v in store.layer_version(["findings"]))
        answers = page_cache._answers_of(store)
    time.sleep(0.25)
    assert client.get("/priority").status_code == 200  # the last rendering; one starts
    assert started == [("handläggare", "hanna")]
    _wait_for_renderers()
    kept = [(key, entry) for key, (_, entry) in answers._items._items.items()
            if key[2].endswith("/priority") and entry[1] == churn]
    assert len(kept) == 1, "the background rendering was not kept"
    key, (_, _, answer) = kept[0]
    assert key[4:6] == ("handläggare", "hanna")
    assert b"hanna" in answer.body and page_cache.NONCE_PLACEHOLDER.encode() in answer.body
    # served from it with this answer's own nonce
    response = client.get("/priority")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    text = response.get_data(as_text=True)
    assert f'nonce="{nonce}"' in text and page_cache.NONCE_PLACEHOLDER not in text
    assert "hanna" in text


def test_a_new_minute_gets_the_last_minutes_answer_while_a_thread_renders():
    answers = page_cache._Answers(8, 600)
    release, threads = threading.Event(), []

    def compute(value):
        def run():
            release.wait(30)
            return value
        return run

    def background(run):
        threads.append(threading.Thread(target=run))
        threads[-1].start()

    release.set()
    minute = ("page", "x", "/priority", "2025-05-14T21:30:00+02:00", None, None, ())
    assert answers.get(minute, (), 5, compute("a"), background) == "a"
    release.clear()
    later = page_cache._previous_minute(("page", "x", "/priority", "2025-05-14T21:31:00+02:00",
                                         None, None, ()))
    assert later == minute
    nxt = ("page", "x", "/priority", "2025-05-14T21:31:00+02:00", None, None, ())
    assert answers.get(nxt, (), 5, compute("b"), background, later) == "a"
    assert answers.get(nxt, (), 5, compute("c"), background, later) == "a"
    assert len(threads) == 1
    release.set()
    threads[0].join(30)
    assert answers.get(nxt, (), 5, compute("d"), background, later) == "b"
    # without a background runner (tests, strict) the request renders itself
    strict = page_cache._Answers(8, 600)
    strict.get(minute, (), 0, compute("a"))
    assert strict.get(nxt, (), 0, compute("e"), None, later) == "e"
    # another day is never answered from yesterday's page
    assert page_cache._previous_minute(
        ("page", "x", "/", "2025-05-15T00:00:00+02:00", None, None, ())) is None
