"""The brief as PDF: the HTML template printed by WeasyPrint (A4, embedded DejaVu Sans).

The PDF is PDF/UA-1 (WeasyPrint's ``pdf/ua-1`` variant): tagged, so a screen reader
follows headings, lists and tables (header cells tagged TH, header rows repeated on
every page by ``thead { display: table-header-group }``) and reads each picture's
``alt``; the document language (sv) and title come from the template's ``<html lang>``
and ``<title>``, and viewers show the title rather than the file name.
"""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from layers.documents.brief import Brief
from layers.documents.brief_render.common import Pictures
from layers.documents.brief_render.html import TEMPLATES, render_html

#: The PDF variant: PDF/UA-1 implies tagging (``pdf_tags``) and PDF 1.7.
PDF_VARIANT = "pdf/ua-1"


def render_pdf(brief: Brief, pictures: Pictures) -> bytes:
    """Print the brief to PDF bytes."""
    return print_pdf(render_html(brief, pictures, mode="pdf"))


def print_pdf(html: str) -> bytes:
    """Print an HTML document of these templates (``mode="pdf"``) to PDF/UA bytes."""
    fonts = FontConfiguration()
    document = HTML(string=html, base_url=TEMPLATES.as_uri() + "/")
    return document.write_pdf(font_config=fonts, pdf_variant=PDF_VARIANT)
