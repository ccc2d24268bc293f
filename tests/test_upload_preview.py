"""One upload preview for every format (issue 12, acceptance point 3).

Each format (CSV, GeoJSON, GeoPackage, KML, GPX, zipped Shapefile) goes through the
same preview: valid rows and refused rows with Swedish messages, nothing stored until
the confirm, which stores the valid rows only. The template as downloaded is refused
whole ("exempelraden"); a point in Uppsala is a refused row naming the row; a GPX walk
with one unreadable waypoint is stored without it after the preview.
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from test_findings_web import (
    confirm,
    count,
    csrf_token,
    flashes,
    multipart,
    preview_token,
    upload,
    user_client,
    walk_csv,
)
from test_walks import run, walk_gpx

from layers.core.errors import RowError
from mapapp.store_ import get_store

HUSBY = (17.92810, 59.40912)  # lon, lat
UPPSALA = (17.6389, 59.8586)
GOOD = {"datum": "2025-05-14 21:00", "kategori": "klotter", "allvarlighet": 2}
BAD = {"datum": "2025-05-14 21:05", "kategori": "ufo", "allvarlighet": 2}


def rejected_rows(page: str) -> list[tuple[str, str, str]]:
    """(row, field, reason) of the preview's table of refused rows."""
    table = re.search(r'<table[^>]*id="rejected".*?</table>', page, re.S)
    assert table, "the preview lists no refused rows"
    return [tuple(html.unescape(c).strip() for c in cells) for cells in re.findall(
        r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table.group(0))]


def three_points(tmp_path: Path, fmt: str) -> bytes:
    """A file of three findings: row 1 valid, row 2 an unknown category, row 3 in Uppsala."""
    rows = [(GOOD, HUSBY), (BAD, (HUSBY[0] + 0.001, HUSBY[1])), (GOOD, UPPSALA)]
    if fmt == "csv":
        lines = ["datum;kategori;allvarlighet;breddgrad;längdgrad"]
        lines += [f"{p['datum']};{p['kategori']};{p['allvarlighet']};{lat};{lon}"
                  for p, (lon, lat) in rows]
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")
    if fmt == "geojson":
        return json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": p,
             "geometry": {"type": "Point", "coordinates": list(xy)}} for p, xy in rows]}
        ).encode()
    if fmt == "kml":
        marks = "".join(
            f"<Placemark><name>{p['kategori']}</name>"
            f"<TimeStamp><when>2025-05-14T21:00:00+02:00</when></TimeStamp>"
            f"<Point><coordinates>{lon},{lat},0</coordinates></Point></Placemark>"
            for p, (lon, lat) in rows)
        return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                f'kml/2.2"><Document>{marks}</Document></kml>').encode()
    if fmt == "gpx":
        points = "".join(
            f'<wpt lat="{lat}" lon="{lon}"><time>2025-05-14T19:00:00Z</time>'
            f"<name>{p['kategori']}</name><type>{p['kategori']}</type></wpt>"
            for p, (lon, lat) in rows)
        return ('<?xml version="1.0"?><gpx version="1.1" creator="test" '
                f'xmlns="http://www.topografix.com/GPX/1/1">{points}</gpx>').encode()
    frame = gpd.GeoDataFrame([p for p, _ in rows],
                             geometry=[shapely.Point(xy) for _, xy in rows], crs=4326)
    if fmt == "gpkg":
        path = tmp_path / "w.gpkg"
        frame.to_file(path, driver="GPKG")
        return path.read_bytes()
    assert fmt == "zip"
    # a Shapefile's column names have at most 10 characters: "prio" is an alias
    frame = frame.rename(columns={"allvarlighet": "prio"})
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "fynd.shp", driver="ESRI Shapefile", encoding="utf-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, part.name)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg", "kml", "gpx", "zip"])
def test_each_format_previews_refused_rows_in_swedish_then_stores_the_rest(app, tmp_path, fmt):
    client = user_client(app, "ingrid", "inventerare")
    token = preview_token(upload(client, three_points(tmp_path, fmt), name=f"vandring.{fmt}"))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    assert "3 rader lästa" in page and "1 giltiga" in page and "2 avvisade" in page, page
    refused = rejected_rows(page)
    # the file's own row (CSV: the line, the header is row 1; others: the feature)
    first = 2 if fmt == "csv" else 1
    assert [r for r, _, _ in refused] == [str(first + 1), str(first + 2)]
    assert refused[0][1] == "kategori" and "okänd kategori 'ufo'" in refused[0][2]
    assert refused[1][2].startswith("punkten ligger utanför Stockholms stad (")
    assert " km från närmaste stadsdel" in refused[1][2]
    assert count(app, "findings") == 0  # nothing before the confirm

    assert confirm(client, token).status_code == 302
    assert "1 nya fynd sparades" in flashes(client)
    with app.app_context():
        stored = get_store().read("findings")
    assert len(stored) == 1 and stored["category"].iloc[0] == "klotter"
    assert stored["stadsdel"].notna().all()


