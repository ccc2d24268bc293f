"""Roles and the signed-in user as a value: what the privacy rules and access checks ask.

The users themselves (passwords, tokens, sessions) are kept by
:mod:`layers.domain.users`; this module holds only what lower parts need to decide
who sees what, so :mod:`layers.core.privacy` does not import the domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from layers.core.schema import ROLES

ROLE_ORDER = list(ROLES)


@dataclass(frozen=True)
class User:
    """A signed-in person (or an API client acting for one)."""

    name: str
    role: str
    sdo_code: str | None = None
    display_name: str | None = None

    def can(self, role: str) -> bool:
        """Tell whether this user has ``role`` or a role above it."""
        return ROLE_ORDER.index(self.role) >= ROLE_ORDER.index(role)
