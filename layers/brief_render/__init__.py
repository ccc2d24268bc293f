"""Render an area brief (:class:`layers.brief.Brief`) as HTML, PDF or DOCX.

* HTML — a Jinja2 template (``templates/brief.html``) with the pictures inline as data
  URIs, so the page is one self-contained file; user-written analysis text is escaped.
* PDF — the same template printed by WeasyPrint, with DejaVu Sans embedded through
  ``@font-face`` rules pointing at the local font files (``file://`` URLs), so å, ä
  and ö print on any machine; page numbers in the footer.
* DOCX — python-docx: real headings (Rubrik 1/2 styles) and tables that the secretary
  can edit in Word or LibreOffice.

All three show the same tables, in the same order, with the same texts.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.brief import Brief
from layers.brief_render import figures

#: Output formats and their MIME types.
FORMATS: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

__all__ = ["FORMATS", "Pictures", "draw_pictures", "file_name", "median_text", "render"]


@dataclass(frozen=True)
class Pictures:
    """The brief's pictures as PNG bytes (``sites`` None when there are no sites)."""

    map: bytes
    trend: bytes
    sites: bytes | None


def draw_pictures(brief: Brief) -> Pictures:
    """Draw the map and charts once; every format uses the same PNGs."""
    return Pictures(map=figures.district_map(brief), trend=figures.trend_chart(brief),
                    sites=figures.sites_chart(brief))


def median_text(brief: Brief) -> str:
    """The sentence part on the median time to fix, the same in every format."""
    median = brief.findings.median_days
    if median.value is None:
        return "uppgift saknas (inget fynd i området har åtgärdats med datum)"
    return f"{median.text} dagar"


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
        from layers.brief_render.word import render_docx

        return render_docx(brief, pictures)
    from layers.brief_render.html import render_html

    if fmt == "html":
        return render_html(brief, pictures, back_url=back_url).encode("utf-8")
    from layers.brief_render.pdf import render_pdf

    return render_pdf(brief, pictures)
