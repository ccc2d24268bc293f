"""The brief as an editable Word document (DOCX) with python-docx.

Headings use Word's built-in heading styles (they show in the navigation pane and a
table of contents), tables are real tables whose header row repeats on every page
(``w:tblHeader``), the pictures are the same PNGs as in the PDF, each with a Swedish
description (``wp:docPr/@descr``, Word's "alt text"), and the secretary's sections are
plain paragraphs to edit. The document language is Swedish; the footer numbers the
pages. A draft (an analysis section empty) says so on the first page and in the
header of every page.
"""

from __future__ import annotations

import io

from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.shared import Pt, RGBColor

from layers.documents.brief import SECTION_HEADINGS, TEXT_FIELDS, Brief
from layers.documents.brief_render.common import (
    DRAFT_NOTE,
    PLACEHOLDER,
    Pictures,
    describe_pictures,
    draft_text,
    median_text,
)
from layers.documents.brief_render.docx_parts import (
    BLUE,
    GREY,
    RED,
    a4_document,
    add_picture,
    add_table,
    clean,
)
from layers.indicators import COMPARISON_RULE, INDICATORS


def _draft_header(section) -> None:
    """UTKAST at the top of every page of a draft."""
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(DRAFT_NOTE)
    run.bold = True
    run.font.size = Pt(9)
    run.font.color.rgb = RED


def _title_page(document, brief: Brief) -> None:
    def line(text: str, size: float, *, bold: bool = False, colour=None, space: float = 6):
        p = document.add_paragraph()
        r = p.add_run(text)
        r.font.size = Pt(size)
        r.bold = bold
        if colour is not None:
            r.font.color.rgb = colour
        p.paragraph_format.space_after = Pt(space)
        return p

    note = draft_text(brief)
    if note:
        line(note, 11, bold=True, colour=RED, space=12)
    for _ in range(4 if not note else 2):
        document.add_paragraph()
    line(f"Stockholms stad · stadsdelsområde {brief.area.name}", 10, colour=GREY,
         space=24)
    title = document.add_heading("Lägesbild: trygghet och brott", level=0)
    title.paragraph_format.space_after = Pt(12)
    line(brief.area.name, 28, bold=True, colour=BLUE, space=4)
    line(brief.period.label[:1].upper() + brief.period.label[1:], 16, space=24)
    line("Underlag för nämndsammanträde", 13, bold=True, space=24)
    population = (f"{brief.population:,}".replace(",", "\u00a0")
                  + f" (31 december {brief.population_year})") if brief.population \
        else "uppgift saknas"
    for label, value in (("Framtagen", brief.created.isoformat()),
                         ("Fynd och platser per", brief.as_of.isoformat()),
                         ("Jämförelseperiod", brief.comparison.label),
                         ("Folkmängd", population), ("Källa", "Trygghetskartan")):
        p = document.add_paragraph()
        r = p.add_run(f"{label}: ")
        r.bold = True
        p.add_run(value)
        p.paragraph_format.space_after = Pt(2)
    if brief.demo:
        line("DEMODATA: händelser, fynd och platser i detta underlag är påhittade för att "
             "visa verktyget – inte verkliga uppgifter.", 10, bold=True,
             colour=RGBColor(0x9A, 0x6B, 0x00), space=0)
    document.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)


def render_docx(brief: Brief, pictures: Pictures) -> bytes:
    """The brief as DOCX bytes."""
    document, section = a4_document(brief.title)
    document.core_properties.subject = "Lägesbild – underlag för nämndsammanträde"
    if brief.draft:
        _draft_header(section)
    described = describe_pictures(brief)
    h = SECTION_HEADINGS
    _title_page(document, brief)

    document.add_heading(h[0], level=1)
    for sentence in brief.highlights:
        document.add_paragraph(clean(sentence), style="List Bullet")
    add_table(document, brief.summary)
    if brief.footnotes:
        document.add_heading("Fotnoter", level=2)
        for note in brief.footnotes:
            document.add_paragraph(clean(note), style="List Number")

    document.add_heading(h[1], level=1)
    add_picture(document, pictures.map, described["map"])
    document.add_paragraph(f"{brief.area.name}: stadsdelar, prioriterade platser (numrerade "
                           "som i tabellen Prioriterade platser) och platser med "
                           "platssamverkan.", style="Caption")

    document.add_heading(h[2], level=1)
    add_picture(document, pictures.trend, described["trend"])
    add_table(document, brief.trend)
    document.add_heading(h[3], level=1)
    add_table(document, brief.groups)
    document.add_heading(h[4], level=1)
    add_table(document, brief.strategic)
    document.add_heading(h[5], level=1)
    document.add_paragraph("Kvinnors och flickors utsatthet redovisas särskilt: antal "
                           "händelser med en kvinna eller flicka som brottsoffer och deras "
                           "andel av händelserna med känt kön.")
    add_table(document, brief.gender)
    add_table(document, brief.victims)
    document.add_heading(h[6], level=1)
    add_table(document, brief.places)
    document.add_heading(h[7], level=1)
    document.add_paragraph(f"Mediantid från fynd till åtgärd: {median_text(brief)}.")
    for table in (brief.findings.status, brief.findings.by_category,
                  brief.findings.by_owner, brief.findings.oldest, brief.findings.promises):
        if table is not None:
            add_table(document, table)
    document.add_heading(h[8], level=1)
    add_picture(document, pictures.sites, described.get("sites", ""))
    add_table(document, brief.sites)
    document.add_heading(h[9], level=1)
    add_table(document, brief.action_plan)

    for field, heading in TEXT_FIELDS.items():
        document.add_heading(heading, level=1)
        text = clean(brief.texts.get(field, ""))
        parts = [p.strip("\n") for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        if not parts:
            p = document.add_paragraph()
            r = p.add_run(PLACEHOLDER)
            r.italic = True
            r.font.color.rgb = GREY
        for part in parts:
            p = document.add_paragraph()
            for i, piece in enumerate(part.split("\n")):
                run = p.add_run(piece)
                if i < len(part.split("\n")) - 1:
                    run.add_break()

    document.add_heading(h[-2], level=1)
    for paragraph in brief.method:
        document.add_paragraph(paragraph)
    document.add_paragraph(f"Tecken: <{brief.threshold} = färre än {brief.threshold} (dolt); "
                           ".. = dolt för att skydda ett litet tal; – = kan inte beräknas "
                           "eller uppgift saknas.")
    document.add_heading(h[-1], level=1)
    document.add_paragraph(COMPARISON_RULE)
    for indicator in INDICATORS.values():
        p = document.add_paragraph()
        p.add_run(f"{indicator.name}. ").bold = True
        p.add_run(clean(indicator.definition))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


__all__ = ["add_table", "render_docx"]
