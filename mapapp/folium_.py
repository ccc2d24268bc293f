"""Embed folium maps in our own pages, with every asset served by the app.

``folium_parts(m)`` renders a folium map into the three pieces a Jinja page
needs (``header`` for <head>, ``html`` for the map <div>, ``script`` for the end
of <body>), after :func:`mapapp.assets.localize` has pointed every resource at
``static/vendor``. The basemap tile URL comes from the config (TILE_URL) and is
the only external address a page may use.
"""

from __future__ import annotations

import folium
from flask import current_app, url_for
from markupsafe import Markup

from mapapp.assets import localize


def vendor_url(path: str) -> str:
    """URL of a vendored file under static/vendor/."""
    return url_for("static", filename=f"vendor/{path}")


def base_map(location: tuple[float, float] = (59.3293, 18.0686), zoom_start: int = 11,
             **kwargs) -> folium.Map:
    """A folium map with the configured basemap (or none when TILE_URL is empty)."""
    tile_url = current_app.config.get("TILE_URL")
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None,
                   control_scale=True, prefer_canvas=True, **kwargs)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=current_app.config.get("TILE_ATTRIBUTION", ""),
                         name="Bakgrundskarta", max_zoom=19, overlay=False,
                         control=True).add_to(m)
    return m


def folium_parts(m: folium.Map) -> dict[str, Markup]:
    """Render a map for embedding: {"header", "html", "script", "name"}."""
    localize(m, vendor_url)
    root = m.get_root()
    root.render()
    return {
        "header": Markup(root.header.render()),
        "html": Markup(root.html.render()),
        "script": Markup(root.script.render()),
        "name": m.get_name(),
    }
