"""Print a walk's protocol (:class:`layers.documents.protocol.Protocol`) as PDF, DOCX or HTML.

The same parts as the area briefs (:mod:`layers.documents.brief_render`): the PDF is a Jinja2
template printed by WeasyPrint with the brief's stylesheet and its embedded DejaVu
Sans (``@font-face`` to local files), the DOCX is python-docx with the brief's
Swedish styles, table writer and page-number footer, and the route map is drawn
with matplotlib like the brief's district map (no tiles: the bundled stadsdelar,
land and water, so it renders offline). Findings are numbered on the map as in
the lists.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import shapely
from markupsafe import Markup

import geodata
from layers.core.schema import OWNERS, STORE_EPSG
from layers.documents.brief_render import figures
from layers.documents.brief_render.docx_parts import (
    GREY,
    a4_document,
    add_picture,
    add_table,
    clean,
)
from layers.documents.brief_render.html_parts import TEMPLATES as BRIEF_TEMPLATES
from layers.documents.brief_render.html_parts import data_uri, environment, font_faces
from layers.documents.protocol import Protocol, findings_frame

TEMPLATES = Path(__file__).resolve().parent / "protocol_templates"
#: Output formats and their MIME types.
FORMATS: dict[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
}
#: Colour of each owner's findings on the map (colour-blind safe, Okabe–Ito).
OWNER_COLOURS = dict(zip([*OWNERS, "ingen"], ("#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                              "#E69F00", "#56B4E9", "#6b6b6b"), strict=True))
ROUTE = "#0b3d6b"
#: Smallest map extent (metres): a short walk still shows its streets' surroundings.
MIN_EXTENT_M = 600.0


# --- the map --------------------------------------------------------------------------


def _extent(protocol: Protocol) -> tuple[float, float, float, float] | None:
    geoms = [g for g in [protocol.walk.route, *findings_frame(protocol).geometry]
             if g is not None and not g.is_empty]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.union_all(geoms).bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = max(maxx - minx, maxy - miny, MIN_EXTENT_M) / 2 * 1.15
    return cx - half * 1.45, cy - half, cx + half * 1.45, cy + half


def route_map(protocol: Protocol, width_cm: float = 17.0) -> bytes | None:
    """The route and the numbered findings on the stadsdelar, as PNG (None: nothing to draw)."""
    extent = _extent(protocol)
    if extent is None:
        return None
    minx, miny, maxx, maxy = extent
    height_cm = width_cm * (maxy - miny) / (maxx - minx)
    points = findings_frame(protocol)
    with mpl.rc_context(figures.rc_style()):
        fig = figures.new_figure(width_cm, height_cm + 1.6)
        ax = fig.add_axes((0.01, 1.6 / (height_cm + 1.6), 0.98, height_cm / (height_cm + 1.6)))
        box = shapely.box(*extent)
        full = geodata.stadsdelar(crs=STORE_EPSG)
        full = full[full.intersects(box)]
        land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
        land = land[land.intersects(box)]
        if not full.empty:
            full.plot(ax=ax, color=figures.WATER, linewidth=0)
        if not land.empty:
            land.plot(ax=ax, color=figures.AREA_FILL, edgecolor=figures.STADSDEL_EDGE,
                      linewidth=0.5)
            clipped = land.geometry.intersection(box)
            for name, part in zip(land["name"], clipped, strict=True):
                if part.is_empty or part.area < box.area / 40:
                    continue  # too little of it in view to carry a label
                pt = part.representative_point()
                ax.text(pt.x, pt.y, name, ha="center", va="center", fontsize=7,
                            color="#666666", style="italic", path_effects=figures.HALO)
        if protocol.walk.route is not None:
            gpd.GeoSeries([protocol.walk.route], crs=STORE_EPSG).plot(
                ax=ax, color=ROUTE, linewidth=2.2, zorder=5)
        for row in points.itertuples(index=False):
            colour = OWNER_COLOURS.get(row.owner, OWNER_COLOURS["ingen"])
            ax.plot(row.geometry.x, row.geometry.y, marker="o", markersize=11,
                    markerfacecolor=colour, markeredgecolor="white", markeredgewidth=1.0,
                    zorder=10)
            ax.text(row.geometry.x, row.geometry.y, str(row.number), ha="center",
                    va="center", fontsize=6, color="white", fontweight="bold", zorder=11)
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        figures.scale_bar(ax, extent)
        figures.north_arrow(ax, extent)
        from matplotlib.lines import Line2D

        handles = []
        if protocol.walk.route is not None:
            handles.append(Line2D([], [], color=ROUTE, linewidth=2.2, label="Vandringens rutt"))
        for key in dict.fromkeys(points["owner"]):
            label = {**OWNERS, "ingen": "ingen ansvarig"}.get(key, key)
            handles.append(Line2D([], [], marker="o", linestyle="none", markersize=8,
                                  markerfacecolor=OWNER_COLOURS.get(key, "#6b6b6b"),
                                  markeredgecolor="white", label=f"Fynd: {label}"))
        fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=7.5,
                   bbox_to_anchor=(0.5, 0.005), handlelength=1.6, columnspacing=1.4)
        return figures.to_png(fig)


# --- HTML and PDF -------------------------------------------------------------------------


def render_html(protocol: Protocol, *, mode: str = "html", picture: bytes | None = None,
                back_url: str | None = None) -> str:
    """The protocol as one self-contained HTML document (``mode`` "pdf" for print)."""
    css = (BRIEF_TEMPLATES / "brief.css").read_text(encoding="utf-8")
    photos = {f.number: data_uri(f.photo, "image/jpeg") for f in protocol.findings}
    # the brief's templates give the base template and the shared table macro
    return environment(TEMPLATES).get_template("protocol.html").render(
        p=protocol, mode=mode, css=Markup(css), back_url=back_url,
        fonts=font_faces() if mode == "pdf" else (), map=data_uri(picture, "image/png"),
        photos=photos)


def render_pdf(protocol: Protocol, picture: bytes | None = None) -> bytes:
    """Print the protocol to PDF bytes with WeasyPrint."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    html = render_html(protocol, mode="pdf", picture=picture)
    return HTML(string=html, base_url=TEMPLATES.as_uri() + "/").write_pdf(
        font_config=FontConfiguration())


