"""The brief as PDF: the HTML template printed by WeasyPrint (A4, embedded DejaVu Sans)."""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from layers.brief import Brief
from layers.brief_render import Pictures
from layers.brief_render.html import TEMPLATES, render_html


def render_pdf(brief: Brief, pictures: Pictures) -> bytes:
    """Print the brief to PDF bytes."""
    html = render_html(brief, pictures, mode="pdf")
    fonts = FontConfiguration()
    document = HTML(string=html, base_url=TEMPLATES.as_uri() + "/")
    return document.write_pdf(font_config=fonts)
