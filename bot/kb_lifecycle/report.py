"""``helpdesk-bot kb report``: what the knowledge base lacks.

* Articles shown at least ``min_shown`` times that never solved anything (rewrite or retire them).
* Frequent ticket topics without an article: the tickets of a period whose title and description
  get no confident suggestion are grouped by similar titles (:mod:`bot.incidents.similarity`);
  groups of at least ``min_tickets`` are topics worth an article, largest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.db.uow import KbFeedbackRepository, UnitOfWorkFactory
from bot.incidents.similarity import Signature, signature, similarity
from bot.kb_lifecycle.feedback import FEEDBACK_WINDOW, Matcher, fold_feedback, load_feedback


@dataclass(frozen=True)
class UnhelpfulArticle:
    """An article shown to people that never solved their problem."""

    id: str
    title: str
    shown: int
    not_solved: int


@dataclass
class MissingTopic:
    """Similar tickets that no article covers."""

    title: str
    tickets: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many tickets."""
        return len(self.tickets)


@dataclass(frozen=True)
class KbReport:
    """The whole report."""

    since: datetime
    until: datetime
    unhelpful: Sequence[UnhelpfulArticle]
    missing: Sequence[MissingTopic]
    tickets_examined: int
    tickets_uncovered: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "tickets_examined": self.tickets_examined,
            "tickets_without_article": self.tickets_uncovered,
            "unhelpful_articles": [a.__dict__ for a in self.unhelpful],
            "missing_topics": [{"title": m.title, "count": m.count, "tickets": m.tickets} for m in self.missing],
        }

    def to_text(self) -> str:
        """A readable report."""
        lines = [f"Knowledge-base report {self.since:%Y-%m-%d} – {self.until:%Y-%m-%d}", ""]
        lines.append("Articles shown but never helping:")
        if not self.unhelpful:
            lines.append("  (none)")
        for a in self.unhelpful:
            lines.append(f"  {a.id} — shown {a.shown}×, not solved {a.not_solved}× — {a.title}")
        lines += [
            "",
            f"Frequent ticket topics without an article ({self.tickets_uncovered} of "
            f"{self.tickets_examined} tickets had no matching article):",
        ]
        if not self.missing:
            lines.append("  (none)")
        for m in self.missing:
            numbers = ", ".join(f"#{n}" for n in m.tickets[:10]) + (" …" if m.count > 10 else "")
            lines.append(f"  {m.count} tickets — {m.title} ({numbers})")
        return "\n".join(lines)


def unhelpful_articles(totals: dict[str, Any], knowledge: Matcher, *, min_shown: int) -> list[UnhelpfulArticle]:
    """Articles shown at least ``min_shown`` times with no "solved" answer, most shown first."""
    found = []
    for article_id, feedback in totals.items():
        if feedback.shown >= min_shown and feedback.solved == 0:
            article = knowledge.get(article_id)
            title = str(getattr(article, "title", "")) if article is not None else "(no longer in the knowledge base)"
            found.append(UnhelpfulArticle(article_id, title, feedback.shown, feedback.not_solved))
    return sorted(found, key=lambda a: (-a.shown, a.id))


def cluster_titles(items: Sequence[tuple[int, str]], *, threshold: float) -> list[MissingTopic]:
    """Group ``(ticket number, title)`` pairs by similar titles (each joins the most similar group)."""
    groups: list[tuple[list[Signature], MissingTopic]] = []
    for number, title in items:
        sig = signature(title)
        best: tuple[float, int] | None = None
        for index, (signatures, _) in enumerate(groups):
            score = max(similarity(sig, other) for other in signatures[:20])
            if score >= threshold and (best is None or score > best[0]):
                best = (score, index)
        if best is None:
            groups.append(([sig], MissingTopic(title, [number])))
        else:
            signatures, topic = groups[best[1]]
            signatures.append(sig)
            topic.tickets.append(number)
    return [topic for _, topic in groups]


def build_report(
    uow: UnitOfWorkFactory,
    knowledge: Matcher,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    min_shown: int = 3,
    min_tickets: int = 2,
    similarity_threshold: float = 0.5,
) -> KbReport:
    """The report for tickets opened in ``[since, until)`` and the feedback gathered so far."""
    with uow() as work:
        while fold_feedback(work, now, since=min(since, now - FEEDBACK_WINDOW)):
            work.commit()
        totals = load_feedback(work)
        work.commit()
    uncovered: list[tuple[int, str]] = []
    examined = 0
    after = 0
    while True:
        with uow() as work:
            batch = KbFeedbackRepository(work.session).tickets_between(since, until, after_id=after)
        if not batch:
            break
        for ticket in batch:
            after = ticket.id
            if ticket.type == "complaint":
                continue
            examined += 1
            query = f"{ticket.title}\n{ticket.description[:300]}"
            if not knowledge.search(query, limit=1):
                uncovered.append((ticket.id, ticket.title))
    topics = [
        topic for topic in cluster_titles(uncovered, threshold=similarity_threshold) if topic.count >= min_tickets
    ]
    topics.sort(key=lambda topic: (-topic.count, topic.tickets[0]))
    return KbReport(
        since, until, unhelpful_articles(totals, knowledge, min_shown=min_shown), topics, examined, len(uncovered)
    )
