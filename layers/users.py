"""Users, roles and API tokens, kept in the store.

Passwords are hashed with werkzeug's scrypt implementation (never our own
crypto); API tokens are random and only their sha256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import pandas as pd
from werkzeug.security import check_password_hash, generate_password_hash

from layers.schema import LOCAL_TZ, ROLES
from layers.store.base import Query, Store

ROLE_ORDER = list(ROLES)


@dataclass(frozen=True)
class User:
    """A signed-in person (or an API client acting for one)."""

    name: str
    role: str
    sdo_code: str | None = None
    display_name: str | None = None

    def can(self, role: str) -> bool:
        """Tell whether this user has ``role`` or a role above it."""
        return ROLE_ORDER.index(self.role) >= ROLE_ORDER.index(role)


class UserError(ValueError):
    """A user cannot be created or changed (message in Swedish)."""


def resolve_sdo(store: Store, text: str) -> str:
    """The code of one of the store's current stadsdelsområden, from its code or name.

    Case and Swedish letters do not matter ("Järva", "JARVA", "jarva" → ``jarva``);
    an unknown area raises :class:`UserError` listing the valid names.
    """
    import geodata

    frame = store.read("stadsdelsomraden")
    if "valid_to" in frame.columns:
        frame = frame[frame["valid_to"].isna()]
    key = geodata.slugify(text or "")
    for code, area in zip(frame["code"], frame["name"], strict=True):
        if key and key in (str(code), geodata.slugify(str(area))):
            return str(code)
    names = ", ".join(sorted(str(n) for n in frame["name"]))
    if not names:
        raise UserError(f"Okänt stadsdelsområde '{text}': lagret har inga stadsdelsområden "
                        "ännu.")
    raise UserError(f"Okänt stadsdelsområde '{text}'. Välj ett av: {names}.")


def add_user(store: Store, name: str, role: str, password: str, *,
             sdo_code: str | None = None, display_name: str | None = None) -> User:
    """Create a user; refuse an unknown role, a taken name or a short password."""
    if role not in ROLES:
        raise UserError(f"Okänd roll '{role}'. Roller: {', '.join(ROLES)}.")
    if not name or not name.strip() or len(name) > 80:
        raise UserError("Användarnamnet måste vara 1–80 tecken.")
    if len(password) < 8:
        raise UserError("Lösenordet måste vara minst 8 tecken.")
    if get_user(store, name) is not None:
        raise UserError(f"Användaren '{name}' finns redan.")
    store.write({"users": pd.DataFrame([{
        "id": name.strip(), "role": role, "password_hash": generate_password_hash(password),
        "sdo_code": sdo_code, "display_name": display_name, "active": True,
        "created_at": pd.Timestamp.now(tz=LOCAL_TZ),
    }])})
    return User(name.strip(), role, sdo_code, display_name)


def _inactive(row: pd.Series) -> bool:
    value = row["active"]
    return value is not pd.NA and not bool(value)


def _row_to_user(row: pd.Series) -> User:
    return User(row["id"], row["role"], row["sdo_code"], row["display_name"])


def get_user(store: Store, name: str) -> User | None:
    """Return the active user called ``name``, or None."""
    rows = store.read("users", Query(where={"id": name}))
    if rows.empty or _inactive(rows.iloc[0]):
        return None
    return _row_to_user(rows.iloc[0])


def authenticate(store: Store, name: str, password: str) -> User | None:
    """Return the user when the password is right, else None."""
    rows = store.read("users", Query(where={"id": name}))
    if rows.empty:
        # spend the same time as a real check, so names cannot be probed by timing
        check_password_hash(generate_password_hash("x"), password)
        return None
    row = rows.iloc[0]
    if _inactive(row) or not check_password_hash(row["password_hash"], password):
        return None
    return _row_to_user(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(store: Store, name: str) -> str:
    """Create an API token for a user and return it (it is not stored in clear)."""
    if get_user(store, name) is None:
        raise UserError(f"Användaren '{name}' finns inte.")
    token = "tk_" + secrets.token_urlsafe(32)
    store.write({"api_tokens": pd.DataFrame([{
        "id": _token_hash(token), "user_id": name,
        "created_at": pd.Timestamp.now(tz=LOCAL_TZ), "revoked": False,
    }])})
    return token


def user_for_token(store: Store, token: str) -> User | None:
    """Return the user a valid, unrevoked token belongs to."""
    rows = store.read("api_tokens", Query(where={"id": _token_hash(token)}))
    if rows.empty or bool(rows["revoked"].iloc[0]):
        return None
    return get_user(store, rows["user_id"].iloc[0])
