"""The inverted index and scoring behind :class:`bot.knowledge.KnowledgeBase`.

Pipeline for an article field and for a question alike: normalise and tokenise
(:mod:`bot.knowledge.text`), find lexicon terms (:mod:`bot.knowledge.lexicon`) which add
*concept* keys (``@password``), and stem every other word with the Snowball stemmer of
the article's language. A question's language is not guessed: each of its words is tried
with the three stemmers, and whichever stem the index knows is used.

Questions are also repaired before matching: a word the index does not know is corrected
to the nearest known word when it is one or two typing errors away ("imprimente" ->
"imprimante"), a run of words close to a lexicon phrase is read as that phrase ("mot de
pase" -> "mot de passe"), SMS elisions are split ("jarrive" -> "arrive"), chat abbreviations
are written out ("jsp", "doesnt", :data:`bot.knowledge.text.CHAT_ABBREVIATIONS`), and a compound
word made of two known words is read as both ("netwerkwachtwoord" -> "netwerk wachtwoord").

Scoring is BM25F (title, tags and body weighted, per-field length normalisation), over
postings pre-weighted at build time. A second number, the *confidence*, decides whether the
article is suggested at all: a logistic function of how much of the question's informative
content the article explains (coverage), how many distinct informative terms it matches,
and whether they hit the title or tags. Out-of-vocabulary words count against coverage,
which is what keeps "the coffee machine is broken" silent.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, count
from typing import Any, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.knowledge.articles import Article
from bot.knowledge.lexicon import CONCEPT_PREFIX, Lexicon, outermost, token_forms
from bot.knowledge.text import (
    CHAT_ABBREVIATIONS,
    LANGS,
    all_stems,
    drop_greeting,
    everyday_words,
    expand_abbreviations,
    is_stop_word,
    stem,
    stem_many,
    tokenise,
)

K = TypeVar("K", int, str)

FIELDS: tuple[str, ...] = ("title", "tags", "questions", "body")  # the body last (see Index.__init__)
FIELD_WEIGHTS: dict[str, float] = {"title": 3.0, "tags": 2.5, "questions": 2.0, "body": 1.0}
FIELD_B: dict[str, float] = {"title": 0.3, "tags": 0.3, "questions": 0.6, "body": 0.75}
ANCHOR_FIELDS: frozenset[str] = frozenset({"title", "tags", "questions"})
"""Fields an author writes to say what the article is about: a match there is *anchored*."""
K1 = 1.2
# Postings are sorted by weight (impact-ordered). A question scans at most about
# POSTING_BUDGET postings in all, split between its terms (never fewer than POSTING_MIN per
# term): a very common key only contributes through its best documents. This bounds the
# latency on large knowledge bases; below a few thousand articles every posting is scanned.
BUILD_CHUNK = 512  # articles tokenised, then stemmed together, during an index build
POSTING_BUDGET = 1000
POSTING_MIN = 64
WEAK_FACTOR = 0.25
DIGIT_FACTOR = 0.5
UNKNOWN_FACTOR = 0.55
COMPOUND_PART = 4  # letters of each part of a split compound word
UNCOVERED_FACTOR = 1.4  # an unknown word weighs 1.0; a key seen nowhere at full idf would be 1 / 0.55
TOPIC_REACH = 0.2
"""An article is suggested with a confidence under :data:`TOPIC_REACH_CONFIDENCE` only when the question
reaches at least this share (by idf) of one of the author's own statements of what the article is
about: its title, one of its tags or one of its example questions (see :meth:`Index.topic_reach`)."""
TOPIC_REACH_CONFIDENCE = 0.5
_VOWELS = frozenset("aeiouyh")
# the French "re-" prefix is only split off French verb forms ("rebloque", "reconnecter"), not "report"
_FRENCH_VERB_ENDINGS = ("e", "es", "er", "ez", "ent", "ons", "ais", "ait", "ee", "ees", "is", "it", "ir")


@dataclass(frozen=True)
class QueryTerm:
    """One informative unit of a question: a word, or a lexicon phrase read as a concept."""

    surface: str
    keys: tuple[str, ...]
    weight: float
    concepts: tuple[str, ...] = ()
    synonym: str | None = None


@dataclass(frozen=True)
class ParsedQuery:
    """A question after repair, lexicon matching and stemming."""

    text: str
    tokens: tuple[str, ...]
    terms: tuple[QueryTerm, ...]
    corrections: tuple[tuple[str, str], ...]
    total_weight: float


@dataclass(frozen=True)
class TopicReach:
    """How much of an article's own statement of its subject a question matches.

    ``share`` is the best share (by idf) of the index keys of the title, one tag or one example
    question that the question's terms match; ``statement`` names it (``title "..."``, empty when the
    question matches none of them).
    """

    share: float
    statement: str

    def withholds(self, confidence: float) -> bool:
        """True when an article with this ``confidence`` is not suggested for lack of topic reach."""
        return confidence < TOPIC_REACH_CONFIDENCE and self.share < TOPIC_REACH


@dataclass(frozen=True)
class Explanation:
    """Why an article was (or was not) suggested for a question."""

    article_id: str
    matched_terms: tuple[str, ...]
    unmatched_terms: tuple[str, ...]
    synonyms: tuple[tuple[str, str], ...]
    corrections: tuple[tuple[str, str], ...]
    field_scores: dict[str, float]
    lexical_score: float
    coverage: float
    confidence: float
    threshold: float
    topic_reach: float = 1.0
    topic_statement: str = ""
    decision: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view."""
        return {
            "article_id": self.article_id,
            "matched_terms": list(self.matched_terms),
            "unmatched_terms": list(self.unmatched_terms),
            "synonyms": [{"query": q, "concept": c} for q, c in self.synonyms],
            "corrections": [{"typed": a, "read_as": b} for a, b in self.corrections],
            "field_scores": {k: round(v, 4) for k, v in self.field_scores.items()},
            "lexical_score": round(self.lexical_score, 4),
            "coverage": round(self.coverage, 4),
            "confidence": round(self.confidence, 4),
            "threshold": self.threshold,
            "topic_reach": round(self.topic_reach, 4),
            "topic_statement": self.topic_statement,
            "decision": self.decision,
        }

    def __str__(self) -> str:
        fields = ", ".join(f"{k} {v:.2f}" for k, v in self.field_scores.items())
        lines = [
            f"{self.article_id}: confidence {self.confidence:.2f} (threshold {self.threshold:.2f}), "
            f"lexical score {self.lexical_score:.2f}, coverage {self.coverage:.0%}",
            f"  matched terms: {', '.join(self.matched_terms) or '-'}",
            f"  not matched:   {', '.join(self.unmatched_terms) or '-'}",
            f"  synonyms:      {', '.join(f'{q} -> {c}' for q, c in self.synonyms) or '-'}",
            f"  corrections:   {', '.join(f'{a} -> {b}' for a, b in self.corrections) or '-'}",
            f"  field scores:  {fields or '-'}",
            f"  topic reach:   {self.topic_reach:.0%} of {self.topic_statement or 'no title, tag or question'}",
            f"  decision:      {self.decision or '-'}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class ScoredArticle:
    """An article with its lexical score, coverage and calibrated confidence."""

    article: Article
    score: float
    coverage: float
    confidence: float
    matched: tuple[int, ...]


class _TokenKeys(dict[str, int]):
    """Token -> number of its index key in one language (-1 for a stop word), filled on first use."""

    def __init__(self, analysis: _Analysis, lang: int) -> None:
        super().__init__()
        self._analysis = analysis
        self._lang = lang

    def __missing__(self, token: str) -> int:
        kid = -1 if is_stop_word(token) else self._analysis.key_id(self._analysis.stems[token][self._lang])
        self[token] = kid
        return kid


class _Forms(dict[str, frozenset[str]]):
    """Token -> its lexicon forms (the token and its stems), made on first use."""

    def __init__(self, stems: dict[str, tuple[str, ...]]) -> None:
        super().__init__()
        self._stems = stems

    def __missing__(self, token: str) -> frozenset[str]:
        forms = self[token] = frozenset((token, *self._stems[token]))
        return forms


class _Analysis:
    """What an index build knows of every distinct token it met: its stems (fr, en, nl), its lexicon
    forms, whether it can start a lexicon term, and the numbers given to index keys."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.stems: dict[str, tuple[str, ...]] = {}
        self.forms = _Forms(self.stems)  # only the words around a lexicon term need them
        self.starters: set[str] = set()
        self.key_ids: dict[str, int] = {}
        self.token_keys = [_TokenKeys(self, lang) for lang in range(len(LANGS))]
        self._first = lexicon.first_forms

    def key_id(self, key: str) -> int:
        """The number of index key ``key`` (a new one the first time)."""
        kid = self.key_ids.get(key)
        if kid is None:
            kid = self.key_ids[key] = len(self.key_ids)
        return kid

    def add(self, token_lists: Iterable[Sequence[str]]) -> None:
        """Analyse the tokens not seen yet, in one call to each language's stemmer."""
        seen = self.stems
        new = [t for t in set(chain.from_iterable(token_lists)) if t not in seen]
        if not new:
            return
        per_lang = [stem_many(new, lang) for lang in LANGS]
        first = self._first
        for token, *stems in zip(new, *per_lang, strict=True):
            self.stems[token] = tuple(stems)
            if token in first or not first.isdisjoint(stems):
                self.starters.add(token)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class Index:
    """Immutable inverted index over a list of articles with a given lexicon."""

    def __init__(self, articles: Sequence[Article], lexicon: Lexicon) -> None:
        self._attach(articles, lexicon)
        n = len(self.articles)
        # Pass 1: every field's keys, counted, into two flat arrays (key numbers and counts; field f of
        # article d is slice bounds[4d + f] .. bounds[4d + f + 1]) -- the BM25F length normalisation
        # needs the average field lengths first.
        analysis = _Analysis(lexicon)
        key_id = analysis.key_id
        counted_keys: array[int] = array("I")
        counted_tfs: array[int] = array("I")
        bounds: array[int] = array("I", [0])
        lengths: dict[str, array[int]] = {f: array("I") for f in FIELDS}
        anchor_ids: list[frozenset[int]] = []
        surface: Counter[str] = Counter()
        starters, forms_of = analysis.starters, analysis.forms
        is_starter = starters.__contains__
        memo: dict[tuple[str, ...], tuple[int, tuple[str, ...], str]] = {}  # lexicon matches by run of words
        df: Counter[int] = Counter()  # number of articles with each key
        distinct: set[int] = set()
        for first in range(0, n, BUILD_CHUNK):
            memo.clear()  # kept per chunk: a memo of the whole build would stay in the process as fragments
            # a chunk of articles is tokenised, then its new words stemmed in one call per language
            chunk = self.articles[first : first + BUILD_CHUNK]
            chunk_tokens = [[tokenise(text) for text in self._fields(a).values()] for a in chunk]
            analysis.add(tokens for field_tokens in chunk_tokens for tokens in field_tokens)
            for article, field_tokens in zip(chunk, chunk_tokens, strict=True):
                token_key = analysis.token_keys[LANGS.index(article.lang) if article.lang in LANGS else 0]
                anchors: set[int] = set()
                for name, tokens in zip(FIELDS, field_tokens, strict=True):
                    anchored = name in ANCHOR_FIELDS
                    if anchored:
                        surface.update(t for t in tokens if not is_stop_word(t))
                    starts = [] if starters.isdisjoint(tokens) else list(compress(count(), map(is_starter, tokens)))
                    counts, length = self._field_counts(
                        tokens, token_key, -1, forms_of, starts, key_id, anchors if anchored else None, memo
                    )
                    counted_keys.extend(counts.keys())
                    counted_tfs.extend(counts.values())
                    bounds.append(len(counted_keys))
                    lengths[name].append(length)
                    distinct.update(counts)
                anchor_ids.append(frozenset(anchors))
                df.update(distinct)
                distinct.clear()
        key_ids = analysis.key_ids
        del analysis
        # Pass 2: BM25F weight of every (key, article) pair, written straight into one array of
        # documents, one of weights and one of title/tags flags for all keys: each key's postings
        # are a slice of them, in article order, then sorted by weight (impact order) when longer
        # than POSTING_MIN, so that a question may read only their head.
        key_ids = {key: kid for key, kid in key_ids.items() if df[kid]}  # drop stems no article uses
        self._key_ids: dict[str, int] = {}
        offsets = [0]
        for kid in key_ids.values():
            offsets.append(offsets[-1] + df[kid])
        total = offsets[-1]
        self._docs: array[int] = array("i", bytes(4 * total))
        self._weights: array[float] = array("f", bytes(4 * total))
        self._flags = bytearray(total)
        cursor = [0] * (max(key_ids.values(), default=-1) + 1)  # next free place of each key number
        for kid, offset in zip(key_ids.values(), offsets, strict=False):
            cursor[kid] = offset
        avg = {f: (sum(lengths[f]) / n if n else 1.0) or 1.0 for f in FIELDS}
        scales = {
            f: [FIELD_WEIGHTS[f] / (1.0 - FIELD_B[f] + FIELD_B[f] * length / avg[f]) for length in lengths[f]]
            for f in FIELDS
        }
        docs, weights, flags = self._docs, self._weights, self._flags
        for doc in range(n):
            first = 4 * doc
            # the body (the longest field, last) in one go, the short fields added to it
            start, end = bounds[first + 3], bounds[first + 4]
            body_tfs = map(scales["body"][doc].__mul__, counted_tfs[start:end])
            tf_tilde = dict(zip(counted_keys[start:end], body_tfs, strict=True))
            get = tf_tilde.get
            for f, name in enumerate(FIELDS[:-1]):
                scale = scales[name][doc]
                start, end = bounds[first + f], bounds[first + f + 1]
                for kid, tf in zip(counted_keys[start:end], counted_tfs[start:end], strict=True):
                    tf_tilde[kid] = get(kid, 0.0) + scale * tf
            anchors_of_doc = anchor_ids[doc]
            for kid, weighted in tf_tilde.items():
                pos = cursor[kid]
                cursor[kid] = pos + 1
                docs[pos] = doc
                weights[pos] = weighted / (K1 + weighted)
                flags[pos] = kid in anchors_of_doc
        del counted_keys, counted_tfs, bounds, anchor_ids, cursor
        self._offsets = array("I", offsets)
        self._idf: dict[str, float] = {}
        for i, (key, kid) in enumerate(key_ids.items()):
            self._key_ids[key] = i
            start, end = offsets[i], offsets[i + 1]
            if end - start > POSTING_MIN:
                order = sorted(range(start, end), key=weights.__getitem__, reverse=True)
                docs[start:end] = array("i", [docs[j] for j in order])
                weights[start:end] = array("f", [weights[j] for j in order])
                flags[start:end] = bytes(flags[j] for j in order)
            self._idf[key] = math.log(1.0 + (n - df[kid] + 0.5) / (df[kid] + 0.5))
        self.unknown_idf = math.log(1.0 + (n + 0.5) / 0.5) * UNKNOWN_FACTOR
        self._surface_freq = surface
        # typo-correction targets: the domain words (titles, tags, lexicon), not every body word
        vocabulary = set(surface) | set(lexicon.surface_words)
        self._known_words = frozenset(vocabulary)
        self._fuzzy_buckets: dict[tuple[str, int], list[str]] = {}
        for word in sorted(vocabulary):
            if len(word) >= 4 and word.isalpha():
                self._fuzzy_buckets.setdefault((word[0], len(word)), []).append(word)
        self._caches()

    # the computed state, without the articles, the lexicon and the caches (see bot.knowledge.cache)
    _STATE: tuple[str, ...] = (
        "_key_ids",
        "_docs",
        "_weights",
        "_flags",
        "_offsets",
        "_idf",
        "unknown_idf",
        "_surface_freq",
        "_known_words",
        "_fuzzy_buckets",
    )

    def _attach(self, articles: Sequence[Article], lexicon: Lexicon) -> None:
        self.articles: tuple[Article, ...] = tuple(articles)
        self.lexicon = lexicon
        self._doc_of = {a.id: i for i, a in enumerate(self.articles)}
        self._weak = frozenset(lexicon.weak)
        self._context = frozenset(f"@{name}" for name in lexicon.context)

    def _caches(self) -> None:
        self._phrases = self.lexicon.phrases
        self._statements = lru_cache(maxsize=4096)(self._statements_uncached)
        self._correct_word = lru_cache(maxsize=50_000)(self._correct_word_uncached)
        self._split_compound = lru_cache(maxsize=50_000)(self._split_compound_uncached)
        self._correct_phrase = lru_cache(maxsize=50_000)(self._correct_phrase_uncached)

    def state(self) -> dict[str, Any]:
        """What the build computed (postings, idf, vocabularies), for :mod:`bot.knowledge.cache`: it is
        only valid with the same articles, in the same order, and the same lexicon."""
        return {name: getattr(self, name) for name in self._STATE} | {"articles": len(self.articles)}

    @classmethod
    def from_state(cls, state: dict[str, Any], articles: Sequence[Article], lexicon: Lexicon) -> Index:
        """An index made of a :meth:`state` saved for these ``articles`` and ``lexicon``, without a build."""
        if state.get("articles") != len(articles) or any(name not in state for name in cls._STATE):
            raise ValueError("the saved index is not one of these articles")
        index = cls.__new__(cls)
        index._attach(articles, lexicon)
        for name in cls._STATE:
            setattr(index, name, state[name])
        index._caches()
        return index

    def _slice(self, kid: int, limit: int | None = None) -> tuple[array[int], array[float], bytearray]:
        """The postings of key number ``kid`` (documents, weights, title/tags flags), at most ``limit``."""
        start, end = self._offsets[kid], self._offsets[kid + 1]
        if limit is not None:
            end = min(end, start + limit)
        return self._docs[start:end], self._weights[start:end], self._flags[start:end]

    def _postings(self, key: str) -> tuple[array[int], array[float], bytearray] | None:
        """All postings of ``key``, or None for a key no article has."""
        kid = self._key_ids.get(key)
        return None if kid is None else self._slice(kid)

    # ------------------------------------------------------------------ analysis
    def _fields(self, article: Article) -> dict[str, str]:
        """The indexed fields; ``questions`` holds the front-matter example questions."""
        return {
            "title": article.title,
            "tags": " ; ".join(article.tags),
            "questions": " ; ".join(article.questions),
            "body": article.body,
        }

    def _field_counts(
        self,
        tokens: Sequence[str],
        token_key: Mapping[str, K],
        stop: K,
        form_of: Mapping[str, frozenset[str]] | None,
        starts: Sequence[int] | None,
        concept_key: Callable[[str], K],
        anchors: set[K] | None,
        memo: dict[tuple[str, ...], tuple[int, tuple[str, ...], str]] | None = None,
    ) -> tuple[dict[K, int], int]:
        """Index keys of one field with their counts, and how many there are: the keys of its content
        words plus its lexicon concepts.

        ``token_key`` gives each token's key (its stem), ``stop`` for a stop word; ``form_of`` and
        ``starts`` (and the build's ``memo``) are what :meth:`Lexicon.find` needs. With ``anchors``,
        also adds there the keys that make a title or tags match *anchored*: concepts, and words standing on their own.
        A word inside a lexicon phrase ("centre" in "centre logiciel") is indexed, but matching it
        alone does not mean the question is about the article's subject.
        """
        counts: dict[K, int] = Counter(map(token_key.__getitem__, tokens))  # one pass in C
        counts.pop(stop, None)
        get = counts.get
        length = sum(counts.values())
        inside = [False] * len(tokens) if anchors is not None else []
        for match in self.lexicon.find(tokens, form_of, starts, memo) if starts is None or starts else ():
            if match.end - match.start == 1 and token_key[tokens[match.start]] == stop:
                continue
            concepts = [concept_key(c) for c in match.concepts]
            for concept in concepts:
                counts[concept] = get(concept, 0) + 1
            length += len(concepts)
            if anchors is not None:
                anchors.update(concepts)
                if match.end - match.start > 1:
                    inside[match.start : match.end] = [True] * (match.end - match.start)
        if anchors is not None:
            anchors.update(k for t, i in zip(tokens, inside, strict=True) if (k := token_key[t]) != stop and not i)
        return counts, length

    def _str_keys(self, tokens: Sequence[str], lang: str) -> dict[str, str]:
        return {t: "" if is_stop_word(t) else stem(t, lang) for t in tokens}

    def field_counts(self, tokens: Sequence[str], lang: str) -> Counter[str]:
        """Index keys of one field with their counts: stems of content words plus lexicon concepts."""
        return Counter(self._field_counts(tokens, self._str_keys(tokens, lang), "", None, None, str, None)[0])

    def document_keys(self, tokens: Sequence[str], lang: str) -> list[str]:
        """Index keys of one field (each as often as it occurs, in no particular order)."""
        return list(self.field_counts(tokens, lang).elements())

    def anchor_keys(self, tokens: Sequence[str], lang: str) -> set[str]:
        """Keys that make a title or tags match *anchored* (see :meth:`_field_counts`)."""
        anchors: set[str] = set()
        self._field_counts(tokens, self._str_keys(tokens, lang), "", None, None, str, anchors)
        return anchors

    def _is_known(self, token: str) -> bool:
        if token in self._known_words or is_stop_word(token):
            return True
        return any(s in self._idf for s in all_stems(token))

    def _re_prefixed(self, token: str) -> bool:
        """True for a French "re-" verb whose base is a better-known word ("rebloque", "reconnecter")."""
        base = token[2:]
        if not self._is_known(token):
            return self._is_known(base)
        lexical = self.lexicon.single_word_forms
        return not token_forms(token) & lexical and bool(token_forms(base) & lexical)

    def _join_separable(self, tokens: list[str], corrections: list[tuple[str, str]]) -> list[str]:
        """Re-join Dutch separable verbs split by "te": "aan te melden" -> "aanmelden"."""
        if "te" not in tokens[1:-1]:
            return tokens
        out: list[str] = []
        i = 0
        while i < len(tokens):
            if i + 2 < len(tokens) and tokens[i + 1] == "te" and tokens[i].isalpha() and tokens[i + 2].isalpha():
                joined = tokens[i] + tokens[i + 2]
                if self._is_known(joined) or token_forms(joined) & self.lexicon.single_word_forms:
                    corrections.append((" ".join(tokens[i : i + 3]), joined))
                    out.append(joined)
                    i += 3
                    continue
            out.append(tokens[i])
            i += 1
        return out

    def _split_compound_uncached(self, token: str) -> tuple[str, ...]:
        """A compound word the index does not know, as two words it knows ("wachtwoordbeleid" ->
        "wachtwoord beleid"), or ``()``.

        The general decompounding rule of Dutch (and of English closed compounds): two known content
        words of at least COMPOUND_PART letters (the first may be a shorter word of the lexicon, "vpn"),
        the first possibly followed by a linking "s", "e" or "en" ("veiligheidscertificaat",
        "pannenkoek"); of several splits, the one with the longest last part (the compound's head) wins.
        """
        if self._is_known(token):
            return ()
        for i in range(3, len(token) - COMPOUND_PART + 1):
            head = token[i:]
            if is_stop_word(head) or not self._is_known(head):
                continue
            modifier = token[:i]
            for link in ("", "s", "e", "en"):
                if link and not modifier.endswith(link):
                    continue
                left = modifier[: len(modifier) - len(link)]
                # a shorter first part only when the lexicon names it ("vpnverbinding", "pdfbestand")
                long_enough = len(left) >= COMPOUND_PART or (len(left) >= 3 and left in self.lexicon.surface_words)
                if long_enough and not is_stop_word(left) and self._is_known(left):
                    return (left, head)  # the first split found has the longest head
        return ()

    def _correct_word_uncached(self, token: str) -> str | None:
        """The nearest known word at most 1 (2 for long words) edit away, or None."""
        max_edits = 1 if len(token) <= 8 else 2
        best: tuple[int, int, str] | None = None
        for first in {token[0]}:
            for length in range(len(token) - max_edits, len(token) + max_edits + 1):
                bucket = self._fuzzy_buckets.get((first, length))
                if not bucket:
                    continue
                for word, dist, _ in process.extract(
                    token, bucket, scorer=Levenshtein.distance, score_cutoff=max_edits, limit=5
                ):
                    rank = (int(dist), -self._surface_freq.get(word, 0), word)
                    if best is None or rank < best:
                        best = rank
        return best[2] if best else None

    def _correct_phrase_uncached(self, ngram: str) -> str | None:
        limit = 1 if len(ngram) < 14 else 2
        found = process.extractOne(ngram, self._phrases, scorer=Levenshtein.distance, score_cutoff=limit)
        if not found:
            return None
        phrase = str(found[0])
        # the difference must be inside the words, not a different first or last letter
        return phrase if phrase[0] == ngram[0] and phrase[-1] == ngram[-1] else None

    def repair(self, tokens: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """Split SMS elisions and correct typos against the index and lexicon vocabulary."""
        out: list[str] = []
        corrections: list[tuple[str, str]] = []
        tokens = self._join_separable(tokens, corrections)
        for tok in tokens:
            if (
                not self._is_known(tok)
                and len(tok) >= 4
                and tok[0] in "jldmnstc"
                and tok[1] in _VOWELS
                and self._is_known(tok[1:])
            ):
                corrections.append((tok, tok[1:]))
                tok = tok[1:]
            elif (
                len(tok) >= 6 and tok.startswith("re") and tok.endswith(_FRENCH_VERB_ENDINGS) and self._re_prefixed(tok)
            ):
                corrections.append((tok, tok[2:]))  # French "re-" prefix: rebloque -> bloque
                tok = tok[2:]
            elif len(tok) >= 2 * COMPOUND_PART and tok.isalpha() and (parts := self._split_compound(tok)):
                corrections.append((tok, " ".join(parts)))  # "printerlade" -> "printer lade"
                out.extend(parts)
                continue
            out.append(tok)
        # whole-phrase repair: a run around an unknown word close to a lexicon phrase
        i = 0
        while i < len(out):
            tok = out[i]
            if self._is_known(tok) or not tok.isalpha() or len(tok) < 3:
                i += 1
                continue
            replaced = False
            for n in (3, 2, 4):
                for start in range(max(0, i - n + 1), min(i, len(out) - n) + 1):
                    ngram = " ".join(out[start : start + n])
                    if len(ngram) < 8:
                        continue
                    phrase = self._correct_phrase(ngram)
                    if phrase is not None:
                        corrections.append((ngram, phrase))
                        out[start : start + n] = phrase.split()
                        replaced = True
                        break
                if replaced:
                    break
            if not replaced and len(tok) >= 5:
                word = self._correct_word(tok)
                if word is not None:
                    corrections.append((tok, word))
                    out[i] = word
            i += 1
        return out, corrections

    def parse(self, text: str) -> ParsedQuery:
        """Repair, match the lexicon and weight the informative terms of a question."""
        typed = tokenise(text)
        raw = drop_greeting(expand_abbreviations(typed))
        tokens, corrections = self.repair(raw)
        written_out = [(t, CHAT_ABBREVIATIONS[t]) for t in dict.fromkeys(typed) if t in CHAT_ABBREVIATIONS]
        corrections = written_out + corrections  # shown by kb search --explain
        covered = [False] * len(tokens)
        terms: dict[tuple[str, ...], QueryTerm] = {}

        def add(term: QueryTerm) -> None:
            if term.keys not in terms:
                terms[term.keys] = term

        for match, nested in outermost(self.lexicon.find(tokens)):
            words = tokens[match.start : match.end]
            content = [w for w in words if not is_stop_word(w)]
            if len(words) == 1 and not content:
                continue
            concepts = list(match.concepts)
            # a phrase naming a topic no article covers ("share my screen") is that topic, not
            # the covered concept of a word inside it ("screen"): it stays unmatched
            uncovered = len(words) > 1 and not any(c in self._idf for c in concepts)
            for inner in () if uncovered else nested:
                concepts.extend(c for c in inner.concepts if c not in concepts)
            keys: list[str] = list(concepts)
            if len(content) == 1:
                keys.extend(s for s in all_stems(content[0]) if s in self._idf and s not in keys)
            for j in range(match.start, match.end):
                covered[j] = True
            surface = " ".join(words)
            weak = bool(content) and all(w in self._weak for w in content)
            add(self._term(surface, keys, tuple(concepts), match.term, weak=weak))
        everyday = everyday_words()
        for j, tok in enumerate(tokens):
            if covered[j] or is_stop_word(tok):
                continue
            keys = [s for s in all_stems(tok) if s in self._idf]
            # an everyday word ("started", "manager") only says what the problem is where the knowledge
            # base puts it forward: in a title, tag or question
            generic = tok in everyday and tok not in self._known_words
            add(self._term(tok, keys or [f"?{tok}"], (), None, weak=tok in self._weak or generic))
        total = sum(t.weight for t in terms.values())
        return ParsedQuery(text, tuple(tokens), tuple(terms.values()), tuple(corrections), total)

    def _term(
        self,
        surface: str,
        keys: Sequence[str],
        concepts: Sequence[str],
        synonym: str | None,
        *,
        weak: bool,
    ) -> QueryTerm:
        # the most specific reading of the term says how informative it is: "vlc" is rarer than @software
        known = [self._idf[k] for k in keys if k in self._idf]
        # an unknown word may be noise (a name, a typo); a lexicon concept no article covers is a
        # real topic the knowledge base lacks, and weighs in full
        weight = max(known) if known else self.unknown_idf * (UNCOVERED_FACTOR if concepts else 1.0)
        # a situation ("from home") says where the problem happens, not what it is: when no
        # article mentions it, it counts as little as "broken"
        if not known and concepts and all(c in self._context for c in concepts):
            weak = True
        if weak:
            weight *= WEAK_FACTOR
        elif surface.replace(" ", "").isdigit():
            weight *= DIGIT_FACTOR
        return QueryTerm(surface, tuple(keys), weight, tuple(concepts), synonym)

    # ------------------------------------------------------------------ scoring
    def score(self, query: ParsedQuery, limit: int) -> list[ScoredArticle]:
        """The ``limit`` best articles by confidence (ties by lexical score)."""
        return self.candidates(query, max(limit * 4, 12))[:limit]

    def candidates(self, query: ParsedQuery, shortlist_size: int) -> list[ScoredArticle]:
        """The best ``shortlist_size`` articles by lexical score, re-ordered by confidence."""
        scores: dict[int, float] = {}
        matched: dict[int, int] = {}  # bit mask of matched query terms
        anchored: dict[int, float] = {}
        sget, mget, aget = scores.get, matched.get, anchored.get
        cap = max(POSTING_MIN, POSTING_BUDGET // max(1, len(query.terms)))
        for ti, term in enumerate(query.terms):
            bit = 1 << ti
            tw = term.weight
            keys = [k for k in term.keys if k in self._key_ids]
            if len(keys) == 1:
                factor = min(tw, self._idf[keys[0]])
                docs, weights, flags = self._slice(self._key_ids[keys[0]], cap)
                for d, w, fl in zip(docs, weights, flags, strict=True):
                    scores[d] = sget(d, 0.0) + factor * w
                    matched[d] = mget(d, 0) | bit
                    if fl:
                        anchored[d] = aget(d, 0.0) + tw
                continue
            per_doc: dict[int, float] = {}
            per_anchor: set[int] = set()
            for key in keys:
                factor = min(tw, self._idf[key])
                docs, weights, flags = self._slice(self._key_ids[key], cap)
                for d, w, fl in zip(docs, weights, flags, strict=True):
                    value = factor * w
                    if value > per_doc.get(d, 0.0):
                        per_doc[d] = value
                    if fl:
                        per_anchor.add(d)
            for d, value in per_doc.items():
                scores[d] = sget(d, 0.0) + value
                matched[d] = mget(d, 0) | bit
            for d in per_anchor:
                anchored[d] = aget(d, 0.0) + tw
        if not scores:
            return []
        shortlist = heapq.nlargest(shortlist_size, scores, key=scores.__getitem__)
        results = []
        for d in shortlist:
            mask = matched[d]
            terms = [i for i in range(len(query.terms)) if mask >> i & 1]
            results.append(self._scored(query, d, scores[d], terms, aget(d, 0.0)))
        results.sort(key=lambda r: (-r.confidence, -r.score, r.article.id))
        return results

    def _scored(self, query: ParsedQuery, doc: int, score: float, matched: list[int], anchored: float) -> ScoredArticle:
        features = self.features(query, score, matched, anchored)
        return ScoredArticle(self.articles[doc], score, features[1], calibrate(features), tuple(matched))

    def features(self, query: ParsedQuery, score: float, matched: list[int], anchored: float) -> tuple[float, ...]:
        """The calibration features of one (question, article) pair."""
        total = query.total_weight or 1.0
        matched_weight = sum(query.terms[i].weight for i in matched)
        concepts = sum(1 for i in matched if query.terms[i].concepts and query.terms[i].weight >= 0.5)
        known = [t.weight for t in query.terms if not t.keys[0].startswith("?")]
        known_coverage = matched_weight / (sum(known) or 1.0)
        unknown = len(query.terms) - len(known)
        return (
            score,
            matched_weight / total,
            anchored / total,
            min(anchored, 6.0),
            min(concepts, 3),
            known_coverage,
            min(unknown, 4),
        )

    # ------------------------------------------------------------------ topic reach
    def _statements_uncached(self, doc: int) -> tuple[tuple[str, frozenset[str], float], ...]:
        """The article's statements of its subject: (name, index keys, their total idf) of its title,
        each tag and each example question."""
        article = self.articles[doc]
        named = [
            (f'title "{article.title}"', article.title),
            *((f'tag "{tag}"', tag) for tag in article.tags),
            *((f'question "{q}"', q) for q in article.questions),
        ]
        result = []
        for name, text in named:
            keys = frozenset(k for k in self.field_counts(tokenise(text), article.lang) if k in self._idf)
            total = sum(self._idf[k] for k in keys)
            if total > 0:
                result.append((name, keys, total))
        return tuple(result)

    def topic_reach(self, query: ParsedQuery, article: Article) -> TopicReach:
        """How much of the article's own statement of its subject the question matches.

        A question that matches an article only through its body, or through a sliver of its title
        and tags, shares words with it without asking about its subject ("my payslip" and the leave
        article's "HR portal"): such a match is only suggested when its confidence is high
        (:data:`TOPIC_REACH`, :data:`TOPIC_REACH_CONFIDENCE`). The share is measured on the article's
        side -- its title, one tag or one example question -- so it depends on no evaluation set.
        """
        # the question's terms (concepts, stems) and the stems of every word, those inside a phrase too
        keys = {k for term in query.terms for k in term.keys}
        keys.update(s for token in query.tokens if not is_stop_word(token) for s in all_stems(token))
        best = TopicReach(0.0, "")
        for name, statement, total in self._statements(self._doc_of[article.id]):
            share = sum(self._idf[k] for k in statement if k in keys) / total
            if share > best.share:
                best = TopicReach(share, name)
        return best

    # ------------------------------------------------------------------ explain
    def explain(self, query: ParsedQuery, scored: ScoredArticle, threshold: float) -> Explanation:
        """Break the score of one article down into terms, synonyms, corrections and fields."""
        article = scored.article
        field_keys = {
            name: self.field_counts(tokenise(text), article.lang) for name, text in self._fields(article).items()
        }
        field_scores = dict.fromkeys(FIELDS, 0.0)
        matched_terms: list[str] = []
        synonyms: list[tuple[str, str]] = []
        for i in scored.matched:
            term = query.terms[i]
            matched_terms.append(term.surface)
            present = [k for k in term.keys if any(k in c for c in field_keys.values())]
            for concept in term.concepts:
                if concept in present:
                    synonyms.append((term.surface, concept.removeprefix(CONCEPT_PREFIX)))
            share = {f: sum(FIELD_WEIGHTS[f] * field_keys[f][k] for k in present) for f in FIELDS}
            whole = sum(share.values()) or 1.0
            contribution = self._term_contribution(term, scored)
            for f in FIELDS:
                field_scores[f] += contribution * share[f] / whole
        unmatched = [t.surface for i, t in enumerate(query.terms) if i not in scored.matched]
        reach = self.topic_reach(query, article)
        if scored.confidence < threshold:
            decision = f"not suggested: confidence under the threshold {threshold:.2f}"
        elif threshold > 0 and reach.withholds(scored.confidence):
            decision = (
                f"not suggested: confidence under {TOPIC_REACH_CONFIDENCE:.2f} and the question reaches under "
                f"{TOPIC_REACH:.0%} of the article's title, of each tag and of each example question"
            )
        else:
            decision = "suggested"
        return Explanation(
            article_id=article.id,
            matched_terms=tuple(matched_terms),
            unmatched_terms=tuple(unmatched),
            synonyms=tuple(synonyms),
            corrections=query.corrections,
            field_scores=field_scores,
            lexical_score=scored.score,
            coverage=scored.coverage,
            confidence=scored.confidence,
            threshold=threshold,
            topic_reach=reach.share,
            topic_statement=reach.statement,
            decision=decision,
        )

    def anchored_weight(self, query: ParsedQuery, scored: ScoredArticle) -> float:
        """Sum of the weights of the matched question terms found in the article's title or tags."""
        doc = self._doc_of[scored.article.id]
        total = 0.0
        for i in scored.matched:
            for key in query.terms[i].keys:
                posting = self._postings(key)
                if posting is None:
                    continue
                docs, _, flags = posting
                if doc in docs and flags[docs.index(doc)]:
                    total += query.terms[i].weight
                    break
        return total

    def _term_contribution(self, term: QueryTerm, scored: ScoredArticle) -> float:
        doc = self._doc_of[scored.article.id]
        best = 0.0
        for key in term.keys:
            posting = self._postings(key)
            if posting is None:
                continue
            docs, weights, _ = posting
            try:
                best = max(best, min(term.weight, self._idf[key]) * weights[docs.index(doc)])
            except ValueError:
                continue
        return best

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct index keys (stems and concepts)."""
        return len(self._key_ids)

    def keys_of(self, words: Iterable[str]) -> set[str]:
        """The index keys a list of words would produce (for diagnostics and tests)."""
        return {k for w in words for k in token_forms(w) if k in self._idf}


# Calibration: a logistic model of "this article answers the question" over the features
# of Index.features: lexical score, coverage of the question's informative weight, share and
# amount of that weight matched in the title or tags, and the number of lexicon concepts
# matched. Fitted on labelled chat messages (benchmarks/kb_eval.py --fit); see
# benchmarks/README-kb.md.
CAL_BIAS = -6.931
CAL_WEIGHTS: tuple[float, ...] = (1.195, -2.443, 4.289, 0.401, -0.088, 3.566, -0.250)


def calibrate(features: Sequence[float]) -> float:
    """Map matching features to a confidence in 0..1."""
    return _sigmoid(CAL_BIAS + sum(w * f for w, f in zip(CAL_WEIGHTS, features, strict=True)))
