"""Who may see what: incident points, sensitive categories and small counts.

One place for the rules the map, the API and the briefs follow:

* **Points.** An incident is drawn as a point only when its place is known to
  the address or the street (precision ``exact`` or ``street``); police events
  placed at a stadsdel or the municipality are only counted.
* **Sensitive categories** (sexual offences, violence in close relationships, see
  ``sensitive`` in :mod:`layers.core.schema`) are shown as points only to
  handläggare and admin. Everyone else sees them in aggregates only.
* **What a count counts** (:func:`counted_categories`). Every incident count,
  total, rate, trend and grid cell served for a chosen set of categories —
  "alla kategorier" included — counts only the non-sensitive categories, for
  every role, unless a role that sees them (handläggare, admin) names a sensitive
  category by its code. A sensitive category named by anyone else is refused
  (:class:`SensitiveRefused`, 403 on the web); a group that contains one (``vald``,
  all categories) leaves it out and says so (:data:`SENSITIVE_NOTE`). The reason
  is differencing: if "stöld" and "stöld + sexualbrott" were both answered, their
  difference would be the exact number of sexual offences per cell, whatever
  "<5" the sensitive category alone showed. So a figure means the same thing for
  every role, and the sensitive categories reach the other roles only as one
  count per stadsdelsområde and period (:func:`sensitive_area_count`), "<5" below
  five, never part of any other sum.
* **Small counts.** Aggregates shown to the public (anonymous visitors) and to
  läsare write a count of 1–4 as ``"<5"`` (the app's ``SUPPRESS_BELOW``), so a
  single victim cannot be singled out in a grid cell or a small district figure,
  and anything computed from such a count (a change, a rate, a colour class) is
  not sent either. Zero stays zero: an empty cell says nothing about a person.

Functions take a :class:`layers.core.roles.User` or ``None`` for an anonymous visitor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from layers.core.roles import User
from layers.core.schema import (
    INCIDENT_CATEGORIES,
    INCIDENT_GROUPS,
    SENSITIVE_CODES,
    STRATEGIC_CODES,
)

#: Precisions that may be drawn as points.
POINT_PRECISIONS = ("exact", "street")
#: The lowest role that sees sensitive categories as points.
SENSITIVE_POINTS_ROLE = "handläggare"
#: The lowest role that sees exact small counts in aggregates.
EXACT_COUNTS_ROLE = "inventerare"
#: The default threshold under which public counts are written "<N".
DEFAULT_SUPPRESS_BELOW = 5

ALL_CATEGORY_CODES = tuple(c.code for c in INCIDENT_CATEGORIES)
#: The categories every count holds unless sensitive ones are named (see module docstring).
PUBLIC_CATEGORY_CODES = tuple(c for c in ALL_CATEGORY_CODES if c not in SENSITIVE_CODES)
#: What an answer says when it leaves the sensitive categories out (Swedish).
SENSITIVE_NOTE = ("Sexualbrott och våld i nära relation ingår inte i summorna; "
                  "de redovisas bara per stadsdelsområde.")
#: Visibility classes of :func:`visibility`: what a role's aggregates may hold.
VISIBILITY_FULL = "full"          # sensitive categories on request, exact counts
VISIBILITY_EXACT = "exakt"        # no sensitive categories, exact counts
VISIBILITY_PUBLIC = "publik"      # no sensitive categories, counts 1–4 as "<5"
#: The class of a computation that does not depend on the role (filtered afterwards).
VISIBILITY_RAW = "rå"

_LABELS = {c.code: c.label for c in INCIDENT_CATEGORIES}


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


def visibility(user: User | None) -> str:
    """The user's visibility class, for cache keys: two users of one class see the
    same aggregates (:data:`VISIBILITY_FULL`, :data:`VISIBILITY_EXACT`,
    :data:`VISIBILITY_PUBLIC`)."""
    if sees_sensitive_points(user):
        return VISIBILITY_FULL
    return VISIBILITY_PUBLIC if suppresses_counts(user) else VISIBILITY_EXACT


class SensitiveRefused(PermissionError):
    """A sensitive category named by a role that may not see it (403, Swedish message)."""

    def __init__(self, codes: tuple[str, ...]) -> None:
        names = " och ".join(_LABELS[c] for c in codes)
        self.codes = codes
        self.message = (f"{names[:1].upper()}{names[1:]} redovisas för din roll bara som en "
                        "summa per stadsdelsområde och period (under 5 som \"<5\"), aldrig "
                        "per ruta, plats eller tillsammans med andra kategorier. Logga in som "
                        "handläggare för att se dem.")
        super().__init__(self.message)


@dataclass(frozen=True)
class CountedCategories:
    """What a count for a requested category set counts, and what it says about it."""

    #: The categories to count, in taxonomy order.
    codes: tuple[str, ...]
    #: Sensitive categories the request covered (by a group or "all") that are not counted.
    left_out: tuple[str, ...]
    #: Swedish note for the answer when sensitive categories are left out (else None).
    note: str | None


def counted_categories(user: User | None, requested: str | Iterable[str] | None
                       ) -> CountedCategories:
    """Apply the counting rule of this module to a requested category set.

    ``requested`` is what the user asked for, as written: category codes and group
    names (``"stold,sexualbrott"``, ``"vald"``, ``"strategiska"``; a comma-separated
    string or an iterable), empty or None for all categories. Only a sensitive
    code *named* by a role that sees sensitive incidents is counted; a sensitive
    code named by anyone else raises :class:`SensitiveRefused`; groups and "all"
    never count them. The same request therefore means the same figure for every
    role that may make it, so no two answers differ by a sensitive count alone.
    Unknown tokens are ignored here (the filter parser has refused them already).
    """
    if isinstance(requested, str):
        requested = requested.split(",")
    tokens = [t.strip().lower() for t in (requested or ()) if t and t.strip()]
    if tokens in ([], ["alla"]):
        tokens = ["alla"]
    named = [t for t in tokens if t in SENSITIVE_CODES]
    if named and not sees_sensitive_points(user):
        raise SensitiveRefused(tuple(dict.fromkeys(named)))
    wanted: set[str] = set(named)
    covered: set[str] = set()
    for token in tokens:
        if token == "alla":
            members: tuple[str, ...] = ALL_CATEGORY_CODES
        elif token == "strategiska":
            members = STRATEGIC_CODES
        elif token in INCIDENT_GROUPS:
            members = tuple(c.code for c in INCIDENT_CATEGORIES if c.group == token)
        else:
            members = (token,) if token in ALL_CATEGORY_CODES else ()
        covered.update(members)
        wanted.update(c for c in members if c not in SENSITIVE_CODES)
    left_out = tuple(c for c in SENSITIVE_CODES if c in covered and c not in wanted)
    return CountedCategories(tuple(c for c in ALL_CATEGORY_CODES if c in wanted), left_out,
                             SENSITIVE_NOTE if left_out else None)


def sensitive_below(user: User | None, below: int | None) -> int | None:
    """The threshold for the one sensitive aggregate per area and period: ``below``
    for every role that does not see sensitive incidents (inventerare too), else None."""
    return None if sees_sensitive_points(user) else (below or DEFAULT_SUPPRESS_BELOW)
