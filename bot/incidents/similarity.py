"""How alike two short problem descriptions are, in French, English or Dutch.

A description becomes its meaningful words (stop words and everyday words removed, see
:mod:`bot.knowledge.text`), each with its Snowball stems in the three languages. Two
words match when they share a stem, or when both are long and nearly identical (a typo:
``imprimnte``). The similarity is the share of words of both texts that find a match
(a Dice coefficient), from 0 (nothing in common) to 1 (the same words).
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.knowledge.text import ALL_STOP_WORDS, all_stems, tokenise

_TYPO_MIN_LENGTH = 5
_TYPO_RATIO = 85.0


@dataclass(frozen=True)
class Signature:
    """The meaningful words of a text and their stems."""

    words: tuple[str, ...]
    stems: tuple[frozenset[str], ...]

    def __bool__(self) -> bool:
        return bool(self.words)


def signature(text: str) -> Signature:
    """The meaningful words of ``text`` (unique, in order of appearance)."""
    words: list[str] = []
    for token in tokenise(text):
        if token in ALL_STOP_WORDS or len(token) < 2 or (token.isdigit() and len(token) < 3):
            continue
        if token not in words:
            words.append(token)
    return Signature(tuple(words), tuple(frozenset(all_stems(word)) for word in words))


def _matched(a: Signature, b: Signature) -> int:
    count = 0
    for word, stems in zip(a.words, a.stems, strict=True):
        for other, other_stems in zip(b.words, b.stems, strict=True):
            if stems & other_stems or (
                min(len(word), len(other)) >= _TYPO_MIN_LENGTH and fuzz.ratio(word, other) >= _TYPO_RATIO
            ):
                count += 1
                break
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
