"""The line's status: the menu each worker serves, its warnings, the clinician script and the diagram."""

from __future__ import annotations

from flask import render_template

from .auth import role_required
from .views import bp


@bp.get("/status")
@role_required("viewer")
def status():
    return render_template("console/placeholder.html", title="Line status")
