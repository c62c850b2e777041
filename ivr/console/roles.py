"""The console's roles, each able to do everything the one before it can."""

from __future__ import annotations

ROLES = ("viewer", "editor", "clinician", "admin")
DESCRIPTIONS = {
    "viewer": "dashboard and simulator",
    "editor": "also drafts menu changes",
    "clinician": "also approves menu changes",
    "admin": "also manages accounts and reads the audit log",
}


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else -1


def may(role: str, needed: str) -> bool:
    """Whether an account with `role` may use a page that needs `needed`."""
    return rank(role) >= rank(needed) >= 0
