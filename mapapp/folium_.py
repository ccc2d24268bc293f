"""Embed folium maps in our own pages, with every asset served by the app.

``folium_parts(m)`` renders a folium map into the three pieces a Jinja page
needs (``header`` for <head>, ``html`` for the map <div>, ``script`` for the end
of <body>), after :func:`mapapp.assets.localize` has pointed every resource at
``static/vendor``. The basemap tile URL comes from the config (TILE_URL) and is
the only external address a page may use.
"""

from __future__ import annotations

import re

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from jinja2 import Template
from markupsafe import Markup

from mapapp.assets import localize
from mapapp.security import csp_nonce

#: Folium resources our pages never take from folium: base.html loads Bootstrap itself
#: (a second copy of its JavaScript would toggle the menu twice).
PAGE_PROVIDES = {"jquery", "bootstrap", "bootstrap_css", "glyphicons_css"}
#: Resources only folium.Icon markers need.
ICON_RESOURCES = {"awesome_markers", "awesome_markers_css", "awesome_rotate_css",
                  "awesome_markers_font_css"}
_VIEWPORT_TAG = re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.IGNORECASE)
_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)", re.IGNORECASE)


def vendor_url(path: str) -> str:
    """URL of a vendored file under static/vendor/."""
    return url_for("static", filename=f"vendor/{path}")


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale``
    adds ``L.control.scale()``, which shows feet and miles too)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)


def base_map(location: tuple[float, float] = (59.3293, 18.0686), zoom_start: int = 11,
             **kwargs) -> folium.Map:
    """A folium map with the configured basemap (or none when TILE_URL is empty)."""
    tile_url = current_app.config.get("TILE_URL")
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None,
                   control_scale=False, prefer_canvas=True, **kwargs)
    MetricScale().add_to(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=current_app.config.get("TILE_ATTRIBUTION", ""),
                         name="Bakgrundskarta", max_zoom=19, overlay=False,
                         control=True).add_to(m)
    return m


def _uses_icons(m: folium.Map) -> bool:
    stack = [m]
    while stack:
        element = stack.pop()
        if isinstance(element, folium.Icon):
            return True
        stack.extend(element._children.values())
    return False


def _with_nonce(html: str) -> str:
    """Give folium's <script> tags this request's CSP nonce (its header has inline
    scripts, e.g. ``L_NO_TOUCH = false``, that the Content-Security-Policy would block)."""
    return _SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', html)


def folium_parts(m: folium.Map) -> dict[str, Markup]:
    """Render a map for embedding: {"header", "html", "script", "name"}.

    Leaflet comes from folium's defaults; Bootstrap and jQuery are dropped (the
    page has them), and so are the icon resources when no marker uses an icon.
    Folium's ``user-scalable=no`` viewport tag is removed: people must be able to
    zoom the page (WCAG 1.4.4), and base.html has its own viewport tag. The script
    tags of the header and html parts get the request's CSP nonce; the ``script``
    part is bare JavaScript that the template wraps in ``<script nonce=…>``.
    """
    unused = PAGE_PROVIDES | (set() if _uses_icons(m) else ICON_RESOURCES)
    m.default_js = [(n, u) for n, u in m.default_js if n not in unused]
    m.default_css = [(n, u) for n, u in m.default_css if n not in unused]
    localize(m, vendor_url)
    root = m.get_root()
    root.render()
    return {
        "header": Markup(_with_nonce(_VIEWPORT_TAG.sub("", root.header.render()))),
        "html": Markup(_with_nonce(root.html.render())),
        "script": Markup(root.script.render()),
        "name": m.get_name(),
    }