# --- DOCX ----------------------------------------------------------------------------------


def render_docx(protocol: Protocol, picture: bytes | None = None) -> bytes:
    """The protocol as an editable Word document."""
    from docx.shared import Cm, Pt

    document, _ = a4_document(protocol.title, 1.8)

    document.add_heading("Protokoll från trygghetsvandring", level=0)
    sub = document.add_paragraph()
    run = sub.add_run(protocol.title.removeprefix("Trygghetsvandring "))
    run.bold = True
    run.font.size = Pt(14)
    if protocol.owner_label:
        document.add_paragraph(f"Utdrag för {protocol.owner_label}: bara fynd där "
                               f"{protocol.owner_label} är ansvarig.")
    if protocol.demo:
        document.add_paragraph("DEMODATA: vandringen och fynden är påhittade för att visa "
                               "verktyget.")
    facts = document.add_table(rows=0, cols=2)
    facts.style = "Table Grid"
    for label, value in protocol.facts:
        cells = facts.add_row().cells
        cells[0].text = clean(label)
        cells[1].text = clean(value)
        cells[0].paragraphs[0].runs[0].bold = True
    document.add_paragraph()

    document.add_heading("Karta", level=1)
    if picture is not None:
        add_picture(document, picture, "Karta över vandringens rutt med fynden numrerade")
        document.add_paragraph("Vandringens rutt och fynden, numrerade som i listan nedan.",
                               style="Caption")
    else:
        document.add_paragraph("Ingen rutt och inga fynd med plats att visa.")

    document.add_heading("Deltagare", level=1)
    add_table(document, protocol.participants)
    document.add_heading("Fynd per ansvarig", level=1)
    add_table(document, protocol.summary)

    for part in protocol.parts:
        document.add_heading(f"Ansvarig: {part.label} ({len(part.findings)} fynd)", level=1)
        for f in part.findings:
            document.add_heading(f"Fynd {f.number}: {f.category}", level=2)
            lines = [("Allvarlighet", f.severity), ("Ansvarig", part.label),
                     ("Status", f.status), ("Registrerat", f.found_at),
                     ("Plats", f.place or "okänd"),
                     ("Koordinater (WGS 84)", f"{f.lat:.5f}, {f.lon:.5f}" if f.lat is not None
                      else "okända"),
                     ("Beskrivning", f.description or "–")]
            for label, value in lines:
                p = document.add_paragraph()
                r = p.add_run(f"{label}: ")
                r.bold = True
                p.add_run(clean(value))
                p.paragraph_format.space_after = Pt(1)
            if f.photo is not None:
                document.add_picture(io.BytesIO(f.photo), width=Cm(8))
            else:
                p = document.add_paragraph()
                r = p.add_run("Inget foto.")
                r.italic = True
                r.font.color.rgb = GREY
    if not protocol.parts:
        document.add_paragraph("Inga fynd registrerades" + (
            f" för {protocol.owner_label}." if protocol.owner_label else "."))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render(protocol: Protocol, fmt: str, *, back_url: str | None = None) -> bytes:
    """The protocol as ``pdf``, ``docx`` or ``html`` bytes (the map drawn once)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    picture = route_map(protocol)
    if fmt == "pdf":
        return render_pdf(protocol, picture)
    if fmt == "docx":
        return render_docx(protocol, picture)
    return render_html(protocol, picture=picture, back_url=back_url).encode("utf-8")
