"""Delivery of outbox entries, with retries and exponential backoff.

Every notification is written to the ``outbox`` table in the same transaction as the
ticket change that caused it, so a crash never loses one. The dispatcher then:

1. lists due entries for the platforms it has a :class:`~bot.port.Messenger` for;
2. claims each entry with one conditional UPDATE (a lease), so that two dispatchers —
   two bot processes on one PostgreSQL — never send the same entry at the same time;
3. sends it, then records success (and the platform's message id: the thread anchor
   of a confirmation, the card to edit next time) in one transaction.

A failed send is retried with exponential backoff and jitter until ``max_attempts``;
a permanent failure (chat gone, bot blocked) stops at once. Delivery is at-least-once:
only a crash between the platform accepting a message and the commit that follows can
repeat it, and the lease keeps concurrent retries from doubling it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config import OutboxSection
from bot.db.models import OutboxEntry
from bot.db.uow import UnitOfWorkFactory
from bot.port import Button, DeliveryError, Messenger, Notification, OutgoingMessage, Place, SentMessage, TicketCard

logger = logging.getLogger(__name__)


def encode_message(message: OutgoingMessage) -> dict[str, Any]:
    """An :class:`OutgoingMessage` as JSON-able data for the outbox.

    Notifications carry no images: :attr:`OutgoingMessage.images` are for direct replies
    (the charts of ``/stats``), and megabytes of PNG do not belong in the outbox table.
    A message with images is refused with :class:`ValueError` rather than silently cut.
    """
    if message.images:
        raise ValueError("the outbox does not carry images: send them in a direct reply")
    data: dict[str, Any] = {"text": message.text}
    if message.buttons:
        data["buttons"] = [[b.label, b.value, b.style] for b in message.buttons]
    if message.card:
        data["card"] = {
            "number": message.card.number,
            "headline": message.card.headline,
            "fields": [list(pair) for pair in message.card.fields],
        }
    if message.expects_text:
        data["expects_text"] = True
    if message.ephemeral:
        data["ephemeral"] = True
    return data


def decode_message(data: dict[str, Any]) -> OutgoingMessage:
    """The inverse of :func:`encode_message`."""
    card = data.get("card")
    return OutgoingMessage(
        text=data["text"],
        buttons=tuple(Button(label, value, style) for label, value, style in data.get("buttons", [])),
        card=TicketCard(card["number"], card["headline"], tuple((a, b) for a, b in card["fields"])) if card else None,
        expects_text=bool(data.get("expects_text")),
        ephemeral=bool(data.get("ephemeral")),
    )


class OutboxDispatcher:
    """Delivers due outbox entries through the registered messengers."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, settings: OutboxSection) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._messengers: dict[str, Messenger] = {}
        self._wakeup = threading.Event()
        self._lock = threading.Lock()

    def register(self, messenger: Messenger) -> None:
        """Deliver entries of ``messenger.platform`` through ``messenger``."""
        self._messengers[messenger.platform] = messenger

    def messenger_for(self, platform: str) -> Messenger | None:
        """The messenger registered for ``platform``, if any."""
        return self._messengers.get(platform)

    @property
    def platforms(self) -> tuple[str, ...]:
        """Platforms this dispatcher can deliver to."""
        return tuple(self._messengers)

    def wake(self) -> None:
        """Ask the background loop (if any) to deliver now rather than at its next poll."""
        self._wakeup.set()

    def dispatch_due(self, *, chat_ids: Iterable[str] | None = None, limit: int = 200) -> int:
        """Deliver every due entry (optionally only to some chats); returns how many were sent."""
        if not self._messengers:
            return 0
        chats = list(chat_ids) if chat_ids is not None else None
        sent = 0
        with self._lock:
            now = self._clock.now()
            with self._uow() as uow:
                due = list(uow.outbox.due(now, self.platforms, chat_ids=chats, limit=limit))
            for entry_id in due:
                if self._deliver(entry_id):
                    sent += 1
        return sent

    def run_forever(self, stop: threading.Event) -> None:
        """Background loop: deliver, then wait for a wake-up or the poll interval."""
        while not stop.is_set():
            try:
                self.dispatch_due()
            except Exception:
                logger.exception("outbox dispatch round failed; retrying at the next poll")
            self._wakeup.wait(self._settings.poll_seconds)
            self._wakeup.clear()

    # -- internals --------------------------------------------------------------------------

    def _deliver(self, entry_id: int) -> bool:
        now = self._clock.now()
        lease = now + timedelta(seconds=self._settings.lease_seconds)
        with self._uow() as uow:
            entry = uow.outbox.get(entry_id)
            if entry is None or entry.status != "pending":
                return False
            notification = self._prepare(uow, entry)
            if notification is None:
                return False
            if not uow.outbox.claim(entry_id, now, lease):
                uow.rollback()
                return False
            uow.commit()
        messenger = self._messengers[notification.place.platform]
        try:
            sent = messenger.send(notification)
        except DeliveryError as error:
            self._failed(entry_id, str(error), permanent=error.permanent)
            return False
        except Exception as error:
            logger.exception("messenger %s failed on outbox entry %s", notification.place.platform, entry_id)
            self._failed(entry_id, f"{type(error).__name__}: {error}", permanent=False)
            return False
        self._succeeded(entry_id, sent)
        return True

    def _prepare(self, uow: Any, entry: OutboxEntry) -> Notification | None:
        """Resolve threads and edit targets; ``None`` means: not yet (wait for the anchor)."""
        thread_id = entry.thread_id
        edit_id: str | None = None
        if entry.ticket_id is not None:
            ticket = uow.tickets.get(entry.ticket_id)
            if entry.purpose == "update" and ticket is not None:
                thread_id = ticket.thread_id
                if thread_id is None and self._confirmation_pending(uow, entry):
                    return None
            elif entry.purpose == "card":
                edit_id = uow.messages.find(entry.ticket_id, entry.platform, entry.chat_id, "card")
            elif entry.purpose == "tech_update":
                thread_id = uow.messages.find(entry.ticket_id, entry.platform, entry.chat_id, "card")
                if thread_id is None and self._card_pending(uow, entry):
                    return None
        return Notification(
            id=entry.id,
            place=Place(entry.platform, entry.chat_id, thread_id),
            message=decode_message(entry.payload),
            ticket_number=entry.ticket_id,
            purpose=entry.purpose,
            edit_message_id=edit_id,
            idempotency_key=f"outbox-{entry.id}",
        )

    @staticmethod
    def _confirmation_pending(uow: Any, entry: OutboxEntry) -> bool:
        from sqlalchemy import select

        stmt = select(OutboxEntry.id).where(
            OutboxEntry.ticket_id == entry.ticket_id,
            OutboxEntry.purpose == "confirmation",
            OutboxEntry.status == "pending",
        )
        return uow.session.scalars(stmt).first() is not None

    @staticmethod
    def _card_pending(uow: Any, entry: OutboxEntry) -> bool:
        from sqlalchemy import select

        stmt = select(OutboxEntry.id).where(
            OutboxEntry.ticket_id == entry.ticket_id,
            OutboxEntry.platform == entry.platform,
            OutboxEntry.chat_id == entry.chat_id,
            OutboxEntry.purpose == "card",
            OutboxEntry.status == "pending",
            OutboxEntry.id < entry.id,
        )
        return uow.session.scalars(stmt).first() is not None

    def _succeeded(self, entry_id: int, sent: SentMessage) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            entry = uow.outbox.get(entry_id)
            if entry is None:
                return
            entry.status = "sent"
            entry.sent_at = now
            entry.lease_until = None
            entry.sent_message_id = sent.message_id
            if entry.ticket_id is not None and sent.message_id:
                ticket = uow.tickets.get(entry.ticket_id)
                if entry.purpose == "confirmation" and ticket is not None and ticket.thread_id is None:
                    ticket.thread_id = sent.message_id
                purpose = {"card": "card", "tech_update": "card_thread"}.get(entry.purpose, "thread")
                uow.messages.add(entry.ticket_id, sent.place.platform, sent.place.chat_id, sent.message_id, purpose)
                if sent.place.thread_id and sent.place.thread_id != sent.message_id:
                    # The platform put the message in a thread of its own (a Telegram forum topic):
                    # messages in that thread belong to the ticket too.
                    uow.messages.add(
                        entry.ticket_id, sent.place.platform, sent.place.chat_id, sent.place.thread_id, "topic"
                    )
            uow.commit()

    def _failed(self, entry_id: int, error: str, *, permanent: bool) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            entry = uow.outbox.get(entry_id)
            if entry is None:
                return
            entry.last_error = error[:2000]
            entry.lease_until = None
            if permanent or entry.attempts >= self._settings.max_attempts:
                entry.status = "failed"
                logger.error(
                    "giving up on outbox entry %s (%s to %s:%s) after %s attempt(s): %s",
                    entry.id,
                    entry.purpose,
                    entry.platform,
                    entry.chat_id,
                    entry.attempts,
                    error,
                )
            else:
                delay = min(
                    self._settings.max_delay_seconds,
                    self._settings.base_delay_seconds * 2 ** (entry.attempts - 1),
                )
                delay *= random.uniform(0.8, 1.2)
                entry.next_attempt_at = now + timedelta(seconds=delay)
                logger.warning(
                    "outbox entry %s to %s:%s failed (attempt %s), retrying in %.0f s: %s",
                    entry.id,
                    entry.platform,
                    entry.chat_id,
                    entry.attempts,
                    delay,
                    error,
                )
            uow.commit()
