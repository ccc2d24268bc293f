"""The ``findings`` blueprint and what its pages share: label tables, the place map.

Each concern of the findings pages adds its routes to :data:`bp` from its own
module (:mod:`mapapp.findings`); the endpoints are ``findings.<view>`` whichever
module holds the view.
"""

from __future__ import annotations

from flask import Blueprint
from markupsafe import Markup

from layers.core.schema import FINDING_STATUSES, OWNERS
from layers.domain import findings as core
from mapapp.folium_ import base_map, folium_parts
from mapapp.uploads import clean_abandoned_uploads
from mapapp.views import FIELD_LABELS, context_shapes

bp = Blueprint("findings", __name__)

STATUS_COLOURS = {"ny": "danger", "tilldelad": "warning", "atgardad": "success",
                  "avvisad": "secondary"}


@bp.record_once
def clean_at_start(state) -> None:
    """At app start: remove payload folders that killed API or walk uploads left behind."""
    clean_abandoned_uploads(state.app)


def labels() -> dict:
    """Label tables every findings template uses."""
    return {
        "categories": core.CATEGORY_LABELS,
        "statuses": FINDING_STATUSES,
        "owners": OWNERS,
        "status_colours": STATUS_COLOURS,
        "severities": core.SEVERITY_LABELS,
        "field_labels": FIELD_LABELS,
    }


def map_parts(zoom: int = 11) -> dict:
    """The folium map plus ``context``: the stadsdelar outlines (land) that place_map.js
    draws under everything, so the map reads (and a phone user sees where to tap)
    even when the basemap tiles do not load."""
    parts = folium_parts(base_map(zoom_start=zoom))
    parts["context"] = context_shapes()
    return parts


@bp.app_template_filter("nl2br_escaped")
def nl2br_escaped(text: str) -> Markup:
    """Escape a text and keep its line breaks."""
    return Markup("<br>").join(Markup.escape(text or "").split("\n"))
