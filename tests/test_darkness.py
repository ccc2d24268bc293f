"""Day or night in Stockholm (layers.analysis.darkness).

Acceptance 3 of issue #8: for timestamps around sunset (and sunrise) in December and
June, the day/night tag matches the sunset times astral gives, to the minute. The
expected sunset is computed here straight from astral's ``sun()`` for Stockholm, not
through the module under test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from astral import LocationInfo
from astral.sun import sun

from layers.analysis.darkness import day_night, is_dark, parse_clock, walk_light

TZ = ZoneInfo("Europe/Stockholm")
STOCKHOLM = LocationInfo("Stockholm", "Sweden", "Europe/Stockholm", 59.3293, 18.0686)
DAYS = [dt.date(2024, 12, 1), dt.date(2024, 12, 21), dt.date(2025, 12, 14),
        dt.date(2024, 6, 1), dt.date(2024, 6, 21), dt.date(2025, 6, 30)]


def astral_sun(day: dt.date) -> dict:
    return sun(STOCKHOLM.observer, date=day, tzinfo=TZ)


def fixture_times() -> tuple[pd.Series, list[bool]]:
    """Times one minute either side of sunset and sunrise, noon and midnight."""
    times, expected = [], []
    for day in DAYS:
        s = astral_sun(day)
        for offset, dark in ((-1, False), (1, True)):
            times.append(s["sunset"] + dt.timedelta(minutes=offset))
            expected.append(dark)
        for offset, dark in ((-1, True), (1, False)):
            times.append(s["sunrise"] + dt.timedelta(minutes=offset))
            expected.append(dark)
        times.append(dt.datetime.combine(day, dt.time(12, 0), tzinfo=TZ))
        expected.append(False)
        times.append(dt.datetime.combine(day, dt.time(0, 30), tzinfo=TZ))
        expected.append(True)
    return pd.Series(pd.to_datetime(times)).dt.tz_convert("Europe/Stockholm"), expected


def test_day_night_matches_astral_sunset_to_the_minute():
    times, expected = fixture_times()
    assert is_dark(times).tolist() == expected
    labels = day_night(times).tolist()
    assert labels == ["mörker" if d else "dag" for d in expected]


def test_every_minute_around_december_and_june_sunsets():
    """Each minute from 20 minutes before to 20 after sunset: dark iff at or after it."""
    for day in (dt.date(2024, 12, 21), dt.date(2024, 6, 21)):
        sunset = astral_sun(day)["sunset"]
        start = pd.Timestamp(sunset).floor("min") - pd.Timedelta(minutes=20)
        minutes = pd.Series(pd.date_range(start, periods=41, freq="min"))
        expected = [t >= pd.Timestamp(sunset) for t in minutes]
        assert is_dark(minutes).tolist() == expected
        # the tag flips exactly once, in the minute of sunset
        flip = expected.index(True)
        assert minutes[flip].strftime("%H:%M") == \
            (pd.Timestamp(sunset) + pd.Timedelta(minutes=1)).floor("min").strftime("%H:%M")


def test_december_and_june_sunsets_are_what_stockholm_expects():
    # sanity on the fixture: early December dusk, late midsummer sunset
    assert astral_sun(dt.date(2024, 12, 21))["sunset"].strftime("%H:%M") == "14:47"
    assert astral_sun(dt.date(2024, 6, 21))["sunset"].strftime("%H") == "22"


def test_other_time_zones_missing_times_and_index_are_kept():
    sunset = astral_sun(dt.date(2024, 12, 21))["sunset"]
    utc = pd.Series([pd.Timestamp(sunset).tz_convert("UTC") + pd.Timedelta(minutes=2), None],
                    index=[10, 20], dtype="datetime64[ns, UTC]")
    out = is_dark(utc)
    assert list(out.index) == [10, 20]
    assert bool(out.iloc[0]) is True
    assert pd.isna(out.iloc[1])
    naive = pd.Series([pd.Timestamp("2024-06-21 23:30"), pd.Timestamp("2024-06-21 13:00")])
    assert is_dark(naive).tolist() == [True, False]


def test_many_dates_are_tagged_vectorised():
    times = pd.Series(pd.date_range("2024-01-01", "2025-12-31 23:00", freq="7h",
                                    tz="Europe/Stockholm"))
    tags = is_dark(times)
    for i in range(0, len(times), 97):
        t = times.iloc[i]
        s = astral_sun(t.date())
        assert bool(tags.iloc[i]) == (t >= pd.Timestamp(s["sunset"])
                                      or t < pd.Timestamp(s["sunrise"])), t


@pytest.mark.parametrize(("day", "start", "end", "state"), [
    (dt.date(2024, 12, 10), "17:00", "19:00", "dark"),
    (dt.date(2024, 12, 10), "14:00", "16:00", "partly"),
    (dt.date(2024, 6, 10), "18:00", "20:00", "daylight"),
    (dt.date(2024, 6, 10), "23:30", "01:00", "dark"),
    (dt.date(2024, 10, 8), "18:00", None, "dark"),
])
def test_walk_light(day, start, end, state):
    light = walk_light(day, start, end)
    assert light.state == state
    assert light.sun.sunset == astral_sun(day)["sunset"]
    assert "solnedgång" in light.describe()


def test_walk_light_needs_a_date_and_a_start():
    assert walk_light(None, "18:00") is None
    assert walk_light(dt.date(2024, 1, 1), "") is None
    assert parse_clock("18.30") == dt.time(18, 30)
    assert parse_clock("1830") == dt.time(18, 30)
    assert parse_clock("25:00") is None
