"""Retention, export and erasure of personal data: the queries (the policy is :mod:`bot.privacy.service`).

What counts as personal data of a ticket, and what anonymising it does:

* the ticket: description, error message, URL, "started", resolution note, contact name,
  phone and email, requester name and id (replaced by a random pseudonym such as
  ``anonymous:3f9c…``), and where it was opened (chat and thread ids). The title, type,
  category, priority, status, assignee and every timestamp stay: statistics need them;
* its audit trail: the texts of comments, internal notes, handover notes and attachment
  names; the requester as author becomes the pseudonym. Status, assignment and priority
  changes stay;
* attachment references (file id, name, link), the satisfaction comment (the score stays),
  the place of on-site visits, delivered notifications (outbox) and message references;
* knowledge-base suggestions linked to the ticket or typed by the requester: the query is
  blanked and the user becomes the pseudonym; a suggestion followed by a ticket within a
  day is linked to it first, so the deflection figures do not change.

The pseudonym starts with ``anonymous:`` (retention) or ``erased:`` (erasure on request):
anonymised tickets are recognised by it and never processed twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.db.models import (
    Conversation,
    IncidentReport,
    MessageRef,
    OutboxEntry,
    PrivacyAudit,
    Satisfaction,
    SuggestionLog,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketFollower,
    UserPreference,
    Visit,
)
from bot.db.uow import UnitOfWorkFactory

ANONYMOUS = "anonymous:"
ERASED = "erased:"
FINISHED = ("closed", "cancelled")
STILL_OPEN = ("new", "in_progress", "waiting", "resolved")
TEXT_EVENT_KINDS = ("comment", "note", "attachment", "level")
FOLLOW_UP_WINDOW = timedelta(days=1)


def pseudonym(prefix: str) -> str:
    """A random, unlinkable stand-in for a user key (``anonymous:5c1d…``)."""
    return prefix + secrets.token_hex(6)


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` minus ``months`` calendar months (the day is clamped: 31 March − 1 month = 28/29 Feb)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")  # pragma: no cover


def _is_pseudonym(key: str) -> bool:
    return key.startswith((ANONYMOUS, ERASED))


@dataclass
class Counts:
    """Rows changed, per kind, for the audit entry (numbers only)."""

    values: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        """Count ``count`` more rows of ``kind``."""
        if count:
            self.values[kind] = self.values.get(kind, 0) + count


# -- anonymising one ticket ---------------------------------------------------------------------


def _link_follow_ups(session: Session, user_key: str, until: datetime | None = None) -> None:
    """Link the user's undecided suggestions to the ticket they opened within a day (before pseudonyms)."""
    stmt = select(SuggestionLog).where(
        SuggestionLog.user_key == user_key,
        SuggestionLog.ticket_id.is_(None),
        SuggestionLog.outcome.in_(("shown", "ignored")),
    )
    if until is not None:
        stmt = stmt.where(SuggestionLog.at < until)
    for log in session.scalars(stmt):
        follow_up = session.scalar(
            select(Ticket.id)
            .where(
                Ticket.requester_key == user_key,
                Ticket.created_at >= log.at,
                Ticket.created_at <= log.at + FOLLOW_UP_WINDOW,
            )
            .order_by(Ticket.created_at, Ticket.id)
            .limit(1)
        )
        if follow_up is not None:
            log.ticket_id = follow_up


