"""The ``kb_learned_phrasings`` table: the wordings the knowledge base learned for its articles.

The rules of what is learned (personal data scrubbed, clipped) are in :mod:`bot.kb_lifecycle.phrasings`;
this module only reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import KbLearnedPhrasing
from bot.db.uow import _insert_ignore

KINDS: tuple[str, ...] = ("solved", "link", "not_solved")


@dataclass(frozen=True)
class Phrasing:
    """One learned phrasing."""

    id: int
    article_id: str
    kind: str
    text: str
    source: str
    created_at: datetime


class LearnedPhrasingRepository:
    """The ``kb_learned_phrasings`` table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, article_id: str, kind: str, text: str, source: str, now: datetime) -> bool:
        """Learn a phrasing once per (article, kind, source); False when it was already there or empty."""
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
