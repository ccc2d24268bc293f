"""Best-effort bookkeeping writes (a session's last-seen time, a token's last use).

Reading a page must never wait for the store's write lock: while a big import holds
it, a synchronous "last seen" update would keep a plain page view waiting up to the
busy time-out and then answer 503. These small updates are therefore handed to one
background thread; one that cannot get the lock is dropped (the next request a minute
later writes it again), and nothing here ever raises into a request.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping

from layers.store.base import Store

LOGGER = logging.getLogger(__name__)

#: Pending touches at most; more are dropped (they are bookkeeping, not data).
QUEUE_SIZE = 1000

_queue: queue.Queue[tuple[Store, str, str, dict] | None] = queue.Queue(QUEUE_SIZE)
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()


def touch(store: Store, table: str, key: str, values: Mapping[str, object]) -> None:
    """Update ``values`` of row ``key`` in ``table`` soon, without waiting for it."""
    _ensure_worker()
    try:
        _queue.put_nowait((store, table, key, dict(values)))
    except queue.Full:
        LOGGER.debug("touch of %s %s dropped: queue full", table, key)


def flush(timeout: float = 10.0) -> None:
    """Wait until every touch handed over so far is written or dropped (tests, CLI)."""
    done = threading.Event()
    _ensure_worker()
    _queue.put((None, "", "", {"_done": done}))  # type: ignore[arg-type]
    done.wait(timeout)


def _ensure_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="store-touches", daemon=True)
            _worker.start()


def _run() -> None:
    while True:
        store, table, key, values = _queue.get()
        if store is None:
            values["_done"].set()
            continue
        try:
            store.update(table, key, values)
        except Exception:  # busy, closed or gone: bookkeeping may be skipped
            LOGGER.debug("touch of %s %s skipped", table, key, exc_info=True)
        finally:
            # this thread's connection to that store: not kept for a store that the
            # app (or a test) may close and drop meanwhile
            try:
                store.close()
            except Exception:
                LOGGER.debug("closing after a touch failed", exc_info=True)
