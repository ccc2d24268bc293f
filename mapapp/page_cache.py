"""Whole answers of the heavy read-only pages and APIs, computed once per data change.

``@cached_page(layers)`` on a GET view keeps its 200 answer (body, type) under a key
of everything it may depend on:

* the route and the whole URL (host, path, query string: every filter and the map
  position), the clock's minute (default periods move with the date, and figures
  such as late actions with the time);
* **who asks**: the role and the user's name (``None`` for an anonymous visitor),
  so a handläggare's rendering, with its unsuppressed and sensitive figures, is
  never served to a läsare or to the public, and the page header shows the right
  name;
* the versions of the tables the view reads (:meth:`layers.store.base.Store.layer_version`),
  so a committed import or edit shows at once, while writes to tables the view does
  not read (a findings upload for the incident map, an API token's "last used" mark
  for everything) leave the answer valid.

Requests that arrive while a key is being computed wait for that one computation
(a lock per key) instead of starting their own.

**Findings churn.** During a trygghetsvandring findings arrive every few seconds, and
the priority ranking and the district figures count open findings. With
``PAGE_CACHE_GRACE`` seconds (``serve`` sets :data:`SERVE_GRACE`; 0, strict, by
default and in tests) a view marked ``grace=True`` whose *only* changed tables are
findings ones (:data:`CHURN_LAYERS`) keeps answering with its last rendering for up
to that long after it was made. After that, the next request starts one rendering
in a background thread (in a request context of its own: the same URL, cookies and
user) and, like every request until it is done, gets the last rendering. So a new
finding shows on ``/priority`` within the grace plus one rendering, the ranking is
computed at most once per grace period instead of once per upload, and no reader
waits for a ranking because findings came in. In the same way, under ``serve``
(``PAGE_CACHE_GRACE`` > 0) the first request of a new minute gets the page of the
minute before (same URL, user and table versions; never across midnight) while the
new minute's one is rendered in the background: the clock in the key makes every
page new once a minute, and without this the readers of a page would all wait for
its rendering every minute. A change of
any other table it reads (an incident import, a site, the areas) is never served
stale.

**Several server processes** (``serve --workers N``, :mod:`mapapp.serving`): each
process keeps its own answers. The keys hold the table versions read from the store,
so a change committed by any process (or an import) shows in every process at
once; under the grace each process renders a churned page at most once per grace
period (N renderings in all), and for those up to ``PAGE_CACHE_GRACE`` seconds two
requests answered by different processes may show the ranking with and without the
newest findings. The per-request parts of a page are
not kept: the CSP nonce and the CSRF token are rendered as placeholders and filled in
for each answer, so every answer still has its own nonce. A request with flashed
messages waiting is not served from or stored in the cache (the messages belong to
that one answer). Answers other than 200 are never kept.

An answer without per-request parts (the JSON APIs) carries an ``ETag`` computed
once; a client that sends it back in ``If-None-Match`` gets 304.

``serve`` warms the default pages after each data change (:func:`warm`), from a
background thread, so the first visitor after an import does not wait either.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request, session
from flask_wtf.csrf import generate_csrf

from layers.core import clock
from layers.store.cache import TimedCache
from mapapp.security import csp_nonce
from mapapp.store_ import get_store

LOGGER = logging.getLogger(__name__)

#: Stand-ins for the per-request parts of a kept page.
NONCE_PLACEHOLDER = "tk-nonce-0f8c2d6e4b1a"
CSRF_PLACEHOLDER = "tk-csrf-5e7a9b3c1d2f"
#: How many answers are kept (LRU) and for how long at most (seconds). The key holds
#: the data versions, so a change shows at once; the expiry only bounds memory.
CACHE_SIZE = 256
CACHE_SECONDS = 600.0
#: The tables the map shells read (area catalogue, the incidents' time span).
MAP_LAYERS = ("incidents", "stadsdelar", "stadsdelsomraden")
#: Tables whose changes a ``grace=True`` view may answer late (see the docstring).
CHURN_LAYERS = frozenset({"findings", "finding_history"})
#: ``PAGE_CACHE_GRACE`` under ``trygghetskartan serve`` (seconds).
SERVE_GRACE = 5.0


@dataclass(frozen=True)
class _Kept:
    """One kept answer: status 200, the body with placeholders, its type and ETag."""

    body: bytes
    mimetype: str | None
    content_type: str
    has_nonce: bool
    has_csrf: bool
    etag: str | None


class _Uncacheable(Exception):
    """The view's answer must not be kept (not 200, or it set a cookie)."""

    def __init__(self, response: Response) -> None:
        super().__init__("uncacheable")
        self.response = response


