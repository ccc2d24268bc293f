"""Who may see what: incident points, sensitive categories and small counts.

One place for the rules the map, the API and the briefs follow:

* **Points.** An incident is drawn as a point only when its place is known to
  the address or the street (precision ``exact`` or ``street``); police events
  placed at a stadsdel or the municipality are only counted.
* **Sensitive categories** (sexual offences, violence in close relationships, see
  ``sensitive`` in :mod:`layers.schema`) are shown as points only to
  handläggare and admin. Everyone else sees them in aggregates only.
* **Small counts.** Aggregates shown to the public (anonymous visitors) and to
  läsare write a count of 1–4 as ``"<5"`` (the app's ``SUPPRESS_BELOW``), so a
  single victim cannot be singled out in a grid cell or a small district figure.
  Zero stays zero: an empty cell says nothing about a person.

Functions take a :class:`layers.users.User` or ``None`` for an anonymous visitor.
"""

from __future__ import annotations

from collections.abc import Iterable

from layers.schema import INCIDENT_CATEGORIES, SENSITIVE_CODES
from layers.users import User

#: Precisions that may be drawn as points.
POINT_PRECISIONS = ("exact", "street")
#: The lowest role that sees sensitive categories as points.
SENSITIVE_POINTS_ROLE = "handläggare"
#: The lowest role that sees exact small counts in aggregates.
EXACT_COUNTS_ROLE = "inventerare"
#: The default threshold under which public counts are written "<N".
DEFAULT_SUPPRESS_BELOW = 5

ALL_CATEGORY_CODES = tuple(c.code for c in INCIDENT_CATEGORIES)


def sees_sensitive_points(user: User | None) -> bool:
    """Tell whether the user may see sensitive incidents as points."""
    return user is not None and user.can(SENSITIVE_POINTS_ROLE)


def suppresses_counts(user: User | None) -> bool:
    """Tell whether aggregates shown to this user hide counts of 1 to N-1."""
    return user is None or not user.can(EXACT_COUNTS_ROLE)


def point_categories(user: User | None, requested: Iterable[str] | None = None
                     ) -> tuple[str, ...]:
    """The categories (of ``requested``, default all) the user may see as points."""
    codes = ALL_CATEGORY_CODES if requested is None else tuple(requested)
    if sees_sensitive_points(user):
        return codes
    return tuple(c for c in codes if c not in SENSITIVE_CODES)


def hidden_point_categories(user: User | None, requested: Iterable[str] | None = None
                            ) -> tuple[str, ...]:
    """The categories (of ``requested``) the user may *not* see as points."""
    allowed = set(point_categories(user, requested))
    codes = ALL_CATEGORY_CODES if requested is None else tuple(requested)
    return tuple(c for c in codes if c not in allowed)


def suppress(count: int, below: int | None) -> int | str:
    """Return ``count``, or ``"<below>"`` when it is 1 to below-1 (``below`` None: off)."""
    count = int(count)
    if below and 0 < count < below:
        return f"<{below}"
    return count
