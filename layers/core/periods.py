"""Reporting periods: a year, a tertial, a month or a date range.

The city reports by year, by tertial (T1 January–April, T2 May–August, T3
September–December) and by month; analysts also ask for free ranges. Every part of
Trygghetskartan (map filters, the API, priority places, briefs) writes a period the
same way and parses it here::

    2024                    the year 2024
    2024-T2                 tertial 2 of 2024 (May–August); "2024-t2" is accepted
    2024-05                 May 2024
    2024-01-01..2024-04-30  a range of whole days, both ends included

>>> p = parse_period("2024-T2")
>>> p.start, p.end, p.label
(datetime.date(2024, 5, 1), datetime.date(2024, 8, 31), 'tertial 2 2024 (maj–augusti)')
>>> p.previous().code
'2024-T1'

A range that is exactly a whole year, tertial or month is that period
(``2024-01-01..2024-04-30`` is ``2024-T1``), so it compares with the right
previous period. Days are local days in Stockholm: :meth:`Period.bounds` gives
the aware start (inclusive) and end (exclusive) instants a store query takes.
Malformed text raises :class:`PeriodError` with a Swedish message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from layers.core.schema import LOCAL_TZ

__all__ = [
    "FORMATS_HELP",
    "MONTHS",
    "TERTIALS",
    "Period",
    "PeriodError",
    "parse_date",
    "parse_period",
    "period_choices",
    "period_from_dates",
]

#: Swedish month names, January first.
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
          "september", "oktober", "november", "december")
#: Tertial number -> (first month, last month).
TERTIALS = {1: (1, 4), 2: (5, 8), 3: (9, 12)}

_YEAR = re.compile(r"^(\d{4})$")
_TERTIAL = re.compile(r"^(\d{4})-[Tt](\d+)$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE_SEPARATOR = ".."
_FIRST_YEAR, _LAST_YEAR = 1900, 2100
#: How to write a period, for help texts and error messages.
FORMATS_HELP = "2024, 2024-T2, 2024-05 eller 2024-01-01..2024-04-30"


class PeriodError(ValueError):
    """A period or date that cannot be read; the message is Swedish, for the user."""


def _last_day_of_month(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def _check_year(year: int, text: str) -> None:
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise PeriodError(f"Året i '{text}' måste ligga mellan {_FIRST_YEAR} och {_LAST_YEAR}.")


def _date_label(day: dt.date, with_year: bool = True) -> str:
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if with_year else text


@dataclass(frozen=True, order=True)
class Period:
    """A span of whole local days, ``start`` and ``end`` both included.

    ``kind`` is ``year``, ``tertial``, ``month`` or ``range``. Build one with
    :func:`parse_period`, :func:`period_from_dates` or the class methods.
    """

    start: dt.date
    end: dt.date
    kind: str = "range"

    @classmethod
    def year(cls, year: int) -> Period:
        """The calendar year ``year``."""
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31), "year")

    @classmethod
    def tertial(cls, year: int, number: int) -> Period:
        """Tertial ``number`` (1–3) of ``year``."""
        first, last = TERTIALS[number]
        return cls(dt.date(year, first, 1), _last_day_of_month(year, last), "tertial")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """One calendar month."""
        return cls(dt.date(year, month, 1), _last_day_of_month(year, month), "month")

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    @property
    def tertial_number(self) -> int:
        """The tertial (1–3) the period starts in."""
        return (self.start.month - 1) // 4 + 1

    @property
    def code(self) -> str:
        """The period written the canonical way (``2024``, ``2024-T2``, ``2024-05``, …)."""
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "tertial":
            return f"{self.start.year}-T{self.tertial_number}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.isoformat()}{_RANGE_SEPARATOR}{self.end.isoformat()}"

    @property
    def label(self) -> str:
        """A Swedish label: ``2024``, ``tertial 2 2024 (maj–augusti)``, ``maj 2024``…"""
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "tertial":
            first, last = TERTIALS[self.tertial_number]
            return (f"tertial {self.tertial_number} {self.start.year} "
                    f"({MONTHS[first - 1]}–{MONTHS[last - 1]})")
        if self.kind == "month":
            return f"{MONTHS[self.start.month - 1]} {self.start.year}"
        if self.start == self.end:
            return _date_label(self.start)
        if (self.start.year, self.start.month) == (self.end.year, self.end.month):
            return f"{self.start.day}–{_date_label(self.end)}"
        same_year = self.start.year == self.end.year
        return f"{_date_label(self.start, with_year=not same_year)}–{_date_label(self.end)}"

    @property
    def short_label(self) -> str:
        """A compact Swedish label for tables and legends (``T2 2024``, ``maj 2024``)."""
        if self.kind == "tertial":
            return f"T{self.tertial_number} {self.start.year}"
        if self.kind == "range":
            return f"{self.start.isoformat()}–{self.end.isoformat()}"
        return self.label

    def previous(self) -> Period:
        """The comparable period just before: the year, tertial or month before, or
        for a range the same number of days ending the day before it starts."""
        if self.kind == "year":
            return Period.year(self.start.year - 1)
        if self.kind == "tertial":
            number = self.tertial_number
            if number == 1:
                return Period.tertial(self.start.year - 1, 3)
            return Period.tertial(self.start.year, number - 1)
        if self.kind == "month":
            before = self.start - dt.timedelta(days=1)
            return Period.month(before.year, before.month)
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end, "range")

    def year_before(self) -> Period:
        """The same period one year earlier (for comparisons free of season)."""
        def shift(day: dt.date) -> dt.date:
            try:
                return day.replace(year=day.year - 1)
            except ValueError:  # 29 February
                return day.replace(year=day.year - 1, day=28)

        return Period(shift(self.start), shift(self.end), self.kind)._normalised()

    def contains(self, day: dt.date) -> bool:
        """Tell whether a local date is inside the period."""
        return self.start <= day <= self.end

    def bounds(self, tz: str = LOCAL_TZ) -> tuple[dt.datetime, dt.datetime]:
        """The aware instants (start inclusive, end exclusive) at local midnight."""
        zone = ZoneInfo(tz)
        start = dt.datetime.combine(self.start, dt.time(0), tzinfo=zone)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return start, end

    def _normalised(self) -> Period:
        """The same days as a year, tertial or month when they are exactly one."""
        start, end = self.start, self.end
        if start.day != 1 or end != _last_day_of_month(end.year, end.month) \
                or start.year != end.year:
            return Period(start, end, "range")
        if start.month == 1 and end.month == 12:
            return Period.year(start.year)
        if start.month == end.month:
            return Period.month(start.year, start.month)
        for number, (first, last) in TERTIALS.items():
            if (start.month, end.month) == (first, last):
                return Period.tertial(start.year, number)
        return Period(start, end, "range")

    def __str__(self) -> str:
        return self.code


def parse_date(text: str, what: str = "datum") -> dt.date:
    """Read an ISO date (``2024-05-01``); raise :class:`PeriodError` in Swedish."""
    value = (text or "").strip()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise PeriodError(
            f"Ogiltigt {what} '{value}': skriv datum som ÅÅÅÅ-MM-DD, t.ex. 2024-05-01."
        ) from None
    if len(value) != 10:
        raise PeriodError(f"Ogiltigt {what} '{value}': skriv datum som ÅÅÅÅ-MM-DD.")
    _check_year(day.year, value)
    return day


def period_from_dates(start: str | dt.date, end: str | dt.date) -> Period:
    """The period from ``start`` to ``end`` (both included; ISO text or dates)."""
    first = start if isinstance(start, dt.date) else parse_date(start, "startdatum")
    last = end if isinstance(end, dt.date) else parse_date(end, "slutdatum")
    if last < first:
        raise PeriodError(
            f"Perioden slutar ({last.isoformat()}) före den börjar ({first.isoformat()}).")
    return Period(first, last, "range")._normalised()


def parse_period(text: str) -> Period:
    """Parse ``2024``, ``2024-T2``, ``2024-05`` or ``2024-01-01..2024-04-30``.

    Raises :class:`PeriodError` (a ValueError) with a Swedish message that says
    what was wrong and how to write it.
    """
    value = (text or "").strip()
    if not value:
        raise PeriodError(f"Ingen period angiven: skriv {FORMATS_HELP}.")
    if _RANGE_SEPARATOR in value:
        first, _, last = value.partition(_RANGE_SEPARATOR)
        if not first.strip() or not last.strip():
            raise PeriodError(f"Perioden '{value}' saknar start- eller slutdatum: "
                              "skriv t.ex. 2024-01-01..2024-04-30.")
        return period_from_dates(first.strip(), last.strip())
    if match := _YEAR.match(value):
        year = int(match.group(1))
        _check_year(year, value)
        return Period.year(year)
    if match := _TERTIAL.match(value):
        year, number = int(match.group(1)), int(match.group(2))
        _check_year(year, value)
        if number not in TERTIALS:
            raise PeriodError(f"Okänd tertial i '{value}': det finns T1 (jan–apr), "
                              "T2 (maj–aug) och T3 (sep–dec).")
        return Period.tertial(year, number)
    if match := _MONTH.match(value):
        year, month = int(match.group(1)), int(match.group(2))
        _check_year(year, value)
        if not 1 <= month <= 12:
            raise PeriodError(f"Okänd månad i '{value}': månaden ska vara 01–12.")
        return Period.month(year, month)
    raise PeriodError(f"Okänd period '{value}': skriv {FORMATS_HELP}.")


def period_choices(first_year: int, last_year: int) -> list[tuple[str, list[Period]]]:
    """Periods to offer in a menu, newest first: years, tertials and months.

    Returns ``[(Swedish group label, [Period, …]), …]``.
    """
    years = range(last_year, first_year - 1, -1)
    return [
        ("År", [Period.year(y) for y in years]),
        ("Tertial", [Period.tertial(y, t) for y in years for t in (3, 2, 1)]),
        ("Månad", [Period.month(y, m) for y in years for m in range(12, 0, -1)]),
    ]
