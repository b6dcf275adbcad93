"""The knowledge base the core talks to: load a folder, search it, reload it when it changes."""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.articles import Article, article_files, load_articles
from bot.knowledge.cache import load_or_build
from bot.knowledge.index import TOPIC_REACH_CONFIDENCE, Explanation, ParsedQuery, ScoredArticle
from bot.knowledge.lexicon import LEXICON_FILE_NAME, Lexicon


@dataclass(frozen=True)
class Suggestion:
    """An article proposed for a question; ``score`` is the calibrated confidence in 0..1.

    ``withheld`` marks a candidate that is not suggested whatever its score: the question barely
    reaches the article's own statement of its subject (:meth:`bot.knowledge.index.Index.topic_reach`).
    A threshold of 0 withholds nothing (every candidate is shown).
    """

    article: Article
    score: float
    explanation: Explanation | None
    explanation_query: str = ""
    withheld: bool = False


def _snapshot(directory: Path) -> dict[Path, tuple[int, int]]:
    files = article_files(directory) if directory.is_dir() else []
    lexicon = directory / LEXICON_FILE_NAME
    if lexicon.is_file():
        files.append(lexicon)
    result: dict[Path, tuple[int, int]] = {}
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        result[path] = (st.st_mtime_ns, st.st_size)
    return result


_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|\n+")
LONG_MESSAGE_WORDS = 25
"""Messages with more words than this are also read sentence by sentence (see :func:`readings`)."""


def readings(text: str) -> list[str]:
    """The ways a message is read: as a whole, and for a long message also sentence by sentence and by
    pairs of consecutive sentences, so that greetings, context and emotion around the problem do not
    dilute it. An article's confidence is its best over the readings."""
    if len(text.split()) <= LONG_MESSAGE_WORDS:
        return [text]
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
    if len(sentences) < 2:
        return [text]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)] if len(sentences) > 2 else []
    return [text, *dict.fromkeys([*sentences, *pairs])]


def _translation_map(articles: Sequence[Article]) -> dict[tuple[str, str], Article]:
    return {(a.group, a.lang): a for a in articles if a.group is not None}


