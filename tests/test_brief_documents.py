"""The area brief as documents, on the demo data: PDF, DOCX and HTML for all 11 areas.

Acceptance 2 and 3. The 11 briefs of tertial 2 2025 are built and rendered once per
session (about 25 s), each with an analysis text saved the way the web form saves
it. Every PDF must render with pdftoppm and hold, as text, the district, the period,
every section heading and the analysis; its fonts must be embedded; no word may lie
outside the page's margins (nothing cut off). Every DOCX must open with python-docx
and hold the same headings and exactly the same table cells as the brief. The pages
of Järva's PDF and the map page of every district are written as PNGs to the
artifacts folder, for people to look at (CI keeps them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from infra import require_or_skip

from layers.documents.brief import (
    NBSP,
    SECTION_HEADINGS,
    TEXT_FIELDS,
    Brief,
    build_brief,
    load_city_data,
)
from layers.documents.brief import save_texts as save_brief_texts
from layers.documents.brief_render import FORMATS, draw_pictures, file_name, render
from layers.store import open_store

PERIOD = "2025-T2"
PERIOD_LABEL = "tertial 2 2025 (maj–augusti)"
CODES = ("bromma", "enskede-arsta-vantor", "farsta", "hagersten-alvsjo", "hasselby-vallingby",
         "jarva", "kungsholmen", "norra-innerstaden", "skarholmen", "skarpnack", "sodermalm")

pytestmark = pytest.mark.slow


def analysis_text(name: str) -> dict[str, str]:
    """What the secretary wrote (with characters that must survive every format)."""
    return {
        "analysis": f"Analys för {name}: otryggheten kring torget <kvällstid> ökar.\n\n"
                    "Andra stycket med å, ä och ö.",
        "development": f"Utvecklingen i {name} följs upp med polisen & bostadsbolaget.",
        "measures": f"Belysning och platsaktivering i {name}.",
    }


@dataclass
class Made:
    brief: Brief
    files: dict[str, Path]
    pictures_map: bytes


@pytest.fixture(scope="session")
def demo_briefs(tmp_path_factory, demo_store_file) -> dict[str, Made]:
    """The 11 briefs of the demo data for tertial 2 2025, in all three formats."""
    folder = tmp_path_factory.mktemp("briefs")
    store_dir = folder / "store"
    store_dir.mkdir()
    shutil.copy(demo_store_file, store_dir / demo_store_file.name)
    store = open_store(store_dir)
    try:
        data = load_city_data(store, PERIOD)
        for area in data.current_areas:
            save_brief_texts(store, area.code, PERIOD, analysis_text(area.name), "test")
        data = load_city_data(store, PERIOD)
        made = {}
        for area in data.current_areas:
            brief = build_brief(store, area.code, PERIOD, data=data)
            pictures = draw_pictures(brief)
            files = {}
            for fmt in FORMATS:
                files[fmt] = folder / file_name(brief, fmt)
                files[fmt].write_bytes(render(brief, fmt, pictures=pictures))
            made[area.code] = Made(brief, files, pictures.map)
    finally:
        store.close()
    return made


def _tool(name: str) -> str:
    path = shutil.which(name)
    require_or_skip(f"{name} (apt-get install poppler-utils)", path is not None)
    return path


def pdf_text(path: Path) -> str:
    """The PDF's text with line breaks and no-break spaces as single spaces."""
    out = subprocess.run([_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", out.replace(NBSP, " "))


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace(NBSP, " ")).strip()


def test_all_eleven_areas_are_made(demo_briefs):
    assert sorted(demo_briefs) == sorted(CODES)


@pytest.mark.parametrize("code", CODES)
def test_pdf_renders_and_holds_district_period_headings_and_analysis(demo_briefs, code,
                                                                      tmp_path):
    made = demo_briefs[code]
    pdf = made.files["pdf"]
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        [_tool("pdfinfo"), str(pdf)], check=True, capture_output=True, text=True).stdout)[1])
    result = subprocess.run([_tool("pdftoppm"), "-r", "30", "-png", str(pdf),
                             str(tmp_path / "p")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("p-*.png"))) == pages >= 6
    text = pdf_text(pdf)
    assert made.brief.area.name in text
    assert PERIOD_LABEL in text.lower()
    assert "Underlag för nämndsammanträde" in text
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    for value in analysis_text(made.brief.area.name).values():
        for paragraph in value.split("\n\n"):
            assert normal(paragraph) in text
    for sentence in made.brief.highlights:
        assert normal(sentence) in text


