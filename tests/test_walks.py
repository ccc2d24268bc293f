"""Trygghetsvandringar as objects (layers.domain.walks, layers.documents.protocol):
GPX, protocol, files.

Acceptance 2 of issue #8: a GPX file with a track and 12 waypoints, imported with
``trygghetskartan import walk FILE.gpx``, becomes one walk with its route and 12
findings; its protocol PDF renders (pdftoppm) and holds every finding grouped by
owner (pdftotext), and the DOCX holds the same.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pandas as pd
import pytest
from click.testing import CliRunner
from infra import require_or_skip
from PIL import Image

from layers.core.errors import FileRejected, RowsRejected
from layers.core.schema import LOCAL_TZ
from layers.documents.protocol import build_protocol, file_name
from layers.documents.protocol_render import render
from layers.domain import walks as core
from mapapp.cli import cli

#: (marker, category, owner or None, severity) of the 12 waypoints
WAYPOINTS = [
    ("WP01", "belysning", "trafikkontoret", 3), ("WP02", "klotter", "fastighetsagare", 1),
    ("WP03", "vegetation", "trafikkontoret", 2), ("WP04", "nedskräpning", "bostadsbolag", 1),
    ("WP05", "belysning", "bostadsbolag", 3), ("WP06", "skymd sikt", None, 2),
    ("WP07", "trasig utrustning", "trafikkontoret", 2), ("WP08", "klotter", "polisen", 1),
    ("WP09", "otrygg passage", "trafikkontoret", 3), ("WP10", "belysning", "fastighetsagare", 2),
    ("WP11", "övergiven byggnad", "stadsdelsforvaltningen", 2), ("WP12", "övrigt", None, 1),
]
OWNER_HEADINGS = {"trafikkontoret": "trafikkontoret", "fastighetsagare": "fastighetsägare",
                  "bostadsbolag": "bostadsbolag", "polisen": "polisen",
                  "stadsdelsforvaltningen": "stadsdelsförvaltningen",
                  None: "ingen ansvarig angiven"}


def walk_gpx(n: int = 12, *, track: bool = True) -> str:
    """A GPX file: a track around Husby centrum on 2024-11-05 and ``n`` waypoints."""
    points = "".join(
        f'<trkpt lat="{59.4085 + k * 0.0004:.5f}" lon="{17.9240 + k * 0.0006:.5f}">'
        f"<time>2024-11-05T{17 + k // 6:02d}:{(k % 6) * 10:02d}:00Z</time></trkpt>"
        for k in range(12))
    wpts = []
    for k, (marker, category, owner, severity) in enumerate(WAYPOINTS[:n]):
        ext = f"<allvarlighet>{severity}</allvarlighet>"
        if owner:
            ext += f"<ansvarig>{owner}</ansvarig>"
        wpts.append(f'<wpt lat="{59.4086 + k * 0.0004:.5f}" lon="{17.9242 + k * 0.0006:.5f}">'
                    f"<time>2024-11-05T17:{10 + k:02d}:00Z</time><name>{marker}</name>"
                    f"<desc>Anteckning {marker}</desc><type>{category}</type>"
                    f"<extensions>{ext}</extensions></wpt>")
    trk = f"<trk><name>Husby centrum runt</name><trkseg>{points}</trkseg></trk>" if track else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1">' + "".join(wpts) + trk + "</gpx>")


def run(data_dir: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(data_dir)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def imported(tmp_path, data_dir, store):
    """The 12-waypoint walk imported through the CLI, with a photo on WP05."""
    path = tmp_path / "vandring.gpx"
    path.write_text(walk_gpx(), encoding="utf-8")
    result = run(data_dir, "import", "walk", str(path), "--organisers", "Järva SDF")
    assert result.exit_code == 0, result.output
    walk_id = store.read("walks")["id"].iloc[0]
    findings = store.read("findings")
    wp05 = findings.loc[findings["description"].str.contains("WP05"), "id"].iloc[0]
    (data_dir / "photos").mkdir()
    name = "ab" * 16 + ".jpg"
    (data_dir / "photos" / name).write_bytes(jpeg())
    assert store.update("findings", wp05, {"photo": name})
    return walk_id, path, result.output


def test_gpx_becomes_one_walk_with_route_and_12_findings(imported, store, data_dir):
    walk_id, path, output = imported
    assert "12 nya rader sparade" in output and "Trygghetsvandring 2024-11-05" in output
    walks = store.read("walks")
    assert len(walks) == 1
    walk = walks.iloc[0]
    assert (walk["area"], walk["organisers"], walk["sdo_code"]) == \
        ("Husby centrum runt", "Järva SDF", "jarva")
    # track times are UTC: 17:00Z is 18:00 in Stockholm in November
    assert (walk["start_time"], walk["end_time"]) == ("18:00", "19:50")
    routes = store.read("walk_routes")
    assert routes["id"].tolist() == [walk_id]
    assert sum(len(line.coords) for line in routes.geometry.iloc[0].geoms) == 12
    findings = store.read("findings")
    assert len(findings) == 12 and set(findings["walk_id"]) == {walk_id}
    by_marker = {re.search(r"WP\d\d", d).group(): row for d, (_, row) in
                 zip(findings["description"], findings.iterrows(), strict=True)}
    for marker, _, owner, severity in WAYPOINTS:
        assert by_marker[marker]["owner"] == owner
        assert int(by_marker[marker]["severity"]) == severity
    assert by_marker["WP01"]["category"] == "belysning"
    # the walk took place after sunset (15.43 on 2024-11-05)
    assert core.load_walk(store, walk_id).light.state == "dark"
    # importing the same file again changes nothing
    again = run(data_dir, "import", "walks", str(path), "--organisers", "Järva SDF")
    assert again.exit_code == 0 and "12 fanns redan" in again.output
    assert (store.count("walks"), store.count("walk_routes"), store.count("findings")) == \
        (1, 1, 12)


def _grouping(text: str) -> dict[str | None, list[str]]:
    """Markers under each owner heading, in the order the document has them."""
    headings = {owner: f"Ansvarig: {label} (" for owner, label in OWNER_HEADINGS.items()}
    found = sorted((text.index(h), owner) for owner, h in headings.items() if h in text)
    out = {}
    for k, (start, owner) in enumerate(found):
        end = found[k + 1][0] if k + 1 < len(found) else len(text)
        out[owner] = list(dict.fromkeys(re.findall(r"WP\d\d", text[start:end])))
    return out


def expected_grouping(owner_only: str | None = "all") -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for marker, _, owner, _ in WAYPOINTS:
        if owner_only == "all" or owner == owner_only:
            out.setdefault(owner, []).append(marker)
    return out


def test_protocol_pdf_renders_and_holds_every_finding_by_owner(imported, store, data_dir,
                                                                tmp_path, artifacts_dir):
    require_or_skip("pdftoppm and pdftotext (poppler-utils)",
                    bool(shutil.which("pdftoppm") and shutil.which("pdftotext")))
    walk_id, _, _ = imported
    protocol = build_protocol(store, walk_id, photo_dir=data_dir / "photos")
    pdf = tmp_path / file_name(protocol, "pdf")
    pdf.write_bytes(render(protocol, "pdf"))
    shutil.copy(pdf, artifacts_dir / "walk-protocol.pdf")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")],
                   check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    with Image.open(pages[0]) as first:
        assert first.size[0] > 400
    shutil.copy(pages[0], artifacts_dir / "walk-protocol-page1.png")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "Protokoll från trygghetsvandring" in text and "Husby centrum runt" in text
    grouping = _grouping(text)
    assert {k: sorted(v) for k, v in grouping.items()} == expected_grouping()
    # each finding's category, severity and owner are printed
    assert "belysning" in text and "3 – hög" in text and "trafikkontoret" in text
    # the route map and the photo are in the PDF
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True,
                            text=True).stdout if shutil.which("pdfimages") else ""
    if images:
        assert len(images.strip().splitlines()) >= 2 + 2  # two header lines, map, photo


def test_protocol_docx_holds_the_same(imported, store, data_dir, tmp_path):
    walk_id, _, _ = imported
    protocol = build_protocol(store, walk_id, photo_dir=data_dir / "photos")
    document = docx.Document(io.BytesIO(render(protocol, "docx")))
    text = "\n".join(p.text for p in document.paragraphs)
    grouping = _grouping(text)
    assert {k: sorted(v) for k, v in grouping.items()} == expected_grouping()
    assert len(document.inline_shapes) == 2  # the map and the one photo
    tables = ["\n".join(c.text for row in t.rows for c in row.cells) for t in document.tables]
    assert any("Husby centrum runt" in t for t in tables)


def test_protocol_for_one_owner(imported, store, data_dir):
    walk_id, _, _ = imported
    protocol = build_protocol(store, walk_id, owner="trafikkontoret")
    text = render(protocol, "html").decode()
    assert sorted(set(re.findall(r"WP\d\d", text))) == sorted(
        expected_grouping("trafikkontoret")["trafikkontoret"])
    assert "Utdrag för trafikkontoret" in text
    assert file_name(protocol, "pdf").endswith("-trafikkontoret.pdf")
    nobody = build_protocol(store, walk_id, owner="ingen")
    assert [f.number for f in nobody.findings] == [6, 12]  # numbers as in the whole protocol


def test_gpx_without_track_or_times(tmp_path, store):
    path = tmp_path / "bara-fynd.gpx"
    path.write_text(walk_gpx(3, track=False), encoding="utf-8")
    with pytest.raises(FileRejected, match="inget spår"):
        core.import_walk_file(store, path)
    path.write_text(walk_gpx(0), encoding="utf-8")
    result = core.import_walk_file(store, path, user="test")
    assert result.new_walks == 1 and store.count("findings") == 0
    assert "utan fynd" in result.report.summary_sv()


def test_invalid_waypoint_stores_nothing(tmp_path, store):
    text = walk_gpx(3).replace("<type>belysning</type>", "<type>ufo</type>")
    text = text.replace("<name>WP01</name>", "<name>Något konstigt</name>")
    text = text.replace("<desc>Anteckning WP01</desc>", "")
    path = tmp_path / "fel.gpx"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RowsRejected, match="ufo|Något konstigt"):
        core.import_walk_file(store, path)
    assert (store.count("walks"), store.count("walk_routes"), store.count("findings")) == \
        (0, 0, 0)


# --- the form ---------------------------------------------------------------------------

ROUTE = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
         '"geometry": {"type": "LineString", "coordinates": [[17.924, 59.408], [17.93, 59.41], '
         '[17.935, 59.411]]}}]}')


def test_walk_form_validates_and_saves(store):
    walk, errors = core.walk_from_form(store, {"date": "2024-13-40", "start_time": "25:00",
                                               "area": ""}, "", {"boende": "-3"})
    fields = {e.field for e in errors}
    assert walk is None and {"date", "start_time", "area", "deltagare boende"} <= fields
    # infinite counts (found by the walk-mode fuzz: a 500) are a row error like any other
    for count in ("inf", "-inf", "1e400", "nan"):
        walk, errors = core.walk_from_form(store, {"date": "2024-12-10", "area": "Husby"},
                                           "", {"boende": count})
        assert walk is None and [e.field for e in errors] == ["deltagare boende"], count
    values = {"date": "2024-12-10", "start_time": "17.30", "end_time": "19:00",
              "area": "Husby  centrum", "organisers": "SDF"}
    walk, errors = core.walk_from_form(store, values, ROUTE,
                                       {"boende": "8", "polis": "2", "kvinnor": "6", "man": "5"})
    assert errors == []
    assert walk.walk["start_time"].iloc[0] == "17:30"
    assert walk.walk["area"].iloc[0] == "Husby centrum"
    assert walk.walk["sdo_code"].iloc[0] == "jarva"  # from the route
    assert int(walk.walk["participants"].iloc[0]) == 11  # max(8 + 2, 6 + 5)
    assert core.save_new_walk(store, walk)
    assert not core.save_new_walk(store, walk)  # the same walk again: one walk
    loaded = core.load_walk(store, walk.id)
    assert loaded.participants == {"boende": 8, "polis": 2, "kvinnor": 6, "man": 5}
    assert loaded.route.geom_type == "MultiLineString" and loaded.light.state == "dark"
    changed, errors = core.walk_from_form(store, {**values, "participants": "14"}, "",
                                          {"boende": "9"}, walk_id=walk.id)
    assert errors == [] and core.update_walk(store, walk.id, changed)
    loaded = core.load_walk(store, walk.id)
    assert loaded.participants == {"boende": 9} and loaded.route is None
    assert loaded.total == 14
    changed, _ = core.walk_from_form(store, values, ROUTE, {}, walk_id=walk.id)
    assert core.update_walk(store, walk.id, changed)
    assert core.load_walk(store, walk.id).route is not None
    assert core.delete_walk(store, walk.id)
    assert (store.count("walks"), store.count("walk_routes"),
            store.count("walk_participants")) == (0, 0, 0)


# --- export and import of tables -----------------------------------------------------------


def _plain(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg"])
def test_export_and_import_round_trip(tmp_path, store, data_dir, reference_store_file, suffix):
    values = {"date": "2024-12-10", "start_time": "18:00", "end_time": "19:00",
              "area": "Husby centrum", "organisers": "SDF"}
    walk, _ = core.walk_from_form(store, values, ROUTE, {"boende": "8", "unga": "3"})
    core.save_new_walk(store, walk)
    other, _ = core.walk_from_form(store, {**values, "area": "Kista torg"}, "", {})
    core.save_new_walk(store, other)
    path = tmp_path / f"walks{suffix}"
    result = run(data_dir, "export", "walks", str(path))
    assert result.exit_code == 0 and "2 rader" in result.output
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(reference_store_file, fresh / reference_store_file.name)
    result = run(fresh, "import", "walks", str(path))
    assert result.exit_code == 0, result.output
    from layers.store import open_store

    copy = open_store(fresh)
    try:
        for walk_id in (walk.id, other.id):
            a, b = core.load_walk(store, walk_id), core.load_walk(copy, walk_id)
            assert b is not None
            assert a.participants == b.participants
            for field in ("date", "start_time", "end_time", "area", "organisers",
                          "participants"):
                assert _plain(a.row[field]) == _plain(b.row[field]), field
            assert (a.route is None) == (b.route is None)
            if a.route is not None:
                assert a.route.equals_exact(b.route, 0.01)
        assert run(fresh, "import", "walks", str(path)).exit_code == 0
        assert copy.count("walks") == 2
    finally:
        copy.close()


def test_walk_table_errors_name_row_and_field(tmp_path, store):
    path = tmp_path / "walks.csv"
    path.write_text("date,area,start_time,participants_boende,wkt\n"
                    "2024-10-01,Husby,18:00,4,\n"
                    "2024-10-02,,1900,x,\n"
                    "2024-10-03,Kista,18:00,2,POINT (17.9 59.4)\n", encoding="utf-8")
    with pytest.raises(RowsRejected) as info:
        core.import_walk_file(store, path)
    text = str(info.value)
    assert "rad 3" in text and "area" in text and "participants_boende" in text
    assert "rad 4" in text and "linje" in text
    assert store.count("walks") == 0


@pytest.mark.parametrize("date", ["0000-01-01", "-0774-05-01"])
def test_walk_table_with_a_date_outside_the_calendar_is_refused_by_row(tmp_path, store,
                                                                      date):
    """Found by the fuzz suite: such a date made the walk import answer 500."""
    path = tmp_path / "walks.csv"
    path.write_text("date,area,start_time,wkt\n"
                    "2024-10-01,Husby,18:00,\n"
                    f"{date},Kista,18:00,\n", encoding="utf-8")
    with pytest.raises(RowsRejected) as info:
        core.import_walk_file(store, path)
    assert "rad 3" in str(info.value) and "date" in str(info.value)
    assert store.count("walks") == 0


def test_walk_dates_in_export_have_light(store, tmp_path):
    walk, _ = core.walk_from_form(store, {"date": "2024-06-20", "start_time": "18:00",
                                          "area": "Husby"}, "", {})
    core.save_new_walk(store, walk)
    frame = core.walks_frame(store)
    assert frame["darkness"].tolist() == ["i dagsljus"]
    assert frame["sunset"].iloc[0].startswith("22:")
    overview = core.walks_overview(store, dark="daylight")
    assert overview["id"].tolist() == [walk.id]
    assert core.walks_overview(store, dark="dark").empty
    assert pd.Timestamp.now(tz=LOCAL_TZ).year >= 2024


def test_gpx_waypoints_without_severity_get_2(tmp_path, data_dir, store):
    """Only WP01 has <allvarlighet>: the others get 2 (medel) and the report says so."""
    text = walk_gpx(3)
    text = text.replace("<allvarlighet>1</allvarlighet>", "")
    text = text.replace("<allvarlighet>2</allvarlighet>", "")
    assert text.count("<allvarlighet>") == 1
    path = tmp_path / "delvis.gpx"
    path.write_text(text, encoding="utf-8")
    result = run(data_dir, "import", "walk", str(path))
    assert result.exit_code == 0, result.output
    assert "2 av 3 fynd saknade allvarlighet" in result.output
    findings = store.read("findings")
    severity = {re.search(r"WP\d\d", d).group(): int(s)
                for d, s in zip(findings["description"], findings["severity"], strict=True)}
    assert severity == {"WP01": 3, "WP02": 2, "WP03": 2}
