"""Secondary suppression across a whole document or page (a brief, ``/stad``).

Hiding a small count in one table is not enough when the same document shows, elsewhere,
a total and the other parts it adds up to: in a Farsta brief "våld/hot mot tjänsteman 9"
(strategic crimes) and "6 men, 0 unknown" (victims by gender) give "3 women", however
"<5" the victims table writes it. So a document's counts are protected together.

Each count a document shows, in a table, a chart or as the base of a rate, is a
:class:`Figure`: its exact value and its *parts*, the set of base cells (say: incidents
of one category, victim gender and period in one area) it adds up. Two figures with the
same parts are the same number shown twice; a figure whose parts are the union of other
figures' parts is their total. That is every linear relation a reader can use: row and
column sums, totals minus any subset of parts, and figures repeated in other tables.

:func:`protect` decides what is shown:

1. **Primary:** a count of 1 to ``threshold - 1`` is hidden (``<5``). Zero is shown.
2. **Secondary:** while some hidden figure can be derived exactly from the shown ones
   (:func:`derivable`), one more shown figure is hidden (``..``): of the shown non-zero
   figures related to the derived one, the first whose hiding makes it underivable, in
   order of: figures shown on other pages too (``last``) after all others, then the
   smallest value first. A figure that no single hiding protects gets its smallest
   related figure hidden and the search goes on.

"Derived" means what a careful reader could compute: every base cell is a count (at
least 0), a shown figure is exact, ``<5`` means 1 to 4, ``..`` means at least 1 (only
non-zero figures are hidden secondarily). A hidden figure whose smallest and largest
possible values (a linear programme over those constraints) leave one whole number is
derivable. Rates, shares and changes computed from a count are shown only with it.

No Flask here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

LOGGER = logging.getLogger(__name__)

SHOWN, PRIMARY, SECONDARY = 0, 1, 2
_EPS = 1e-6
#: When no single number protects a derivable one, pairs of the first this many
#: candidates are tried.
_PAIR_SEARCH = 10


@dataclass(frozen=True)
class Figure:
    """One count a document shows."""

    key: Hashable
    value: int
    #: the base cells this count adds up (see the module docstring)
    parts: frozenset
    #: shown on other pages too (a headline figure): hidden only when nothing else helps
    last: bool = False
    #: never hidden (findings: places, not people)
    fixed: bool = False


def primary(figures: Sequence[Figure], threshold: int) -> dict[Hashable, int]:
    """The primary status of each figure: PRIMARY for 1 to ``threshold - 1``."""
    return {f.key: PRIMARY if (not f.fixed and 0 < f.value < threshold) else SHOWN
            for f in figures}


class _Component:
    """Figures connected by shared base cells, as a linear system over merged cells."""

    def __init__(self, figures: list[Figure]) -> None:
        self.figures = figures
        signature: dict[Hashable, list[int]] = {}
        for i, f in enumerate(figures):
            for part in f.parts:
                signature.setdefault(part, []).append(i)
        # base cells that lie in exactly the same figures act as one variable
        columns = sorted({tuple(s) for s in signature.values()})
        self.matrix = np.zeros((len(figures), len(columns)))
        for j, rows in enumerate(columns):
            self.matrix[list(rows), j] = 1.0

    def _limit(self, i: int, sign: float, status: dict[Hashable, int],
               threshold: int) -> float:
        """The least (``sign`` 1) or greatest (-1) value figure ``i`` can have given
        what is shown (infinity: no upper limit)."""
        a_eq, b_eq, a_ub, b_ub = [], [], [], []
        for k, f in enumerate(self.figures):
            s = status[f.key]
            row = self.matrix[k]
            if s == SHOWN:
                a_eq.append(row)
                b_eq.append(float(f.value))
            else:
                a_ub.append(-row)
                b_ub.append(-1.0)
                if s == PRIMARY:
                    a_ub.append(row)
                    b_ub.append(float(threshold - 1))
        res = linprog(sign * self.matrix[i],
                      A_ub=np.array(a_ub) if a_ub else None, b_ub=b_ub or None,
                      A_eq=np.array(a_eq) if a_eq else None, b_eq=b_eq or None,
                      bounds=(0, None), method="highs")
        if res.status == 3:  # unbounded
            return math.inf
        if res.status != 0:
            raise ValueError(f"disclosure check failed: {res.message}")
        return sign * res.fun

    def exact(self, i: int, status: dict[Hashable, int], threshold: int) -> bool:
        """Tell whether figure ``i`` has one possible whole-number value (its own: the
        true value is always possible, so one side below or above it is enough)."""
        if len(self.figures) == 1:
            return status[self.figures[i].key] == SHOWN
        value = self.figures[i].value
        if math.ceil(self._limit(i, 1.0, status, threshold) - _EPS) < value:
            return False
        return math.floor(self._limit(i, -1.0, status, threshold) + _EPS) <= value


def _components(figures: Sequence[Figure]) -> list[list[Figure]]:
    """Split figures into groups that share no base cell (solved separately)."""
    parent = list(range(len(figures)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[Hashable, int] = {}
    for i, f in enumerate(figures):
        for part in f.parts:
            j = owner.setdefault(part, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    groups: dict[int, list[Figure]] = {}
    for i, f in enumerate(figures):
        groups.setdefault(find(i), []).append(f)
    return list(groups.values())


def derivable(figures: Sequence[Figure], status: dict[Hashable, int], threshold: int
              ) -> list[Hashable]:
    """Keys of the hidden figures whose exact value follows from the shown ones."""
    out = []
    for group in _components(figures):
        if all(status[f.key] == SHOWN for f in group):
            continue
        component = _Component(group)
        out += [f.key for i, f in enumerate(group)
                if status[f.key] != SHOWN and component.exact(i, status, threshold)]
    return out


def protect(figures: Iterable[Figure], threshold: int) -> dict[Hashable, int]:
    """The status (SHOWN, PRIMARY, SECONDARY) of every figure, so that no hidden figure
    can be derived from the shown ones (see the module docstring)."""
    figures = list(figures)
    keys = [f.key for f in figures]
    if len(set(keys)) != len(keys):
        raise ValueError("figure keys must be unique")
    status = primary(figures, threshold)
    for group in _components([f for f in figures if f.parts]):
        if all(status[f.key] == SHOWN for f in group):
            continue
        _protect_component(group, status, threshold)
    return status


def _protect_component(group: list[Figure], status: dict[Hashable, int],
                       threshold: int) -> None:
    component = _Component(group)
    # figures with the same parts are one number shown twice: they are hidden together,
    # and a number shown as a headline figure anywhere is hidden last
    twins: dict[frozenset, list[int]] = {}
    for k, f in enumerate(group):
        twins.setdefault(f.parts, []).append(k)
    units = [ks for ks in twins.values() if not any(group[k].fixed for k in ks)]
    headline = {group[ks[0]].parts for ks in units if any(group[k].last for k in ks)}
    units.sort(key=lambda ks: (group[ks[0]].parts in headline, group[ks[0]].value, ks[0]))

    def hide(ks: list[int]) -> dict[Hashable, int]:
        """Hide a number everywhere it is shown; return the statuses it had."""
        before = {group[k].key: status[group[k].key] for k in ks}
        for k in ks:
            if status[group[k].key] == SHOWN:
                status[group[k].key] = SECONDARY
        return before

    # hiding more only loosens what is known: a figure once underivable stays so
    safe: set[int] = set()

    def derived(i: int) -> bool:
        if i in safe or status[group[i].key] == SHOWN:
            return False
        if component.exact(i, status, threshold):
            return True
        safe.add(i)
        return False

    while True:
        leak = next((i for i in range(len(group)) if derived(i)), None)
        if leak is None:
            return
        LOGGER.debug("derivable: %s", group[leak].key)
        candidates = [ks for ks in units if group[ks[0]].value > 0
                      and any(status[group[k].key] == SHOWN for k in ks)]
        if not candidates:
            return  # nothing left to hide: the figure is as protected as it can be
        leak_parts = group[leak].parts

        def safe_now(i: int = leak) -> bool:
            return not component.exact(i, status, threshold)

        near, cells = _neighbourhood(component.matrix, leak)
        # one number: the smallest related one (the classic choice)
        tiers = sorted(candidates, key=lambda ks: (
            group[ks[0]].parts in headline, not component.matrix[ks[0], cells].any(),
            group[ks[0]].value, ks[0]))
        chosen = None
        for ks in tiers:
            before = hide(ks)
            if safe_now():
                chosen = [ks]
                break
            status.update(before)
        if chosen is None:
            # two numbers: the closest ones (totals holding it, numbers sharing parts
            # with it, the other parts of its totals; headline numbers last)
            closest = sorted(candidates, key=lambda ks: (
                group[ks[0]].parts in headline,
                0 if group[ks[0]].parts >= leak_parts else
                1 if component.matrix[ks[0], near].any() else
                2 if component.matrix[ks[0], cells].any() else 3,
                group[ks[0]].value, ks[0]))
            chosen = _pair(closest[:_PAIR_SEARCH], hide, safe_now, status)
        LOGGER.debug("hidden too: %s", chosen and [group[ks[0]].key for ks in chosen])
        if chosen is None:
            # no one or two numbers protect it: hide the most suitable one, look again
            hide(tiers[0])


def _neighbourhood(matrix: np.ndarray, i: int) -> tuple[list[int], list[int]]:
    """The variables of figure ``i`` and those of every figure sharing one with it
    (the other parts of its totals)."""
    near = list(np.flatnonzero(matrix[i]))
    linked = [k for k in range(len(matrix)) if matrix[k, near].any()]
    return near, list(np.flatnonzero(matrix[linked].any(axis=0)))


def _pair(units: list[list[int]], hide: Callable[[list[int]], dict[Hashable, int]],
          safe: Callable[[], bool], status: dict[Hashable, int]) -> list | None:
    """The first two units (in order) whose hiding together makes ``safe()`` true; they
    stay hidden. None: no pair does (nothing changed)."""
    for a, first in enumerate(units):
        for second in units[a + 1:]:
            before = hide(first) | hide(second)
            if safe():
                return [first, second]
            status.update(before)
    return None
