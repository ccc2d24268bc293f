"""The schema of every layer, in one place.

Readers, validation, the stores (GeoPackage and PostGIS), the API and the exports
all take their field lists, types, Swedish labels and category taxonomies from
here, so a field is added or renamed in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Everything is stored in metres in SWEREF 99 18 00, Stockholm's local system.
STORE_EPSG = 3011
#: Maps and the JSON API speak WGS 84.
WEB_EPSG = 4326
#: Coordinate systems a file may be in without being reprojected by a declared CRS.
ACCEPTED_EPSG = (4326, 3006, 3011)
#: Europe/Stockholm: naive times in input files are local time.
LOCAL_TZ = "Europe/Stockholm"

#: The day Stockholm went from 13 to 11 stadsdelsområden.
DIVISION_CHANGE = "2023-07-01"


@dataclass(frozen=True)
class Category:
    """One entry in a category taxonomy: a stable ASCII code and its Swedish name."""

    code: str
    label: str
    group: str = ""
    strategic: bool = False
    sensitive: bool = False
    weight: float = 1.0
    aliases: tuple[str, ...] = ()


# --- incidents -------------------------------------------------------------------

#: Category groups used by the map filter and the briefs (code -> Swedish label).
INCIDENT_GROUPS: dict[str, str] = {
    "vald": "Våld och hot",
    "egendom": "Egendomsbrott",
    "narkotika": "Narkotika",
    "olycka": "Bränder och olyckor",
    "ovrigt": "Övrigt",
}

INCIDENT_CATEGORIES: tuple[Category, ...] = (
    Category("ran", "rån", "vald", strategic=True, weight=3.0, aliases=("personrån",)),
    Category("misshandel", "misshandel", "vald", weight=2.0, aliases=("grov misshandel",)),
    Category("hot", "hot", "vald", weight=1.5, aliases=("olaga hot",)),
    Category("ofredande", "ofredande", "vald", weight=1.0),
    Category("sexualbrott", "sexualbrott", "vald", sensitive=True, weight=2.0,
             aliases=("våldtäkt", "sexuellt ofredande", "sedlighetsbrott")),
    Category("vald_nara_relation", "våld i nära relation", "vald", sensitive=True,
             weight=2.0, aliases=("våld i nära relationer", "vinr")),
    Category("skottlossning", "skottlossning/sprängning", "vald", weight=3.0,
             aliases=("skottlossning", "sprängning", "explosion", "detonation")),
    Category("dodligt_vald", "mord/dråp", "vald", weight=3.0,
             aliases=("mord", "dråp", "mord/dråp", "dödligt våld")),
    Category("skadegorelse", "skadegörelse", "egendom", weight=1.0),
    Category("klotter", "klotter", "egendom", weight=0.5, aliases=("graffiti",)),
    Category("stold", "stöld", "egendom", weight=1.0),
    Category("inbrott", "inbrott", "egendom", weight=1.5, aliases=("bostadsinbrott",)),
    Category("tillgrepp_motorfordon", "tillgrepp av motorfordon", "egendom", strategic=True,
             weight=2.0, aliases=("bilstöld", "fordonsstöld", "motorfordon, stöld")),
    Category("narkotikabrott", "narkotikabrott", "narkotika", strategic=True, weight=2.0,
             aliases=("narkotika",)),
    Category("vald_hot_tjansteman", "våld/hot mot tjänsteman", "vald", strategic=True,
             weight=3.0, aliases=("våld mot tjänsteman", "hot mot tjänsteman")),
    Category("overgrepp_rattssak", "övergrepp i rättssak", "vald", strategic=True, weight=3.0),
    Category("brand", "brand", "olycka", weight=1.0, aliases=("anlagd brand", "mordbrand")),
    Category("trafikolycka", "trafikolycka", "olycka", weight=0.5),
    Category("fallolycka", "fallolycka", "olycka", weight=0.5),
    Category("ovrigt", "övrigt", "ovrigt", weight=1.0, aliases=("annat",)),
)

VICTIM_GENDERS: dict[str, str] = {"kvinna": "kvinna", "man": "man", "annat": "annat/okänt"}
#: Other words for the genders that registers use.
VICTIM_GENDER_ALIASES: dict[str, str] = {
    "k": "kvinna", "f": "kvinna", "flicka": "kvinna", "female": "kvinna", "woman": "kvinna",
    "m": "man", "pojke": "man", "male": "man", "okänt": "annat", "okänd": "annat",
}

#: How exactly an incident's place is known. Only "exact" may be drawn as a point.
PRECISIONS: dict[str, str] = {
    "exact": "exakt adress/punkt",
    "street": "gata",
    "stadsdel": "stadsdel",
    "kommun": "kommun",
}

# --- findings (trygghetsvandring) -------------------------------------------------

FINDING_CATEGORIES: tuple[Category, ...] = (
    Category("belysning", "belysning", aliases=("trasig belysning", "mörkt", "lighting")),
    Category("vegetation", "vegetation/buskage", aliases=("vegetation", "buskage", "buskar")),
    Category("klotter", "klotter", aliases=("graffiti",)),
    Category("nedskrapning", "nedskräpning", aliases=("skräp",)),
    Category("skymd_sikt", "skymd sikt"),
    Category("trasig_utrustning", "trasig utrustning"),
    Category("otrygg_passage", "otrygg passage/tunnel",
             aliases=("otrygg passage", "tunnel", "gångtunnel")),
    Category("overgiven_byggnad", "övergiven byggnad"),
    Category("ovrigt", "övrigt", aliases=("annat",)),
)

FINDING_STATUSES: dict[str, str] = {
    "ny": "ny",
    "tilldelad": "tilldelad",
    "atgardad": "åtgärdad",
    "avvisad": "avvisad",
}
#: Allowed status changes: ny → tilldelad → åtgärdad / avvisad.
FINDING_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "ny": ("tilldelad", "avvisad"),
    "tilldelad": ("atgardad", "avvisad", "ny"),
    "atgardad": ("tilldelad",),
    "avvisad": ("ny",),
}
OPEN_STATUSES = ("ny", "tilldelad")

OWNERS: dict[str, str] = {
    "trafikkontoret": "trafikkontoret",
    "fastighetsagare": "fastighetsägare",
    "bostadsbolag": "bostadsbolag",
    "stadsdelsforvaltningen": "stadsdelsförvaltningen",
    "polisen": "polisen",
    "ovrig": "övrig",
}

# --- sites (platssamverkan) -------------------------------------------------------

SITE_STATUSES: dict[str, str] = {"planerad": "planerad", "aktiv": "aktiv", "avslutad": "avslutad"}
SITE_ACTIVITIES: dict[str, str] = {
    "platsaktivering": "platsaktivering",
    "stadning": "städning",
    "belysning": "belysning",
    "vaktare": "väktare",
    "kameror": "kameror",
    "mote": "möte",
    "ovrigt": "övrigt",
}


# --- fields and layers ------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``datetime`` (time zone
    aware), ``date``. ``aliases`` are the other headers a file may use for it
    (Swedish headers from Excel, other tools' names); matching ignores case.
    ``derived`` fields are computed on import (joins, taxonomy flags) and never read
    from a file.
    """

    name: str
    kind: str
    label: str
    required: bool = False
    #: Allowed values: code -> Swedish label (both are accepted on input).
    choices: dict[str, str] | None = None
    aliases: tuple[str, ...] = ()
    derived: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class LayerSchema:
    """A stored layer: its table name, geometry type and fields."""

    name: str
    label: str
    geometry_type: str
    fields: tuple[Field, ...]
    #: Columns a file must have (besides the geometry); others are optional.
    time_field: str | None = None
    categories: tuple[Category, ...] = field(default=())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def input_fields(self) -> list[Field]:
        return [f for f in self.fields if not f.derived]