class _Answers:
    """Kept answers of one store: LRU with expiry, a lock per key, and the grace rule."""

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        #: key -> (made at, versions of the churn tables, answer)
        self._items = TimedCache(size, seconds)
        self._lock = threading.Lock()
        self._computing: dict[tuple, threading.Lock] = {}

    def _get(self, key: tuple) -> tuple[float, tuple, _Kept] | None:
        return self._items.get(key)

    def _put(self, key: tuple, churn: tuple, kept: _Kept) -> None:
        self._items.put(key, (time.monotonic(), churn, kept))

    def get(self, key: tuple, churn: tuple, grace: float, compute: Callable[[], _Kept],
            background: Callable[[Callable[..., None]], None] | None = None,
            previous: tuple | None = None) -> _Kept:
        """The answer of ``key`` for the churn tables' versions ``churn`` (see the module
        docstring); ``compute()`` at most once at a time per key. With ``background``,
        a rendering that the grace has made due is handed to ``background(run)``
        (which runs ``run`` in another thread) and the last answer is returned at once;
        so is the answer of ``previous`` (the same page a minute earlier) while ``key``
        has none yet."""
        entry = self._get(key)
        if entry is not None and entry[1] == churn:
            return entry[2]
        with self._lock:
            if len(self._computing) > 4 * self.size:
                self._computing = {k: v for k, v in self._computing.items() if v.locked()}
            computing = self._computing.setdefault(key, threading.Lock())
        if entry is None and background is not None and previous is not None:
            last = self._get(previous)
            if last is not None and (last[1] == churn or grace > 0):
                # the clock's minute moved on, nothing else: the last minute's answer
                # until this minute's is rendered (once) in the background
                if computing.acquire(blocking=False):
                    background(functools.partial(self._refresh, key, churn, compute,
                                                 computing))
                return last[2]
        if entry is not None and grace > 0:
            # only the churn tables changed: the last answer, unless it is older than
            # the grace and nobody is rendering it again already
            if time.monotonic() - entry[0] < grace or not computing.acquire(blocking=False):
                return entry[2]
            if background is not None:
                # rendered again off the request: this request gets the last answer too
                background(functools.partial(self._refresh, key, churn, compute, computing))
                return entry[2]
        else:
            computing.acquire()
        try:
            entry = self._get(key)
            if entry is not None and entry[1] == churn:
                return entry[2]
            kept = compute()
            self._put(key, churn, kept)
            return kept
        finally:
            computing.release()

    def _refresh(self, key: tuple, churn: tuple, compute: Callable[[], _Kept],
                 computing: threading.Lock, skip: bool = False) -> None:
        """Render ``key`` again (``computing`` is held, and released here); ``skip``:
        only release it."""
        try:
            if skip:
                return
            entry = self._get(key)
            if entry is None or entry[1] != churn:
                self._put(key, churn, compute())
        except _Uncacheable:
            pass  # the next request after the grace tries again
        except Exception:
            LOGGER.warning("rendering %s again failed", key[:3], exc_info=True)
        finally:
            computing.release()

    def clear(self) -> None:
        self._items.clear()


_ANSWERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ANSWERS_LOCK = threading.Lock()


def _answers_of(store) -> _Answers:
    with _ANSWERS_LOCK:
        answers = _ANSWERS.get(store)
        if answers is None:
            answers = _ANSWERS[store] = _Answers(CACHE_SIZE, CACHE_SECONDS)
        return answers


def rendering() -> bool:
    """Whether a kept page is being rendered now (its CSRF token is a placeholder)."""
    return bool(g.get("page_cache_rendering"))


def csrf_token() -> str:
    """The Jinja ``csrf_token()``: a placeholder while a kept page renders."""
    return CSRF_PLACEHOLDER if rendering() else generate_csrf()


def _who() -> tuple[str | None, str | None]:
    from mapapp.access import current_user

    user = current_user()
    if user is None:
        return None, None
    return str(user.role), str(user.name)


def page_key(layers: Iterable[str] | None, *, grace: bool = False) -> tuple[tuple, tuple]:
    """The key of this request's answer and the versions of its churn tables (empty
    unless ``grace``; see the module docstring)."""
    store = get_store()
    role, name = _who()
    versions = store.layer_version(tuple(layers) if layers is not None else None)
    churn: tuple = ()
    if grace:
        churn = tuple(v for v in versions if v[0] in CHURN_LAYERS)
        versions = tuple(v for v in versions if v[0] not in CHURN_LAYERS)
    config = current_app.config
    return ("page", request.endpoint, request.url,
            clock.now().replace(second=0, microsecond=0).isoformat(), role, name,
            config.get("SUPPRESS_BELOW"), config.get("TILE_URL"), versions), churn


