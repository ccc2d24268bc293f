"""The brief's value types: a figure as printed (:class:`Cell`), rows and tables, and the
suppression of small counts within one table (:func:`suppress`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from layers.indicators import (
    CHANGE_MIN_COUNT,
    HIDDEN,
    NBSP,
    NOT_AVAILABLE,
    format_change,
    format_int,
    format_rate,
)

#: Counts from 1 up to this number minus one are shown as "<5".
SUPPRESS_BELOW = 5

# status of a count under suppression
SHOWN, PRIMARY, SECONDARY = 0, 1, 2




def format_date(day: dt.date | pd.Timestamp | None) -> str:
    if day is None or pd.isna(day):
        return NOT_AVAILABLE
    return pd.Timestamp(day).strftime("%Y-%m-%d")


# --- cells and tables -------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure as printed. ``value`` is the number behind a shown figure; it is None
    when the figure is hidden or not a number, so a brief never holds a hidden count."""

    text: str
    value: float | None = None
    numeric: bool = True
    #: the indicator this cell shows (:data:`layers.indicators.INDICATORS`), for the
    #: ``data-figure`` attribute and the definition tooltip
    figure: str | None = None

    @classmethod
    def label(cls, text: str) -> Cell:
        return cls(text, None, numeric=False)


def count_cell(n: int, status: int, threshold: int) -> Cell:
    """A count under suppression: the number, ``<5`` (primary) or ``..`` (secondary)."""
    if status == PRIMARY:
        return Cell(f"<{threshold}")
    if status == SECONDARY:
        return Cell(HIDDEN)
    return Cell(format_int(n), float(n))


def rate_cell(n: int, status: int, population: int | None) -> Cell:
    """Per 1 000 inhabitants; hidden with its count, ``–`` without a population."""
    if status != SHOWN:
        return Cell(HIDDEN)
    if not population:
        return Cell(NOT_AVAILABLE)
    value = n / population * 1000
    return Cell(format_rate(value), value)


def change_cell(current: int, current_status: int, previous: int | None,
                previous_status: int) -> Cell:
    """Change in per cent against the comparable period (``previous`` None: no data).

    Below :data:`CHANGE_MIN_COUNT` in either period the cell holds the two counts
    ("5 → 11") and no value, so no sentence or chart reads a per cent change into it.
    """
    if previous is None:
        return Cell(NOT_AVAILABLE)
    if current_status != SHOWN or previous_status != SHOWN:
        return Cell(HIDDEN)
    if min(current, previous) < CHANGE_MIN_COUNT:
        return Cell(f"{format_int(previous)}{NBSP}→{NBSP}{format_int(current)}")
    value = (current - previous) / previous * 100
    return Cell(format_change(value), value)


def share_cell(part: int, part_status: int, whole_parts: Sequence[tuple[int, int]]) -> Cell:
    """``part`` as a per cent share of the sum of ``whole_parts`` (count, status) pairs."""
    if part_status != SHOWN or any(s != SHOWN for _, s in whole_parts):
        return Cell(HIDDEN)
    whole = sum(n for n, _ in whole_parts)
    if whole == 0:
        return Cell(NOT_AVAILABLE)
    value = part / whole * 100
    return Cell(f"{round(value)}{NBSP}%", value)


@dataclass
class Row:
    """A table row: a key for code and tests, the label printed first, the cells."""

    key: str
    label: str
    cells: dict[str, Cell]
    total: bool = False


@dataclass
class Table:
    """A table of a brief: columns (key, Swedish label) after the row label column."""

    key: str
    caption: str
    row_header: str
    columns: list[tuple[str, str]]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    def row(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(key)

    def cell(self, row_key: str, column_key: str) -> Cell:
        return self.row(row_key).cells[column_key]

    @property
    def empty(self) -> bool:
        return not self.rows

    def is_numeric(self, key: str) -> bool:
        """Tell whether a column holds figures (right-aligned) rather than text."""
        return all(r.cells[key].numeric for r in self.rows)


def suppress(values: np.ndarray, lines: Iterable[Sequence[tuple[int, int]]],
             threshold: int = SUPPRESS_BELOW) -> np.ndarray:
    """Return the suppression status (SHOWN, PRIMARY, SECONDARY) of each count.

    ``values`` is a 2-D array of counts; ``lines`` lists the additive lines of the
    table, each the (row, column) cells of a row or column *including* the total they
    add up to. Primary: 0 < value < threshold. Secondary: while some line hides exactly
    one cell, hide the smallest non-zero shown cell of that line too.
    """
    values = np.asarray(values, dtype=np.int64)
    if values.ndim != 2:
        raise ValueError("values must be 2-D")
    status = np.where((values > 0) & (values < threshold), PRIMARY, SHOWN)
    lines = [list(line) for line in lines]
    changed = True
    while changed:
        changed = False
        for line in lines:
            hidden = [c for c in line if status[c] != SHOWN]
            if len(hidden) != 1:
                continue
            candidates = [c for c in line if status[c] == SHOWN and values[c] > 0]
            if not candidates:
                continue
            pick = min(candidates, key=lambda c: (values[c], c))
            status[pick] = SECONDARY
            changed = True
    return status


def column_lines(n_rows: int, columns: Iterable[int]) -> list[list[tuple[int, int]]]:
    """Lines of a table whose last row is the total of the rows above it."""
    return [[(i, j) for i in range(n_rows)] for j in columns]


def row_lines(rows: Iterable[int], n_cols: int) -> list[list[tuple[int, int]]]:
    """Lines of a table whose last column is the total of the columns before it."""
    return [[(i, j) for j in range(n_cols)] for i in rows]
