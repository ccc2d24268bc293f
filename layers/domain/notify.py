"""Status mails: the owner hears of an assignment, the reporter of a fix or a rejection.

Sending never blocks a request and never loses a mail:

* **The outbox.** A status change that should be told writes one row per mail into
  the ``notify_outbox`` table *in the same transaction* as the change and its
  history row (:func:`status_messages`, passed to
  :func:`layers.domain.findings.change_status`). A change that is rolled back sends nothing;
  a change that is stored has its mails stored with it.
* **The sender.** :func:`send_pending` delivers the rows that are due through SMTP
  and marks each sent. When the server cannot be reached, or refuses a mail, the row
  stays pending with the error and its attempt count, and is tried again after a
  back-off (1, 2, 4 … at most 60 minutes); after :data:`MAX_ATTEMPTS` it is marked
  failed and logged as an error. ``trygghetskartan notify`` runs it once (``--loop``
  keeps running) and ``serve`` runs it in a background thread.
* **Recipients.** The owner of an assigned finding is an organisation
  (trafikkontoret, a housing company, …): its address comes from the instance
  config (``NOTIFY_OWNERS = {"trafikkontoret": "trygghet@…"}``). The reporter is the
  user who recorded the finding (``findings.created_by``) with the e-mail address
  and the preference they set themselves (``users.email``, ``users.notify``:
  genast, dagligen or aldrig). A daily digest waits until :data:`DIGEST_HOUR` and
  is sent as one mail per recipient.
* **Without SMTP** (no ``SMTP_HOST``) nothing is queued, nothing is sent and nothing
  fails.

Texts are Swedish plain text with the finding's place in words (:mod:`layers.analysis.places`)
and a link to its page. This module has no Flask: the web layer passes the settings
and the link.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import geopandas as gpd
import pandas as pd

from layers.analysis.places import describe_findings
from layers.core import clock
from layers.core.schema import (
    FINDING_STATUSES,
    LOCAL_TZ,
    NOTIFY_CHOICES,
    OWNERS,
    STORE_EPSG,
)
from layers.domain.findings import CATEGORY_LABELS, SEVERITY_LABELS
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: Attempts before a mail is given up (marked failed and logged as an error).
MAX_ATTEMPTS = 12
#: The longest wait between two attempts (minutes).
MAX_BACKOFF_MINUTES = 60
#: A row claimed by a sender that died is free again after this many minutes.
CLAIM_MINUTES = 15
#: The local hour at which daily digests are sent.
DIGEST_HOUR = 7
#: What an address must look like (one @, a dot in the domain, no spaces).
EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
TLS_MODES = ("starttls", "ssl", "none")



class NotifyConfigError(ValueError):
    """The SMTP or recipient settings are wrong (message in Swedish)."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how mails are sent (the instance config's ``SMTP_*``)."""

    host: str = ""
    port: int = 25
    sender: str = ""
    #: starttls (upgrade the connection, port 587), ssl (port 465) or none (a local relay)
    tls: str = "starttls"
    user: str = ""
    password: str = ""
    timeout: float = 20.0

    @property
    def configured(self) -> bool:
        """True when mails can be sent (a host and a sender address)."""
        return bool(self.host and self.sender)

    def check(self) -> None:
        """Raise :class:`NotifyConfigError` for settings that cannot work."""
        if self.tls not in TLS_MODES:
            raise NotifyConfigError(f"SMTP_TLS måste vara en av {', '.join(TLS_MODES)}, "
                                    f"inte '{self.tls}'.")
        if self.host and not valid_address(self.sender):
            raise NotifyConfigError(f"SMTP_FROM '{self.sender}' är ingen giltig e-postadress.")


