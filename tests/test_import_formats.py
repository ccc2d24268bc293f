"""Every input format: GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ and GPX.

Files are written in the test (with pyogrio or as text) so each case shows exactly
what the user's file looks like. Places are checked to the centimetre after
reprojection, and dangerous files (XML entity bombs, zip bombs) are refused.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point

import layers.io.readers.checks
from layers.core.schema import FINDINGS, INCIDENTS
from layers.io.readers import category_in_text
from mapapp.cli import cli

KISTA = (17.9446, 59.4030)
MEDBORGARPLATSEN = (18.0725, 59.3144)
TO_3011 = Transformer.from_crs(4326, 3011, always_xy=True)


def run_import(runner, data_dir: Path, path: Path, layer: str = "incidents", *extra: str):
    result = runner.invoke(cli, ["import", layer, str(path), "--data-dir", str(data_dir),
                                 *extra])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def in_3011(lon: float, lat: float) -> Point:
    return Point(TO_3011.transform(lon, lat))


def incidents_frame(crs: int = 4326) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"id": ["g1", "g2"],
         "occurred_at": ["2024-05-01T21:30:00+02:00", "2024-05-02 08:15"],
         "category": ["rån", "misshandel"],
         "description": ["Väska tagen", "Slagsmål på torget"]},
        geometry=[Point(*MEDBORGARPLATSEN), Point(*KISTA)], crs=4326)
    return frame.to_crs(crs)


def assert_two_incidents(store):
    frame = store.read("incidents").sort_values("id").reset_index(drop=True)
    assert list(frame["id"]) == ["import:g1", "import:g2"]
    assert list(frame["category"]) == ["ran", "misshandel"]
    assert list(frame["stadsdel"]) == ["sodermalm", "kista"]
    assert frame.geometry.iloc[0].distance(in_3011(*MEDBORGARPLATSEN)) < 0.01
    assert frame.geometry.iloc[1].distance(in_3011(*KISTA)) < 0.01
    assert frame["occurred_at"].iloc[1] == pd.Timestamp("2024-05-02 08:15",
                                                        tz="Europe/Stockholm")


# --- GeoJSON and GeoPackage -------------------------------------------------------------


def test_geojson_rfc7946(runner, store, data_dir, tmp_path):
    path = tmp_path / "incidents.geojson"
    pyogrio.write_dataframe(incidents_frame(), path, driver="GeoJSON")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    assert_two_incidents(store)


@pytest.mark.parametrize("epsg", [3857, 3006, 3011])
def test_geojson_with_declared_crs_is_reprojected(runner, store, data_dir, tmp_path, epsg):
    path = tmp_path / "incidents.geojson"
    pyogrio.write_dataframe(incidents_frame(epsg), path, driver="GeoJSON")
    assert f"EPSG::{epsg}" in path.read_text()  # the file declares it
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    assert_two_incidents(store)


def test_geojson_without_crs_member_in_sweref_needs_crs(runner, store, data_dir, tmp_path):
    frame = incidents_frame(3006)
    collection = json.loads(frame.to_json())
    collection.pop("crs", None)
    path = tmp_path / "sweref.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")

    refused = run_import(runner, data_dir, path)
    assert refused.exit_code == 1
    assert "anger inget koordinatsystem" in refused.output

    result = run_import(runner, data_dir, path, "incidents", "--crs", "3006")
    assert result.exit_code == 0, result.output
    assert_two_incidents(store)


@pytest.mark.parametrize("epsg", [3857, 4326, 3011])
def test_geopackage_in_any_declared_crs(runner, store, data_dir, tmp_path, epsg):
    path = tmp_path / "incidents.gpkg"
    pyogrio.write_dataframe(incidents_frame(epsg), path, layer="händelser")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    assert_two_incidents(store)


def test_findings_from_geojson_with_a_line(runner, store, data_dir, tmp_path):
    frame = gpd.GeoDataFrame(
        {"datum": ["2024-05-01 21:00", "2024-05-01 21:15"],
         "kategori": ["Belysning", "otrygg passage/tunnel"], "allvarlighet": [3, 1],
         "kommentar": ["Lampa trasig", "Mörk gångtunnel"]},
        geometry=[Point(*KISTA), LineString([KISTA, (17.9452, 59.4036)])], crs=4326)
    path = tmp_path / "fynd.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    result = run_import(runner, data_dir, path, "findings")
    assert result.exit_code == 0, result.output
    stored = store.read("findings").sort_values("found_at")
    assert list(stored["category"]) == ["belysning", "otrygg_passage"]
    assert list(stored["severity"]) == [3, 1]
    assert list(stored["status"]) == ["ny", "ny"]
    assert list(stored.geometry.geom_type) == ["Point", "LineString"]
    assert list(stored["description"]) == ["Lampa trasig", "Mörk gångtunnel"]


# --- Shapefile ---------------------------------------------------------------------------


def write_zipped_shapefile(folder: Path, frame: gpd.GeoDataFrame, *, prj: bool = True) -> Path:
    shp_dir = folder / "shp"
    shp_dir.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL warns that long field names are cut
        pyogrio.write_dataframe(frame, shp_dir / "handelser.shp", driver="ESRI Shapefile",
                                encoding="UTF-8")
    path = folder / "handelser.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp_dir.iterdir()):
            if part.suffix == ".prj" and not prj:
                continue
            zf.write(part, f"handelser/{part.name}")
    return path


def shapefile_frame() -> gpd.GeoDataFrame:
    # Swedish headers as a GIS user would have them; 'beskrivning' is cut to 10 letters
    return gpd.GeoDataFrame(
        {"datum": ["2024-05-01 21:30", "2024-05-02 08:15"], "kategori": ["Rån", "misshandel"],
         "beskrivning": ["Väska tagen på Medborgarplatsen", "Slagsmål på Kista torg"],
         "id": ["g1", "g2"]},
        geometry=[Point(*MEDBORGARPLATSEN), Point(*KISTA)], crs=4326).to_crs(3006)


def test_zipped_shapefile_in_sweref99tm(runner, store, data_dir, tmp_path):
    path = write_zipped_shapefile(tmp_path, shapefile_frame())
    with zipfile.ZipFile(path) as zf:
        assert "SWEREF99_TM" in zf.read("handelser/handelser.prj").decode()
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    assert_two_incidents(store)
    stored = store.read("incidents").sort_values("id")
    assert list(stored["description"]) == ["Väska tagen på Medborgarplatsen",
                                           "Slagsmål på Kista torg"]


def test_shapefile_without_prj_needs_crs(runner, store, data_dir, tmp_path):
    path = write_zipped_shapefile(tmp_path, shapefile_frame(), prj=False)
    refused = run_import(runner, data_dir, path)
    assert refused.exit_code == 1
    assert "anger inget koordinatsystem" in refused.output
    assert store.count("incidents") == 0
    result = run_import(runner, data_dir, path, "incidents", "--crs", "3006")
    assert result.exit_code == 0, result.output
    assert_two_incidents(store)


def test_zip_bomb_is_refused(runner, store, data_dir, tmp_path, monkeypatch):
    path = write_zipped_shapefile(tmp_path, shapefile_frame())
    monkeypatch.setattr(layers.io.readers.checks, "MAX_UNZIPPED_BYTES", 1000)
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 1
    assert "packas upp till" in result.output and "mer än tillåtet" in result.output
    assert store.count("incidents") == 0


def test_zip_that_expands_too_many_times_is_refused(runner, store, data_dir, tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.shp", b"\0" * 3_000_000)
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 1
    assert "packas upp till" in result.output


def test_zip_without_shapefile(runner, data_dir, tmp_path):
    path = tmp_path / "annat.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hej")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 1
    assert "innehåller ingen .shp-fil" in result.output


# --- KML / KMZ ----------------------------------------------------------------------------

MY_MAPS_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>Trygghetsvandring Kista 2024</name>
    <Style id="icon-1899-0288D1"><IconStyle><scale>1</scale></IconStyle></Style>
    <Folder>
      <name>Fynd</name>
      <Placemark>
        <name>Belysning: trasig lampa</name>
        <description><![CDATA[Lampan vid gångvägen är trasig.<br>Mörkt efter 16.]]></description>
        <styleUrl>#icon-1899-0288D1</styleUrl>
        <ExtendedData>
          <Data name="datum"><value>2024-05-01 21:00</value></Data>
        </ExtendedData>
        <Point><coordinates>17.9446,59.4030,0</coordinates></Point>
      </Placemark>
      <Placemark>
        <name>Buskar vid busshållplatsen</name>
        <description>Skymd sikt, man ser inte vem som kommer</description>
        <styleUrl>#icon-1899-0288D1</styleUrl>
        <ExtendedData>
          <Data name="datum"><value>2024-05-01 21:10</value></Data>
        </ExtendedData>
        <Point><coordinates>17.9450,59.4035,0</coordinates></Point>
      </Placemark>
    </Folder>
    <Folder>
      <name>Fler fynd</name>
      <Placemark>
        <name>Klotter på elskåpet</name>
        <TimeStamp><when>2024-05-01T21:20:00+02:00</when></TimeStamp>
        <Point><coordinates>17.9460,59.4040,0</coordinates></Point>
      </Placemark>
    </Folder>
  </Document>
</kml>
"""


