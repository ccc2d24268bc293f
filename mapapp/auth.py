"""Log-in, log-out, sessions, passwords and the role checks every other blueprint uses.

Browsers sign in with a session cookie (CSRF-protected forms); other tools send
``Authorization: Bearer TOKEN``. Roles: läsare < inventerare < handläggare < admin.

The signed cookie (Flask's own session) carries a random session token, the CSRF
token and flashed messages, never who is signed in: that is a row in the store's
``sessions`` table (:mod:`layers.store.sessions`). So log-out, a password change, a
disabled user or an administrator's "end all sessions" sign a browser out at once,
also one holding a copy of the cookie. Failed log-ins are throttled per user name
and per client address (:mod:`layers.domain.throttle`).
"""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import urlparse

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from layers.core import audit
from layers.domain.throttle import Policy, locked_for, record_failure
from layers.domain.users import (
    UserError,
    authenticate,
    check_token,
    get_user,
    set_password,
)
from layers.store import sessions as server_sessions
from mapapp.access import current_user, role_required
from mapapp.store_ import get_store

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: Key of the session token in Flask's signed cookie.
SESSION_KEY = "sid"


def session_lifetime() -> server_sessions.Lifetime:
    """Idle and absolute time-out from SESSION_IDLE_MINUTES and SESSION_MAX_HOURS."""
    config = current_app.config
    return server_sessions.Lifetime(
        idle=dt.timedelta(minutes=float(config["SESSION_IDLE_MINUTES"])),
        absolute=dt.timedelta(hours=float(config["SESSION_MAX_HOURS"])))


def login_policy() -> Policy:
    """The throttle's limits from the LOGIN_* settings."""
    config = current_app.config
    return Policy(max_failures=int(config["LOGIN_MAX_FAILURES"]),
                  max_failures_per_address=int(config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
                  window=dt.timedelta(seconds=float(config["LOGIN_WINDOW_SECONDS"])),
                  lockout=dt.timedelta(minutes=float(config["LOGIN_LOCKOUT_MINUTES"])))


@bp.before_app_request
def load_user():
    """Put the signed-in user (or the token's user) on ``g.user``.

    A bearer token that is unknown, revoked or expired is answered 401 at once.
    """
    g.user = None
    g.via_token = False
    audit.set_actor(None)
    if request.endpoint == "static":
        return None
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user, problem = check_token(get_store(), header[7:].strip())
        if problem is not None:
            response = jsonify({"error": problem.value})
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response, 401
        g.user, g.via_token = user, True
        audit.set_actor(user.name)
        return None
    token = session.get(SESSION_KEY)
    if token:
        store = get_store()
        name = server_sessions.session_user(store, token, session_lifetime())
        g.user = get_user(store, name) if name else None
        if g.user is None:
            session.pop(SESSION_KEY, None)
        else:
            # the store logs changes to findings, sites, users… in this user's name
            audit.set_actor(g.user.name)
    return None


@bp.teardown_app_request
def forget_actor(_exc: BaseException | None) -> None:
    """Clear the audit actor when the request ends.

    The test client (and any caller running the app in its own thread) keeps the
    thread's context after a request: without this, a later store write outside a
    request (a CLI step, a test fixture) would be logged in the last user's name.
    """
    audit.set_actor(None)


def _safe_next(target: str | None) -> str:
    """Only follow a relative 'next' link, never one to another site."""
    if target:
        parts = urlparse(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return request.script_root + "/"


def _begin_session(user_name: str) -> None:
    """Sign this browser in: a new session row, a new cookie (no fixation)."""
    session.clear()
    session[SESSION_KEY] = server_sessions.start_session(
        get_store(), user_name, ip=request.remote_addr,
        user_agent=request.user_agent.string)
    session.permanent = True


def _locked_message(wait: dt.timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    unit = "minut" if minutes == 1 else "minuter"
    return (f"För många misslyckade inloggningar. Inloggningen är spärrad en stund av "
            f"säkerhetsskäl: försök igen om {minutes} {unit}.")


def _retry_after(name: str) -> int | None:
    """Seconds until log-ins for ``name`` or from this address are allowed again
    (with the Swedish message flashed), or None when they are not locked."""
    wait = locked_for(get_store(), name, request.remote_addr, login_policy())
    if not wait:
        return None
    flash(_locked_message(wait), "error")
    return math.ceil(wait.total_seconds())


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the log-in form and sign the user in (throttled, see layers.domain.throttle)."""
    if request.method == "POST":
        store = get_store()
        name = request.form.get("username", "")
        retry = _retry_after(name)
        if retry is not None:
            return render_template("auth/login.html"), 429, {"Retry-After": str(retry)}
        user = authenticate(store, name, request.form.get("password", ""))
        if user is None:
            record_failure(store, name, request.remote_addr, login_policy())
            flash("Fel användarnamn eller lösenord.", "error")
            return render_template("auth/login.html"), 401
        _begin_session(user.name)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.post("/logout")
def logout():
    """Sign out: the session row goes, so a copy of the cookie is worthless too."""
    token = session.get(SESSION_KEY)
    if token:
        server_sessions.end_session(get_store(), token)
    session.clear()
    return redirect(request.script_root + "/")


@bp.route("/password", methods=("GET", "POST"))
@role_required("läsare")
def password():
    """A signed-in user changes their own password; their other sessions end."""
    if request.method == "GET":
        return render_template("auth/password.html")
    user = current_user()
    retry = _retry_after(user.name)
    if retry is not None:
        return render_template("auth/password.html"), 429, {"Retry-After": str(retry)}
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        flash("De två nya lösenorden är inte lika.", "error")
        return render_template("auth/password.html"), 400
    store = get_store()
    old = request.form.get("old_password", "")
    if authenticate(store, user.name, old) is None:
        # guessing the old password through this form is throttled like log-ins
        record_failure(store, user.name, request.remote_addr, login_policy())
        flash("Det nuvarande lösenordet är fel.", "error")
        return render_template("auth/password.html"), 400
    try:
        if new == old:
            raise UserError("Det nya lösenordet måste skilja sig från det gamla.")
        ended = set_password(store, user.name, new)
    except UserError as exc:
        flash(str(exc), "error")
        return render_template("auth/password.html"), 400
    _begin_session(user.name)
    others = ended - 1
    flash("Lösenordet är bytt." + (f" {others} andra inloggningar avslutades." if others > 0
                                   else ""), "success")
    return redirect(url_for("auth.password"))


@bp.get("/sessions")
@role_required("admin")
def sessions():
    """Who is signed in now, with buttons that end sessions (admin)."""
    rows = server_sessions.active_sessions(get_store(), session_lifetime())
    return render_template("auth/sessions.html", rows=rows.to_dict("records"),
                           lifetime=session_lifetime())


@bp.post("/sessions/end")
@role_required("admin")
def end_sessions():
    """End one user's sessions (form field ``user``) or everyone's (``all``)."""
    store = get_store()
    if request.form.get("all"):
        ended = server_sessions.end_all_sessions(store)
        flash(f"Alla sessioner avslutades ({ended}). Du måste logga in igen.", "success")
        return redirect(url_for("auth.login"))
    name = request.form.get("user", "")
    ended = server_sessions.end_user_sessions(store, name)
    flash(f"{ended} sessioner för {name} avslutades.", "success")
    if name == current_user().name:
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.sessions"))