@dataclass(frozen=True)
class SendReport:
    """What one run of the sender did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0

    def text(self) -> str:
        """In Swedish, for the CLI and the log."""
        return (f"{self.sent} skickade, {self.retrying} försöks igen senare, "
                f"{self.failed} gav upp, {self.waiting} väntar (sammandrag eller nytt försök).")


def valid_address(text: str | None) -> bool:
    """Tell whether ``text`` looks like one e-mail address."""
    return bool(text) and len(text) <= 254 and EMAIL_RE.match(text) is not None


def owner_addresses(mapping: dict[str, str] | None) -> dict[str, str]:
    """The owner → address table of the config, checked (unknown owners are refused)."""
    out: dict[str, str] = {}
    for owner, address in (mapping or {}).items():
        if owner not in OWNERS:
            raise NotifyConfigError(f"NOTIFY_OWNERS: okänd ansvarig '{owner}'. Välj bland "
                                    f"{', '.join(OWNERS)}.")
        if not valid_address(str(address).strip()):
            raise NotifyConfigError(f"NOTIFY_OWNERS: '{address}' ({owner}) är ingen giltig "
                                    "e-postadress.")
        out[owner] = str(address).strip()
    return out


# --- what to send -------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _flag(value: object) -> bool:
    return value is not None and value is not pd.NA and not pd.isna(value) and bool(value)


def _one_line(text: str) -> str:
    """A header value: no line breaks (they would start a new header), at most 150 chars."""
    return " ".join(text.split())[:150]


def next_digest_time(now: pd.Timestamp) -> pd.Timestamp:
    """The next :data:`DIGEST_HOUR` o'clock in Stockholm after ``now``."""
    local = now.tz_convert(LOCAL_TZ)
    due = local.normalize() + pd.Timedelta(hours=DIGEST_HOUR)
    return due if due > local else due + pd.Timedelta(days=1)


def _finding_lines(finding: pd.Series, place: str, link: str) -> list[str]:
    severity = finding["severity"]
    found = finding["found_at"]
    lines = [
        f"Kategori: {CATEGORY_LABELS.get(_text(finding['category']), _text(finding['category']))}",
        f"Allvarlighet: {SEVERITY_LABELS.get(int(severity), '') if not pd.isna(severity) else '–'}",
        f"Plats: {place}",
        f"Hittat: {pd.Timestamp(found).tz_convert(LOCAL_TZ):%Y-%m-%d %H:%M}"
        if not pd.isna(found) else "Hittat: –",
    ]
    description = _text(finding["description"]).strip()
    if description:
        lines.append(f"Beskrivning: {description}")
    lines += ["", f"Se fyndet: {link}"]
    return lines


FOOTER = ["", "--", "Det här mejlet skickades av Trygghetskartan. Svara inte på det; "
          "frågor om fyndet ställer du till stadsdelsförvaltningen.",
          "Vill du inte få mejl om dina fynd? Ändra det under Aviseringar i Trygghetskartan."]


def _reporter(store: Store, name: str) -> tuple[str, str] | None:
    """(address, preference) of the user ``name``, or None when they get no mail."""
    rows = store.read("users", Query(where={"id": name}))
    if rows.empty:
        return None
    row = rows.iloc[0]
    address = _text(row["email"]).strip()
    preference = _text(row["notify"]) or "genast"
    active = row["active"]
    if not valid_address(address) or preference == "aldrig" or \
            (active is not pd.NA and active is not None and not bool(active)):
        return None
    return address, preference


