"""Users, roles and API tokens, kept in the store.

Passwords are hashed with werkzeug's scrypt implementation (never our own
crypto); API tokens are random, expire, can be revoked, and only their sha256 is
stored. Changing a password or disabling a user ends that user's sessions
(:mod:`layers.store.sessions`).
"""

from __future__ import annotations

import functools
import secrets
from enum import Enum

import pandas as pd
from werkzeug.security import check_password_hash, generate_password_hash

from layers.core.roles import User
from layers.core.schema import LOCAL_TZ, ROLES
from layers.store import sessions, touches
from layers.store.base import Query, Store
from layers.store.sessions import TOUCH_SECONDS, end_user_sessions, token_hash


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


@functools.cache
def _dummy_hash() -> str:
    """A hash made once per process with the same scrypt parameters as real ones.

    An unknown name is checked against it, so it costs exactly one scrypt
    computation, like a known name: names cannot be probed by timing.
    """
    return generate_password_hash(secrets.token_hex(16))


def authenticate(store: Store, name: str, password: str) -> User | None:
    """Return the user when the password is right, else None.

    Known, unknown and disabled names all cost one password check.
    """
    rows = store.read("users", Query(where={"id": name}))
    if rows.empty:
        check_password_hash(_dummy_hash(), password)
        return None
    row = rows.iloc[0]
    if not check_password_hash(row["password_hash"], password) or _inactive(row):
        return None
    return _row_to_user(row)


def _stored_user(store: Store, name: str) -> pd.Series:
    """The user's row, active or not; UserError when there is none."""
    rows = store.read("users", Query(where={"id": name}))
    if rows.empty:
        raise UserError(f"Användaren '{name}' finns inte.")
    return rows.iloc[0]


def set_password(store: Store, name: str, password: str) -> int:
    """Give a user a new password and end all their sessions; return how many ended.

    Whoever knew the old password (or held a copied cookie) is signed out.
    """
    _stored_user(store, name)
    if len(password) < 8:
        raise UserError("Lösenordet måste vara minst 8 tecken.")
    store.update("users", name, {"password_hash": generate_password_hash(password)})
    return end_user_sessions(store, name)


def _refuse_last_admin(store: Store, name: str) -> None:
    """Refuse a change that would leave no active admin (nobody could manage users)."""
    rows = store.read("users", Query(where={"role": "admin"}))
    others = [r for _, r in rows.iterrows() if r["id"] != name and not _inactive(r)]
    if not others and name in set(rows["id"]):
        raise UserError(f"{name} är den enda aktiva administratören: ge någon annan rollen "
                        "admin först.")


def set_active(store: Store, name: str, active: bool) -> int:
    """Enable or disable a user; disabling ends their sessions (return how many).

    A disabled user cannot log in and their API tokens stop working.
    """
    _stored_user(store, name)
    if not active:
        _refuse_last_admin(store, name)
    store.update("users", name, {"active": active})
    return 0 if active else end_user_sessions(store, name)


def set_role(store: Store, name: str, role: str) -> None:
    """Give a user another role (it counts from their next request)."""
    if role not in ROLES:
        raise UserError(f"Okänd roll '{role}'. Roller: {', '.join(ROLES)}.")
    row = _stored_user(store, name)
    if row["role"] == "admin" and role != "admin":
        _refuse_last_admin(store, name)
    store.update("users", name, {"role": role})


def list_users(store: Store) -> pd.DataFrame:
    """Every user, active or not, by name: ``id``, ``role``, ``sdo_code``,
    ``display_name``, ``active`` (missing counts as active), ``created_at``."""
    rows = store.read("users").drop(columns=["password_hash"])
    rows["active"] = rows["active"].fillna(True).astype(bool)
    return rows.sort_values("id").reset_index(drop=True)


# --- API tokens ---------------------------------------------------------------------

#: How long a new token lasts unless told otherwise (config TOKEN_DAYS, --days).
DEFAULT_TOKEN_DAYS = 365
#: Characters of the token's sha256 that name it in lists and in `users revoke`.
TOKEN_ID_LENGTH = 12


