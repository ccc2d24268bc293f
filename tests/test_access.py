"""The one write rule (layers/domain/access.py): role and district scope together."""

from __future__ import annotations

import math

import pytest

from layers.domain.access import covered_areas, may_write, write_refusal
from layers.domain.users import User

JARVA = User("h", "handläggare", sdo_code="jarva")


def test_role_is_needed():
    assert not may_write(None, "läsare")
    assert write_refusal(None, "inventerare") == "Du måste logga in."
    assert not may_write(User("l", "läsare"), "inventerare")
    assert not may_write(User("i", "inventerare"), "handläggare", ["jarva"])
    assert may_write(User("i", "inventerare"), "inventerare", ["jarva"])
    assert may_write(User("h", "handläggare"), "handläggare", ["jarva", "farsta"])


def test_area_bound_user_writes_only_in_the_area():
    assert may_write(JARVA, "handläggare", ["jarva"])
    assert not may_write(JARVA, "handläggare", ["sodermalm"])
    # a move needs both the old and the new place in the area
    assert not may_write(JARVA, "handläggare", ["jarva", "sodermalm"])
    assert "utanför ditt stadsdelsområde" in write_refusal(JARVA, "handläggare", ["farsta"])
    # the role is still checked for a bound user
    assert not may_write(User("i", "inventerare", sdo_code="jarva"), "handläggare", ["jarva"])


@pytest.mark.parametrize("old", ["rinkeby-kista", "spanga-tensta"])
def test_area_covers_its_predecessors(old):
    assert old in covered_areas("jarva")
    assert may_write(JARVA, "handläggare", [old])
    assert not may_write(User("s", "handläggare", sdo_code="sodermalm"), "handläggare", [old])


@pytest.mark.parametrize("unknown", [None, math.nan, ""])
def test_unknown_area_only_for_unbound_users(unknown):
    assert not may_write(JARVA, "handläggare", [unknown])
    assert may_write(User("h", "handläggare"), "handläggare", [unknown])


def test_admin_is_never_bound():
    admin = User("a", "admin", sdo_code="farsta")
    assert may_write(admin, "handläggare", ["jarva", None])
