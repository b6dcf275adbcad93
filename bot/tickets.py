"""Ticket operations: open, claim, assign, comment, wait, resolve, reopen, cancel, prioritise.

Each operation is one unit of work: it checks permissions, moves the ticket through
the lifecycle, appends the audit event and writes the notifications it causes to the
outbox, all in one transaction (see :class:`bot.notifications.Notifier`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.clock import Clock
from bot.db.models import Ticket, TicketAttachment, TicketEvent
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.errors import InvalidCommand, PermissionDenied, TicketNotFound, TicketTaken
from bot.i18n import translator
from bot.lifecycle import SYSTEM as SYSTEM  # re-exported: the bot's own actor
from bot.lifecycle import Actor as Actor  # re-exported: who performs an operation
from bot.lifecycle import next_status
from bot.notifications import Notifier
from bot.port import Attachment, Place, User
from bot.rendering import Phrase
from bot.roles import RoleDirectory
from bot.sla.priority import priority_for

logger = logging.getLogger(__name__)

PRIORITIES = ("P1", "P2", "P3", "P4")


@dataclass
class TicketDraft:
    """Everything the intake collected, ready to become a ticket."""

    title: str
    description: str = ""
    type: str = "incident"
    category: str = "helpdesk"
    impact: str = "me"
    urgency: str = "medium"
    error_message: str = ""
    url: str = ""
    started: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    channel: str = ""
    """How the request came (``phone`` for a call a technician logs); empty: the platform it was typed on."""


@dataclass(frozen=True)
class TicketView:
    """A ticket with the history its viewer may see."""

    ticket: Ticket
    events: Sequence[TicketEvent]


class TicketHooks(Protocol):
    """What a feature module (service levels) does inside the ticket's own transaction."""

    def on_open(self, ticket: Ticket) -> None:
        """A ticket was just created (set its due times)."""
        ...

    def on_status(self, ticket: Ticket, old: str, new: str) -> None:
        """The ticket's status changed (start or end a pause)."""
        ...

    def on_priority(self, ticket: Ticket) -> None:
        """A technician changed the priority (recompute the due times)."""
        ...


