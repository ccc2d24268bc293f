"""Users and what they may do: roles, users, API tokens, sessions, log-ins, the audit log."""

from __future__ import annotations

from layers.core.schema.fields import Field, LayerSchema

#: Roles from least to most rights; each role may do what the ones before it may.
ROLES: dict[str, str] = {
    "läsare": "läser kartor och listor",
    "inventerare": "registrerar och laddar upp fynd",
    "handläggare": "tilldelar och ändrar status, ser allt i sitt område",
    "admin": "hanterar användare och importerar händelser",
}

#: How often a user wants status mails (empty: genast).
NOTIFY_CHOICES: dict[str, str] = {
    "genast": "genast, ett mejl per ändring",
    "dagligen": "ett sammandrag om dagen",
    "aldrig": "aldrig",
}

USERS = LayerSchema(
    name="users",
    label="användare",
    geometry_type="",
    fields=(
        Field("id", "str", "användarnamn", required=True),
        Field("role", "str", "roll", required=True, choices={r: r for r in ROLES}),
        Field("password_hash", "str", "lösenordshash", required=True),
        Field("sdo_code", "str", "stadsdelsområde (kod)"),
        Field("display_name", "str", "namn"),
        Field("active", "bool", "aktiv"),
        Field("created_at", "datetime", "skapad"),
        # where status mails go (the user's own choice on /auth/notifications)
        Field("email", "str", "e-post", max_length=254),
        Field("notify", "str", "aviseringar", choices=NOTIFY_CHOICES),
    ),
)

API_TOKENS = LayerSchema(
    name="api_tokens",
    label="API-nycklar",
    geometry_type="",
    fields=(
        # the sha256 of the token: the token itself is shown once and never stored
        Field("id", "str", "nyckelns sha256", required=True),
        Field("user_id", "str", "användare", required=True),
        Field("created_at", "datetime", "skapad"),
        Field("revoked", "bool", "återkallad"),
        # a label the owner chooses ("mobilappen"), shown in `users tokens`
        Field("name", "str", "namn", max_length=200),
        # NULL only on tokens made before tokens expired: created_at + the default term
        Field("expires_at", "datetime", "går ut"),
        # updated at most once a minute, so a busy client does not write on every call
        Field("last_used_at", "datetime", "senast använd"),
    ),
)

#: Signed-in browser sessions. The cookie carries a random session token; only its
#: sha256 is stored, so a copy of the table signs nobody in. Deleting a row ends the
#: session at once (log-out, password change, disabled user, an admin's decision).
SESSIONS = LayerSchema(
    name="sessions",
    label="inloggningar",
    geometry_type="",
    # the time field lets a Query find idle sessions (start/end) for pruning
    time_field="last_seen_at",
    fields=(
        Field("id", "str", "sessionens sha256", required=True),
        Field("user_id", "str", "användare", required=True),
        Field("created_at", "datetime", "inloggad", required=True),
        Field("last_seen_at", "datetime", "senast aktiv", required=True),
        Field("ip", "str", "adress", max_length=64),
        Field("user_agent", "str", "webbläsare", max_length=300),
    ),
)

#: Failed log-ins, kept only as long as the throttle needs them (minutes). The name
#: typed is stored as a sha256 because people sometimes type their password there.
LOGIN_ATTEMPTS = LayerSchema(
    name="login_attempts",
    label="misslyckade inloggningar",
    geometry_type="",
    time_field="attempted_at",
    fields=(
        Field("id", "str", "id", required=True),
        Field("username_hash", "str", "användarnamnets sha256", required=True),
        Field("address", "str", "klientens adress", max_length=64),
        Field("attempted_at", "datetime", "tidpunkt", required=True),
    ),
)


#: Who created, changed or deleted a finding, site, measure, walk, user or token, when,
#: and the values before and after (JSON objects; see :mod:`layers.core.audit`).
AUDIT_LOG = LayerSchema(
    name="audit_log",
    label="ändringslogg",
    geometry_type="",
    time_field="at",
    fields=(
        Field("id", "str", "id", required=True),
        Field("at", "datetime", "tidpunkt", required=True),
        Field("user_id", "str", "användare"),
        # finding, site, measure, walk, user, token (layers.core.audit.KINDS)
        Field("kind", "str", "slag", required=True),
        Field("object_id", "str", "objekt", required=True),
        # create, update, delete
        Field("action", "str", "händelse", required=True),
        Field("old_values", "str", "före (JSON)"),
        Field("new_values", "str", "efter (JSON)"),
    ),
)
