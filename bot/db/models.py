"""The database schema (SQLAlchemy 2 typed ORM). Migrations live in ``bot/migrations``.

Every query the bot runs while chatting is served by an index, so no step slows
down as the ticket history grows (see ``benchmarks/throughput.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the injected clock")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Ticket(Base):
    """One ticket. ``id`` is the number users quote (``#1042``)."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(20), default="incident")
    category: Mapped[str] = mapped_column(String(20), default="helpdesk")
    priority: Mapped[str] = mapped_column(String(2), default="P3")
    impact: Mapped[str] = mapped_column(String(10), default="me")
    urgency: Mapped[str] = mapped_column(String(10), default="medium")
    status: Mapped[str] = mapped_column(String(20), default="new")
    support_level: Mapped[int] = mapped_column(Integer, default=1)

    requester_key: Mapped[str] = mapped_column(String(120))
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_locale: Mapped[str] = mapped_column(String(5), default="fr")
    assignee_key: Mapped[str | None] = mapped_column(String(120), default=None)
    assignee_name: Mapped[str | None] = mapped_column(String(200), default=None)

    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    started: Mapped[str] = mapped_column(String(200), default="")

    origin_platform: Mapped[str] = mapped_column(String(20))
    origin_chat_id: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(20), default="console")
    """How the request reached the desk: console, slack, telegram, email, or phone (a call a technician logged)."""
    thread_id: Mapped[str | None] = mapped_column(String(120), default=None)
    """The requester-side message that anchors the ticket's thread, once delivered."""

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")
    response_due_at: Mapped[datetime | None] = mapped_column(default=None)
    """First technician action due (service level, working time)."""
    resolution_due_at: Mapped[datetime | None] = mapped_column(default=None)
    """Resolution due, pushed back by the working time spent waiting on the requester."""
    waiting_since: Mapped[datetime | None] = mapped_column(default=None)
    """When the ticket started waiting on the requester (``None`` when not waiting)."""
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    """Working seconds spent waiting on the requester in finished pauses."""

    attachments: Mapped[list[TicketAttachment]] = relationship(
        back_populates="ticket", order_by="TicketAttachment.id", lazy="select"
    )
    """Loaded when first read in the session (a card shows their count), or with the ticket by the
    repository queries whose tickets are shown after their unit of work ends (``with_attachments``)."""

    __table_args__ = (
        Index("ix_tickets_status_priority", "status", "priority", "created_at"),
        Index("ix_tickets_requester", "requester_key", "status"),
        Index("ix_tickets_assignee", "assignee_key", "status"),
        Index("ix_tickets_channel", "channel", "created_at"),
    )


class TicketEvent(Base):
    """The audit trail: one row per change or comment, never updated."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor_key: Mapped[str] = mapped_column(String(120))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20))
    """created, status, assignee, priority, level, comment (public), note (internal), attachment."""
    from_value: Mapped[str | None] = mapped_column(String(200), default=None)
    to_value: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)


class TicketAttachment(Base):
    """A reference to a file (screenshot, document) kept on the platform."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    mime_type: Mapped[str] = mapped_column(String(100), default="")
    added_by: Mapped[str] = mapped_column(String(120))
    added_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")


class OutboxEntry(Base):
    """A notification written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), default=None)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(120))
    thread_id: Mapped[str | None] = mapped_column(String(120), default=None)
    purpose: Mapped[str] = mapped_column(String(20))
    """confirmation (anchors the ticket thread), update, card (edited in place), direct."""
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10), default="pending")
    """pending, sent, failed (a dead letter: refused for good or out of attempts), superseded, discarded."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    """The claim's random token: the dispatcher's later changes count only while the row still carries it."""
    attempted_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the current attempt started; still set at the next claim means that attempt died mid-send."""
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_message_id: Mapped[str | None] = mapped_column(String(120), default=None)

    __table_args__ = (
        Index("ix_outbox_due", "status", "platform", "next_attempt_at"),
        Index("ix_outbox_ticket", "ticket_id", "purpose", "status"),
        Index("ix_outbox_status_id", "status", "id"),
    )


class MessageRef(Base):
    """A platform message that belongs to a ticket: its thread anchor, updates and cards.

    Lets a reply to any of them find its ticket, and lets cards be edited in place.
    """

    __tablename__ = "message_refs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(120))
    message_id: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(20))

    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "message_id", name="uq_message_refs_message"),
        Index("ix_message_refs_ticket", "ticket_id", "platform", "chat_id", "purpose"),
    )