def test_cancel_stores_nothing(app, tmp_path):
    client = user_client(app, "ingrid", "inventerare")
    token = preview_token(upload(client, three_points(tmp_path, "geojson"),
                                 name="vandring.geojson"))
    response = client.post(f"/findings/upload/{token}/cancel",
                           data={"csrf_token": csrf_token(client, f"/findings/upload/{token}")})
    assert response.status_code == 302
    assert count(app, "findings") == 0
    assert client.get(f"/findings/upload/{token}").status_code == 404


def test_the_template_as_downloaded_is_refused_whole(app):
    client = user_client(app, "ingrid", "inventerare")
    template = client.get("/findings/template.csv")
    assert template.status_code == 200 and b"EXEMPEL (ta bort raden)" in template.data
    token = preview_token(upload(client, template.data, name="trygghetsvandring-mall.csv"))
    response = client.get(f"/findings/upload/{token}")
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "exempelraden" in page and "rad 2" in page and "Inget sparades" in page
    assert count(app, "findings") == 0


def test_the_template_with_the_example_row_among_real_rows_is_refused_whole(app):
    client = user_client(app, "ingrid", "inventerare")
    template = client.get("/findings/template.csv").data.decode("utf-8-sig")
    real = walk_csv(3).decode("cp1252").split("\r\n", 1)[1]
    # the template's header orders columns differently: write the real rows in its order
    header = template.split("\r\n", 1)[0].split(";")
    lines = [dict(zip(["datum", "kategori", "allvarlighet", "beskrivning", "ansvarig",
                       "breddgrad", "längdgrad"], r.split(";"), strict=True))
             for r in real.strip().split("\r\n")]
    body = template + "".join(";".join(r.get(h, "") for h in header) + "\r\n" for r in lines)
    token = preview_token(upload(client, body.encode("utf-8"), name="mall.csv"))
    response = client.get(f"/findings/upload/{token}")
    assert response.status_code == 422
    assert "exempelraden" in html.unescape(response.get_data(as_text=True))
    assert count(app, "findings") == 0


def test_a_walk_upload_with_a_point_in_uppsala_names_the_row(app, tmp_path):
    client = user_client(app, "ingrid", "inventerare")
    data = walk_csv(4).decode("cp1252").split("\r\n")
    # row 4 (the third finding) moved to Uppsala
    cells = data[3].split(";")
    cells[5], cells[6] = "59,8586", "17,6389"
    data[3] = ";".join(cells)
    token = preview_token(upload(client, "\r\n".join(data).encode("cp1252"),
                                 walk="new", walk_date="2025-05-14", walk_area="Husby",
                                 walk_participants="5"))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    refused = rejected_rows(page)
    assert len(refused) == 1 and refused[0][0] == "4"
    assert refused[0][2].startswith("punkten ligger utanför Stockholms stad")
    confirm(client, token)
    assert count(app, "findings") == 3 and count(app, "walks") == 1


def test_the_api_refuses_a_point_in_uppsala_naming_the_row(app):
    from infra import create_user

    from layers.domain.users import new_token

    create_user(app, "api", "inventerare")
    with app.app_context():
        token = new_token(get_store(), "api")
    rows = [{**GOOD, "lat": HUSBY[1], "lon": HUSBY[0]},
            {**GOOD, "lat": UPPSALA[1], "lon": UPPSALA[0]}]
    response = app.test_client().post("/api/findings", json=rows,
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    errors = response.get_json()
    assert [(e["row"], e["field"]) for e in errors] == [(2, None)]
    assert errors[0]["message"].startswith("punkten ligger utanför Stockholms stad")
    assert count(app, "findings") == 0


def test_row_errors_name_fields_in_swedish():
    assert str(RowError(3, "category", "okänd kategori 'ufo'")) == \
        "rad 3, fält 'category' (kategori): okänd kategori 'ufo'"
    assert str(RowError(3, "found_at", "x", header="datum")) == "rad 3, fält 'datum': x"
    assert str(RowError(4, "geometry", "saknas")) == "rad 4, fält 'geometry' (plats): saknas"
    assert str(RowError(5, None, "punkten ligger utanför Stockholms stad")) == \
        "rad 5: punkten ligger utanför Stockholms stad"


def test_a_point_just_outside_a_boundary_is_kept(app, tmp_path):
    """Points within the tolerance of a stadsdel (the shore, GPS error) are in the city."""
    with app.app_context():
        stadsdelar = get_store().read("stadsdelar")
    union = shapely.union_all(stadsdelar.geometry.to_numpy())
    edge = shapely.get_exterior_ring(max(getattr(union, "geoms", [union]),
                                         key=lambda g: g.area))
    # 30 m outside the city's outer edge, in the store's metres, then to WGS 84
    outside = shapely.difference(shapely.buffer(edge, 30).exterior, union)
    point = shapely.line_interpolate_point(outside, 0.37, normalized=True) \
        if outside.geom_type == "LineString" else shapely.get_geometry(outside, 0).centroid
    lonlat = gpd.GeoSeries([point], crs=stadsdelar.crs).to_crs(4326).iloc[0]
    assert not union.contains(point)
    client = user_client(app, "ingrid", "inventerare")
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": GOOD,
         "geometry": {"type": "Point", "coordinates": [lonlat.x, lonlat.y]}}]}).encode()
    token = preview_token(upload(client, data, name="kant.geojson"))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    assert "1 giltiga" in page and "0 avvisade" in page


