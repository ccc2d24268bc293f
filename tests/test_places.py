"""Where is it? (issue 12, point 5): a named place and distance for every finding.

A walk of 12 waypoints near Husby centrum is imported (the GPX of ``test_walks``), a
platssamverkan site "Husby centrum" is drawn over part of it and "Kista torg" further
away; each finding's place names the nearest of them with the distance computed here
independently (pyproj + shapely in SWEREF 99 TM), in the protocol PDF (pdftotext),
DOCX and HTML, on the finding's page, in the map's data and in ``/api/findings``.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import docx
import geopandas as gpd
import pytest
import shapely
from infra import create_user, login, require_or_skip
from test_walks import WAYPOINTS, imported  # noqa: F401  (a fixture used here)

from layers.analysis.places import Place, format_distance, places_for
from layers.documents.protocol import build_protocol
from layers.documents.protocol_render import render
from mapapp.store_ import get_store

#: Husby centrum: a box over the first waypoints (lon/lat), Kista torg about 1 km north.
HUSBY = shapely.box(17.9235, 59.4080, 17.9262, 59.4100)
KISTA = shapely.box(17.9440, 59.4020, 17.9460, 59.4030)


def _sites() -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"id": ["t:husby", "t:kista"], "name": ["Husby centrum", "Kista torg"],
         "partners": [None, None], "start_date": [None, None], "status": ["aktiv", "aktiv"],
         "contact": [None, None], "activities": [None, None], "sdo_code": ["jarva"] * 2,
         "sdo_name": ["Järva"] * 2},
        geometry=[shapely.MultiPolygon([HUSBY]), shapely.MultiPolygon([KISTA])], crs=4326)
    return frame.to_crs(3011)


def _expected(store) -> dict[str, tuple[str, float]]:
    """Marker -> (nearest site, metres), measured in another metric CRS (EPSG:3006)."""
    findings = store.read("findings").to_crs(3006)
    sites = _sites().to_crs(3006)
    out = {}
    for description, geom in zip(findings["description"], findings.geometry, strict=True):
        marker = re.search(r"WP\d\d", description).group()
        gaps = {name: geom.distance(poly) for name, poly in
                zip(sites["name"], sites.geometry, strict=True)}
        name = min(gaps, key=gaps.get)
        out[marker] = (name, gaps[name])
    return out


@pytest.fixture
def placed(imported, store):  # noqa: F811  (the fixture imported above)
    store.write({"sites": _sites()})
    return imported[0], _expected(store)


def test_format_distance_is_swedish():
    assert format_distance(0) == "inom platsen"
    assert format_distance(4) == "under 10 m"
    assert format_distance(44) == "40 m"
    assert format_distance(996) == "1,0 km"
    assert format_distance(1234) == "1,2 km"
    assert Place("Farsta", "Farsta centrum", 40.0).text == "Farsta centrum, 40 m (stadsdel Farsta)"
    assert Place("Farsta").text == "stadsdel Farsta" and Place().text == "okänd plats"


def test_places_name_the_nearest_site_with_its_distance(placed, store):
    _, expected = placed
    findings = store.read("findings")
    places = places_for(findings, _sites(), {"husby": "Husby"})
    inside = 0
    for description, place in zip(findings["description"], places, strict=True):
        name, metres = expected[re.search(r"WP\d\d", description).group()]
        assert place.name == name
        # two metric systems agree to well under a metre over these distances
        assert place.distance_m == pytest.approx(metres, abs=1.0)
        inside += metres == 0
        assert place.stadsdel == "Husby"
    # the fixture has findings both inside the site and outside it
    assert 0 < inside < len(WAYPOINTS)


def test_protocol_pdf_prints_a_named_place_and_distance_for_every_finding(placed, store,
                                                                          tmp_path):
    require_or_skip("pdftotext (poppler-utils)", bool(shutil.which("pdftotext")))
    walk_id, expected = placed
    pdf = tmp_path / "protokoll.pdf"
    pdf.write_bytes(render(build_protocol(store, walk_id), "pdf"))
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    text = re.sub(r"\s+", " ", text)
    blocks = re.split(r"Fynd \d+: ", text)[1:]
    assert len(blocks) == len(WAYPOINTS)
    for block in blocks:
        marker = re.search(r"WP\d\d", block).group()
        name, metres = expected[marker]
        # the finding's own block: its heading up to the next finding's heading
        assert f"{name}, {format_distance(metres)} (stadsdel Husby)" in block, \
            (marker, metres, block[:300])


def test_protocol_docx_and_html_print_the_place(placed, store):
    walk_id, expected = placed
    protocol = build_protocol(store, walk_id)
    html = render(protocol, "html").decode()
    document = docx.Document(io.BytesIO(render(protocol, "docx")))
    lines = [p.text for p in document.paragraphs if p.text.startswith("Plats: ")]
    assert len(lines) == len(WAYPOINTS)
    for name, metres in expected.values():
        near = f"{name}, {format_distance(metres)}"
        assert near in html
        assert any(line.startswith(f"Plats: {near}") for line in lines)


def test_finding_page_popups_and_api_show_the_place(placed, app):
    create_user(app, "lasse", "läsare")
    client = app.test_client()
    login(client, "lasse")
    walk_id, expected = placed
    with app.app_context():
        findings = get_store().read("findings")
    marker_of = {fid: re.search(r"WP\d\d", d).group()
                 for fid, d in zip(findings["id"], findings["description"], strict=True)}
    fid = findings["id"].iloc[0]
    name, metres = expected[marker_of[fid]]
    page = client.get(f"/findings/{fid}").get_data(as_text=True)
    assert f"{name}, {format_distance(metres)}" in page
    walk_page = client.get(f"/walks/{walk_id}").get_data(as_text=True)
    assert f'"place": "{name}, {format_distance(metres)} (stadsdel Husby)"' in walk_page
    features = client.get("/api/findings?limit=50").get_json()["features"]
    assert len(features) == len(WAYPOINTS)
    for feature in features:
        place = feature["properties"]["place"]
        name, metres = expected[marker_of[feature["id"]]]
        assert (place["name"], place["stadsdel"]) == (name, "Husby")
        assert place["distance_m"] == round(metres)
    # anonymous callers get the place too (sites and stadsdelar are public)
    public = app.test_client().get("/api/findings?limit=1").get_json()["features"][0]
    assert public["properties"]["place"]["name"] in ("Husby centrum", "Kista torg")
