"""At most a few writes at a time in the served app, so readers keep the CPU.

Each server process (``serve --workers N`` starts several, :mod:`mapapp.serving`)
runs its waitress threads on one interpreter lock. A finding upload is mostly pandas
and GeoPackage work that holds that lock; ten uploads at once make every reader's
request wait its turn among ten busy threads, and a cached page that takes a
millisecond alone takes half a second. The gate lets :data:`WRITE_SLOTS` requests
that change data (POST, PUT, PATCH, DELETE) run at once in each process; the others
wait for a slot without using the CPU. A request that waited :data:`WAIT_SECONDS` is
answered 503 with ``Retry-After`` (a phone or the walk app sends it again; nothing
was written). Reads never wait here. The slots are per process on purpose (they
keep that process's readers going); the writes of all processes are put in order by
the store's own lock, and a write that cannot get it within ``STORE_BUSY_TIMEOUT``
is answered 503 with ``Retry-After`` as well (tests/test_serving.py).

``trygghetskartan serve`` wraps the app in it (:func:`wrap`); the test client does
not go through it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable

#: Writes that may run at once (two: one can wait on disk while the other computes).
WRITE_SLOTS = 2
#: Seconds a write waits for a slot before the answer is 503 + Retry-After.
WAIT_SECONDS = 30.0
#: Retry-After of that answer (seconds).
RETRY_AFTER = 5
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MESSAGE = ("Servern tar emot många ändringar just nu. Inget sparades – "
           f"försök igen om {RETRY_AFTER} sekunder.")


class WriteGate:
    """WSGI middleware: at most ``slots`` writing requests at once."""

    def __init__(self, app: Callable, slots: int = WRITE_SLOTS,
                 wait: float = WAIT_SECONDS) -> None:
        self.app = app
        self.wait = wait
        self._slots = threading.BoundedSemaphore(slots)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET").upper() not in WRITE_METHODS:
            return self.app(environ, start_response)
        if not self._slots.acquire(timeout=self.wait):
            return busy(environ, start_response)
        try:
            # the body is produced before the slot is given back (our views return
            # whole bodies, so this is a list copy, not a stream)
            answer = self.app(environ, start_response)
            try:
                return list(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        finally:
            self._slots.release()


def busy(environ: dict, start_response: Callable) -> list[bytes]:
    """503 with Retry-After: JSON for the API, a short Swedish page elsewhere."""
    if environ.get("PATH_INFO", "").startswith("/api/"):
        body = json.dumps({"error": MESSAGE}, ensure_ascii=False).encode()
        content_type = "application/json"
    else:
        body = (f'<!doctype html><html lang="sv"><meta charset="utf-8">'
                f"<title>Försök igen</title><p>{MESSAGE}</p></html>").encode()
        content_type = "text/html; charset=utf-8"
    start_response("503 Service Unavailable", [
        ("Content-Type", content_type), ("Content-Length", str(len(body))),
        ("Retry-After", str(RETRY_AFTER))])
    return [body]


def wrap(app, slots: int = WRITE_SLOTS, wait: float = WAIT_SECONDS) -> None:
    """Put the gate in front of a Flask app's WSGI callable."""
    app.wsgi_app = WriteGate(app.wsgi_app, slots, wait)
