"""Delivery of outbox entries: leases fenced by a token, retries with backoff, dead letters.

Every notification is written to the ``outbox`` table in the same transaction as the
ticket change that caused it, so a crash never loses one. The dispatcher then:

1. lists due entries for the platforms it has a :class:`~bot.port.Messenger` for;
2. claims each entry with one conditional UPDATE that sets a lease (``lease_until``) and a
   fresh random ``lease_token``, so that two dispatchers — two bot processes on one
   PostgreSQL — never send the same entry at the same time;
3. sends it while a keeper thread renews the lease (so a slow platform never lets the lease
   lapse under a live sender), then records the outcome with an UPDATE that only counts while
   the row still carries this dispatcher's token (*fencing*: a dispatcher whose lease was taken
   over cannot mark sent, reschedule or fail an entry another dispatcher now owns).

Outcomes:

* **sent** — the platform's message id is stored, and every message about a ticket is linked
  to it (:class:`~bot.db.models.MessageRef`), so a reply to any of them finds the ticket;
* **transient failure** — retried with exponential backoff and jitter until ``max_attempts``;
* **the platform asks to wait** (Slack ``Retry-After``, Telegram ``RetryAfter``) — the entry is
  given back with ``next_attempt_at`` at the end of the wait, the lease released: nobody holds an
  entry for longer than the platform asked, and the wait does not count as a failed attempt;
* **permanent refusal** (chat gone, bot blocked, message refused) — ``failed`` at once: a dead
  letter, listed by ``helpdesk-bot outbox list --failed``, retried with ``outbox retry ID`` or
  dropped with ``outbox discard ID``. A dead letter never holds back the later entries of its
  thread. When the refused entry was for a ticket's requester, the technicians are told in chat.

Delivery is at-least-once: a crash between the platform accepting a message and the commit
that follows leaves the entry claimed with ``attempted_at`` set, and the next dispatcher to
claim it hands the messenger ``in_doubt=True``. The Slack messenger then looks for the message
(it carries the outbox id in its metadata) before posting again: effectively once. Telegram
has no way to look a message up, so there a crash in that window can repeat one message.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.config import OutboxSection
from bot.db.models import OutboxEntry
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.port import Button, DeliveryError, Messenger, Notification, OutgoingMessage, Place, SentMessage, TicketCard

logger = logging.getLogger(__name__)

REQUESTER_PURPOSES = frozenset({"confirmation", "update", "mail_copy"})
"""Purposes of the entries that reach a ticket's requester (a refusal there means: phone them)."""


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
        if message.card.separator != ": ":
            data["card"]["separator"] = message.card.separator
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
        card=TicketCard(
            card["number"],
            card["headline"],
            tuple((a, b) for a, b in card["fields"]),
            card.get("separator", ": "),
        )
        if card
        else None,
        expects_text=bool(data.get("expects_text")),
        ephemeral=bool(data.get("ephemeral")),
    )