class KnowledgeBase:
    """Articles plus the matcher. ``search`` returns only confident suggestions; ``rank`` everything.

    A knowledge folder may hold a ``lexicon.yaml`` that extends the bundled synonym lexicon
    (see :mod:`bot.knowledge.lexicon`).
    """

    DEFAULT_THRESHOLD: float = 0.2

    def __init__(
        self,
        articles: Sequence[Article],
        *,
        lexicon: Lexicon | None = None,
        threshold: float | None = None,
        directory: Path | None = None,
        index_cache: Path | None = None,
    ) -> None:
        self.threshold: float = self.DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {self.threshold}")
        self._lexicon = lexicon or Lexicon.default()
        self._directory = directory
        self._lock = threading.Lock()
        self._snapshot = _snapshot(directory) if directory is not None else {}
        self._learned: dict[str, tuple[str, ...]] = {}
        self._learned_keys: dict[str, list[frozenset[str]]] = {}
        self._unhelpful: dict[str, list[frozenset[str]]] = {}
        self._unhelpful_texts: dict[str, tuple[str, ...]] = {}
        self._index_cache = index_cache
        self._index = load_or_build(articles, self._lexicon, index_cache)
        self._translations = _translation_map(articles)

    @classmethod
    def from_directory(
        cls, directory: Path, *, threshold: float | None = None, index_cache: Path | None = None
    ) -> KnowledgeBase:
        """Load the articles of ``directory`` and its ``lexicon.yaml`` extension, if any.

        With ``index_cache`` (a folder), the built index is kept there and read back at the next load of
        the same content instead of being built again (:mod:`bot.knowledge.cache`)."""
        directory = Path(directory)
        return cls(
            load_articles(directory),
            lexicon=cls._lexicon_for(directory),
            threshold=threshold,
            directory=directory,
            index_cache=index_cache,
        )

    @staticmethod
    def _lexicon_for(directory: Path) -> Lexicon:
        lexicon = Lexicon.default()
        extension = directory / LEXICON_FILE_NAME
        if extension.is_file():
            lexicon = lexicon.merged(Lexicon.from_file(extension))
        return lexicon

    @property
    def articles(self) -> Sequence[Article]:
        """All loaded articles, in file-name order."""
        return self._index.articles

    @property
    def lexicon(self) -> Lexicon:
        """The lexicon in use (bundled plus the folder's extension)."""
        return self._lexicon

    def get(self, article_id: str) -> Article | None:
        """The article with this id, or None."""
        return next((a for a in self._index.articles if a.id == article_id), None)

    def search(self, query: str, *, limit: int = 3, explain: bool = False, lang: str | None = None) -> list[Suggestion]:
        """Suggestions at or above the threshold, best first; ``[]`` means: suggest nothing.

        One article per translation group (front-matter ``group``): the group's best match decides
        its rank, and the article shown is the group's translation in ``lang`` (the user's
        language) when there is one, else the best-matching one.
        """
        if limit <= 0:
            return []
        ranked = self._run(query, limit * 3 + 3, explain)
        if self._learned_keys:
            ranked = self._with_learned(query, ranked, explain)
        if self._unhelpful:
            ranked = sorted((self._lowered(query, s) for s in ranked), key=lambda s: -s.score)
        found = [s for s in ranked if s.score >= self.threshold and not s.withheld]
        return self.one_per_group(found, lang)[:limit]

    def considered(self, query: str, *, limit: int = 3, lang: str | None = None) -> list[Suggestion]:
        """The best candidates, one per translation group, whether suggested or not, each with its
        explanation (which says the decision): what ``kb search --explain`` shows beside the
        suggestions."""
        if limit <= 0:
            return []
        return self.one_per_group(self._run(query, limit * 3 + 3, True), lang)[:limit]

    def one_per_group(self, suggestions: Sequence[Suggestion], lang: str | None) -> list[Suggestion]:
        """Keep the best suggestion of each translation group, swapped for its ``lang`` translation."""
        seen: set[str] = set()
        result: list[Suggestion] = []
        for s in suggestions:
            key = s.article.group_key
            if key in seen:
                continue
            seen.add(key)
            if lang is not None and s.article.lang != lang:
                translation = self._translations.get((key, lang))
                if translation is not None:
                    explanation = self.explain(s.explanation_query, translation.id) if s.explanation else None
                    s = dataclasses.replace(s, article=translation, explanation=explanation)
            result.append(s)
        return result

    def translations(self, article: Article) -> list[Article]:
        """The other articles of ``article``'s translation group."""
        if article.group is None:
            return []
        return [a for a in self.articles if a.group == article.group and a.id != article.id]

    def rank(self, query: str, *, limit: int = 3) -> list[Suggestion]:
        """The best candidates whatever their confidence (e.g. to guess a ticket's category)."""
        return self._run(query, limit, explain=False)

    def explain(self, query: str, article_id: str) -> Explanation | None:
        """Why ``article_id`` scores what it does for ``query`` (None if it matches nothing)."""
        index = self._index
        parsed = index.parse(query)
        for scored in index.score(parsed, limit=len(index.articles)):
            if scored.article.id == article_id:
                return index.explain(parsed, scored, self.threshold)
        return None

    def _run(self, query: str, limit: int, explain: bool) -> list[Suggestion]:
        if limit <= 0:
            return []
        index = self._index
        best: dict[str, tuple[ScoredArticle, ParsedQuery, str]] = {}
        for reading in readings(query):
            parsed = index.parse(reading)
            for r in index.score(parsed, limit):
                kept = best.get(r.article.id)
                if kept is None or r.confidence > kept[0].confidence:
                    best[r.article.id] = (r, parsed, reading)
        ranked = sorted(best.values(), key=lambda e: (-e[0].confidence, -e[0].score, e[0].article.id))[:limit]
        return [
            Suggestion(
                r.article,
                r.confidence,
                index.explain(parsed, r, self.threshold) if explain else None,
                text,
                withheld=self._withheld(parsed, r),
            )
            for r, parsed, text in ranked
        ]

    def _withheld(self, parsed: ParsedQuery, scored: ScoredArticle) -> bool:
        """True for a candidate over the threshold held back for lack of topic reach (measured only
        where it can decide: between the threshold and TOPIC_REACH_CONFIDENCE)."""
        if not 0 < self.threshold <= scored.confidence < TOPIC_REACH_CONFIDENCE:
            return False
        return self._index.topic_reach(parsed, scored.article).withholds(scored.confidence)

    UNHELPFUL_SIMILARITY: float = 0.5
    """A message this similar (share of informative terms in common) to one that an article did
    not solve ranks that article lower."""
    UNHELPFUL_FACTOR: float = 0.5
    """... by this factor of its confidence."""

    LEARNED_SIMILARITY: float = 0.5
    """A message sharing at least this share of its informative terms with a phrasing learned for an
    article (Jaccard similarity of their index keys) is suggested that article, with the similarity
    as its confidence when that is higher than the matcher's."""

    def set_learned(self, positive: Mapping[str, Sequence[str]], negative: Mapping[str, Sequence[str]]) -> bool:
        """Use the desk's learned phrasings: a message similar to a ``positive`` one (confirmed
        solutions, /kblink) is suggested its article; ``negative`` ("Not solved") lower an article for
        similar messages. Returns True when they changed."""
        learned = {k: tuple(v) for k, v in positive.items() if v}
        unhelpful = {k: tuple(v) for k, v in negative.items() if v}
        with self._lock:
            if learned == self._learned and unhelpful == self._unhelpful_texts:
                return False
            self._learned = learned
            self._learned_keys = {k: [self._term_keys(t) for t in v] for k, v in learned.items()}
            self._unhelpful_texts = unhelpful
            self._unhelpful = {k: [self._term_keys(t) for t in v] for k, v in unhelpful.items()}
            return True

    def _with_learned(self, query: str, ranked: list[Suggestion], explain: bool) -> list[Suggestion]:
        keys = self._term_keys(query)
        if not keys:
            return ranked
        by_id = {s.article.id: s for s in ranked}
        for article_id, phrasings in self._learned_keys.items():
            similarity = max((len(keys & p) / len(keys | p) for p in phrasings if p), default=0.0)
            if similarity < self.LEARNED_SIMILARITY:
                continue
            current = by_id.get(article_id)
            article = current.article if current is not None else self.get(article_id)
            if article is None or (current is not None and current.score >= similarity):
                continue
            explanation = self._learned_explanation(query, article_id, similarity) if explain else None
            by_id[article_id] = Suggestion(article, similarity, explanation, query)
        return sorted(by_id.values(), key=lambda s: -s.score)

    def _learned_explanation(self, query: str, article_id: str, similarity: float) -> Explanation:
        """The explanation of a suggestion made by a learned phrasing (also when no word matches)."""
        decision = (
            f"suggested: the message shares {similarity:.0%} of its informative terms with a phrasing "
            f"learned for this article (at least {self.LEARNED_SIMILARITY:.0%})"
        )
        explanation = self.explain(query, article_id)
        if explanation is not None:
            return dataclasses.replace(explanation, decision=decision)
        parsed = self._index.parse(query)
        return Explanation(
            article_id=article_id,
            matched_terms=(),
            unmatched_terms=tuple(t.surface for t in parsed.terms),
            synonyms=(),
            corrections=parsed.corrections,
            field_scores={},
            lexical_score=0.0,
            coverage=0.0,
            confidence=0.0,
            threshold=self.threshold,
            topic_reach=0.0,
            decision=decision,
        )

    @property
    def learned(self) -> Mapping[str, tuple[str, ...]]:
        """The learned phrasings in use, by article id."""
        return dict(self._learned)

    def _term_keys(self, text: str) -> frozenset[str]:
        return frozenset(t.keys[0] for t in self._index.parse(text).terms if t.weight >= 0.5)

    def _lowered(self, query: str, suggestion: Suggestion) -> Suggestion:
        negatives = self._unhelpful.get(suggestion.article.id)
        if not negatives:
            return suggestion
        keys = self._term_keys(query)
        if not keys:
            return suggestion
        for other in negatives:
            if other and len(keys & other) / len(keys | other) >= self.UNHELPFUL_SIMILARITY:
                explanation = suggestion.explanation
                if explanation is not None:
                    explanation = dataclasses.replace(
                        explanation,
                        decision=f"{explanation.decision}; confidence lowered to "
                        f"{suggestion.score * self.UNHELPFUL_FACTOR:.2f}: a similar message was not solved by it",
                    )
                return dataclasses.replace(
                    suggestion, score=suggestion.score * self.UNHELPFUL_FACTOR, explanation=explanation
                )
        return suggestion

    def reload_if_changed(self) -> bool:
        """Re-scan the folder; rebuild the index if an article or the lexicon changed. True if rebuilt.

        A folder that became invalid raises :class:`bot.errors.KnowledgeBaseError` and the
        previous index stays in use.
        """
        if self._directory is None:
            return False
        with self._lock:
            snapshot = _snapshot(self._directory)
            if snapshot == self._snapshot:
                return False
            articles = load_articles(self._directory)
            lexicon = self._lexicon_for(self._directory)
            self._index = load_or_build(articles, lexicon, self._index_cache)
            self._translations = _translation_map(articles)
            self._lexicon = lexicon
            self._snapshot = snapshot
            return True
