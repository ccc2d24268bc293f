"""The store is a GeoPackage that other GIS tools open: ogrinfo (GDAL), fiona, pyogrio.

QGIS and ArcGIS read GeoPackages through the same rules GDAL checks, so a store that
``ogrinfo`` lists without complaint, whose layers are in EPSG:3011 and whose spatial
index answers bbox queries, opens in them too.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import warnings
from pathlib import Path

import fiona
import pyogrio
import pytest

from mapapp.cli import cli

LAYERS = ["stadsdelar", "stadsdelsomraden", "incidents", "findings", "sites"]
INCIDENTS_CSV = (
    "id,occurred_at,category,lon,lat,description\n"
    "a1,2024-01-15 21:30,rån,18.0725,59.3144,Medborgarplatsen – åäö\n"
    "a2,2024-07-15 08:15,skadegörelse,18.0649,59.3325,Sergels torg\n"
    "a3,2023-06-30 23:30,misshandel,17.9446,59.4030,Kista torg\n"
    "a4,2024-03-31 02:30,stöld,17.6389,59.8586,Uppsala\n"
)
FINDINGS_CSV = (
    "datum;kategori;allvarlighet;lon;lat\n"
    "2024-05-01 21:00;belysning;3;17,9446;59,4030\n"
    "2024-05-01 21:10;klotter;1;17,9450;59,4035\n"
)
SITES = {
    "type": "FeatureCollection",
    "features": [{
        "type": "Feature",
        "properties": {"namn": "Kista torg", "parter": "polisen, Kista centrum",
                       "startdatum": "2021-03-01", "status": "aktiv"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [17.9436, 59.4025], [17.9456, 59.4025], [17.9456, 59.4035], [17.9436, 59.4035],
            [17.9436, 59.4025]]]},
    }],
}


def ogrinfo() -> str:
    path = shutil.which("ogrinfo")
    if path is None:
        pytest.skip("ogrinfo is not installed (apt-get install gdal-bin)")
    return path


@pytest.fixture
def gpkg(runner, data_dir: Path, tmp_path: Path) -> Path:
    """A store with incidents, findings and a site, as a closed GeoPackage file."""
    files = {
        "incidents": ("incidents.csv", INCIDENTS_CSV),
        "findings": ("fynd.csv", FINDINGS_CSV),
        "sites": ("platser.geojson", json.dumps(SITES)),
    }
    for layer, (name, text) in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = runner.invoke(cli, ["import", layer, str(path), "--data-dir", str(data_dir)])
        assert result.exit_code == 0, result.output
    path = data_dir / "trygghetskartan.gpkg"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def test_ogrinfo_lists_every_layer(gpkg):
    result = subprocess.run([ogrinfo(), "-ro", "-q", str(gpkg)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr and "Warning" not in result.stderr, result.stderr
    listed = [line.split(":", 1)[1].split("(")[0].strip()
              for line in result.stdout.splitlines() if ":" in line]
    for layer in LAYERS:
        assert layer in listed, result.stdout


@pytest.mark.parametrize("layer, count, geometry", [
    ("stadsdelar", 117, "Multi Polygon"), ("stadsdelsomraden", 24, "Multi Polygon"),
    ("incidents", 4, "Point"), ("findings", 2, None), ("sites", 1, "Multi Polygon"),
])
def test_ogrinfo_reads_each_layer(gpkg, layer, count, geometry):
    result = subprocess.run([ogrinfo(), "-ro", "-so", str(gpkg), layer], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    assert f"Feature Count: {count}" in result.stdout
    assert 'ID["EPSG",3011]' in result.stdout or "SWEREF99 18 00" in result.stdout
    if geometry:
        assert f"Geometry: {geometry}" in result.stdout


def test_ogrinfo_uses_the_spatial_index(gpkg):
    """A bbox filter around Kista finds the Kista incident through the RTree index."""
    # Kista torg in EPSG:3011 is about (146 853, 6 587 564)
    result = subprocess.run(
        [ogrinfo(), "-ro", "-q", "-spat", "146000", "6587000", "147500", "6588000",
         str(gpkg), "incidents"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "import:a3" in result.stdout
    assert "import:a1" not in result.stdout
    index = subprocess.run(
        [ogrinfo(), "-ro", "-q", "-sql", "SELECT HasSpatialIndex('incidents', 'geom')",
         str(gpkg)], capture_output=True, text=True, timeout=60)
    assert "= 1" in index.stdout, index.stdout


def test_fiona_lists_the_layers_in_epsg_3011(gpkg):
    names = fiona.listlayers(gpkg)
    for layer in LAYERS:
        assert layer in names
    for layer in LAYERS:
        with fiona.open(gpkg, layer=layer) as collection:
            assert collection.crs.to_epsg() == 3011, layer
            assert len(collection) > 0, layer
    with fiona.open(gpkg, layer="incidents") as collection:
        features = {f["properties"]["id"]: f for f in collection}
    assert features["import:a1"]["properties"]["description"] == "Medborgarplatsen – åäö"
    assert features["import:a1"]["properties"]["stadsdel"] == "sodermalm"


def test_pyogrio_reads_the_incidents_back(gpkg, store):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. GDAL's "non-conformant datetime" warning
        frame = pyogrio.read_dataframe(gpkg, layer="incidents")
    assert len(frame) == store.count("incidents") == 4
    assert frame.crs.to_epsg() == 3011
    stored = store.read("incidents").set_index("id")
    frame = frame.set_index("id")
    for row_id in stored.index:
        assert frame.loc[row_id, "occurred_at"] == stored.loc[row_id, "occurred_at"]
        assert frame.geometry[row_id].equals_exact(stored.geometry[row_id], 1e-9)
    info = pyogrio.read_info(gpkg, layer="findings")
    assert info["features"] == 2


def test_exported_geopackage_is_standard(runner, gpkg, data_dir, tmp_path):
    """``export`` writes times in UTC as the GeoPackage standard asks; GDAL reads it quietly."""
    out = tmp_path / "export.gpkg"
    result = runner.invoke(cli, ["export", "incidents", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = pyogrio.read_dataframe(out)
    assert len(frame) == 4
    assert frame.crs.to_epsg() == 3011
    conn = sqlite3.connect(out)
    try:
        times = [r[0] for r in conn.execute("SELECT occurred_at FROM incidents")]
    finally:
        conn.close()
    assert all(t.endswith("Z") for t in times), times
