"""GET /healthz: is the line up, which menu version is it serving, and did the last reload fail."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .line import current_line
from .logs import redact

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """For monitors and staff: whether signatures are checked, the served menu version's number,
    content hash and load time, and why anything newer is not served (a file or version that cannot
    be loaded, a database that cannot be asked). No secrets and no phone numbers (an error quoting one
    has it masked)."""
    line = current_line()
    live = line.live_menu
    live.menu  # noqa: B018 -- a health check is also a chance to notice a new version
    status = live.status()
    return jsonify(
        status="ok",
        # Shown so that a line left with IVR_SKIP_SIGNATURE_CHECK on is noticed by whoever looks.
        signature_check="off" if line.settings.skip_signature_check else "on",
        menu={"file": live.path.name, "version": status.version, "source": status.source,
              "sha256": status.sha256, "loaded_at": status.loaded_at},
        file_on_disk_served=status.file_sha256 == status.sha256,
        last_reload_error=_shown(status.last_error, live),
        # Only that the database could not be asked: its address and the driver's words are in the log.
        versions_check_error=None if status.check_error is None else
        "the line's database could not be asked for the published menu version",
    )


def _shown(error: str | None, live) -> str | None:
    if not error:
        return None
    # Where the app is installed is nobody's business; the file name is enough.
    return redact(error.replace(str(live.path), live.path.name))
