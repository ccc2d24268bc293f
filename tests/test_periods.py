"""Periods: the four ways to write one, Swedish labels, previous periods, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.core.periods import (
    Period,
    PeriodError,
    parse_date,
    parse_period,
    period_choices,
    period_from_dates,
)

D = dt.date


@pytest.mark.parametrize(("text", "kind", "start", "end", "code", "label"), [
    ("2024", "year", D(2024, 1, 1), D(2024, 12, 31), "2024", "2024"),
    ("2024-T1", "tertial", D(2024, 1, 1), D(2024, 4, 30), "2024-T1",
     "tertial 1 2024 (januari–april)"),
    ("2024-t2", "tertial", D(2024, 5, 1), D(2024, 8, 31), "2024-T2",
     "tertial 2 2024 (maj–augusti)"),
    ("2024-T3", "tertial", D(2024, 9, 1), D(2024, 12, 31), "2024-T3",
     "tertial 3 2024 (september–december)"),
    ("2024-02", "month", D(2024, 2, 1), D(2024, 2, 29), "2024-02", "februari 2024"),
    ("2024-5", "month", D(2024, 5, 1), D(2024, 5, 31), "2024-05", "maj 2024"),
    ("2024-03-15..2024-06-14", "range", D(2024, 3, 15), D(2024, 6, 14),
     "2024-03-15..2024-06-14", "15 mars–14 juni 2024"),
    ("2023-12-20..2024-01-10", "range", D(2023, 12, 20), D(2024, 1, 10),
     "2023-12-20..2024-01-10", "20 december 2023–10 januari 2024"),
    ("2024-03-01..2024-03-20", "range", D(2024, 3, 1), D(2024, 3, 20),
     "2024-03-01..2024-03-20", "1–20 mars 2024"),
    (" 2024-06-01..2024-06-01 ", "range", D(2024, 6, 1), D(2024, 6, 1),
     "2024-06-01..2024-06-01", "1 juni 2024"),
])
def test_parse(text, kind, start, end, code, label):
    p = parse_period(text)
    assert (p.kind, p.start, p.end, p.code, p.label) == (kind, start, end, code, label)
    assert parse_period(p.code) == p
    assert str(p) == code


@pytest.mark.parametrize(("text", "code"), [
    ("2024-01-01..2024-04-30", "2024-T1"),
    ("2024-05-01..2024-08-31", "2024-T2"),
    ("2024-01-01..2024-12-31", "2024"),
    ("2024-02-01..2024-02-29", "2024-02"),
    ("2024-01-01..2024-02-29", "2024-01-01..2024-02-29"),
])
def test_a_range_that_is_a_whole_period_is_that_period(text, code):
    assert parse_period(text).code == code


@pytest.mark.parametrize(("text", "previous"), [
    ("2024", "2023"),
    ("2024-T1", "2023-T3"),
    ("2024-T3", "2024-T2"),
    ("2024-01", "2023-12"),
    ("2024-03", "2024-02"),
    ("2024-03-11..2024-03-20", "2024-03-01..2024-03-10"),
])
def test_previous_comparable_period(text, previous):
    p = parse_period(text)
    assert p.previous().code == previous
    assert p.previous().days == p.days or p.kind != "range"
    assert p.previous().end == p.start - dt.timedelta(days=1)


def test_year_before_and_leap_day():
    assert parse_period("2024-T2").year_before().code == "2023-T2"
    assert parse_period("2024-02").year_before().code == "2023-02"
    assert parse_period("2024-02-29..2024-03-05").year_before().code == \
        "2023-02-28..2023-03-05"


def test_bounds_are_local_midnights_across_daylight_saving():
    start, end = parse_period("2024-03").bounds()
    assert start.isoformat() == "2024-03-01T00:00:00+01:00"
    assert end.isoformat() == "2024-04-01T00:00:00+02:00"
    utc = dt.UTC
    # the night to the last Sunday of March is an hour short
    assert end.astimezone(utc) - start.astimezone(utc) == dt.timedelta(days=31, hours=-1)


def test_short_labels_and_contains():
    assert Period.tertial(2025, 2).short_label == "T2 2025"
    assert Period.month(2025, 9).short_label == "september 2025"
    p = Period.year(2025)
    assert p.contains(D(2025, 12, 31)) and not p.contains(D(2026, 1, 1))
    assert p.days == 365


@pytest.mark.parametrize(("text", "words"), [
    ("", "Ingen period"),
    ("2024-T4", "T1 (jan–apr)"),
    ("2024-T0", "Okänd tertial"),
    ("2024-13", "01–12"),
    ("24", "Okänd period"),
    ("våren 2024", "Okänd period"),
    ("2024-04-31..2024-05-02", "ÅÅÅÅ-MM-DD"),
    ("2024-05-01..", "saknar start- eller slutdatum"),
    ("2024-05-10..2024-05-01", "slutar (2024-05-01) före den börjar"),
    ("1850", "mellan 1900 och 2100"),
])
def test_errors_are_swedish_and_say_how(text, words):
    with pytest.raises(PeriodError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_period(text)


def test_period_error_is_a_value_error():
    assert issubclass(PeriodError, ValueError)


def test_parse_date_and_from_dates():
    assert parse_date("2024-05-01") == D(2024, 5, 1)
    with pytest.raises(PeriodError, match="startdatum"):
        period_from_dates("2024-5-1", "2024-06-01")
    assert period_from_dates(D(2024, 9, 1), D(2024, 12, 31)).code == "2024-T3"


def test_choices_newest_first():
    groups = dict(period_choices(2024, 2025))
    assert [p.code for p in groups["År"]] == ["2025", "2024"]
    assert [p.code for p in groups["Tertial"]][:3] == ["2025-T3", "2025-T2", "2025-T1"]
    assert groups["Månad"][0].code == "2025-12" and len(groups["Månad"]) == 24