_JOINED = (
    Field("stadsdel", "str", "stadsdel", derived=True),
    Field("sdo_code", "str", "stadsdelsområde (kod)", derived=True),
    Field("sdo_name", "str", "stadsdelsområde", derived=True),
    Field("site_id", "str", "platssamverkan", derived=True),
)

INCIDENTS = LayerSchema(
    name="incidents",
    label="händelser",
    geometry_type="POINT",
    time_field="occurred_at",
    categories=INCIDENT_CATEGORIES,
    fields=(
        Field("id", "str", "id", aliases=("händelse-id", "handelse_id", "diarienummer", "nr")),
        Field("occurred_at", "datetime", "tidpunkt", required=True,
              aliases=("datum", "tid", "tidpunkt", "date", "datetime", "händelsetid")),
        Field("category", "str", "kategori", required=True,
              aliases=("kategori", "brottstyp", "typ", "type", "händelsetyp")),
        Field("source", "str", "källa", aliases=("källa", "kalla")),
        Field("precision", "str", "lägesprecision", choices=PRECISIONS,
              aliases=("precision", "lägesprecision", "noggrannhet")),
        Field("victim_gender", "str", "brottsoffrets kön", choices=VICTIM_GENDERS,
              aliases=("kön", "kon", "offer_kön", "brottsoffer_kön", "gender")),
        Field("description", "str", "beskrivning", max_length=4000,
              aliases=("beskrivning", "text", "summary", "sammanfattning")),
        Field("strategic", "bool", "strategiskt brott", derived=True),
        Field("sensitive", "bool", "känslig kategori", derived=True),
        *_JOINED,
    ),
)

