"""Rejected imports: exit 1, a Swedish message naming the row and field (or the file
problem), and not one byte of any layer changed.

Every bad file is imported with the real CLI (``trygghetskartan import``) into a store
that already holds some incidents; a dump of every layer table (and its spatial index)
is compared before and after.
"""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from mapapp.cli import cli

GOOD_CSV = (
    "id,occurred_at,category,lon,lat,description\n"
    "g1,2024-05-01 21:30,rån,18.0725,59.3144,Medborgarplatsen\n"
    "g2,2024-05-02 08:15,skadegörelse,18.0649,59.3325,Sergels torg\n"
)
HEADER = "id,occurred_at,category,lon,lat\n"
TO_3011 = Transformer.from_crs(4326, 3011, always_xy=True)


def dump_layers(data_dir: Path) -> dict[str, list[tuple]]:
    """Every row of every layer table (and its RTree) except the import log."""
    conn = sqlite3.connect(data_dir / "trygghetskartan.gpkg")
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM gpkg_contents WHERE table_name != 'import_log' "
            "ORDER BY table_name")]
        rtrees = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rtree_%' "
            "AND name NOT LIKE '%\\_node' ESCAPE '\\' AND name NOT LIKE '%\\_parent' ESCAPE '\\' "
            "AND name NOT LIKE '%\\_rowid' ESCAPE '\\' ORDER BY name")]
        dump = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY fid').fetchall() for t in tables}
        dump.update({t: conn.execute(f'SELECT * FROM "{t}" ORDER BY id').fetchall()
                     for t in rtrees})
        return dump
    finally:
        conn.close()


def run_import(runner, data_dir: Path, path: Path, *extra: str, layer: str = "incidents"):
    result = runner.invoke(cli, ["import", layer, str(path), "--data-dir", str(data_dir),
                                 *extra])
    # an uncaught exception would also give exit code 1: make sure it was a clean exit
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def loaded(runner, data_dir: Path, tmp_path: Path) -> Path:
    """The test's store with two incidents already imported."""
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    result = run_import(runner, data_dir, good)
    assert result.exit_code == 0, result.output
    return data_dir


