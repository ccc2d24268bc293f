"""The audit log: who created, changed or deleted which finding, site, measure, walk,
user or API token, when, with the values before and after.

The store writes the log itself (:class:`layers.store.base.Store` calls
:func:`created`, :func:`changed` and :func:`deleted` inside the write transaction),
so every path that changes these tables is logged, web, API, CLI and imports alike,
and a change and its log entry are committed together or not at all. Who acts is a
context variable: the web app sets it per request to the signed-in user, the CLI to
the operating-system user.

Values are stored as JSON objects: a creation has only new values, a deletion only
old ones, a change the fields that changed. Password hashes are never copied into
the log (``"(ändrat)"`` instead), geometries are WKT rounded to the metre.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import shapely

from layers.core import clock

LOGGER = logging.getLogger(__name__)

#: Audited tables and the kind of object their rows are.
KINDS: dict[str, str] = {
    "findings": "finding",
    "sites": "site",
    "site_measures": "measure",
    "walks": "walk",
    "users": "user",
    "api_tokens": "token",
    "problems": "problem",
    "actions": "action",
}

#: Swedish names of the kinds (admin page, CLI).
KIND_LABELS: dict[str, str] = {
    "finding": "fynd",
    "site": "platssamverkan",
    "measure": "åtgärd",
    "walk": "trygghetsvandring",
    "user": "användare",
    "token": "API-nyckel",
    "problem": "problem (EST)",
    "action": "åtgärd i handlingsplan",
}

#: Swedish names of the actions.
ACTION_LABELS: dict[str, str] = {"create": "skapad", "update": "ändrad", "delete": "borttagen"}

#: Fields whose changes are bookkeeping, not edits (a token's last use).
IGNORED: dict[str, frozenset[str]] = {"api_tokens": frozenset({"last_used_at"})}

#: Fields whose value is a secret: the log says that they changed, never what to.
SECRET: dict[str, frozenset[str]] = {"users": frozenset({"password_hash"})}
SECRET_TEXT = "(ändrat)"

#: Characters of a token's sha256 that name it (as in `users tokens`).
TOKEN_ID_LENGTH = 12

_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_actor",
                                                                   default=None)
_paused: contextvars.ContextVar[bool] = contextvars.ContextVar("audit_paused", default=False)


def set_actor(name: str | None) -> contextvars.Token:
    """Say who makes the changes from now on in this context (thread, request)."""
    return _actor.set(name)


def actor() -> str | None:
    """Who makes the changes in this context, or None when nobody said."""
    return _actor.get()


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Make the changes inside the block in the name of ``name``."""
    token = _actor.set(name)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def paused() -> Iterator[None]:
    """Write no log entries inside the block (bulk loads of demo data, restores)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def audited(layer: str) -> bool:
    """Tell whether changes of ``layer`` are logged right now."""
    return layer in KINDS and not _paused.get()


def object_id(layer: str, row_id: object) -> str:
    """The id the log shows: a token's hash prefix, any other row's id."""
    text = str(row_id)
    return text[:TOKEN_ID_LENGTH] if layer == "api_tokens" else text


def _jsonable(value: object) -> object:
    """A value as JSON can hold it: text for times and dates, WKT for geometries."""
    if value is None:
        return None
    if isinstance(value, shapely.Geometry):
        return None if value.is_empty else shapely.to_wkt(value, rounding_precision=1,
                                                          trim=True)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _values(layer: str, row: pd.Series, fields: list[str] | None = None) -> dict[str, object]:
    secret = SECRET.get(layer, frozenset())
    names = fields if fields is not None else list(row.index)
    out = {}
    for name in names:
        if name == "id" and layer == "api_tokens":
            continue  # the hash is the token's secret half: its prefix names the row
        value = _jsonable(row[name])
        out[name] = SECRET_TEXT if name in secret and value is not None else value
    return out


def _dump(values: dict[str, object] | None) -> str | None:
    return None if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


def _entry(layer: str, action: str, row_id: object, old: dict | None,
           new: dict | None) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "at": clock.now(), "user_id": actor(),
            "kind": KINDS[layer], "object_id": object_id(layer, row_id), "action": action,
            "old_values": _dump(old), "new_values": _dump(new)}


def _frame(entries: list[dict[str, object]]) -> pd.DataFrame | None:
    return pd.DataFrame(entries) if entries else None


def created(layer: str, rows: pd.DataFrame) -> pd.DataFrame | None:
    """Log entries for rows just inserted (``rows`` as written), or None."""
    if not audited(layer) or rows.empty:
        return None
    return _frame([_entry(layer, "create", row["id"], None, _values(layer, row))
                   for _, row in rows.iterrows()])


def changed(layer: str, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame | None:
    """Log entries for rows changed in place (read before and after), or None.

    Only fields whose value differs are logged; a change of ignored fields only
    (a token's last use) gives no entry.
    """
    if not audited(layer) or before.empty:
        return None
    ignored = IGNORED.get(layer, frozenset())
    after = after.set_index(after["id"].astype(str), drop=False)
    entries = []
    for _, old in before.iterrows():
        key = str(old["id"])
        if key not in after.index:
            continue
        new = after.loc[key]
        fields = [c for c in before.columns if c not in ignored
                  and _jsonable(old[c]) != _jsonable(new[c])]
        if fields:
            entries.append(_entry(layer, "update", key, _values(layer, old, fields),
                                  _values(layer, new, fields)))
    return _frame(entries)


def deleted(layer: str, before: pd.DataFrame) -> pd.DataFrame | None:
    """Log entries for rows about to be deleted (their last values), or None."""
    if not audited(layer) or before.empty:
        return None
    return _frame([_entry(layer, "delete", row["id"], _values(layer, row), None)
                   for _, row in before.iterrows()])


def decode(text: object) -> dict[str, object]:
    """The values of a log entry's ``old_values`` / ``new_values`` (empty when none)."""
    if text is None or (not isinstance(text, str) and pd.isna(text)) or not text:
        return {}
    return json.loads(str(text))
