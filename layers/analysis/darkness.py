"""Day or night in Stockholm: sunrise and sunset from astral, offline.

Darkness here means **after sunset or before sunrise** (the sun's upper edge below
the horizon, with astral's standard refraction), *not* civil dusk (the sun 6°
below the horizon, some 40 minutes to two hours later in Stockholm). Sunset is the
line the city's lighting programmes use ("efter solnedgången") and it is the
stricter one for a planner: an incident 20 minutes after sunset in December
already happened in what residents call the dark. The rule per instant ``t`` on
its local date ``d`` in Europe/Stockholm is::

    dark  ⇔  t >= sunset(d)  or  t < sunrise(d)

Stockholm (59.33° N) has a sunrise and a sunset every day of the year, so the
rule is always defined; at midsummer night (about 22:08 to 03:30) it is dark too.

Incidents are tagged vectorised (:func:`is_dark`): sunrise and sunset are
computed once per distinct local date (a few hundred a year, cached), then every
time is compared with its date's pair in numpy.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from astral import LocationInfo
from astral.sun import sunrise, sunset

from layers.core.schema import LOCAL_TZ

LOGGER = logging.getLogger(__name__)

#: Where the sun is computed: Stockholm (Sergels torg), in local time.
STOCKHOLM = LocationInfo("Stockholm", "Sverige", LOCAL_TZ, 59.3293, 18.0686)
#: Labels of the day/night tag.
DAY, NIGHT = "dag", "mörker"
#: How a walk relates to the dark: every minute after sunset, some, none.
WALK_LIGHT_LABELS = {
    "dark": "i mörker",
    "partly": "delvis i mörker",
    "daylight": "i dagsljus",
}

_TZ = ZoneInfo(LOCAL_TZ)


@dataclass(frozen=True)
class SunTimes:
    """Sunrise and sunset of one local date in Stockholm (aware, Europe/Stockholm)."""

    date: dt.date
    sunrise: dt.datetime
    sunset: dt.datetime


@lru_cache(maxsize=4096)
def sun_times(day: dt.date) -> SunTimes:
    """Sunrise and sunset in Stockholm on ``day`` (local date)."""
    observer = STOCKHOLM.observer
    return SunTimes(day, sunrise(observer, date=day, tzinfo=_TZ),
                    sunset(observer, date=day, tzinfo=_TZ))


def is_dark(times: pd.Series) -> pd.Series:
    """Tag each time True when it lies after sunset or before sunrise (nullable bool).

    ``times`` may be in any time zone (naive times are taken as Stockholm time);
    missing times give ``<NA>``. The result has the index of ``times``.
    """
    stamps = pd.to_datetime(times)
    if stamps.dt.tz is None:
        stamps = stamps.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="shift_forward")
    local = stamps.dt.tz_convert(LOCAL_TZ)
    result = pd.array(np.full(len(local), pd.NA), dtype="boolean")
    present = local.notna().to_numpy()
    if present.any():
        days = local[present].dt.normalize().dt.tz_localize(None)
        unique, position = np.unique(days.to_numpy(), return_inverse=True)
        rise = np.empty(len(unique), dtype=np.int64)
        fall = np.empty(len(unique), dtype=np.int64)
        for k, day in enumerate(pd.DatetimeIndex(unique).date):
            sun = sun_times(day)
            rise[k] = pd.Timestamp(sun.sunrise).value
            fall[k] = pd.Timestamp(sun.sunset).value
        # compare instants as UTC nanoseconds: no time zone arithmetic per row
        ns = local[present].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy() \
            .astype("datetime64[ns]").astype(np.int64)
        result[present] = (ns >= fall[position]) | (ns < rise[position])
    return pd.Series(result, index=times.index, name="dark")


def day_night(times: pd.Series) -> pd.Series:
    """``"mörker"`` or ``"dag"`` for each time (None where the time is missing)."""
    dark = is_dark(times)
    out = pd.Series(np.where(dark.fillna(False).to_numpy(bool), NIGHT, DAY), index=times.index,
                    dtype=object)
    return out.where(dark.notna().to_numpy(), None)


@dataclass(frozen=True)
class WalkLight:
    """How a walk lay against sunset: ``state`` is ``dark``, ``partly`` or ``daylight``."""

    state: str
    sun: SunTimes
    start: dt.datetime
    end: dt.datetime

    @property
    def dark(self) -> bool:
        """True when any part of the walk was after sunset or before sunrise."""
        return self.state != "daylight"

    @property
    def label(self) -> str:
        return WALK_LIGHT_LABELS[self.state]

    def describe(self) -> str:
        """A Swedish sentence: 'i mörker (solnedgång 15.48)'."""
        return (f"{self.label} (solnedgång {self.sun.sunset:%H.%M}, "
                f"soluppgång {self.sun.sunrise:%H.%M})")


def parse_clock(text: object) -> dt.time | None:
    """Read a clock time written ``18:30``, ``18.30`` or ``1830``; None when blank or bad."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    value = str(text).strip().replace(".", ":")
    if value.isdigit() and len(value) in (3, 4):
        value = f"{value[:-2]}:{value[-2:]}"
    try:
        return dt.time.fromisoformat(value if value.count(":") else f"{value}:00")
    except ValueError:
        return None


def walk_light(day: dt.date | None, start: object, end: object = None) -> WalkLight | None:
    """Whether a walk on ``day`` from ``start`` to ``end`` (clock times) was in the dark.

    The walk is ``dark`` when it started at or after sunset (or ended before
    sunrise), ``partly`` when sunset or sunrise fell during it, else ``daylight``.
    Without an end time the walk is taken to last one hour. None without a date
    or a readable start time. A walk past midnight ends the next day.
    """
    begin_clock = parse_clock(start)
    if day is None or begin_clock is None or (not isinstance(day, dt.date) and pd.isna(day)):
        return None
    end_clock = parse_clock(end)
    begin = dt.datetime.combine(day, begin_clock, tzinfo=_TZ)
    finish = (dt.datetime.combine(day, end_clock, tzinfo=_TZ) if end_clock
              else begin + dt.timedelta(hours=1))
    if finish <= begin:
        finish += dt.timedelta(days=1)
    dark = is_dark(pd.Series([pd.Timestamp(begin), pd.Timestamp(finish)])).to_numpy(bool)
    sun = sun_times(day)
    inside = (begin < sun.sunset < finish) or (begin < sun.sunrise < finish)
    if dark.all() and not inside:
        state = "dark"
    elif dark.any() or inside:
        state = "partly"
    else:
        state = "daylight"
    return WalkLight(state, sun, begin, finish)