def _png_bytes() -> bytes:
    """A real (tiny) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _stockholm_3011_csv() -> str:
    """Points in Stockholm written in SWEREF 99 18 00 (EPSG:3011) metres."""
    lines = ["id,occurred_at,category,x,y"]
    for i, (lon, lat) in enumerate([(18.0725, 59.3144), (18.0649, 59.3325),
                                    (17.9446, 59.4030)], start=1):
        x, y = TO_3011.transform(lon, lat)
        lines.append(f"w{i},2024-05-0{i} 12:00,stöld,{x:.2f},{y:.2f}")
    return "\n".join(lines) + "\n"


def _geojson_in_3011_declared() -> str:
    x, y = TO_3011.transform(18.0725, 59.3144)
    return json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3011"}},
        "features": [{"type": "Feature",
                      "properties": {"id": "j1", "occurred_at": "2024-05-01 12:00",
                                     "category": "rån"},
                      "geometry": {"type": "Point", "coordinates": [x, y]}}],
    })


def _truncated_gpkg(folder: Path) -> bytes:
    frame = gpd.GeoDataFrame(
        {"id": [f"t{i}" for i in range(400)],
         "occurred_at": ["2024-05-01T12:00:00+02:00"] * 400,
         "category": ["stöld"] * 400,
         "description": ["en ganska lång beskrivning av händelsen " * 3] * 400},
        geometry=[Point(18.0 + i * 1e-4, 59.33) for i in range(400)], crs=4326)
    full = folder / "full.gpkg"
    pyogrio.write_dataframe(frame, full, layer="incidents")
    data = full.read_bytes()
    assert len(data) > 100_000
    return data[: len(data) // 2]


# name -> (file name, content, extra CLI args, words the message must contain)
BAD_FILES = {
    "missing required column": (
        "no_category.csv", "id,occurred_at,lon,lat\n1,2024-05-01 12:00,18.07,59.33\n", (),
        ["Kolumn saknas", "'category'", "kategori"]),
    "bad date": (
        "bad_date.csv", HEADER + "1,2024-05-01 12:00,rån,18.07,59.33\n"
                                 "2,2024-02-30 25:00,rån,18.07,59.33\n", (),
        ["rad 3, fält 'occurred_at'", "'2024-02-30 25:00' är inte en giltig tidpunkt"]),
    "text in a coordinate": (
        "text_coord.csv", HEADER + "1,2024-05-01 12:00,rån,18.07,femtionio\n", (),
        ["rad 2, fält 'lat'", "'femtionio' är inte ett tal"]),
    "outside Sweden": (
        "paris.csv", HEADER + "1,2024-05-01 12:00,rån,18.07,59.33\n"
                              "2,2024-05-01 13:00,rån,2.3522,48.8566\n", (),
        ["rad 3, fält 'geometri'", "ligger utanför Sverige"]),
    "x/y without --crs": (
        "sweref.csv", _stockholm_3011_csv(), (),
        ["inget koordinatsystem", "--crs 3006", "--crs 3011"]),
    "3011 numbers read as 3006": (
        "sweref.csv", _stockholm_3011_csv(), ("--crs", "3006"),
        ["rad 2, fält 'geometri'", "rad 4, fält 'geometri'", "ligger utanför Sverige",
         "annat koordinatsystem än EPSG:3006"]),
    "GeoJSON declares another CRS than --crs": (
        "declared.geojson", _geojson_in_3011_declared(), ("--crs", "3006"),
        ["anger koordinatsystemet EPSG:3011", "--crs 3006"]),
    "empty file": ("empty.csv", b"", (), ["Filen empty.csv är tom"]),
    "header only": ("header.csv", HEADER, (), ["har rubriker men inga rader"]),
    "PNG named .csv": ("image.csv", _png_bytes(), (), ["inte en textfil", "binära data"]),
    "unknown category": (
        "category.csv", HEADER + "1,2024-05-01 12:00,rån,18.07,59.33\n"
                                 "2,2024-05-01 13:00,cykelvurpa,18.07,59.33\n", (),
        ["rad 3, fält 'category'", "okänd kategori 'cykelvurpa'"]),
    "ragged row": (
        "ragged.csv", HEADER + "1,2024-05-01 12:00,rån,18.07,59.33,extra,mer\n", (),
        ["rad 2", "raden har 7 fält men rubrikraden har 5"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_rejected_and_nothing_changes(case, runner, loaded, tmp_path):
    file_name, content, extra, words = BAD_FILES[case]
    path = tmp_path / file_name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    before = dump_layers(loaded)
    assert len(before["incidents"]) == 2

    result = run_import(runner, loaded, path, *extra)

    assert result.exit_code == 1, result.output
    for word in words:
        assert word in result.output, f"{word!r} not in:\n{result.output}"
    assert "inget sparades" in result.output.lower()
    assert "Traceback" not in result.output
    assert dump_layers(loaded) == before


def test_truncated_geopackage_is_rejected(runner, loaded, tmp_path):
    path = tmp_path / "half.gpkg"
    path.write_bytes(_truncated_gpkg(tmp_path))
    before = dump_layers(loaded)

    result = run_import(runner, loaded, path)

    assert result.exit_code == 1, result.output
    assert "Filen half.gpkg är skadad eller ofullständig" in result.output
    assert "malformed" not in result.output  # no untranslated SQLite message
    assert dump_layers(loaded) == before


@pytest.mark.parametrize("fraction", [0.25, 0.9])
def test_geopackage_cut_anywhere_is_rejected(runner, loaded, tmp_path, fraction):
    full = tmp_path / "full.gpkg"
    _truncated_gpkg(tmp_path)  # writes full.gpkg
    data = full.read_bytes()
    path = tmp_path / "cut.gpkg"
    path.write_bytes(data[: int(len(data) * fraction)])
    before = dump_layers(loaded)

    result = run_import(runner, loaded, path)

    assert result.exit_code == 1, result.output
    assert "skadad eller ofullständig" in result.output
    assert dump_layers(loaded) == before


def test_sqlite_file_that_is_not_a_geopackage(runner, loaded, tmp_path):
    path = tmp_path / "plain.gpkg"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a)")
    conn.commit()
    conn.close()
    before = dump_layers(loaded)
    result = run_import(runner, loaded, path)
    assert result.exit_code == 1
    assert "ingen GeoPackage" in result.output
    assert dump_layers(loaded) == before


def test_partly_bad_file_stores_nothing_and_reports_every_row(runner, loaded, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER
                    + "1,2024-05-01 12:00,rån,18.07,59.33\n"
                    + "2,i förrgår,rån,18.07,59.33\n"
                    + "3,2024-05-01 12:00,rån,18.07,59.33\n"
                    + "4,2024-05-01 12:00,,18.07,59.33\n", encoding="utf-8")
    before = dump_layers(loaded)
    result = run_import(runner, loaded, path)
    assert result.exit_code == 1
    assert "rad 3, fält 'occurred_at'" in result.output
    assert "rad 5, fält 'category' (kategori): värde saknas" in result.output
    assert "rad 2," not in result.output and "rad 4," not in result.output
    assert dump_layers(loaded) == before


def test_blank_lines_keep_excel_row_numbers(runner, loaded, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(HEADER + "1,2024-05-01 12:00,rån,18.07,59.33\n\n"
                    + '2,2024-05-01 12:00,"stöld\ngrov",18.07,59.33\n', encoding="utf-8")
    result = run_import(runner, loaded, path)
    assert result.exit_code == 1
    # the header is row 1, the blank line row 3, the multi-line record row 4
    assert "rad 4, fält 'category'" in result.output


def test_windows_1252_semicolons_and_decimal_commas(runner, store, data_dir, tmp_path):
    text = ("datum;kategori;lat;lon;beskrivning\r\n"
            "2024-05-01 21:30;Rån;59,314412;18,072512;Väska stulen på Götgatan, "
            "förövaren sprang mot Åsögatan\r\n"
            "2024-05-02 08.15;skadegörelse;59,332512;18,064911;Krossad ruta – ÅÄÖ åäö\r\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8

    result = run_import(runner, data_dir, path)

    assert result.exit_code == 0, result.output
    assert "2 nya rader sparade" in result.output
    frame = store.read("incidents").sort_values("occurred_at").reset_index(drop=True)
    assert list(frame["description"]) == [
        "Väska stulen på Götgatan, förövaren sprang mot Åsögatan",
        "Krossad ruta – ÅÄÖ åäö",
    ]
    assert list(frame["category"]) == ["ran", "skadegorelse"]
    assert str(frame["occurred_at"].iloc[1]) == "2024-05-02 08:15:00+02:00"
    wgs = frame.to_crs(4326).geometry
    assert wgs.x.iloc[0] == pytest.approx(18.072512, abs=1e-6)
    assert wgs.y.iloc[0] == pytest.approx(59.314412, abs=1e-6)
    assert wgs.x.iloc[1] == pytest.approx(18.064911, abs=1e-6)
    assert wgs.y.iloc[1] == pytest.approx(59.332512, abs=1e-6)
    assert list(frame["stadsdel"]) == ["sodermalm", "norrmalm"]


def _truncated_text_files() -> dict[str, tuple[str, str]]:
    features = [{"type": "Feature",
                 "properties": {"occurred_at": "2024-05-01 12:00", "category": "rån"},
                 "geometry": {"type": "Point", "coordinates": [18.0 + i * 1e-3, 59.33]}}
                for i in range(40)]
    geojson = json.dumps({"type": "FeatureCollection", "features": features})
    gpx = ("<?xml version='1.0'?><gpx version='1.1' creator='t' "
           "xmlns='http://www.topografix.com/GPX/1/1'>"
           + "".join(f"<wpt lat='59.40{i:02d}' lon='17.94{i:02d}'><time>2024-05-01T19:{i:02d}:00Z"
                     f"</time><name>Rån {i}</name></wpt>" for i in range(40)) + "</gpx>")
    return {"geojson": ("cut.geojson", geojson[: len(geojson) // 2]),
            "gpx": ("cut.gpx", gpx[: len(gpx) // 2])}


@pytest.mark.parametrize("kind", ["geojson", "gpx"])
def test_truncated_text_formats_are_rejected_whole(runner, loaded, tmp_path, kind):
    name, text = _truncated_text_files()[kind]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = dump_layers(loaded)
    result = run_import(runner, loaded, path)
    assert result.exit_code == 1, result.output
    assert f"Filen {name} kunde inte läsas som" in result.output
    assert dump_layers(loaded) == before


def test_unexpected_failure_is_reported_in_swedish(runner, loaded, tmp_path, monkeypatch):
    import layers.io.importer

    def broken(*args, **kwargs):
        raise RuntimeError("GDAL sa nej")

    monkeypatch.setattr(layers.io.importer, "read_table", broken)
    path = tmp_path / "good.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    before = dump_layers(loaded)
    result = run_import(runner, loaded, path)
    assert result.exit_code == 1
    assert "Fel: filen good.csv kunde inte läsas in (RuntimeError: GDAL sa nej)" in result.output
    assert "Inget sparades" in result.output
    assert dump_layers(loaded) == before


def test_excel_sep_line(runner, store, data_dir, tmp_path):
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\nid;datum;kategori;lat;lon\n1;2024-05-01 12:00;rån;59,33;18,07\n"
                    "2;2024-05-01 13:00;hot;femtio;18,07\n", encoding="utf-8")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 1
    # rows are numbered as Excel shows them: the sep line is hidden
    assert "rad 3, fält 'lat' (breddgrad): 'femtio' är inte ett tal" in result.output


# --- two columns for the same field ---------------------------------------------------------


@pytest.mark.parametrize("file_name", ["both.csv", "both.geojson"])
def test_two_columns_for_one_field_are_rejected(runner, loaded, tmp_path, file_name):
    path = tmp_path / file_name
    if file_name.endswith(".csv"):
        path.write_text("id,datum,occurred_at,category,lon,lat\n"
                        "d1,2024-05-01 12:00,2024-05-01 12:00,rån,18.07,59.33\n",
                        encoding="utf-8")
    else:
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
            "type": "Feature",
            "properties": {"id": "d1", "datum": "2024-05-01 12:00",
                           "occurred_at": "2024-05-01 12:00", "category": "rån"},
            "geometry": {"type": "Point", "coordinates": [18.07, 59.33]}}]}),
            encoding="utf-8")
    before = dump_layers(loaded)

    result = run_import(runner, loaded, path)

    assert result.exit_code == 1, result.output
    assert "Kolumnerna 'datum' och 'occurred_at' betyder båda tidpunkt; ta bort den ena." \
        in result.output
    assert "Traceback" not in result.output and "dtype" not in result.output
    assert dump_layers(loaded) == before


# --- errors name the file's own header --------------------------------------------------------


def test_row_errors_name_the_files_swedish_headers(runner, loaded, tmp_path):
    path = tmp_path / "svenska.csv"
    path.write_text("id;datum;kategori;longitud;latitud\n"
                    "s1;2024-05-01 12:00;rån;18,07;59,33\n"
                    "s2;2024-02-30 25:00;rån;18,07;femtionio\n", encoding="utf-8")
    before = dump_layers(loaded)

    result = run_import(runner, loaded, path)

    assert result.exit_code == 1, result.output
    assert "rad 3, fält 'datum': '2024-02-30 25:00' är inte en giltig tidpunkt" in result.output
    assert "rad 3, fält 'latitud': 'femtionio' är inte ett tal" in result.output
    assert "occurred_at" not in result.output
    assert dump_layers(loaded) == before


def test_latitud_longitud_headers_are_coordinates(runner, loaded, tmp_path):
    path = tmp_path / "latlong.csv"
    path.write_text("id,datum,kategori,latitud,longitud\n"
                    "l1,2024-05-03 12:00,rån,59.3144,18.0725\n", encoding="utf-8")
    result = run_import(runner, loaded, path)
    assert result.exit_code == 0, result.output
    assert len(dump_layers(loaded)["incidents"]) == 3
