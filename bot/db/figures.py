"""Read-only figures for monitoring, counted in the database so they cover every bot process.

``/readyz`` and ``/metrics`` (:mod:`bot.ops`) read them in one short transaction per request: the
outbox backlog, service-level actions done per kind, and knowledge-base suggestions per outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select

from bot.db.models import OutboxEntry, SlaAction, SuggestionLog


@dataclass(frozen=True)
class OutboxFigures:
    """Pending and failed outbox entries, and how long the oldest due one has waited."""

    backlog: int
    failed: int
    oldest_due_seconds: float


@dataclass(frozen=True)
class MonitoringFigures:
    """Everything ``/metrics`` reads from the database."""

    outbox: OutboxFigures
    due_actions: dict[str, int] = field(default_factory=dict)
    """Service-level actions done, per kind (``unclaimed``, ``response_breach``, ``auto_close``…)."""
    suggestions: dict[str, int] = field(default_factory=dict)
    """Knowledge-base suggestion logs per outcome (``shown`` while undecided, ``solved``, ``not_solved``,
    ``ignored``)."""


def outbox_figures(engine: Engine, now: datetime) -> OutboxFigures:
    """The outbox figures alone (``/readyz``)."""
    with engine.connect() as connection:
        return _outbox(connection, now)


def monitoring_figures(engine: Engine, now: datetime) -> MonitoringFigures:
    """The outbox figures and the service-level and suggestion counts, in one transaction."""
    with engine.connect() as connection:
        outbox = _outbox(connection, now)
        actions = connection.execute(
            select(SlaAction.kind, func.count()).where(SlaAction.outcome == "done").group_by(SlaAction.kind)
        ).all()
        suggestions = connection.execute(
            select(SuggestionLog.outcome, func.count()).group_by(SuggestionLog.outcome)
        ).all()
    return MonitoringFigures(
        outbox=outbox,
        due_actions={kind: int(count) for kind, count in actions},
        suggestions={outcome: int(count) for outcome, count in suggestions},
    )


def _outbox(connection: Connection, now: datetime) -> OutboxFigures:
    table = OutboxEntry.__table__
    rows = connection.execute(
        select(table.c.status, func.count(), func.min(table.c.next_attempt_at))
        .where(table.c.status.in_(("pending", "failed")))
        .group_by(table.c.status)
    ).all()
    counts = {status: (count, oldest) for status, count, oldest in rows}
    backlog, oldest = counts.get("pending", (0, None))
    oldest_due = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        oldest_due = max(0.0, (now - oldest).total_seconds())
    return OutboxFigures(backlog=backlog, failed=counts.get("failed", (0, None))[0], oldest_due_seconds=oldest_due)
