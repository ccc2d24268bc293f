"""Log-in, log-out and the role checks every other blueprint uses.

Browsers sign in with a session cookie (CSRF-protected forms); other tools send
``Authorization: Bearer TOKEN``. Roles: läsare < inventerare < handläggare < admin.
"""

from __future__ import annotations

import functools
from urllib.parse import urlparse

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from layers.users import User, authenticate, get_user, user_for_token
from mapapp.store_ import get_store

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.before_app_request
def load_user() -> None:
    """Put the signed-in user (or the token's user) on ``g.user``."""
    g.user = None
    g.via_token = False
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        g.user = user_for_token(get_store(), header[7:].strip())
        g.via_token = g.user is not None
        return
    name = session.get("user")
    if name:
        g.user = get_user(get_store(), name)


def current_user() -> User | None:
    """The user of this request, or None for an anonymous visitor."""
    return g.get("user")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def role_required(role: str):
    """Let only users with ``role`` (or higher) in: anonymous → log-in, too low → 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                if wants_json():
                    return jsonify({"error": "inloggning krävs"}), 401
                return redirect(url_for("auth.login", next=request.full_path))
            if not user.can(role):
                if wants_json():
                    return jsonify({"error": f"kräver rollen {role}"}), 403
                abort(403, description=f"Sidan kräver rollen {role}.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _safe_next(target: str | None) -> str:
    """Only follow a relative 'next' link, never one to another site."""
    if target:
        parts = urlparse(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return request.script_root + "/"


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the log-in form and sign the user in."""
    if request.method == "POST":
        user = authenticate(get_store(), request.form.get("username", ""),
                            request.form.get("password", ""))
        if user is None:
            flash("Fel användarnamn eller lösenord.", "error")
            return render_template("auth/login.html"), 401
        session.clear()
        session["user"] = user.name
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.post("/logout")
def logout():
    """Sign out."""
    session.clear()
    return redirect(request.script_root + "/")
