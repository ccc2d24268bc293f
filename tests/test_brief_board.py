"""A brief that can go to the board as it is (issue 11, acceptance 2 and 7), on demo data.

* Reproducible: a brief for a closed period made with the clock at 2025-09-15 and at
  2026-12-01 has the same figures, the same HTML and the same DOCX text except the
  "Framtagen" date (the demo data's status history runs on after the period).
* UTKAST: while an analysis text is empty the PDF's first page, the DOCX and the HTML
  say so; once all three are written nothing does.
* Accessibility: the PDF is tagged (``pdfinfo``), in Swedish, with a title and an
  ``/Alt`` text on every figure; every DOCX picture has a description and every DOCX
  table's header row repeats.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from infra import require_or_skip

from layers.core import clock
from layers.documents.brief import NBSP, TEXT_FIELDS, Brief, build_brief, save_texts
from layers.documents.brief_render import DRAFT_MARK, DRAFT_NOTE, EMPTY_TEXT, draw_pictures, render
from layers.store import open_store

PERIOD = "2025-T2"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, demo_store_file):
    folder = tmp_path_factory.mktemp("board-store")
    shutil.copy(demo_store_file, folder / demo_store_file.name)
    store = open_store(folder)
    yield store
    store.close()


def _tool(name: str) -> str:
    path = shutil.which(name)
    require_or_skip(f"{name} (apt-get install poppler-utils)", path is not None)
    return path


def pdf_text(pdf: bytes, *pages: int) -> str:
    """The PDF's text (``pages``: first and last page), whitespace as single spaces."""
    span = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    out = subprocess.run([_tool("pdftotext"), "-enc", "UTF-8", *span, "-", "-"], input=pdf,
                         check=True, capture_output=True).stdout.decode("utf-8")
    return re.sub(r"\s+", " ", out.replace(NBSP, " "))


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams (object streams too) inflated."""
    parts = [pdf]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b"\n".join(parts)


def pdf_string(token: bytes) -> str:
    """A PDF string literal or hex string (UTF-16 with BOM) as text."""
    if token.startswith(b"<"):
        raw = bytes.fromhex(token[1:-1].decode("ascii"))
        return raw[2:].decode("utf-16-be") if raw.startswith(b"\xfe\xff") else raw.decode(
            "latin-1")
    return token[1:-1].decode("latin-1")


def docx_text(data: bytes) -> list[str]:
    """Every paragraph and table cell of a DOCX, and its headers, in order."""
    document = docx.Document(io.BytesIO(data))
    out = [p.text for p in document.paragraphs]
    out += [c.text for t in document.tables for r in t.rows for c in r.cells]
    out += [p.text for s in document.sections for p in s.header.paragraphs]
    return out


def figures_of(brief: Brief) -> list:
    """Everything a brief prints except the date it was made."""
    return [brief.as_of, brief.highlights, brief.footnotes, brief.method, brief.texts,
            [(t.key, t.caption, t.columns, t.notes,
              [(r.key, r.label, {k: c.text for k, c in r.cells.items()}) for r in t.rows])
             for t in brief.tables],
            [(p.name, p.rank) for p in brief.place_list],
            [(s.name, s.counts) for s in brief.site_series], list(brief.map.sites["name"])]


def test_a_closed_period_has_the_same_figures_whenever_it_is_made(demo_store):
    made = {}
    for day in ("2025-09-15 10:00", "2026-12-01 10:00"):
        with clock.frozen(day):
            brief = build_brief(demo_store, "jarva", PERIOD)
            pictures = draw_pictures(brief)
            made[day] = (brief, render(brief, "html", pictures=pictures).decode("utf-8"),
                         render(brief, "docx", pictures=pictures))
    (early, early_html, early_docx), (late, late_html, late_docx) = made.values()
    assert (early.created.isoformat(), late.created.isoformat()) == ("2025-09-15",
                                                                     "2026-12-01")
    # the demo history has status changes after the period: the test means something
    history = demo_store.read("finding_history")
    assert (history["changed_at"] > "2025-09-15").any()
    assert figures_of(early) == figures_of(late)

    def without_date(html: str) -> str:
        return re.sub(r"<dt>Framtagen</dt><dd>[^<]*</dd>", "", html)

    assert "<dt>Framtagen</dt><dd>2025-09-15</dd>" in early_html
    assert without_date(early_html) == without_date(late_html)

    def without_made(lines: list[str]) -> list[str]:
        return [t for t in lines if not t.startswith("Framtagen:")]

    assert "Framtagen: 2026-12-01" in docx_text(late_docx)
    assert without_made(docx_text(early_docx)) == without_made(docx_text(late_docx))


@pytest.fixture(scope="module")
def draft(demo_store) -> dict[str, bytes]:
    """Farsta's brief with one analysis text missing, in all three formats."""
    save_texts(demo_store, "farsta", PERIOD, {"analysis": "Läget är lugnt.",
                                              "development": "",
                                              "measures": "Mer belysning."}, "test")
    brief = build_brief(demo_store, "farsta", PERIOD)
    assert brief.draft and brief.missing_texts == ["Möjlig utveckling"]
    pictures = draw_pictures(brief)
    return {fmt: render(brief, fmt, pictures=pictures) for fmt in ("html", "pdf", "docx")}