FINDINGS = LayerSchema(
    name="findings",
    label="fynd från trygghetsvandring",
    geometry_type="GEOMETRY",
    time_field="found_at",
    categories=FINDING_CATEGORIES,
    fields=(
        Field("id", "str", "id", aliases=("fynd-id", "fynd_id")),
        Field("found_at", "datetime", "datum", required=True,
              aliases=("datum", "date", "tid", "time", "tidpunkt")),
        Field("category", "str", "kategori", required=True, aliases=("kategori", "typ")),
        Field("severity", "int", "allvarlighet (1–3)", required=True, minimum=1, maximum=3,
              aliases=("allvarlighet", "allvarlighetsgrad", "prio", "prioritet")),
        Field("description", "str", "beskrivning", max_length=4000,
              aliases=("beskrivning", "kommentar", "desc", "text")),
        Field("owner", "str", "ansvarig", choices=OWNERS,
              aliases=("ansvarig", "ägare", "agare", "ansvarig_aktör")),
        Field("status", "str", "status", choices=FINDING_STATUSES),
        Field("walk_id", "str", "trygghetsvandring", aliases=("vandring", "vandrings-id")),
        Field("photo", "str", "foto", aliases=("bild", "foto")),
        Field("created_by", "str", "registrerad av", derived=True),
        Field("created_at", "datetime", "registrerad", derived=True),
        Field("status_changed_at", "datetime", "status ändrad", derived=True),
        Field("fixed_at", "datetime", "åtgärdad", derived=True),
        *_JOINED,
    ),
)

SITES = LayerSchema(
    name="sites",
    label="platssamverkan",
    geometry_type="MULTIPOLYGON",
    categories=(),
    fields=(
        Field("id", "str", "id"),
        Field("name", "str", "namn", required=True, aliases=("namn", "plats")),
        Field("partners", "str", "parter", aliases=("parter", "samverkansparter")),
        Field("start_date", "date", "startdatum", aliases=("startdatum", "start", "från")),
        Field("status", "str", "status", choices=SITE_STATUSES),
        Field("contact", "str", "kontakt", aliases=("kontakt", "kontaktperson")),
        Field("activities", "str", "aktiviteter", aliases=("aktiviteter", "åtgärder")),
        Field("sdo_code", "str", "stadsdelsområde (kod)", derived=True),
        Field("sdo_name", "str", "stadsdelsområde", derived=True),
    ),
)

STADSDELAR = LayerSchema(
    name="stadsdelar",
    label="stadsdelar",
    geometry_type="MULTIPOLYGON",
    fields=(
        Field("code", "str", "kod", required=True),
        Field("name", "str", "namn", required=True),
    ),
)

