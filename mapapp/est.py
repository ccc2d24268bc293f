"""The EST cycle on the web: the weekly lägesbild, the problem register, the need ×
influence matrix and the action plan (:mod:`layers.domain.est`, :mod:`layers.documents.weekly`).

Pages (Swedish UI, every one for signed-in users, läsare and up):

* ``/lagesbild/<sdn>`` and ``/lagesbild/<sdn>.pdf`` (``?vecka=2025-W48``, default the
  last full week): the weekly lägesbild as a page or PDF;
* ``/est/<sdn>``: the area's problems, a form for a theme problem, links to the rest;
* ``/est/problems/<id>``: one problem with its evidence, scores and actions;
* ``/est/<sdn>/matris``: the need × influence matrix, each problem placed in a 5 × 5
  grid (server-rendered HTML), with the scoring forms;
* ``/est/<sdn>/handlingsplan``: the area's action plan.

Writes (handläggare and admin, a handläggare bound to an area only in that area, as
for site measures): create a problem (from a priority place: the "Skapa problem"
button on ``/priority``; or a theme), score it, add and update actions.
"""

from __future__ import annotations

import pandas as pd
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

from layers.core import clock
from layers.core.periods import PeriodError, parse_period
from layers.core.privacy import suppresses_counts
from layers.core.schema import INCIDENT_CATEGORIES, OWNERS
from layers.documents.brief import Area, BriefError, find_area, load_areas
from layers.documents.brief_render.weekly import FORMATS, render_weekly, weekly_file_name
from layers.documents.weekly import build_weekly, last_full_week, week_code, week_label
from layers.domain import est as core
from layers.domain.access import MANAGE_ROLE
from layers.indicators import count_text
from layers.store.base import Query
from mapapp.access import current_user, may_write, require_write, role_required
from mapapp.store_ import get_store
from mapapp.views import flash_outcome

bp = Blueprint("est", __name__)

_CATEGORY_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}

#: The role every EST write needs (as for platssamverkan's measures).
EDIT_ROLE = MANAGE_ROLE


# --- helpers ------------------------------------------------------------------------------


def _area(code: str) -> Area:
    try:
        return find_area(load_areas(get_store()), code)
    except BriefError as exc:
        abort(404, description=str(exc))


def _problem_or_404(problem_id: str) -> pd.Series:
    problem = core.get_problem(get_store(), problem_id)
    if problem is None:
        abort(404, description="Problemet finns inte.")
    return problem


def _editable_problem(problem_id: str) -> pd.Series:
    """The problem, after checking that this user may change problems in its area."""
    problem = _problem_or_404(problem_id)
    require_write(EDIT_ROLE, [problem["sdo_code"]])
    return problem


def _threshold() -> int:
    return int(current_app.config.get("SUPPRESS_BELOW") or 5)


def _counts_shown(counts: dict[str, int]) -> dict[str, str]:
    """Incident counts of a problem's evidence as this user may see them."""
    below = _threshold() if suppresses_counts(current_user()) else None
    return {_CATEGORY_LABELS.get(k, k).capitalize(): count_text(int(v), below)
            for k, v in counts.items()}


def _plain(value: object) -> object:
    """None for a missing value (None, NaN, NA, NaT), else the value."""
    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    return value


def _record(row: pd.Series | dict) -> dict[str, object]:
    """A stored row as a dict for a template, missing values as None."""
    return {k: _plain(v) for k, v in dict(row).items()}


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [_record(r) for _, r in frame.iterrows()] if not frame.empty else []


def _labels() -> dict[str, dict[str, str]]:
    return {**core.LABELS, "owners": OWNERS}


# --- the weekly lägesbild -----------------------------------------------------------------


