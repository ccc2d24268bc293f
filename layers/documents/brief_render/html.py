"""The brief as HTML: one Jinja2 template for the web page and for the PDF.

Autoescaping is on: the secretary's analysis text (user input) and finding
descriptions are escaped; :func:`paragraphs` turns blank lines into paragraphs and
line breaks into ``<br>`` only after escaping.
"""

from __future__ import annotations

from markupsafe import Markup

from layers.documents.brief import SECTION_HEADINGS, TEXT_FIELDS, Brief
from layers.documents.brief_render import figures
from layers.documents.brief_render.common import (
    DRAFT_MARK,
    EMPTY_TEXT,
    WRITE_HINT,
    Pictures,
    describe_pictures,
    draft_text,
    median_text,
)
from layers.documents.brief_render.html_parts import (  # noqa: F401  (re-exported)
    TEMPLATES,
    data_uri,
    environment,
    font_faces,
    paragraphs,
)
from layers.indicators import COMPARISON_RULE, INDICATORS


def watermark_uri() -> str:
    """The diagonal UTKAST of a draft (:func:`figures.draft_watermark`) as a data URI.

    It is the page's background, so it is on every page, behind the text, and not part
    of the tagged content a screen reader reads (the first page's note says it in words).
    """
    return data_uri(figures.draft_watermark(DRAFT_MARK), "image/svg+xml")


def render_html(brief: Brief, pictures: Pictures, *, mode: str = "html",
                back_url: str | None = None) -> str:
    """The brief as one HTML document (``mode`` "pdf" adds page rules and fonts)."""
    env = environment()
    css = (TEMPLATES / "brief.css").read_text(encoding="utf-8")
    return env.get_template("brief.html").render(
        brief=brief, mode=mode, css=Markup(css), back_url=back_url,
        fonts=font_faces() if mode == "pdf" else (),
        headings=SECTION_HEADINGS, indicators=INDICATORS, comparison_rule=COMPARISON_RULE,
        text_fields=TEXT_FIELDS, median_text=median_text(brief),
        draft=draft_text(brief), watermark=watermark_uri() if brief.draft else None,
        draft_mark=DRAFT_MARK, empty_text=EMPTY_TEXT, write_hint=WRITE_HINT,
        alts=describe_pictures(brief),
        images={"map": data_uri(pictures.map), "trend": data_uri(pictures.trend),
                "sites": data_uri(pictures.sites)})