def test_preview_fits_a_phone(app, tmp_path):
    """The refused rows are in a scrolling table, not a wider page (390 px)."""
    client = user_client(app, "ingrid", "inventerare")
    token = preview_token(upload(client, three_points(tmp_path, "csv")))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    assert 'name="viewport"' in page and 'width=device-width' in page
    assert re.search(r'class="table-responsive[^"]*">\s*<table[^>]*id="rejected"', page)


# --- a GPX walk (/walks/import): the same preview -------------------------------------------


def gpx_walk(bad_type: str | None = None, uppsala: bool = False) -> bytes:
    """The 12-waypoint test walk; WP03 with ``bad_type``, WP07 moved to Uppsala."""
    text = walk_gpx()
    if bad_type:
        text = re.sub(r"(<name>WP03</name><desc>[^<]*</desc><type>)[^<]*", rf"\g<1>{bad_type}",
                      text)
    if uppsala:
        text = re.sub(r'<wpt lat="[^"]+" lon="[^"]+">(<time>[^<]*</time><name>WP07<)',
                      rf'<wpt lat="{UPPSALA[1]}" lon="{UPPSALA[0]}">\g<1>', text)
    return text.encode()


def walk_upload(client, data: bytes):
    response = client.post("/walks/import", **multipart({
        "csrf_token": csrf_token(client, "/walks"), "file": (data, "vandring.gpx"),
        "organisers": "Järva SDF"}))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "/findings/upload/" in response.headers["Location"]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_a_gpx_walk_with_an_unreadable_waypoint_is_stored_without_it(app):
    client = user_client(app, "ingrid", "inventerare")
    token = walk_upload(client, gpx_walk(bad_type="ufo"))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    assert "12 rader lästa" in page and "11 giltiga" in page and "1 avvisade" in page
    assert "Trygghetsvandring 2024-11-05" in page
    refused = rejected_rows(page)
    assert [(r, f) for r, f, _ in refused] == [("3", "kategori")]
    assert "okänd kategori 'ufo'" in refused[0][2]
    assert count(app, "findings") == 0 and count(app, "walks") == 0
    assert count(app, "walk_routes") == 0

    response = confirm(client, token)
    assert response.status_code == 302 and "/walks/" in response.headers["Location"]
    walk_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        store = get_store()
        findings = store.read("findings")
        log = store.read("import_log").iloc[-1]
    assert len(findings) == 11 and findings["walk_id"].eq(walk_id).all()
    assert not findings["description"].str.contains("WP03").any()
    assert count(app, "walks") == 1 and count(app, "walk_routes") == 1
    assert (log["rows_read"], log["rows_loaded"], log["rows_rejected"]) == (12, 11, 1)


def test_a_gpx_walk_with_a_point_in_uppsala_names_the_row(app):
    client = user_client(app, "ingrid", "inventerare")
    token = walk_upload(client, gpx_walk(uppsala=True))
    page = client.get(f"/findings/upload/{token}").get_data(as_text=True)
    refused = rejected_rows(page)
    assert [r for r, _, _ in refused] == ["7"]
    assert refused[0][2].startswith("punkten ligger utanför Stockholms stad")
    assert count(app, "findings") == 0


def test_the_cli_refuses_a_gpx_walk_with_a_point_in_uppsala_whole(app, data_dir, tmp_path):
    """Without a preview (the CLI, the API) a walk is all or nothing, naming the row."""
    path = tmp_path / "vandring.gpx"
    path.write_bytes(gpx_walk(uppsala=True))
    result = run(data_dir, "import", "walk", str(path))
    assert result.exit_code == 1, result.output
    assert "rad 7: punkten ligger utanför Stockholms stad" in result.output
    assert count(app, "findings") == 0 and count(app, "walks") == 0
