"""What each ticket change tells whom, written to the outbox in the change's own transaction.

* The requester hears about every change in the ticket's own thread (in their language), and
  also by mail when they chose ``/notify email``.
* Technicians see one card per ticket in each technicians' place (triage channel, group),
  edited in place whenever the ticket changes; requester comments are posted under it. Cards and
  technicians' notices are queued language-neutral (:mod:`bot.rendering`) and rendered in the
  language of the chat they reach when they are delivered (:meth:`Notifier.render`).

Nothing is sent from here: :class:`bot.outbox.OutboxDispatcher` delivers the entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from bot.clock import Clock
from bot.db.models import OutboxEntry, Ticket
from bot.db.uow import UnitOfWork
from bot.i18n import Translator, translator
from bot.outbox import outbox_entry
from bot.port import Button, OutgoingMessage, Place
from bot.presenters import technician_buttons, ticket_card, ticket_ref
from bot.rendering import Line, Phrase, decode_phrase, encode_lines, encode_phrase, later, later_plural, render_lines

if TYPE_CHECKING:
    from bot.lifecycle import Actor

TechnicianPlaces = Callable[[Ticket], Sequence[Place]]

MAIL_PLATFORM = "email"
MAIL_COPY = "mail_copy"
PHONE_ONLY = "phone"
"""``origin_platform`` of a caller known only by name and number: there is nothing to write to."""
"""Outbox purpose of the copy by mail of a requester's update (``/notify email``)."""


class TicketWatcher(Protocol):
    """A feature told of requester-facing changes, in the change's transaction (followers get them too)."""

    def ticket_update(self, uow: UnitOfWork, ticket: Ticket, action: str, detail: str) -> None:
        """``action``: claim, assign, reopen, cancel, close, resolve, escalate or auto_close; ``detail``: what
        may be passed on to everyone affected (a problem's resolution), else ``""``."""
        ...


