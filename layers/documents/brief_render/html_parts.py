"""The HTML side the documents share (brief, weekly lägesbild, walk protocol): the Jinja2
environment and its filters, the embedded DejaVu Sans for the PDF, and data URIs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from layers.indicators import format_int

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


def _css_string(text: str) -> str:
    """Text for a CSS string literal (the PDF footer)."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=4)
def environment(*folders: Path) -> Environment:
    """The Jinja2 environment of the documents: templates from ``folders`` first, then
    the brief's (the base template, the table macro), autoescaping on, with the filters
    the templates use."""
    env = Environment(loader=FileSystemLoader([*folders, TEMPLATES]),
                      autoescape=select_autoescape(["html"]), trim_blocks=False)
    env.filters.update(paragraphs=paragraphs, thousands=format_int, css_string=_css_string,
                       capitalize_first=_capitalize_first)
    return env


def data_uri(data: bytes | None, mime: str = "image/png") -> str | None:
    """``data`` as a ``data:`` URI, so a document is one self-contained file."""
    if data is None:
        return None
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


__all__ = ["FONT_DIRS", "TEMPLATES", "FontFace", "data_uri", "environment", "font_faces",
           "paragraphs"]
