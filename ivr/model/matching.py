"""Match what a family typed (or, later, said) to a keyword, forgiving case, punctuation and small typos."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

_WORD = re.compile(r"[a-z0-9]+")


def normalise(text: str) -> str:
    """Lower-case words without accents, punctuation or extra spaces: " Baclofén!! " -> "baclofen"."""
    if text.isascii():  # most texts: no accents or invisible characters to take out
        return " ".join(_WORD.findall(text.lower()))
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    # Drop accents and invisible format characters (a zero-width space pasted inside "p\u200bump").
    plain = "".join(ch for ch in decomposed
                    if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf")
    return " ".join(_WORD.findall(plain))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count once), giving up above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def typo_allowance(a: str, b: str) -> int:
    """How many slips may separate `a` from `b` and still count as the same word."""
    shorter = min(len(a), len(b))
    if shorter < 5 or a[0] != b[0]:
        return 0  # "pump" vs "plum", "mother" vs "other": short or differently-starting words must be exact
    return 1 if shorter < 9 else 2


class KeywordMatcher:
    """Finds which target a message names, from a {keyword: target} table built once at load time."""

    def __init__(self, keywords: Mapping[str, str]):
        self._exact = {normalise(k): target for k, target in keywords.items()}

    def match(self, text: str, typos: bool = True) -> str | None:
        """The target the message names, or None when it names none or two different ones;
        `typos=False` leaves out the forgiven slips, for telling which language's keywords fit best."""
        words = normalise(text)
        if not words:
            return None
        if words in self._exact:
            return self._exact[words]
        padded = f" {words} "
        # A keyword inside a longer message ("tell me about the pump please"). A keyword that is part
        # of a longer one found too does not count, so "baclofen pump" means the pump, not baclofen;
        # two unrelated keywords ("botox and casting") are ambiguous.
        found = [kw for kw in self._exact if f" {kw} " in padded]
        if found:
            kept = [kw for kw in found if not any(f" {kw} " in f" {longer} " for longer in found
                                                  if longer != kw)]
            targets = {self._exact[kw] for kw in kept}
            return targets.pop() if len(targets) == 1 else None
        return self._typo(words) if typos else None

    def words_named(self, text: str) -> int:
        """How many of the message's words the longest keyword in it covers, as written (0: none),
        to tell which language's keywords fit a message best ("inyecciones de botox": three in
        Spanish, one in English)."""
        padded = f" {normalise(text)} "
        return max((len(kw.split()) for kw in self._exact if f" {kw} " in padded), default=0)

    def slip(self, text: str) -> int | None:
        """How many slips separate a whole message from the one keyword it is forgiven as (None: it
        is not a forgiven slip), to tell which language's keyword a typo is closest to."""
        return self._typo_and_distance(normalise(text))[1]

    def _typo(self, words: str) -> str | None:
        return self._typo_and_distance(words)[0]

    def _typo_and_distance(self, words: str) -> tuple[str | None, int | None]:
        # Only a whole message that is a keyword with a slip ("baclofin") is forgiven: within a longer
        # sentence, ordinary words ("insurance costs") come too close to keywords ("casts").
        best: dict[str, int] = {}
        for keyword, target in self._exact.items():
            allowance = typo_allowance(words, keyword)
            distance = edit_distance(words, keyword, allowance) if allowance else allowance + 1
            if distance <= allowance:
                best[target] = min(distance, best.get(target, distance))
        if not best:
            return None, None
        closest = min(best.values())
        winners = [t for t, d in best.items() if d == closest]
        return (winners[0], closest) if len(winners) == 1 else (None, None)


def claimed_twice(keywords: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(keyword, first target, second target) for each normalised keyword given to two targets."""
    owner: dict[str, str] = {}
    clashes = []
    for keyword, target in keywords:
        key = normalise(keyword)
        if key in owner and owner[key] != target:
            clashes.append((keyword, owner[key], target))
        owner.setdefault(key, target)
    return clashes
