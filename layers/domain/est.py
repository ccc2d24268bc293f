"""The EST cycle's register: problems and the action plan (BRÅ's *Effektiv samordning
för trygghet*).

A **problem** is a place or a theme a district's group works on. One made from a
priority place keeps the place as it was ranked (name, rank, period, outline and
centroid) and the evidence at that moment (the open findings inside it, its incident
counts per public category): the ranking is recomputed whenever data change, so the
problem must not point at a rank. The group scores each problem on **need** (how
serious, 1–5) and **influence** (how much the group can change it, 1–5); the matrix
page places the problems in a 5 × 5 grid by these two scores.

An **action** is what is done about a problem: what, owner, deadline, status and the
date the group follows it up, optionally carried out as a platssamverkan site's
measure. Every creation and change of an action writes a row of ``action_history``
in the same transaction, so :func:`actions_as_of` gives the plan as it stood at any
instant: a brief for a closed period shows the plan at the period's end, whatever was
changed later. Changes of both tables are also in the audit log (``layers.core.audit``).

No Flask here; ``mapapp.est`` is the web side.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping

import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from layers.core import clock
from layers.core.errors import RowError
from layers.core.schema import (
    ACTION_STATUSES,
    ACTIONS,
    OPEN_STATUSES,
    PROBLEM_KINDS,
    PROBLEM_STATUSES,
    PROBLEMS,
    SENSITIVE_CODES,
)
from layers.io.forms import FORM_SOURCE, validate_form
from layers.store.base import Query, Store

LOGGER = logging.getLogger(__name__)

#: The scores a problem gets on each axis of the matrix.
SCORES = (1, 2, 3, 4, 5)
#: Action statuses that are finished (not late, not due for follow-up).
DONE_STATUSES = ("klar", "installd")
#: Fields of an action that its history keeps.
HISTORY_FIELDS = ("what", "owner", "deadline", "status", "follow_up")


def _new_id(kind: str) -> str:
    return f"{FORM_SOURCE}:{kind}-{uuid.uuid4().hex[:12]}"


def _now() -> pd.Timestamp:
    return clock.now()


def _attributes(frame: pd.DataFrame) -> pd.DataFrame:
    """A validated one-row frame without its (empty) geometry column."""
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))


# --- problems ---------------------------------------------------------------------------


def get_problem(store: Store, problem_id: str) -> pd.Series | None:
    """One problem by id, or None."""
    found = store.read("problems", Query(where={"id": problem_id}))
    return None if found.empty else found.iloc[0]


def problems_of(store: Store, sdo_code: str) -> pd.DataFrame:
    """An area's problems: active first, then by need × influence (highest first)."""
    frame = store.read("problems", Query(where={"sdo_code": sdo_code}))
    if frame.empty:
        return frame
    weight = frame["need"].fillna(0).astype(float) * frame["influence"].fillna(0).astype(float)
    order = frame["status"].map({k: i for i, k in enumerate(PROBLEM_STATUSES)}).fillna(9)
    return frame.assign(_o=order, _w=-weight).sort_values(
        ["_o", "_w", "created_at"], kind="stable").drop(columns=["_o", "_w"]) \
        .reset_index(drop=True)


def create_problem(store: Store, values: Mapping[str, object], *, user: str
                   ) -> tuple[str | None, list[RowError]]:
    """Validate and store a problem; return (its id, []) or (None, the errors)."""
    now = _now()
    row = {"kind": "tema", "status": "aktivt", **dict(values), "id": _new_id("problem"),
           "created_by": user, "created_at": now.isoformat(), "updated_at": now.isoformat()}
    validated = validate_form(PROBLEMS, row)
    if validated.errors:
        return None, validated.errors
    store.write({"problems": _attributes(validated.frame)})
    return row["id"], []


def place_evidence(store: Store, geometry: BaseGeometry) -> list[str]:
    """The ids of the findings open now that lie in ``geometry`` (EPSG:3011)."""
    frame = store.read("findings", Query(bbox=tuple(geometry.bounds),
                                         where={"status": OPEN_STATUSES}))
    if frame.empty:
        return []
    shapely.prepare(geometry)
    inside = shapely.intersects(geometry, frame.geometry.to_numpy())
    return sorted(str(i) for i in frame.loc[inside, "id"])


