"""The knowledge base the core talks to: load a folder, search it, reload it when it changes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.knowledge.articles import Article, article_files, load_articles
from bot.knowledge.index import Explanation, Index
from bot.knowledge.lexicon import LEXICON_FILE_NAME, Lexicon


@dataclass(frozen=True)
class Suggestion:
    """An article proposed for a question; ``score`` is the calibrated confidence in 0..1."""

    article: Article
    score: float
    explanation: Explanation | None
    explanation_query: str = ""


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
    ) -> None:
        self.threshold: float = self.DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, not {self.threshold}")
        self._lexicon = lexicon or Lexicon.default()
        self._directory = directory
        self._lock = threading.Lock()
        self._snapshot = _snapshot(directory) if directory is not None else {}
        self._index = Index(articles, self._lexicon)
        self._translations = _translation_map(articles)

    @classmethod
    def from_directory(cls, directory: Path, *, threshold: float | None = None) -> KnowledgeBase:
        """Load the articles of ``directory`` and its ``lexicon.yaml`` extension, if any."""
        directory = Path(directory)
        return cls(
            load_articles(directory),
            lexicon=cls._lexicon_for(directory),
            threshold=threshold,
            directory=directory,
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
        found = [s for s in self._run(query, limit * 3 + 3, explain) if s.score >= self.threshold]
        return self.one_per_group(found, lang)[:limit]

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
                    s = Suggestion(translation, s.score, explanation, s.explanation_query)
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
        parsed = index.parse(query)
        results = index.score(parsed, limit)
        return [
            Suggestion(r.article, r.confidence, index.explain(parsed, r, self.threshold) if explain else None, query)
            for r in results
        ]

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
            self._index = Index(articles, lexicon)
            self._translations = _translation_map(articles)
            self._lexicon = lexicon
            self._snapshot = snapshot
            return True
