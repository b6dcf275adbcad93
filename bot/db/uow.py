"""Repositories and the unit of work: the only code that speaks SQL.

A :class:`UnitOfWork` is one transaction. Services change tickets through the
repositories, append audit events and outbox entries, and commit once, so a change
and the notifications it causes are saved together or not at all.

Incoming events run in one *event* unit of work (:meth:`SqlUnitOfWorkFactory.event`):
while it is current, every ``uow()`` a service opens joins it (a :class:`JoinedUnitOfWork`
sharing its session, whose ``commit()`` only flushes), so an event's conversation, ticket
changes, audit events, outbox entries and processed-event row are committed together,
once, by the pipeline in :meth:`bot.core.HelpdeskCore.process`. Outside an event (the
outbox dispatcher, scheduled jobs, the CLI) ``uow()`` is a transaction of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import datetime
from types import TracebackType
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Engine, Table, bindparam, delete, exists, func, insert, inspect, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.models import (
    ChatFact,
    Conversation,
    IncidentReport,
    KbArticleFeedback,
    KbFeedbackFolded,
    MessageRef,
    OutboxEntry,
    Problem,
    ProblemLink,
    ProcessedEvent,
    Satisfaction,
    SlaAction,
    SuggestionLog,
    Ticket,
    TicketEvent,
    TicketFollower,
    UserPreference,
    Visit,
)

OPEN_STATUSES = ("new", "in_progress", "waiting")

_ADDED_ENTRIES = "outbox_added"
"""``Session.info`` key of the outbox entries queued in the session (:meth:`OutboxRepository.added`)."""
_LEASE = "outbox_lease"
"""``Session.info`` key of the lease new entries are written with (:meth:`OutboxRepository.lease_new_entries`)."""

_DUE_COLUMNS = (
    "id",
    "platform",
    "chat_id",
    "thread_id",
    "ticket_id",
    "purpose",
    "payload",
    "created_at",
    "attempts",
    "attempted_at",
)


class DueEntry(NamedTuple):
    """An outbox entry as a dispatch round reads it (:meth:`OutboxRepository.lock_due`)."""

    id: int
    platform: str
    chat_id: str
    thread_id: str | None
    ticket_id: int | None
    purpose: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    attempted_at: datetime | None


class OutboxLease(NamedTuple):
    """A dispatcher's claim on the entries an event is about to queue, written with them.

    The entries for ``platforms`` are inserted already leased (``lease_token``, ``lease_until``,
    ``attempted_at``, one attempt), in the event's own transaction: the dispatcher that handles the
    event delivers them right after its commit with no claim of its own (no second transaction),
    and no other dispatcher takes them while the lease runs.
    """

    token: str
    platforms: tuple[str, ...]
    now: datetime
    until: datetime


# Statements of the hot path, built once (plain Core on the tables: no ORM compilation, cached SQL).
_tickets: Table = Ticket.__table__  # type: ignore[assignment]
_outbox: Table = OutboxEntry.__table__  # type: ignore[assignment]
_refs: Table = MessageRef.__table__  # type: ignore[assignment]
_THREAD_OF = select(_tickets.c.thread_id).where(_tickets.c.id == bindparam("number"))
_SET_THREAD = (
    update(_tickets)
    .where(_tickets.c.id == bindparam("number"), _tickets.c.thread_id.is_(None))
    .values(thread_id=bindparam("thread"))
)
_CLAIM_MANY = (
    update(_outbox)
    .where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        lease_until=bindparam("lease_until"),
        lease_token=bindparam("token"),
        attempted_at=bindparam("now"),
        attempts=_outbox.c.attempts + 1,
    )
)
_ENTRY_COLUMNS = (
    "created_at",
    "ticket_id",
    "platform",
    "chat_id",
    "thread_id",
    "purpose",
    "payload",
    "next_attempt_at",
    "lease_until",
    "lease_token",
    "attempted_at",
)
_INSERT_ENTRY = insert(_outbox).returning(_outbox.c.id)
_conversations: Table = Conversation.__table__  # type: ignore[assignment]
_SAVE_CONVERSATION = (
    update(_conversations)
    .where(
        _conversations.c.platform == bindparam("key_platform"),
        _conversations.c.chat_id == bindparam("key_chat"),
        _conversations.c.user_id == bindparam("key_user"),
    )
    .values(state=bindparam("state"), data=bindparam("data"), updated_at=bindparam("now"))
)
_SUPERSEDE_CARDS = (
    update(_outbox)
    .where(
        _outbox.c.ticket_id == bindparam("key_ticket"),
        _outbox.c.platform == bindparam("key_platform"),
        _outbox.c.chat_id == bindparam("key_chat"),
        _outbox.c.purpose == "card",
        _outbox.c.status == "pending",
        _outbox.c.attempts == 0,
    )
    .values(status="superseded")
)
_RELEASE = (
    update(_outbox)
    .where(
        _outbox.c.id.in_(bindparam("ids", expanding=True)),
        _outbox.c.status == "pending",
        _outbox.c.lease_token == bindparam("token"),
    )
    .values(lease_until=None, lease_token=None, attempted_at=None, attempts=_outbox.c.attempts - 1)
)
_MARK_SENT = (
    update(_outbox)
    .where(
        _outbox.c.id == bindparam("entry_id"),
        _outbox.c.status == "pending",
        _outbox.c.lease_token == bindparam("token"),
    )
    .values(
        status="sent",
        sent_at=bindparam("now"),
        sent_message_id=bindparam("message_id"),
        lease_until=None,
        lease_token=None,
        attempted_at=None,
    )
)
_FIND_MESSAGE = (
    select(_refs.c.message_id)
    .where(
        _refs.c.ticket_id == bindparam("ticket_id"),
        _refs.c.platform == bindparam("platform"),
        _refs.c.chat_id == bindparam("chat_id"),
        _refs.c.purpose == bindparam("purpose"),
    )
    .order_by(_refs.c.id.desc())
    .limit(1)
)
_LANGUAGE = select(UserPreference.__table__.c.language).where(
    UserPreference.__table__.c.user_key == bindparam("user_key")
)
_LANGUAGES = select(UserPreference.__table__.c.language, UserPreference.__table__.c.detected_language).where(
    UserPreference.__table__.c.user_key == bindparam("user_key")
)
_TOUCH_TICKET = update(_tickets).where(_tickets.c.id == bindparam("number")).values(updated_at=_tickets.c.updated_at)
_GET_TICKET: dict[tuple[bool, bool], Any] = {}


def _get_ticket_statement(lock: bool, *, with_attachments: bool) -> Any:
    """The ticket load of :meth:`TicketRepository.get`, built once per variant (its SQL and cache key reused)."""
    key = (lock, with_attachments)
    stmt = _GET_TICKET.get(key)
    if stmt is None:
        built = select(Ticket).where(Ticket.id == bindparam("number"))
        if lock:
            built = built.with_for_update()
        if with_attachments:
            built = built.options(selectinload(Ticket.attachments))
        stmt = _GET_TICKET[key] = built
    return stmt


_LOCK_DUE: dict[tuple[str, bool, bool], Any] = {}
_LOCK_CONVERSATION: dict[str, Any] = {}


def _lock_due_statement(dialect: str, by_id: bool, by_chat: bool) -> Any:
    """The due-entries query of :meth:`OutboxRepository.lock_due`, built once per variant."""
    key = (dialect, by_id, by_chat)
    stmt = _LOCK_DUE.get(key)
    if stmt is None:
        built = select(*(_outbox.c[name] for name in _DUE_COLUMNS)).where(
            _outbox.c.status == "pending",
            _outbox.c.platform.in_(bindparam("platforms", expanding=True)),
            _outbox.c.next_attempt_at <= bindparam("now"),
            or_(_outbox.c.lease_until.is_(None), _outbox.c.lease_until < bindparam("now")),
        )
        if by_id:
            built = built.where(_outbox.c.id.in_(bindparam("ids", expanding=True)))
        if by_chat:
            built = built.where(_outbox.c.chat_id.in_(bindparam("chat_ids", expanding=True)))
        built = built.order_by(_outbox.c.id).limit(bindparam("limit"))
        if dialect == "postgresql":
            built = built.with_for_update(skip_locked=True)
        stmt = _LOCK_DUE[key] = built
    return stmt


class TicketRepository:
    """Tickets by number, by requester, by thread, and the technicians' queue."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket and give it its number."""
        self.session.add(ticket)
        self.session.flush()
        return ticket

    def get(self, number: int, *, for_update: bool = False, with_attachments: bool = False) -> Ticket | None:
        """The ticket with that number; ``for_update`` locks it until the unit of work ends.

        Its attachments are loaded when first read, unless ``with_attachments`` loads them with it
        (for a ticket shown after its unit of work ends).

        Every change to a ticket reads it this way, so competing changes (two claims, a
        cancel and a resolve…) happen one after the other and the second one sees the
        first one's result, across processes:

        * PostgreSQL: ``SELECT … FOR UPDATE`` on the row; the second transaction waits, then
          reads the committed row (``populate_existing`` refreshes a ticket this session
          had already loaded, so no stale attribute survives the lock).
        * SQLite has no row locks: a no-op ``UPDATE`` first takes the database's write lock
          (other writers wait on the busy timeout), and only then is the row read.
        """
        if for_update and self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(_TOUCH_TICKET, {"number": number})
        stmt = _get_ticket_statement(
            for_update and self.session.get_bind().dialect.name != "sqlite", with_attachments=with_attachments
        )
        options = {"populate_existing": True} if for_update else {}
        return self.session.scalars(stmt, {"number": number}, execution_options=options).one_or_none()

    def thread_of(self, number: int) -> str | None:
        """The ticket's thread (its confirmation message), without loading the ticket."""
        thread_id: str | None = self.session.execute(_THREAD_OF, {"number": number}).scalar()
        return thread_id

    def set_thread(self, number: int, thread_id: str) -> None:
        """Anchor the ticket's thread at ``thread_id`` unless it already has one."""
        self.session.execute(_SET_THREAD, {"number": number, "thread": thread_id})

    def for_requester(self, requester_key: str, *, open_only: bool = True, limit: int = 20) -> Sequence[Ticket]:
        """The requester's tickets, newest first."""
        stmt = select(Ticket).where(Ticket.requester_key == requester_key).options(selectinload(Ticket.attachments))
        if open_only:
            stmt = stmt.where(Ticket.status.in_((*OPEN_STATUSES, "resolved")))
        return self.session.scalars(stmt.order_by(Ticket.id.desc()).limit(limit)).all()

    def for_assignee(self, assignee_key: str, *, limit: int = 50) -> Sequence[Ticket]:
        """Open tickets assigned to one technician, oldest first."""
        stmt = (
            select(Ticket)
            .where(Ticket.assignee_key == assignee_key, Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.id)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def queue(self, *, limit: int = 30) -> Sequence[Ticket]:
        """Open tickets, most urgent priority first, then oldest first."""
        stmt = (
            select(Ticket)
            .where(Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.priority, Ticket.created_at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def count_open(self) -> int:
        """How many tickets are open."""
        stmt = select(func.count()).select_from(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
        return int(self.session.scalar(stmt) or 0)

    def by_thread(self, platform: str, chat_id: str, thread_id: str) -> Ticket | None:
        """The ticket whose thread (or one of whose messages) is ``thread_id`` in that chat."""
        ref = self.session.scalars(
            select(MessageRef.ticket_id).where(
                MessageRef.platform == platform,
                MessageRef.chat_id == chat_id,
                MessageRef.message_id == thread_id,
            )
        ).first()
        if ref is None:
            return None
        return self.get(ref)


class EventRepository:
    """The append-only audit trail."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, event: TicketEvent) -> None:
        """Append one event."""
        self.session.add(event)

    def for_ticket(self, ticket_id: int, *, include_notes: bool = True, limit: int = 200) -> Sequence[TicketEvent]:
        """A ticket's history, oldest first."""
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
        if not include_notes:
            stmt = stmt.where(TicketEvent.kind != "note")
        return self.session.scalars(stmt.order_by(TicketEvent.id).limit(limit)).all()


class OutboxRepository:
    """Notifications waiting to be delivered, claimed one at a time by dispatchers.

    A claim sets a lease and a random token; every later change of the entry by the
    dispatcher (renew, sent, rescheduled, failed) is an UPDATE conditioned on that token,
    so it counts only while the dispatcher still holds the entry.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: OutboxEntry) -> None:
        """Queue one notification (in the caller's transaction); see :meth:`added`.

        Under :meth:`lease_new_entries`, an entry for one of the lease's platforms, due as soon as it is
        queued (no delay), is written already claimed by that lease.
        """
        lease: OutboxLease | None = self.session.info.get(_LEASE)
        if lease is not None and entry.platform in lease.platforms and entry.next_attempt_at <= entry.created_at:
            entry.lease_token = lease.token
            entry.lease_until = lease.until
            entry.attempted_at = lease.now
            entry.attempts = 1
        # One prebuilt INSERT, at once (no unit-of-work flush): the entry object only carries the values.
        values = {name: getattr(entry, name) for name in _ENTRY_COLUMNS}
        values.update(status=entry.status or "pending", attempts=entry.attempts or 0, last_error=entry.last_error or "")
        entry.id = self.session.execute(_INSERT_ENTRY, values).scalar_one()
        self.session.info.setdefault(_ADDED_ENTRIES, []).append(entry)

    def supersede_cards(self, ticket_id: int, platform: str, chat_id: str) -> None:
        """Drop the ticket's technician cards still queued for that chat and never tried: a newer
        version of the card is about to be queued (entries of this unit of work are flushed first)."""
        self.session.flush()
        self.session.execute(_SUPERSEDE_CARDS, {"key_ticket": ticket_id, "key_platform": platform, "key_chat": chat_id})

    def lease_new_entries(self, lease: OutboxLease) -> None:
        """Write every entry queued from now on in this session already claimed by ``lease`` (those for its
        platforms): the caller delivers them right after the commit (:meth:`added_entries`)."""
        self.session.info[_LEASE] = lease

    def added(self) -> list[int]:
        """Ids of the entries queued in this session since the last call: what an event delivers at once."""
        return [entry.id for entry in self.added_entries()[0]]

    def added_entries(self) -> tuple[list[OutboxEntry], list[DueEntry]]:
        """The entries queued in this session since the last call, and of those, the ones written under
        the current lease, as a dispatch round reads them."""
        entries: list[OutboxEntry] = self.session.info.pop(_ADDED_ENTRIES, [])
        lease: OutboxLease | None = self.session.info.get(_LEASE)
        leased = [
            DueEntry(*(getattr(entry, name) for name in _DUE_COLUMNS))
            for entry in entries
            if lease is not None and entry.lease_token == lease.token
        ]
        return entries, leased

    def release(self, entry_ids: Sequence[int], token: str) -> int:
        """Give back entries ``token`` holds without an attempt (not sent, not failed): due again at once."""
        if not entry_ids:
            return 0
        result = self.session.execute(_RELEASE, {"ids": list(entry_ids), "token": token})
        return int(getattr(result, "rowcount", 0) or 0)

    def lock_due(
        self,
        now: datetime,
        platforms: Sequence[str],
        *,
        ids: Sequence[int] | None = None,
        chat_ids: Sequence[str] | None = None,
        limit: int = 50,
    ) -> list[DueEntry]:
        """Due entries on these platforms (optionally only these ids or chats), oldest first, locked
        until the unit of work ends, for :meth:`claim_many`.

        PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` — entries another dispatcher is claiming at
        this moment are skipped, not waited for. SQLite: the caller begins the transaction as a
        writer (:meth:`UnitOfWork.begin_serialised`), which serialises dispatchers. One plain
        query, no ORM objects: a dispatch round reads each entry once.
        """
        dialect = self.session.get_bind().dialect.name
        stmt = _lock_due_statement(dialect, ids is not None, chat_ids is not None)
        params: dict[str, Any] = {"now": now, "platforms": list(platforms), "limit": limit}
        if ids is not None:
            params["ids"] = list(ids)
        if chat_ids is not None:
            params["chat_ids"] = list(chat_ids)
        return [DueEntry(*row) for row in self.session.execute(stmt, params)]

    def claim_many(self, entry_ids: Sequence[int], token: str, now: datetime, lease_until: datetime) -> None:
        """Take the lease on entries read by :meth:`lock_due` in this unit of work (one UPDATE)."""
        if entry_ids:
            self.session.execute(
                _CLAIM_MANY, {"ids": list(entry_ids), "token": token, "now": now, "lease_until": lease_until}
            )

    def due(
        self, now: datetime, platforms: Sequence[str], *, chat_ids: Sequence[str] | None = None, limit: int = 50
    ) -> Sequence[int]:
        """Ids of entries ready to send on these platforms, oldest first."""
        stmt = select(OutboxEntry.id).where(
            OutboxEntry.status == "pending",
            OutboxEntry.platform.in_(platforms),
            OutboxEntry.next_attempt_at <= now,
            or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now),
        )
        if chat_ids is not None:
            stmt = stmt.where(OutboxEntry.chat_id.in_(chat_ids))
        return self.session.scalars(stmt.order_by(OutboxEntry.id).limit(limit)).all()

    def claim(self, entry_id: int, token: str, now: datetime, lease_until: datetime) -> bool:
        """Take the lease on one entry with ``token``; ``False`` when another dispatcher holds it or it is done.

        A single conditional UPDATE, so two processes can never both claim an entry.
        """
        return self._update(
            (
                OutboxEntry.id == entry_id,
                OutboxEntry.status == "pending",
                or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now),
            ),
            lease_until=lease_until,
            lease_token=token,
            attempted_at=now,
            attempts=OutboxEntry.attempts + 1,
        )

    def renew(self, entry_ids: Sequence[int], token: str, lease_until: datetime) -> int:
        """Extend the leases ``token`` holds on these entries; returns how many it still held."""
        result = self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id.in_(entry_ids), OutboxEntry.status == "pending", OutboxEntry.lease_token == token)
            .values(lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def mark_sent(self, entry_id: int, token: str, now: datetime, message_id: str) -> bool:
        """Record the delivery; ``False`` (nothing changed) when ``token`` no longer holds the entry."""
        result = self.session.execute(
            _MARK_SENT, {"entry_id": entry_id, "token": token, "now": now, "message_id": message_id}
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def reschedule(
        self, entry_id: int, token: str, next_attempt_at: datetime, error: str, *, attempts: int | None = None
    ) -> bool:
        """Give a held entry back until ``next_attempt_at`` (optionally correcting its attempt count)."""
        values: dict[str, Any] = {
            "next_attempt_at": next_attempt_at,
            "last_error": error,
            "lease_until": None,
            "lease_token": None,
            "attempted_at": None,
        }
        if attempts is not None:
            values["attempts"] = max(attempts, 0)
        return self._held(entry_id, token, **values)

    def mark_failed(self, entry_id: int, token: str, error: str) -> bool:
        """Give up on a held entry: it becomes a dead letter (``failed``)."""
        return self._held(
            entry_id, token, status="failed", last_error=error, lease_until=None, lease_token=None, attempted_at=None
        )

    def pending_before(self, entry: OutboxEntry | DueEntry, purpose: str, *, same_chat: bool = False) -> bool:
        """Whether an entry of ``purpose`` for the same ticket (and chat) still waits to be delivered.

        Failed (dead-letter) entries do not count: they never hold back the rest of a thread.
        """
        stmt = select(OutboxEntry.id).where(
            OutboxEntry.ticket_id == entry.ticket_id,
            OutboxEntry.purpose == purpose,
            OutboxEntry.status == "pending",
            OutboxEntry.id < entry.id,
        )
        if same_chat:
            stmt = stmt.where(OutboxEntry.platform == entry.platform, OutboxEntry.chat_id == entry.chat_id)
        return self.session.scalars(stmt.limit(1)).first() is not None

    def get(self, entry_id: int) -> OutboxEntry | None:
        """One entry by id."""
        return self.session.get(OutboxEntry, entry_id)

    def reload(self, entry: OutboxEntry) -> None:
        """Read ``entry`` again from the database (after an UPDATE made without the ORM, e.g. ``mark_failed``)."""
        self.session.refresh(entry)

    def listing(self, *, statuses: Sequence[str] = ("pending", "failed"), limit: int = 100) -> Sequence[OutboxEntry]:
        """Entries in these statuses, oldest first (``helpdesk-bot outbox list``)."""
        stmt = select(OutboxEntry).where(OutboxEntry.status.in_(statuses)).order_by(OutboxEntry.id).limit(limit)
        return self.session.scalars(stmt).all()

    def retry(self, entry_id: int, now: datetime) -> bool:
        """Queue a dead letter (or a pending entry) again, due now, with a fresh attempt count."""
        return self._update(
            (OutboxEntry.id == entry_id, OutboxEntry.status.in_(("failed", "pending"))),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            lease_token=None,
            attempted_at=None,
        )

    def discard(self, entry_id: int) -> bool:
        """Drop a dead letter (or a pending entry) for good; the row stays as ``discarded``."""
        return self._update(
            (OutboxEntry.id == entry_id, OutboxEntry.status.in_(("failed", "pending"))),
            status="discarded",
            lease_until=None,
            lease_token=None,
            attempted_at=None,
        )

    def count_pending(self) -> int:
        """How many entries still wait for delivery."""
        stmt = select(func.count()).select_from(OutboxEntry).where(OutboxEntry.status == "pending")
        return int(self.session.scalar(stmt) or 0)

    def _held(self, entry_id: int, token: str, **values: Any) -> bool:
        return self._update(
            (OutboxEntry.id == entry_id, OutboxEntry.status == "pending", OutboxEntry.lease_token == token), **values
        )

    def _update(self, conditions: tuple[Any, ...], **values: Any) -> bool:
        result = self.session.execute(
            update(OutboxEntry).where(*conditions).values(**values).execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


class MessageRefRepository:
    """Which platform messages belong to which ticket."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ticket_id: int, platform: str, chat_id: str, message_id: str, purpose: str) -> None:
        """Remember a message (ignored if it is already known): one ``INSERT … ON CONFLICT DO NOTHING``."""
        _insert_ignore(
            self.session,
            MessageRef,
            {
                "ticket_id": ticket_id,
                "platform": platform,
                "chat_id": chat_id,
                "message_id": message_id,
                "purpose": purpose,
            },
        )

    def remember_fact(self, platform: str, chat_id: str, kind: str, key: str, value: str, now: datetime) -> bool:
        """Record what an adapter learnt about a chat (see :class:`ChatFact`); the first value of a key wins.

        ``INSERT … ON CONFLICT DO NOTHING``: safe when two processes learn the same thing at once.
        Returns whether the fact was new.
        """
        return _insert_ignore(
            self.session,
            ChatFact,
            {"platform": platform, "chat_id": chat_id, "kind": kind, "key": key, "value": value, "at": now},
        )

    def forget_fact(self, platform: str, chat_id: str, kind: str, key: str) -> None:
        """Drop what was recorded for that key (e.g. an address that bounced and works again)."""
        self.session.execute(
            delete(ChatFact).where(
                ChatFact.platform == platform, ChatFact.chat_id == chat_id, ChatFact.kind == kind, ChatFact.key == key
            )
        )

    def fact(self, platform: str, chat_id: str, kind: str, key: str) -> str | None:
        """The value recorded for that key, if any."""
        return self.session.scalars(
            select(ChatFact.value).where(
                ChatFact.platform == platform, ChatFact.chat_id == chat_id, ChatFact.kind == kind, ChatFact.key == key
            )
        ).first()

    def owner(self, platform: str, message_id: str) -> tuple[int, str] | None:
        """``(ticket, chat)`` of a recorded message, whatever its chat (a bounce names only the message)."""
        row = self.session.execute(
            select(MessageRef.ticket_id, MessageRef.chat_id)
            .where(MessageRef.platform == platform, MessageRef.message_id == message_id)
            .order_by(MessageRef.id)
            .limit(1)
        ).first()
        return (int(row[0]), str(row[1])) if row is not None else None

    def in_chat(self, ticket_id: int, platform: str, chat_id: str) -> list[str]:
        """Every message of the ticket in that chat, oldest first (a mail thread's Message-IDs)."""
        return list(
            self.session.scalars(
                select(MessageRef.message_id)
                .where(
                    MessageRef.ticket_id == ticket_id,
                    MessageRef.platform == platform,
                    MessageRef.chat_id == chat_id,
                )
                .order_by(MessageRef.id)
            )
        )

    def find(self, ticket_id: int, platform: str, chat_id: str, purpose: str) -> str | None:
        """The latest message of that purpose for the ticket in that chat (e.g. its card)."""
        message_id: str | None = self.session.execute(
            _FIND_MESSAGE, {"ticket_id": ticket_id, "platform": platform, "chat_id": chat_id, "purpose": purpose}
        ).scalar()
        return message_id


class ConversationRepository:
    """The narrow persistence interface of conversation state, keyed by (platform, chat, user)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._locked: list[Conversation] = []

    def get(self, platform: str, chat_id: str, user_id: str) -> Conversation | None:
        """The stored conversation, if any."""
        return self.session.get(Conversation, (platform, chat_id, user_id))

    def chat_of(self, platform: str, user_id: str) -> str | None:
        """The chat where that user last talked to the bot (their direct chat, as a rule), if any."""
        return self.session.scalars(
            select(Conversation.chat_id)
            .where(Conversation.platform == platform, Conversation.user_id == user_id)
            .order_by(Conversation.updated_at.desc())
            .limit(1)
        ).first()

    def save(self, platform: str, chat_id: str, user_id: str, state: str, data: dict[str, Any], now: datetime) -> None:
        """Store the conversation's state and data (insert or update)."""
        row = self.get(platform, chat_id, user_id)
        # A deep copy: the caller's dict (and its nested lists) must not alias the stored row.
        data = copy.deepcopy(data)
        if row is None:
            self.session.add(
                Conversation(
                    platform=platform, chat_id=chat_id, user_id=user_id, state=state, data=data, updated_at=now
                )
            )
        elif inspect(row).persistent and not self.session.is_modified(row):
            # A stored row (the one the pipeline locked): one prebuilt UPDATE, and the row in the session
            # given the values written, as if it had been read again (no unit-of-work flush).
            self.session.execute(
                _SAVE_CONVERSATION,
                {
                    "key_platform": platform,
                    "key_chat": chat_id,
                    "key_user": user_id,
                    "state": state,
                    "data": data,
                    "now": now,
                },
            )
            for name, value in (("state", state), ("data", data), ("updated_at", now)):
                set_committed_value(row, name, value)
        else:
            row.state = state
            row.data = data
            row.updated_at = now

    def delete(self, platform: str, chat_id: str, user_id: str) -> None:
        """Forget the conversation (back to idle)."""
        row = self.get(platform, chat_id, user_id)
        if row is not None:
            self.session.delete(row)

    def abandoned_intakes(self, before: datetime, *, limit: int = 200) -> list[tuple[str, str, str]]:
        """Keys (platform, chat, user) of conversations in the middle of an intake and untouched since
        ``before``, oldest first."""
        rows = self.session.execute(
            select(Conversation.platform, Conversation.chat_id, Conversation.user_id)
            .where(Conversation.state.like("intake:%"), Conversation.updated_at < before)
            .order_by(Conversation.updated_at)
            .limit(limit)
        ).all()
        return [(platform, chat_id, user_id) for platform, chat_id, user_id in rows]

    def lock(self, platform: str, chat_id: str, user_id: str, now: datetime) -> Conversation:
        """The conversation row, created idle when missing, locked until the end of the transaction.

        One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement: on PostgreSQL the
        conflicting row stays locked (like ``SELECT … FOR UPDATE``) until commit, so two
        processes handling events of one conversation take turns; on SQLite the event's
        ``BEGIN IMMEDIATE`` already serialises writers. The row is in the session's identity
        map afterwards: the core's later ``get`` costs no statement.
        """
        dialect = self.session.get_bind().dialect.name
        stmt = _LOCK_CONVERSATION.get(dialect)
        if stmt is None:
            built: Any = _dialect_insert(self.session)(_conversations).values(
                platform=bindparam("key_platform"),
                chat_id=bindparam("key_chat"),
                user_id=bindparam("key_user"),
                state="idle",
                data={},
                updated_at=bindparam("now"),
            )
            stmt = _LOCK_CONVERSATION[dialect] = built.on_conflict_do_update(
                index_elements=["platform", "chat_id", "user_id"], set_={"state": _conversations.c.state}
            ).returning(_conversations.c.state, _conversations.c.data, _conversations.c.updated_at)
        state, data, updated_at = self.session.execute(
            stmt, {"key_platform": platform, "key_chat": chat_id, "key_user": user_id, "now": now}
        ).one()
        # The row as read, put in the session's identity map without another statement (or refreshed there).
        key = self.session.identity_key(Conversation, (platform, chat_id, user_id))
        row: Conversation | None = self.session.identity_map.get(key)
        if row is None:
            row = Conversation(
                platform=platform, chat_id=chat_id, user_id=user_id, state=state, data=data, updated_at=updated_at
            )
            make_transient_to_detached(row)
            self.session.add(row)
        else:
            for name, value in (("state", state), ("data", data), ("updated_at", updated_at)):
                set_committed_value(row, name, value)
        # Held here until the unit of work ends: the session's identity map keeps only weak references.
        self._locked.append(row)
        return row

    def purge_idle(self, before: datetime) -> int:
        """Delete idle conversations untouched since ``before``; returns how many."""
        result = self.session.execute(
            delete(Conversation).where(Conversation.state == "idle", Conversation.updated_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class ProcessedEventRepository:
    """Identities of the platform events already handled (see :class:`~bot.db.models.ProcessedEvent`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, platform: str, event_id: str, now: datetime) -> bool:
        """Record an event; ``False`` when it was already recorded (a duplicate delivery).

        ``INSERT … ON CONFLICT DO NOTHING``: on PostgreSQL a second process inserting the same
        key while the first one's transaction is open waits for it, then finds the row
        (duplicate) — or inserts it, if the first one rolled back.
        """
        return _insert_ignore(
            self.session, ProcessedEvent, {"platform": platform, "event_id": event_id, "processed_at": now}
        )

    def purge(self, before: datetime) -> int:
        """Forget events processed before ``before``; returns how many rows went."""
        result = self.session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


class PreferenceRepository:
    """Per-user preferences."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def language(self, user_key: str) -> str | None:
        """The language the user chose with /lang, if any (one prebuilt query, no ORM load)."""
        language: str | None = self.session.execute(_LANGUAGE, {"user_key": user_key}).scalar()
        return language or None

    def languages(self, user_key: str) -> tuple[str | None, str | None]:
        """``(chosen, detected)``: the ``/lang`` choice and the language the platform reported last."""
        row = self.session.execute(_LANGUAGES, {"user_key": user_key}).first()
        if row is None:
            return None, None
        return row[0] or None, row[1] or None

    def detected_language(self, user_key: str) -> str | None:
        """The language the user's platform reported last, if any."""
        return self.languages(user_key)[1]

    def set_detected_language(self, user_key: str, language: str, now: datetime) -> None:
        """Remember the language the user's platform reports (kept apart from a ``/lang`` choice)."""
        row = self.session.get(UserPreference, user_key)
        if row is None:
            self.session.add(UserPreference(user_key=user_key, language="", detected_language=language, updated_at=now))
        else:
            row.detected_language = language
            row.updated_at = now

    def set_language(self, user_key: str, language: str, now: datetime) -> None:
        """Remember the user's language."""
        row = self.session.get(UserPreference, user_key)
        if row is None:
            self.session.add(UserPreference(user_key=user_key, language=language, updated_at=now))
        else:
            row.language = language
            row.updated_at = now

    def notify_email(self, user_key: str) -> str | None:
        """The address the user chose with ``/notify email``, if any."""
        row = self.session.get(UserPreference, user_key)
        return row.notify_email if row else None

    def set_notify_email(self, user_key: str, address: str | None, now: datetime) -> None:
        """Send the user's ticket updates by mail to ``address`` too (``None``: only on their platform)."""
        row = self.session.get(UserPreference, user_key)
        if row is None:
            self.session.add(UserPreference(user_key=user_key, language="", notify_email=address, updated_at=now))
        else:
            row.notify_email = address
            row.updated_at = now


class SuggestionRepository:
    """Knowledge-base suggestions and their outcome."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, log: SuggestionLog) -> int:
        """Record suggestions shown; returns the log id."""
        self.session.add(log)
        self.session.flush()
        return log.id

    def get(self, log_id: int) -> SuggestionLog | None:
        """One log entry."""
        return self.session.get(SuggestionLog, log_id)


class SlaActionRepository:
    """Scheduled service-level actions: created once when due, claimed by one process at a time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure(
        self, ticket_id: int, kind: str, seq: int, due_at: datetime, *, skipped_at: datetime | None = None
    ) -> None:
        """Create the action unless it exists (``INSERT … ON CONFLICT DO NOTHING``: safe under races).

        ``skipped_at`` creates it already finished, as ``skipped`` (superseded by a later action).
        """
        values: dict[str, Any] = {"ticket_id": ticket_id, "kind": kind, "seq": seq, "due_at": due_at, "outcome": ""}
        if skipped_at is not None:
            values.update(done_at=skipped_at, outcome="skipped")
        _insert_ignore(self.session, SlaAction, values)

    def exists(self, ticket_id: int, kind: str, seq: int) -> bool:
        """Whether that action was already created (done, skipped or pending)."""
        stmt = select(SlaAction.id).where(
            SlaAction.ticket_id == ticket_id, SlaAction.kind == kind, SlaAction.seq == seq
        )
        return self.session.scalars(stmt).first() is not None

    def due(self, now: datetime, *, limit: int = 200) -> Sequence[int]:
        """Ids of unfinished actions that are due and not held by another process, oldest first."""
        stmt = select(SlaAction.id).where(
            SlaAction.done_at.is_(None),
            SlaAction.due_at <= now,
            or_(SlaAction.claimed_until.is_(None), SlaAction.claimed_until < now),
        )
        return self.session.scalars(stmt.order_by(SlaAction.due_at, SlaAction.id).limit(limit)).all()

    def claim(self, action_id: int, now: datetime, until: datetime) -> bool:
        """Take one action until ``until``; ``False`` when another process holds it or it is done.

        One conditional UPDATE, as :meth:`OutboxRepository.claim`: two processes never both win.
        """
        result = self.session.execute(
            update(SlaAction)
            .where(
                SlaAction.id == action_id,
                SlaAction.done_at.is_(None),
                or_(SlaAction.claimed_until.is_(None), SlaAction.claimed_until < now),
            )
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def finish(self, action_id: int, now: datetime, outcome: str) -> bool:
        """Mark a claimed action finished; ``False`` if it already was (then roll back)."""
        result = self.session.execute(
            update(SlaAction)
            .where(SlaAction.id == action_id, SlaAction.done_at.is_(None))
            .values(done_at=now, outcome=outcome, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def tickets_on_the_clock(self, *, after_id: int = 0, limit: int = 500) -> Sequence[Ticket]:
        """Open and resolved tickets (whose service-level clocks run), by number, from ``after_id``."""
        stmt = (
            select(Ticket)
            .where(Ticket.status.in_((*OPEN_STATUSES, "resolved")), Ticket.id > after_id)
            .order_by(Ticket.id)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def get(self, action_id: int) -> SlaAction | None:
        """One action by id."""
        return self.session.get(SlaAction, action_id)

    def for_ticket(self, ticket_id: int) -> Sequence[SlaAction]:
        """Every action of a ticket, in creation order."""
        stmt = select(SlaAction).where(SlaAction.ticket_id == ticket_id).order_by(SlaAction.id)
        return self.session.scalars(stmt).all()


class VisitRepository:
    """On-site visits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, visit: Visit) -> Visit:
        """Store a visit and give it its id."""
        self.session.add(visit)
        self.session.flush()
        return visit

    def get(self, visit_id: int, *, for_update: bool = False) -> Visit | None:
        """One visit by id."""
        stmt = select(Visit).where(Visit.id == visit_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def for_ticket(self, ticket_id: int) -> Sequence[Visit]:
        """A ticket's visits, oldest first."""
        return self.session.scalars(select(Visit).where(Visit.ticket_id == ticket_id).order_by(Visit.id)).all()

    def upcoming_for(self, technician_key: str, now: datetime, *, limit: int = 50) -> Sequence[Visit]:
        """A technician's visits still ahead (proposed or accepted), soonest first."""
        stmt = (
            select(Visit)
            .where(Visit.technician_key == technician_key, Visit.at >= now, Visit.status.in_(("proposed", "accepted")))
            .order_by(Visit.at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def accepted_between(self, start: datetime, end: datetime, *, limit: int = 500) -> Sequence[Visit]:
        """Accepted visits in ``[start, end)`` (the reminder scan)."""
        stmt = (
            select(Visit)
            .where(Visit.status == "accepted", Visit.at >= start, Visit.at < end)
            .order_by(Visit.at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()


class SatisfactionRepository:
    """Answers to the satisfaction question."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, ticket_id: int) -> Satisfaction | None:
        """The answer for a ticket, if any."""
        return self.session.scalars(select(Satisfaction).where(Satisfaction.ticket_id == ticket_id)).one_or_none()

    def save(self, ticket_id: int, now: datetime, *, score: int | None = None, comment: str | None = None) -> None:
        """Record or update a score and/or a comment."""
        row = self.get(ticket_id)
        if row is None:
            row = Satisfaction(ticket_id=ticket_id, score=score or 0, comment=comment or "", at=now)
            self.session.add(row)
            return
        if score is not None:
            row.score = score
        if comment is not None:
            row.comment = comment
        row.at = now

    def closed_without_survey(self, since: datetime, *, limit: int = 200) -> Sequence[Ticket]:
        """Tickets closed since ``since`` that were not asked the satisfaction question yet."""
        asked = exists().where(SlaAction.ticket_id == Ticket.id, SlaAction.kind == "satisfaction")
        stmt = (
            select(Ticket)
            .where(Ticket.status == "closed", Ticket.closed_at >= since, ~asked)
            .order_by(Ticket.closed_at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()


class UnitOfWork:
    """One transaction with every repository. Use as a context manager; call :meth:`commit`.

    Leaving the block without committing rolls back.
    """

    session: Session
    tickets: TicketRepository
    events: EventRepository
    outbox: OutboxRepository
    messages: MessageRefRepository
    conversations: ConversationRepository
    preferences: PreferenceRepository
    suggestions: SuggestionRepository
    sla_actions: SlaActionRepository
    visits: VisitRepository
    satisfaction: SatisfactionRepository
    processed: ProcessedEventRepository

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
        self._attach(self._session_factory())
        return self

    def _attach(self, session: Session) -> None:
        self.session = session
        self.tickets = TicketRepository(session)
        self.events = EventRepository(session)
        self.outbox = OutboxRepository(session)
        self.messages = MessageRefRepository(session)
        self.conversations = ConversationRepository(session)
        self.preferences = PreferenceRepository(session)
        self.suggestions = SuggestionRepository(session)
        self.sla_actions = SlaActionRepository(session)
        self.visits = VisitRepository(session)
        self.satisfaction = SatisfactionRepository(session)
        self.processed = ProcessedEventRepository(session)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # close() rolls back whatever was not committed without expiring the loaded objects,
        # so results of a read-only unit of work stay usable after the block.
        self.session.close()

    def commit(self) -> None:
        """Make every change of this unit of work durable."""
        self.session.commit()

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        self.session.rollback()
        self.session.info.pop(_ADDED_ENTRIES, None)

    def begin_serialised(self) -> None:
        """Start the transaction as a writer at once (SQLite ``BEGIN IMMEDIATE``).

        SQLite has no row locks: taking the database's write lock first makes events that
        could touch the same conversation wait for each other (other processes too, up to the
        busy timeout) instead of failing with "database is locked" when they upgrade from
        reader to writer. PostgreSQL needs nothing here: the conversation row lock does it.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(text("BEGIN IMMEDIATE"))

    def restart(self) -> None:
        """Roll back everything so far and begin again (the error path of an event)."""
        self.session.rollback()
        self.session.info.pop(_ADDED_ENTRIES, None)
        self.begin_serialised()


class JoinedUnitOfWork(UnitOfWork):
    """A unit of work opened while an event's unit of work is current: the same session and transaction.

    ``commit()`` only flushes (the event commits once, at its end); leaving the block neither
    commits nor closes anything. An exception raised inside reaches the event's pipeline,
    which rolls the whole event back. ``rollback()`` is refused: discarding part of an event
    is done by raising.
    """

    def __init__(self, outer: UnitOfWork) -> None:
        super().__init__(lambda: outer.session)
        self._outer = outer

    def __enter__(self) -> UnitOfWork:
        self._attach(self._outer.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def commit(self) -> None:
        """Flush now; the event's unit of work commits at its end."""
        self.session.flush()

    def rollback(self) -> None:
        """Refused: raise an exception to abandon the event instead."""
        raise RuntimeError("a unit of work joined to an event cannot roll back alone: raise instead")


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Opens a unit of work (joined to the current event's, when there is one)."""


class EventUnitOfWorkFactory(Protocol):
    """A :data:`UnitOfWorkFactory` that can also open the unit of work of an incoming event."""

    def __call__(self) -> UnitOfWork:
        """A unit of work: the current event's (joined) or a transaction of its own."""
        ...

    def event(self) -> AbstractContextManager[UnitOfWork]:
        """The unit of work of one incoming event, current until the block ends."""
        ...


class SqlUnitOfWorkFactory:
    """Opens units of work on one engine; :meth:`event` makes one current for an incoming event.

    Calling the factory gives a fresh :class:`UnitOfWork`, or, inside :meth:`event` (same
    thread or task: a :class:`~contextvars.ContextVar`), a :class:`JoinedUnitOfWork` of the
    event's. Services therefore keep their ``with self._uow() as uow: … uow.commit()`` and
    still take part in the event's single transaction.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._current: ContextVar[UnitOfWork | None] = ContextVar(f"event_uow_{id(self)}", default=None)

    def __call__(self) -> UnitOfWork:
        outer = self._current.get()
        return UnitOfWork(self._sessions) if outer is None else JoinedUnitOfWork(outer)

    @property
    def in_event(self) -> bool:
        """Whether an event's unit of work is current here."""
        return self._current.get() is not None

    @contextmanager
    def event(self) -> Iterator[UnitOfWork]:
        """The unit of work of one incoming event: begun as a writer, current until the block ends.

        The caller commits (once); leaving without committing rolls everything back.
        """
        if self._current.get() is not None:
            raise RuntimeError("an event's unit of work is already current: events do not nest")
        with UnitOfWork(self._sessions) as uow:
            uow.begin_serialised()
            token = self._current.set(uow)
            try:
                yield uow
            finally:
                self._current.reset(token)


def unit_of_work_factory(engine: Engine) -> SqlUnitOfWorkFactory:
    """A factory of units of work bound to ``engine``."""
    return SqlUnitOfWorkFactory(engine)


def _dialect_insert(session: Session) -> Callable[..., Any]:
    """The dialect's ``insert`` construct (with ``on_conflict_*``)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(dialect)  # pragma: no cover - only SQLite and PostgreSQL are supported


def _insert_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``; True when the row was inserted (safe under races).

    The statement is built once per table, dialect and set of columns, then reused with new values.
    """
    dialect = session.get_bind().dialect.name
    key = (model.__tablename__, dialect, tuple(values))
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        built: Any = _dialect_insert(session)(model.__table__)
        primary = next(iter(model.__table__.primary_key.columns))
        stmt = _INSERT_IGNORE[key] = built.on_conflict_do_nothing().returning(primary)
    return session.execute(stmt, values).first() is not None


_INSERT_IGNORE: dict[tuple[str, str, tuple[str, ...]], Any] = {}


class KbFeedbackRepository:
    """Per-article totals of suggestion answers, folded once per suggestion log."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def unfolded(self, since: datetime, settled_before: datetime, *, limit: int = 500) -> Sequence[SuggestionLog]:
        """Logs shown since ``since`` that are decided (or undecided since before ``settled_before``)
        and not folded yet, oldest first."""
        folded = exists().where(KbFeedbackFolded.log_id == SuggestionLog.id)
        stmt = (
            select(SuggestionLog)
            .where(
                SuggestionLog.at >= since,
                or_(SuggestionLog.outcome != "shown", SuggestionLog.at < settled_before),
                ~folded,
            )
            .order_by(SuggestionLog.at)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()

    def mark_folded(self, log_id: int, now: datetime) -> bool:
        """Claim a log for folding; False when another process already folded it."""
        return _insert_ignore(self.session, KbFeedbackFolded, {"log_id": log_id, "at": now})

    def add_counts(
        self, article_id: str, now: datetime, *, shown: int = 0, solved: int = 0, not_solved: int = 0
    ) -> None:
        """Add to an article's totals (one atomic upsert)."""
        values = {
            "article_id": article_id,
            "shown": shown,
            "solved": solved,
            "not_solved": not_solved,
            "updated_at": now,
        }
        table = KbArticleFeedback.__table__
        stmt = _dialect_insert(self.session)(KbArticleFeedback).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["article_id"],
            set_={
                "shown": table.c.shown + shown,
                "solved": table.c.solved + solved,
                "not_solved": table.c.not_solved + not_solved,
                "updated_at": now,
            },
        )
        self.session.execute(stmt)

    def totals(self) -> Sequence[KbArticleFeedback]:
        """Every article's totals."""
        return self.session.scalars(select(KbArticleFeedback).order_by(KbArticleFeedback.article_id)).all()

    def tickets_between(
        self, since: datetime, until: datetime, *, after_id: int = 0, limit: int = 1000
    ) -> Sequence[Ticket]:
        """Tickets opened in ``[since, until)``, by number from ``after_id`` (for the topic report)."""
        stmt = (
            select(Ticket)
            .where(Ticket.id > after_id, Ticket.created_at >= since, Ticket.created_at < until)
            .order_by(Ticket.id)
            .limit(limit)
        )
        return self.session.scalars(stmt).all()


class FollowerRepository:
    """People following a ticket they are also affected by, and recent open tickets to follow."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, follower: TicketFollower) -> bool:
        """Add a follower; False when they already follow the ticket."""
        values = {
            column.key: getattr(follower, column.key)
            for column in TicketFollower.__table__.columns
            if column.key != "id"
        }
        return _insert_ignore(self.session, TicketFollower, values)

    def remove(self, ticket_id: int, user_key: str) -> bool:
        """Stop following; False when they did not follow it."""
        result = self.session.execute(
            delete(TicketFollower).where(TicketFollower.ticket_id == ticket_id, TicketFollower.user_key == user_key)
        )
        return bool(getattr(result, "rowcount", 0))

    def for_ticket(self, ticket_id: int) -> Sequence[TicketFollower]:
        """A ticket's followers, in the order they joined."""
        stmt = select(TicketFollower).where(TicketFollower.ticket_id == ticket_id).order_by(TicketFollower.id)
        return self.session.scalars(stmt).all()

    def followed_by(self, user_key: str) -> Sequence[int]:
        """Numbers of the tickets a user follows."""
        stmt = select(TicketFollower.ticket_id).where(TicketFollower.user_key == user_key)
        return self.session.scalars(stmt).all()

    def count(self, ticket_id: int) -> int:
        """How many people follow a ticket."""
        stmt = select(func.count()).select_from(TicketFollower).where(TicketFollower.ticket_id == ticket_id)
        return int(self.session.scalar(stmt) or 0)

    def open_summaries_since(self, since: datetime, *, limit: int = 200) -> Sequence[Any]:
        """``(id, requester_key, title, description)`` of the open tickets created since ``since``, newest first.

        The duplicate offer compares texts only; the one ticket it offers is then loaded whole.
        """
        stmt = (
            select(Ticket.id, Ticket.requester_key, Ticket.title, Ticket.description)
            .where(Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= since)
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
        return self.session.execute(stmt).all()

    def open_since(self, since: datetime, *, limit: int = 200) -> Sequence[Ticket]:
        """Open tickets created since ``since``, newest first (duplicate candidates)."""
        stmt = (
            select(Ticket)
            .where(Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= since)
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
        return self.session.scalars(stmt).all()


class IncidentReportRepository:
    """Recent problem reports, to notice many people reporting the same thing."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, report: IncidentReport) -> int:
        """Store a report; returns its id."""
        self.session.add(report)
        self.session.flush()
        return report.id

    def get(self, report_id: int) -> IncidentReport | None:
        """One report."""
        return self.session.get(IncidentReport, report_id)

    def since(self, since: datetime, *, limit: int = 500) -> Sequence[IncidentReport]:
        """Reports made since ``since``, newest first."""
        stmt = select(IncidentReport).where(IncidentReport.at >= since).order_by(IncidentReport.id.desc())
        return self.session.scalars(stmt.limit(limit)).all()

    def signatures_since(self, since: datetime, *, limit: int = 500) -> Sequence[Any]:
        """``(id, user_key, ticket_id, signature, text)`` of the reports since ``since``, newest first.

        Plain rows, not ORM objects: the comparison reads each report once and changes none.
        """
        stmt = (
            select(
                IncidentReport.id,
                IncidentReport.user_key,
                IncidentReport.ticket_id,
                IncidentReport.signature,
                IncidentReport.text,
            )
            .where(IncidentReport.at >= since)
            .order_by(IncidentReport.id.desc())
            .limit(limit)
        )
        return self.session.execute(stmt).all()

    def purge(self, before: datetime) -> None:
        """Forget reports older than ``before`` (they hold people's words)."""
        self.session.execute(delete(IncidentReport).where(IncidentReport.at < before))


class ProblemRepository:
    """Problem records and the tickets linked to them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, problem: Problem) -> Problem:
        """Store a problem and give it its number."""
        self.session.add(problem)
        self.session.flush()
        return problem

    def get(self, problem_id: int, *, for_update: bool = False) -> Problem | None:
        """One problem by number."""
        stmt = select(Problem).where(Problem.id == problem_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def open_since(self, since: datetime | None, *, limit: int = 50) -> Sequence[Problem]:
        """Open problems created since ``since`` (all when None), newest first."""
        stmt = select(Problem).where(Problem.status == "open")
        if since is not None:
            stmt = stmt.where(Problem.created_at >= since)
        return self.session.scalars(stmt.order_by(Problem.id.desc()).limit(limit)).all()

    def link(self, problem_id: int, ticket_id: int, now: datetime) -> bool:
        """Link a ticket; False when it already was."""
        return _insert_ignore(
            self.session, ProblemLink, {"problem_id": problem_id, "ticket_id": ticket_id, "linked_at": now}
        )

    def tickets(self, problem_id: int) -> Sequence[Ticket]:
        """The tickets linked to a problem, by number."""
        stmt = (
            select(Ticket)
            .join(ProblemLink, ProblemLink.ticket_id == Ticket.id)
            .where(ProblemLink.problem_id == problem_id)
            .order_by(Ticket.id)
        )
        return self.session.scalars(stmt).all()

    def of_ticket(self, ticket_id: int) -> Sequence[Problem]:
        """The problems a ticket is linked to."""
        stmt = (
            select(Problem)
            .join(ProblemLink, ProblemLink.problem_id == Problem.id)
            .where(ProblemLink.ticket_id == ticket_id)
            .order_by(Problem.id)
        )
        return self.session.scalars(stmt).all()
