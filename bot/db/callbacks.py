"""Long button values behind short tokens, in the database (Telegram's 64-byte ``callback_data``).

An adapter whose platform limits button data (Telegram) replaces a long value by a token
derived from it (the same value always gets the same token, in every process) and stores the
pair here, so that a button still works after a restart, or when another bot process
receives the press. Each row expires ``ttl`` after the value was last sent; expired rows are
deleted at most once per ``purge_every``, by whichever process is sending.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from threading import Lock
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db.models import CallbackData
from bot.db.uow import UnitOfWorkFactory

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(days=90)
"""How long a stored value outlives its last sending: a technician's card may wait weeks for a press."""


class CallbackDataRepository:
    """The ``callback_data`` table: the only code that speaks its SQL."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def remember(self, token: str, value: str, now: datetime, expires_at: datetime) -> None:
        """Store ``token → value`` or push back its expiry (one upsert: safe when two processes race)."""
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(CallbackData).values(token=token, value=value, created_at=now, expires_at=expires_at)
        stmt = stmt.on_conflict_do_update(index_elements=["token"], set_={"expires_at": expires_at})
        self.session.execute(stmt)

    def recall(self, token: str, now: datetime) -> str | None:
        """The value behind ``token``, unless unknown or expired."""
        stmt = select(CallbackData.value).where(CallbackData.token == token, CallbackData.expires_at > now)
        return self.session.scalars(stmt).first()

    def purge(self, now: datetime) -> int:
        """Delete expired rows; how many were deleted."""
        result = self.session.execute(delete(CallbackData).where(CallbackData.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)


class CallbackDataStore:
    """What an adapter's button codec uses: remember and recall long values, with a small local cache.

    The cache (most recent ``capacity`` tokens) saves a database round trip when this process
    sent the value itself; a value sent again is written again only once its stored expiry
    is more than a tenth of ``ttl`` old, so re-sent cards do not cost a write each time.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        ttl: timedelta = DEFAULT_TTL,
        purge_every: timedelta = timedelta(hours=1),
        capacity: int = 10_000,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ttl = ttl
        self._purge_every = purge_every
        self._capacity = capacity
        self._cache: OrderedDict[str, tuple[str, datetime]] = OrderedDict()
        self._lock = Lock()
        self._next_purge: datetime | None = None

    def remember(self, token: str, value: str) -> None:
        """Make ``token`` mean ``value`` for every process, for ``ttl`` from now."""
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(token)
        if cached is not None and cached[0] == value and now - cached[1] < self._ttl / 10:
            return
        with self._uow() as uow:
            repository = CallbackDataRepository(uow.session)
            repository.remember(token, value, now, now + self._ttl)
            if self._next_purge is None or now >= self._next_purge:
                purged = repository.purge(now)
                self._next_purge = now + self._purge_every
                if purged:
                    logger.info("purged %d expired button values", purged)
            uow.commit()
        self._cache_put(token, value, now)

    def recall(self, token: str) -> str | None:
        """The value behind ``token`` (from the cache, else the database); None when unknown or expired."""
        now = self._clock.now()
        with self._lock:
            cached = self._cache.get(token)
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        with self._uow() as uow:
            value = CallbackDataRepository(uow.session).recall(token, now)
        return value

    def _cache_put(self, token: str, value: str, now: datetime) -> None:
        with self._lock:
            self._cache[token] = (value, now)
            self._cache.move_to_end(token)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