def scrub_ticket(session: Session, ticket: Ticket, stand_in: str, counts: Counts) -> None:
    """Remove personal data from ``ticket`` (see the module docstring); ``stand_in`` is the new requester."""
    requester = ticket.requester_key
    if not _is_pseudonym(requester):
        _link_follow_ups(session, requester)
    ticket.requester_key = stand_in
    ticket.requester_name = ""
    ticket.description = ""
    ticket.error_message = ""
    ticket.url = ""
    ticket.started = ""
    ticket.resolution = ""
    ticket.contact_name = ""
    ticket.contact_phone = ""
    ticket.contact_email = ""
    ticket.origin_chat_id = ""
    ticket.thread_id = None
    counts.add("tickets", 1)
    for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
        if event.kind in TEXT_EVENT_KINDS and event.text:
            event.text = ""
            counts.add("event_texts", 1)
        if event.actor_key == requester:
            event.actor_key = stand_in
            event.actor_name = ""
    for attachment in session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id)):
        attachment.ref = ""
        attachment.name = ""
        attachment.url = ""
        if attachment.added_by == requester:
            attachment.added_by = stand_in
        counts.add("attachments", 1)
    for answer in session.scalars(select(Satisfaction).where(Satisfaction.ticket_id == ticket.id)):
        if answer.comment:
            answer.comment = ""
            counts.add("satisfaction_comments", 1)
    for visit in session.scalars(select(Visit).where(Visit.ticket_id == ticket.id)):
        visit.place = ""
    counts.add(
        "notifications",
        _rowcount(
            session.execute(
                delete(OutboxEntry).where(OutboxEntry.ticket_id == ticket.id, OutboxEntry.status != "pending")
            )
        ),
    )
    counts.add(
        "message_refs",
        _rowcount(session.execute(delete(MessageRef).where(MessageRef.ticket_id == ticket.id))),
    )
    counts.add(
        "followers",
        _rowcount(session.execute(delete(TicketFollower).where(TicketFollower.ticket_id == ticket.id))),
    )
    for log in session.scalars(
        select(SuggestionLog).where(or_(SuggestionLog.ticket_id == ticket.id, SuggestionLog.user_key == requester))
    ):
        _scrub_suggestion(log, stand_in if log.user_key == requester else None)
        counts.add("suggestions", 1)


def _scrub_suggestion(log: SuggestionLog, stand_in: str | None) -> None:
    log.query = ""
    if stand_in is not None:
        log.user_key = stand_in
    elif not _is_pseudonym(log.user_key):
        log.user_key = pseudonym(ANONYMOUS)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# -- retention ----------------------------------------------------------------------------------


