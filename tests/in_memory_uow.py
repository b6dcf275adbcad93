"""An in-memory unit of work (:class:`bot.unit_of_work.PipelineUnitOfWork`) for the core's unit tests.

It keeps what the pipeline touches — processed events, conversations, outbox entries, preferences — in
dictionaries, with the transaction semantics of the SQLAlchemy one: an event's changes become visible to
the next event only when it commits; ``restart()`` and leaving without a commit throw them away; inside an
event, every ``uow()`` a service opens joins it (``commit()`` there only "flushes").
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from bot.db.models import OutboxEntry


@dataclass
class Row:
    """A conversation row."""

    state: str
    data: dict[str, Any]
    updated_at: datetime


@dataclass
class Tables:
    """Everything stored."""

    processed: set[tuple[str, str]] = field(default_factory=set)
    conversations: dict[tuple[str, str, str], Row] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    languages: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


class _Processed:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def record(self, platform: str, event_id: str, now: datetime) -> bool:
        key = (platform, event_id)
        if key in self._tables.processed:
            return False
        self._tables.processed.add(key)
        return True


class _Conversations:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def lock(self, platform: str, chat_id: str, user_id: str, now: datetime) -> Row:
        return self._tables.conversations.setdefault((platform, chat_id, user_id), Row("idle", {}, now))

    def get(self, platform: str, chat_id: str, user_id: str) -> Row | None:
        return self._tables.conversations.get((platform, chat_id, user_id))

    def save(self, platform: str, chat_id: str, user_id: str, state: str, data: dict[str, Any], now: datetime) -> None:
        self._tables.conversations[(platform, chat_id, user_id)] = Row(state, copy.deepcopy(data), now)


class _Outbox:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._added: list[OutboxEntry] = []

    def add(self, entry: OutboxEntry) -> None:
        entry.id = len(self._tables.outbox) + 1
        self._tables.outbox.append(entry)
        self._added.append(entry)

    def lease_new_entries(self, lease: Any) -> None:
        """Nothing is leased here: every entry stays for the (absent) dispatcher."""

    def added_entries(self) -> tuple[list[OutboxEntry], list[Any]]:
        added, self._added = self._added, []
        return added, []


class _Preferences:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def languages(self, user_key: str) -> tuple[str | None, str | None]:
        return self._tables.languages.get(user_key, (None, None))

    def language(self, user_key: str) -> str | None:
        return self.languages(user_key)[0]

    def set_detected_language(self, user_key: str, language: str, now: datetime) -> None:
        self._tables.languages[user_key] = (self.languages(user_key)[0], language)

    def set_language(self, user_key: str, language: str, now: datetime) -> None:
        self._tables.languages[user_key] = (language or None, self.languages(user_key)[1])


class InMemoryUnitOfWork:
    """One transaction over a working copy of the committed tables."""

    def __init__(self, store: InMemoryUnitOfWorkFactory) -> None:
        self._store = store
        self.commits = 0
        self._begin()

    def _begin(self) -> None:
        self.tables = copy.deepcopy(self._store.committed)
        self.processed = _Processed(self.tables)
        self.conversations = _Conversations(self.tables)
        self.outbox = _Outbox(self.tables)
        self.preferences = _Preferences(self.tables)

    def __enter__(self) -> InMemoryUnitOfWork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def commit(self) -> None:
        """The event's single commit (a service's commit inside an event only flushes: see ``_Joined``)."""
        self._store.committed = copy.deepcopy(self.tables)
        self.commits += 1

    def restart(self) -> None:
        """Throw the changes away and begin again."""
        self._begin()


class _Joined:
    """A service's ``with uow() as uow:`` inside an event: the event's unit of work; commit only flushes."""

    def __init__(self, outer: InMemoryUnitOfWork) -> None:
        self._outer = outer

    def __enter__(self) -> _Joined:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outer, name)

    def commit(self) -> None:
        return None


class InMemoryUnitOfWorkFactory:
    """The factory the core is given: ``uow()`` (joined to the current event) and ``event()``."""

    def __init__(self) -> None:
        self.committed = Tables()
        self.events: list[InMemoryUnitOfWork] = []
        self._current: InMemoryUnitOfWork | None = None

    def __call__(self) -> Any:
        if self._current is not None:
            return _Joined(self._current)
        return InMemoryUnitOfWork(self)  # outside an event: a transaction of its own

    @contextmanager
    def event(self) -> Iterator[InMemoryUnitOfWork]:
        uow = InMemoryUnitOfWork(self)
        self.events.append(uow)
        self._current = uow
        try:
            yield uow
        finally:
            self._current = None
