"""The shape of menus.yaml, declared once as data: every section, key, type, default and help text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One key of menus.yaml: what it holds, whether it must be there, and what it is for."""

    kind: str  # text | word | int | node | phone | options | keywords | phrases | choice
    help: str
    required: bool = True
    default: object = None
    low: int | None = None  # for int
    high: int | None = None
    choices: tuple[str, ...] = ()  # for choice
    placeholders: tuple[str, ...] = ()  # for text: {names} this text may use besides phone names
    needs: tuple[str, ...] = ()  # for text: {names} this text must use
    fills_names: bool = True  # for text: whether {name}s of phone numbers are filled in


LINE = {
    "name": Field("text", "The clinic's name, as callers hear it and texts show it."),
    "language": Field("word", "Language of the text in this file, for the voice (en-US).",
                      required=False, default="en-US"),
    "voice": Field("word", "Twilio text-to-speech voice, such as Polly.Joanna-Neural.",
                   required=False, default="Polly.Joanna-Neural"),
}

PHONES_HELP = ("Every phone number the line uses, written once and named; text refers to a number "
               "by its name in braces, such as {scheduling}.")

CALL = {
    "greeting": Field("text", "The first thing a caller hears.", placeholders=("name",)),
    "emergency": Field("text", "The emergency notice, said right after the greeting on every call; "
                               "it must tell the caller to dial 9 1 1."),
    "emergency_phrases": Field("phrases", "Words that sound like an emergency in this language, besides the "
                                          "line's built-in list: a text or speech containing one is "
                                          "answered with the emergency notice first. Each phrase "
                                          "matches as a whole, its words in order.",
                               required=False, default=()),
    "callback_words": Field("phrases", "Whole texts that ask to be called back in this language, besides "
                                       "the built-in CALL ME, CALLBACK, CALL BACK, CALL ME BACK and "
                                       "LLÁMENME (only while the line takes callback requests).",
                            required=False, default=()),
    "start": Field("node", "The menu a call (and a first text) starts at."),
    "operator": Field("node", "The transfer node that key 0 reaches from every menu."),
    "no_input_retries": Field("int", "How many times a menu is said again when the caller presses "
                                     "nothing (or a wrong key) before the call goes to the operator.",
                              required=False, default=2, low=0, high=5),
    "key_timeout": Field("int", "Seconds to wait for a key after a prompt ends (3 to 10).",
                         required=False, default=6, low=3, high=10),
    "dial_timeout": Field("int", "Seconds to let the operator's line ring before giving up.",
                          required=False, default=25, low=5, high=60),
}