STADSDELSOMRADEN = LayerSchema(
    name="stadsdelsomraden",
    label="stadsdelsområden",
    geometry_type="MULTIPOLYGON",
    fields=(
        Field("code", "str", "kod", required=True),
        Field("name", "str", "namn", required=True),
        Field("number", "int", "nämndnummer"),
        Field("division", "str", "indelning", required=True),
        Field("valid_from", "date", "gäller från", required=True),
        Field("valid_to", "date", "gäller till"),
    ),
)

# --- trygghetsvandringar: routes and participants (see layers/domain/walks.py) -------------

#: Groups a walk's participants are counted in: counts only, never names. The first
#: four are roles, the last four describe people, so one person may count in a role
#: and in a group of people; the walk's total (``walks.participants``) is kept apart.
PARTICIPANT_GROUPS: dict[str, str] = {
    "boende": "boende",
    "polis": "polis",
    "fastighetsagare": "fastighetsägare",
    "forvaltning": "förvaltning",
    "unga": "unga",
    "aldre": "äldre",
    "kvinnor": "kvinnor",
    "man": "män",
}
#: The role groups of :data:`PARTICIPANT_GROUPS` (the rest describe people).
PARTICIPANT_ROLES = ("boende", "polis", "fastighetsagare", "forvaltning")

#: The route of a walk, drawn on the map or read from a GPX track (id = the walk's id).
WALK_ROUTES = LayerSchema(
    name="walk_routes",
    label="trygghetsvandringarnas rutter",
    geometry_type="MULTILINESTRING",
    fields=(
        Field("id", "str", "trygghetsvandring"),
        Field("source", "str", "källa (ritad, gpx, fil)"),
        Field("updated_at", "datetime", "senast ändrad"),
        Field("updated_by", "str", "ändrad av"),
    ),
)


#: Layers a user may import with ``trygghetskartan import LAYER FILE``.
IMPORTABLE = {s.name: s for s in (INCIDENTS, FINDINGS, SITES, STADSDELAR)}
#: Every spatial layer the store keeps.
SPATIAL_LAYERS = {s.name: s for s in (STADSDELAR, STADSDELSOMRADEN, INCIDENTS, FINDINGS, SITES,
                                         WALK_ROUTES)}


def category_lookup(categories: tuple[Category, ...]) -> dict[str, str]:
    """Map every code, label and alias (lower case) to the category's code."""
    table: dict[str, str] = {}
    for c in categories:
        for key in (c.code, c.label, *c.aliases):
            table[key.strip().lower()] = c.code
    return table


def by_code(categories: tuple[Category, ...]) -> dict[str, Category]:
    """Index a taxonomy by code."""
    return {c.code: c for c in categories}


STRATEGIC_CODES = tuple(c.code for c in INCIDENT_CATEGORIES if c.strategic)
SENSITIVE_CODES = tuple(c.code for c in INCIDENT_CATEGORIES if c.sensitive)


# --- attribute tables (no geometry) -----------------------------------------------

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

#: Statuses of a problem in the EST register (BRÅ's Effektiv samordning för trygghet).
PROBLEM_STATUSES: dict[str, str] = {
    "aktivt": "aktivt",
    "bevakas": "bevakas",
    "avslutat": "avslutat",
}
#: What a problem is about: a place (made from a priority place) or a theme.
PROBLEM_KINDS: dict[str, str] = {"plats": "plats", "tema": "tema"}

