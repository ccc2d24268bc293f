"""The pictures of a brief, drawn server-side with matplotlib: PNG bytes.

* :func:`district_map` — the district with its stadsdelar, water, neighbouring
  districts, priority places (numbered as in the table) and platssamverkan sites, with
  a legend, a scale bar and a north arrow. No tiles: everything comes from the bundled
  geography, so it renders offline.
* :func:`trend_chart` — incidents per 1 000 inhabitants over the last periods, the
  district against the city, and per category group.
* :func:`sites_chart` — incidents at each platssamverkan site over the periods.
* :func:`city_chart` — the 11 stadsdelsområden's rates side by side.
* :func:`draft_watermark` — the diagonal UTKAST of a draft, an A4-sized SVG.

Only the object-oriented API (``Figure`` + the Agg canvas) is used, never pyplot, so
drawing is safe in the web app's threads. Labels are Swedish, decimals use commas.
Values hidden by the brief's suppression are ``None`` and are not drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import lru_cache

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrow, Patch, Rectangle
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FuncFormatter, MaxNLocator

import geodata
from layers.core.periods import Period
from layers.core.schema import INCIDENT_GROUPS, STORE_EPSG
from layers.documents.brief import Brief, CityOverview, format_rate

#: Resolution of the PNGs (print quality at the sizes the documents use).
DPI = 150
CM = 1 / 2.54
FONT = "DejaVu Sans"

# colours (colour-blind safe where they must be told apart)
AREA_EDGE = "#0b3d6b"
AREA_FILL = "#fffbea"
CONTEXT_FILL = "#e3e3e3"
WATER = "#cfe3f2"
STADSDEL_EDGE = "#8a8a8a"
SITE = "#1b7f4d"
PLACE = "#c0262d"
DISTRICT_LINE = "#0b3d6b"
CITY_LINE = "#8a8a8a"
GROUP_COLOURS = ("#c0262d", "#1f6fb2", "#7b3294", "#e08214", "#6b6b6b")

HALO = [withStroke(linewidth=2.5, foreground="white")]


def new_figure(width_cm: float, height_cm: float, layout: str | None = None) -> Figure:
    """A matplotlib figure of the given size in centimetres, drawn off-screen (Agg)."""
    fig = Figure(figsize=(width_cm * CM, height_cm * CM), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes on white."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()


def _comma(x: float, _pos: int | None = None) -> str:
    if abs(x - round(x)) < 1e-9:
        return f"{int(round(x))}"
    return f"{x:.2f}".rstrip("0").replace(".", ",")


def rc_style() -> dict:
    """The matplotlib settings of every picture (font, sizes, no top or right spine)."""
    return {"font.family": FONT, "font.size": 8, "axes.titlesize": 9,
            "axes.titleweight": "bold", "axes.spines.top": False,
            "axes.spines.right": False, "legend.frameon": False}


@lru_cache(maxsize=1)
def draft_watermark(word: str = "UTKAST") -> bytes:
    """The diagonal watermark of a draft brief: an A4 page (SVG) with ``word`` across it.

    matplotlib writes the letters as outlines (``svg.fonttype`` "path"), not as text:
    the mark is seen on every page but never read out or copied into the page's text.
    """
    width, height = 21.0, 29.7
    with mpl.rc_context({"svg.fonttype": "path", "font.family": FONT}):
        fig = new_figure(width, height)
        fig.text(0.5, 0.5, word, ha="center", va="center", fontsize=110,
                 fontweight="bold", color="#b00020", alpha=0.13,
                 rotation=math.degrees(math.atan2(height, width)),
                 rotation_mode="anchor")
        out = io.BytesIO()
        fig.savefig(out, format="svg", transparent=True)
    return out.getvalue()


# --- the map ---------------------------------------------------------------------------


def _nice_length(span_m: float) -> float:
    """A round scale bar length of about a fifth of the map width."""
    target = span_m / 5
    for step in (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if step >= target:
            return step
    return 10000


def scale_bar(ax, extent: tuple[float, float, float, float]) -> None:
    """A black and white scale bar of a round length in the lower left corner."""
    minx, miny, maxx, maxy = extent
    width, height = maxx - minx, maxy - miny
    length = _nice_length(width)
    x0, y0 = minx + width * 0.04, miny + height * 0.05
    bar_h = height * 0.012
    half = length / 2
    ax.add_patch(Rectangle((x0, y0), half, bar_h, facecolor="black", edgecolor="black",
                           zorder=20))
    ax.add_patch(Rectangle((x0 + half, y0), half, bar_h, facecolor="white",
                           edgecolor="black", zorder=20))
    label = f"{length / 1000:g} km".replace(".", ",") if length >= 1000 else f"{length:g} m"
    for x, text in ((x0, "0"), (x0 + length, label)):
        ax.text(x, y0 + bar_h * 2.2, text, ha="center", va="bottom", fontsize=7,
                path_effects=HALO, zorder=21)


def north_arrow(ax, extent: tuple[float, float, float, float]) -> None:
    """An arrow with N in the upper right corner (the maps are north up)."""
    minx, miny, maxx, maxy = extent
    width, height = maxx - minx, maxy - miny
    x, y = maxx - width * 0.05, maxy - height * 0.17
    length = height * 0.08
    ax.add_patch(FancyArrow(x, y, 0, length, width=width * 0.012,
                            head_width=width * 0.035, head_length=length * 0.45,
                            length_includes_head=True, color="black", zorder=20))
    ax.text(x, y + length + height * 0.012, "N", ha="center", va="bottom", fontsize=9,
            fontweight="bold", path_effects=HALO, zorder=21)


def _extent(brief: Brief) -> tuple[float, float, float, float]:
    geom = brief.map.outline
    if geom is None and not brief.map.stadsdelar.empty:
        geom = shapely.union_all(brief.map.stadsdelar.geometry.to_numpy())
    minx, miny, maxx, maxy = geom.bounds
    pad = max(maxx - minx, maxy - miny) * 0.06
    return minx - pad, miny - pad, maxx + pad, maxy + pad


def district_map(brief: Brief, width_cm: float = 17.0) -> bytes:
    """The district's map as PNG bytes."""
    extent = _extent(brief)
    minx, miny, maxx, maxy = extent
    aspect = (maxy - miny) / (maxx - minx)
    map_h = min(max(width_cm * aspect, 9.0), 17.0)
    with mpl.rc_context(rc_style()):
        fig = new_figure(width_cm, map_h + 2.2)
        ax = fig.add_axes((0.01, 2.2 / (map_h + 2.2), 0.98, map_h / (map_h + 2.2) - 0.01))
        ax.set_facecolor("white")
        box = shapely.box(*extent)
        water = geodata.stadsdelar(crs=STORE_EPSG)
        water = water[water.intersects(box)]
        if not water.empty:
            water.plot(ax=ax, color=WATER, linewidth=0)
        if not brief.map.context.empty:
            brief.map.context.plot(ax=ax, color=CONTEXT_FILL, edgecolor="white",
                                   linewidth=0.4)
        sd = brief.map.stadsdelar
        if not sd.empty:
            sd.plot(ax=ax, color=AREA_FILL, edgecolor=STADSDEL_EDGE, linewidth=0.5)
        if brief.map.outline is not None:
            gpd.GeoSeries([brief.map.outline], crs=STORE_EPSG).boundary.plot(
                ax=ax, color=AREA_EDGE, linewidth=1.6)
        ax.set_xlim(minx, maxx)
        ax.set_ylim(miny, maxy)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.apply_aspect()  # final axes box now, so text boxes measured below stay true
        taken = _draw_places(ax, brief)
        _draw_sites(ax, brief.map.sites, extent, taken)
        _stadsdel_labels(ax, sd, extent, taken)
        ax.set_xlabel("")  # geopandas labels the axes with the CRS's units
        ax.set_ylabel("")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_color("#666666")
            spine.set_linewidth(0.6)
        scale_bar(ax, extent)
        north_arrow(ax, extent)
        handles = [
            Patch(facecolor=AREA_FILL, edgecolor=AREA_EDGE, linewidth=1.4,
                  label=brief.area.name),
            Patch(facecolor=CONTEXT_FILL, edgecolor="white", label="Andra stadsdelsområden"),
            Patch(facecolor=WATER, edgecolor="none", label="Vatten"),
            Patch(facecolor="white", edgecolor="#999999", linewidth=0.6,
                  label="Utanför Stockholms stad"),
            Line2D([], [], color=STADSDEL_EDGE, linewidth=0.8, label="Gräns mellan stadsdelar"),
            Line2D([], [], marker="o", linestyle="none", markersize=9,
                   markerfacecolor=PLACE, markeredgecolor="white",
                   label="Prioriterad plats (nummer = rang)"),
            Line2D([], [], marker="s", linestyle="none", markersize=8,
                   markerfacecolor=SITE, markeredgecolor="white", label="Platssamverkan"),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=7.5,
                   bbox_to_anchor=(0.5, 0.005), handlelength=1.6, columnspacing=1.4)
        return to_png(fig)


