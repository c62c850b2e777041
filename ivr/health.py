"""GET /healthz: is the line up, which menu is it serving, and did the last reload fail."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .line import current_line
from .logs import redact

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """For monitors and staff: the served menu's content hash and load time, and the last reload
    error. No secrets and no phone numbers (an error quoting one has it masked)."""
    line = current_line()
    line.menu  # noqa: B018 -- a health check is also a chance to notice an edited file
    status = line.live_menu.status()
    return jsonify(
        status="ok",
        menu={"file": line.live_menu.path.name, "sha256": status.sha256, "loaded_at": status.loaded_at},
        last_reload_error=redact(status.last_error) if status.last_error else None,
    )
