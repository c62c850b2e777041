"""GET /healthz: is the line up, which menu is it serving, and did the last reload fail."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .line import current_line
from .logs import redact

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """For monitors and staff: whether signatures are checked, the served menu's content hash and
    load time, and the last reload error. No secrets and no phone numbers (an error quoting one has
    it masked)."""
    line = current_line()
    live = line.live_menu
    live.menu  # noqa: B018 -- a health check is also a chance to notice an edited file
    status = live.status()
    error = status.last_error
    if error:  # where the app is installed is nobody's business; the file name is enough
        error = redact(error.replace(str(live.path), live.path.name))
    return jsonify(
        status="ok",
        # Shown so that a line left with IVR_SKIP_SIGNATURE_CHECK on is noticed by whoever looks.
        signature_check="off" if line.settings.skip_signature_check else "on",
        menu={"file": live.path.name, "sha256": status.sha256, "loaded_at": status.loaded_at},
        file_on_disk_served=error is None,
        last_reload_error=error,
    )
