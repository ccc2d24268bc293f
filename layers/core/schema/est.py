"""EST (Effektiv samordning för trygghet): the problem register and its action plans."""

from __future__ import annotations

from layers.core.schema.fields import Field, LayerSchema
from layers.core.schema.records import MEASURE_STATUSES

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

#: Statuses of an action in the EST action plan: those of a platssamverkan measure, which
#: an action may be carried out as.
ACTION_STATUSES: dict[str, str] = MEASURE_STATUSES

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
