"""Tables without geometry of what is done: walks, histories, measures, notices, logs."""

from __future__ import annotations

from layers.core.schema.fields import Field, LayerSchema
from layers.core.schema.spatial import FINDING_STATUSES, OWNERS, PARTICIPANT_GROUPS, SITE_ACTIVITIES

IMPORT_LOG = LayerSchema(
    name="import_log",
    label="importlogg",
    geometry_type="",
    fields=(
        Field("id", "str", "id"),
        Field("layer", "str", "lager", required=True),
        Field("file_name", "str", "fil", required=True),
        Field("checksum", "str", "kontrollsumma (sha256)", required=True),
        Field("source", "str", "källa"),
        Field("imported_at", "datetime", "importerad", required=True),
        Field("imported_by", "str", "importerad av"),
        Field("rows_read", "int", "rader lästa"),
        Field("rows_loaded", "int", "rader sparade"),
        Field("rows_unchanged", "int", "rader redan sparade"),
        Field("rows_rejected", "int", "rader avvisade"),
        Field("rows_outside", "int", "rader utanför Stockholms stad"),
        Field("status", "str", "utfall"),
        Field("report", "str", "rapport"),
    ),
)

POPULATION = LayerSchema(
    name="population",
    label="folkmängd",
    geometry_type="",
    fields=(
        Field("id", "str", "id"),
        Field("sdo_code", "str", "stadsdelsområde (kod)", required=True),
        Field("year", "int", "år", required=True),
        Field("population", "int", "folkmängd 31 december", required=True),
        Field("source", "str", "källa"),
    ),
)

WALKS = LayerSchema(
    name="walks",
    label="trygghetsvandringar",
    geometry_type="",
    fields=(
        Field("id", "str", "id"),
        Field("date", "date", "datum", required=True, aliases=("datum",)),
        Field("start_time", "str", "starttid", aliases=("start", "starttid")),
        Field("end_time", "str", "sluttid", aliases=("slut", "sluttid")),
        Field("area", "str", "område", aliases=("område", "omrade", "plats")),
        Field("sdo_code", "str", "stadsdelsområde (kod)"),
        Field("participants", "int", "antal deltagare", minimum=0, maximum=10000,
              aliases=("deltagare", "antal deltagare")),
        Field("organisers", "str", "arrangörer", aliases=("arrangörer", "arrangor")),
    ),
)


#: The secretary's own text in an area brief (lägesbild), one row per area and period.
BRIEF_TEXTS = LayerSchema(
    name="brief_texts",
    label="lägesbildstexter",
    geometry_type="",
    fields=(
        # "<sdo_code>:<period code>", e.g. "jarva:2025-T2"
        Field("id", "str", "id", required=True),
        Field("sdo_code", "str", "stadsdelsområde (kod)", required=True),
        Field("period", "str", "period", required=True),
        Field("analysis", "str", "analys av nuläge", max_length=20000),
        Field("development", "str", "möjlig utveckling", max_length=20000),
        Field("measures", "str", "föreslagna åtgärder", max_length=20000),
        Field("updated_at", "datetime", "senast ändrad"),
        Field("updated_by", "str", "ändrad av"),
    ),
)

#: What a row of a finding's history records.
HISTORY_ACTIONS: dict[str, str] = {"status": "statusändring", "edit": "ändrat",
                                   "delete": "borttaget"}

#: Every status change of a finding: who, when, from which status to which, and why.
FINDING_HISTORY = LayerSchema(
    name="finding_history",
    label="fyndens statushistorik",
    geometry_type="",
    fields=(
        Field("id", "str", "id", required=True),
        Field("finding_id", "str", "fynd", required=True),
        Field("changed_at", "datetime", "ändrad", required=True),
        Field("changed_by", "str", "ändrad av", required=True),
        Field("from_status", "str", "från status", choices=FINDING_STATUSES),
        Field("to_status", "str", "till status", required=True, choices=FINDING_STATUSES),
        Field("owner", "str", "ansvarig", choices=OWNERS),
        Field("comment", "str", "kommentar", max_length=2000),
        # what happened: status (a status or owner change; empty on rows written before
        # edits existed), edit (the reporter corrected fields: ``changes``), delete (the
        # finding was removed; this row outlives it)
        Field("action", "str", "händelse", choices=HISTORY_ACTIONS),
        # JSON {field: [before, after]} of an edit, or the deleted finding's fields
        Field("changes", "str", "ändringar"),
    ),
)

