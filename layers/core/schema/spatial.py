"""The layers with a geometry (incidents, findings, sites, areas, walk routes), their taxonomies."""

from __future__ import annotations

from layers.core.schema.fields import JOINED_FIELDS, Category, Field, LayerSchema

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
        *JOINED_FIELDS,
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
        *JOINED_FIELDS,
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


STRATEGIC_CODES = tuple(c.code for c in INCIDENT_CATEGORIES if c.strategic)
SENSITIVE_CODES = tuple(c.code for c in INCIDENT_CATEGORIES if c.sensitive)
