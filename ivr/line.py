"""What every request handler needs from start-up: the live menu, the settings and the validator."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from twilio.request_validator import RequestValidator

from .live_menu import LiveMenu
from .model.menu import Menu
from .settings import Settings
from .storage import Store
from .webhooks.outbound import TextSender


@dataclass(frozen=True)
class Line:
    """The running line's shared state (kept in app.extensions["ivr"])."""

    live_menu: LiveMenu
    settings: Settings
    validator: RequestValidator
    store: Store
    sender: TextSender | None  # None: no TWILIO_ACCOUNT_SID, so no texts can be sent

    @property
    def menu(self) -> Menu:
        """The menu to answer the current request with (the last good version of menus.yaml)."""
        return self.live_menu.menu


def current_line() -> Line:
    """The Line of the app serving this request."""
    return current_app.extensions["ivr"]
