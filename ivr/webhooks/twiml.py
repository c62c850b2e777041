"""Voice renderer: turn the engine's Turn into TwiML with twilio's VoiceResponse objects."""

from __future__ import annotations

import re
from collections.abc import Callable

from twilio.twiml.voice_response import VoiceResponse

from ..conversation import callback_flow
from ..conversation.engine import Gather, Turn, speech_hints
from ..model.menu import Menu


def render(turn: Turn, menu: Menu, urls: Urls, caller_id: str | None) -> str:
    """The TwiML document for `turn`; `urls` builds the webhook addresses that carry the call state."""
    response = VoiceResponse()
    for language, voice, sentence in turn.notices:  # another language's notice, in its own voice
        response.say(sentence, voice=voice, language=language)
    for line in turn.say:
        _say(response, line, menu)
    if turn.gather is not None and turn.gather.node in callback_flow.NODES:
        _keypad_gather(response, turn, menu, urls)
    elif turn.gather is not None:
        with response.gather(
            input="dtmf speech",
            hints=", ".join(speech_hints(menu, turn.gather.node)),
            language=menu.language,
            speech_timeout="auto",
            num_digits=1,
            timeout=menu.key_timeout,
            finish_on_key="",  # so '#' arrives as a key ("not an option") rather than as silence
            action=urls.keys(turn.gather),
            method="POST",
        ) as gather:
            for language, voice, sentence in turn.offers:  # in the other language's own voice
                gather.say(sentence, voice=voice, language=language)
            if turn.prompt:
                _say(gather, " ".join(turn.prompt), menu)
        # Reached only when the caller pressed nothing before the timeout.
        response.redirect(urls.silence(turn.gather), method="POST")
    elif turn.prompt:
        _say(response, " ".join(turn.prompt), menu)
    if turn.dial:
        dial_kwargs = {"caller_id": caller_id} if caller_id else {}
        dial = response.dial(timeout=menu.dial_timeout, action=urls.dial_ended(), method="POST",
                             **dial_kwargs)
        dial.number(turn.dial)
    if turn.record is not None:
        _record(response, turn, urls)
    if turn.hangup:
        response.hangup()
    return response.to_xml()


def _keypad_gather(response: VoiceResponse, turn: Turn, menu: Menu, urls: Urls) -> None:
    """A Gather of keys only, for the callback flow: one key, or ten digits ended by # or the tenth."""
    gather = turn.gather
    entry = gather.digits > 1
    with response.gather(input="dtmf", num_digits=gather.digits, timeout=menu.key_timeout,
                         finish_on_key="#" if entry else "", action=urls.keys(gather),
                         method="POST") as listening:
        if turn.prompt:
            _say(listening, " ".join(turn.prompt), menu)
    response.redirect(urls.silence(gather), method="POST")


def _record(response: VoiceResponse, turn: Turn, urls: Urls) -> None:
    """The family's message: at most the set seconds, # to finish, a beep first; the recording is
    attached by its status callback. With no audio Twilio skips the action and goes on to the
    Redirect, so silence or a hang-up before the tone still ends at "what happens next"."""
    record = turn.record
    extra = {"transcribe": True} if record.transcribe else {}
    response.record(max_length=record.max_seconds, finish_on_key="#", play_beep=True,
                    action=urls.callback_done(record.texted), method="POST",
                    recording_status_callback=urls.recording(record.request, record.may_replace,
                                                             record.asked),
                    recording_status_callback_method="POST",
                    recording_status_callback_event="completed", **extra)
    response.redirect(urls.callback_done(record.texted), method="POST")


def _say(parent, text: str, menu: Menu) -> None:
    """A <Say> of `text`, with the menu's pronunciations as SSML <sub> or <phoneme> around the words
    a voice would get wrong."""
    pattern = _lexicon(menu)
    say = parent.say(None if pattern else text, voice=menu.voice, language=menu.language)
    if pattern is None:
        return
    # split() with one group alternates plain text and matched words: text, word, text, ...
    for index, piece in enumerate(pattern.split(text)):
        if index % 2 == 0:
            if piece:
                say.nest(piece)
            continue
        spelled = menu.pronunciations[piece.lower()]
        if spelled.ipa:
            say.phoneme(piece, alphabet="ipa", ph=spelled.ipa)
        else:
            say.sub(piece, alias=spelled.alias)


