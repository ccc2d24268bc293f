"""Re-importing changes nothing, and export → import gives the same rows.

A layer exported to GeoPackage, GeoJSON and CSV and imported into a fresh store must
give the same ids, times, categories and other fields, with places within 1 mm.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from layers.store import open_store
from mapapp.cli import cli

#: Coordinates with many decimals, so that rounding in an export would show.
INCIDENTS_CSV = (
    "id,occurred_at,category,lon,lat,description,victim_gender,precision\n"
    "a1,2024-01-15 21:30,rån,18.07251234567,59.31441298765,vinter – Medborgarplatsen,kvinna,\n"
    "a2,2024-07-15 08:15:07,skadegörelse,18.06491876543,59.33251012345,\"sommar, Sergels torg\",,\n"
    "a3,2023-06-30 23:30,misshandel,17.94461112223,59.40301998877,,man,street\n"
    "a4,2024-10-27 02:30,sexualbrott,18.03,59.33,natt när klockan ställs om,,\n"
    "a5,2024-03-31T01:30:00Z,stöld,17.63891234,59.85861234,Uppsala,,\n"
    ",2024-05-01 12:00,brand,17.9070123,59.2770456,utan id,,\n"
)

FINDINGS_GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature",
         "properties": {"id": "f1", "datum": "2024-05-01 21:00", "kategori": "belysning",
                        "allvarlighet": 3, "beskrivning": "Trasig lampa", "ansvarig":
                        "trafikkontoret"},
         "geometry": {"type": "Point", "coordinates": [17.94461234567, 59.40301234567]}},
        {"type": "Feature",
         "properties": {"id": "f2", "datum": "2024-05-01 21:20", "kategori": "otrygg passage",
                        "allvarlighet": 2, "beskrivning": "Mörk gångtunnel"},
         "geometry": {"type": "LineString",
                      "coordinates": [[17.9450123, 59.4035123], [17.9461987, 59.4041456],
                                      [17.9470555, 59.4043777]]}},
    ],
}


def run(runner, *args: str | Path):
    result = runner.invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def fresh_dir(tmp_path: Path, reference_store_file: Path):
    """Make another fresh store (only the reference layers) in a new folder."""
    counter = iter(range(100))

    def make() -> Path:
        folder = tmp_path / f"fresh{next(counter)}"
        folder.mkdir()
        shutil.copy(reference_store_file, folder / reference_store_file.name)
        return folder

    return make


def read(folder: Path, layer: str) -> pd.DataFrame:
    store = open_store(folder)
    try:
        return store.read(layer).sort_values("id").reset_index(drop=True)
    finally:
        store.close()


def assert_same_rows(original, back, columns):
    assert list(back["id"]) == list(original["id"])
    for col in columns:
        left, right = original[col], back[col]
        if col.endswith("_at"):
            assert (left == right).all(), (col, left.tolist(), right.tolist())
            continue
        assert [None if pd.isna(v) else v for v in left] == \
            [None if pd.isna(v) else v for v in right], col
    distance = original.geometry.distance(back.geometry, align=False)
    assert distance.max() < 0.001, distance.max()  # metres
    assert (original.geometry.geom_type == back.geometry.geom_type).all()


def test_importing_the_same_file_twice_changes_nothing(runner, data_dir, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(INCIDENTS_CSV, encoding="utf-8")
    first = run(runner, "import", "incidents", path, "--data-dir", data_dir)
    assert first.exit_code == 0, first.output
    assert "6 nya rader sparade, 0 fanns redan" in first.output
    stored = read(data_dir, "incidents")

    second = run(runner, "import", "incidents", path, "--data-dir", data_dir)

    assert second.exit_code == 0, second.output
    assert "0 nya rader sparade, 6 fanns redan" in second.output
    again = read(data_dir, "incidents")
    assert len(again) == 6
    pd.testing.assert_frame_equal(pd.DataFrame(again.drop(columns="geometry")),
                                  pd.DataFrame(stored.drop(columns="geometry")))


def test_same_rows_in_another_order_or_file_are_unchanged(runner, data_dir, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(INCIDENTS_CSV, encoding="utf-8")
    assert run(runner, "import", "incidents", path, "--data-dir", data_dir).exit_code == 0
    lines = INCIDENTS_CSV.splitlines()
    reordered = tmp_path / "andra.csv"
    reordered.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    result = run(runner, "import", "incidents", reordered, "--data-dir", data_dir)
    assert result.exit_code == 0
    assert "0 nya rader sparade, 6 fanns redan" in result.output


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_incidents_export_then_import_gives_the_same_rows(runner, data_dir, fresh_dir,
                                                          tmp_path, suffix):
    source = tmp_path / "incidents.csv"
    source.write_text(INCIDENTS_CSV, encoding="utf-8")
    assert run(runner, "import", "incidents", source, "--data-dir", data_dir).exit_code == 0
    original = read(data_dir, "incidents")

    exported = tmp_path / f"export{suffix}"
    result = run(runner, "export", "incidents", exported, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    assert "6 rader skrivna" in result.output
    target = fresh_dir()
    result = run(runner, "import", "incidents", exported, "--data-dir", target)
    assert result.exit_code == 0, result.output
    assert "6 nya rader sparade" in result.output

    back = read(target, "incidents")
    assert_same_rows(original, back, ["occurred_at", "category", "description", "source",
                                      "precision", "victim_gender", "strategic", "sensitive",
                                      "stadsdel", "sdo_code"])
    # and importing the export into the store it came from adds nothing
    result = run(runner, "import", "incidents", exported, "--data-dir", data_dir)
    assert "0 nya rader sparade, 6 fanns redan" in result.output


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_findings_with_lines_export_then_import(runner, data_dir, fresh_dir, tmp_path,
                                                suffix):
    source = tmp_path / "fynd.geojson"
    source.write_text(json.dumps(FINDINGS_GEOJSON), encoding="utf-8")
    result = run(runner, "import", "findings", source, "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    original = read(data_dir, "findings")
    assert list(original.geometry.geom_type) == ["Point", "LineString"]

    exported = tmp_path / f"fynd{suffix}"
    assert run(runner, "export", "findings", exported, "--data-dir", data_dir).exit_code == 0
    target = fresh_dir()
    result = run(runner, "import", "findings", exported, "--data-dir", target)
    assert result.exit_code == 0, result.output

    back = read(target, "findings")
    assert_same_rows(original, back, ["found_at", "category", "severity", "description",
                                      "owner", "status", "stadsdel", "sdo_code"])
    # every vertex of the line survives, not just the distance between the lines
    a = np.array(original.geometry.iloc[1].coords)
    b = np.array(back.geometry.iloc[1].coords)
    assert np.abs(a - b).max() < 0.001


def test_export_to_unknown_suffix_is_a_usage_error(runner, data_dir, tmp_path):
    result = runner.invoke(cli, ["export", "incidents", str(tmp_path / "x.xlsx"),
                                 "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "Okänd filändelse '.xlsx'" in result.output


#: Descriptions a spreadsheet would run as formulas (and one that only looks escaped).
RISKY_TEXTS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "'=redan", "vanlig text"]


def test_spreadsheet_safe_and_its_undo():
    from layers.io.exporters import spreadsheet_safe, spreadsheet_text

    frame = pd.DataFrame({"text": ["=1", "+1", "-1", "@a", "\tx", "\rx", "'=x", "a=b", None],
                          "number": [-1.5] * 9})
    safe = spreadsheet_safe(frame)
    assert [None if pd.isna(v) else v for v in safe["text"]] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "''=x", "a=b", None]
    assert safe["number"].tolist() == [-1.5] * 9  # numbers are not text
    back = spreadsheet_text(safe)["text"]
    assert [None if pd.isna(v) else v for v in back] == \
        [None if pd.isna(v) else v for v in frame["text"]]


def test_cli_csv_export_neutralises_formulas_and_gpkg_keeps_them(runner, data_dir, fresh_dir,
                                                                 tmp_path):
    import csv

    import pyogrio

    features = [{"type": "Feature",
                 "properties": {"id": f"r{i}", "datum": "2024-05-01 21:00",
                                "kategori": "klotter", "allvarlighet": 2, "beskrivning": text},
                 "geometry": {"type": "Point", "coordinates": [17.9446 + i / 1e4, 59.4030]}}
                for i, text in enumerate(RISKY_TEXTS)]
    source = tmp_path / "risk.geojson"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                      encoding="utf-8")
    assert run(runner, "import", "findings", source, "--data-dir", data_dir).exit_code == 0
    ids = [f"import:r{i}" for i in range(len(RISKY_TEXTS))]

    exported = tmp_path / "fynd.csv"
    assert run(runner, "export", "findings", exported, "--data-dir", data_dir).exit_code == 0
    with exported.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cells = {r["id"]: r["description"] for r in rows}
    assert [cells[i] for i in ids] == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)",
                                       "''=redan", "vanlig text"]
    for row in rows:  # no cell of the file starts a formula
        for value in row.values():
            assert not (value or "").startswith(("=", "+", "@", "\t", "\r")), value

    gpkg = tmp_path / "fynd.gpkg"
    assert run(runner, "export", "findings", gpkg, "--data-dir", data_dir).exit_code == 0
    kept = pyogrio.read_dataframe(gpkg, layer="findings").set_index("id")["description"]
    assert [kept[i] for i in ids] == RISKY_TEXTS

    # and the CSV imported again gives the texts exactly
    target = fresh_dir()
    assert run(runner, "import", "findings", exported, "--data-dir", target).exit_code == 0
    back = read(target, "findings").set_index("id")["description"]
    assert [back[i] for i in ids] == RISKY_TEXTS