@pytest.fixture(scope="module")
def written(demo_store, draft) -> dict[str, bytes]:
    """The same brief once every analysis text is written."""
    save_texts(demo_store, "farsta", PERIOD, dict.fromkeys(TEXT_FIELDS, "Skrivet."), "test")
    brief = build_brief(demo_store, "farsta", PERIOD)
    assert not brief.draft
    pictures = draw_pictures(brief)
    return {fmt: render(brief, fmt, pictures=pictures) for fmt in ("html", "pdf", "docx")}


def test_a_draft_says_utkast_on_the_first_page_and_in_every_format(draft):
    first_page = pdf_text(draft["pdf"], 1, 1)
    assert DRAFT_NOTE in first_page and "Möjlig utveckling" in first_page
    assert EMPTY_TEXT in pdf_text(draft["pdf"])
    # the mark is on every page (the header line; the diagonal mark is a picture)
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        [_tool("pdfinfo"), "-"], input=draft["pdf"], capture_output=True,
        check=True).stdout.decode())[1])
    for page in range(1, pages + 1):
        assert DRAFT_MARK in pdf_text(draft["pdf"], page, page), page
    document = docx.Document(io.BytesIO(draft["docx"]))
    first = [p.text for p in document.paragraphs if p.text.strip()][:3]
    assert any(DRAFT_NOTE in t for t in first), first
    assert DRAFT_MARK in document.sections[0].header.paragraphs[0].text
    assert any(t.startswith(EMPTY_TEXT) for t in docx_text(draft["docx"]))
    html = draft["html"].decode("utf-8")
    assert DRAFT_NOTE in html and EMPTY_TEXT in html
    assert "Ingen text ännu" not in html


def test_a_brief_with_every_text_written_has_no_draft_mark(written):
    assert DRAFT_MARK not in pdf_text(written["pdf"])
    assert EMPTY_TEXT not in pdf_text(written["pdf"])
    assert not any(DRAFT_MARK in t or EMPTY_TEXT in t for t in docx_text(written["docx"]))
    html = written["html"].decode("utf-8")
    assert DRAFT_MARK not in html and EMPTY_TEXT not in html


@pytest.mark.parametrize("state", ["draft", "written"])
def test_the_pdf_is_tagged_in_swedish_with_a_title_and_alt_texts(state, request):
    pdf = request.getfixturevalue(state)["pdf"]
    info = subprocess.run([_tool("pdfinfo"), "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode("utf-8")
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(r"^Title:\s+Lägesbild Farsta T2 2025$", info, re.M), info
    objects = pdf_objects(pdf)
    assert re.search(rb"/Lang\s*\(sv\)", objects)
    figures = objects.count(b"/S /Figure")
    alts = [pdf_string(t) for t in re.findall(rb"/Alt\s*(<[0-9a-fA-F]+>|\([^)]*\))", objects)]
    assert figures >= 2 and len(alts) == figures
    assert any(a.startswith("Karta över Farsta med prioriterade platser") for a in alts)
    assert all(len(a) > 40 for a in alts), alts


@pytest.mark.parametrize("state", ["draft", "written"])
def test_docx_pictures_are_described_and_table_headers_repeat(state, request):
    document = docx.Document(io.BytesIO(request.getfixturevalue(state)["docx"]))
    described = [shape._inline.docPr.get("descr") for shape in document.inline_shapes]
    assert len(described) >= 2
    assert all(d and len(d) > 40 for d in described), described
    assert described[0].startswith("Karta över Farsta med prioriterade platser och "
                                   "platssamverkansplatser")
    assert document.tables
    for table in document.tables:
        props = table.rows[0]._tr.trPr
        assert props is not None and props.find(qn("w:tblHeader")) is not None


def test_the_pdf_template_repeats_table_headers():
    css = (Path(__file__).resolve().parents[1] / "layers" / "documents" / "brief_render"
           / "templates" / "brief.css").read_text(encoding="utf-8")
    assert re.search(r"thead\s*\{\s*display:\s*table-header-group", css)