def _lexicon(menu: Menu) -> re.Pattern | None:
    return menu.remembered("lexicon", lambda: _words_spelled_out(menu))


def _words_spelled_out(menu: Menu) -> re.Pattern | None:
    if not menu.pronunciations:
        return None
    words = sorted(menu.pronunciations, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


# The query value that records the general-information sentence was said, carried in every later URL.
INFORMED = "info"
# The carrier's attestation of the caller ID (A, B or C), read from the call's first webhook: Twilio
# is only documented to send StirVerstat there, and a caller cannot change the addresses we give.
ATTESTATION = "stir"
# A callback request's state: why it is asked, the keyed number (sealed), the topics listened to,
# whether a confirmation was texted, and the request (for the recording's callback).
WHY, NUMBER, TOPICS, TEXTED, REQUEST = "why", "num", "seen", "sent", "rid"
# In the recording's callback: the ask was the caller's own attested number, so its message may
# replace the request's (Twilio signs the address: a caller cannot add it).
REPLACES = "own"
# ...and when it was asked for, in milliseconds: a callback of an older ask never replaces a newer one.
ASKED = "at"


class Urls:
    """Builds the voice webhook addresses: the node in the path, the retry count in the query.

    `prefix` is the public base address (which may carry a path) or the app's script root; with a
    relative address, Twilio resolves it against the address it just requested.
    `informed`: the general-information sentence has been said on this call (INFORMED in the query).
    `attestation`: the caller ID's SHAKEN/STIR level ("A", "B", "C" or "" for none), kept for the call.
    """

    def __init__(self, prefix: str, url_for: Callable[..., str], script_root: str = "", language: str = "",
                 informed: bool = False, attestation: str = "", topics: tuple[str, ...] = (),
                 seal: Callable[[str], str] | None = None):
        self._prefix = prefix
        self._url_for = url_for
        self._script_root = script_root
        self._language = language  # the call's language, when it is not the line's first one
        self._informed = informed
        self._attestation = attestation
        self._topics = topics  # node ids of the summaries heard, for a callback request
        self._seal = seal  # seals a keyed callback number (never in a URL in clear)

    def _url(self, endpoint: str, **values) -> str:
        if self._language:
            values["lang"] = self._language
        if self._informed:
            values[INFORMED] = "1"
        if self._attestation:
            values[ATTESTATION] = self._attestation
        if self._topics:
            values[TOPICS] = ".".join(self._topics)
        # Query values in name order: Twilio is reported to sort them before requesting the address,
        # and a signature is only checked against the address as it arrives. url_for puts the script
        # root in front; the prefix (public base or that root) replaces it.
        values = dict(sorted(values.items()))
        return self._prefix + self._url_for(endpoint, **values).removeprefix(self._script_root)

    def _gathered(self, gather: Gather) -> dict[str, str]:
        values = {}
        if gather.why:
            values[WHY] = gather.why
        if gather.number:
            if self._seal is None:
                raise ValueError("a callback number can only go in a URL sealed")
            values[NUMBER] = self._seal(gather.number)
        return values

    def keys(self, gather: Gather) -> str:
        """Where Twilio posts the key the caller pressed."""
        return self._url("voice.keys", node=gather.node, tries=gather.tries, **self._gathered(gather))

    def silence(self, gather: Gather) -> str:
        """Where the call goes when the caller pressed nothing."""
        return self._url("voice.silence", node=gather.node, tries=gather.tries, **self._gathered(gather))

    def callback_done(self, texted: bool) -> str:
        """Where the call goes after the callback message (Record's action, and after it)."""
        return self._url("voice.callback_done", **({TEXTED: "1"} if texted else {}))

    def recording(self, request_id: int, may_replace: bool = False, asked: float | None = None) -> str:
        """Twilio's recording status callback for callback request `request_id` (`may_replace`: the
        message may replace one the request has; `asked`: when the request was asked for)."""
        values = {REQUEST: str(request_id), **({REPLACES: "1"} if may_replace else {})}
        if asked is not None:
            values[ASKED] = str(round(asked * 1000))
        return self._url("voice.callback_recording", **values)

    def dial_ended(self) -> str:
        """Where Twilio posts the outcome of the transfer."""
        return self._url("voice.dial_ended")