#: Mails waiting to be sent (and sent ones, for the log): one row per mail, written in
#: the same transaction as the status change that causes it (layers/domain/notify.py).
NOTIFY_OUTBOX = LayerSchema(
    name="notify_outbox",
    label="e-post att skicka",
    geometry_type="",
    time_field="created_at",
    fields=(
        Field("id", "str", "id", required=True),
        Field("created_at", "datetime", "skapad", required=True),
        # not before this time (a daily digest waits for its hour; a failed send backs off)
        Field("due_at", "datetime", "skickas tidigast", required=True),
        Field("kind", "str", "slag", required=True),
        Field("finding_id", "str", "fynd"),
        Field("recipient", "str", "mottagare", required=True, max_length=254),
        # the user (reporter) or the owner key the mail is for
        Field("recipient_key", "str", "mottagarens nyckel"),
        Field("digest", "bool", "dagligt sammandrag"),
        Field("subject", "str", "ämne", required=True),
        Field("body", "str", "text", required=True),
        # pending, sending (claimed by a sender), sent, failed (gave up)
        Field("status", "str", "status", required=True),
        Field("attempts", "int", "försök"),
        Field("last_error", "str", "senaste fel"),
        Field("claimed_at", "datetime", "påbörjad"),
        Field("sent_at", "datetime", "skickad"),
    ),
)

#: How far an agreed measure of a platssamverkan site has come.
MEASURE_STATUSES: dict[str, str] = {
    "planerad": "planerad",
    "pagar": "pågår",
    "klar": "klar",
    "installd": "inställd",
}

#: Measures the partners of a platssamverkan site agreed on: what, who, by when.
SITE_MEASURES = LayerSchema(
    name="site_measures",
    label="platssamverkans åtgärder",
    geometry_type="",
    fields=(
        Field("id", "str", "id"),
        Field("site_id", "str", "plats", required=True),
        Field("measure", "str", "åtgärd", required=True, max_length=2000,
              aliases=("åtgärd", "atgard")),
        Field("owner", "str", "ansvarig", required=True, max_length=200,
              aliases=("ansvarig", "ägare")),
        Field("due_date", "date", "klar senast", aliases=("klar senast", "senast", "datum")),
        Field("status", "str", "status", choices=MEASURE_STATUSES),
        Field("created_at", "datetime", "registrerad"),
        Field("created_by", "str", "registrerad av"),
    ),
)

#: The log of a platssamverkan site: meetings and activities, dated.
SITE_ACTIVITY_LOG = LayerSchema(
    name="site_activity_log",
    label="platssamverkans logg",
    geometry_type="",
    fields=(
        Field("id", "str", "id"),
        Field("site_id", "str", "plats", required=True),
        Field("date", "date", "datum", required=True, aliases=("datum",)),
        Field("kind", "str", "slag", required=True, choices=SITE_ACTIVITIES,
              aliases=("slag", "typ", "aktivitet")),
        Field("note", "str", "anteckning", max_length=4000, aliases=("anteckning", "notering")),
        Field("created_at", "datetime", "registrerad"),
        Field("created_by", "str", "registrerad av"),
    ),
)

#: How many of each group took part in a walk (one row per walk and group).
WALK_PARTICIPANTS = LayerSchema(
    name="walk_participants",
    label="deltagare per grupp",
    geometry_type="",
    fields=(
        # "<walk id>:<group>"
        Field("id", "str", "id"),
        Field("walk_id", "str", "trygghetsvandring", required=True),
        Field("participant_group", "str", "grupp", required=True, choices=PARTICIPANT_GROUPS),
        Field("headcount", "int", "antal", required=True, minimum=0, maximum=10000),
    ),
)
