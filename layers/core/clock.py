"""The one clock the briefs read, so a test can set the time without extra packages.

A brief for a closed period must come out the same whenever it is made: its figures
are as of the period's end, and only the "Framtagen" date and the cap of a period
that is not over yet (``min(period end, now)``) come from the clock. Reading "now"
in one place makes that checkable: :func:`frozen` sets the time for the code inside
its ``with`` block, process-wide (the web test client and the CLI runner see it too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from layers.core.schema import LOCAL_TZ

_frozen: pd.Timestamp | None = None


def now() -> pd.Timestamp:
    """The current time in Stockholm (or the frozen time inside :func:`frozen`)."""
    if _frozen is not None:
        return _frozen
    return pd.Timestamp.now(tz=LOCAL_TZ)


def today() -> dt.date:
    """Today's date in Stockholm (or the frozen time's date)."""
    return now().date()


def as_local(when: str | dt.date | dt.datetime | pd.Timestamp) -> pd.Timestamp:
    """An aware Stockholm timestamp; a date or naive time is taken as local time."""
    stamp = pd.Timestamp(when)
    return stamp.tz_localize(LOCAL_TZ) if stamp.tzinfo is None else stamp.tz_convert(LOCAL_TZ)


@contextmanager
def frozen(when: str | dt.date | dt.datetime | pd.Timestamp) -> Iterator[pd.Timestamp]:
    """Make :func:`now` return ``when`` inside the block (tests, reproducible output)."""
    global _frozen
    before, _frozen = _frozen, as_local(when)
    try:
        yield _frozen
    finally:
        _frozen = before


__all__ = ["as_local", "frozen", "now", "today"]
