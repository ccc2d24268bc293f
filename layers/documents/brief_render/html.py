"""The brief as HTML: one Jinja2 template for the web page and for the PDF.

Autoescaping is on: the secretary's analysis text (user input) and finding
descriptions are escaped; :func:`paragraphs` turns blank lines into paragraphs and
line breaks into ``<br>`` only after escaping.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from layers.documents.brief import NBSP, SECTION_HEADINGS, TEXT_FIELDS, Brief
from layers.documents.brief_render import (
    DRAFT_MARK,
    EMPTY_TEXT,
    WRITE_HINT,
    Pictures,
    describe_pictures,
    draft_text,
    figures,
    median_text,
)
from layers.indicators import COMPARISON_RULE, INDICATORS

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: Where DejaVu Sans is looked for: Debian's fonts-dejavu-core, then matplotlib's copy.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),
             Path(matplotlib.get_data_path()) / "fonts" / "ttf")
_FONT_FILES = {("normal", "normal"): "DejaVuSans.ttf", ("bold", "normal"): "DejaVuSans-Bold.ttf",
               ("normal", "italic"): "DejaVuSans-Oblique.ttf",
               ("bold", "italic"): "DejaVuSans-BoldOblique.ttf"}


@dataclass(frozen=True)
class FontFace:
    """One ``@font-face`` rule: a local font file by ``file://`` URL."""

    family: str
    weight: str
    style: str
    url: str


@lru_cache(maxsize=1)
def font_faces() -> tuple[FontFace, ...]:
    """DejaVu Sans in four styles from the first folder that has them (may be empty:
    then WeasyPrint finds the fonts through fontconfig)."""
    for folder in FONT_DIRS:
        paths = {k: folder / name for k, name in _FONT_FILES.items()}
        if all(p.is_file() for p in paths.values()):
            return tuple(FontFace("DejaVu Sans", w, s, p.as_uri())
                         for (w, s), p in paths.items())
    return ()


def paragraphs(text: str) -> Markup:
    """Escape user text; blank lines separate paragraphs, newlines become <br>."""
    parts = [p.strip("\n") for p in (text or "").replace("\r\n", "\n").split("\n\n")]
    return Markup("").join(
        Markup("<p>") + Markup("<br>").join(escape(line) for line in p.split("\n"))
        + Markup("</p>\n") for p in parts if p.strip())


def _thousands(n: int) -> str:
    return f"{int(n):,}".replace(",", NBSP)


def _css_string(text: str) -> str:
    """Text for a CSS string literal (the PDF footer)."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html"]), trim_blocks=False)
    env.filters.update(paragraphs=paragraphs, thousands=_thousands, css_string=_css_string,
                       capitalize_first=_capitalize_first)
    return env


def _data_uri(png: bytes | None) -> str | None:
    if png is None:
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def watermark_uri() -> str:
    """The diagonal UTKAST of a draft (:func:`figures.draft_watermark`) as a data URI.

    It is the page's background, so it is on every page, behind the text, and not part
    of the tagged content a screen reader reads (the first page's note says it in words).
    """
    svg = figures.draft_watermark(DRAFT_MARK)
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def render_html(brief: Brief, pictures: Pictures, *, mode: str = "html",
                back_url: str | None = None) -> str:
    """The brief as one HTML document (``mode`` "pdf" adds page rules and fonts)."""
    env = _environment()
    css = (TEMPLATES / "brief.css").read_text(encoding="utf-8")
    return env.get_template("brief.html").render(
        brief=brief, mode=mode, css=Markup(css), back_url=back_url,
        fonts=font_faces() if mode == "pdf" else (),
        headings=SECTION_HEADINGS, indicators=INDICATORS, comparison_rule=COMPARISON_RULE,
        text_fields=TEXT_FIELDS, median_text=median_text(brief),
        draft=draft_text(brief), watermark=watermark_uri() if brief.draft else None,
        draft_mark=DRAFT_MARK, empty_text=EMPTY_TEXT, write_hint=WRITE_HINT,
        alts=describe_pictures(brief),
        images={"map": _data_uri(pictures.map), "trend": _data_uri(pictures.trend),
                "sites": _data_uri(pictures.sites)})