class Notifier:
    """Turns ticket changes into outbox entries."""

    def __init__(self, clock: Clock, technician_places: TechnicianPlaces, technician_language: str) -> None:
        self._clock = clock
        self._places = technician_places
        self._tech_language = technician_language
        self.describe_due: Callable[[Translator, Ticket], str] | None = None
        """Set by the service levels: the working-time estimate told to the requester at open."""
        self.watchers: list[TicketWatcher] = []
        """Told of every status update the requester gets (the followers of a ticket get it too)."""

    # -- events -----------------------------------------------------------------------------

    def ticket_opened(self, uow: UnitOfWork, ticket: Ticket) -> None:
        """Confirmation with the number to the requester (it anchors the thread) and a new card.

        The confirmation is queued language-neutral too: it is written, with the requester's card and the
        estimate, in the requester's language when it is delivered (:meth:`render`)."""
        spec: dict[str, Any] = {"reader": "requester", "opened": ticket.id}
        for place, place_purpose in self._requester_places(uow, ticket, "confirmation"):
            self._add(uow, ticket, place, {"render": spec}, purpose=place_purpose)
        self.card_changed(uow, ticket)

    def _confirmation(self, t: Translator, ticket: Ticket) -> OutgoingMessage:
        """The confirmation of ``ticket`` in ``t``'s language, with the requester's card."""
        text = t(
            "Your ticket {ref} is open: “{title}” (priority {priority}).\n"
            "Quote {ref} whenever you contact the service desk about it. "
            "I will post every update here; reply to this message to add information.",
            ref=ticket_ref(ticket.id),
            title=ticket.title,
            priority=ticket.priority,
        )
        estimate = self.describe_due(t, ticket) if self.describe_due is not None else ""
        if estimate:
            text += "\n" + estimate
        card = ticket_card(t, ticket, self._clock.now(), for_technicians=False)
        return OutgoingMessage(text=text, card=card)

    def status_changed(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, action: str) -> None:
        """Claim, assign, reopen, cancel, close."""
        ref = ticket_ref(ticket.id)
        assignee = ticket.assignee_name or ""
        texts = {
            "claim": later("{ref}: {name} is taking care of your ticket.", ref=ref, name=assignee),
            "assign": later("{ref}: your ticket is now handled by {name}.", ref=ref, name=assignee),
            "reopen": later("{ref} is reopened: a technician will look at it again.", ref=ref),
            "cancel": later("{ref} is cancelled.", ref=ref),
            "close": later("{ref} is closed. Thank you!", ref=ref),
        }
        self._to_requester_later(uow, ticket, [texts[action]])
        self.card_changed(uow, ticket)
        self._watch(uow, ticket, action)

    def technician_replied(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, text: str) -> None:
        """A technician's public answer."""
        header = later("{ref} — {name} writes:", ref=ticket_ref(ticket.id), name=actor.name)
        self._to_requester_later(uow, ticket, [header, text])
        self.card_changed(uow, ticket)

    def waiting_on_requester(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, question: str) -> None:
        """The technician needs an answer: the requester replies in the thread."""
        lines: list[Line] = [
            later("{ref} — {name} needs information from you:", ref=ticket_ref(ticket.id), name=actor.name),
            question,
            later("Reply to this message to answer; the ticket waits for you."),
        ]
        self._to_requester_later(uow, ticket, lines, expects_text=True)
        self.card_changed(uow, ticket)

    def resolved(
        self, uow: UnitOfWork, ticket: Ticket, actor: Actor, resolution: str, *, for_followers: bool = False
    ) -> None:
        """The fix, with a way to say it is still broken; the watchers get the note only ``for_followers``."""
        lines: list[Line] = [
            later("{ref} is resolved:", ref=ticket_ref(ticket.id)),
            resolution,
            later("If the problem is still there, press “Still broken” and the ticket reopens."),
        ]
        buttons = (
            (later("Solved, thanks"), f"confirm:{ticket.id}", "primary"),
            (later("Still broken"), f"stillbroken:{ticket.id}", "danger"),
        )
        self._to_requester_later(uow, ticket, lines, buttons=buttons)
        self.card_changed(uow, ticket)
        self._watch(uow, ticket, "resolve", resolution if for_followers else "")

    def priority_changed(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, old: str) -> None:
        """The priority was changed by a technician."""
        line = later(
            "{ref}: priority changed from {old} to {new}.", ref=ticket_ref(ticket.id), old=old, new=ticket.priority
        )
        self._to_requester_later(uow, ticket, [line])
        self.card_changed(uow, ticket)

    def taken_over(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, previous: str) -> None:
        """Tell the technicians, under the card, that a ticket changed hands (the colleague who held it reads it)."""
        ref = ticket_ref(ticket.id)
        if actor.key == ticket.assignee_key:
            line = later(
                "{ref}: {name} took the ticket over from {previous}.", ref=ref, name=actor.name, previous=previous
            )
        else:
            line = later(
                "{ref}: {name} handed the ticket over from {previous} to {assignee}.",
                ref=ref,
                name=actor.name,
                previous=previous,
                assignee=ticket.assignee_name or "",
            )
        self.to_technicians(uow, ticket, [line])

    def requester_commented(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, text: str, files: int) -> None:
        """Show the requester's words under the technicians' card."""
        lines: list[Line] = [later("{ref} — {name} (requester) writes:", ref=ticket_ref(ticket.id), name=actor.name)]
        if text:
            lines.append(text)
        if files:
            lines.append(later_plural("({count} file attached)", "({count} files attached)", files))
        self.to_technicians(uow, ticket, lines)
        self.card_changed(uow, ticket)

    def to_technicians(self, uow: UnitOfWork, ticket: Ticket, lines: Sequence[Line]) -> None:
        """A notice under the ticket's card in every technicians' place, rendered in each place's language."""
        for place in self._places(ticket):
            self._add(uow, ticket, place, {"render": {"lines": encode_lines(lines)}}, purpose="tech_update")

    def render(self, uow: UnitOfWork, ticket_id: int | None, spec: dict[str, Any], language: str) -> OutgoingMessage:
        """A queued language-neutral message (see :mod:`bot.rendering`) in its reader's language, at delivery.

        ``language`` is the language of the place it reaches; a message for one person (``reader``: the
        ticket's requester, or a user key) is written in that person's language now: their ``/lang``
        choice, else the language their platform reported last, else ``lang`` (the one they used when
        the entry was queued), else the place's. A card is drawn from the ticket as it is now, with the
        buttons of its current status.
        """
        reader = spec.get("reader")
        ticket = uow.tickets.get(ticket_id) if ticket_id is not None and (reader or "opened" in spec) else None
        if reader == "requester":
            if ticket is not None:
                language = self.reader_language(uow, ticket.requester_key) or ticket.requester_locale
        elif reader:
            language = self.reader_language(uow, str(reader)) or spec.get("lang") or language
        t = translator(language)
        if "opened" in spec:
            if ticket is None:
                return OutgoingMessage(text=ticket_ref(int(spec["opened"])))
            return self._confirmation(t, ticket)
        if "card" in spec:
            ticket = uow.tickets.get(int(spec["card"]))
            if ticket is None:
                return OutgoingMessage(text=ticket_ref(int(spec["card"])))
            card = ticket_card(t, ticket, self._clock.now(), for_technicians=True)
            return OutgoingMessage(text=card.headline, card=card, buttons=technician_buttons(t, ticket))
        now = self._clock.now()
        buttons = tuple(
            Button(decode_phrase(label).render(t, now) if isinstance(label, dict) else str(label), value, style)
            for label, value, style in spec.get("buttons", [])
        )
        return OutgoingMessage(
            text=render_lines(t, spec.get("lines", []), now),
            buttons=buttons,
            expects_text=bool(spec.get("expects_text")),
        )

    @staticmethod
    def reader_language(uow: UnitOfWork, user_key: str) -> str | None:
        """The language ``user_key`` reads: their ``/lang`` choice, else the one their platform reported
        last (kept in the database, so every process knows it after a restart), else ``None``."""
        return uow.preferences.language(user_key) or uow.preferences.detected_language(user_key)

    def card_changed(self, uow: UnitOfWork, ticket: Ticket) -> None:
        """Queue the technicians' card in its new state (older queued versions are dropped)."""
        for place in self._places(ticket):
            uow.outbox.supersede_cards(ticket.id, place.platform, place.chat_id)
            self._add(uow, ticket, place, {"render": {"card": ticket.id}}, purpose="card")

    def escalated(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, old_level: int, reason: Line) -> None:
        """The ticket moved up a support level: the requester is told, the new level sees the note."""
        self._to_requester_later(
            uow,
            ticket,
            [
                later(
                    "{ref} is handed over to a specialised team (level {level}); they will contact you.",
                    ref=ticket_ref(ticket.id),
                    level=ticket.support_level,
                )
            ],
        )
        note = later(
            "{ref} escalated from L{old} to L{new} by {name}. Handover note:",
            ref=ticket_ref(ticket.id),
            old=old_level,
            new=ticket.support_level,
            name=actor.name,
        )
        self.card_changed(uow, ticket)
        self.to_technicians(uow, ticket, [note, reason])
        self._watch(uow, ticket, "escalate")

    def auto_closed(self, uow: UnitOfWork, ticket: Ticket, note: Phrase) -> None:
        """The scheduler closed the ticket after its deadline: the notice goes to the thread."""
        self._to_requester_later(uow, ticket, [note])
        self.card_changed(uow, ticket)
        self._watch(uow, ticket, "auto_close")

    def requester_unreachable(self, uow: UnitOfWork, entry: OutboxEntry) -> None:
        """A message for the requester was refused for good (bot blocked, account deleted, chat gone):
        the technicians are told under the ticket's card, with the contact details, so that they can phone."""
        if entry.ticket_id is None:
            return
        ticket = uow.tickets.get(entry.ticket_id)
        if ticket is None:
            return
        contact = " · ".join(part for part in (ticket.contact_phone, ticket.contact_email) if part)
        line = later(
            "{ref}: the requester {name} could not be reached on {platform} ({error}). "
            "Please contact them another way: {contact}",
            ref=ticket_ref(ticket.id),
            name=ticket.requester_name or ticket.requester_key,
            platform=entry.platform,
            error=entry.last_error or "",
            contact=contact or later("no phone or e-mail on the ticket"),
        )
        self.to_technicians(uow, ticket, [line])

    def to_requester(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        lines: Sequence[Line],
        *,
        buttons: Sequence[tuple[Phrase | str, str, str | None]] = (),
        expects_text: bool = False,
    ) -> None:
        """Any message for the requester, in the ticket's thread (reminders, visits, surveys), written in
        their language when it is delivered."""
        self._to_requester_later(uow, ticket, lines, buttons=buttons, expects_text=expects_text)

    def technician_places(self, ticket: Ticket) -> Sequence[Place]:
        """Where technicians see ``ticket`` (after routing by category, level and type)."""
        return self._places(ticket)

    def direct(
        self,
        uow: UnitOfWork,
        place: Place,
        lines: Sequence[Line],
        ticket: Ticket | None = None,
        *,
        reader: str | None = None,
        language: str | None = None,
        buttons: Sequence[tuple[Phrase | str, str, str | None]] = (),
    ) -> None:
        """Any other message to a place (a reminder, a follower's update, a major incident), written on
        delivery in the language of ``reader`` (a user key: the one person it is for; ``language`` is theirs
        as known now, used when nothing better is known then), else of the place."""
        spec: dict[str, Any] = {"lines": encode_lines(lines)}
        if reader:
            spec["reader"] = reader
        if language:
            spec["lang"] = language
        if buttons:
            spec["buttons"] = _encode_buttons(buttons)
        self._add(uow, ticket, place, {"render": spec}, purpose="direct")

    # -- internals --------------------------------------------------------------------------

    def _watch(self, uow: UnitOfWork, ticket: Ticket, action: str, detail: str = "") -> None:
        for watcher in self.watchers:
            watcher.ticket_update(uow, ticket, action, detail)

    def _to_requester_later(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        lines: Sequence[Line],
        *,
        buttons: Sequence[tuple[Phrase | str, str, str | None]] = (),
        expects_text: bool = False,
    ) -> None:
        """A status update for the requester, rendered on delivery in their language at that moment
        (their ``/lang`` choice, else the language the ticket was opened in)."""
        spec: dict[str, Any] = {"reader": "requester", "lines": encode_lines(lines)}
        if buttons:
            spec["buttons"] = _encode_buttons(buttons)
        if expects_text:
            spec["expects_text"] = True
        for place, place_purpose in self._requester_places(uow, ticket, "update"):
            self._add(uow, ticket, place, {"render": spec}, purpose=place_purpose)

    @staticmethod
    def _requester_places(uow: UnitOfWork, ticket: Ticket, purpose: str) -> list[tuple[Place, str]]:
        """Where the requester hears of ``ticket``: its own thread (none for a caller known only by
        name and number), and their mail address too when they chose ``/notify email``."""
        places = []
        if ticket.origin_platform != PHONE_ONLY:
            places.append((Place(ticket.origin_platform, ticket.origin_chat_id, None), purpose))
        if ticket.origin_platform != MAIL_PLATFORM:
            address = uow.preferences.notify_email(ticket.requester_key)
            if address:
                # The same update by mail, in the ticket's mail thread.
                places.append((Place(MAIL_PLATFORM, address, None), MAIL_COPY))
        return places

    def _add(
        self,
        uow: UnitOfWork,
        ticket: Ticket | None,
        place: Place,
        message: OutgoingMessage | dict[str, Any],
        *,
        purpose: str,
        delay: timedelta = timedelta(0),
    ) -> None:
        """Queue ``message`` (finished, or a ``{"render": …}`` payload rendered on delivery)."""
        now = self._clock.now()
        uow.outbox.add(
            outbox_entry(place, message, at=now, purpose=purpose, ticket_id=ticket.id if ticket else None, delay=delay)
        )


def _encode_buttons(buttons: Sequence[tuple[Phrase | str, str, str | None]]) -> list[list[Any]]:
    """Buttons of a deferred message: labels as phrases to translate (or text shown as it is)."""
    return [
        [encode_phrase(label) if isinstance(label, Phrase) else label, value, style] for label, value, style in buttons
    ]