class ChatFact(Base):
    """Something an adapter learnt about a chat that must survive a restart and be shared by processes.

    ``kind`` says what: ``topic`` (``key`` a ticket number, ``value`` its Telegram forum topic),
    ``anchor`` (``key`` a topic, ``value`` its first bot message: the ticket card), ``in_topic``
    (``key`` a bot message, ``value`` the topic it was posted in), ``prompt`` (``key`` a
    ForceReply question whose answer belongs to the main flow, ``value`` empty).
    """

    __tablename__ = "chat_facts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("platform", "chat_id", "kind", "key", name="uq_chat_facts_key"),)


class Conversation(Base):
    """The persisted state of one user's conversation with the bot in one chat."""

    __tablename__ = "conversations"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    state: Mapped[str] = mapped_column(String(30), default="idle")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class UserPreference(Base):
    """Per-user settings: the language chosen with ``/lang`` (``""``: none chosen), the one their platform
    reported, the address of ``/notify email``."""

    __tablename__ = "user_preferences"

    user_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    language: Mapped[str] = mapped_column(String(5))
    notify_email: Mapped[str | None] = mapped_column(String(254), default=None)
    """Where every update of the user's tickets is also sent by mail (``None``: only on their platform)."""
    detected_language: Mapped[str | None] = mapped_column(String(5), default=None)
    """The language the user's platform reported last (Telegram ``language_code``, Slack locale): what
    messages queued for them are written in when they chose none with ``/lang``."""
    updated_at: Mapped[datetime]


class SuggestionLog(Base):
    """Knowledge-base suggestions shown and what came of them (deflection statistics)."""

    __tablename__ = "kb_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    user_key: Mapped[str] = mapped_column(String(120))
    platform: Mapped[str] = mapped_column(String(20))
    query: Mapped[str] = mapped_column(Text)
    article_ids: Mapped[dict[str, Any]]
    """``{"ids": [...], "scores": [...]}``."""
    outcome: Mapped[str] = mapped_column(String(12), default="shown")
    """shown (no answer yet), solved, not_solved, ignored."""
    solved_by: Mapped[str | None] = mapped_column(String(200), default=None)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_kb_suggestions_at", "at"),)


class SlaAction(Base):
    """One scheduled service-level action (reminder, warning, breach, auto-close, survey).

    Rows are created by the scheduler when an action falls due, derived from the ticket's
    state; ``(ticket_id, kind, seq)`` is unique so an action can only exist once. ``seq``
    identifies the clock the action belongs to (e.g. the waiting period); a process owns
    the row while ``claimed_until`` is in the future; ``done_at`` set means finished, with
    ``outcome`` ``done`` or ``skipped`` (no longer applicable, or superseded by a later one).
    """

    __tablename__ = "sla_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(10), default="")

    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "seq", name="uq_sla_actions_ticket_kind_seq"),
        Index("ix_sla_actions_pending", "done_at", "due_at"),
    )