def anonymise_before(
    uow: UnitOfWorkFactory,
    cutoff: datetime,
    now: datetime,
    *,
    batch_size: int = 200,
    actor: str = "scheduler",
) -> int:
    """Anonymise every ticket finished before ``cutoff``, older suggestions and conversations.

    Returns the number of tickets anonymised. Idempotent; safe to run from several processes
    (tickets are taken with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
    """
    counts = Counts()
    ended = func.coalesce(Ticket.closed_at, Ticket.updated_at)
    done = 0
    while True:
        with uow() as unit:
            session = unit.session
            batch = list(
                session.scalars(
                    select(Ticket)
                    .where(
                        Ticket.status.in_(FINISHED),
                        ended < cutoff,
                        ~Ticket.requester_key.startswith(ANONYMOUS),
                        ~Ticket.requester_key.startswith(ERASED),
                    )
                    .order_by(Ticket.id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            for ticket in batch:
                scrub_ticket(session, ticket, pseudonym(ANONYMOUS), counts)
            unit.commit()
        done += len(batch)
        if len(batch) < batch_size:
            break
    with uow() as unit:
        session = unit.session
        old_logs = list(
            session.scalars(
                select(SuggestionLog).where(
                    SuggestionLog.at < cutoff,
                    or_(SuggestionLog.query != "", ~SuggestionLog.user_key.startswith(ANONYMOUS)),
                    ~SuggestionLog.user_key.startswith(ERASED),
                )
            )
        )
        for key in {log.user_key for log in old_logs}:
            _link_follow_ups(session, key, cutoff)
        for log in old_logs:
            _scrub_suggestion(log, None)
        counts.add("suggestions", len(old_logs))
        counts.add(
            "conversations",
            _rowcount(session.execute(delete(Conversation).where(Conversation.updated_at < cutoff))),
        )
        counts.add(
            "incident_reports",
            _rowcount(session.execute(delete(IncidentReport).where(IncidentReport.at < cutoff))),
        )
        if counts.values:
            session.add(
                PrivacyAudit(
                    at=now,
                    action="anonymise",
                    actor=actor,
                    tickets=done,
                    details={"cutoff": cutoff.isoformat(), **counts.values},
                )
            )
        unit.commit()
    return done


# -- export -------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _ticket_dict(session: Session, ticket: Ticket) -> dict[str, Any]:
    answer = session.scalar(select(Satisfaction).where(Satisfaction.ticket_id == ticket.id))
    return {
        "number": ticket.id,
        "title": ticket.title,
        "description": ticket.description,
        "type": ticket.type,
        "category": ticket.category,
        "priority": ticket.priority,
        "status": ticket.status,
        "impact": ticket.impact,
        "urgency": ticket.urgency,
        "support_level": ticket.support_level,
        "requester_name": ticket.requester_name,
        "assignee": ticket.assignee_name,
        "contact": {
            "name": ticket.contact_name,
            "phone": ticket.contact_phone,
            "email": ticket.contact_email,
        },
        "error_message": ticket.error_message,
        "url": ticket.url,
        "started": ticket.started,
        "resolution": ticket.resolution,
        "opened_in": {"platform": ticket.origin_platform, "chat_id": ticket.origin_chat_id},
        "created_at": _iso(ticket.created_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "closed_at": _iso(ticket.closed_at),
        "events": [
            _event_dict(e)
            for e in session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
            )
        ],
        "attachments": [
            {"kind": a.kind, "name": a.name, "ref": a.ref, "url": a.url, "added_at": _iso(a.added_at)}
            for a in session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id))
        ],
        "satisfaction": None
        if answer is None
        else {"score": answer.score, "comment": answer.comment, "at": _iso(answer.at)},
    }


def _event_dict(event: TicketEvent) -> dict[str, Any]:
    return {
        "ticket": event.ticket_id,
        "at": _iso(event.at),
        "by": event.actor_name or event.actor_key,
        "kind": event.kind,
        "from": event.from_value,
        "to": event.to_value,
        "text": event.text,
    }


def export_user(uow: UnitOfWorkFactory, user_key: str, now: datetime) -> dict[str, Any]:
    """Everything held about ``user_key`` (``platform:id``), as JSON-ready data."""
    platform, _, user_id = user_key.partition(":")
    with uow() as unit:
        session = unit.session
        requested = list(session.scalars(select(Ticket).where(Ticket.requester_key == user_key).order_by(Ticket.id)))
        own = {t.id for t in requested}
        preference = session.get(UserPreference, user_key)
        return {
            "user": user_key,
            "exported_at": now.isoformat(),
            "preferences": None
            if preference is None
            else {
                "language": preference.language,
                "detected_language": preference.detected_language,
                "notify_email": preference.notify_email,
                "updated_at": _iso(preference.updated_at),
            },
            "tickets_requested": [_ticket_dict(session, t) for t in requested],
            "tickets_assigned": list(
                session.scalars(select(Ticket.id).where(Ticket.assignee_key == user_key).order_by(Ticket.id))
            ),
            "events_authored": [
                _event_dict(e)
                for e in session.scalars(
                    select(TicketEvent).where(TicketEvent.actor_key == user_key).order_by(TicketEvent.id)
                )
                if e.ticket_id not in own
            ],
            "suggestions": [
                {
                    "at": _iso(s.at),
                    "query": s.query,
                    "articles": s.article_ids.get("ids", []),
                    "outcome": s.outcome,
                    "ticket": s.ticket_id,
                }
                for s in session.scalars(
                    select(SuggestionLog).where(SuggestionLog.user_key == user_key).order_by(SuggestionLog.id)
                )
            ],
            "conversations": [
                {"chat_id": c.chat_id, "state": c.state, "data": c.data, "updated_at": _iso(c.updated_at)}
                for c in session.scalars(
                    select(Conversation).where(Conversation.platform == platform, Conversation.user_id == user_id)
                )
            ],
            "tickets_followed": [
                {
                    "ticket": f.ticket_id,
                    "name": f.user_name,
                    "chat_id": f.chat_id,
                    "since": _iso(f.created_at),
                }
                for f in session.scalars(select(TicketFollower).where(TicketFollower.user_key == user_key))
            ],
            "incident_reports": [
                {"at": _iso(r.at), "text": r.text, "ticket": r.ticket_id}
                for r in session.scalars(select(IncidentReport).where(IncidentReport.user_key == user_key))
            ],
            "visits_as_technician": [
                {"ticket": v.ticket_id, "at": _iso(v.at), "place": v.place, "status": v.status}
                for v in session.scalars(select(Visit).where(Visit.technician_key == user_key))
            ],
        }


# -- erasure ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasurePlan:
    """What :func:`erase_user` would change, and what prevents it (tickets still being worked on)."""

    user_key: str
    tickets: int
    open_tickets: tuple[int, ...]
    events: int
    suggestions: int
    conversations: int
    has_preferences: bool

    @property
    def holds_anything(self) -> bool:
        """Whether any data about the user exists."""
        return bool(self.tickets or self.events or self.suggestions or self.conversations or self.has_preferences)


def erasure_plan(uow: UnitOfWorkFactory, user_key: str) -> ErasurePlan:
    """Count what is held about ``user_key``."""
    platform, _, user_id = user_key.partition(":")
    with uow() as unit:
        session = unit.session
        tickets = list(session.execute(select(Ticket.id, Ticket.status).where(Ticket.requester_key == user_key)))
        return ErasurePlan(
            user_key=user_key,
            tickets=len(tickets),
            open_tickets=tuple(sorted(number for number, status in tickets if status in STILL_OPEN)),
            events=_count(
                session,
                select(func.count()).select_from(TicketEvent).where(TicketEvent.actor_key == user_key),
            ),
            suggestions=_count(
                session,
                select(func.count()).select_from(SuggestionLog).where(SuggestionLog.user_key == user_key),
            ),
            conversations=_count(
                session,
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.platform == platform, Conversation.user_id == user_id),
            ),
            has_preferences=session.get(UserPreference, user_key) is not None,
        )