def test_findings_from_google_my_maps_kml(runner, store, data_dir, tmp_path):
    path = tmp_path / "vandring.kml"
    path.write_text(MY_MAPS_KML, encoding="utf-8")

    result = run_import(runner, data_dir, path, "findings")

    assert result.exit_code == 0, result.output
    assert "3 nya rader sparade" in result.output
    assert "allvarlighet 2" in result.output  # the default is reported
    stored = store.read("findings").sort_values("found_at").reset_index(drop=True)
    # "Buskar" in the name wins over "Skymd sikt" in the description
    assert list(stored["category"]) == ["belysning", "vegetation", "klotter"]
    assert list(stored["severity"]) == [2, 2, 2]
    assert list(stored["found_at"].astype(str)) == [
        "2024-05-01 21:00:00+02:00", "2024-05-01 21:10:00+02:00", "2024-05-01 21:20:00+02:00"]
    assert stored["description"].iloc[0] == \
        "Belysning: trasig lampa – Lampan vid gångvägen är trasig.\nMörkt efter 16."
    assert stored.geometry.iloc[0].distance(in_3011(*KISTA)) < 0.01
    assert set(stored["stadsdel"]) == {"kista"}


def test_incidents_from_kml_with_extended_data(runner, store, data_dir, tmp_path):
    kml = MY_MAPS_KML.replace('<Data name="datum">',
                              '<Data name="kategori"><value>skadegörelse</value></Data>'
                              '<Data name="datum">')
    path = tmp_path / "handelser.kml"
    path.write_text(kml, encoding="utf-8")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    stored = store.read("incidents").sort_values("occurred_at")
    # a 'kategori' column wins; the placemark without one gets it from its name
    assert list(stored["category"]) == ["skadegorelse", "skadegorelse", "klotter"]


