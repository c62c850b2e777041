"""Voice renderer: turn the engine's Turn into TwiML with twilio's VoiceResponse objects."""

from __future__ import annotations

from collections.abc import Callable

from twilio.twiml.voice_response import VoiceResponse

from .engine import Gather, Turn, speech_hints
from .menus import Menu


def render(turn: Turn, menu: Menu, urls: Urls, caller_id: str | None) -> str:
    """The TwiML document for `turn`; `urls` builds the webhook addresses that carry the call state."""
    response = VoiceResponse()
    voice = {"voice": menu.voice, "language": menu.language}
    for line in turn.say:
        response.say(line, **voice)
    if turn.gather is not None:
        with response.gather(
            input="dtmf speech",
            hints=", ".join(speech_hints(menu)),
            language=menu.language,
            speech_timeout="auto",
            num_digits=1,
            timeout=menu.key_timeout,
            finish_on_key="",  # so '#' arrives as a key ("not an option") rather than as silence
            action=urls.keys(turn.gather),
            method="POST",
        ) as gather:
            if turn.prompt:
                gather.say(" ".join(turn.prompt), **voice)
        # Reached only when the caller pressed nothing before the timeout.
        response.redirect(urls.silence(turn.gather), method="POST")
    elif turn.prompt:
        response.say(" ".join(turn.prompt), **voice)
    if turn.dial:
        dial_kwargs = {"caller_id": caller_id} if caller_id else {}
        dial = response.dial(timeout=menu.dial_timeout, action=urls.dial_ended(), method="POST",
                             **dial_kwargs)
        dial.number(turn.dial)
    if turn.hangup:
        response.hangup()
    return response.to_xml()


class Urls:
    """Builds the voice webhook addresses: the node in the path, the retry count in the query.

    `prefix` is the public base address (which may carry a path) or the app's script root; with a
    relative address, Twilio resolves it against the address it just requested.
    """

    def __init__(self, prefix: str, url_for: Callable[..., str], script_root: str = ""):
        self._prefix = prefix
        self._url_for = url_for
        self._script_root = script_root

    def _url(self, endpoint: str, **values) -> str:
        # url_for puts the script root in front; the prefix (public base or that root) replaces it.
        return self._prefix + self._url_for(endpoint, **values).removeprefix(self._script_root)

    def keys(self, gather: Gather) -> str:
        """Where Twilio posts the key the caller pressed."""
        return self._url("voice.keys", node=gather.node, tries=gather.tries)

    def silence(self, gather: Gather) -> str:
        """Where the call goes when the caller pressed nothing."""
        return self._url("voice.silence", node=gather.node, tries=gather.tries)

    def dial_ended(self) -> str:
        """Where Twilio posts the outcome of the transfer."""
        return self._url("voice.dial_ended")