def _bbox(ax, artist):
    return artist.get_window_extent(renderer=ax.figure.canvas.get_renderer()).expanded(1.08, 1.15)


def _stadsdel_labels(ax, stadsdelar: gpd.GeoDataFrame, extent, taken: list) -> None:
    """Name the stadsdelar big enough to carry a label, never on top of other text."""
    if stadsdelar.empty:
        return
    minx, miny, maxx, maxy = extent
    small = (maxx - minx) * (maxy - miny) / 900
    step = (maxy - miny) * 0.03
    points = shapely.point_on_surface(stadsdelar.geometry.to_numpy())
    order = np.argsort(-stadsdelar.geometry.area.to_numpy())
    for i in order:
        name, geom, pt = stadsdelar["name"].iloc[i], stadsdelar.geometry.iloc[i], points[i]
        if geom.area < small:
            continue  # too small to carry a readable label
        offsets = [(0, dy) for dy in (0, -step, step, -2 * step, 2 * step)
                   if not dy or geom.contains(shapely.Point(pt.x, pt.y + dy))]
        _label(ax, pt.x, pt.y, name, offsets, taken, required=False, ha="center",
               va="center", fontsize=6.5, color="#444444", style="italic", zorder=8)


def _label(ax, x: float, y: float, text: str, offsets: list[tuple[float, float]],
           taken: list, *, required: bool, **style) -> None:
    """Put ``text`` at the first offset where it overlaps nothing in ``taken``.

    A required label goes to the first offset when every one overlaps; another is left
    out. The box it takes is added to ``taken``.
    """
    for dx, dy in offsets:
        artist = ax.text(x + dx, y + dy, text, path_effects=HALO, **style)
        box = _bbox(ax, artist)
        if not any(box.overlaps(t) for t in taken):
            taken.append(box)
            return
        artist.remove()
    if required and offsets:
        dx, dy = offsets[0]
        taken.append(_bbox(ax, ax.text(x + dx, y + dy, text, path_effects=HALO, **style)))