def test_kml_row_without_category_names_the_row(runner, store, data_dir, tmp_path):
    kml = MY_MAPS_KML.replace("Klotter på elskåpet", "Något konstigt här")
    path = tmp_path / "vandring.kml"
    path.write_text(kml, encoding="utf-8")
    result = run_import(runner, data_dir, path, "findings")
    assert result.exit_code == 1
    assert "rad 3, fält 'category' (kategori): okänd kategori 'Något konstigt här'" in result.output
    assert store.count("findings") == 0


def test_kmz(runner, store, data_dir, tmp_path):
    path = tmp_path / "vandring.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", MY_MAPS_KML)
    result = run_import(runner, data_dir, path, "findings")
    assert result.exit_code == 0, result.output
    assert store.count("findings") == 3


BOMB = """<?xml version="1.0"?>
<!DOCTYPE kml [
  <!ENTITY a "hahahahahahahahahahahahahahahahaha">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>
  <name>&d;</name><Point><coordinates>17.9446,59.4030,0</coordinates></Point>
</Placemark></Document></kml>
"""


@pytest.mark.parametrize("suffix", [".kml", ".kmz", ".gpx"])
def test_xml_entity_bomb_is_refused(runner, store, data_dir, tmp_path, suffix):
    path = tmp_path / f"bomb{suffix}"
    if suffix == ".kmz":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("doc.kml", BOMB)
    else:
        path.write_text(BOMB.replace("kml [", "gpx ["), encoding="utf-8")
    result = run_import(runner, data_dir, path, "findings")
    assert result.exit_code == 1
    assert "innehåller en DTD" in result.output and "säkerhetsskäl" in result.output
    assert store.count("findings") == 0