def status_messages(store: Store, finding: pd.Series, entry: dict, *, link: str,
                    owners: dict[str, str], now: pd.Timestamp | None = None
                    ) -> pd.DataFrame:
    """The outbox rows a status change causes (empty: nobody to tell).

    ``finding`` is the finding before the change, ``entry`` its new history row
    (:func:`layers.domain.findings.change_status`); ``link`` is the finding's page;
    ``owners`` the owner → address table. An assignment (a new status tilldelad, or
    another owner) mails the owner; åtgärdad or avvisad mails the reporter, unless
    the reporter made the change.
    """
    now = now or clock.now()
    to_status, owner = entry["to_status"], _text(entry.get("owner"))
    one = gpd.GeoDataFrame([finding.to_dict()], geometry="geometry", crs=STORE_EPSG)
    place = describe_findings(store, one)[0].text
    category = CATEGORY_LABELS.get(_text(finding["category"]), _text(finding["category"]))
    details = _finding_lines(finding, place, link)
    comment = _text(entry.get("comment")).strip()
    rows: list[dict] = []

    def add(kind: str, key: str, address: str, subject: str, intro: list[str],
            digest: bool = False) -> None:
        rows.append({
            "id": f"{entry['id']}:{kind}:{key}", "created_at": now,
            "due_at": next_digest_time(now) if digest else now, "kind": kind,
            "finding_id": entry["finding_id"], "recipient": address, "recipient_key": key,
            "digest": digest, "subject": _one_line(subject),
            "body": "\n".join([*intro, "", *details, *FOOTER]), "status": "pending",
            "attempts": 0, "last_error": None, "claimed_at": None, "sent_at": None,
        })

    assigned = to_status == "tilldelad" and (
        entry.get("from_status") != "tilldelad" or owner != _text(finding["owner"]))
    if assigned and owner in owners:
        intro = ["Hej!", "",
                 f"Ett fynd från en trygghetsvandring har tilldelats {OWNERS[owner]} att "
                 "åtgärda."]
        if comment:
            intro.append(f"Kommentar från handläggaren: {comment}")
        add("tilldelad", f"owner:{owner}", owners[owner],
            f"Fynd att åtgärda: {category}, {place}", intro)
    reporter = _text(finding["created_by"])
    if to_status in ("atgardad", "avvisad") and reporter and reporter != entry["changed_by"]:
        found = _reporter(store, reporter)
        if found is not None:
            address, preference = found
            label = FINDING_STATUSES[to_status]
            intro = ["Hej!", "", f"Fyndet du registrerade har markerats som {label}."]
            if comment:
                intro.append(f"Kommentar: {comment}")
            add(to_status, f"user:{reporter}", address,
                f"Ditt fynd är {label}: {category}, {place}", intro,
                digest=preference == "dagligen")
    columns = ["id", "created_at", "due_at", "kind", "finding_id", "recipient",
               "recipient_key", "digest", "subject", "body", "status", "attempts",
               "last_error", "claimed_at", "sent_at"]
    return pd.DataFrame(rows, columns=columns)


def messages_hook(store: Store, *, settings: SmtpSettings, owners: dict[str, str],
                  link: Callable[[str], str]) -> Callable[[pd.Series, dict], pd.DataFrame] | None:
    """What :func:`layers.domain.findings.change_status` calls for the outbox rows, or None
    when SMTP is not configured (then nothing is queued)."""
    if not settings.configured:
        return None

    def hook(finding: pd.Series, entry: dict) -> pd.DataFrame:
        return status_messages(store, finding, entry, link=link(str(finding["id"])),
                               owners=owners)

    return hook


# --- sending --------------------------------------------------------------------------------


def _due(store: Store, now: pd.Timestamp) -> pd.DataFrame:
    rows = store.read("notify_outbox", Query(where={"status": ("pending", "sending")}))
    if rows.empty:
        return rows
    due = pd.to_datetime(rows["due_at"], utc=True)
    claimed = pd.to_datetime(rows["claimed_at"], utc=True)
    stale = now - pd.Timedelta(minutes=CLAIM_MINUTES)
    ready = ((rows["status"] == "pending") & (due <= now)) | \
        ((rows["status"] == "sending") & (claimed.isna() | (claimed < stale)))
    return rows[ready.to_numpy()].sort_values(["created_at", "id"], kind="stable")


def _claim(store: Store, row: pd.Series, now: pd.Timestamp) -> bool:
    """Take a row for this sender; False when another sender took it first."""
    return store.update("notify_outbox", row["id"], {"status": "sending", "claimed_at": now},
                        expect={"status": row["status"], "claimed_at": row["claimed_at"]})


def _backoff(attempts: int) -> pd.Timedelta:
    return pd.Timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


