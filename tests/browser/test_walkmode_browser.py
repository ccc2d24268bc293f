"""Walk mode offline in a real browser on a phone (issue 12, acceptance 1).

An inventerare starts a walk on a 390 px phone, loses the connection
(``context.set_offline(True)``), records 5 findings with photos, reloads the page
while still offline (the service worker serves it: no request reaches the server),
and gets the connection back: exactly 5 findings are stored, in that walk, each with
its photo, and the page says when each was sent. Sending the whole queue again (as
when the answers were lost) stores nothing more. A phone whose session ended while
it was offline keeps its queue, says so in Swedish, and sends after a new log-in.
"""

from __future__ import annotations

import io
import threading

import pytest
from infra import create_user
from PIL import Image
from test_findings_browser import PHONE, assert_land_drawn, assert_no_sideways_scroll, log_in

from layers.io.photos import is_photo_name
from layers.store.base import Query
from layers.store.sessions import end_user_sessions
from mapapp.store_ import get_store
from mapapp.uploads import data_folder

pytestmark = pytest.mark.browser

#: Where the five findings are tapped, as fractions of the map's size.
TAPS = [(0.3, 0.3), (0.5, 0.4), (0.7, 0.5), (0.4, 0.6), (0.6, 0.7)]


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 72), (shade, 90, 160)).save(out, "JPEG")
    return out.getvalue()


class Requests:
    """The paths that reached the server (wraps the app's WSGI callable)."""

    def __init__(self, app) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()
        inner = app.wsgi_app

        def counting(environ, start_response):
            with self.lock:
                self.paths.append(environ.get("PATH_INFO", ""))
            return inner(environ, start_response)

        app.wsgi_app = counting

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return self.paths[mark:]

    def mark(self) -> int:
        with self.lock:
            return len(self.paths)


def _stored(app, created_by: str):
    with app.app_context():
        return get_store().read("findings", Query(where={"created_by": created_by}))


def _open_walk_page(page, url: str) -> None:
    page.goto(f"{url}/walk")
    assert_land_drawn(page)
    # the service worker has kept the page and its files, and controls the page
    page.wait_for_selector("#offline-ready[data-ready=yes]", timeout=15_000)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


def _start_walk(page, area: str) -> None:
    page.fill("#walk-area", area)
    page.fill("#walk-organisers", "SDF Järva, polisen")
    page.fill("#walk-group-boende", "7")
    page.fill("#walk-group-polis", "2")
    page.fill("#walk-group-kvinnor", "5")
    page.click("#start-walk")
    page.wait_for_selector("#walk-active:not([hidden])")


def _record(page, n: int, x: float, y: float) -> None:
    box = page.locator("#finding-map").bounding_box()
    page.tap("#finding-map", position={"x": box["width"] * x, "y": box["height"] * y})
    page.wait_for_function("() => document.getElementById('place-text').textContent"
                           ".startsWith('Vald plats')")
    page.select_option("#category", "belysning" if n % 2 else "klotter")
    page.click("label[for=severity-3]")
    page.fill("#description", f"Fynd {n} på vandringen")
    page.set_input_files("#photo", files=[{"name": f"fynd{n}.jpg", "mimeType": "image/jpeg",
                                           "buffer": jpeg(40 * n)}])
    page.click("#save-finding")
    page.wait_for_function(f"() => document.getElementById('queue-count').dataset.waiting"
                           f" === '{n}'")
    message = page.inner_text("#saved-message")
    assert "Fyndet sparades på telefonen" in message, message
    assert "när telefonen har uppkoppling igen" in message


