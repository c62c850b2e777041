"""The console's roles and what each may do: two ladders from viewer, one for the menu's words
(editor, clinician) and one for the families waiting for a call back (scheduler), joined at admin."""

from __future__ import annotations

ROLES = ("viewer", "scheduler", "editor", "clinician", "admin")
DESCRIPTIONS = {
    "viewer": "dashboard and simulator",
    "scheduler": "also the callback requests: families' numbers and messages",
    "editor": "also drafts menu changes",
    "clinician": "also approves menu changes",
    "admin": "also manages accounts, reads the audit log and sees callback requests",
}
# Every role's own permission and those it takes from the roles below it. A scheduler reads no
# drafts' approvals and an editor no family's number: each sees only what their work needs.
GRANTS = {
    "viewer": frozenset({"viewer"}),
    "scheduler": frozenset({"viewer", "scheduler"}),
    "editor": frozenset({"viewer", "editor"}),
    "clinician": frozenset({"viewer", "editor", "clinician"}),
    "admin": frozenset(ROLES),
}
# Roles that see families' details (callback requests), and so sign in with a second factor.
SEES_FAMILIES = tuple(role for role in ROLES if "scheduler" in GRANTS[role])


def may(role: str, needed: str) -> bool:
    """Whether an account with `role` may use a page that needs `needed`."""
    return needed in GRANTS.get(role, ())