def _failed(store: Store, rows: Iterable[pd.Series], error: str, now: pd.Timestamp) -> tuple[
        int, int]:
    """Put rows back for a later attempt (or give up); (retrying, failed)."""
    retrying = failed = 0
    for row in rows:
        attempts = int(row["attempts"] or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            failed += 1
            LOGGER.error("mail %s to %s given up after %d attempts: %s", row["id"],
                         row["recipient"], attempts, error)
            values = {"status": "failed"}
        else:
            retrying += 1
            LOGGER.warning("mail %s to %s not sent (attempt %d, next in %s): %s", row["id"],
                           row["recipient"], attempts, _backoff(attempts), error)
            values = {"status": "pending", "due_at": now + _backoff(attempts)}
        store.update("notify_outbox", row["id"], {**values, "attempts": attempts,
                                                  "last_error": error[:2000],
                                                  "claimed_at": None})
    return retrying, failed


def _compose(settings: SmtpSettings, rows: list[pd.Series]) -> EmailMessage:
    """One mail of one or more rows for the same recipient (several: a digest)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = rows[0]["recipient"]
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    if len(rows) == 1:
        message["Subject"] = rows[0]["subject"]
        message.set_content(rows[0]["body"])
    else:
        message["Subject"] = f"Trygghetskartan: {len(rows)} ändringar av dina fynd"
        parts = [f"{k}. {row['subject']}\n\n{row['body'].split(FOOTER[1])[0].rstrip()}"
                 for k, row in enumerate(rows, start=1)]
        message.set_content(("\n\n" + "=" * 40 + "\n\n").join(parts) + "\n" +
                            "\n".join(FOOTER))
    return message


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.tls == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                              timeout=settings.timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    if settings.user:
        smtp.login(settings.user, settings.password)
    return smtp


def send_pending(store: Store, settings: SmtpSettings, *, now: pd.Timestamp | None = None,
                 limit: int = 200) -> SendReport:
    """Send the outbox's due mails (digests grouped per recipient); never raises for SMTP.

    A row is claimed before it is sent, so two senders (the ``serve`` thread and a
    ``notify`` run) never send the same mail twice.
    """
    if not settings.configured:
        return SendReport()
    now = now or clock.now()
    due = _due(store, now).head(limit)
    pending = store.count("notify_outbox", Query(where={"status": "pending"}))
    waiting = pending - (int((due["status"] == "pending").sum()) if len(due) else 0)
    if due.empty:
        return SendReport(waiting=waiting)
    claimed = [row for _, row in due.iterrows() if _claim(store, row, now)]
    # one mail per immediate row; the digest rows of one recipient make one mail
    mails: list[list[pd.Series]] = []
    digests: dict[str, list[pd.Series]] = {}
    for row in claimed:
        if _flag(row["digest"]):
            digests.setdefault(row["recipient"], []).append(row)
        else:
            mails.append([row])
    mails += list(digests.values())
    sent = retrying = failed = 0
    try:
        smtp = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        retrying, failed = _failed(store, claimed, f"SMTP-servern svarar inte: {exc}", now)
        return SendReport(0, retrying, failed, waiting)
    try:
        for rows in mails:
            try:
                smtp.send_message(_compose(settings, rows))
            except (OSError, smtplib.SMTPException) as exc:
                r, f = _failed(store, rows, f"{type(exc).__name__}: {exc}", now)
                retrying, failed = retrying + r, failed + f
                if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    # the connection is gone: the rest wait for the next run
                    rest = [row for later in mails[mails.index(rows) + 1:] for row in later]
                    r, f = _failed(store, rest, f"{type(exc).__name__}: {exc}", now)
                    retrying, failed = retrying + r, failed + f
                    break
                continue
            for row in rows:
                store.update("notify_outbox", row["id"], {
                    "status": "sent", "sent_at": now, "claimed_at": None,
                    "attempts": int(row["attempts"] or 0) + 1, "last_error": None})
            sent += len(rows)
            LOGGER.info("mail sent to %s (%d rows)", rows[0]["recipient"], len(rows))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return SendReport(sent, retrying, failed, waiting)


__all__ = ["DIGEST_HOUR", "MAX_ATTEMPTS", "NOTIFY_CHOICES", "NotifyConfigError", "SendReport",
           "SmtpSettings", "messages_hook", "next_digest_time", "owner_addresses",
           "send_pending", "status_messages", "valid_address"]
