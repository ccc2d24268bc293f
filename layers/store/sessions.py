"""Server-side log-in sessions, kept in the store.

A browser's cookie used to carry the user name, signed: such a cookie stayed valid
after log-out, and nothing could end it early. Now a log-in creates a row in the
``sessions`` table and the browser gets a random token for it; only the token's
sha256 is stored. A request is signed in only while its row exists and has been
neither idle nor alive too long, so deleting rows ends sessions at once: log-out,
a password change, a disabled user, an administrator's "end all sessions".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pandas as pd

from layers.core.schema import LOCAL_TZ
from layers.store.base import Query, Store, StoreBusy
from layers.store.touches import touch

#: last_seen_at is written at most this often per session, so a busy page that asks
#: the API many times does not write to the store on every request.
TOUCH_SECONDS = 60

#: Last-seen times handed to the background writer, newest per session. The write is
#: asynchronous (and dropped while an import holds the lock), so this process keeps
#: what it handed over: a request right after another never sees the older value.
_SEEN_LIMIT = 10_000
_seen: OrderedDict[str, pd.Timestamp] = OrderedDict()
_seen_lock = threading.Lock()


def _remember_seen(key: str, at: pd.Timestamp) -> None:
    with _seen_lock:
        _seen[key] = at
        _seen.move_to_end(key)
        while len(_seen) > _SEEN_LIMIT:
            _seen.popitem(last=False)


def _last_seen(key: str, stored: pd.Timestamp) -> pd.Timestamp:
    with _seen_lock:
        handed = _seen.get(key)
    return stored if handed is None or handed < stored else handed


def now() -> pd.Timestamp:
    """The current time (one place, so tests can move the clock)."""
    return pd.Timestamp.now(tz=LOCAL_TZ)


def token_hash(token: str) -> str:
    """The sha256 stored for a session or API token (the token is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetime:
    """How long a session lives: idle time-out and absolute time-out."""

    idle: dt.timedelta
    absolute: dt.timedelta


def start_session(store: Store, user_id: str, *, ip: str | None = None,
                  user_agent: str | None = None) -> str:
    """Create a session for ``user_id`` and return its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    at = now()
    store.write({"sessions": pd.DataFrame([{
        "id": token_hash(token), "user_id": user_id, "created_at": at, "last_seen_at": at,
        "ip": (ip or None) and ip[:64], "user_agent": (user_agent or None) and user_agent[:300],
    }])})
    return token


def _expired(row: pd.Series, lifetime: Lifetime, at: pd.Timestamp) -> bool:
    return (at - row["last_seen_at"] > lifetime.idle
            or at - row["created_at"] > lifetime.absolute)


def session_user(store: Store, token: str, lifetime: Lifetime) -> str | None:
    """The user of a live session, or None; an expired session is deleted on the spot.

    Marks the session as seen when it was last marked more than
    :data:`TOUCH_SECONDS` ago (one write a minute, not one per request).
    """
    if not token:
        return None
    key = token_hash(token)
    rows = store.read("sessions", Query(where={"id": key}))
    if rows.empty:
        return None
    row = rows.iloc[0].copy()
    row["last_seen_at"] = _last_seen(key, row["last_seen_at"])
    at = now()
    if _expired(row, lifetime, at):
        try:
            store.delete("sessions", [key])
        except StoreBusy:  # an import holds the store: the row is refused all the same
            pass
        return None
    if (at - row["last_seen_at"]).total_seconds() >= TOUCH_SECONDS:
        # off the request thread: a page view never waits for the write lock
        _remember_seen(key, at)
        touch(store, "sessions", key, {"last_seen_at": at})
    return str(row["user_id"])


def end_session(store: Store, token: str) -> int:
    """End one session (log-out); return 1 when it existed."""
    return store.delete("sessions", [token_hash(token)]) if token else 0


def end_user_sessions(store: Store, user_id: str) -> int:
    """End every session of one user; return how many ended."""
    rows = store.read("sessions", Query(where={"user_id": user_id}))
    return store.delete("sessions", rows["id"].tolist()) if len(rows) else 0


def end_all_sessions(store: Store) -> int:
    """End every session of every user; return how many ended."""
    rows = store.read("sessions")
    return store.delete("sessions", rows["id"].tolist()) if len(rows) else 0


def active_sessions(store: Store, lifetime: Lifetime) -> pd.DataFrame:
    """The live sessions, most recently seen first; expired rows are pruned first.

    The frame has ``user_id``, ``created_at``, ``last_seen_at``, ``ip``,
    ``user_agent`` and ``expires_at`` (when it ends unless used again). The hashed
    ids are left out: pages have no use for them.
    """
    prune_sessions(store, lifetime)
    rows = store.read("sessions")
    at = now()
    rows = rows[[not _expired(r, lifetime, at) for _, r in rows.iterrows()]]
    expires = [min(r["last_seen_at"] + lifetime.idle, r["created_at"] + lifetime.absolute)
               for _, r in rows.iterrows()]
    rows = rows.assign(expires_at=pd.Series(expires, index=rows.index, dtype=object))
    return rows.drop(columns=["id"]).sort_values("last_seen_at", ascending=False)\
        .reset_index(drop=True)


def prune_sessions(store: Store, lifetime: Lifetime) -> int:
    """Delete sessions idle longer than the idle time-out; return how many went.

    Sessions past the absolute time-out but still in use are deleted when next used.
    """
    stale = store.read("sessions", Query(end=(now() - lifetime.idle).to_pydatetime()))
    return store.delete("sessions", stale["id"].tolist()) if len(stale) else 0