def test_pdf_fonts_are_embedded(demo_briefs):
    out = subprocess.run([_tool("pdffonts"), str(demo_briefs["jarva"].files["pdf"])],
                         check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert rows, out
    for row in rows:
        assert "DejaVu" in row[0], out
        # columns from the right: object ID (2), uni, sub, emb
        assert row[-5] == "yes", out


@pytest.mark.parametrize("code", CODES)
def test_no_text_outside_the_page_margins(demo_briefs, code):
    """Every word lies inside the page with room to spare: nothing is cut off."""
    out = subprocess.run([_tool("pdftotext"), "-bbox", str(demo_briefs[code].files["pdf"]),
                          "-"], check=True, capture_output=True, text=True).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', out, re.S)
    assert pages
    for width, height, body in pages:
        width, height = float(width), float(height)
        for x0, y0, x1, y1, word in re.findall(
                r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" '
                r'yMax="([\d.-]+)">(.*?)</word>', body):
            assert 25 <= float(x0) and float(x1) <= width - 25, word
            assert 15 <= float(y0) and float(y1) <= height - 15, word


def _docx_tables(path: Path) -> list[list[list[str]]]:
    document = docx.Document(str(path))
    return [[[cell.text for cell in row.cells] for row in table.rows]
            for table in document.tables]


def _expected_rows(table) -> list[list[str]]:
    rows = [[table.row_header, *(label for _, label in table.columns)]]
    rows += [[r.label, *(r.cells[k].text for k, _ in table.columns)] for r in table.rows]
    return rows


@pytest.mark.parametrize("code", CODES)
def test_docx_holds_the_same_headings_tables_and_analysis(demo_briefs, code):
    made = demo_briefs[code]
    document = docx.Document(str(made.files["docx"]))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == list(SECTION_HEADINGS)
    body = "\n".join(p.text for p in document.paragraphs)
    assert made.brief.area.name in body and PERIOD_LABEL in body.lower()
    assert "Underlag för nämndsammanträde" in body
    for value in analysis_text(made.brief.area.name).values():
        for paragraph in value.split("\n\n"):
            assert paragraph in body
    brief = made.brief
    expected = [brief.summary, brief.trend, brief.groups, brief.strategic, brief.gender,
                brief.victims, brief.places, brief.findings.status, brief.findings.by_category,
                brief.findings.by_owner, brief.findings.oldest,
                *([brief.findings.promises] if brief.findings.promises else []), brief.sites,
                brief.action_plan]
    assert _docx_tables(made.files["docx"]) == [_expected_rows(t) for t in expected]
    assert len(document.inline_shapes) >= 2  # the map and the trend chart


@pytest.mark.parametrize("code", ["jarva", "skarholmen"])
def test_html_holds_headings_and_escaped_analysis(demo_briefs, code):
    html = demo_briefs[code].files["html"].read_text(encoding="utf-8")
    for heading in SECTION_HEADINGS:
        assert f">{heading}</h2>" in html
    assert "&lt;kvällstid&gt;" in html and "<kvällstid>" not in html
    assert "polisen &amp; bostadsbolaget" in html
    assert html.count("data:image/png;base64,") >= 2


def test_same_indicators_for_every_district(demo_briefs):
    """Every brief has the same tables with the same rows and columns."""
    def shape(brief: Brief) -> list:
        fixed = [brief.summary, brief.trend, brief.groups, brief.strategic, brief.gender,
                 brief.victims, brief.findings.status, brief.findings.by_category]
        return [(t.key, [k for k, _ in t.columns], [r.key for r in t.rows]) for t in fixed]

    shapes = {code: shape(m.brief) for code, m in demo_briefs.items()}
    first = shapes["jarva"]
    assert all(s == first for s in shapes.values())
    assert set(TEXT_FIELDS) == {"analysis", "development", "measures"}


def test_pages_as_png_for_people_to_look_at(demo_briefs, artifacts_dir):
    """Järva's pages and every district's map page, for the artifacts folder."""
    pdftoppm = _tool("pdftoppm")
    target = artifacts_dir / "briefs"
    target.mkdir(exist_ok=True)
    for old in target.glob("*.png"):
        old.unlink()
    subprocess.run([pdftoppm, "-r", "80", "-png", str(demo_briefs["jarva"].files["pdf"]),
                    str(target / "jarva-page")], check=True)
    for code, made in demo_briefs.items():
        subprocess.run([pdftoppm, "-r", "80", "-png", "-f", "3", "-l", "3",
                        str(made.files["pdf"]), str(target / f"map-page-{code}")], check=True)
        (target / f"map-{code}.png").write_bytes(made.pictures_map)
    assert len(list(target.glob("jarva-page-*.png"))) >= 6
    assert len(list(target.glob("map-page-*.png"))) == len(CODES)


@pytest.mark.parametrize("code", CODES)
def test_every_brief_with_its_texts_written_is_board_ready(demo_briefs, code):
    """All three texts written: no UTKAST; the PDF tagged; every DOCX picture described."""
    made = demo_briefs[code]
    info = subprocess.run([_tool("pdfinfo"), str(made.files["pdf"])], check=True,
                          capture_output=True, text=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert "UTKAST" not in pdf_text(made.files["pdf"])
    document = docx.Document(str(made.files["docx"]))
    assert all(shape._inline.docPr.get("descr") for shape in document.inline_shapes)
    assert "UTKAST" not in made.files["html"].read_text(encoding="utf-8")
