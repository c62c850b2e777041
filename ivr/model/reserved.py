"""The words and keys the line keeps for itself in every language: reserved keys, carrier words,
menu, back and repeat words, and the words that name or imply a language."""

from __future__ import annotations

# Keys the line keeps for itself in every menu (see the README's key convention).
OPERATOR_KEY, BACK_KEY, REPEAT_KEY = "0", "*", "9"
RESERVED_KEYS = (OPERATOR_KEY, BACK_KEY, REPEAT_KEY, "#")

# Whole-message words Twilio's opt-out handling owns; the line never claims them as keywords.
# Twilio's words, and the Spanish ones Spanish-speaking families use (Twilio does not act on those,
# so the line keeps them in its own opt-out list and does not answer them either).
OPT_OUT_WORDS = ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
                 "parar", "cancelar", "baja", "alto")
OPT_IN_WORDS = ("start", "yes", "unstop")
HELP_WORDS = ("help", "info", "ayuda")
MENU_WORDS = ("menu", "hi", "hello", "hey", "hola", "options", "main menu", "menu principal", "opciones")
BACK_WORDS = ("back", "go back", "regresar", "atras")
REPEAT_WORDS = ("repeat", "again", "say again", "repeat that", "repetir", "otra vez")
# Texted words that switch the conversation's language ("ESPAÑOL" arrives here as "espanol").
LANGUAGE_WORDS = {"espanol": "es", "spanish": "es", "english": "en", "ingles": "en"}
# Words people put around a language's name when asking for it ("en español, por favor", "I speak
# English"): a text of a language word and these only asks for that language.
LANGUAGE_FILLERS = frozenset(["en", "por", "favor", "please", "in", "hablo", "i", "speak", "quiero", "want",
                              "solo", "only"])
# Help words that also say which language the answer should be in.
HELP_LANGUAGES = {"ayuda": "es", "necesito ayuda": "es", "informacion": "es"}
# Greetings only a speaker of that language would start a text with: a text that starts with one is
# answered in that language, and one made only of greetings gets the menu. English greetings (HI,
# HELLO) are left out: Spanish speakers use them too, so they keep the conversation's language.
GREETING_LANGUAGES = {"hola": "es", "buenos dias": "es", "buen dia": "es", "buenas tardes": "es",
                      "buenas noches": "es", "buenas": "es", "saludos": "es"}
LINE_WORDS = (MENU_WORDS + BACK_WORDS + REPEAT_WORDS + tuple(LANGUAGE_WORDS)
              + tuple(GREETING_LANGUAGES))  # answered by the line itself
# At the start of a call: switch to the second language.
LANGUAGE_KEY = "8"
CARRIER_WORDS = OPT_OUT_WORDS + OPT_IN_WORDS + HELP_WORDS