def problem_from_place(store: Store, place: object, period_code: str, *, user: str
                       ) -> tuple[str | None, list[RowError]]:
    """Store a problem made from a priority place (:class:`layers.analysis.priority.Place`).

    The place's name, rank, period, outline (WKT rounded to the metre) and centroid
    are copied, with the open findings inside it and its incident counts per public
    category (sensitive categories are never copied).
    """
    geometry = place.geometry
    centre = geometry.centroid
    counts = {str(k): int(v) for k, v in dict(place.categories).items()
              if k not in SENSITIVE_CODES and int(v) > 0}
    values = {
        "sdo_code": place.sdo_code, "title": place.name, "kind": "plats",
        "description": f"Prioriterad plats nr {place.rank} ({period_code}).",
        "place_name": place.name, "place_rank": int(place.rank), "place_period": period_code,
        "place_wkt": shapely.to_wkt(geometry, rounding_precision=0, trim=True),
        "place_x": round(float(centre.x), 1), "place_y": round(float(centre.y), 1),
        "finding_ids": json.dumps(place_evidence(store, geometry)),
        "incident_summary": json.dumps(counts, ensure_ascii=False, sort_keys=True),
    }
    return create_problem(store, values, user=user)


def evidence_of(problem: Mapping[str, object]) -> dict[str, object]:
    """A problem's linked evidence: finding ids and incident counts per category."""
    def load(key: str, empty: object) -> object:
        text = problem.get(key)
        if not isinstance(text, str) or not text:
            return empty
        return json.loads(text)

    return {"finding_ids": load("finding_ids", []),
            "incidents": load("incident_summary", {})}


def _score(value: object) -> int | None:
    try:
        score = int(str(value).strip())
    except ValueError:
        return None
    return score if score in SCORES else None


def score_problem(store: Store, problem_id: str, need: object, influence: object,
                  status: object = None) -> str | None:
    """Set a problem's need and influence (1–5) and, given, its status; return the
    Swedish reason it was refused, or None when stored."""
    scores = {"need": _score(need), "influence": _score(influence)}
    if None in scores.values():
        return "Behov och påverkbarhet ska vara heltal 1–5."
    values: dict[str, object] = {**scores, "updated_at": _now()}
    if status not in (None, ""):
        if status not in PROBLEM_STATUSES:
            return "Okänd status."
        values["status"] = status
    return None if store.update("problems", problem_id, values) else "Problemet finns inte."


def matrix(problems: pd.DataFrame) -> dict[tuple[int, int], list[pd.Series]]:
    """The problems in each (need, influence) square; unscored ones are left out."""
    cells: dict[tuple[int, int], list[pd.Series]] = {}
    for _, row in problems.iterrows():
        need, influence = _score(row.get("need")), _score(row.get("influence"))
        if need is not None and influence is not None:
            cells.setdefault((need, influence), []).append(row)
    return cells


# --- actions ----------------------------------------------------------------------------


def _history_row(action: Mapping[str, object], when: pd.Timestamp, user: str | None
                 ) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "action_id": action["id"], "changed_at": when,
            "changed_by": user, **{k: action.get(k) for k in HISTORY_FIELDS}}


def actions_of(store: Store, *, problem_id: str | None = None,
               sdo_code: str | None = None) -> pd.DataFrame:
    """The actions of one problem or one area, open first, then by follow-up date."""
    where = {"problem_id": problem_id} if problem_id else {"sdo_code": sdo_code}
    frame = store.read("actions", Query(where=where))
    return _ordered(frame)


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    done = frame["status"].isin(DONE_STATUSES).to_numpy()
    follow = pd.to_datetime(frame["follow_up"], errors="coerce")
    return frame.assign(_d=done, _f=follow).sort_values(
        ["_d", "_f", "id"], na_position="last", kind="stable").drop(columns=["_d", "_f"]) \
        .reset_index(drop=True)


def measures_in(store: Store, sdo_codes: tuple[str, ...]) -> pd.DataFrame:
    """The platssamverkan measures of the sites in the areas ``sdo_codes``, with the
    site's name (``site_name``): what an action of those areas may be carried out as."""
    sites = store.read("sites", Query(where={"sdo_code": tuple(sdo_codes)}))
    if sites.empty:
        return pd.DataFrame(columns=["id", "site_id", "measure", "site_name"])
    measures = store.read("site_measures", Query(where={"site_id": tuple(sites["id"])}))
    names = dict(zip(sites["id"], sites["name"], strict=True))
    return measures.assign(site_name=measures["site_id"].map(names))


def _checked_measure(store: Store, measure_id: object) -> str | None:
    """None when ``measure_id`` is empty or names a stored site measure, else why not."""
    if not isinstance(measure_id, str) or not measure_id.strip():
        return None
    if store.count("site_measures", Query(where={"id": measure_id.strip()})) == 0:
        return "Platssamverkansåtgärden finns inte."
    return None