class _LeaseKeeper:
    """Renews the lease of the entry in flight every third of the lease, from one background thread.

    A platform that answers slowly (a long timeout, the SDK's own short retries) never lets the
    lease lapse under a live sender; a dead process stops renewing, and its lease expires. The
    thread lives as long as the dispatcher: entering and leaving a send costs no thread start.
    """

    def __init__(self, dispatcher: OutboxDispatcher) -> None:
        self._dispatcher = dispatcher
        self._guard = threading.Lock()
        self._held: tuple[int, str] | None = None
        self._thread: threading.Thread | None = None

    def hold(self, entry_id: int, token: str) -> None:
        """Keep renewing this entry's lease until :meth:`release`."""
        with self._guard:
            self._held = (entry_id, token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbox-lease-keeper", daemon=True)
                self._thread.start()

    def release(self) -> None:
        """The send is over: stop renewing."""
        with self._guard:
            self._held = None

    def _run(self) -> None:
        while True:
            time.sleep(self._dispatcher.lease.total_seconds() / 3)
            with self._guard:
                held = self._held
            if held is None:
                continue
            try:
                renewed = self._dispatcher.renew(*held)
            except Exception:
                logger.exception("could not renew the lease of outbox entry %s", held[0])
                continue
            with self._guard:
                if not renewed and self._held == held:
                    logger.warning("outbox entry %s: the lease was taken over during the send", held[0])


class OutboxDispatcher:
    """Delivers due outbox entries through the registered messengers."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, settings: OutboxSection) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._messengers: dict[str, Messenger] = {}
        self._wakeup = threading.Event()
        self._lock = threading.Lock()
        self._keeper = _LeaseKeeper(self)
        self.on_unreachable: Callable[[UnitOfWork, OutboxEntry], None] | None = None
        """Called in the transaction that gives up on an entry for a ticket's requester (set by
        :func:`bot.bootstrap.bootstrap`: the technicians are told, so that they can phone)."""

    @property
    def lease(self) -> timedelta:
        """How long a claim holds an entry unless renewed."""
        return timedelta(seconds=self._settings.lease_seconds)

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

    def renew(self, entry_id: int, token: str) -> bool:
        """Extend the lease of an entry this dispatcher holds; ``False`` when it no longer does."""
        with self._uow() as uow:
            renewed = uow.outbox.renew(entry_id, token, self._clock.now() + self.lease)
            uow.commit()
        return renewed

    # -- internals --------------------------------------------------------------------------

    def _deliver(self, entry_id: int) -> bool:
        now = self._clock.now()
        token = uuid.uuid4().hex
        with self._uow() as uow:
            entry = uow.outbox.get(entry_id)
            if entry is None or entry.status != "pending":
                return False
            notification = self._prepare(uow, entry)
            if notification is None:
                return False
            ticket_id, purpose = entry.ticket_id, entry.purpose
            # Set by the claim of an earlier attempt and cleared by its outcome: still set means that
            # attempt died mid-send, and the platform may already have the message.
            in_doubt = entry.attempted_at is not None
            if not uow.outbox.claim(entry_id, token, now, now + self.lease):
                uow.rollback()
                return False
            uow.commit()
        if in_doubt:
            notification = dataclasses.replace(notification, in_doubt=True)
        messenger = self._messengers[notification.place.platform]
        self._keeper.hold(entry_id, token)
        try:
            sent = messenger.send(notification)
        except DeliveryError as error:
            self._keeper.release()
            self._failed(entry_id, token, str(error), permanent=error.permanent, retry_after=error.retry_after)
            return False
        except Exception as error:
            self._keeper.release()
            logger.exception("messenger %s failed on outbox entry %s", notification.place.platform, entry_id)
            self._failed(entry_id, token, f"{type(error).__name__}: {error}", permanent=False)
            return False
        self._keeper.release()
        return self._succeeded(entry_id, token, sent, ticket_id, purpose)

    def _prepare(self, uow: UnitOfWork, entry: OutboxEntry) -> Notification | None:
        """Resolve threads and edit targets; ``None`` means: not yet (wait for the anchor).

        Only what the entry's purpose needs is read: the ticket's thread for an update, the card
        for a card edit or a technicians' thread reply; nothing for a reply or a confirmation.
        """
        thread_id = entry.thread_id
        edit_id: str | None = None
        if entry.ticket_id is not None:
            if entry.purpose == "update":
                thread_id = uow.tickets.thread_of(entry.ticket_id)
                if thread_id is None and uow.outbox.pending_before(entry, "confirmation"):
                    return None
            elif entry.purpose == "card":
                edit_id = uow.messages.find(entry.ticket_id, entry.platform, entry.chat_id, "card")
            elif entry.purpose == "tech_update":
                thread_id = uow.messages.find(entry.ticket_id, entry.platform, entry.chat_id, "card")
                if thread_id is None and uow.outbox.pending_before(entry, "card", same_chat=True):
                    return None
        return Notification(
            id=entry.id,
            place=Place(entry.platform, entry.chat_id, thread_id),
            message=decode_message(entry.payload),
            ticket_number=entry.ticket_id,
            purpose=entry.purpose,
            edit_message_id=edit_id,
            idempotency_key=f"outbox-{entry.id}",
            created_at=entry.created_at,
        )

    def _succeeded(self, entry_id: int, token: str, sent: SentMessage, ticket_id: int | None, purpose: str) -> bool:
        now = self._clock.now()
        with self._uow() as uow:
            if not uow.outbox.mark_sent(entry_id, token, now, sent.message_id):
                logger.warning("outbox entry %s was sent but its lease had been taken over: not recorded", entry_id)
                return False
            if ticket_id is not None and sent.message_id:
                self._link(uow, ticket_id, purpose, sent)
            uow.commit()
        return True

    @staticmethod
    def _link(uow: UnitOfWork, ticket_id: int, purpose: str, sent: SentMessage) -> None:
        """Link the delivered message to its ticket, so that a reply to it is a comment on the ticket."""
        if purpose == "confirmation":
            uow.tickets.set_thread(ticket_id, sent.message_id)
        kind = {"card": "card", "tech_update": "card_thread"}.get(purpose, "thread")
        uow.messages.add(ticket_id, sent.place.platform, sent.place.chat_id, sent.message_id, kind)
        if sent.place.thread_id and sent.place.thread_id != sent.message_id:
            # The platform put the message in a thread of its own (a Telegram forum topic):
            # messages in that thread belong to the ticket too.
            uow.messages.add(ticket_id, sent.place.platform, sent.place.chat_id, sent.place.thread_id, "topic")

    def _failed(
        self, entry_id: int, token: str, error: str, *, permanent: bool, retry_after: float | None = None
    ) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            entry = uow.outbox.get(entry_id)
            if entry is None or entry.lease_token != token or entry.status != "pending":
                logger.warning("outbox entry %s failed after its lease was taken over: %s", entry_id, error)
                return
            if retry_after is not None and not permanent:
                # The platform asked us to wait: give the entry back until then (not a failed attempt).
                next_at = now + timedelta(seconds=max(retry_after, 0.0))
                if uow.outbox.reschedule(entry_id, token, next_at, error[:2000], attempts=entry.attempts - 1):
                    logger.warning(
                        "outbox entry %s to %s:%s: the platform asks to wait %.0f s; given back until then",
                        entry_id,
                        entry.platform,
                        entry.chat_id,
                        retry_after,
                    )
                    uow.commit()
                return
            if permanent or entry.attempts >= self._settings.max_attempts:
                if not uow.outbox.mark_failed(entry_id, token, error[:2000]):
                    return
                logger.error(
                    "giving up on outbox entry %s (%s to %s:%s) after %s attempt(s): %s",
                    entry.id,
                    entry.purpose,
                    entry.platform,
                    entry.chat_id,
                    entry.attempts,
                    error,
                )
                if self.on_unreachable is not None and entry.ticket_id and entry.purpose in REQUESTER_PURPOSES:
                    uow.session.refresh(entry)
                    self.on_unreachable(uow, entry)
                uow.commit()
                return
            delay = min(
                self._settings.max_delay_seconds,
                self._settings.base_delay_seconds * 2 ** (entry.attempts - 1),
            )
            delay *= random.uniform(0.8, 1.2)
            if uow.outbox.reschedule(entry_id, token, now + timedelta(seconds=delay), error[:2000]):
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
