"""The web side of the write rule (:mod:`layers.domain.access`): a refusal becomes a 403.

Routes first let ``role_required`` send anonymous visitors to the log-in page, then
call :func:`require_write` with the areas of the object as stored (and its new
place, for edits), so role and district scope are checked in one place. The 403
is the Swedish error page, or ``{"error": …}`` for ``/api/`` routes (the app's
403 handler decides).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from flask import abort, g, jsonify, redirect, request, url_for

from layers.domain.access import reporter_refusal, write_refusal
from layers.domain.users import User


def current_user() -> User | None:
    """The user of this request, or None for an anonymous visitor."""
    return g.get("user")


def user_name() -> str:
    """The signed-in user's name (for the store's ``created_by``, logs and uploads)."""
    return g.user.name


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


def may_write(role: str, areas: Iterable[object] = ()) -> bool:
    """Tell whether this request's user may write with ``role`` in ``areas`` (for templates)."""
    return write_refusal(current_user(), role, areas) is None


def require_write(role: str, areas: Iterable[object] = ()) -> None:
    """Abort with 403 (Swedish reason) unless this request's user may write here."""
    reason = write_refusal(current_user(), role, list(areas))
    if reason is not None:
        abort(403, description=reason)


def correction_refusal(finding: Mapping[str, object], new_areas: Iterable[object] = ()
                       ) -> str | None:
    """Why this request's user may not edit or delete ``finding`` (None: they may)."""
    return reporter_refusal(current_user(), finding, [finding.get("sdo_code"), *new_areas])


def require_correction(finding: Mapping[str, object], new_areas: Iterable[object] = ()) -> None:
    """Abort with 403 unless this request's user may edit or delete ``finding``.

    Its reporter may until it is assigned, a handläggare always, both inside their
    area (the finding's stored area and, for an edit, ``new_areas``).
    """
    reason = correction_refusal(finding, new_areas)
    if reason is not None:
        abort(403, description=reason)
