"""What every request handler needs from start-up: the live menu, the settings and the validator."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from twilio.request_validator import RequestValidator

from .announce import Announcer
from .conversation.service import Conversation
from .live_menu import LiveMenu
from .model.menu import Menu
from .settings import Settings
from .storage import Store
from .webhooks.outbound import TextSender
from .webhooks.sealed import Seal


@dataclass(frozen=True)
class Line:
    """The running line's shared state (kept in app.extensions["ivr"])."""

    live_menu: LiveMenu
    settings: Settings
    validator: RequestValidator
    store: Store
    sender: TextSender | None  # None: no TWILIO_ACCOUNT_SID, so no texts can be sent
    conversation: Conversation  # steps every call and text, with the live clock, texting and events
    # Tells staff of new callback requests (IVR_CALLBACK_NOTIFY); None when it is none.
    announcer: Announcer | None = None
    # Seals a keyed callback number in a call's URLs; None when the line takes no callback requests.
    seal: Seal | None = None

    @property
    def menu(self) -> Menu:
        """The menu to answer the current request with (the published version, or the last good one)."""
        return self.live_menu.menu


def current_line() -> Line:
    """The Line of the app serving this request."""
    return current_app.extensions["ivr"]


class RecorderEvents:
    """The conversation's event sink on the usage recorder: buffered, and never failing a webhook."""

    def __init__(self, recorder):
        self.recorder = recorder

    def record(self, sid: str, kind: str, node: str | None = None, language: str | None = None,
               outcome: str | None = None, value: int | None = None) -> None:
        """Buffer one event for the call or text `sid`."""
        try:
            self.recorder.record(kind, sid[:64], node, language, outcome, value)
        except Exception:  # recording must never fail a webhook
            logging.getLogger("ivr").exception("usage: could not record a %s event", kind)
