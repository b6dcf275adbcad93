"""The inbound queue: platform requests acknowledged by one process and handled by others.

An adapter's HTTP front records a verified request with :meth:`InboundQueue.put` (its own
commit, before it answers the platform) and answers at once; worker processes take requests
with :meth:`InboundQueue.claim` and remove them with :meth:`InboundQueue.done` once handled.

* **Order per conversation.** A claim only takes the oldest request of each conversation key,
  and only while no earlier request of that key is still in the table: the requests of one
  conversation are handled one after the other, in the order they were recorded, whichever
  worker takes them. Different conversations are handled in parallel.
* **Nothing lost.** A claim sets a lease (``lease_until``); a worker killed while handling a
  request leaves the row in place, and once the lease expires the request is claimed again.
  The pipeline's ``processed_events`` makes that second run commit nothing if the first one
  had committed before the worker died. A request claimed more than ``max_attempts`` times
  (one that kills its worker every time) is dropped with an error in the log.
* **Concurrency.** On PostgreSQL candidates are locked with ``FOR UPDATE SKIP LOCKED``, so
  workers claiming at the same moment take different requests without waiting for each
  other; on SQLite the claim is one ``BEGIN IMMEDIATE`` transaction (SQLite serialises writers).
* **Where.** On PostgreSQL the table is in the bot's database. On SQLite, which has one writer at
  a time, it is the same table in a file of its own next to the database (``helpdesk.db`` →
  ``helpdesk-inbound.db``, see :func:`queue_engine`): recording a request must not wait for the
  write lock that the workers' events hold while they run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, Table, delete, exists, func, insert, or_, select, text, update

from bot.db.models import InboundEvent

logger = logging.getLogger(__name__)

_table: Table = InboundEvent.__table__  # type: ignore[assignment]
_earlier = _table.alias("earlier")


@dataclass(frozen=True)
class InboundItem:
    """One claimed request: its row id, conversation key, raw body and how often it was claimed."""

    id: int
    platform: str
    conversation: str
    content_type: str
    body: str
    attempts: int


def _utcnow() -> datetime:
    return datetime.now(UTC)


def queue_engine(engine: Engine) -> Engine:
    """The engine holding the queue for the bot's database ``engine``: the same one, except for a SQLite
    file, whose queue is ``<name>-inbound<suffix>`` beside it (created on first use)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return engine
    from bot.db.engine import create_db_engine

    path = Path(str(url.database))
    sibling = path.with_name(f"{path.stem}-inbound{path.suffix}")
    queue = create_db_engine(url.set(database=str(sibling)).render_as_string(hide_password=False))
    _table.create(queue, checkfirst=True)
    return queue


class InboundQueue:
    """The ``inbound_events`` table as a queue (see the module documentation)."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self._now = now
        self._postgres = engine.dialect.name == "postgresql"
        self._owned = False
        self._candidate = _table.alias("candidate")

    @classmethod
    def for_database(cls, engine: Engine, *, lease_seconds: float = 60.0) -> InboundQueue:
        """The queue of the bot's database ``engine`` (see :func:`queue_engine`); :meth:`close` it."""
        queue = cls(queue_engine(engine), lease_seconds=lease_seconds)
        queue._owned = queue.engine is not engine
        return queue

    def close(self) -> None:
        """Release the SQLite queue file's connections (nothing when the queue shares the bot's engine)."""
        if self._owned:
            self.engine.dispose()

    def put_many(self, requests: Sequence[tuple[str, str, str, str]]) -> None:
        """Record ``(platform, conversation, body, content_type)`` requests in one commit, in this order."""
        now = self._now()
        rows = [
            {
                "platform": platform,
                "conversation": conversation[:200],
                "content_type": content_type[:100],
                "body": body,
                "received_at": now,
                "attempts": 0,
            }
            for platform, conversation, body, content_type in requests
        ]
        with self.engine.begin() as connection:
            connection.execute(insert(_table), rows)  # executed row after row: ids follow the order given

    def put(self, platform: str, conversation: str, body: str, content_type: str) -> int:
        """Record one request durably (committed when this returns); its row id."""
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(_table)
                .values(
                    platform=platform,
                    conversation=conversation[:200],
                    content_type=content_type[:100],
                    body=body,
                    received_at=self._now(),
                    attempts=0,
                )
                .returning(_table.c.id)
            )
            return int(result.scalar_one())

    def claim(self, platform: str, worker: str, limit: int = 1) -> list[InboundItem]:
        """Lease up to ``limit`` requests to ``worker``: the oldest of conversations with nothing earlier pending."""
        now = self._now()
        candidate = self._candidate
        stmt = (
            select(candidate.c.id)
            .where(
                candidate.c.platform == platform,
                or_(candidate.c.lease_until.is_(None), candidate.c.lease_until < now),
                ~exists().where(
                    _earlier.c.platform == candidate.c.platform,
                    _earlier.c.conversation == candidate.c.conversation,
                    _earlier.c.id < candidate.c.id,
                ),
            )
            .order_by(candidate.c.id)
            .limit(limit)
        )
        if self._postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=candidate)
        with self.engine.begin() as connection:
            if not self._postgres:
                connection.execute(text("BEGIN IMMEDIATE"))
            ids = list(connection.execute(stmt).scalars())
            if not ids:
                return []
            connection.execute(
                update(_table)
                .where(_table.c.id.in_(ids))
                .values(claimed_by=worker[:100], lease_until=now + self.lease, attempts=_table.c.attempts + 1)
            )
            rows = connection.execute(
                select(
                    _table.c.id,
                    _table.c.platform,
                    _table.c.conversation,
                    _table.c.content_type,
                    _table.c.body,
                    _table.c.attempts,
                )
                .where(_table.c.id.in_(ids))
                .order_by(_table.c.id)
            ).all()
        return [InboundItem(*row) for row in rows]

    def done(self, item: InboundItem, worker: str) -> bool:
        """Remove a handled request; False if ``worker`` had lost its lease and another worker has it now."""
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(_table).where(_table.c.id == item.id, _table.c.claimed_by == worker[:100])
            )
        return bool(result.rowcount)

    def backlog(self, platform: str | None = None) -> int:
        """How many requests are recorded and not handled yet (claimed ones included)."""
        stmt = select(func.count()).select_from(_table)
        if platform is not None:
            stmt = stmt.where(_table.c.platform == platform)
        with self.engine.connect() as connection:
            return int(connection.execute(stmt).scalar_one())
