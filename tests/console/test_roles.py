"""The roles: two ladders from viewer (the menu's words; the families' callbacks) joined at admin."""

from __future__ import annotations

import pytest

from ivr.cli import _parser as build_parser
from ivr.console.roles import DESCRIPTIONS, GRANTS, ROLES, SEES_FAMILIES, may


@pytest.mark.parametrize(("role", "allowed"), [
    ("viewer", {"viewer"}),
    ("scheduler", {"viewer", "scheduler"}),
    ("editor", {"viewer", "editor"}),
    ("clinician", {"viewer", "editor", "clinician"}),
    ("admin", set(ROLES)),
])
def test_each_role_may_exactly_its_own_and_below(role, allowed):
    assert {needed for needed in ROLES if may(role, needed)} == allowed


def test_only_schedulers_and_admins_see_families():
    assert SEES_FAMILIES == ("scheduler", "admin")


def test_unknown_roles_may_nothing():
    assert not any(may(role, needed) for role in ("", "root", "Admin") for needed in ROLES)
    assert not may("admin", "superuser")


def test_every_role_is_described_and_granted():
    assert set(DESCRIPTIONS) == set(GRANTS) == set(ROLES)


def test_the_command_line_offers_every_role():
    parser = build_parser()
    for role in ROLES:
        args = parser.parse_args(["users", "add", "someone", "--role", role])
        assert args.role == role
    with pytest.raises(SystemExit):
        parser.parse_args(["users", "add", "someone", "--role", "root"])