@bp.get("/lagesbild/<sdn>")
@bp.get("/lagesbild/<sdn>.<any(html, pdf):fmt>")
@role_required("läsare")
def weekly(sdn: str, fmt: str = "html"):
    """The weekly lägesbild of one area (``?vecka=2025-W48``; default the last full week)."""
    area = _area(sdn)
    try:
        report = build_weekly(get_store(), area.code, request.args.get("vecka") or None,
                              threshold=_threshold(), promises=current_app.config["PROMISES"])
    except BriefError as exc:
        abort(400, description=str(exc))
    back = url_for("est.problems", sdn=area.code)
    response = Response(render_weekly(report, fmt, back_url=back),
                        mimetype=FORMATS[fmt].split(";")[0])
    if fmt == "html":
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = \
        f'inline; filename="{weekly_file_name(report, fmt)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- problems -----------------------------------------------------------------------------


@bp.get("/est/")
@role_required("läsare")
def index():
    """Choose an area: links to each current area's EST pages."""
    areas = [a for a in load_areas(get_store()) if a.current]
    week = last_full_week()
    return render_template("est/index.html", areas=areas, week=week_code(week),
                           week_label=week_label(week))


@bp.get("/est/<sdn>")
@role_required("läsare")
def problems(sdn: str):
    """The area's problem register."""
    area = _area(sdn)
    store = get_store()
    week = last_full_week()
    actions = core.actions_of(store, sdo_code=area.code)
    counts = actions["problem_id"].value_counts().to_dict() if not actions.empty else {}
    return render_template("est/problems.html", area=area,
                           problems=_records(core.problems_of(store, area.code)),
                           action_counts=counts,
                           may_edit=may_write(EDIT_ROLE, [area.code]), labels=_labels(),
                           week=week_code(week), week_label=week_label(week))


@bp.post("/est/<sdn>/problems")
@role_required(EDIT_ROLE)
def create_theme(sdn: str):
    """Create a theme problem (not tied to one place)."""
    area = _area(sdn)
    require_write(EDIT_ROLE, [area.code])
    values = {k: request.form.get(k, "") for k in ("title", "description")}
    problem_id, errors = core.create_problem(get_store(), {**values, "kind": "tema",
                                                           "sdo_code": area.code},
                                             user=g.user.name)
    flash_outcome(errors, "Problemet sparades inte", "Problemet skapades.")
    if problem_id is None:
        return redirect(url_for("est.problems", sdn=area.code))
    return redirect(url_for("est.show_problem", problem_id=problem_id))


@bp.post("/est/problems/from-place")
@role_required(EDIT_ROLE)
def from_place():
    """Create a problem from a priority place (``sdn``, ``period``, ``rank`` of /priority).

    The ranking is computed again on the server (it is cached per data version), so
    the place's outline and evidence come from the store, not from the form.
    """
    from layers.analysis.priority import priority_for_store

    sdn, period_text = request.form.get("sdn", ""), request.form.get("period", "")
    try:
        period = parse_period(period_text)
        rank = int(request.form.get("rank", ""))
        result = priority_for_store(get_store(), sdn=sdn or None, period=period)
    except (PeriodError, ValueError):
        abort(400, description="Okänd plats: ange stadsdelsområde, period och rang.")
    place = next((p for p in result.places if p.rank == rank), None)
    if place is None or not place.sdo_code:
        abort(404, description="Platsen finns inte längre i rangordningen.")
    require_write(EDIT_ROLE, [place.sdo_code])
    problem_id, errors = core.problem_from_place(get_store(), place, period.code,
                                                 user=g.user.name)
    if problem_id is None:
        flash_outcome(errors, "Problemet sparades inte", "")
        return redirect(url_for("priority.ranking", sdn=sdn, period=period.code))
    flash(f"Problemet {place.name} skapades från prioriterad plats nr {rank}.", "success")
    return redirect(url_for("est.show_problem", problem_id=problem_id))


