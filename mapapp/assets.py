"""Serve every map asset from the app itself, never from a CDN.

Folium elements name their JavaScript/CSS resources (``leaflet``,
``markerclusterjs`` …) and point them at CDNs. :func:`localize` walks a folium
figure and repoints each resource at the vendored copy under
``static/vendor/`` (see its README for versions and licences). A resource we do
not vendor raises :class:`UnvendoredAsset`, so a new plugin cannot silently
leak visitors to a third party.
"""

from __future__ import annotations

from collections.abc import Callable

from branca.element import Element
from folium.elements import JSCSSMixin

#: folium resource name -> file under static/vendor/ (None: not needed, dropped)
VENDORED: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "bootstrap": "bootstrap/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/bootstrap.min.css",
    # Bootstrap 3 glyphicons: we only use Font Awesome icons
    "glyphicons_css": None,
    "awesome_markers": "awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    # rotation classes for rotated icons; we never rotate icons
    "awesome_rotate_css": None,
    "markerclusterjs": "markercluster/leaflet.markercluster.js",
    "markerclustercss": "markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/MarkerCluster.Default.css",
    "leaflet_draw_js": "leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/leaflet.draw.css",
}


class UnvendoredAsset(RuntimeError):
    """A folium element wants a resource that is not vendored."""


def _local(pairs: list[tuple[str, str]], url_for_vendor: Callable[[str], str]
           ) -> list[tuple[str, str]]:
    out = []
    for name, url in pairs:
        if name not in VENDORED:
            raise UnvendoredAsset(f"folium resource {name!r} ({url}) is not vendored; "
                                  "add it to mapapp/static/vendor and mapapp/assets.py")
        path = VENDORED[name]
        if path is not None:
            out.append((name, url_for_vendor(path)))
    return out


def _walk(element: Element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def localize(root: Element, url_for_vendor: Callable[[str], str]) -> None:
    """Point every JS/CSS resource of ``root`` and its children at vendored files."""
    for element in _walk(root):
        if isinstance(element, JSCSSMixin):
            # instance attributes shadow the class lists folium renders from
            element.default_js = _local(element.default_js, url_for_vendor)
            element.default_css = _local(element.default_css, url_for_vendor)