PHRASES = {
    "option": Field("text", "How each menu choice is said.", placeholders=("title", "key"),
                    needs=("title", "key")),
    "keys_intro": Field("text", "The key convention, said once at the start of every call."),
    "operator_key": Field("text", "Said at the end of every menu and summary: how to reach a person."),
    "back_key": Field("text", "Said in every menu but the first: how to go back.",
                      placeholders=("title",)),
    "repeat_key": Field("text", "Said after a summary: how to hear it again."),
    "no_input": Field("text", "Said when the caller pressed nothing."),
    "invalid_key": Field("text", "Said when the key pressed means nothing in this menu."),
    "not_understood": Field("text", "Said when what the caller said matched no choice, or was unclear."),
    "unavailable": Field("text", "Said when the operator's line is busy, does not answer or fails.",
                         placeholders=("number",), needs=("number",)),
    "unavailable_keys": Field("text", "Choices offered after the unavailable message."),
    "goodbye": Field("text", "Said before the line hangs up.", placeholders=("name",)),
    "voice_error": Field("text", "Said when something went wrong inside the line, before the transfer."),
    "text_me_key": Field("text", "Said after a summary: how to get it by text message (key 1). Leave it "
                                 "out to not offer texts.", required=False),
    "text_number_key": Field("text", "Said in the closed message: how to get the number by text (key 2).",
                             required=False),
    "text_sent": Field("text", "Said when the summary was sent by text.", required=False),
    "text_already_sent": Field("text", "Said when this summary was already texted during this call.",
                               required=False),
    "text_not_possible": Field("text", "Said when the caller's number is hidden, not a number, or cannot "
                                       "get texts.", required=False),
    "text_opted_out": Field("text", "Said when the caller's number asked for no texts (STOP).",
                            required=False),
    "text_not_sent": Field("text", "Said when the text could not be sent now (an error, or no answer).",
                           required=False),
    "text_send_word": Field("text", "Said instead of texting when the caller's number is not confirmed by "
                                    "their carrier, or the line has sent its texts for the hour or day: "
                                    "which {keyword} to text to get it (the node's first keyword, in "
                                    "capitals).", required=False, placeholders=("keyword",),
                            needs=("keyword",)),
    "closed": Field("text", "Said instead of the transfer when the scheduling line is closed (only with "
                            "hours:).", required=False, placeholders=("hours", "number"),
                    needs=("hours", "number")),
    "closed_keys": Field("text", "Choices offered after the closed message (only with hours:).",
                         required=False),
    "callback_key": Field("text", "Said where scheduling cannot answer (closed, busy, no answer, and the "
                                  "last offer before goodbye): how to ask for a call back (key 3). The "
                                  "callback_ phrases are used only while the line takes callback "
                                  "requests (IVR_CALLBACK_KEYS), and only with all of them.",
                          required=False),
    "callback_own_number": Field("text", "Offers the caller's own number: the {digits} it ends in, 1 to use "
                                         "it, 2 to enter another.", required=False,
                                 placeholders=("digits",), needs=("digits",)),
    "callback_enter_number": Field("text", "Asks for the 10-digit number to call back.", required=False),
    "callback_read_back": Field("text", "Reads the keyed number back ({digits}): 1 if right, 2 to enter it "
                                        "again.", required=False, placeholders=("digits",),
                                needs=("digits",)),
    "callback_bad_number": Field("text", "Said when the keys pressed are not a 10-digit US or Canadian "
                                         "number.", required=False),
    "callback_message": Field("text", "Said before the tone: what to say in the message, and pound to "
                                      "finish.", required=False),
    "callback_thanks": Field("text", "Said (and texted) once a callback request is taken.", required=False,
                             placeholders=("name",)),
    "callback_next_open": Field("text", "When scheduling is next open ({when}, from hours:), said and "
                                        "texted after a request.", required=False,
                                placeholders=("when",), needs=("when",)),
    "callback_soon": Field("text", "The clinic's own words for when the call back comes, when "
                                   "scheduling is open now or the file has no hours:.", required=False),
    "callback_from": Field("text", "That the call back comes from the clinic.", required=False,
                           placeholders=("name",)),
    "callback_texted": Field("text", "Said when a confirmation text was sent.", required=False),
    "callback_no_number": Field("text", "Said when nothing was keyed where the phone number is asked for "
                                        "(without it, no_input).", required=False),
    "callback_full": Field("text", "Said (and texted) when the line has taken all the callback requests "
                                   "it may this hour or day, with the scheduling {number}.",
                           required=False, placeholders=("number",), needs=("number",)),
    "callback_failed": Field("text", "Said (and texted) when a callback request could not be taken, with "
                                     "the scheduling {number}.", required=False,
                             placeholders=("number",), needs=("number",)),
    "sms_help_callback": Field("text", "Added to the HELP reply: the word to text to ask for a call back.",
                               required=False),
    "general_info": Field("text", "Said once per call after the first summary, and put at the end of a "
                                  "texted summary where it fits: that this is general information."),
    "sms_emergency": Field("text", "Put first in the reply to a text that sounds like an emergency; it "
                                   "must tell the family to call 911."),
    "sms_menu_emergency": Field("text", "A short line in every texted menu: call 911 in an emergency."),
    "sms_menu": Field("text", "First line of the texted menu.", placeholders=("name",)),
    "sms_words": Field("text", "Last line of the texted main menu: the words a family can text.",
                       placeholders=("keywords",), needs=("keywords",)),
    "sms_back": Field("text", "Last line of a texted menu below the main menu: how to go back."),
    "sms_not_understood": Field("text", "Put before the menu when a text was not understood."),
    "sms_footer": Field("text", "Put after every texted summary.", placeholders=("name",)),
    "sms_help": Field("text", "The reply to HELP or INFO: it must say how to opt out.",
                      placeholders=("name",)),
    "sms_error": Field("text", "The reply when something went wrong inside the line.",
                       placeholders=("name",)),
}