def _draw_sites(ax, sites: gpd.GeoDataFrame, extent, taken: list) -> None:
    """Draw the sites with their names where they overlap nothing in ``taken``."""
    if sites.empty:
        return
    sites.plot(ax=ax, color=SITE, alpha=0.35, edgecolor=SITE, linewidth=0.8, zorder=9)
    height = extent[3] - extent[1]
    points = [geom.representative_point() for geom in sites.geometry]
    for pt in points:
        (mark,) = ax.plot(pt.x, pt.y, marker="s", markersize=6, markerfacecolor=SITE,
                          markeredgecolor="white", zorder=10)
        taken.append(_bbox(ax, mark))
    d = height * 0.022
    offsets = [(0, -d), (0, d), (d, 0), (-d, 0), (0, -2.2 * d), (0, 2.2 * d)]
    for name, pt in zip(sites["name"], points, strict=True):
        for (dx, dy), (ha, va) in zip(offsets, [("center", "top"), ("center", "bottom"),
                                               ("left", "center"), ("right", "center"),
                                               ("center", "top"), ("center", "bottom")],
                                      strict=True):
            before = len(taken)
            _label(ax, pt.x, pt.y, name, [(dx, dy)], taken, required=False, ha=ha, va=va,
                   fontsize=6.5, color=SITE, fontweight="bold", zorder=11)
            if len(taken) > before:
                break
        else:
            _label(ax, pt.x, pt.y, name, [(0, -d)], taken, required=True, ha="center",
                   va="top", fontsize=6.5, color=SITE, fontweight="bold", zorder=11)


def _draw_places(ax, brief: Brief) -> list:
    """Draw the numbered priority places; return the boxes their marks take."""
    taken = []
    if brief.map.places:
        gpd.GeoSeries([p.geometry for p in brief.map.places], crs=STORE_EPSG).plot(
            ax=ax, facecolor=PLACE, alpha=0.25, edgecolor=PLACE, linewidth=1.0, zorder=12)
    for place in brief.map.places:
        pt = place.geometry.representative_point()
        (mark,) = ax.plot(pt.x, pt.y, marker="o", markersize=12, markerfacecolor=PLACE,
                          markeredgecolor="white", markeredgewidth=1.2, zorder=13)
        ax.text(pt.x, pt.y, str(place.rank), ha="center", va="center", fontsize=7,
                color="white", fontweight="bold", zorder=14)
        taken.append(_bbox(ax, mark))
    return taken


# --- charts -----------------------------------------------------------------------------

_MONTHS_SHORT = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov",
                 "dec")


def axis_labels(periods: Sequence[Period]) -> list[str]:
    """Periods on two short lines for a chart's x axis: ``T2\\n2025``, ``maj\\n2025``.

    Months carry their year only on the first month and on January.
    """
    out = []
    for i, period in enumerate(periods):
        if period.kind == "tertial":
            out.append(f"T{period.tertial_number}\n{period.start.year}")
        elif period.kind == "month":
            month = _MONTHS_SHORT[period.start.month - 1]
            first = i == 0 or period.start.month == 1
            out.append(f"{month}\n{period.start.year}" if first else month)
        elif period.kind == "year":
            out.append(str(period.start.year))
        else:
            out.append(f"{period.start.isoformat()}–\n{period.end.isoformat()}")
    return out