def _previous_minute(key: tuple) -> tuple | None:
    """``key`` a minute earlier, or None when that was another day (default periods
    move with the date: never answered from yesterday)."""
    minute = dt.datetime.fromisoformat(key[3])
    earlier = minute - dt.timedelta(minutes=1)
    if earlier.date() != minute.date():
        return None
    return (*key[:3], earlier.isoformat(), *key[4:])


def _keep(response: Response) -> _Kept:
    """Turn a view's 200 answer into a kept one (placeholders for per-request parts)."""
    if response.status_code != 200 or response.direct_passthrough \
            or "Set-Cookie" in response.headers:
        raise _Uncacheable(response)
    body = response.get_data()
    nonce = g.get("csp_nonce")
    has_nonce = bool(nonce) and nonce.encode() in body
    if has_nonce:
        body = body.replace(nonce.encode(), NONCE_PLACEHOLDER.encode())
    has_csrf = CSRF_PLACEHOLDER.encode() in body
    etag = None if has_nonce or has_csrf else hashlib.sha1(body).hexdigest()
    return _Kept(body, response.mimetype, response.content_type, has_nonce, has_csrf, etag)


def _answer(kept: _Kept) -> Response:
    body = kept.body
    if kept.has_nonce:
        body = body.replace(NONCE_PLACEHOLDER.encode(), csp_nonce().encode())
    if kept.has_csrf:
        body = body.replace(CSRF_PLACEHOLDER.encode(), generate_csrf().encode())
    response = Response(body, status=200, content_type=kept.content_type)
    if kept.etag:
        response.set_etag(kept.etag)
        response.make_conditional(request)
    return response


def cached_page(layers: Iterable[str] | None = None, *, grace: bool = False) -> Callable:
    """Keep the view's answers per URL, role, user and versions of ``layers``
    (None: every data table); ``grace``: findings changes may show late (see the
    module docstring)."""
    layers = tuple(layers) if layers is not None else None

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_app.config.get("PAGE_CACHE", True) or request.method != "GET" \
                    or session.get("_flashes"):
                return view(*args, **kwargs)
            key, churn = page_key(layers, grace=grace)
            grace_seconds = float(current_app.config.get("PAGE_CACHE_GRACE") or 0)

            def compute() -> _Kept:
                g.page_cache_rendering = True
                try:
                    return _keep(current_app.make_response(view(*args, **kwargs)))
                finally:
                    g.page_cache_rendering = False

            try:
                kept = _answers_of(get_store()).get(
                    key, churn, grace_seconds, compute,
                    functools.partial(_in_background, who=key[4:6]) if grace_seconds else None,
                    _previous_minute(key))
            except _Uncacheable as exc:
                return _restore_csrf(exc.response)
            return _answer(kept)

        return wrapper

    return decorate


def _in_background(run: Callable[..., None], *, who: tuple) -> None:
    """Run ``run`` in a daemon thread, in a request context of its own made from a
    copy of this request's environ (the same URL, cookies and token; no body), after
    the app's before-request steps (which load the user). When they answer instead
    (a token revoked meanwhile) or find another user than ``who`` (role, name: a
    session ended), ``run(skip=True)``: nothing is rendered under the key."""
    app = current_app._get_current_object()
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["CONTENT_LENGTH"] = "0"

    def target() -> None:
        with app.request_context(environ):
            try:
                same = app.preprocess_request() is None and _who() == tuple(who)
            except Exception:
                LOGGER.warning("rendering %s again failed", request.path, exc_info=True)
                same = False
            run(skip=not same)

    threading.Thread(target=target, name="page-cache-render", daemon=True).start()


def _restore_csrf(response: Response) -> Response:
    """An answer that is not kept gets a real CSRF token in place of the placeholder."""
    if not response.direct_passthrough and response.mimetype == "text/html":
        body = response.get_data()
        if CSRF_PLACEHOLDER.encode() in body:
            response.set_data(body.replace(CSRF_PLACEHOLDER.encode(), generate_csrf().encode()))
    return response


def clear() -> None:
    """Forget every kept answer (tests)."""
    with _ANSWERS_LOCK:
        for answers in _ANSWERS.values():
            answers.clear()


#: The pages ``serve`` renders after each data change, as an anonymous visitor.
WARM_PATHS = ("/", "/priority", "/api/priority")


def warm(app: Flask, paths: Iterable[str] = WARM_PATHS) -> None:
    """Render ``paths`` through the app (anonymous), filling the cache."""
    client = app.test_client()
    for path in paths:
        try:
            client.get(path)
        except Exception:  # a page that fails now is rendered by its first visitor
            LOGGER.warning("warming %s failed", path, exc_info=True)


def init_app(app: Flask) -> None:
    """Make the templates' ``csrf_token()`` placeholder-aware (after CSRFProtect)."""
    app.config.setdefault("PAGE_CACHE", True)
    app.jinja_env.globals["csrf_token"] = csrf_token
