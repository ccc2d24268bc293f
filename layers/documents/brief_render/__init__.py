"""Render an area brief (:class:`layers.documents.brief.Brief`) as HTML, PDF or DOCX.

* HTML — a Jinja2 template (``templates/brief.html``) with the pictures inline as data
  URIs, so the page is one self-contained file; user-written analysis text is escaped.
* PDF — the same template printed by WeasyPrint, with DejaVu Sans embedded through
  ``@font-face`` rules pointing at the local font files (``file://`` URLs), so å, ä
  and ö print on any machine; page numbers in the footer.
* DOCX — python-docx: real headings (Rubrik 1/2 styles) and tables that the secretary
  can edit in Word or LibreOffice.

All three show the same tables, in the same order, with the same texts, and the same
two things that make a brief fit for the board:

* **UTKAST.** While an analysis section is empty (:attr:`Brief.draft`) every format
  says so on its first page (:data:`DRAFT_NOTE`) and on every page (a diagonal
  watermark in the PDF, a header line in the DOCX, a banner and watermark on screen),
  and the empty sections read :data:`EMPTY_TEXT`; the mark goes once all are written.
* **Accessibility.** Every picture has a Swedish description (:func:`describe_pictures`:
  ``alt`` in HTML and PDF, ``descr`` in DOCX); the PDF is tagged (PDF/UA-1) with
  language sv and the brief's title; table header rows repeat on every page.
"""

from __future__ import annotations

from layers.documents.brief import Brief
from layers.documents.brief_render.common import (
    DRAFT_MARK,
    DRAFT_NOTE,
    EMPTY_TEXT,
    WRITE_HINT,
    Pictures,
    describe_pictures,
    draft_text,
    draw_pictures,
    median_text,
)

#: Output formats and their MIME types.
FORMATS: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

__all__ = ["DRAFT_MARK", "DRAFT_NOTE", "EMPTY_TEXT", "FORMATS", "Pictures", "WRITE_HINT",
           "describe_pictures", "draft_text", "draw_pictures", "file_name", "median_text",
           "render"]


def file_name(brief: Brief, fmt: str) -> str:
    """A file name without spaces or Swedish letters: lagesbild-jarva-2025-T2.pdf."""
    period = brief.period.code.replace("..", "_")
    return f"lagesbild-{brief.area.code}-{period}.{fmt}"


def render(brief: Brief, fmt: str, *, pictures: Pictures | None = None,
           back_url: str | None = None) -> bytes:
    """Return the brief as ``html``, ``pdf`` or ``docx`` bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    pictures = pictures or draw_pictures(brief)
    if fmt == "docx":
        from layers.documents.brief_render.word import render_docx

        return render_docx(brief, pictures)
    from layers.documents.brief_render.html import render_html

    if fmt == "html":
        return render_html(brief, pictures, back_url=back_url).encode("utf-8")
    from layers.documents.brief_render.pdf import render_pdf

    return render_pdf(brief, pictures)