def _count(session: Session, stmt: Any) -> int:
    return int(session.scalar(stmt) or 0)


class OpenTicketsRemain(Exception):
    """Erasure refused: the person's tickets are still being worked on."""

    def __init__(self, numbers: Sequence[int]) -> None:
        self.numbers = tuple(numbers)
        super().__init__("tickets still open: " + ", ".join(f"#{n}" for n in self.numbers))


def erase_user(uow: UnitOfWorkFactory, user_key: str, now: datetime, *, actor: str = "cli") -> dict[str, int]:
    """Erase the personal data of ``user_key``; keep their tickets anonymised for statistics.

    Raises :class:`OpenTicketsRemain` while one of their tickets is not closed or cancelled.
    As requester, their tickets are anonymised like the retention job does; as author or
    assignee elsewhere, their identity becomes the same random pseudonym and their name is
    removed; their preferences and conversations are deleted. One audit entry (counts only,
    no identity) is written. Returns the counts.
    """
    platform, _, user_id = user_key.partition(":")
    stand_in = pseudonym(ERASED)
    counts = Counts()
    with uow() as unit:
        session = unit.session
        tickets = list(
            session.scalars(
                select(Ticket).where(Ticket.requester_key == user_key).order_by(Ticket.id).with_for_update()
            )
        )
        still_open = [t.id for t in tickets if t.status in STILL_OPEN]
        if still_open:
            raise OpenTicketsRemain(still_open)
        names = {t.requester_name for t in tickets}
        _link_follow_ups(session, user_key)
        for ticket in tickets:
            scrub_ticket(session, ticket, stand_in, counts)
        for event in session.scalars(select(TicketEvent).where(TicketEvent.actor_key == user_key)):
            names.add(event.actor_name)
            event.actor_key = stand_in
            event.actor_name = ""
            counts.add("events", 1)
        for ticket in session.scalars(select(Ticket).where(Ticket.assignee_key == user_key)):
            names.add(ticket.assignee_name or "")
            ticket.assignee_key = stand_in
            ticket.assignee_name = ""
            counts.add("assignments", 1)
        names.discard("")
        if names:
            for event in session.scalars(
                select(TicketEvent).where(
                    TicketEvent.kind == "assignee",
                    or_(TicketEvent.to_value.in_(names), TicketEvent.from_value.in_(names)),
                )
            ):
                event.to_value = "" if event.to_value in names else event.to_value
                event.from_value = "" if event.from_value in names else event.from_value
        for attachment in session.scalars(select(TicketAttachment).where(TicketAttachment.added_by == user_key)):
            attachment.added_by = stand_in
        for visit in session.scalars(select(Visit).where(Visit.technician_key == user_key)):
            visit.technician_key = stand_in
            visit.technician_name = ""
            visit.technician_chat_id = ""
        for log in session.scalars(select(SuggestionLog).where(SuggestionLog.user_key == user_key)):
            _scrub_suggestion(log, stand_in)
            counts.add("suggestions", 1)
        counts.add(
            "conversations",
            _rowcount(
                session.execute(
                    delete(Conversation).where(Conversation.platform == platform, Conversation.user_id == user_id)
                )
            ),
        )
        counts.add(
            "preferences",
            _rowcount(session.execute(delete(UserPreference).where(UserPreference.user_key == user_key))),
        )
        counts.add(
            "followers",
            _rowcount(session.execute(delete(TicketFollower).where(TicketFollower.user_key == user_key))),
        )
        counts.add(
            "incident_reports",
            _rowcount(session.execute(delete(IncidentReport).where(IncidentReport.user_key == user_key))),
        )
        session.add(PrivacyAudit(at=now, action="erase", actor=actor, tickets=len(tickets), details=counts.values))
        unit.commit()
    return counts.values
