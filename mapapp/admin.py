"""User administration and the audit log, for admins (the web side of ``users …``).

Every page needs the role admin; every change is a CSRF-protected form that passes
:func:`mapapp.access.require_write` with that role, and the store logs it in the
audit log in the admin's name. A new API token is shown once, on the page that
answers the form, never in a cookie or a redirect.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from layers.core import audit
from layers.core.schema import LOCAL_TZ, ROLES
from layers.domain.users import (
    UserError,
    list_tokens,
    list_users,
    new_token,
    revoke_token,
    set_active,
    set_password,
    set_role,
)
from layers.store.base import Query
from mapapp.access import require_write, role_required
from mapapp.store_ import get_store

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN = "admin"
#: Log entries per page of the audit log.
AUDIT_PAGE = 200


def _stored_user_or_404(name: str) -> None:
    if name not in set(list_users(get_store())["id"]):
        abort(404)


def _change(action, done: str, name: str):
    """Run a user change; flash its Swedish result or the refusal, back to the list."""
    require_write(ADMIN)
    _stored_user_or_404(name)
    try:
        result = action()
    except UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users")), 303
    flash(done.format(name=name, result=result), "success")
    return redirect(url_for("admin.users")), 303


@bp.get("/users")
@role_required(ADMIN)
def users():
    """Every user with role, area, status, and forms to change them."""
    rows = list_users(get_store())
    return render_template("admin/users.html", rows=rows.to_dict("records"), roles=list(ROLES))


@bp.post("/users")
@role_required(ADMIN)
def create_user():
    """Create a user from the form (name, role, password, optional area and name)."""
    from layers.domain.users import add_user, resolve_sdo

    require_write(ADMIN)
    form = request.form
    name = (form.get("name") or "").strip()
    store = get_store()
    try:
        sdo = resolve_sdo(store, form["sdo"]) if form.get("sdo", "").strip() else None
        add_user(store, name, form.get("role", ""), form.get("password", ""), sdo_code=sdo,
                 display_name=(form.get("display_name") or "").strip() or None)
    except UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users")), 303
    flash(f"Användaren {name} skapad med rollen {form.get('role')}.", "success")
    return redirect(url_for("admin.users")), 303


@bp.post("/users/<name>/role")
@role_required(ADMIN)
def change_role(name: str):
    """Give a user another role (form field ``role``)."""
    role = request.form.get("role", "")
    return _change(lambda: set_role(get_store(), name, role),
                   "{name} har nu rollen " + role + ".", name)


@bp.post("/users/<name>/active")
@role_required(ADMIN)
def change_active(name: str):
    """Disable (``active=0``) or enable (``active=1``) a user."""
    active = request.form.get("active") == "1"
    done = "{name} är aktiv igen." if active else \
        "{name} är avstängd; {result} sessioner avslutades."
    return _change(lambda: set_active(get_store(), name, active), done, name)


@bp.post("/users/<name>/password")
@role_required(ADMIN)
def change_password(name: str):
    """Give a user a new password (form field ``password``); their sessions end."""
    password = request.form.get("password", "")
    return _change(lambda: set_password(get_store(), name, password),
                   "Lösenordet för {name} är bytt; {result} sessioner avslutades.", name)


@bp.get("/users/<name>/tokens")
@role_required(ADMIN)
def tokens(name: str):
    """A user's API tokens with their status, and a form for a new one."""
    _stored_user_or_404(name)
    return _tokens_page(name)


def _tokens_page(name: str, new: str | None = None, status: int = 200):
    from layers.store import sessions

    rows = list_tokens(get_store(), name)
    now = sessions.now()
    records = []
    for row in rows.to_dict("records"):
        row["status"] = "återkallad" if row["revoked"] else (
            "utgången" if row["expires_at"] <= now else "giltig")
        records.append(row)
    return render_template("admin/tokens.html", name=name, rows=records, new_token=new), status


@bp.post("/users/<name>/tokens")
@role_required(ADMIN)
def create_token(name: str):
    """Make a new API token for a user and show it once."""
    from flask import current_app

    require_write(ADMIN)
    _stored_user_or_404(name)
    try:
        days = int(request.form.get("days") or current_app.config["TOKEN_DAYS"])
        token = new_token(get_store(), name, days=days,
                          label=(request.form.get("label") or "").strip()[:200] or None)
    except (UserError, ValueError) as exc:
        flash(str(exc) if isinstance(exc, UserError) else "Ange antal dagar som ett heltal.",
              "error")
        return _tokens_page(name, status=400)
    return _tokens_page(name, new=token)


@bp.post("/tokens/<token_id>/revoke")
@role_required(ADMIN)
def revoke(token_id: str):
    """Revoke an API token by its id (hash prefix); it is refused with 401 at once."""
    require_write(ADMIN)
    try:
        owner = revoke_token(get_store(), token_id)
    except UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users")), 303
    flash(f"API-nyckeln {token_id} är återkallad.", "success")
    return redirect(url_for("admin.tokens", name=owner)), 303


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        abort(400, description=f"Datumet '{text}' ska skrivas ÅÅÅÅ-MM-DD.")


@bp.get("/audit")
@role_required(ADMIN)
def audit_log():
    """The audit log, newest first, filtered by user, kind and date (from, to)."""
    args = request.args
    user = (args.get("user") or "").strip()
    kind = args.get("kind") or ""
    if kind and kind not in audit.KIND_LABELS:
        abort(400, description=f"Okänt slag '{kind}'.")
    start, end = _day(args.get("from")), _day(args.get("to"))
    where: dict[str, object] = {}
    if user:
        where["user_id"] = user
    if kind:
        where["kind"] = kind
    query = Query(
        start=pd.Timestamp(start, tz=LOCAL_TZ).to_pydatetime() if start else None,
        end=(pd.Timestamp(end, tz=LOCAL_TZ) + pd.Timedelta(days=1)).to_pydatetime()
        if end else None,
        where=where)
    store = get_store()
    total = store.count("audit_log", query)
    # the newest page only: the last rows in time order, then newest first
    query = Query(start=query.start, end=query.end, where=where, order_by="at",
                  offset=max(total - AUDIT_PAGE, 0), limit=AUDIT_PAGE)
    rows = store.read("audit_log", query).iloc[::-1]
    entries = []
    for row in rows.to_dict("records"):
        old, new = audit.decode(row["old_values"]), audit.decode(row["new_values"])
        row["fields"] = [(f, old.get(f), new.get(f)) for f in sorted({*old, *new})]
        entries.append(row)
    users_seen = list(list_users(store)["id"])
    return render_template("admin/audit.html", entries=entries, total=total,
                           page=AUDIT_PAGE, kinds=audit.KIND_LABELS,
                           actions=audit.ACTION_LABELS, users_seen=users_seen,
                           filters={"user": user, "kind": kind, "from": args.get("from", ""),
                                    "to": args.get("to", "")})
