"""What every request handler needs from start-up: the loaded menu, the settings and the validator."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from twilio.request_validator import RequestValidator

from .menus import Menu
from .settings import Settings


@dataclass(frozen=True)
class Line:
    """The running line's shared, read-only state (kept in app.extensions["ivr"])."""

    menu: Menu
    settings: Settings
    validator: RequestValidator


def current_line() -> Line:
    """The Line of the app serving this request."""
    return current_app.extensions["ivr"]