# --- GPX ----------------------------------------------------------------------------------

GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="OsmAnd" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="59.4030" lon="17.9446">
    <ele>21.5</ele>
    <time>2024-05-01T19:00:00Z</time>
    <name>Klotter på väggen</name>
    <desc>Stort klotter vid gångtunneln</desc>
  </wpt>
  <wpt lat="59.4035" lon="17.9450">
    <time>2024-05-01T19:05:00Z</time>
    <name>Mörkt</name>
    <desc>Belysning saknas längs stigen</desc>
  </wpt>
  <wpt lat="59.4040" lon="17.9460">
    <time>2024-05-01T19:10:00Z</time>
    <name>Punkt 3</name>
    <desc>Mycket skräp, nedskräpning vid återvinningen</desc>
  </wpt>
  <trk><name>Rundan</name><trkseg>
    <trkpt lat="59.4030" lon="17.9446"><time>2024-05-01T19:00:00Z</time></trkpt>
    <trkpt lat="59.4040" lon="17.9460"><time>2024-05-01T19:10:00Z</time></trkpt>
  </trkseg></trk>
</gpx>
"""


def test_findings_from_gpx_waypoints(runner, store, data_dir, tmp_path):
    path = tmp_path / "vandring.gpx"
    path.write_text(GPX, encoding="utf-8")

    result = run_import(runner, data_dir, path, "findings")

    assert result.exit_code == 0, result.output
    assert "3 nya rader sparade" in result.output  # waypoints only, not the track
    assert "allvarlighet 2 (medel)" in result.output
    stored = store.read("findings").sort_values("found_at").reset_index(drop=True)
    assert list(stored["category"]) == ["klotter", "belysning", "nedskrapning"]
    assert list(stored["severity"]) == [2, 2, 2]
    # <time> is UTC; stored in Stockholm time
    assert str(stored["found_at"].iloc[0]) == "2024-05-01 21:00:00+02:00"
    assert stored["description"].iloc[1] == "Mörkt – Belysning saknas längs stigen"
    assert stored.geometry.iloc[0].distance(in_3011(17.9446, 59.4030)) < 0.01


def test_incidents_from_gpx_waypoints(runner, store, data_dir, tmp_path):
    gpx = GPX.replace("Klotter på väggen", "Rån vid tunneln").replace(
        "<name>Mörkt</name>", "<name>Misshandel</name>").replace(
        "<name>Punkt 3</name>", "<name>Skadegörelse</name>")
    path = tmp_path / "handelser.gpx"
    path.write_text(gpx, encoding="utf-8")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    assert "allvarlighet" not in result.output  # incidents have no severity
    stored = store.read("incidents").sort_values("occurred_at")
    assert list(stored["category"]) == ["ran", "misshandel", "skadegorelse"]


def test_gpx_with_only_a_track_is_refused(runner, data_dir, tmp_path):
    path = tmp_path / "spar.gpx"
    start = GPX.index("<trk>")
    path.write_text(GPX[:GPX.index("<wpt")] + GPX[start:], encoding="utf-8")
    result = run_import(runner, data_dir, path, "findings")
    assert result.exit_code == 1
    assert "inga waypoints" in result.output or "innehåller inga objekt" in result.output


# --- the category rule -------------------------------------------------------------------


@pytest.mark.parametrize("text, code", [
    ("Belysning: trasig lampa", "belysning"),
    ("trasig lampa, dålig belysning", "belysning"),
    ("Mörkt vid gångtunneln", "belysning"),  # the first name wins
    ("Gångtunnel, mörk", "otrygg_passage"),
    ("Skymd sikt vid övergångsstället", "skymd_sikt"),
    ("vegetation/buskage", "vegetation"),
    ("Tunneln är otrygg", None),  # whole words only
    ("", None),
])
def test_category_in_text_for_findings(text, code):
    assert category_in_text(pd.Series([text]), FINDINGS).iloc[0] == code


def test_category_in_text_for_incidents():
    found = category_in_text(pd.Series(["Grov misshandel på torget", "Personrån", "Stöld"]),
                             INCIDENTS)
    assert list(found) == ["misshandel", "ran", "stold"]
