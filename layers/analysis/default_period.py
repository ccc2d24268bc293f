"""The period a page shows when nobody chose one, and the span of placeable incidents.

One rule for every surface (the map ``/`` and ``/sdn``, ``/priority`` and
``/api/priority``, the CLI ``priority`` and ``brief``, ``/stad`` and the brief index):

    The default period is the latest **complete** period of its kind (its last day
    is before :func:`layers.core.clock.today`) that has incidents placed to the street or
    better (precision ``exact`` or ``street``).

The kind is a **year** on the map pages and a **tertial** everywhere else (the city
reports by tertial; the map shows a year so a quiet district is not an empty map).
Incidents known only to a stadsdel or to the municipality (the police's public
events) never count at a place, so they cannot make a period the default: after a
police import the default stays where the placed incidents are. When no complete
period has placed incidents the current (incomplete) period is shown, and the
reason says so.

The answer is remembered per store, incidents version (:meth:`Store.layer_version`),
kind and day: it takes a handful of one-row reads, never a count or a scan per request.
:func:`point_span` (first and last placeable incident) is remembered the same way;
the before/after windows of platssamverkan sites use it, because only placeable
incidents can count at a site.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass

import pandas as pd

from layers.core import clock
from layers.core.periods import Period
from layers.core.privacy import POINT_PRECISIONS
from layers.core.schema import LOCAL_TZ
from layers.store.base import Query, Store

__all__ = ["KINDS", "DefaultPeriod", "clear_cache", "default_period", "default_tertial",
           "point_span"]

#: The kinds of default period and how a sentence names the latest whole one.
KINDS = {"year": "det senaste hela året", "tertial": "den senaste hela tertialen"}
#: How far back the search goes, in years.
_MAX_YEARS = 30


@dataclass(frozen=True)
class DefaultPeriod:
    """A default period and the Swedish sentence that says why it was chosen."""

    period: Period
    reason: str
    #: False when the period is not over yet or holds no placed incidents (fallback).
    complete: bool = True


def _current(kind: str, today: dt.date) -> Period:
    if kind == "year":
        return Period.year(today.year)
    return Period.tertial(today.year, (today.month - 1) // 4 + 1)


def _has_placed(store: Store, period: Period) -> bool:
    """Whether ``period`` holds an incident placed to the street or better (one row)."""
    start, end = period.bounds()
    probe = Query(start=start, end=end, where={"precision": POINT_PRECISIONS})
    return store.time_span("incidents", probe) is not None


def _latest_placed(store: Store, last: Period) -> Period | None:
    """The latest period of ``last``'s kind, ``last`` or before, with placed incidents.

    Whole years without them are skipped with one read each.
    """
    period = last
    for _ in range(_MAX_YEARS):
        year = period.start.year
        if _has_placed(store, Period.year(year)):
            while period.start.year == year:
                if _has_placed(store, period):
                    return period
                period = period.previous()
        else:
            period = _current(period.kind, dt.date(year - 1, 12, 31))
    return None


def _choose(store: Store, kind: str, today: dt.date) -> DefaultPeriod:
    current = _current(kind, today)
    latest = _latest_placed(store, current.previous())
    if latest is not None:
        return DefaultPeriod(latest, f"Visar {latest.short_label}, {KINDS[kind]} "
                                     "med händelser på gatunivå.")
    if _has_placed(store, current):
        return DefaultPeriod(current, f"Visar {current.short_label}, som inte är slut än: "
                                      "ingen hel period har händelser på gatunivå.", False)
    return DefaultPeriod(current, f"Visar {current.short_label}: det finns inga händelser "
                                  "på gatunivå i databasen.", False)


def default_period(store: Store, kind: str = "tertial") -> DefaultPeriod:
    """The default period of ``kind`` (``tertial`` or ``year``) and why (see module)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of default period: {kind}")
    today = clock.today()
    return _remembered(store, ("default", kind, today), lambda: _choose(store, kind, today))


def default_tertial(store: Store) -> Period | None:
    """The default tertial of the priority places and the emerging hot spots: the
    default period of kind ``tertial``, while incomplete only when some incident is
    placed at all (None when the store has no placed incident)."""
    choice = default_period(store, "tertial")
    return choice.period if choice.complete or point_span(store) else None


def point_span(store: Store) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Local times of the first and the last incident placed to the street or better
    (None when there is none): the span of incidents that can count at a place."""
    def compute() -> tuple[pd.Timestamp, pd.Timestamp] | None:
        span = store.time_span("incidents", Query(where={"precision": POINT_PRECISIONS}))
        if span is None:
            return None
        return tuple(pd.Timestamp(t).tz_convert(LOCAL_TZ) for t in span)

    return _remembered(store, ("point_span",), compute)


_LOCK = threading.Lock()
#: store -> (data version, {key: value})
_MEMORY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _remembered(store: Store, key: tuple, compute):
    """``compute()`` once per store, data version and key."""
    # every answer here reads incidents only: other layers' writes keep it
    version = store.layer_version(("incidents",))
    with _LOCK:
        known = _MEMORY.get(store)
        if known is not None and known[0] == version and key in known[1]:
            return known[1][key]
    value = compute()
    with _LOCK:
        known = _MEMORY.get(store)
        if known is None or known[0] != version:
            known = _MEMORY[store] = (version, {})
        if len(known[1]) > 64:
            known[1].clear()
        known[1][key] = value
    return value


def clear_cache() -> None:
    """Forget every remembered answer (tests)."""
    with _LOCK:
        _MEMORY.clear()