class Visit(Base):
    """An on-site visit proposed by a technician (or a counter-proposal by the requester)."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    technician_key: Mapped[str] = mapped_column(String(120))
    technician_name: Mapped[str] = mapped_column(String(200), default="")
    technician_platform: Mapped[str] = mapped_column(String(20), default="")
    technician_chat_id: Mapped[str] = mapped_column(String(120), default="")
    """Where the technician planned the visit: their reminders and answers go there."""
    at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    """proposed, accepted, declined, cancelled."""
    proposed_by: Mapped[str] = mapped_column(String(10), default="technician")
    """technician or requester: the other side answers."""
    reminded: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_visits_technician", "technician_key", "at"),
        Index("ix_visits_ticket", "ticket_id"),
        Index("ix_visits_at", "status", "at"),
    )


class Satisfaction(Base):
    """The requester's answer to the satisfaction question asked when a ticket closes."""

    __tablename__ = "satisfaction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class KbArticleFeedback(Base):
    """Per-article totals of the answers to knowledge-base suggestions (they feed the ranking).

    Folded from ``kb_suggestions`` once per suggestion (see :class:`KbFeedbackFolded`).
    """

    __tablename__ = "kb_article_feedback"

    article_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    shown: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    not_solved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class KbFeedbackFolded(Base):
    """Which suggestion logs were already added to :class:`KbArticleFeedback` (each exactly once)."""

    __tablename__ = "kb_feedback_folded"

    log_id: Mapped[int] = mapped_column(ForeignKey("kb_suggestions.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime]


class TicketFollower(Base):
    """Someone else affected by a ticket's problem: they receive its updates in their own chat."""

    __tablename__ = "ticket_followers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_key: Mapped[str] = mapped_column(String(120))
    user_name: Mapped[str] = mapped_column(String(200), default="")
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("ticket_id", "user_key", name="uq_ticket_followers_ticket_user"),
        Index("ix_ticket_followers_user", "user_key"),
    )


class IncidentReport(Base):
    """A new problem described in chat, kept for a day to notice many people reporting the same thing."""

    __tablename__ = "incident_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    user_key: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), default=None)
    """The open ticket the reporter chose to follow, if any."""
    signature: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    """The text's :class:`~bot.incidents.similarity.Signature`, computed once when reported."""

    __table_args__ = (Index("ix_incident_reports_at", "at"),)


class Problem(Base):
    """A problem record linking the tickets of one root cause (e.g. a major incident)."""

    __tablename__ = "problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="open")
    """open or resolved."""
    source: Mapped[str] = mapped_column(String(10), default="manual")
    """manual (``/problem new``) or major (flagged by the major-incident detector)."""
    reports: Mapped[int] = mapped_column(Integer, default=0)
    """Matching reports counted by the detector."""
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_problems_status", "status", "created_at"),)


class ProblemLink(Base):
    """A ticket linked to a problem."""

    __tablename__ = "problem_links"

    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    linked_at: Mapped[datetime]

    __table_args__ = (Index("ix_problem_links_ticket", "ticket_id"),)


class PrivacyAudit(Base):
    """What the data-protection jobs and commands did: when, what, how many rows — never whose data."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))
    """anonymise (retention job) or erase (on request)."""
    actor: Mapped[str] = mapped_column(String(120))
    """What ran it: ``scheduler`` or ``cli`` — not the person whose data it was."""
    tickets: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Counts of rows changed per kind (events, suggestions, conversations …)."""

    __table_args__ = (Index("ix_privacy_audit_at", "at"),)


class CallbackData(Base):
    """A button value too long for its platform (Telegram's 64-byte ``callback_data``), behind a short token.

    Stored so that a button keeps working after a restart and when another bot process
    receives the press; rows expire (``expires_at``, refreshed each time the value is sent
    again) and are purged (see :class:`bot.db.callbacks.CallbackDataStore`).
    """

    __tablename__ = "callback_data"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_callback_data_expires_at", "expires_at"),)


class KbLearnedPhrasing(Base):
    """A user's wording of a problem, learned for an article (scrubbed of personal data).

    ``kind`` is ``solved`` (the user confirmed "This solved it"), ``link`` (a technician linked a
    resolved ticket to the article with ``/kblink``) or ``not_solved`` (the user answered "Not
    solved" to a suggestion of the article: similar messages rank it lower). ``source`` names
    where it came from (``suggestion:12``, ``ticket:34``) and is unique per article and kind, so a
    phrasing is learned once even with several bot processes.
    """

    __tablename__ = "kb_learned_phrasings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("article_id", "kind", "source", name="uq_kb_learned_phrasings_source"),
        Index("ix_kb_learned_phrasings_article", "article_id"),
    )


class ProcessedEvent(Base):
    """One platform event the core has handled: its identity, written in the event's own transaction.

    The primary key makes a second delivery of the same event (a Slack retry reaching another
    process, a Telegram update fetched again after a restart) find its row and commit nothing.
    Rows older than ``[bot] processed_events_hours`` are purged by the scheduler.
    """

    __tablename__ = "processed_events"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime]

    __table_args__ = (Index("ix_processed_events_at", "processed_at"),)


class InboundEvent(Base):
    """A platform request received and acknowledged, waiting for a worker process to handle it.

    The HTTP front of an adapter records the raw request here (in its own commit, before it
    answers the platform) and workers claim the oldest one of each conversation: ``claimed_by``
    and ``lease_until`` are set by a claim and the row is deleted once the request is handled.
    A worker that dies leaves its lease to expire, and the request is claimed again; the
    pipeline's ``processed_events`` makes that second run a no-op if the first one committed.
    """

    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(20))
    conversation: Mapped[str] = mapped_column(String(200))
    """Requests with the same key are handled one after the other, in the order received."""
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_inbound_events_conversation", "platform", "conversation", "id"),)