def test_offline_walk_five_findings_reload_then_sync_once(live_server, browser, artifacts_dir):
    app, url = live_server.app, live_server.url
    create_user(app, "ingrid", "inventerare")
    requests = Requests(app)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, url, "ingrid")
        _open_walk_page(page, url)
        assert_no_sideways_scroll(page)
        _start_walk(page, "Husby centrum")
        # online: the walk is sent at once
        for _ in range(50):
            with app.app_context():
                walks = get_store().read("walks", Query(where={"area": "Husby centrum"}))
            if len(walks):
                break
            page.wait_for_timeout(200)
        assert len(walks) == 1
        walk_id = walks.iloc[0]["id"]
        assert walk_id.startswith("app:")

        context.set_offline(True)
        offline_from = requests.mark()
        for n, (x, y) in enumerate(TAPS, start=1):
            _record(page, n, x, y)
            # "Spara och nytt fynd": the walk and the category list stay, the place is new
            assert page.is_visible("#walk-active")
            assert page.locator("#category option").count() > 5
            assert page.input_value("#description") == ""
        assert page.inner_text("#queue-count") == "5 fynd väntar på att skickas."
        page.screenshot(path=str(artifacts_dir / "walkmode_offline_phone.png"), full_page=True)

        page.reload()
        page.wait_for_selector("#walk-active:not([hidden])")
        assert_land_drawn(page)
        assert "Husby centrum" in page.inner_text("#walk-label")
        page.wait_for_function("() => document.getElementById('queue-count').dataset.waiting"
                               " === '5'")
        assert page.locator(".tk-queue-item.is-waiting").count() == 5
        assert "Ingen uppkoppling" in page.inner_text("#connection")
        assert requests.since(offline_from) == [], "requests reached the server while offline"
        assert len(_stored(app, "ingrid")) == 0

        online_from = requests.mark()
        context.set_offline(False)
        page.wait_for_function("() => document.getElementById('queue-count').dataset.waiting"
                               " === '0'", timeout=30_000)
        assert requests.since(online_from).count("/walk/sync/finding") == 5
        stored = _stored(app, "ingrid")
        assert len(stored) == 5
        assert set(stored["walk_id"]) == {walk_id}
        assert sorted(stored["description"]) == [f"Fynd {n} på vandringen" for n in range(1, 6)]
        photos = data_folder_of(app)
        for name in stored["photo"]:
            assert is_photo_name(name) and (photos / name).is_file()
        assert len(set(stored["photo"])) == 5
        items = page.locator(".tk-queue-item.is-sent")
        assert items.count() == 5
        assert all(" – skickad " in t for t in items.all_inner_texts())
        assert page.inner_text("#queue-count") == "Inga fynd väntar på att skickas."

        # a second sync, and the whole queue again as if every answer had been lost
        files = sorted(p.name for p in photos.glob("*.jpg"))
        page.click("#sync-now")
        page.evaluate("""() => new Promise((resolve, reject) => {
            const open = indexedDB.open("tk-walk", 1);
            open.onsuccess = () => {
                const t = open.result.transaction("findings", "readwrite");
                const s = t.objectStore("findings");
                s.getAll().onsuccess = (e) => e.target.result.forEach(
                    f => { f.sent_at = null; s.put(f); });
                t.oncomplete = resolve; t.onerror = reject;
            };
        })""")
        page.evaluate("() => window.tkWalkSync()")
        page.wait_for_function("() => document.getElementById('queue-count').dataset.waiting"
                               " === '0'", timeout=30_000)
        again = _stored(app, "ingrid")
        assert len(again) == 5 and set(again["id"]) == set(stored["id"])
        assert sorted(p.name for p in photos.glob("*.jpg")) == files
        # the phone knows each finding's id on the server
        server_ids = page.evaluate("""() => new Promise((resolve) => {
            indexedDB.open("tk-walk", 1).onsuccess = (e) => {
                e.target.result.transaction("findings").objectStore("findings").getAll()
                  .onsuccess = (r) => resolve(r.target.result.map(f => f.server_id));
            };
        })""")
        assert sorted(server_ids) == sorted(stored["id"])
        assert not errors, errors
    finally:
        context.close()


def data_folder_of(app):
    with app.test_request_context():
        return data_folder("photos")


def test_signed_out_while_offline_keeps_the_queue_and_asks_to_log_in(live_server, browser):
    app, url = live_server.app, live_server.url
    create_user(app, "olle", "inventerare")
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        log_in(page, url, "olle")
        _open_walk_page(page, url)
        _start_walk(page, "Tensta torg")
        context.set_offline(True)
        _record(page, 1, 0.5, 0.5)
        with app.app_context():
            end_user_sessions(get_store(), "olle")
        context.set_offline(False)
        page.wait_for_selector("#login-needed:not([hidden])", timeout=30_000)
        assert "Du är inte inloggad längre" in page.inner_text("#login-needed")
        assert page.inner_text("#queue-count") == "1 fynd väntar på att skickas."
        assert len(_stored(app, "olle")) == 0

        log_in(page, url, "olle")
        page.goto(f"{url}/walk")
        page.wait_for_function("() => document.getElementById('queue-count').dataset.waiting"
                               " === '0'", timeout=30_000)
        stored = _stored(app, "olle")
        assert len(stored) == 1 and is_photo_name(stored.iloc[0]["photo"])
        with app.app_context():
            walk = get_store().read("walks", Query(where={"id": stored.iloc[0]["walk_id"]}))
        assert walk.iloc[0]["area"] == "Tensta torg"
    finally:
        context.close()
