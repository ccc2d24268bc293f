"""The weekly lägesbild (:mod:`layers.documents.weekly`) as HTML and PDF.

The same machinery as the area brief: the Jinja2 environment, the stylesheet and the
table macro (``templates/macros.html``) of :mod:`layers.documents.brief_render.html_parts`,
printed to PDF/UA by WeasyPrint with :func:`layers.documents.brief_render.pdf.print_pdf`.
"""

from __future__ import annotations

from markupsafe import Markup

from layers.documents.brief_render.html_parts import TEMPLATES, environment, font_faces
from layers.documents.brief_render.pdf import print_pdf
from layers.documents.weekly import WeeklyReport
from layers.indicators import INDICATORS

#: The formats a weekly lägesbild comes in, with their media types.
FORMATS = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def render_weekly_html(report: WeeklyReport, *, mode: str = "html",
                       back_url: str | None = None) -> str:
    """The weekly lägesbild as one HTML document (``mode`` "pdf" adds page rules)."""
    css = (TEMPLATES / "brief.css").read_text(encoding="utf-8")
    return environment().get_template("weekly.html").render(
        report=report, mode=mode, css=Markup(css), back_url=back_url,
        fonts=font_faces() if mode == "pdf" else (), indicators=INDICATORS)


def render_weekly(report: WeeklyReport, fmt: str, *, back_url: str | None = None) -> bytes:
    """The weekly lägesbild in ``fmt`` (``html`` or ``pdf``) as bytes."""
    if fmt == "pdf":
        return print_pdf(render_weekly_html(report, mode="pdf"))
    if fmt == "html":
        return render_weekly_html(report, back_url=back_url).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}")


def weekly_file_name(report: WeeklyReport, fmt: str) -> str:
    """``veckolagesbild-jarva-2025-W48.pdf``."""
    return f"veckolagesbild-{report.area.code}-{report.code}.{fmt}"


__all__ = ["FORMATS", "render_weekly", "render_weekly_html", "weekly_file_name"]
