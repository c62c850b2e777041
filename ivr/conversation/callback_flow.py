"""The steps of asking for a callback, by phone and by text: which number, its read-back, the message,
and what happens next. Pure, like the engine: the service records the request and sends the text."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..model.hours import describe_opening
from ..model.matching import normalise
from ..model.menu import Menu
from ..model.phone import for_reading, for_speaking, is_textable_caller
from .engine import (
    CLOSED,
    LAST_OFFER,
    SPEECH_CONFIDENCE,
    UNAVAILABLE,
    CallbackAsk,
    Gather,
    Record,
    Reply,
    Turn,
    _reply,
    goodbye,
    spoken,
    written,
)

# The callback flow's own nodes (menus.yaml ids cannot start with "_").
OWN_NUMBER = "_cb_own"  # "we will call you back at the number ending in ..."
ENTER_NUMBER = "_cb_enter"  # key in 10 digits
CONFIRM_NUMBER = "_cb_confirm"  # the keyed number read back
NODES = (OWN_NUMBER, ENTER_NUMBER, CONFIRM_NUMBER)
# Every node the line itself answers at (no menus.yaml node): where scheduling cannot answer, and
# the callback flow.
OWN_NODES = (UNAVAILABLE, CLOSED, LAST_OFFER, *NODES)
USE_KEY, OTHER_KEY = "1", "2"
NUMBER_DIGITS = 10
# Words a text asks to be called back with (the whole text, normalised: no accents, lower case),
# by the language they are in; menus.yaml adds its own under call: callback_words.
BUILT_IN_WORDS = {
    "en": ("call me", "callback", "call back", "call me back", "please call me", "call me please",
           "call back please", "please call me back"),
    "es": ("llamenme", "llameme", "llamame", "llamenme por favor", "por favor llamenme"),
}
_DIGITS = re.compile(r"[0-9]{10}\Z")
# When `ivr check` works out the longest texted reply: a Saturday, so an opening date is a while off.
REVIEW_MOMENT = datetime(2026, 1, 10, 15, 0, tzinfo=timezone.utc)


def is_private(turn: Turn) -> bool:
    """Whether `turn` may hold a family's number (or its last digits) or a request's id: such a turn,
    and its document, is worked out afresh and never kept with the menu."""
    return turn.record is not None or (turn.gather is not None and turn.gather.node in NODES)


def own_number(caller: str, attestation: str) -> str | None:
    """The caller's own number to call back, when it may be used without asking: a US or Canadian
    number the carrier attested (StirVerstat A)."""
    return caller if attestation == "A" and is_textable_caller(caller) else None


def start(menu: Menu, reason: str, own: str | None) -> Turn:
    """The caller asked to be called back (`reason`): offer their own number, or ask for one."""
    if own is None:
        return _enter(menu, reason)
    ending = ", ".join(own[-4:])
    return Turn(prompt=(spoken(menu, menu.phrases["callback_own_number"], digits=ending),),
                gather=Gather(OWN_NUMBER, 0, why=reason))


def _enter(menu: Menu, reason: str, tries: int = 0, say: tuple[str, ...] = ()) -> Turn:
    return Turn(say=say, prompt=(spoken(menu, menu.phrases["callback_enter_number"]),),
                gather=Gather(ENTER_NUMBER, tries, why=reason, digits=NUMBER_DIGITS))


def keyed_number(digits: str) -> str | None:
    """Ten keyed digits as an E.164 number the line can call back (US or Canada), or None."""
    digits = digits.strip()
    if not _DIGITS.match(digits):
        return None
    number = "+1" + digits
    return number if is_textable_caller(number) else None


def press(menu: Menu, node: str, digits: str, tries: int, reason: str, number: str,
          own: str | None) -> Turn:
    """The caller pressed `digits` at one of the flow's nodes. `number` is the keyed number being
    confirmed (from the sealed URL state), `own` the caller's own usable number."""
    if node == OWN_NUMBER:
        if digits == USE_KEY and own is not None:
            return Turn(callback=CallbackAsk(own, True, reason))
        if digits == OTHER_KEY or own is None:
            return _enter(menu, reason)
        return _retry(menu, node, tries, reason, number, own, "invalid_key" if digits else "no_input")
    if node == ENTER_NUMBER:
        keyed = keyed_number(digits)
        if keyed is None:
            apology = "callback_bad_number" if digits else _no_number(menu)
            return _retry(menu, node, tries, reason, "", own, apology)
        return _confirm(menu, reason, keyed)
    if node == CONFIRM_NUMBER:
        if digits == USE_KEY and keyed_number(number[2:]) is not None:
            return Turn(callback=CallbackAsk(number, False, reason))
        if digits == OTHER_KEY or not number:
            return _enter(menu, reason)
        return _retry(menu, node, tries, reason, number, own, "invalid_key" if digits else "no_input")
    return failed(menu)


def silence(menu: Menu, node: str, tries: int, reason: str, number: str, own: str | None) -> Turn:
    """The caller pressed nothing at one of the flow's nodes."""
    apology = _no_number(menu) if node == ENTER_NUMBER else "no_input"
    return _retry(menu, node, tries, reason, number, own, apology)


def _no_number(menu: Menu) -> str:
    # Where a number is asked for, "I did not hear a choice" would puzzle; older files lack the phrase.
    return "callback_no_number" if "callback_no_number" in menu.phrases else "no_input"


def _confirm(menu: Menu, reason: str, number: str, tries: int = 0, say: tuple[str, ...] = ()) -> Turn:
    read_back = spoken(menu, menu.phrases["callback_read_back"], digits=for_speaking(number))
    return Turn(say=say, prompt=(read_back,),
                gather=Gather(CONFIRM_NUMBER, tries, why=reason, number=number))


