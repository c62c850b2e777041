"""Whether a text or a spoken phrase sounds like an emergency, with a built-in list per language."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .matching import edit_distance, normalise, typo_allowance

# Built in for each language (by its first two letters); staff add more under call: emergency_phrases.
# A phrase matches when all its words come in order, with at most MAX_GAP other words between two of
# them: "pump alarm" is found in "the pump's alarm is going off", never in "pump" alone.
BUILT_IN: dict[str, tuple[str, ...]] = {
    "en": (
        "emergency", "911", "ambulance",
        "not breathing", "not breathe", "stopped breathing", "cant breathe", "cannot breathe",
        "trouble breathing", "difficulty breathing", "struggling to breathe", "hard to breathe",
        "asthma attack", "gasping", "choking", "choked", "chocking",
        "seizure", "seizer", "seazure", "seizing", "convulsing", "convulsion", "convulsions",
        "having a fit", "had a fit",
        "unconscious", "unresponsive", "passed out", "fainted", "collapsed",
        "wont wake", "not waking", "cant wake", "will not wake", "doesnt wake", "didnt wake",
        "isnt breathing", "wasnt breathing", "not responding", "isnt responding",
        "blue lips", "lips blue", "lips purple", "purple lips", "turning blue", "going blue",
        "overdose", "overdosed", "took too much", "gave too much", "too much medicine",
        "too much medication", "too much baclofen", "double dose",
        "pump alarm", "pump alarming", "alarm pump", "pump beeping", "pump beep", "beeping pump",
        "pump making noise", "alarm going off", "keeps beeping", "wont stop beeping",
        "bleeding a lot", "severe bleeding", "heavy bleeding", "bleeding heavily", "wont stop bleeding",
        "lots of blood",
    ),
    "es": (
        "emergencia", "911", "ambulancia",
        "no respira", "no respirando", "dejo de respirar", "le cuesta respirar",
        "dificultad para respirar", "falta aire", "se ahoga", "ahogando", "ahogandose", "atragantado",
        "atraganto", "atragantando",
        "convulsion", "convulsiones", "convulsiona", "convulsionando", "ataque",
        "no despierta", "no despertarlo", "inconsciente", "se desmayo", "desmayado", "desmayada",
        "perdio conocimiento", "no reacciona",
        "no responde", "se desmallo", "desmallado", "desmallada",
        "labios morados", "labios azules", "poniendo azul", "poniendo morado", "puso azul", "puso morado",
        "sobredosis", "tomo demasiado", "demasiado medicamento", "demasiada medicina", "doble dosis",
        "bomba suena", "bomba sonando", "bomba pita", "bomba pitando", "pitido bomba", "alarma bomba",
        "bomba alarma", "bomba hace ruido", "pita bomba", "pitando bomba", "suena bomba", "sonando bomba",
        "bomba baclofeno pita", "bomba baclofeno pitando", "bomba baclofeno suena", "bomba baclofeno sonando",
        "sangra mucho", "sangrando mucho", "sangrado fuerte", "mucha sangre", "hemorragia",
        "no para de sangrar", "deja de sangrar",
    ),
}

MAX_GAP = 2  # other words allowed between two words of a phrase ("pump is beeping", "alarma de la bomba")
# Real words one slip away from a phrase word: never read as that word misspelt.
NOT_TYPOS = frozenset({
    "cooking", "cooked", "breeding", "blending", "grasping", "sizing", "walking", "tuning",
    "ahora", "abogando", "sueno", "pintando", "sangre", "sagrado", "cuenta",
})
_APOSTROPHES = re.compile(r"['\u2019\u02bc`\u00b4]")


def built_in(language: str) -> tuple[str, ...]:
    """The built-in emergency phrases for `language` (a code such as es-US); () if there are none."""
    return BUILT_IN.get(language[:2].lower(), ())


def words_of(text: str) -> tuple[str, ...]:
    """The words the matcher compares: normalised, with apostrophes dropped ("can't" -> "cant")."""
    return tuple(normalise(_APOSTROPHES.sub("", text)).split())


# How much a message's word may differ from a phrase's word and still stand for it.
EXACT, PLURALS, TYPOS = 0, 1, 2

# Everyday words that tell which language a message is written in, for when the same phrase is in
# two languages' lists ("convulsion"): "tiene una convulsión" is Spanish.
EVERYDAY_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset([
        "the", "a", "an", "my", "our", "his", "her", "he", "she", "is", "isnt", "has", "had", "having",
        "son", "daughter", "child", "kid", "baby", "and", "of", "to", "with", "please", "help", "was",
        "not", "cant", "wont"
    ]),
    "es": frozenset([
        "el", "la", "los", "las", "un", "una", "mi", "mis", "su", "sus", "hijo", "hija", "nino", "nina",
        "bebe", "es", "esta", "tiene", "tuvo", "que", "de", "del", "se", "le", "lo", "y", "con", "por",
        "favor", "ayuda", "muy", "al", "no"
    ]),
}


def language_words(text: str, language: str) -> int:
    """How many words of `text` are everyday words of `language` (a code such as es-US)."""
    common = EVERYDAY_WORDS.get(language[:2].lower(), frozenset())
    return sum(word in common for word in words_of(text))


def same_word(word: str, wanted: str, leeway: int = TYPOS) -> bool:
    """Whether `word` in a message stands for `wanted`: equal (EXACT), also its plural (PLURALS), or
    also a small slip of it (TYPOS)."""
    if word == wanted:
        return True
    if leeway >= PLURALS and word in (wanted + "s", wanted + "es"):
        return True
    if leeway < TYPOS or word in NOT_TYPOS:
        return False
    allowance = typo_allowance(word, wanted)
    return allowance > 0 and edit_distance(word, wanted, allowance) <= allowance


class EmergencyPhrases:
    """The phrases that mean an emergency in one language, and whether a message contains one."""

    def __init__(self, phrases: Iterable[str]):
        self.phrases = tuple(dict.fromkeys(p for p in (words_of(text) for text in phrases) if p))
        # Each phrase word by its first letter: a slip is forgiven only after a right first letter,
        # so a message word is compared with a few phrase words, not all of them.
        self._by_initial: dict[str, set[str]] = {}
        for phrase in self.phrases:
            for word in phrase:
                self._by_initial.setdefault(word[0], set()).add(word)

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def __len__(self) -> int:
        return len(self.phrases)

    def found(self, text: str | tuple[str, ...], leeway: int = TYPOS) -> str | None:
        """The first phrase (as its words) that `text` (or its words_of, worked out already)
        contains, its words differing by at most `leeway` (EXACT, PLURALS or TYPOS), or None."""
        words = words_of(text) if isinstance(text, str) else text
        if not words:
            return None
        # Which phrase words each word of the message stands for, worked out once per message.
        meant = {word: {w for w in self._by_initial.get(word[0], ()) if same_word(word, w, leeway)}
                 for word in set(words)}
        readings = [meant[word] for word in words]
        present = set().union(*readings)
        if not present:  # most messages: no word of any phrase at all
            return None
        for phrase in self.phrases:
            if present.issuperset(phrase) and _contains(readings, phrase):
                return " ".join(phrase)
        return None

    def match(self, text: str) -> bool:
        """Whether `text` sounds like an emergency."""
        return self.found(text) is not None


def _contains(readings: list[set[str]], phrase: tuple[str, ...]) -> bool:
    """Whether `phrase` occurs in the message (what each of its words stands for) in order, each gap
    at most MAX_GAP words."""
    # Where the phrase so far can end, word by word: linear in the message, however long the phrase.
    ends = {i for i, meant in enumerate(readings) if phrase[0] in meant}
    for wanted in phrase[1:]:
        ends = {j for i in ends for j in range(i + 1, min(len(readings), i + MAX_GAP + 2))
                if wanted in readings[j]}
        if not ends:
            return False
    return bool(ends)