#: The EST problem register: a place or theme the group works on, scored by need
#: (how serious) and influence (how much the group can change it), each 1–5, with the
#: evidence linked at creation (a priority place's name and outline as they were then:
#: the ranking is recomputed, so the place is kept, not a reference to it).
PROBLEMS = LayerSchema(
    name="problems",
    label="problem (EST)",
    geometry_type="",
    fields=(
        Field("id", "str", "id", required=True),
        Field("sdo_code", "str", "stadsdelsområde (kod)", required=True),
        Field("title", "str", "rubrik", required=True, max_length=200),
        Field("kind", "str", "slag", required=True, choices=PROBLEM_KINDS),
        Field("description", "str", "beskrivning", max_length=4000),
        Field("need", "int", "behov", minimum=1, maximum=5),
        Field("influence", "int", "påverkbarhet", minimum=1, maximum=5),
        Field("status", "str", "status", required=True, choices=PROBLEM_STATUSES),
        # the priority place it was made from: name, rank and period of the ranking,
        # outline (WKT, EPSG:3011, rounded to the metre) and centroid
        Field("place_name", "str", "plats", max_length=200),
        Field("place_rank", "int", "rang"),
        Field("place_period", "str", "rangordningens period"),
        Field("place_wkt", "str", "platsens yta (WKT)"),
        Field("place_x", "float", "x (EPSG:3011)"),
        Field("place_y", "float", "y (EPSG:3011)"),
        # evidence: JSON lists of finding ids and incident categories (the place's
        # counts per category at creation)
        Field("finding_ids", "str", "fynd (JSON)"),
        Field("incident_summary", "str", "händelser (JSON)"),
        Field("created_at", "datetime", "skapad"),
        Field("created_by", "str", "skapad av"),
        Field("updated_at", "datetime", "ändrad"),
    ),
)

#: Statuses of an action in the EST action plan.
ACTION_STATUSES: dict[str, str] = {
    "planerad": "planerad",
    "pagar": "pågår",
    "klar": "klar",
    "installd": "inställd",
}

#: The EST action plan: what is done about a problem, by whom, by when, and when the
#: group follows it up; optionally the platssamverkan measure it is carried out as.
ACTIONS = LayerSchema(
    name="actions",
    label="handlingsplan (EST)",
    geometry_type="",
    fields=(
        Field("id", "str", "id", required=True),
        Field("problem_id", "str", "problem", required=True),
        Field("sdo_code", "str", "stadsdelsområde (kod)", required=True),
        Field("what", "str", "åtgärd", required=True, max_length=2000),
        Field("owner", "str", "ansvarig", required=True, max_length=200),
        Field("deadline", "date", "klar senast"),
        Field("status", "str", "status", required=True, choices=ACTION_STATUSES),
        Field("follow_up", "date", "uppföljning"),
        Field("measure_id", "str", "platssamverkans åtgärd"),
        Field("created_at", "datetime", "skapad"),
        Field("created_by", "str", "skapad av"),
        Field("updated_at", "datetime", "ändrad"),
    ),
)

#: Every state an action has had (one row per creation or change), so a brief for a
#: closed period shows the action plan as it stood at the period's end.
ACTION_HISTORY = LayerSchema(
    name="action_history",
    label="handlingsplanens historik",
    geometry_type="",
    time_field="changed_at",
    fields=(
        Field("id", "str", "id", required=True),
        Field("action_id", "str", "åtgärd", required=True),
        Field("changed_at", "datetime", "ändrad", required=True),
        Field("changed_by", "str", "ändrad av"),
        Field("what", "str", "åtgärd"),
        Field("owner", "str", "ansvarig"),
        Field("deadline", "date", "klar senast"),
        Field("status", "str", "status", choices=ACTION_STATUSES),
        Field("follow_up", "date", "uppföljning"),
    ),
)

#: Every table without geometry that the store keeps.
ATTRIBUTE_TABLES = {s.name: s for s in (IMPORT_LOG, POPULATION, WALKS, USERS, API_TOKENS,
                                        SESSIONS, LOGIN_ATTEMPTS,
                                        BRIEF_TEXTS, FINDING_HISTORY, NOTIFY_OUTBOX,
                                        SITE_MEASURES, SITE_ACTIVITY_LOG, WALK_PARTICIPANTS,
                                        AUDIT_LOG, PROBLEMS, ACTIONS, ACTION_HISTORY)}

#: The version of the stored schema this code reads and writes. A store keeps its
#: version (``store_meta``); a store made before versions existed (release 0.1.0) is
#: version 1. ``trygghetskartan migrate`` upgrades an older store
#: (:mod:`layers.store.migrate` lists the steps); the app refuses to open a newer one.
#: A new nullable column or a new table needs no new version (``initialize`` adds
#: them); a change that must rewrite stored rows does.
SCHEMA_VERSION = 4
