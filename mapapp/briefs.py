"""Area briefs (lägesbilder) on the web, and the city overview.

* ``/briefs/`` (``briefs.index``): choose a stadsdelsområde and a period; links to the
  brief as HTML, PDF and DOCX for every district, and to the analysis form.
* ``/briefs/<sdn>/<period>.<html|pdf|docx>`` (``briefs.document``): the brief.
* ``/briefs/<sdn>/<period>/text`` (``briefs.edit_text``): the secretary's own sections
  (Analys av nuläge, Möjlig utveckling, Föreslagna åtgärder), kept per district and
  period; handläggare (of that district, or without one) and admin may edit (CSRF).
* ``/stad`` (``briefs.city``): the 11 current stadsdelsområden side by side on the
  common indicators, table and chart, for the city-level analyst.

Reading needs the role läsare: the documents hold draft analysis before a board
meeting. The figures follow :mod:`layers.documents.brief` (small counts always suppressed: a
brief is written to be published).
"""

from __future__ import annotations

import base64
import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from layers.core.periods import Period, PeriodError, parse_period, period_choices
from layers.documents.brief import (
    CITY_COLUMN_GROUPS,
    TEXT_FIELDS,
    TEXT_MAX_LENGTH,
    Area,
    BriefError,
    build_brief,
    build_city_overview,
    data_span,
    find_area,
    load_areas,
    load_city_data,
    load_texts,
    save_texts,
)
from layers.documents.brief_render import FORMATS, figures, file_name, render
from layers.domain.access import MANAGE_ROLE
from layers.indicators import INDICATORS
from layers.indicators.keyfigures import FIGURE_LAYERS
from mapapp.access import may_write, require_write, role_required
from mapapp.page_cache import cached_page
from mapapp.store_ import get_store

bp = Blueprint("briefs", __name__)


def _threshold() -> int:
    return int(current_app.config.get("SUPPRESS_BELOW") or 5)


def _period(text: str | None) -> Period:
    """The period asked for, or the default tertial (400 on bad text)."""
    return _chosen(text)[0]


def _chosen(text: str | None) -> tuple[Period, str | None]:
    """The period asked for and None, or the default tertial (layers.analysis.default_period)
    and the sentence that says why it is shown (400 on bad text)."""
    if not text:
        from layers.analysis.default_period import default_period

        choice = default_period(get_store(), "tertial")
        return choice.period, choice.reason
    try:
        return parse_period(text), None
    except PeriodError as exc:
        abort(400, description=str(exc))


def _area(code: str) -> Area:
    try:
        return find_area(load_areas(get_store()), code)
    except BriefError as exc:
        abort(404, description=str(exc))


def may_edit(area: Area) -> bool:
    """Tell whether the signed-in user may write the analysis of ``area``.

    An area of the old division counts as the area it became part of (the write rule
    in :mod:`layers.domain.access` lets a Järva user write Rinkeby-Kista's text).
    """
    return may_write(MANAGE_ROLE, [area.code])


def _choices() -> list[tuple[str, list[Period]]]:
    """Years, tertials and months from the first to the last year with incidents."""
    span = data_span(get_store())
    today = dt.date.today()
    first, last = (span[0].year, span[1].year) if span else (today.year, today.year)
    return period_choices(first, last)


@bp.get("/briefs/")
@role_required("läsare")
def index():
    """Choose a district and a period; links to every district's brief."""
    store = get_store()
    text = (request.args.get("period_text") or "").strip() or request.args.get("period")
    try:
        period, period_reason = _chosen(text)
    except Exception:  # a bad period typed in the form: say so and show the default
        flash(f"Okänd period '{text}': skriv t.ex. 2024, 2024-T2, 2024-05 eller "
              "2024-01-01..2024-04-30.", "error")
        period, period_reason = _chosen(None)
    areas = load_areas(store)
    chosen = None
    if request.args.get("sdn"):
        try:
            chosen = find_area(areas, request.args["sdn"])
        except BriefError as exc:
            flash(str(exc), "error")
    texts = store.read("brief_texts")
    written = set(texts.loc[texts["period"] == period.code, "sdo_code"]) \
        if not texts.empty else set()
    rows = [a for a in areas if a.current]
    if chosen is not None and not chosen.current:
        rows.append(chosen)
    return render_template("briefs/index.html", period=period, period_reason=period_reason,
                           areas=areas, rows=rows,
                           chosen=chosen, written=written, formats=list(FORMATS),
                           choices=_choices(), may_edit=may_edit)


@bp.get("/briefs/<sdn>/<period>.<any(html, pdf, docx):fmt>")
@role_required("läsare")
def document(sdn: str, period: str, fmt: str):
    """The brief of one district and period as HTML, PDF or DOCX."""
    area = _area(sdn)
    chosen = _period(period)
    brief = build_brief(get_store(), area.code, chosen, threshold=_threshold(),
                        promises=current_app.config["PROMISES"])
    back = url_for("briefs.index", sdn=area.code, period=chosen.code)
    body = render(brief, fmt, back_url=back)
    response = Response(body, mimetype=FORMATS[fmt].split(";")[0])
    if fmt == "html":
        response.mimetype = "text/html"
        response.charset = "utf-8"
    disposition = "inline" if fmt in ("html", "pdf") else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{file_name(brief, fmt)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/briefs/<sdn>/<period>/text", methods=("GET", "POST"))
@role_required("läsare")
def edit_text(sdn: str, period: str):
    """The analysis form: GET shows it, POST saves it (handläggare of the district)."""
    area = _area(sdn)
    chosen = _period(period)
    store = get_store()
    allowed = may_edit(area)
    if request.method == "POST":
        require_write(MANAGE_ROLE, [area.code])
        values = {k: request.form.get(k, "") for k in TEXT_FIELDS}
        too_long = [TEXT_FIELDS[k] for k, v in values.items() if len(v) > TEXT_MAX_LENGTH]
        if too_long:
            flash(f"För lång text i {', '.join(too_long)}: högst {TEXT_MAX_LENGTH} tecken. "
                  "Inget sparades.", "error")
            return render_template("briefs/text.html", area=area, period=chosen,
                                   values=values, fields=TEXT_FIELDS, allowed=allowed,
                                   max_length=TEXT_MAX_LENGTH), 422
        save_texts(store, area.code, chosen, values, user=g.user.name)
        flash(f"Texten för {area.name} {chosen.label} är sparad. Den finns nu i HTML, PDF "
              "och DOCX.", "success")
        return redirect(url_for("briefs.edit_text", sdn=area.code, period=chosen.code))
    return render_template("briefs/text.html", area=area, period=chosen,
                           values=load_texts(store, area.code, chosen), fields=TEXT_FIELDS,
                           allowed=allowed, max_length=TEXT_MAX_LENGTH)


@bp.get("/stad")
@role_required("läsare")
@cached_page(FIGURE_LAYERS, grace=True)
def city():
    """All current stadsdelsområden side by side on the common indicators."""
    period, period_reason = _chosen(request.args.get("period"))
    data = load_city_data(get_store(), period)
    overview = build_city_overview(None, period, data=data, threshold=_threshold())
    chart = "data:image/png;base64," + base64.b64encode(
        figures.city_chart(overview)).decode("ascii")
    return render_template("briefs/city.html", overview=overview, chart=chart,
                           period_reason=period_reason,
                           choices=_choices(), formats=list(FORMATS),
                           column_groups=CITY_COLUMN_GROUPS, defs=INDICATORS)
