"""Who may change what: the one write rule for every route, form, API call and upload.

A write needs two things at once, checked together by :func:`write_refusal`:

* the **role**: the user has the role the action needs, or a higher one
  (läsare < inventerare < handläggare < admin);
* the **district scope**: a user bound to a stadsdelsområde (``users.sdo_code``)
  changes only objects in that area. The areas of an object are those it is
  stored with, and for an edit that moves it, its new place too, so nothing can
  be moved into or out of the area. An area code covers the areas it was made of
  at a division change (:data:`geodata.MERGERS`): a Järva user also changes
  objects stored under ``rinkeby-kista`` or ``spanga-tensta`` before 2023-07-01.

An object whose area is unknown (outside every stadsdel, or stored without one)
may be changed only by users without an area binding: an area-bound user's
rights are a promise to stay inside the area, and an unknown place cannot be
shown to be inside it. Admins are never bound.

The person who recorded a finding may also correct it (edit or delete) until it is
assigned (they need the role inventerare, as for recording): :func:`reporter_refusal`.

This module has no Flask; ``mapapp.access`` turns a refusal into a 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

import geodata
from layers.domain.users import User

#: The role every write of a kind needs (one table, so the routes cannot drift apart).
RECORD_ROLE = "inventerare"  # record findings and walks, upload files
MANAGE_ROLE = "handläggare"  # status workflow, sites, measures, log, brief texts, deletes


def covered_areas(sdo_code: str) -> frozenset[str]:
    """The area codes a user bound to ``sdo_code`` may change: it and its predecessors."""
    return frozenset((sdo_code, *geodata.MERGERS.get(sdo_code, ())))


def _area(value: object) -> str | None:
    """An area code as text, None for a missing one (None, NaN, NA, empty)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def write_refusal(user: User | None, role: str, areas: Iterable[object] = ()) -> str | None:
    """Why ``user`` may not write with ``role`` on objects in ``areas``, or None when allowed.

    ``areas`` are the stadsdelsområde codes involved (the object's stored area, its
    new area after an edit, every row's area in an upload); None or NaN stands for
    an unknown area. An empty ``areas`` checks the role only (a new object whose
    place is not known yet is checked again once it is). The reason is Swedish.
    """
    if user is None:
        return "Du måste logga in."
    if not user.can(role):
        return f"Det kräver rollen {role}."
    if user.role == "admin" or not user.sdo_code:
        return None
    allowed = covered_areas(user.sdo_code)
    for area in areas:
        code = _area(area)
        if code is None:
            return ("Du får bara ändra i ditt stadsdelsområde, och det här ligger inte i "
                    "något känt stadsdelsområde.")
        if code not in allowed:
            return "Det ligger utanför ditt stadsdelsområde."
    return None


def may_write(user: User | None, role: str, areas: Iterable[object] = ()) -> bool:
    """Tell whether ``user`` may write with ``role`` on objects in ``areas`` (see above)."""
    return write_refusal(user, role, areas) is None


#: The status in which the person who recorded a finding may still correct it: once a
#: handläggare has assigned (or rejected) it, others rely on what it says.
REPORTER_EDITABLE_STATUS = "ny"


def reporter_refusal(user: User | None, finding: Mapping[str, object],
                     areas: Iterable[object] = ()) -> str | None:
    """Why ``user`` may not correct (edit or delete) ``finding``, or None when allowed.

    The person who recorded it (``created_by``) may, with the role inventerare, while
    it is still new (:data:`REPORTER_EDITABLE_STATUS`, nobody assigned yet); a
    handläggare (or admin) may correct any finding, as with every other write. Both
    stay inside their stadsdelsområde: ``areas`` are the finding's stored area and,
    for an edit that moves it, its new one (see :func:`write_refusal`). The reason is
    Swedish.
    """
    areas = list(areas)
    if write_refusal(user, MANAGE_ROLE, areas) is None:
        return None
    refusal = write_refusal(user, RECORD_ROLE, areas)
    if refusal is not None:
        return refusal
    if _area(finding.get("created_by")) != user.name:
        return ("Bara den som registrerade fyndet, eller en handläggare, kan ändra eller "
                "ta bort det.")
    if (_area(finding.get("status")) or REPORTER_EDITABLE_STATUS) != REPORTER_EDITABLE_STATUS:
        return ("Fyndet har redan hanterats (tilldelats eller avvisats) och kan inte längre "
                "ändras av den som registrerade det. Kontakta en handläggare.")
    return None
