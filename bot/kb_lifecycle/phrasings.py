"""Learned phrasings: how the desk's users describe the problems an article solves.

Sources, each scrubbed of personal data like drafts are (:func:`bot.kb_lifecycle.drafts.scrub`):

* a confirmed "This solved it": the user's message, for the article that solved it;
* ``/kblink N ARTICLE`` (technicians) on a resolved ticket: the ticket's title and description;
* ``/kbdraft N``: the ticket's description becomes a front-matter ``questions`` entry of the draft,
  so the published article carries it.

A message that shares at least half of its informative terms with a phrasing learned for an
article is suggested that article (:meth:`bot.knowledge.KnowledgeBase.set_learned`): learning
adds near-duplicates of confirmed wordings, it does not widen what an article matches. A "Not
solved" answer records the message as a ``not_solved`` phrasing of every article shown: similar
messages then rank those articles lower.
``helpdesk-bot kb phrasings ID`` lists them and removes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import KbLearnedPhrasing
from bot.kb_lifecycle.drafts import scrub

KINDS: tuple[str, ...] = ("solved", "link", "not_solved")
MAX_CHARS = 500
"""A learned phrasing keeps at most this many characters of the message."""


@dataclass(frozen=True)
class Phrasing:
    """One learned phrasing."""

    id: int
    article_id: str
    kind: str
    text: str
    source: str
    created_at: datetime


def clean_phrasing(text: str, names: Sequence[str] = ()) -> str:
    """The message as it is learned: personal data replaced by placeholders, one line, clipped."""
    return " ".join(scrub(text, names).split())[:MAX_CHARS]


class LearnedPhrasingRepository:
    """The ``kb_learned_phrasings`` table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, article_id: str, kind: str, text: str, source: str, now: datetime) -> bool:
        """Learn a phrasing once per (article, kind, source); False when it was already there or empty."""
        from bot.db.uow import _insert_ignore

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if not text.strip():
            return False
        values: dict[str, Any] = {
            "article_id": article_id,
            "kind": kind,
            "text": text,
            "source": source,
            "created_at": now,
        }
        return _insert_ignore(self.session, KbLearnedPhrasing, values)

    def all(self) -> list[Phrasing]:
        """Every learned phrasing, oldest first."""
        rows = self.session.scalars(select(KbLearnedPhrasing).order_by(KbLearnedPhrasing.id)).all()
        return [Phrasing(r.id, r.article_id, r.kind, r.text, r.source, r.created_at) for r in rows]

    def for_article(self, article_id: str) -> list[Phrasing]:
        """The phrasings learned for one article, oldest first."""
        return [p for p in self.all() if p.article_id == article_id]

    def remove(self, phrasing_id: int) -> bool:
        """Forget one phrasing; False when there is none with this id."""
        result = self.session.execute(delete(KbLearnedPhrasing).where(KbLearnedPhrasing.id == phrasing_id))
        return bool(getattr(result, "rowcount", 0))


def learned_by_article(phrasings: Sequence[Phrasing]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(positive, negative) phrasings per article id: ``solved`` and ``link`` are positive."""
    positive: dict[str, list[str]] = {}
    negative: dict[str, list[str]] = {}
    for p in phrasings:
        target = negative if p.kind == "not_solved" else positive
        target.setdefault(p.article_id, []).append(p.text)
    return positive, negative
