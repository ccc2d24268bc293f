"""Status mails in the web app: settings, the outbox hook, the sender thread, a user's page.

The rules are in :mod:`layers.domain.notify`. Here: the instance config becomes
:class:`~layers.domain.notify.SmtpSettings` and the owners' addresses; a status change gets
the hook that queues its mails (with a link to the finding built from this request);
``serve`` starts :func:`start_sender`, a daemon thread that empties the outbox every
``NOTIFY_INTERVAL`` seconds; and ``/auth/notifications`` is where a signed-in user
sets the address and how often they want to hear about their findings.

Config (instance ``config.py`` or ``TRYGGHETSKARTAN_*`` environment variables):
``SMTP_HOST`` (empty: no mail at all), ``SMTP_PORT``, ``SMTP_FROM``, ``SMTP_TLS``
(starttls, ssl or none), ``SMTP_USER`` and ``SMTP_PASSWORD`` (or the file
``smtp_password`` in the instance folder), ``NOTIFY_OWNERS`` (owner → address).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request
from flask import url_for as flask_url_for

from layers.core.schema import NOTIFY_CHOICES
from layers.domain.notify import (
    NotifyConfigError,
    SendReport,
    SmtpSettings,
    messages_hook,
    owner_addresses,
    send_pending,
    valid_address,
)
from layers.store.base import Query
from mapapp.access import require_write, role_required
from mapapp.store_ import get_store

LOGGER = logging.getLogger(__name__)

bp = Blueprint("notify", __name__)

#: The defaults ``create_app`` sets (see the module docstring).
DEFAULTS = {"SMTP_HOST": "", "SMTP_PORT": 25, "SMTP_FROM": "", "SMTP_TLS": "starttls",
            "SMTP_USER": "", "SMTP_PASSWORD": "", "NOTIFY_OWNERS": {}, "NOTIFY_INTERVAL": 60}
#: The instance folder's file that may hold the SMTP password (kept out of config.py).
PASSWORD_FILE = "smtp_password"


def smtp_settings(app: Flask) -> SmtpSettings:
    """The app's SMTP settings, checked (raises NotifyConfigError)."""
    config = app.config
    password = str(config.get("SMTP_PASSWORD") or "")
    secret = Path(app.instance_path) / PASSWORD_FILE
    if not password and secret.is_file():
        password = secret.read_text(encoding="utf-8").strip()
    try:
        port = int(config.get("SMTP_PORT") or 25)
    except (TypeError, ValueError):
        raise NotifyConfigError(f"SMTP_PORT '{config.get('SMTP_PORT')}' är inget "
                                "portnummer.") from None
    settings = SmtpSettings(host=str(config.get("SMTP_HOST") or "").strip(), port=port,
                            sender=str(config.get("SMTP_FROM") or "").strip(),
                            tls=str(config.get("SMTP_TLS") or "starttls").strip().lower(),
                            user=str(config.get("SMTP_USER") or ""), password=password)
    settings.check()
    return settings


def status_hook() -> Callable[[pd.Series, dict], pd.DataFrame] | None:
    """The hook a status change in this request passes to ``change_status`` (None: no mail).

    A configuration error never stops the status change: it is logged and no mail
    is queued.
    """
    try:
        settings = smtp_settings(current_app)
        owners = owner_addresses(current_app.config.get("NOTIFY_OWNERS"))
    except NotifyConfigError as exc:
        LOGGER.error("status mails are off: %s", exc)
        return None
    return messages_hook(get_store(), settings=settings, owners=owners,
                         link=lambda fid: flask_url_for("findings.show_finding",
                                                        finding_id=fid, _external=True))


def run_sender_once(app: Flask) -> SendReport:
    """Send what the app's outbox has due (raises NotifyConfigError for bad settings)."""
    with app.app_context():
        return send_pending(get_store(), smtp_settings(app))


def start_sender(app: Flask, *, interval: float | None = None) -> threading.Thread | None:
    """Empty the outbox every ``interval`` s in a daemon thread (``serve`` starts it).

    Returns None (and starts nothing) when SMTP is not configured.
    """
    try:
        settings = smtp_settings(app)
    except NotifyConfigError as exc:
        LOGGER.error("status mails are off: %s", exc)
        return None
    if not settings.configured:
        return None
    wait = float(interval if interval is not None else app.config.get("NOTIFY_INTERVAL", 60))
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                report = run_sender_once(app)
                if report.sent or report.retrying or report.failed:
                    LOGGER.info("notify: %s", report.text())
            except Exception:  # a store that is down now may answer later
                LOGGER.warning("sending status mails failed", exc_info=True)
            stop.wait(wait)

    thread = threading.Thread(target=run, name="notify-sender", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]  (lets tests end it)
    thread.start()
    return thread


# --- the user's own page ------------------------------------------------------------------


@bp.route("/auth/notifications", methods=("GET", "POST"))
@role_required("läsare")
def notifications():
    """A signed-in user sets their e-mail address and how often they want status mails."""
    store = get_store()
    user = g.user
    row = store.read("users", Query(where={"id": user.name})).iloc[0]
    values = {"email": "" if pd.isna(row["email"]) else str(row["email"]),
              "notify": "" if pd.isna(row["notify"]) else str(row["notify"])}
    values["notify"] = values["notify"] or "genast"
    error = None
    if request.method == "POST":
        require_write("läsare")
        values = {"email": request.form.get("email", "").strip(),
                  "notify": request.form.get("notify", "genast")}
        if values["notify"] not in NOTIFY_CHOICES:
            error = "Välj hur ofta du vill få mejl."
        elif values["email"] and not valid_address(values["email"]):
            error = f"'{values['email']}' är ingen giltig e-postadress."
        else:
            store.update("users", user.name, {"email": values["email"] or None,
                                              "notify": values["notify"]})
            flash("Dina aviseringar sparades.", "success")
            return redirect(flask_url_for("notify.notifications"))
    try:
        configured = smtp_settings(current_app).configured
    except NotifyConfigError:
        configured = False
    return render_template("auth/notifications.html", values=values, choices=NOTIFY_CHOICES,
                           error=error, configured=configured), 422 if error else 200