def add_action(store: Store, problem: Mapping[str, object], values: Mapping[str, object], *,
               user: str) -> list[RowError]:
    """Validate and store an action of ``problem`` with its first history row."""
    now = _now()
    row = {"what": values.get("what", ""), "owner": values.get("owner", ""),
           "deadline": values.get("deadline", ""), "follow_up": values.get("follow_up", ""),
           "status": values.get("status") or "planerad",
           "measure_id": (values.get("measure_id") or "").strip() or None,
           "problem_id": problem["id"], "sdo_code": problem["sdo_code"],
           "id": _new_id("action"), "created_by": user, "created_at": now.isoformat(),
           "updated_at": now.isoformat()}
    validated = validate_form(ACTIONS, row)
    errors = list(validated.errors)
    refused = _checked_measure(store, row["measure_id"])
    if refused:
        errors.append(RowError(1, "measure_id", refused))
    if errors:
        return errors
    frame = _attributes(validated.frame)
    history = pd.DataFrame([_history_row(frame.iloc[0].to_dict(), now, user)])
    store.write({"actions": frame, "action_history": history})
    return []


def update_action(store: Store, action_id: str, values: Mapping[str, object], *,
                  user: str) -> list[RowError] | None:
    """Change an action's status, deadline, follow-up date or owner; None when there is
    no such action, else the errors (empty: stored, with a history row)."""
    found = store.read("actions", Query(where={"id": action_id}))
    if found.empty:
        return None
    current = found.iloc[0].to_dict()
    merged = {k: current.get(k) for k in ACTIONS.names}
    for key in ("status", "deadline", "follow_up", "owner", "what"):
        if key in values:
            merged[key] = values[key]
    for key in ("deadline", "follow_up"):
        if isinstance(merged[key], dt.date):
            merged[key] = merged[key].isoformat()
    for key in ("created_at", "updated_at"):
        merged[key] = None
    validated = validate_form(ACTIONS, merged)
    if validated.errors:
        return validated.errors
    new = _attributes(validated.frame).iloc[0].to_dict()
    now = _now()
    changes = {k: new[k] for k in HISTORY_FIELDS}
    history = pd.DataFrame([_history_row({**new, "id": action_id}, now, user)])
    store.update("actions", action_id, {**changes, "updated_at": now},
                 rows={"action_history": history})
    return []


def actions_as_of(actions: pd.DataFrame, history: pd.DataFrame, when: pd.Timestamp
                  ) -> pd.DataFrame:
    """The actions that existed before ``when``, with the fields of their history as
    they stood then (the last history row before ``when``); an action without any
    history row keeps its stored values if it was created before ``when``."""
    if actions.empty:
        return actions
    created = pd.to_datetime(actions["created_at"], utc=True)
    sel = actions[(created.isna() | (created < when)).to_numpy()].copy()
    if history.empty or sel.empty:
        return _ordered(sel)
    changed = pd.to_datetime(history["changed_at"], utc=True)
    before = history[(changed < when).to_numpy()].assign(_t=changed[changed < when])
    last = before.sort_values(["_t", "id"], kind="stable").groupby("action_id").tail(1) \
        .set_index("action_id")
    known = sel["id"].isin(last.index).to_numpy()
    for key in HISTORY_FIELDS:
        then = sel["id"].map(last[key])
        sel[key] = then.where(known, sel[key])
    # an action with history whose first row is after ``when`` did not exist yet
    first = history.groupby("action_id")["changed_at"].apply(
        lambda s: pd.to_datetime(s, utc=True).min())
    started = sel["id"].map(first)
    exists = started.isna() | (pd.to_datetime(started, utc=True) < when)
    return _ordered(sel[exists.to_numpy()])


def load_plan(store: Store | None, sdo_codes: tuple[str, ...]
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The actions, their history and the problems of the areas ``sdo_codes`` (all
    empty without a store)."""
    if store is None:
        empty = pd.DataFrame(columns=ACTIONS.names)
        return empty, pd.DataFrame(), pd.DataFrame(columns=PROBLEMS.names)
    actions = store.read("actions", Query(where={"sdo_code": tuple(sdo_codes)}))
    history = store.read("action_history",
                         Query(where={"action_id": tuple(actions["id"])})) \
        if not actions.empty else pd.DataFrame()
    problems = store.read("problems", Query(where={"sdo_code": tuple(sdo_codes)}))
    return actions, history, problems


def late(actions: pd.DataFrame, day: dt.date) -> pd.Series:
    """Mask of the actions past their deadline on ``day`` and not finished."""
    if actions.empty:
        return pd.Series(dtype=bool)
    deadline = pd.to_datetime(actions["deadline"], errors="coerce")
    return (~actions["status"].isin(DONE_STATUSES)) & deadline.notna() & \
        (deadline < pd.Timestamp(day))


#: Swedish labels the pages use.
LABELS = {
    "problem_statuses": PROBLEM_STATUSES,
    "problem_kinds": PROBLEM_KINDS,
    "action_statuses": ACTION_STATUSES,
}