class TokenProblem(Enum):
    """Why a bearer token is refused (the value is the Swedish message)."""

    UNKNOWN = "API-nyckeln är ogiltig."
    REVOKED = "API-nyckeln är återkallad."
    EXPIRED = "API-nyckeln har gått ut. Be en administratör om en ny."
    USER = "API-nyckelns användare finns inte eller är avstängd."


def new_token(store: Store, name: str, *, days: int = DEFAULT_TOKEN_DAYS,
              label: str | None = None) -> str:
    """Create an API token for a user and return it (it is not stored in clear)."""
    if get_user(store, name) is None:
        raise UserError(f"Användaren '{name}' finns inte.")
    if days < 1:
        raise UserError("En API-nyckel måste gälla minst en dag.")
    token = "tk_" + secrets.token_urlsafe(32)
    at = sessions.now()
    store.write({"api_tokens": pd.DataFrame([{
        "id": token_hash(token), "user_id": name, "created_at": at, "revoked": False,
        "name": label or None, "expires_at": at + pd.Timedelta(days=days),
    }])})
    return token


def _expires(row: pd.Series) -> pd.Timestamp:
    # tokens made before tokens expired have no expires_at: they get the default term
    if pd.isna(row["expires_at"]):
        return row["created_at"] + pd.Timedelta(days=DEFAULT_TOKEN_DAYS)
    return row["expires_at"]


def check_token(store: Store, token: str) -> tuple[User | None, TokenProblem | None]:
    """The user a bearer token acts for, or None and why it is refused.

    Marks the token as used when it was last marked more than a minute ago.
    """
    rows = store.read("api_tokens", Query(where={"id": token_hash(token)}))
    if rows.empty:
        return None, TokenProblem.UNKNOWN
    row = rows.iloc[0]
    at = sessions.now()
    if not pd.isna(row["revoked"]) and bool(row["revoked"]):
        return None, TokenProblem.REVOKED
    if at >= _expires(row):
        return None, TokenProblem.EXPIRED
    user = get_user(store, row["user_id"])
    if user is None:
        return None, TokenProblem.USER
    last = row["last_used_at"]
    if pd.isna(last) or (at - last).total_seconds() >= TOUCH_SECONDS:
        touches.touch(store, "api_tokens", row["id"], {"last_used_at": at})
    return user, None


def user_for_token(store: Store, token: str) -> User | None:
    """Return the user a valid, unrevoked, unexpired token belongs to."""
    return check_token(store, token)[0]


def list_tokens(store: Store, name: str) -> pd.DataFrame:
    """A user's tokens, newest first: ``token_id`` (a prefix of the stored hash),
    ``name``, ``created_at``, ``expires_at``, ``last_used_at``, ``revoked``."""
    rows = store.read("api_tokens", Query(where={"user_id": name}))
    if rows.empty:
        return rows.assign(token_id=[])
    return rows.assign(
        token_id=rows["id"].str[:TOKEN_ID_LENGTH],
        expires_at=[_expires(r) for _, r in rows.iterrows()],
        revoked=rows["revoked"].fillna(False).astype(bool),
    ).drop(columns=["id"]).sort_values("created_at", ascending=False).reset_index(drop=True)


def revoke_token(store: Store, token_id: str) -> str:
    """Revoke the token whose id (hash prefix, at least 8 characters) is given.

    Returns the user it belonged to; UserError when no or several tokens match.
    """
    token_id = token_id.strip().lower()
    if len(token_id) < 8:
        raise UserError("Ange minst 8 tecken av nyckelns id (se `users tokens NAMN`).")
    rows = store.read("api_tokens")
    hits = rows[rows["id"].str.startswith(token_id)]
    if hits.empty:
        raise UserError(f"Ingen API-nyckel har id {token_id}.")
    if len(hits) > 1:
        raise UserError(f"Flera API-nycklar börjar med {token_id}: ange fler tecken.")
    store.update("api_tokens", hits["id"].iloc[0], {"revoked": True})
    return str(hits["user_id"].iloc[0])
