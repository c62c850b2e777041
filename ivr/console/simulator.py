"""The browser phone and texting simulator: the conversation service on the live menu, nothing sent."""

from __future__ import annotations

from flask import render_template

from .auth import role_required
from .views import bp


@bp.get("/phone")
@role_required("viewer")
def phone():
    return render_template("console/placeholder.html", title="Browser phone")


@bp.get("/texting")
@role_required("viewer")
def texting():
    return render_template("console/placeholder.html", title="Texting simulator")
