"""Log-in throttling: too many failed log-ins lock a user name or an address for a while.

Failures are rows in the store's ``login_attempts`` table rather than in memory, so
the count holds across the server's threads and processes. A user name (or a client
address, with a higher limit) with ``max_failures`` failures within ``window`` is
locked for ``lockout`` after the last of them: log-ins are refused then, even with
the right password. Refused attempts are not counted, so a lock ends on time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pandas as pd

from layers.store import sessions
from layers.store.base import Query, Store
from layers.store.sessions import token_hash


@dataclass(frozen=True)
class Policy:
    """Limits of the throttle (from the app's config)."""

    max_failures: int = 20
    max_failures_per_address: int = 100
    window: dt.timedelta = dt.timedelta(seconds=60)
    lockout: dt.timedelta = dt.timedelta(minutes=5)


def _name_key(name: str) -> str:
    # case and blanks do not make a new name to guess under; hashed (see the schema)
    return token_hash(name.strip().casefold())


def _locked_until(times: pd.Series, limit: int, policy: Policy) -> pd.Timestamp | None:
    """The end of the latest lock the failure ``times`` caused, or None.

    A lock starts at a failure that is the ``limit``-th within ``window``.
    """
    if limit <= 0:  # 0 switches this limit off
        return None
    ts = sorted(times)
    ends = [ts[i] + policy.lockout for i in range(limit - 1, len(ts))
            if ts[i] - ts[i - limit + 1] <= policy.window]
    return ends[-1] if ends else None


def locked_for(store: Store, name: str, address: str | None, policy: Policy) -> dt.timedelta:
    """How long log-ins for ``name`` or from ``address`` are still refused (0: not)."""
    at = sessions.now()
    since = (at - policy.window - policy.lockout).to_pydatetime()
    until = []
    checks = [({"username_hash": _name_key(name)}, policy.max_failures)]
    if address:
        checks.append(({"address": address}, policy.max_failures_per_address))
    for where, limit in checks:
        rows = store.read("login_attempts", Query(where=where, start=since))
        end = _locked_until(rows["attempted_at"], limit, policy)
        if end is not None and end > at:
            until.append(end)
    return (max(until) - at).to_pytimedelta() if until else dt.timedelta(0)


def record_failure(store: Store, name: str, address: str | None, policy: Policy) -> None:
    """Store one failed log-in, and delete the failures too old to matter any more."""
    at = sessions.now()
    store.write({"login_attempts": pd.DataFrame([{
        "id": uuid.uuid4().hex, "username_hash": _name_key(name),
        "address": (address or None) and address[:64], "attempted_at": at,
    }])})
    old = store.read("login_attempts", Query(
        end=(at - policy.window - policy.lockout).to_pydatetime(), limit=1000))
    if len(old):
        store.delete("login_attempts", old["id"].tolist())
