"""Findings from trygghetsvandringar: recording, duplicates, the status workflow, lists.

A finding is recorded on a phone (one at a time), uploaded with the rest of its walk
(a file), or posted to the API; all three go through the same validation as a file
import (:mod:`layers.io.validate`) and are stored in one transaction each.

* **Walks** are rows of the ``walks`` table; a new walk's id is a hash of its date,
  area and organisers, so entering the same walk twice gives one walk.
* **Likely duplicates**: a new finding with the same category as an *open* finding
  (status ny or tilldelad) within :data:`DUPLICATE_DISTANCE_M` metres. They are
  flagged, never dropped silently: a user may choose to skip them in an upload.
* **Status workflow** (:data:`layers.core.schema.FINDING_TRANSITIONS`): ny → tilldelad →
  åtgärdad or avvisad, and back where the table allows. Each change is a row in
  ``finding_history`` (who, when, from, to, owner, comment) written in the same
  transaction as the change itself (:meth:`layers.store.base.Store.update` with
  ``rows``); the change applies only if the finding still has the status the user
  saw. ``fixed_at`` is set when a finding becomes åtgärdad (and cleared when it is
  reopened), so the time to fix (``fixed_at − found_at``) is known for the briefs.
* **Owner lists**: the findings of one owner as CSV (Swedish headers, ``;``, UTF-8
  with BOM, for Excel) or GeoPackage. In the CSV every text cell that starts with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe,
  so a spreadsheet shows it as text and never runs it as a formula (OWASP "CSV
  injection"; :func:`layers.io.exporters.spreadsheet_safe`, used by every CSV export).

Modules: :mod:`.records` (walks, the form, one finding), :mod:`.upload` (a walk's
file or an API post, with likely duplicates), :mod:`.edits` (corrections, deletions
and their history) and :mod:`.lists` (filters, owner lists, the upload template);
the status workflow is here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pandas as pd

from layers.core.errors import FileRejected, TrygghetskartanError
from layers.core.schema import (
    FINDING_HISTORY,
    FINDING_STATUSES,
    FINDING_TRANSITIONS,
    OWNERS,
)
from layers.domain.findings.edits import (
    EDITABLE_FIELDS,
    FindingChangeRefused,
    delete_finding,
    describe_history,
    edit_finding,
    histories,
)
from layers.domain.findings.lists import (
    OWNER_LIST_HEADERS,
    TEMPLATE_HEADERS,
    FindingFilter,
    area_choices,
    days_to_fix,
    fix_summary,
    owner_list,
    owner_list_csv,
    owner_list_gpkg,
    read_findings,
    template_csv,
    template_help,
)
from layers.domain.findings.records import (
    CATEGORY_LABELS,
    FORM_SOURCE,
    MAX_UPLOAD_BYTES,
    SEVERITY_LABELS,
    UPLOAD_SOURCE,
    complete_rows,
    form_table,
    list_walks,
    new_walk,
    now_local,
    record_finding,
    text_or_none,
    validate_form,
    walk_id_for,
    walk_label,
)
from layers.domain.findings.upload import (
    DUPLICATE_DISTANCE_M,
    Duplicate,
    FindingsUpload,
    api_payload_file,
    commit_upload,
    likely_duplicates,
    prepare_upload,
    stored_ids,
    upload_of,
)
from layers.io.exporters import spreadsheet_safe
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

__all__ = ["CATEGORY_LABELS", "DUPLICATE_DISTANCE_M", "Duplicate", "EDITABLE_FIELDS",
           "FORM_SOURCE", "FileRejected", "FindingChangeRefused", "FindingFilter",
           "FindingsUpload", "MAX_UPLOAD_BYTES", "OWNER_LIST_HEADERS", "Query", "SEVERITY_LABELS",
           "StatusChangeRefused", "TEMPLATE_HEADERS", "UPLOAD_SOURCE", "allowed_transitions",
           "api_payload_file", "area_choices", "change_status", "commit_upload", "complete_rows",
           "days_to_fix", "delete_finding", "describe_history", "edit_finding", "fix_summary",
           "form_table", "get_finding", "histories", "likely_duplicates", "list_walks", "new_walk",
           "now_local", "owner_list", "owner_list_csv", "owner_list_gpkg", "prepare_upload",
           "read_findings", "record_finding", "spreadsheet_safe", "stored_ids", "template_csv",
           "template_help", "text_or_none", "upload_of", "validate_form", "walk_id_for",
           "walk_label"]


class StatusChangeRefused(TrygghetskartanError):
    """A status change is not allowed (message in Swedish)."""


def allowed_transitions(status: str) -> tuple[str, ...]:
    """The statuses a finding with ``status`` may get next."""
    return FINDING_TRANSITIONS.get(status, ())


def get_finding(store: Store, finding_id: str) -> pd.Series | None:
    """One finding by id (with ``geometry``), or None."""
    rows = store.read("findings", Query(where={"id": finding_id}))
    return None if rows.empty else rows.iloc[0]


def change_status(store: Store, finding_id: str, to_status: str, *, user: str,
                  comment: str = "", owner: str | None = None,
                  seen_status: str | None = None,
                  now: pd.Timestamp | None = None,
                  notify: Callable[[pd.Series, dict], pd.DataFrame] | None = None
                  ) -> dict[str, object]:
    """Change a finding's status (and owner) and record it in its history, atomically.

    ``notify(finding, entry)`` returns the mails the change causes (rows of the
    ``notify_outbox`` table, :func:`layers.domain.notify.status_messages`); they are written
    in the same transaction, so a stored change always has its mails queued.

    ``seen_status`` is the status the user saw: if the finding has another one now,
    nothing changes. Assigning (tilldelad) needs an owner; rejecting (avvisad) needs
    a comment; a tilldelad finding may be given to another owner without a status
    change. Returns the history row. Raises :class:`StatusChangeRefused`.
    """
    now = now or now_local()
    finding = get_finding(store, finding_id)
    if finding is None:
        raise StatusChangeRefused("Fyndet finns inte.")
    current = text_or_none(finding["status"]) or "ny"
    current_owner = text_or_none(finding["owner"])
    comment = (comment or "").strip()
    owner = owner or current_owner
    label = FINDING_STATUSES.get
    if seen_status and seen_status != current:
        raise StatusChangeRefused(f"Fyndet har ändrats under tiden (status är nu "
                                  f"{label(current, current)}). Ladda om sidan.")
    if to_status not in FINDING_STATUSES:
        raise StatusChangeRefused(f"Okänd status '{to_status}'.")
    if owner is not None and owner not in OWNERS:
        raise StatusChangeRefused(f"Okänd ansvarig '{owner}'.")
    if to_status == current:
        if not (current == "tilldelad" and owner != current_owner):
            raise StatusChangeRefused(f"Fyndet har redan status {label(current)}.")
    elif to_status not in allowed_transitions(current):
        allowed = ", ".join(label(s, s) for s in allowed_transitions(current)) or "ingen"
        raise StatusChangeRefused(f"Status kan inte ändras från {label(current)} till "
                                  f"{label(to_status)}. Tillåtet: {allowed}.")
    if to_status == "tilldelad" and not owner:
        raise StatusChangeRefused("Välj vem som ansvarar för åtgärden för att tilldela fyndet.")
    if to_status == "avvisad" and not comment:
        raise StatusChangeRefused("Skriv en kommentar om varför fyndet avvisas.")
    limit = FINDING_HISTORY.field("comment").max_length
    if len(comment) > limit:
        raise StatusChangeRefused(f"Kommentaren är för lång ({len(comment)} tecken, högst "
                                  f"{limit}).")
    entry = {
        "id": f"{finding_id}:{uuid.uuid4().hex}",
        "finding_id": finding_id,
        "changed_at": now,
        "changed_by": user,
        "from_status": current,
        "to_status": to_status,
        "owner": owner,
        "comment": comment or None,
        "action": "status",
        "changes": None,
    }
    values: dict[str, object] = {"status": to_status, "owner": owner,
                                 "status_changed_at": now}
    if to_status == "atgardad":
        values["fixed_at"] = now
    elif current == "atgardad":
        values["fixed_at"] = None
    rows = {"finding_history": pd.DataFrame([entry])}
    mails = notify(finding, entry) if notify is not None else None
    if mails is not None and len(mails):
        rows["notify_outbox"] = mails
    changed = store.update("findings", finding_id, values,
                           expect={"status": current, "owner": current_owner}, rows=rows)
    if not changed:
        raise StatusChangeRefused("Fyndet ändrades av någon annan samtidigt. Ladda om sidan "
                                  "och försök igen.")
    LOGGER.info("finding %s: %s -> %s by %s", finding_id, current, to_status, user)
    return entry
