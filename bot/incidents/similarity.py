"""How alike two short problem descriptions are, in French, English or Dutch.

A description becomes its meaningful words (stop words and everyday words removed, see
:mod:`bot.knowledge.text`), each with its Snowball stems in the three languages. Two
words match when they share a stem, or when both are long and nearly identical (a typo:
``imprimnte``). The similarity is the share of words of both texts that find a match
(a Dice coefficient), from 0 (nothing in common) to 1 (the same words).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.knowledge.text import ALL_STOP_WORDS, all_stems, tokenise

_TYPO_MIN_LENGTH = 5
_TYPO_RATIO = 85.0


@dataclass(frozen=True)
class Signature:
    """The meaningful words of a text and their stems.

    ``every_stem`` (all stems at once) and ``long_words`` (the words long enough for the
    typo rule) are derived once, so that comparing one new report with hundreds of stored
    ones costs a set test per word rather than a loop over the other text's words.
    """

    words: tuple[str, ...]
    stems: tuple[frozenset[str], ...]
    every_stem: frozenset[str] = field(init=False, repr=False, compare=False)
    long_words: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "every_stem", frozenset().union(*self.stems))
        object.__setattr__(self, "long_words", tuple(w for w in self.words if len(w) >= _TYPO_MIN_LENGTH))

    def __bool__(self) -> bool:
        return bool(self.words)

    def as_data(self) -> dict[str, Any]:
        """JSON-able form, stored with each report (:class:`bot.db.models.IncidentReport`)."""
        return {"words": list(self.words), "stems": [sorted(stems) for stems in self.stems]}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Signature:
        """The signature :meth:`as_data` stored."""
        return cls(tuple(data["words"]), tuple(frozenset(stems) for stems in data["stems"]))


def signature(text: str) -> Signature:
    """The meaningful words of ``text`` (unique, in order of appearance)."""
    words: list[str] = []
    for token in tokenise(text):
        if token in ALL_STOP_WORDS or len(token) < 2 or (token.isdigit() and len(token) < 3):
            continue
        if token not in words:
            words.append(token)
    return Signature(tuple(words), tuple(frozenset(all_stems(word)) for word in words))


@lru_cache(maxsize=8192)
def cached_signature(text: str) -> Signature:
    """:func:`signature`, remembered for texts compared again and again (open tickets' titles)."""
    return signature(text)


def _matched(a: Signature, b: Signature) -> int:
    """How many words of ``a`` have a counterpart in ``b``: a shared stem, or (both long) a typo."""
    count = 0
    for word, stems in zip(a.words, a.stems, strict=True):
        if not stems.isdisjoint(b.every_stem) or (
            len(word) >= _TYPO_MIN_LENGTH
            and b.long_words
            and process.extractOne(word, b.long_words, scorer=fuzz.ratio, score_cutoff=_TYPO_RATIO) is not None
        ):
            count += 1
    return count


def similarity(a: Signature, b: Signature) -> float:
    """How alike two texts are (0..1): the mean of the Dice coefficient (share of the words of both
    texts that have a counterpart in the other) and of the share of the shorter text's words found in
    the longer one, so that a short report still matches a longer ticket that contains it."""
    if not a or not b:
        return 0.0
    in_a, in_b = _matched(a, b), _matched(b, a)
    dice = (in_a + in_b) / (len(a.words) + len(b.words))
    shorter = in_a / len(a.words) if len(a.words) <= len(b.words) else in_b / len(b.words)
    return (dice + shorter) / 2


def text_similarity(a: str, b: str) -> float:
    """:func:`similarity` of two texts."""
    return similarity(signature(a), signature(b))