NODE = {
    "type": Field("choice", "menu (choices), summary (information) or transfer (puts the caller "
                            "through to a phone).", choices=("menu", "summary", "transfer")),
    "title": Field("text", "What the node is called in prompts: 'To hear about TITLE, press 1'.",
                   fills_names=False),
    "label": Field("text", "Short name, used in the texted menu and in 'To go back to LABEL, press "
                           "star' (defaults to the title).", required=False, fills_names=False),
    "say": Field("text", "What the caller hears: a summary, a menu's opening line, or what is said "
                         "before a transfer.", required=False, placeholders=("name",)),
    "text": Field("text", "What a texter receives: a summary, a menu's heading, or the reply for a "
                          "transfer node.", required=False, placeholders=("name",)),
    "options": Field("options", "Menus only: key -> node id, such as '1: oral_baclofen'.",
                     required=False),
    "keywords": Field("keywords", "Words a family can text (or later say) to reach this node.",
                      required=False, default=()),
    "dial": Field("phone", "Transfer nodes only: the name of the phone number to dial.",
                  required=False),
}

HOURS = {
    "time_zone": Field("word", "The clinic's time zone, such as America/Kentucky/Louisville.",
                       default="America/Kentucky/Louisville", required=False),
    **{day: Field("hours", f"When the scheduling line is open on {day.title()}: \"08:00-17:00\", "
                           "\"08:00-12:00, 13:00-17:00\" or closed.") for day in
       ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
    "closed_on": Field("dates", "Dates the line is closed all day, such as [2026-12-25].",
                       required=False, default=()),
}

# Which node keys each node type must have, may have, and must not have.
NODE_TYPE_KEYS = {
    "menu": {"required": ("options",), "forbidden": ("dial",)},
    "summary": {"required": ("say", "text"), "forbidden": ("options", "dial")},
    "transfer": {"required": ("say", "text", "dial"), "forbidden": ("options",)},
}

PRONUNCIATIONS_HELP = (
    "How the voice should say words it gets wrong, for each language (such as en-US): "
    "'word: sounds like this' (said instead of the word) or 'word: {ipa: ...}' (the sounds in the "
    "International Phonetic Alphabet). Used on the phone, never in texts.")

TOP = {
    "line": LINE,
    "phones": PHONES_HELP,
    "call": CALL,
    "phrases": PHRASES,
    "nodes": "Every menu, summary and transfer of the line, by id (lower-case letters, digits, _).",
    "pronunciations": PRONUNCIATIONS_HELP,
    "hours": HOURS,
    "languages": (
        "Other languages the line speaks, such as es-US: their voice, the offer said at the start of "
        "every call, and a translation of every greeting, phrase and node text (and keywords); under "
        "call:, the language's own emergency_phrases."),
}
OPTIONAL_SECTIONS = ("pronunciations", "hours", "languages")
# The keys of one language under languages:, and which of them are required.
LANGUAGE_KEYS = {"voice": True, "offer": True, "name": False, "call": True, "phrases": True, "nodes": True,
                 "pronunciations": False}
# The text fields a translation must give wherever the first language has them.
TRANSLATED_CALL = ("greeting", "emergency")
# Call keys each language has for itself: a translation neither inherits them nor must give them.
OWN_CALL = ("emergency_phrases", "callback_words")
TRANSLATED_NODE = ("title", "label", "say", "text", "keywords")

# Words text-to-speech voices are known to get wrong: using one with no pronunciation is a warning.
MEDICAL_WORDS = ("baclofen", "intrathecal", "rhizotomy", "botulinum", "spasticity", "contracture",
                 "contractures")
