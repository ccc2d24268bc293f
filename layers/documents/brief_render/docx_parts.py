"""The parts of a Word document (python-docx) that the brief and the walk protocol share:
Swedish styles, the page-number footer, tables whose header row repeats on every page,
and pictures with alt text.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from layers.documents.brief import Table

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.section import Section

BLUE = RGBColor(0x0B, 0x3D, 0x6B)
GREY = RGBColor(0x55, 0x55, 0x55)
RED = RGBColor(0xB0, 0x00, 0x20)
FONT = "Arial"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def clean(text: str) -> str:
    """Text safe for XML (control characters removed)."""
    return _CONTROL.sub("", text or "")


def set_language(document) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "sv-SE")
    rpr.append(lang)
    for name in ("Heading 1", "Heading 2", "Title"):
        styles[name].font.name = FONT
        styles[name].font.color.rgb = BLUE


def page_number_footer(section, title: str) -> None:
    paragraph = section.footer.paragraphs[0]
    paragraph.text = f"{title} – sida "
    run = paragraph.add_run()
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run._r.append(field)
    for r in paragraph.runs:
        r.font.size = Pt(8)
        r.font.color.rgb = GREY


def repeat_header(row) -> None:
    props = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    props.append(header)


def shade(cell, colour: str) -> None:
    props = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    props.append(shading)


def cell_text(cell, text: str, *, bold: bool = False, right: bool = False,
               size: float = 8.5) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(clean(text))
    run.bold = bold
    run.font.size = Pt(size)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    paragraph.paragraph_format.space_after = Pt(0)


def add_table(document, table: Table) -> None:
    """Write one brief table: caption, header row, rows (totals bold), notes."""
    caption = document.add_paragraph()
    run = caption.add_run(table.caption)
    run.bold = True
    run.font.color.rgb = BLUE
    caption.paragraph_format.keep_with_next = True
    caption.paragraph_format.space_after = Pt(2)
    out = document.add_table(rows=1, cols=len(table.columns) + 1)
    out.style = "Table Grid"
    out.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = out.rows[0]
    repeat_header(header)
    numeric = {key: table.is_numeric(key) for key, _ in table.columns}
    cell_text(header.cells[0], table.row_header, bold=True)
    shade(header.cells[0], "E8EEF5")
    for i, (key, label) in enumerate(table.columns, start=1):
        cell_text(header.cells[i], label, bold=True, right=numeric[key])
        shade(header.cells[i], "E8EEF5")
    for row in table.rows:
        cells = out.add_row().cells
        cell_text(cells[0], row.label, bold=row.total)
        for i, (key, _) in enumerate(table.columns, start=1):
            cell_text(cells[i], row.cells[key].text, bold=row.total,
                       right=row.cells[key].numeric)
    for note in table.notes:
        p = document.add_paragraph()
        r = p.add_run(clean(note))
        r.font.size = Pt(7.5)
        r.font.color.rgb = GREY
    document.add_paragraph().paragraph_format.space_after = Pt(2)


def add_picture(document, png: bytes | None, description: str,
             width_cm: float = 16.5) -> None:
    """A picture with its description as alt text (``descr`` of ``wp:docPr``)."""
    if png is None:
        return
    shape = document.add_picture(io.BytesIO(png), width=Cm(width_cm))
    shape._inline.docPr.set("descr", clean(description))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER



def a4_document(title: str, margin_cm: float = 2.0) -> tuple[DocxDocument, Section]:
    """A new Word document in Swedish (styles, language, title), A4 with 2 cm side margins,
    ``margin_cm`` at the top and bottom and the page-number footer; and its section."""
    document = Document()
    set_language(document)
    document.core_properties.title = title
    document.core_properties.language = "sv-SE"
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(margin_cm), Cm(margin_cm)
    page_number_footer(section, title)
    return document, section


__all__ = ["a4_document", "BLUE", "FONT", "GREY", "RED", "add_table", "cell_text", "clean",
           "page_number_footer", "add_picture", "repeat_header", "set_language", "shade"]
