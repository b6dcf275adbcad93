"""The unit of work of the pipeline, as a Protocol: what one event's transaction offers the core.

:meth:`bot.core.HelpdeskCore.process` and the error policy of :meth:`~bot.core.HelpdeskCore._run` use only
what is declared here — the processed-events record, the conversation row (locked), the outbox and the
user's language — and the one commit (or the restart of the transaction after a failure). The SQLAlchemy
implementation is :class:`bot.db.uow.UnitOfWork` (mypy checks that it satisfies :class:`PipelineUnitOfWork`:
:func:`sql_unit_of_work`); the core's unit tests run the same pipeline on an in-memory fake
(``tests/in_memory_uow.py``), with no database at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.db.models import OutboxEntry
    from bot.db.uow import DueEntry, OutboxLease, UnitOfWork


class ConversationRow(Protocol):
    """A stored conversation: its state and data as text and JSON."""

    state: str
    data: dict[str, Any]
    updated_at: datetime


class ProcessedEvents(Protocol):
    """The platform identities of the events already handled."""

    def record(self, platform: str, event_id: str, now: datetime) -> bool:
        """Record ``event_id``; ``False`` when it was recorded before (a duplicate delivery)."""
        ...


class Conversations(Protocol):
    """One row per platform, chat and user."""

    def lock(self, platform: str, chat_id: str, user_id: str, now: datetime) -> ConversationRow:
        """The row, created idle when missing, locked until the transaction ends."""
        ...

    def get(self, platform: str, chat_id: str, user_id: str) -> ConversationRow | None:
        """The row, if any."""
        ...

    def save(self, platform: str, chat_id: str, user_id: str, state: str, data: dict[str, Any], now: datetime) -> None:
        """Store the state and data."""
        ...


class Outbox(Protocol):
    """Messages waiting to be delivered, written in the event's transaction."""

    def add(self, entry: OutboxEntry) -> None:
        """Queue one message."""
        ...

    def lease_new_entries(self, lease: OutboxLease) -> None:
        """Write the entries queued from now on already claimed by ``lease``."""
        ...

    def added_entries(self) -> tuple[list[OutboxEntry], list[DueEntry]]:
        """The entries queued since the last call, and those written under the lease."""
        ...


class Preferences(Protocol):
    """Per-user settings: the chosen and the platform-reported language."""

    def languages(self, user_key: str) -> tuple[str | None, str | None]:
        """``(chosen with /lang, reported by the platform)``."""
        ...

    def set_detected_language(self, user_key: str, language: str, now: datetime) -> None:
        """Remember the language the platform reports."""
        ...


class PipelineUnitOfWork(Protocol):
    """One event's transaction, as the pipeline sees it."""

    @property
    def processed(self) -> ProcessedEvents:
        """The processed-events record."""
        ...

    @property
    def conversations(self) -> Conversations:
        """The conversations."""
        ...

    @property
    def outbox(self) -> Outbox:
        """The outbox."""
        ...

    @property
    def preferences(self) -> Preferences:
        """The users' preferences."""
        ...

    def commit(self) -> None:
        """Make the event's changes durable (once)."""
        ...

    def restart(self) -> None:
        """Roll back everything so far and begin again (the error path)."""
        ...


def sql_unit_of_work(uow: UnitOfWork) -> PipelineUnitOfWork:
    """The SQLAlchemy unit of work as the pipeline's: written down so that mypy proves it satisfies the Protocol."""
    return uow
