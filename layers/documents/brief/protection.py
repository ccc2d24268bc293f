"""Protection of a brief's small counts across the whole document, and the context the
table builders share while one brief is made (:class:`BriefContext`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from layers.core.disclosure import Figure, protect
from layers.core.periods import Period, parse_period
from layers.core.schema import VICTIM_GENDERS
from layers.documents.brief.tables import PRIMARY, SHOWN
from layers.indicators import (
    Area,
    CityData,
    area_incidents,
    in_period,
)


class AreaCounter:
    """Counts for one area (or the whole city) from the loaded incidents, of the
    categories every count holds (:func:`layers.indicators.area_incidents`: never the
    sensitive ones, which are one figure of their own)."""

    def __init__(self, data: CityData, area: Area | None) -> None:
        self.table = area_incidents(data, area)
        self.data = data

    def by(self, period: Period, column: str = "category") -> pd.Series:
        """Counts per value of ``column`` in ``period``."""
        sel = self.table[in_period(self.table["occurred_at"], period)]
        return sel[column].value_counts()

    def total(self, period: Period) -> int:
        return int(in_period(self.table["occurred_at"], period).sum())




#: Every value of ``victim_gender``, unknown (None) included.
ALL_GENDERS: tuple[str | None, ...] = (*VICTIM_GENDERS, None)


class Protection:
    """Document-wide suppression of a brief's incident counts (:mod:`layers.core.disclosure`).

    The brief's tables are built twice: the first pass registers every count with its
    base cells and gets primary statuses; :meth:`solve` protects them all together; the
    second pass gets the final statuses, so a count hidden anywhere is hidden with
    everything computed from it, in every table and chart.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.figures: dict[Hashable, Figure] = {}
        self.final: dict[Hashable, int] | None = None

    def statuses(self, table: str, values: np.ndarray,
                 parts: Callable[[int, int], set[Hashable]],
                 last: Iterable[tuple[int, int]] = ()) -> np.ndarray:
        values = np.asarray(values, dtype=np.int64)
        out = np.zeros(values.shape, dtype=np.int64)
        last = set(last)
        for i, j in np.ndindex(values.shape):
            key = (table, i, j)
            if self.final is not None:
                out[i, j] = self.final[key]
                continue
            value = int(values[i, j])
            self.figures[key] = Figure(key, value, frozenset(parts(i, j)),
                                       last=(i, j) in last)
            out[i, j] = PRIMARY if 0 < value < self.threshold else SHOWN
        return out

    def solve(self, unrecorded: Callable[[set[Hashable]], dict[Hashable, int]]) -> None:
        """Protect the collected counts together.

        ``unrecorded`` gives the counts of the base cells of incidents without a
        recorded victim gender. Where there are none, a reader may take a category's
        victims by gender as its whole count (the Farsta case of issue 11: 9 våld/hot mot
        tjänsteman, 6 men, 0 other, so 3 women), so those cells count as a shown 0.
        """
        parts = {p for f in self.figures.values() for p in f.parts if p[2] is None}
        known = [Figure(("unrecorded", p), 0, frozenset({p}), fixed=True)
                 for p, n in unrecorded(parts).items() if n == 0]
        self.final = protect([*self.figures.values(), *known], self.threshold)


def unrecorded_counts(frames: dict[str, pd.DataFrame], parts: set[Hashable]
                      ) -> dict[Hashable, int]:
    """Counts of the base cells ``(scope, category, None, period code)`` in ``parts``:
    incidents of a category without a recorded victim gender in a period, of the frame
    of ``scope`` (its rows' ``occurred_at``, ``category`` and ``victim_gender``)."""
    out: dict[Hashable, int] = {}
    for code in {p[3] for p in parts}:
        period = parse_period(code)
        counts = {}
        for scope, frame in frames.items():
            sel = frame[in_period(frame["occurred_at"], period)
                        & frame["victim_gender"].isna().to_numpy()]
            counts[scope] = sel["category"].value_counts()
        for p in parts:
            if p[3] == code:
                out[p] = int(counts[p[0]].get(p[1], 0))
    return out


@dataclass
class BriefContext:
    """What the table builders share while one brief is made."""

    data: CityData
    area: Area
    period: Period
    comparison: Period
    threshold: int
    population: int | None
    comparison_population: int | None
    city_population: int | None
    local: AreaCounter
    city: AreaCounter
    footnotes: list[str]
    #: the instant findings and sites are taken at (see :func:`as_of_time`)
    as_of: pd.Timestamp
    #: threshold for counts of findings (0: shown exactly, see build_brief)
    findings_threshold: int = 0
    #: the document-wide suppression of incident counts (see :class:`Protection`)
    protection: Protection | None = None
    #: time-to-fix targets (:func:`layers.indicators.parse_promises`)
    promises: dict[str, dict[str, float]] | None = None

    def note(self, text: str) -> None:
        if text not in self.footnotes:
            self.footnotes.append(text)

    def statuses(self, table: str, values: np.ndarray,
                 parts: Callable[[int, int], set[Hashable]],
                 last: Iterable[tuple[int, int]] = ()) -> np.ndarray:
        """The suppression status of a table's counts under the brief's protection."""
        if self.protection is None:
            self.protection = Protection(self.threshold)
        return self.protection.statuses(table, values, parts, last)

    def parts(self, categories: Iterable[str], genders: Iterable[str | None],
              period: Period, city: bool = False) -> set[Hashable]:
        """The base cells of a count of the area's incidents (``city``: the whole
        city's) of ``categories`` and victim ``genders`` in ``period``."""
        scopes = ("L", "R") if city else ("L",)
        return {(scope, c, g, period.code) for scope in scopes for c in categories
                for g in genders if g in self.genders.get(c, ())}

    @cached_property
    def genders(self) -> dict[str, set[str | None]]:
        """Per category, the victim genders (None: not recorded) the data hold at all.

        A reader may know that a category always records the victim's gender (then its
        victims by gender add up to its count), so a combination the data never hold is
        no base cell of any count.
        """
        frame = self.data.incidents
        out: dict[str, set[str | None]] = {}
        if frame.empty:
            return out
        pairs = frame[["category", "victim_gender"]].astype(object)
        for c, g in set(zip(pairs["category"], pairs["victim_gender"], strict=True)):
            out.setdefault(c, set()).add(None if pd.isna(g) else g)
        return out
