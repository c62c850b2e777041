"""The conversation engine: node + input -> what to say, what to collect, where to go, whom to dial.

It knows nothing of Flask or Twilio; the voice and SMS renderers turn its answers into TwiML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ..model import gsm, reserved
from ..model.emergency import EXACT, PLURALS, TYPOS, language_words, words_of
from ..model.hours import describe_week
from ..model.matching import KeywordMatcher, normalise
from ..model.menu import Menu, Node
from ..model.phone import for_reading, for_speaking

# The engine's own nodes for "scheduling did not answer" and "scheduling is closed"; menus.yaml ids
# cannot start with "_".
UNAVAILABLE = "_unavailable"
CLOSED = "_closed"
UNAVAILABLE_REPEAT_KEY = "1"
# At a summary (which has no choices of its own): send it to me by text.
TEXT_ME_KEY = "1"
# While scheduling is closed: text me the number.
TEXT_NUMBER_KEY = "2"
# "send_word": the line will not text this caller now (their caller ID is not attested, or the line
# sent its share of texts), so it says which word to text instead: an inbound text proves the number.
TEXT_OUTCOMES = ("sent", "already_sent", "not_possible", "opted_out", "not_sent", "send_word")
TEXT_PHRASES = ("text_me_key",) + tuple(f"text_{outcome}" for outcome in TEXT_OUTCOMES)
# Below this, Twilio's speech recogniser is guessing: ask again rather than act on a guess.
SPEECH_CONFIDENCE = 0.5
# Callback requests: the key that asks for one where scheduling cannot answer (closed, unavailable,
# and the last offer before goodbye), and the engine's node for that last offer.
CALLBACK_KEY = "3"
LAST_OFFER = "_last_offer"
# The line's own messages where key 3 asks for a callback (when the line takes requests).
CALLBACK_OFFERS = (CLOSED, UNAVAILABLE, LAST_OFFER)
# Why a family asks to be called back, as the queue keeps it (ivr/storage/callbacks.py REASONS).
CALLBACK_REASONS = ("closed", "busy", "no_answer", "failed", "retries", "text")
# A failed transfer's DialCallStatus -> the reason of a callback asked for after it (else: failed).
DIAL_REASONS = {"busy": "busy", "no-answer": "no_answer"}
# Every sentence the callback flow says or texts: callbacks are offered only with all of them.
CALLBACK_PHRASES = ("callback_key", "callback_own_number", "callback_enter_number", "callback_read_back",
                    "callback_bad_number", "callback_message", "callback_thanks", "callback_next_open",
                    "callback_soon", "callback_from", "callback_texted", "callback_full",
                    "callback_failed", "sms_help_callback")
# Dial outcomes after which the caller has finished (or hung up) and nothing more is said.
DIAL_FINISHED = frozenset({"completed", "canceled"})
SMS_MAX_SEGMENTS = 2
# A second language gets four: Spanish needs á, í, ó and ú, which put the whole text in UCS-2 (67
# characters a segment instead of 153), and a faithful translation is longer than the English.
TRANSLATION_SMS_MAX_SEGMENTS = 4
# Every DialCallStatus Twilio sends.
DIAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


@dataclass(frozen=True)
class Gather:
    """Listen for one key at `node`; `tries` counts the caller's failed attempts there so far.
    In a callback request: `why` it is asked (one of CALLBACK_REASONS), `number` a keyed number
    being confirmed (the renderer seals it), `digits` how many keys to collect (10 for a number)."""

    node: str
    tries: int = 0
    why: str = ""
    number: str = ""
    digits: int = 1


@dataclass(frozen=True)
class CallbackAsk:
    """The caller has chosen the number to call back: record the request."""

    number: str  # E.164
    verified: bool  # the carrier attested it is the caller's own (a keyed number is not)
    reason: str


@dataclass(frozen=True)
class Record:
    """Record the caller's message for callback request `request` (Twilio's <Record>)."""

    request: int
    texted: bool  # a confirmation text was sent (said after the message)
    max_seconds: int
    transcribe: bool = False
    # The ask's number is the caller's own, attested: only then may its message replace one the
    # request already has (carried in the status callback's address, which Twilio signs).
    may_replace: bool = False
    asked: float | None = None  # when it was asked for: a callback of an older ask never replaces it


@dataclass(frozen=True)
class Turn:
    """What the line does next on a call, in order: say, prompt while listening, dial or hang up."""

    say: tuple[str, ...] = ()  # said in full; keys pressed meanwhile are not heard
    prompt: tuple[str, ...] = ()  # said while listening, so a caller may answer early
    gather: Gather | None = None
    dial: str | None = None  # E.164 number to put the caller through to
    hangup: bool = False
    send_text: str | None = None  # the node whose summary the caller asked to get by text
    offers: tuple[tuple[str, str, str], ...] = ()  # (language, voice, sentence) said before the prompt
    notices: tuple[tuple[str, str, str], ...] = ()  # (language, voice, sentence) said in full first
    switch_language: str | None = None  # the caller chose this language: start again in it
    switch_node: str | None = None  # ...at this node instead (the caller named it in that language)
    start_callback: str | None = None  # the caller asked to be called back, for this reason
    callback: CallbackAsk | None = None  # the number is chosen: record the request
    record: Record | None = None  # record a message after what is said


@dataclass(frozen=True)
class Reply:
    """What the line texts back (None: nothing), and the menu a number sent next refers to."""

    text: str | None
    menu: str | None
    encoding: gsm.Encoding | None = None


# -- filling in names and numbers -----------------------------------------------------------------

def spoken(menu: Menu, text: str, **extra: str) -> str:
    """`text` with {name} and phone names filled in for the ear."""
    return _fill(menu, text, for_speaking, extra)


def written(menu: Menu, text: str, **extra: str) -> str:
    """`text` with {name} and phone names filled in for a text message."""
    return _fill(menu, text, for_reading, extra)


_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def _fill(menu: Menu, text: str, number_format, extra: dict[str, str]) -> str:
    numbers = {name: number_format(number) for name, number in menu.phones.items()}
    # A value ending in an abbreviation ("5 p. m.") before the phrase's own full stop: one stop.
    return _DOUBLE_STOP.sub(".", text.format_map({"name": menu.name, **numbers, **extra}))


# -- voice ----------------------------------------------------------------------------------------

def start_call(menu: Menu) -> Turn:
    """The start of every call: greeting and emergency notice in full, then the first menu."""
    first = menu.nodes[menu.start]
    prompt = [spoken(menu, first.say)] if first.say else []
    prompt += _option_lines(menu, first)
    prompt.append(spoken(menu, menu.phrases["keys_intro"]))
    return Turn(
        say=(spoken(menu, menu.greeting), spoken(menu, menu.emergency)),
        prompt=tuple(prompt),
        gather=Gather(first.id),
        offers=menu.offers,
    )


def translation(menu: Menu, language: str | None) -> Menu:
    """The line in `language` (a code such as es-US), or `menu` itself when it has no such translation."""
    return menu.translations.get(language or "", menu)


def language_choice(menu: Menu, body: str) -> str | None:
    """The language a text asks for (ESPAÑOL, SPANISH, ENGLISH), as a code of this line, or None."""
    words = normalise(body).split()
    named = [reserved.LANGUAGE_WORDS[w] for w in words if w in reserved.LANGUAGE_WORDS]
    if len(named) != 1 or any(w not in reserved.LANGUAGE_WORDS and w not in reserved.LANGUAGE_FILLERS
                              for w in words):
        return None
    return _language_code(menu, named[0])


def help_language(menu: Menu, body: str) -> str | None:
    """The language of a help word that implies one (AYUDA: Spanish), as a code of this line."""
    return _language_code(menu, reserved.HELP_LANGUAGES.get(normalise(body)))


def _language_code(menu: Menu, wanted: str | None) -> str | None:
    if wanted is None:
        return None
    if menu.language.startswith(wanted):
        return menu.language
    return next((code for code in menu.translations if code.startswith(wanted)), None)


def text_turn(menu: Menu, body: str, language: str | None, last_menu: str | None) -> tuple[Reply, str | None]:
    """One text of a conversation held in `language` (None: the line's first): the reply, and the
    conversation's language afterwards. ESPAÑOL and ENGLISH switch it; a text in another language
    sets it: a help word or greeting (AYUDA, HOLA, BUENOS DÍAS), or, while the conversation is in the
    line's first language, a keyword only another language has (BOMBA, CITA). A keyword both have
    (BACLOFEN, BOTOX) keeps the conversation's language, and so does a chosen language."""
    chosen = language_choice(menu, body)
    if chosen is not None:
        return menu_reply(translation(menu, chosen)), chosen
    current = translation(menu, help_language(menu, body) or greeting_language(menu, body) or language)
    named_in = keyword_language(menu, body, current)
    if named_in is not None and not current.is_translation:
        current = translation(menu, named_in)
    elif named_in is None and not current.is_translation:
        # "mi hijo no respira": the rest of the conversation in the language the family wrote in.
        current = emergency_language(current, body) or current
    matcher = translation(menu, named_in).matcher if named_in else None
    return emergency_first(current, body, text_in(current, body, last_menu, matcher)), current.language


def greeting_language(menu: Menu, body: str) -> str | None:
    """The language of the greeting a text starts with (HOLA, BUENOS DÍAS: Spanish), as a code of
    this line, or None."""
    return _language_code(menu, _greeting(normalise(body))[0])


def _greeting(words: str) -> tuple[str | None, str]:
    """The language of the greeting `words` start with, and the words after it."""
    for phrase in sorted(reserved.GREETING_LANGUAGES, key=len, reverse=True):  # "buenas tardes" first
        if words == phrase or words.startswith(phrase + " "):
            return reserved.GREETING_LANGUAGES[phrase], words[len(phrase):].strip()
    return None, words


def _only_greetings(words: str) -> bool:
    """Whether `words` are greetings and nothing else ("hola buenos dias")."""
    language, rest = _greeting(words)
    while language is not None and rest:
        language, rest = _greeting(rest)
    return language is not None


def keyword_language(menu: Menu, words: str, current: Menu) -> str | None:
    """The language whose keywords best name what `words` ask for: the one whose keyword covers
    most of them, `current` on a tie ("botox"); keywords as written before forgiven typos, so
    "inyeccion" is Spanish, not a slip of "injection". None when no language's keywords name one
    topic (none, or two: "botox and casting")."""
    if not menu.translations or normalise(words).isdigit():
        return None
    candidates = [current, *(m for m in (menu, *menu.translations.values()) if m is not current)]
    # Most words named; then the language more of the other words belong to ("inyección de botox");
    # the first of equals: current.
    best = max(candidates, key=lambda m: (m.matcher.words_named(words), language_words(words, m.language)))
    if best.matcher.words_named(words):
        return best.language if best.matcher.match(words, typos=False) else None
    # A whole-message slip ("baclofin", "bonba"): the language of the closest keyword, current on a tie.
    slips = [(slip, m.language) for m in candidates if (slip := m.matcher.slip(words)) is not None]
    return min(slips, key=lambda found: found[0])[1] if slips else None


def emergency_first(menu: Menu, body: str, reply: Reply) -> Reply:
    """`reply` with the emergency notice first when `body` sounds like an emergency, in the language
    whose phrases it contains (a Spanish text gets the Spanish notice in an English conversation)."""
    found = emergency_language(menu, body)
    if found is None or reply.text is None:  # no reply at all to opt-out words
        return reply
    short = gsm.to_gsm(written(menu, menu.phrases["sms_menu_emergency"]))
    rest = [line for line in reply.text.split("\n") if line != short]  # said better by the notice
    return _reply("\n".join([written(found, found.phrases["sms_emergency"]), *rest]), reply.menu)


def menu_reply(menu: Menu) -> Reply:
    """The texted first menu of `menu`."""
    return _menu_reply(menu, menu.start)


def enter(menu: Menu, node_id: str, say: tuple[str, ...] = ()) -> Turn:
    """Present a node from its beginning: a menu's choices, a summary, or a transfer."""
    node = menu.nodes.get(node_id) or menu.nodes[menu.start]
    if node.type == "transfer":
        return Turn(say=say + (spoken(menu, node.say),), dial=node.dial)
    body = (spoken(menu, node.say),) if node.say else ()
    return Turn(say=say, prompt=body + _choices(menu, node), gather=Gather(node.id),
                offers=_offers(menu, node))


def transfer(menu: Menu, say: tuple[str, ...] = ()) -> Turn:
    """Put the caller through to the operator (the scheduling line)."""
    return enter(menu, menu.operator, say)


def press(menu: Menu, node_id: str, digits: str, tries: int = 0, reason: str = "",
          callbacks: bool = False) -> Turn:
    """The caller pressed `digits` while listening at `node_id`; `reason` is why scheduling could
    not answer (the unavailable message's), `callbacks` whether the line takes callback requests."""
    callbacks = callbacks and offers_callbacks(menu)
    if node_id == LAST_OFFER:
        return _press_last_offer(menu, digits, callbacks)
    if node_id == UNAVAILABLE:
        return _press_unavailable(menu, digits, tries, reason, callbacks)
    if node_id == CLOSED and menu.hours is not None:
        return _press_closed(menu, digits, tries, callbacks)
    node = menu.nodes.get(node_id)
    if node is None:  # a stale or forged URL: start again rather than fail
        return enter(menu, menu.start)
    if not digits:
        return silence(menu, node_id, tries)
    if digits == reserved.OPERATOR_KEY:
        return transfer(menu)
    if digits == reserved.LANGUAGE_KEY and node.id == menu.start and menu.translations:
        return Turn(switch_language=next(iter(menu.translations)))
    if digits == reserved.BACK_KEY:
        return enter(menu, node.parent or menu.start)
    if digits == reserved.REPEAT_KEY:
        return enter(menu, node.id)
    option = node.option(digits)
    if option is not None:
        return enter(menu, option.target)
    if digits == TEXT_ME_KEY and node.type == "summary" and _offers_text(menu, node):
        return Turn(send_text=node.id)  # the adapter sends it, then asks text_result what to say
    return _retry(menu, node, tries, menu.phrases["invalid_key"])


def text_result(menu: Menu, node_id: str, outcome: str, callbacks: bool = False) -> Turn:
    """What to say after trying to text `node_id`'s summary: `outcome` is one of TEXT_OUTCOMES."""
    said = spoken(menu, menu.phrases.get(f"text_{outcome}") or menu.phrases.get("text_not_sent", ""),
                  keyword=texting_word(menu, node_id))
    if node_id == menu.operator and menu.hours is not None:  # the number, texted while closed
        return closed(menu, say=(said,), callbacks=callbacks)
    node = menu.nodes.get(node_id) or menu.nodes[menu.start]
    return Turn(prompt=(said,) + _choices(menu, node), gather=Gather(node.id))


def texting_word(menu: Menu, node_id: str) -> str:
    """The word a caller can text to get `node_id`'s text: its first keyword in the menu's language,
    in capitals ("PUMP", "BOMBA"); MENU for a node with none."""
    node = menu.nodes.get(node_id)
    if node is None or not node.keywords:
        return "MENU"
    # A word other languages also have (BOTOX, VALIUM) would start the conversation in the line's
    # first language: the first keyword that is only this language's, if there is one.
    elsewhere = {normalise(kw) for other in menu.other_languages
                 for n in other.nodes.values() for kw in n.keywords}
    own = [kw for kw in node.keywords if normalise(kw) not in elsewhere]
    return (own or node.keywords)[0].upper()


def texted_summary(menu: Menu, node_id: str) -> str:
    """The text message for "text me this": the summary with how to get the menu and the number."""
    return node_reply(menu, node_id, None).text or ""


def _offers_text(menu: Menu, node: Node) -> bool:
    # A summary, or the scheduling number while the line is closed.
    if node.type == "transfer" and not menu.phrases.get("text_number_key"):
        return False
    return node.type in ("summary", "transfer") and offers_texts(menu)


def heard(menu: Menu, node_id: str, speech: str, confidence: float | None, tries: int = 0, *,
          notice: bool = True, reason: str = "", callbacks: bool = False) -> Turn:
    """The caller said `speech` (Twilio's SpeechResult, with its Confidence if given) at `node_id`.

    Words are matched with the same keywords as texts; a name of any node takes the caller there.
    Words that sound like an emergency are answered with the emergency notice first, whatever else.
    """
    if notice and (alarmed_in := emergency_language(menu, speech)) is not None:
        then = heard(menu, node_id, speech, confidence, tries, notice=False, reason=reason,
                     callbacks=callbacks)
        if node_id == menu.start and not menu.is_translation and alarmed_in is not menu \
                and not then.switch_language:
            # "no respira" at the first menu: the rest of the call in Spanish, its notice first.
            return Turn(switch_language=alarmed_in.language, switch_node=menu.start)
        return _before(_notice(menu, alarmed_in), then)
    words = normalise(speech)
    sure = confidence is None or confidence >= SPEECH_CONFIDENCE
    node = menu.nodes.get(node_id)
    if node is None:  # the line's own messages (scheduling unavailable or closed), or a stale URL
        own = node_id in (UNAVAILABLE, CLOSED)
        if node_id == LAST_OFFER:
            return _press_last_offer(menu, "", False)
        if not own:
            return enter(menu, menu.start)
        callbacks = callbacks and offers_callbacks(menu)
        if sure and words in reserved.REPEAT_WORDS:
            return closed(menu, callbacks=callbacks) if node_id == CLOSED \
                else _unavailable(menu, 0, reason=reason, callbacks=callbacks)
        if sure and (words in reserved.MENU_WORDS or words in reserved.BACK_WORDS):
            return enter(menu, menu.start)
        target = menu.matcher.match(speech) if sure and words else None
        if target == menu.operator:
            return transfer(menu)
        if target is not None:
            return enter(menu, target)
        return _own_node_retry(menu, node_id, tries, "not_understood", reason, callbacks)
    if sure and words:
        first = node.id == menu.start
        wanted = (language_choice(menu, speech) or greeting_language(menu, speech)) if first else None
        if wanted not in (None, menu.language):
            return Turn(switch_language=wanted)  # "español" (or "hola") at the first menu, like key 8
        named_in = keyword_language(menu, speech, menu) if first and not menu.is_translation else None
        if named_in not in (None, menu.language):  # "bomba" at the first menu: that topic, in Spanish
            return Turn(switch_language=named_in,
                        switch_node=translation(menu, named_in).matcher.match(speech))
        if words in reserved.MENU_WORDS:
            return enter(menu, menu.start)
        if words in reserved.BACK_WORDS:
            return enter(menu, node.parent or menu.start)
        if words in reserved.REPEAT_WORDS:
            return enter(menu, node.id)
        target = menu.matcher.match(speech)
        if target is not None:
            return enter(menu, target)
    return _retry(menu, node, tries, menu.phrases["not_understood"])


def emergency_language(menu: Menu, words: str) -> Menu | None:
    """The line in the language whose emergency phrases `words` contain, or None when they sound like
    no emergency. A phrase written exactly beats a plural, and a plural a forgiven slip ("emergencia"
    is Spanish, not a slip of "emergency"); between languages that both have it ("convulsion"), the
    one more of the other words belong to; then the call's or conversation's own language."""
    languages = (menu, *menu.other_languages)
    message = words_of(words)  # split once, for every language and leeway
    for leeway in (EXACT, PLURALS, TYPOS):
        found = [m for m in languages if m.emergency_phrases.found(message, leeway) is not None]
        if found:
            return max(found, key=lambda m: language_words(words, m.language))  # first of equals
    return None


def emergency_turn(menu: Menu, speech: str) -> Turn | None:
    """The spoken emergency notice, in the language of the words that sounded like one, or None."""
    found = emergency_language(menu, speech)
    return None if found is None else _notice(menu, found)


def _notice(menu: Menu, found: Menu) -> Turn:
    """The emergency notice in `found`'s language, on a call held in `menu`'s: said in the call's
    voice, or as a notice in the other language's own voice."""
    if found is menu:
        return Turn(say=(spoken(menu, menu.emergency),))
    return Turn(notices=((found.language, found.voice, spoken(found, found.emergency)),))


def _before(first: Turn, then: Turn) -> Turn:
    """`then`, with what `first` says in full put in front of what it says."""
    return replace(then, notices=first.notices + then.notices, say=first.say + then.say)


def with_general_info(menu: Menu, turn: Turn) -> Turn:
    """`turn` with the general-information sentence after its summary, if it presents a summary
    (said once per call: the adapter keeps whether it has been said)."""
    node = menu.nodes.get(turn.gather.node) if turn.gather else None
    sentence = menu.phrases.get("general_info")
    if node is None or node.type != "summary" or not sentence or not turn.prompt \
            or turn.prompt[0] != spoken(menu, node.say):
        return turn
    return replace(turn, prompt=(turn.prompt[0], spoken(menu, sentence), *turn.prompt[1:]))


def switched(menu: Menu, node_id: str | None = None) -> Turn:
    """The call goes on in `menu`'s language: from its start, greeting and emergency notice
    included; or, when the caller named a topic in that language, its emergency notice and then
    that topic."""
    if node_id not in menu.nodes:
        return start_call(menu)
    return enter(menu, node_id, say=(spoken(menu, menu.emergency),))


def silence(menu: Menu, node_id: str, tries: int = 0, reason: str = "", callbacks: bool = False) -> Turn:
    """The caller pressed nothing before the timeout at `node_id`."""
    if node_id == LAST_OFFER:
        return _press_last_offer(menu, "", False)
    if node_id in (UNAVAILABLE, CLOSED):
        return _own_node_retry(menu, node_id, tries, "no_input", reason, callbacks and offers_callbacks(menu))
    node = menu.nodes.get(node_id)
    if node is None:
        return enter(menu, menu.start)
    return _retry(menu, node, tries, menu.phrases["no_input"])


def dial_ended(menu: Menu, status: str, callbacks: bool = False) -> Turn:
    """The transfer ended with Twilio's DialCallStatus `status`."""
    if status in DIAL_FINISHED:
        return Turn(hangup=True)
    return _unavailable(menu, 0, reason=DIAL_REASONS.get(status, "failed"),
                        callbacks=callbacks and offers_callbacks(menu))


def failed(menu: Menu, at_start: bool = False) -> Turn:
    """Something broke inside the line: apologise, give the emergency notice, put the caller through.
    `at_start`: before the caller could choose a language, so every language's notice is given."""
    turn = transfer(menu, say=(spoken(menu, menu.phrases["voice_error"]), spoken(menu, menu.emergency)))
    if not at_start:
        return turn
    others = tuple((m.language, m.voice, spoken(m, m.emergency)) for m in menu.other_languages)
    return replace(turn, notices=others)


def _retry(menu: Menu, node: Node, tries: int, apology: str) -> Turn:
    said = (spoken(menu, apology),)
    if tries + 1 > menu.no_input_retries:
        return transfer(menu, say=said)
    return Turn(prompt=said + _choices(menu, node), gather=Gather(node.id, tries + 1),
                offers=_offers(menu, node))


def _offers(menu: Menu, node: Node) -> tuple[tuple[str, str, str], ...]:
    # Every time the first menu is said, a caller who needs another language hears the offer again.
    return menu.offers if node.id == menu.start else ()


def _option_lines(menu: Menu, node: Node) -> list[str]:
    template = menu.phrases["option"]
    return [spoken(menu, template, title=menu.nodes[o.target].title, key=o.key) for o in node.options]


def _choices(menu: Menu, node: Node) -> tuple[str, ...]:
    """The keys a caller can press at `node`, said after its body."""
    phrases = menu.phrases
    if node.type == "menu":
        lines = _option_lines(menu, node)
    else:
        lines = [spoken(menu, phrases["text_me_key"])] if _offers_text(menu, node) else []
        lines.append(spoken(menu, phrases["repeat_key"]))
    if node.id != menu.start:
        parent = menu.nodes[node.parent or menu.start]
        lines.append(spoken(menu, phrases["back_key"], title=parent.label))
    lines.append(spoken(menu, phrases["operator_key"]))
    return tuple(lines)


def _unavailable(menu: Menu, tries: int, say: tuple[str, ...] = (), reason: str = "failed",
                 callbacks: bool = False) -> Turn:
    number = for_speaking(menu.operator_number)
    prompt = (spoken(menu, menu.phrases["unavailable"], number=number),
              *_callback_offer(menu, callbacks), spoken(menu, menu.phrases["unavailable_keys"]))
    # The reason is kept only where a callback can be asked for, so it changes no state otherwise.
    return Turn(say=say, prompt=prompt, gather=Gather(UNAVAILABLE, tries, why=reason if callbacks else ""))


def _press_unavailable(menu: Menu, digits: str, tries: int, reason: str, callbacks: bool) -> Turn:
    if digits in (UNAVAILABLE_REPEAT_KEY, reserved.REPEAT_KEY):
        return _unavailable(menu, 0, reason=reason, callbacks=callbacks)
    if digits == CALLBACK_KEY and callbacks:
        return Turn(start_callback=reason if reason in CALLBACK_REASONS else "failed")
    if digits == reserved.OPERATOR_KEY:
        return transfer(menu)
    if digits == reserved.BACK_KEY:
        return enter(menu, menu.start)
    return _own_node_retry(menu, UNAVAILABLE, tries, "invalid_key" if digits else "no_input", reason,
                           callbacks)


def goodbye(menu: Menu, say: tuple[str, ...] = ()) -> Turn:
    """Say `say`, then goodbye, and hang up."""
    return Turn(say=(*say, spoken(menu, menu.phrases["goodbye"])), hangup=True)


def offers_texts(menu: Menu) -> bool:
    """Whether the menu offers texts at all ("text me this": every text_ phrase)."""
    return all(menu.phrases.get(p) for p in TEXT_PHRASES)


def offers_callbacks(menu: Menu) -> bool:
    """Whether `menu` has every sentence of the callback flow (the line must take requests too)."""
    return all(menu.phrases.get(p) for p in CALLBACK_PHRASES)


def _callback_offer(menu: Menu, callbacks: bool) -> tuple[str, ...]:
    return (spoken(menu, menu.phrases["callback_key"]),) if callbacks else ()


def _press_last_offer(menu: Menu, digits: str, callbacks: bool) -> Turn:
    """The last offer before goodbye: 3 asks for a call back, anything else (or nothing) ends the call."""
    if digits == CALLBACK_KEY and callbacks:
        return Turn(start_callback="retries")
    return goodbye(menu)


def speech_hints(menu: Menu, node_id: str | None = None) -> tuple[str, ...]:
    """The words a caller may say at `node_id`, to help Twilio's recogniser (Gather hints); at the
    first menu also the other languages' keywords, since saying one there switches the call."""
    words = [kw for node in menu.nodes.values() for kw in node.keywords]
    if node_id == menu.start:
        words += [kw for other in menu.translations.values() for node in other.nodes.values()
                  for kw in node.keywords]
    spanish = menu.language.startswith("es")
    line_words = ["menu principal", "regresar", "repetir"] if spanish else ["menu", "back", "repeat"]
    if menu.translations:
        line_words.append("spanish")
    return tuple(dict.fromkeys(words + line_words))


def closed(menu: Menu, say: tuple[str, ...] = (), tries: int = 0, callbacks: bool = False) -> Turn:
    """Instead of a transfer while the scheduling line is closed: its hours and its number."""
    if menu.hours is None:  # hours were taken out of menus.yaml during the call: always open now
        return transfer(menu, say)
    text = spoken(menu, menu.phrases["closed"], hours=describe_week(menu.hours, menu.language),
                  number=for_speaking(menu.operator_number))
    offer = (spoken(menu, menu.phrases["text_number_key"]),) \
        if _offers_text(menu, menu.nodes[menu.operator]) else ()
    callback = _callback_offer(menu, callbacks and offers_callbacks(menu))
    return Turn(say=say, prompt=(text, *offer, *callback, spoken(menu, menu.phrases["closed_keys"])),
                gather=Gather(CLOSED, tries))


def instead_of_transfer(menu: Menu, turn: Turn, callbacks: bool = False) -> Turn:
    """`turn` with its transfer replaced by the closed message; what was said before it is kept."""
    hold = spoken(menu, menu.nodes[menu.operator].say)
    return closed(menu, say=tuple(line for line in turn.say if line != hold), callbacks=callbacks)


def _press_closed(menu: Menu, digits: str, tries: int, callbacks: bool) -> Turn:
    if digits in (UNAVAILABLE_REPEAT_KEY, reserved.REPEAT_KEY):
        return closed(menu, callbacks=callbacks)
    if digits == TEXT_NUMBER_KEY and _offers_text(menu, menu.nodes[menu.operator]):
        return Turn(send_text=menu.operator)  # the operator's text is its number
    if digits == CALLBACK_KEY and callbacks:
        return Turn(start_callback="closed")
    if digits == reserved.OPERATOR_KEY:
        return transfer(menu)  # put through if the line has opened meanwhile, else closed again
    if digits == reserved.BACK_KEY:
        return enter(menu, menu.start)
    return _own_node_retry(menu, CLOSED, tries, "invalid_key" if digits else "no_input", "closed",
                           callbacks)


def _own_node_retry(menu: Menu, node_id: str, tries: int, apology: str, reason: str = "failed",
                    callbacks: bool = False) -> Turn:
    # Rather than transfer to a line that failed or is closed, say the number again, then goodbye;
    # a line taking callback requests offers one last time before it.
    said = (spoken(menu, menu.phrases[apology]),)
    if tries + 1 > menu.no_input_retries:
        if callbacks:
            return Turn(say=said, prompt=_callback_offer(menu, True), gather=Gather(LAST_OFFER))
        return goodbye(menu)
    if node_id == CLOSED:
        return closed(menu, say=said, tries=tries + 1, callbacks=callbacks)
    return _unavailable(menu, tries + 1, say=said, reason=reason, callbacks=callbacks)


# -- SMS ------------------------------------------------------------------------------------------

def text_in(menu: Menu, body: str, last_menu: str | None, matcher: KeywordMatcher | None = None) -> Reply:
    """The reply to a text `body`, given the menu the sender was last shown (None if unknown);
    `matcher` finds keywords instead of `menu`'s own (another language's: the node ids are the same)."""
    words = normalise(body)
    current = last_menu if last_menu in menu.nodes and menu.nodes[last_menu].type == "menu" \
        else menu.start
    if words in reserved.OPT_OUT_WORDS or words in reserved.OPT_IN_WORDS:
        return Reply(None, last_menu)  # Twilio's opt-out handling answers these itself
    if words in reserved.HELP_WORDS:
        return _reply(written(menu, menu.phrases["sms_help"]), last_menu)
    if body.strip() == reserved.BACK_KEY or words in reserved.BACK_WORDS:
        return _menu_reply(menu, menu.nodes[current].parent or menu.start)
    if words in reserved.MENU_WORDS or _only_greetings(words):
        return _menu_reply(menu, menu.start)
    if words.isdigit():
        if words == reserved.OPERATOR_KEY:
            return node_reply(menu, menu.operator, current)
        option = menu.nodes[current].option(words)
        if option is not None:
            return node_reply(menu, option.target, current)
        return _menu_reply(menu, current, not_understood=True)
    target = (matcher or menu.matcher).match(body) if words else None
    if target is not None:
        return node_reply(menu, target, current)
    return _menu_reply(menu, menu.start, not_understood=True)


def text_failed(menu: Menu) -> Reply:
    """The reply when something broke inside the line (the text may have been an emergency: 911 too)."""
    return _reply(written(menu, menu.phrases["sms_error"]) + "\n"
                  + written(menu, menu.phrases["sms_menu_emergency"]), None)


def node_reply(menu: Menu, node_id: str, current: str | None) -> Reply:
    """The text for reaching `node_id`: a menu listing, or a summary with the footer (worked out
    once per loaded menu)."""
    return menu.remembered(("node_reply", node_id, current), lambda: _node_reply(menu, node_id, current))


def _node_reply(menu: Menu, node_id: str, current: str | None) -> Reply:
    node = menu.nodes[node_id]
    if node.type == "menu":
        return _menu_reply(menu, node_id)
    text = written(menu, node.text)
    if node.type == "summary":
        text += "\n" + written(menu, menu.phrases["sms_footer"])
        info = f"{text}\n{written(menu, menu.phrases.get('general_info', ''))}"
        if menu.phrases.get("general_info") and \
                gsm.encoding_of(gsm.to_gsm(info)).segments <= sms_segment_budget(menu):
            text = info  # the safety sentence, where it costs no message more than the budget
    return _reply(text, current)


def sms_segment_budget(menu: Menu) -> int:
    """How many SMS segments a texted reply in `menu`'s language may take (what `ivr check` counts)."""
    return TRANSLATION_SMS_MAX_SEGMENTS if menu.is_translation else SMS_MAX_SEGMENTS


def _menu_reply(menu: Menu, node_id: str, not_understood: bool = False) -> Reply:
    return menu.remembered(("menu_reply", node_id, not_understood),
                           lambda: _reply(_menu_text(menu, node_id, not_understood), node_id))


def _menu_text(menu: Menu, node_id: str, not_understood: bool = False) -> str:
    node = menu.nodes[node_id]
    phrases = menu.phrases
    lines = [written(menu, phrases["sms_not_understood"])] if not_understood else []
    lines.append(written(menu, phrases["sms_menu"]))
    lines.append(written(menu, phrases["sms_menu_emergency"]))
    if node.text:
        lines.append(written(menu, node.text))
    choices = [(o.key, o.target) for o in node.options] + [(reserved.OPERATOR_KEY, menu.operator)]
    lines += [f"{key} {_capitalised(menu.nodes[target].label)}" for key, target in choices]
    lines[-1] += " " + for_reading(menu.operator_number)  # so a family can call without replying
    if node_id == menu.start:
        words = ", ".join(n.keywords[0].upper() for n in menu.nodes.values()
                          if n.keywords and n.type != "menu")
        lines.append(written(menu, phrases["sms_words"], keywords=words))
    else:
        lines.append(written(menu, phrases["sms_back"]))
    return "\n".join(lines)


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def _reply(text: str, menu_id: str | None) -> Reply:
    text = gsm.to_gsm(text)
    return Reply(text, menu_id, gsm.encoding_of(text))


def sms_replies_for_review(menu: Menu) -> Iterator[tuple[str, str]]:
    """Every text the line can send, with where it comes from ("nodes.casting", "phrases.sms_help");
    for a menu, the longer of its two forms (with and without "not understood")."""
    for node_id, node in menu.nodes.items():
        reply = node_reply(menu, node_id, None).text or ""
        if node.type == "menu":
            reply = _menu_text(menu, node_id, not_understood=True)
        yield f"nodes.{node_id}", _reply(reply, None).text
    for phrase in ("sms_help", "sms_error"):
        yield f"phrases.{phrase}", _reply(written(menu, menu.phrases[phrase]), None).text
    if offers_callbacks(menu):
        # Imported here: the callback flow is built on this module.
        from . import callback_flow

        help_reply = _reply(written(menu, menu.phrases["sms_help"]), None)
        yield "phrases.sms_help_callback", callback_flow.help_line(menu, help_reply).text
        # The longest reply to a texted request: with when scheduling opens, if the file has hours.
        yield "phrases.callback_thanks", callback_flow.longest_text_reply(menu)
