"""The answers to suggestions ("This solved it" / "Not solved"), per article, feed the ranking.

* :func:`fold_feedback` adds each decided suggestion log (``kb_suggestions``) to its articles'
  totals (``kb_article_feedback``) exactly once, even with several bot processes: a log counts
  as shown for every article offered, as solved for the article that solved it, as not solved
  for every article offered when the user answered "Not solved". Silence ("ignored", or no
  answer after a day) counts as shown only: it is never read as success nor as failure.
* :func:`adjustment` turns an article's totals into a small, bounded score change:
  ``max_adjustment × (2 × rate − 1)`` with the solve rate smoothed towards ½
  (``(solved + 1) / (solved + not_solved + 2)``), so one answer moves little and the
  change never exceeds ``max_adjustment`` either way.
* Folding also teaches the matcher (:mod:`bot.kb_lifecycle.phrasings`): a solved message becomes a
  learned phrasing of the article that solved it, a "Not solved" one a negative phrasing of each
  article shown.
* :class:`FeedbackRankedKnowledge` wraps the matcher without changing it: it re-orders the
  matcher's confident suggestions by adjusted score and drops those an adjustment takes
  below the threshold (a boost never makes the bot suggest what the matcher was unsure of).
  It also reloads the knowledge folder (new or changed articles) at most every
  ``reload_seconds``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.db.uow import KbFeedbackRepository, UnitOfWork, UnitOfWorkFactory
from bot.errors import KnowledgeBaseError
from bot.kb_lifecycle.phrasings import LearnedPhrasingRepository, clean_phrasing, learned_by_article

logger = logging.getLogger(__name__)

FEEDBACK_WINDOW = timedelta(days=30)
"""Suggestion logs older than this are not folded any more (they were, long ago)."""
SETTLE = timedelta(days=1)
"""A suggestion nobody answered within a day is folded as shown (silence)."""


@dataclasses.dataclass(frozen=True)
class ArticleFeedback:
    """An article's totals."""

    shown: int = 0
    solved: int = 0
    not_solved: int = 0


def fold_feedback(uow: UnitOfWork, now: datetime, *, since: datetime | None = None, batch: int = 500) -> int:
    """Add the decided, not yet folded suggestion logs to the per-article totals; returns how many.

    Looks at logs shown since ``since`` (default: the last 30 days), at most ``batch`` of them.
    Call inside a unit of work and commit it. Each log is claimed with an insert that only
    one process can win, so it is counted once.
    """
    feedback = KbFeedbackRepository(uow.session)
    folded = 0
    start = now - FEEDBACK_WINDOW if since is None else since
    for log in feedback.unfolded(start, now - SETTLE, limit=batch):
        if not feedback.mark_folded(log.id, now):
            continue
        ids = [str(i) for i in (log.article_ids or {}).get("ids", [])]
        for article_id in dict.fromkeys(ids):
            feedback.add_counts(article_id, now, shown=1, not_solved=1 if log.outcome == "not_solved" else 0)
        if log.outcome == "solved" and log.solved_by:
            feedback.add_counts(log.solved_by, now, solved=1)
        _learn(uow, log, ids, now)
        folded += 1
    return folded


def _learn(uow: UnitOfWork, log: Any, ids: list[str], now: datetime) -> None:
    """A confirmed "This solved it" teaches the message to the article; "Not solved" to every article shown."""
    if log.outcome not in ("solved", "not_solved"):
        return
    phrasings = LearnedPhrasingRepository(uow.session)
    text = clean_phrasing(str(log.query or ""))
    source = f"suggestion:{log.id}"
    if log.outcome == "solved" and log.solved_by:
        phrasings.add(str(log.solved_by), "solved", text, source, now)
    elif log.outcome == "not_solved":
        for article_id in dict.fromkeys(ids):
            phrasings.add(article_id, "not_solved", text, source, now)


def load_feedback(uow: UnitOfWork) -> dict[str, ArticleFeedback]:
    """Every article's totals, by article id."""
    return {
        row.article_id: ArticleFeedback(row.shown, row.solved, row.not_solved)
        for row in KbFeedbackRepository(uow.session).totals()
    }


def adjustment(feedback: ArticleFeedback, max_adjustment: float) -> float:
    """The score change for an article, in ``(-max_adjustment, +max_adjustment)``."""
    answers = feedback.solved + feedback.not_solved
    rate = (feedback.solved + 1) / (answers + 2)
    return max_adjustment * (2 * rate - 1)