class TicketService:
    """Every change to tickets goes through here."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, roles: RoleDirectory, notifier: Notifier) -> None:
        self._uow = uow
        self._clock = clock
        self._roles = roles
        self._notifier = notifier
        self.hooks: TicketHooks | None = None
        """Set by :func:`bot.sla.service.install` to compute due times and pauses."""

    # -- requesters -------------------------------------------------------------------------

    def open(self, requester: User, place: Place, draft: TicketDraft, language: str) -> Ticket:
        """Create a ticket from an intake; the confirmation and the technicians' card go to the outbox."""
        now = self._clock.now()
        with self._uow() as uow:
            ticket = Ticket(
                title=draft.title,
                description=draft.description,
                type=draft.type,
                category=draft.category,
                impact=draft.impact,
                urgency=draft.urgency,
                priority=priority_for(draft.impact, draft.urgency),  # type: ignore[arg-type]
                status="new",
                requester_key=requester.key,
                requester_name=requester.display_name or requester.id,
                requester_locale=language,
                contact_name=draft.contact_name,
                contact_phone=draft.contact_phone,
                contact_email=draft.contact_email,
                error_message=draft.error_message,
                url=draft.url,
                started=draft.started,
                origin_platform=place.platform,
                origin_chat_id=place.chat_id,
                channel=draft.channel or place.platform,
                created_at=now,
                updated_at=now,
            )
            uow.tickets.add(ticket)
            if self.hooks is not None:
                self.hooks.on_open(ticket)
            actor = Actor.of(requester)
            self._event(uow, ticket, actor, "created", to_value=ticket.status, text=ticket.title)
            for attachment in draft.attachments:
                self._attach(uow, ticket, actor, place.platform, attachment)
            self._notifier.ticket_opened(uow, ticket)
            uow.commit()
            logger.info("ticket #%s opened by %s (%s, %s)", ticket.id, requester.key, ticket.category, ticket.priority)
            return ticket

    def comment_from_requester(
        self, user: User, number: int, text: str, attachments: Sequence[Attachment] = ()
    ) -> Ticket:
        """A requester's message in the ticket's thread; answering a question resumes the work."""
        actor = Actor.of(user)
        with self._uow() as uow:
            ticket = self._visible(uow, user, number, for_update=True)
            if ticket.status in ("closed", "cancelled"):
                raise InvalidCommand(
                    "Ticket #{number} is {status}. To report the problem again, just describe it in a new message.",
                    number=number,
                    status=ticket.status,
                )
            if text:
                self._event(uow, ticket, actor, "comment", text=text)
            for attachment in attachments:
                self._attach(uow, ticket, actor, ticket.origin_platform, attachment)
            if ticket.status == "waiting":
                self._move(uow, ticket, actor, "answer")
            ticket.updated_at = self._clock.now()
            self._notifier.requester_commented(uow, ticket, actor, text, len(attachments))
            uow.commit()
            return ticket

    def cancel(self, user: User, number: int) -> Ticket:
        """The requester withdraws the ticket."""
        actor = Actor.of(user)
        with self._uow() as uow:
            ticket = self._visible(uow, user, number, for_update=True)
            if ticket.requester_key != user.key and not self._roles.is_team_lead(user.key):
                raise PermissionDenied("Only the person who opened ticket #{number} can cancel it.", number=number)
            self._move(uow, ticket, actor, "cancel")
            self._notifier.status_changed(uow, ticket, actor, "cancel")
            uow.commit()
            return ticket

    def confirm_resolution(self, user: User, number: int) -> Ticket:
        """The requester confirms the fix: the ticket closes."""
        actor = Actor.of(user)
        with self._uow() as uow:
            ticket = self._visible(uow, user, number, for_update=True)
            if ticket.requester_key != user.key:
                raise PermissionDenied("Only the person who opened ticket #{number} can confirm it.", number=number)
            self._move(uow, ticket, actor, "close")
            ticket.closed_at = self._clock.now()
            self._notifier.card_changed(uow, ticket)
            uow.commit()
            return ticket

    def view(self, user: User, number: int) -> TicketView:
        """A ticket and its history; requesters see their own tickets without internal notes."""
        with self._uow() as uow:
            ticket = self._visible(uow, user, number, with_attachments=True)
            technician = self._roles.is_technician(user.key)
            events = uow.events.for_ticket(ticket.id, include_notes=technician)
            return TicketView(ticket, events)

    def mine(self, user: User) -> Sequence[Ticket]:
        """The user's open and recently resolved tickets."""
        with self._uow() as uow:
            return uow.tickets.for_requester(user.key)

    def by_thread(self, place: Place) -> Ticket | None:
        """The ticket a thread (or a reply to one of its messages) belongs to."""
        if place.thread_id is None:
            return None
        with self._uow() as uow:
            return uow.tickets.by_thread(place.platform, place.chat_id, place.thread_id)

    # -- technicians ------------------------------------------------------------------------

    def claim(self, user: User, number: int) -> Ticket:
        """The technician takes a ticket nobody holds (or puts their own waiting ticket back in progress).

        The ticket is read under lock (:meth:`TicketRepository.get`), so of two technicians
        claiming at the same moment exactly one wins; the other gets :class:`TicketTaken`,
        as does anyone claiming a colleague's ticket later: taking it over is :meth:`take_over`
        or :meth:`assign`, explicit and audited.
        """
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            if ticket.assignee_key is not None and ticket.assignee_key != actor.key:
                raise TicketTaken(
                    number=number, name=ticket.assignee_name or ticket.assignee_key, holder=ticket.assignee_key
                )
            if ticket.assignee_key == actor.key and ticket.status == "in_progress":
                return ticket  # already theirs: nothing changes, nobody is told twice
            self._move(uow, ticket, actor, "claim")
            self._set_assignee(uow, ticket, actor, actor)
            self._notifier.status_changed(uow, ticket, actor, "claim")
            uow.commit()
            return ticket

    def take_over(self, user: User, number: int, holder: str) -> Ticket:
        """Take a colleague's ticket, if ``holder`` (a user key) still holds it: the confirmed take-over button.

        Audited as an ``assignee`` event (from the colleague to the technician, by the
        technician); the colleague sees it in the ticket's thread. When the ticket has
        changed hands since the offer, :class:`TicketTaken` names its new holder.
        """
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            if ticket.assignee_key == actor.key:
                return ticket  # a second press of the button
            if ticket.assignee_key != holder and ticket.assignee_key is not None:
                raise TicketTaken(
                    number=number, name=ticket.assignee_name or ticket.assignee_key, holder=ticket.assignee_key
                )
            self._reassign(uow, ticket, actor, actor)
            uow.commit()
            return ticket

    def assign(self, user: User, number: int, assignee: Actor) -> Ticket:
        """Give the ticket to a technician, taking it from whoever holds it: explicit and audited.

        The ``assignee`` event records who gave the ticket to whom and from whom; a
        colleague who held it sees the hand-over in the ticket's thread.
        """
        actor = self._technician(user)
        if not self._roles.is_technician(assignee.key):
            raise InvalidCommand(
                "{name} is not a technician: a ticket can only be assigned to a technician.", name=assignee.name
            )
        with self._uow() as uow:
            ticket = self._get(uow, number)
            self._reassign(uow, ticket, actor, assignee)
            uow.commit()
            return ticket

    def note(self, user: User, number: int, text: str) -> Ticket:
        """An internal note, never shown to the requester."""
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            self._event(uow, ticket, actor, "note", text=text)
            ticket.updated_at = self._clock.now()
            self._notifier.card_changed(uow, ticket)
            uow.commit()
            return ticket

    def reply(self, user: User, number: int, text: str) -> Ticket:
        """A public answer to the requester, posted in the ticket's thread."""
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            if ticket.status in ("closed", "cancelled"):
                raise InvalidCommand(
                    "Ticket #{number} is {status}: reopen it first.", number=number, status=ticket.status
                )
            self._event(uow, ticket, actor, "comment", text=text)
            self._first_response(ticket)
            ticket.updated_at = self._clock.now()
            self._notifier.technician_replied(uow, ticket, actor, text)
            uow.commit()
            return ticket

    def wait(self, user: User, number: int, question: str) -> Ticket:
        """Ask the requester something; the ticket waits for the answer."""
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            self._move(uow, ticket, actor, "wait")
            self._event(uow, ticket, actor, "comment", text=question)
            self._notifier.waiting_on_requester(uow, ticket, actor, question)
            uow.commit()
            return ticket

    def resolve(self, user: User, number: int, resolution: str, *, for_followers: bool = False) -> Ticket:
        """Mark the ticket resolved with a resolution note the requester receives.

        Its followers are told it is resolved, without the note — written for the requester, it may name
        them — unless ``for_followers`` says it was written for everyone affected (a problem's resolution).
        """
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            self._move(uow, ticket, actor, "resolve")
            ticket.resolution = resolution
            ticket.resolved_at = self._clock.now()
            if ticket.assignee_key is None:
                self._set_assignee(uow, ticket, actor, actor)
            self._event(uow, ticket, actor, "comment", text=resolution)
            self._notifier.resolved(uow, ticket, actor, resolution, for_followers=for_followers)
            uow.commit()
            return ticket

    def reopen(self, user: User, number: int, reason: str = "") -> Ticket:
        """Reopen a resolved ticket (a technician, or the requester saying it is still broken)."""
        actor = Actor.of(user)
        with self._uow() as uow:
            ticket = self._visible(uow, user, number, for_update=True)
            self._move(uow, ticket, actor, "reopen")
            ticket.resolved_at = None
            if reason:
                self._event(uow, ticket, actor, "comment", text=reason)
            self._notifier.status_changed(uow, ticket, actor, "reopen")
            uow.commit()
            return ticket

    def set_priority(self, user: User, number: int, priority: str) -> Ticket:
        """Override the priority computed from impact and urgency."""
        actor = self._technician(user)
        priority = priority.upper()
        if priority not in PRIORITIES:
            raise InvalidCommand(usage="/priority N P1|P2|P3|P4")
        with self._uow() as uow:
            ticket = self._get(uow, number)
            if ticket.status not in ("new", "in_progress", "waiting"):
                raise InvalidCommand(
                    "Ticket #{number} is {status}: its priority can no longer change.",
                    number=number,
                    status=ticket.status,
                )
            old = ticket.priority
            if old != priority:
                ticket.priority = priority
                ticket.updated_at = self._clock.now()
                if self.hooks is not None:
                    self.hooks.on_priority(ticket)
                self._event(uow, ticket, actor, "priority", from_value=old, to_value=priority)
                self._notifier.priority_changed(uow, ticket, actor, old)
            uow.commit()
            return ticket

    def queue(self, user: User) -> Sequence[Ticket]:
        """Open tickets, by priority then age (technicians only)."""
        self._technician(user)
        with self._uow() as uow:
            return uow.tickets.queue()

    def assigned_to(self, user: User) -> Sequence[Ticket]:
        """The technician's own open tickets."""
        self._technician(user)
        with self._uow() as uow:
            return uow.tickets.for_assignee(user.key)

    def close(self, number: int, actor: Actor = SYSTEM) -> Ticket:
        """Close a resolved ticket (the service-level scheduler does this after the grace period)."""
        with self._uow() as uow:
            ticket = self._get(uow, number)
            self._move(uow, ticket, actor, "close")
            ticket.closed_at = self._clock.now()
            self._notifier.status_changed(uow, ticket, actor, "close")
            uow.commit()
            return ticket

    def escalate(self, user: User, number: int, level: int, reason: str) -> Ticket:
        """Hand the ticket over to support level ``level`` (2 or 3) with a handover note."""
        actor = self._technician(user)
        with self._uow() as uow:
            ticket = self._get(uow, number)
            self.apply_escalation(uow, ticket, actor, level, reason)
            uow.commit()
            return ticket

    def apply_escalation(
        self, uow: UnitOfWork, ticket: Ticket, actor: Actor, level: int, reason: str, *, notice: Phrase | None = None
    ) -> None:
        """Escalate inside the caller's unit of work (the scheduler escalates on a breach).

        The audit trail records who escalated, from which level to which and why; the
        ticket waits for a technician of the new level (the assignee is cleared). A reason the bot wrote
        (``notice``: the scheduler's) reaches each technicians' place in its language; ``reason`` is what
        the history keeps.
        """
        if ticket.status not in ("new", "in_progress", "waiting"):
            raise InvalidCommand(
                "Ticket #{number} is {status}: it cannot be escalated.", number=ticket.id, status=ticket.status
            )
        if not reason.strip():
            raise InvalidCommand(
                "A handover note is required: /escalate {number} L{level} what was tried and why.",
                number=ticket.id,
                level=level,
            )
        if level <= ticket.support_level or level > 3:
            raise InvalidCommand(
                "Ticket #{number} is at level L{current}: it can only go up, to L2 or L3.",
                number=ticket.id,
                current=ticket.support_level,
            )
        old = ticket.support_level
        ticket.support_level = level
        ticket.assignee_key = None
        ticket.assignee_name = None
        ticket.updated_at = self._clock.now()
        self._event(uow, ticket, actor, "level", from_value=f"L{old}", to_value=f"L{level}", text=reason.strip())
        self._notifier.escalated(uow, ticket, actor, old, notice or reason.strip())

    def apply_auto_close(self, uow: UnitOfWork, ticket: Ticket, note: Phrase, actor: Actor = SYSTEM) -> None:
        """Close a waiting or resolved ticket inside the caller's unit of work (scheduler deadlines).

        A waiting ticket is first resolved with ``note`` as its resolution, so the audit
        trail shows both steps (written in the ticket's language); the requester gets ``note`` in the
        ticket's thread, in their language when it is delivered.
        """
        text = note.render(translator(ticket.requester_locale), self._clock.now())
        if ticket.status == "waiting":
            self._move(uow, ticket, actor, "resolve")
            ticket.resolution = text
            ticket.resolved_at = self._clock.now()
        self._move(uow, ticket, actor, "close")
        ticket.closed_at = self._clock.now()
        self._event(uow, ticket, actor, "comment", text=text)
        self._notifier.auto_closed(uow, ticket, note)

    # -- internals --------------------------------------------------------------------------

    def _technician(self, user: User) -> Actor:
        self._roles.require_technician(user.key)
        return Actor.of(user)

    def _get(self, uow: UnitOfWork, number: int) -> Ticket:
        ticket = uow.tickets.get(number, for_update=True)
        if ticket is None:
            raise TicketNotFound(number=number)
        return ticket

    def _visible(
        self, uow: UnitOfWork, user: User, number: int, *, for_update: bool = False, with_attachments: bool = False
    ) -> Ticket:
        ticket = uow.tickets.get(number, for_update=for_update, with_attachments=with_attachments)
        if ticket is None or (ticket.requester_key != user.key and not self._roles.is_technician(user.key)):
            # Someone else's ticket is reported exactly like a missing one: numbers leak nothing.
            raise TicketNotFound(number=number)
        return ticket

    def _move(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, action: str) -> None:
        old = ticket.status
        new = next_status(ticket.id, old, action)
        ticket.status = new
        ticket.updated_at = self._clock.now()
        if action in ("claim", "assign", "wait", "resolve"):
            self._first_response(ticket)
        if old != new:
            self._event(uow, ticket, actor, "status", from_value=old, to_value=new)
            if self.hooks is not None:
                self.hooks.on_status(ticket, old, new)

    def _reassign(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, assignee: Actor) -> None:
        previous_key, previous_name = ticket.assignee_key, ticket.assignee_name
        self._move(uow, ticket, actor, "assign")
        self._set_assignee(uow, ticket, actor, assignee)
        if previous_key is not None and previous_key != assignee.key:
            self._notifier.taken_over(uow, ticket, actor, previous_name or previous_key)
        self._notifier.status_changed(uow, ticket, actor, "assign")

    def _set_assignee(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, assignee: Actor) -> None:
        if ticket.assignee_key == assignee.key:
            return
        old = ticket.assignee_name
        ticket.assignee_key = assignee.key
        ticket.assignee_name = assignee.name
        self._event(uow, ticket, actor, "assignee", from_value=old, to_value=assignee.name)

    def _first_response(self, ticket: Ticket) -> None:
        if ticket.first_response_at is None:
            ticket.first_response_at = self._clock.now()

    def _attach(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, platform: str, attachment: Attachment) -> None:
        ticket.attachments.append(
            TicketAttachment(
                platform=platform,
                kind=attachment.kind,
                ref=attachment.ref,
                name=attachment.name,
                url=attachment.url,
                mime_type=attachment.mime_type,
                added_by=actor.key,
                added_at=self._clock.now(),
            )
        )
        self._event(uow, ticket, actor, "attachment", text=attachment.name or attachment.ref)

    def _event(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        actor: Actor,
        kind: str,
        *,
        from_value: str | None = None,
        to_value: str | None = None,
        text: str = "",
    ) -> None:
        uow.events.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=self._clock.now(),
                actor_key=actor.key,
                actor_name=actor.name,
                kind=kind,
                from_value=from_value,
                to_value=to_value,
                text=text,
            )
        )
