"""Promises kept (time-to-fix targets) for the web: the period a request asks for and
the report of :func:`layers.indicators.promise_report` over the store's findings.

The targets are the instance config's ``PROMISES`` (parsed at start by
:func:`layers.indicators.parse_promises`; ``docs/promises.md``).
"""

from __future__ import annotations

from flask import current_app

from layers.core import clock
from layers.core.periods import Period, parse_period
from layers.indicators import PromiseReport, promise_report
from layers.store.base import Store


def promises() -> dict[str, dict[str, float]]:
    """The instance's targets: category -> {owner or ``*`` -> hours}."""
    return current_app.config["PROMISES"]


def requested_period(text: str | None) -> Period:
    """The period asked for, else the tertial running today.

    Raises ValueError (a Swedish message) for a malformed period.
    """
    if text:
        return parse_period(text)
    today = clock.today()
    return Period.tertial(today.year, (today.month - 1) // 4 + 1)


def report(store: Store, period: Period, findings=None) -> PromiseReport:
    """The promise report of ``findings`` (default: all the store's) for ``period``."""
    frame = store.read("findings") if findings is None else findings
    history = store.read("finding_history")
    return promise_report(frame, history, period, clock.now(), promises())