def _with_score(suggestion: Any, score: float) -> Any:
    """A copy of a (frozen dataclass) suggestion with another score."""
    if dataclasses.is_dataclass(suggestion) and not isinstance(suggestion, type):
        return dataclasses.replace(suggestion, score=score)
    return suggestion  # pragma: no cover - KnowledgeBase suggestions are dataclasses


class Matcher(Protocol):
    """The knowledge base being wrapped (:class:`bot.knowledge.KnowledgeBase`)."""

    def search(self, query: str, *, limit: int = 3, explain: bool = False, lang: str | None = None) -> list[Any]:
        """Confident suggestions, best first."""
        ...

    def rank(self, query: str, *, limit: int = 3) -> list[Any]:
        """Best candidates whatever their confidence."""
        ...

    def get(self, article_id: str) -> object | None:
        """An article by id."""
        ...


class FeedbackRankedKnowledge:
    """The knowledge base as the core sees it: the matcher, re-ranked by feedback, reloaded when it changes."""

    def __init__(
        self,
        inner: Matcher,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        max_adjustment: float = 0.1,
        refresh_seconds: float = 60.0,
        reload_seconds: float = 30.0,
    ) -> None:
        if not 0.0 <= max_adjustment <= 0.5:
            raise ValueError("max_adjustment must be between 0 and 0.5")
        self.inner = inner
        self._uow = uow
        self._clock = clock
        self.max_adjustment = max_adjustment
        self._refresh = timedelta(seconds=refresh_seconds)
        self._reload = timedelta(seconds=reload_seconds)
        self._lock = threading.Lock()
        self._adjustments: dict[str, float] = {}
        self._refreshed_at: datetime | None = None
        self._reloaded_at: datetime | None = None

    # -- what the core calls ------------------------------------------------------------------

    def search(self, query: str, *, limit: int = 3, explain: bool = False, lang: str | None = None) -> list[Any]:
        """The matcher's confident suggestions (one per translation group, in ``lang`` when it has
        one), adjusted by feedback, best first."""
        self.maintain()
        if limit <= 0:
            return []
        threshold = float(getattr(self.inner, "threshold", 0.0))
        found = self.inner.search(query, limit=limit + 3, explain=explain, lang=lang)
        adjusted: list[tuple[float, Any]] = []
        for suggestion in found:
            score = min(1.0, max(0.0, float(suggestion.score) + self._adjustments.get(suggestion.article.id, 0.0)))
            if score >= threshold:
                adjusted.append((score, _with_score(suggestion, score)))
        adjusted.sort(key=lambda pair: -pair[0])
        return [suggestion for _, suggestion in adjusted[:limit]]

    def rank(self, query: str, *, limit: int = 3) -> list[Any]:
        """The matcher's ranking, unchanged (used to guess a category)."""
        return self.inner.rank(query, limit=limit)

    def get(self, article_id: str) -> object | None:
        """An article by id."""
        self.maintain()
        return self.inner.get(article_id)

    def __getattr__(self, name: str) -> Any:
        # articles, threshold, lexicon, explain …: the matcher's own.
        return getattr(self.inner, name)

    # -- upkeep -------------------------------------------------------------------------------

    @property
    def adjustments(self) -> Mapping[str, float]:
        """The current score change per article id."""
        return dict(self._adjustments)

    def maintain(self, *, force: bool = False) -> None:
        """Reload changed articles and refresh the feedback when their intervals have passed."""
        now = self._clock.now()
        with self._lock:
            if force or self._reloaded_at is None or now - self._reloaded_at >= self._reload:
                self._reloaded_at = now
                self._reload_articles()
            if force or self._refreshed_at is None or now - self._refreshed_at >= self._refresh:
                self._refreshed_at = now
                self._refresh_feedback(now)

    def _reload_articles(self) -> None:
        reload = getattr(self.inner, "reload_if_changed", None)
        if reload is None:
            return
        try:
            if reload():
                logger.info("knowledge base reloaded: %d articles", len(getattr(self.inner, "articles", ())))
        except KnowledgeBaseError as error:
            logger.warning("knowledge folder changed but cannot be loaded, keeping the previous articles: %s", error)

    def _refresh_feedback(self, now: datetime) -> None:
        try:
            with self._uow() as uow:
                fold_feedback(uow, now)
                totals = load_feedback(uow)
                learned = LearnedPhrasingRepository(uow.session).all()
                uow.commit()
        except Exception:
            logger.exception("could not refresh the knowledge-base feedback; ranking unchanged")
            return
        set_learned = getattr(self.inner, "set_learned", None)
        if set_learned is not None:
            positive, negative = learned_by_article(learned)
            set_learned(positive, negative)
        self._adjustments = {
            article_id: adjustment(feedback, self.max_adjustment) for article_id, feedback in totals.items()
        }