def _retry(menu: Menu, node: str, tries: int, reason: str, number: str, own: str | None,
           apology: str) -> Turn:
    """Ask again, kindly; after the menu's retries, goodbye with the scheduling number."""
    if tries + 1 > menu.no_input_retries:
        return failed(menu)
    said = (spoken(menu, menu.phrases[apology]),)
    if node == OWN_NUMBER and own is not None:
        turn = start(menu, reason, own)
        return Turn(say=said, prompt=turn.prompt, gather=Gather(OWN_NUMBER, tries + 1, why=reason))
    if node == CONFIRM_NUMBER and number:
        return _confirm(menu, reason, number, tries + 1, said)
    return _enter(menu, reason, tries + 1, said)


def failed(menu: Menu) -> Turn:
    """The request could not be taken (the database, or no usable number): the number, goodbye."""
    return _goodbye(menu, "callback_failed")


def full(menu: Menu) -> Turn:
    """The line has taken all the requests it may this hour or day: the number, goodbye."""
    return _goodbye(menu, "callback_full")


def _goodbye(menu: Menu, phrase: str) -> Turn:
    return goodbye(menu, (spoken(menu, menu.phrases[phrase], number=for_speaking(menu.operator_number)),))


def record(menu: Menu, message: Record) -> Turn:
    """The request is recorded: say so (a caller who hangs up at the tone knows it is kept), the
    emergency notice (nobody listens to the message before the next opening), then record `message`."""
    phrases = menu.phrases
    said = (phrases["callback_thanks"], menu.emergency, phrases["callback_message"])
    return Turn(say=tuple(spoken(menu, line) for line in said), record=message)


def _next_lines(menu: Menu, opening: datetime | None, now: datetime, fill) -> tuple[str, ...]:
    phrases = menu.phrases
    if opening is None:
        when = fill(menu, phrases["callback_soon"])
    else:
        # A text may be read the next day: it names the weekday, never "tomorrow".
        when = fill(menu, phrases["callback_next_open"],
                    when=describe_opening(opening, now, menu.language, relative=fill is spoken))
    return when, fill(menu, phrases["callback_from"])


def what_next(menu: Menu, opening: datetime | None, now: datetime) -> tuple[str, ...]:
    """What happens next, in `menu`'s language: when scheduling is next open (`opening`, from the
    hours; None: the clinic's own words, when it is open now or the file has no hours), and who calls
    (the thanks for the request was said before the message)."""
    return _next_lines(menu, opening, now, spoken)


def done(menu: Menu, opening: datetime | None, now: datetime, texted: bool) -> Turn:
    """After the message (or none): what happens next, then goodbye."""
    said = what_next(menu, opening, now)
    if texted:
        said += (spoken(menu, menu.phrases["callback_texted"]),)
    return goodbye(menu, said)


def confirmation_text(menu: Menu, opening: datetime | None, now: datetime) -> str:
    """The confirmation text, and the reply to a texted request: the same words as the phone, after
    the clinic's name (the family may not know the number it comes from), then the emergency line."""
    lines = (written(menu, menu.phrases["callback_thanks"]), *_next_lines(menu, opening, now, written))
    return (f"{menu.name}: " + " ".join(lines) + "\n"
            + written(menu, menu.phrases["sms_menu_emergency"]))


def text_reply(menu: Menu, opening: datetime | None, now: datetime) -> Reply:
    """The reply to a text asking for a callback: what happens next."""
    return _reply(confirmation_text(menu, opening, now), None)


def longest_text_reply(menu: Menu) -> str:
    """The longest of the texted replies to a request (`ivr check` counts its messages): with a
    far-off opening date, when the file has hours."""
    replies = [confirmation_text(menu, None, REVIEW_MOMENT)]
    if menu.hours is not None:
        opening = menu.hours.next_opening(REVIEW_MOMENT)
        far = opening.replace(day=28, month=9) if opening is not None else None  # "septiembre": long
        replies.append(confirmation_text(menu, far, REVIEW_MOMENT))
    for phrase in ("callback_full", "callback_failed"):
        replies.append(text_refused(menu, phrase).text or "")
    return max((_reply(text, None).text or "" for text in replies), key=len)


def text_refused(menu: Menu, phrase: str) -> Reply:
    """The reply when a texted request cannot be taken (`phrase`: callback_full or callback_failed)."""
    return _reply(written(menu, menu.phrases[phrase], number=for_reading(menu.operator_number)), None)


def words(menu: Menu) -> dict[str, str]:
    """Every whole-text word that asks for a callback in `menu` or its translations -> the language
    code it is in (the built-in ones, and each language's call: callback_words)."""
    def build() -> dict[str, str]:
        found: dict[str, str] = {}
        for language in (menu, *menu.translations.values()):
            own = BUILT_IN_WORDS.get(language.language[:2], ())
            for word in (*own, *language.callback_words):
                found.setdefault(normalise(word), language.language)
        return found

    return menu.remembered("callback_words", build)


def asked_by_text(menu: Menu, body: str) -> str | None:
    """The language code of a text that asks to be called back (CALL ME, LLÁMENME), or None."""
    return words(menu).get(normalise(body))


def asked_by_speech(menu: Menu, speech: str, confidence: float | None) -> bool:
    """Whether words said ("call me back", "llámenme") ask to be called back, in the call's language,
    heard with enough confidence."""
    if confidence is not None and confidence < SPEECH_CONFIDENCE:
        return False
    return words(menu).get(normalise(speech)) == menu.language


def help_line(menu: Menu, reply: Reply) -> Reply:
    """The HELP reply with the line saying how to ask for a callback by text."""
    if reply.text is None:
        return reply
    return _reply(reply.text + "\n" + written(menu, menu.phrases["sms_help_callback"]), reply.menu)
