"""How figures are written in Swedish: thousands, decimals, changes, shares, ages, and
the marks for a hidden count (``..``) and a figure that cannot be computed (``–``).
"""

from __future__ import annotations

from layers.core.privacy import suppress
from layers.indicators.definitions import CHANGE_MIN_COUNT

HIDDEN = ".."
NOT_AVAILABLE = "–"
MINUS = "\u2212"
NBSP = "\u00a0"


def format_int(n: int) -> str:
    """Swedish thousands separator (no-break space): 12 574."""
    return f"{int(n):,}".replace(",", NBSP)


def format_decimal(x: float, decimals: int = 1) -> str:
    """A fixed number of decimals with a decimal comma: 7,7."""
    return f"{x:.{decimals}f}".replace(".", ",")


def format_rate(x: float) -> str:
    """A rate with a decimal comma: two decimals below 10, one from 10."""
    return format_decimal(x, 1 if abs(x) >= 10 else 2)


def format_change(pct: float) -> str:
    """A change in per cent with a sign: +12 %, −8 %, ±0 %."""
    n = round(pct)
    if n == 0:
        return f"±0{NBSP}%"
    sign = "+" if n > 0 else MINUS
    return f"{sign}{format_int(abs(n))}{NBSP}%"


def format_days(value: float) -> str:
    """A median number of days: one decimal below 10, whole days from 10."""
    return format_rate(value) if value < 10 else format_int(round(value))


def change_text(before: int | None, after: int | None, below: int | None) -> str:
    """The change from ``before`` to ``after`` as shown everywhere: '–' without a base,
    '..' when a count is hidden, the two counts below :data:`CHANGE_MIN_COUNT`, else
    per cent."""
    if before is None or after is None:
        return NOT_AVAILABLE
    if below and (0 < before < below or 0 < after < below):
        return HIDDEN
    if min(before, after) < CHANGE_MIN_COUNT:
        return f"{format_int(before)}{NBSP}→{NBSP}{format_int(after)}"
    return format_change((after - before) / before * 100)


def count_text(n: int | None, below: int | None) -> str:
    """A count as shown: the number, '<5' below the threshold, '–' without data."""
    if n is None:
        return NOT_AVAILABLE
    value = suppress(n, below)
    return value if isinstance(value, str) else format_int(value)


def format_share(share: float | None) -> str:
    """A share as whole per cent: 67 % ('–' without a base)."""
    return NOT_AVAILABLE if share is None else f"{format_int(round(share * 100))}{NBSP}%"


def format_age(hours: float) -> str:
    """An age: hours below two days (30 h), else days (3,5 d)."""
    if hours < 48:
        return f"{format_int(int(hours))}{NBSP}h"
    return f"{format_rate(hours / 24) if hours < 240 else format_int(round(hours / 24))}{NBSP}d"