def _tick_size(labels: Sequence[str]) -> float:
    widest = max((len(line) for label in labels for line in label.split("\n")), default=0)
    return 6.5 if len(labels) > 6 or widest > 8 else 8



def _series(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def trend_chart(brief: Brief, width_cm: float = 17.0) -> bytes:
    """Rates over the trend periods: the district vs the city, and per group."""
    points = brief.trend_points
    x = np.arange(len(points))
    labels = axis_labels([p.period for p in points])
    per_capita = brief.population is not None
    unit = "per 1 000 invånare" if per_capita else "antal"
    with mpl.rc_context(rc_style()):
        fig = new_figure(width_cm, 7.0, layout="constrained")
        left, right = fig.subplots(1, 2)
        left.plot(x, _series([p.rate if per_capita else p.count for p in points]),
                  marker="o", color=DISTRICT_LINE, linewidth=2, label=brief.area.name)
        if per_capita:
            left.plot(x, _series([p.city_rate for p in points]), marker="s", linestyle="--",
                      color=CITY_LINE, linewidth=1.5, label="Staden")
        left.set_title(f"Alla händelser, {unit}")
        for i, (g, label) in enumerate(INCIDENT_GROUPS.items()):
            ys = _series([p.group_rates.get(g) for p in points])
            right.plot(x, ys, marker="o", markersize=3.5, linewidth=1.4,
                       color=GROUP_COLOURS[i % len(GROUP_COLOURS)], label=label)
        right.set_title("Per kategorigrupp, per 1 000 invånare")
        for ax in (left, right):
            ax.set_xticks(x, labels, fontsize=_tick_size(labels))
            ax.set_xlim(-0.4, len(x) - 0.6)
            ax.yaxis.set_major_formatter(FuncFormatter(_comma))
            ax.yaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
            top = np.nanmax([np.nanmax(line.get_ydata(), initial=0) for line in ax.lines]
                            + [0])
            ax.set_ylim(0, top * 1.12 if top > 0 else 1)
            ax.grid(axis="y", color="#dddddd", linewidth=0.6)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2),
                      ncol=2 if ax is left else 3, fontsize=7, handlelength=1.8)
        if not per_capita:
            right.set_visible(False)
        return to_png(fig)


def sites_chart(brief: Brief, width_cm: float = 17.0) -> bytes | None:
    """Incidents at each platssamverkan site per period, or None without sites."""
    if not brief.site_series:
        return None
    periods = [p.period for p in brief.trend_points][-len(brief.site_series[0].counts):]
    labels = axis_labels(periods)
    x = np.arange(len(periods))
    with mpl.rc_context(rc_style()):
        fig = new_figure(width_cm, 6.5, layout="constrained")
        ax = fig.add_subplot()
        for i, s in enumerate(brief.site_series):
            colour = mpl.colormaps["tab10"](i % 10)
            ax.plot(x, _series(s.counts), marker="o", markersize=3.5, linewidth=1.5,
                    color=colour, label=s.name)
        ax.set_xticks(x, labels, fontsize=_tick_size(labels))
        ax.set_title("Händelser vid platssamverkansplatserna (antal)")
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
        return to_png(fig)


def city_chart(overview: CityOverview, width_cm: float = 17.0) -> bytes:
    """The current areas' rates as horizontal bars with the city's rate."""
    data = sorted(((name, rate) for name, rate in overview.chart),
                  key=lambda t: -1 if t[1] is None else t[1])
    names = [n for n, _ in data]
    values = [0.0 if v is None else v for _, v in data]
    with mpl.rc_context(rc_style()):
        fig = new_figure(width_cm, 2.0 + 0.62 * len(names), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(names))
        ax.barh(y, values, color=DISTRICT_LINE, height=0.65)
        top = max(values + [overview.city_rate or 0, 1e-9])
        for yi, v, (_, raw) in zip(y, values, data, strict=True):
            ax.text(v + top * 0.01, yi, ".." if raw is None else format_rate(v), va="center",
                    fontsize=7)
        if overview.city_rate is not None:
            ax.axvline(overview.city_rate, color=PLACE, linestyle="--", linewidth=1.2)
            ax.text(overview.city_rate, len(names) - 0.35,
                    f" Staden {format_rate(overview.city_rate)}", color=PLACE, fontsize=7,
                    va="bottom")
        ax.set_yticks(y, names)
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.set_major_formatter(FuncFormatter(_comma))
        ax.set_xlabel(f"Händelser per 1 000 invånare, {overview.period.label}")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        return to_png(fig)