@bp.get("/est/problems/<problem_id>")
@role_required("läsare")
def show_problem(problem_id: str):
    """One problem: evidence, scores, actions."""
    problem = _problem_or_404(problem_id)
    store = get_store()
    evidence = core.evidence_of(problem)
    area = _area(str(problem["sdo_code"]))
    measures = core.measures_in(store, area.codes)
    return render_template(
        "est/problem.html", problem=_record(problem), area=area, evidence=evidence,
        incidents=_counts_shown(evidence["incidents"]),
        actions=_records(core.actions_of(store, problem_id=problem_id)),
        measures=_records(measures), measure_of={m["id"]: m for m in _records(measures)},
        may_edit=may_write(EDIT_ROLE, [problem["sdo_code"]]),
        labels=_labels(), scores=core.SCORES)


@bp.post("/est/problems/<problem_id>/score")
@role_required(EDIT_ROLE)
def score(problem_id: str):
    """Set need, influence (1–5) and status of a problem."""
    problem = _editable_problem(problem_id)
    refused = core.score_problem(get_store(), problem_id, request.form.get("need", ""),
                                 request.form.get("influence", ""),
                                 request.form.get("status"))
    flash_outcome([refused] if refused else [], "Bedömningen sparades inte",
                   "Bedömningen sparades.")
    if request.form.get("back") == "matrix":
        return redirect(url_for("est.matrix", sdn=problem["sdo_code"]))
    return redirect(url_for("est.show_problem", problem_id=problem_id))


@bp.post("/est/problems/<problem_id>/actions")
@role_required(EDIT_ROLE)
def add_action(problem_id: str):
    """Add an action (what, owner, deadline, follow-up, optional site measure)."""
    problem = _editable_problem(problem_id)
    errors = core.add_action(get_store(), problem, request.form, user=g.user.name)
    flash_outcome(errors, "Åtgärden sparades inte", "Åtgärden lades till i handlingsplanen.")
    return redirect(url_for("est.show_problem", problem_id=problem_id, _anchor="actions"))


@bp.post("/est/actions/<action_id>")
@role_required(EDIT_ROLE)
def update_action(action_id: str):
    """Change an action's status, deadline or follow-up date."""
    store = get_store()
    found = store.read("actions", Query(where={"id": action_id}))
    if found.empty:
        abort(404, description="Åtgärden finns inte.")
    require_write(EDIT_ROLE, [found["sdo_code"].iloc[0]])
    values = {k: request.form[k] for k in ("status", "deadline", "follow_up")
              if k in request.form}
    errors = core.update_action(store, action_id, values, user=g.user.name) or []
    flash_outcome(errors, "Åtgärden ändrades inte", "Åtgärden är ändrad.")
    if request.form.get("back") == "plan":
        return redirect(url_for("est.plan", sdn=found["sdo_code"].iloc[0]))
    return redirect(url_for("est.show_problem", problem_id=found["problem_id"].iloc[0],
                            _anchor="actions"))


# --- matrix and plan ----------------------------------------------------------------------


@bp.get("/est/<sdn>/matris")
@role_required("läsare")
def matrix(sdn: str):
    """The need × influence matrix: problems placed in a 5 × 5 grid, scores editable."""
    area = _area(sdn)
    listed = core.problems_of(get_store(), area.code)
    cells = {key: [_record(p) for p in rows] for key, rows in core.matrix(listed).items()}
    return render_template("est/matrix.html", area=area, problems=_records(listed),
                           cells=cells, scores=core.SCORES,
                           may_edit=may_write(EDIT_ROLE, [area.code]), labels=_labels())


@bp.get("/est/<sdn>/handlingsplan")
@role_required("läsare")
def plan(sdn: str):
    """The area's action plan: every action with its problem, owner, dates, status."""
    area = _area(sdn)
    store = get_store()
    listed = core.problems_of(store, area.code)
    titles = dict(zip(listed["id"], listed["title"], strict=True)) if not listed.empty else {}
    actions = core.actions_of(store, sdo_code=area.code)
    late = core.late(actions, clock.today()).tolist() if not actions.empty else []
    rows = [{**r, "late": bool(x)} for r, x in zip(_records(actions), late, strict=True)]
    return render_template("est/plan.html", area=area, actions=rows, titles=titles,
                           may_edit=may_write(EDIT_ROLE, [area.code]),
                           labels=_labels())
