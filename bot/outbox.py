"""Delivery of outbox entries: leases fenced by a token, retries with backoff, dead letters.

Every notification is written to the ``outbox`` table in the same transaction as the
ticket change that caused it, so a crash never loses one. The dispatcher then:

1. reads a batch of due entries for the platforms it has a :class:`~bot.port.Messenger` for,
   locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers), and claims
   them in the same transaction with one UPDATE that sets a lease (``lease_until``) and a fresh
   random ``lease_token``, so that two dispatchers — two bot processes on one PostgreSQL —
   never send the same entry at the same time; the entries an incoming event queues are written
   already leased to the dispatcher of the process handling it, in the event's own transaction
   (:meth:`OutboxDispatcher.lease_for_event`), and delivered right after its commit with no claim
   of their own (:meth:`OutboxDispatcher.deliver_leased`);
2. sends them one after the other while a keeper thread renews the leases (so a slow platform
   never lets a lease lapse under a live sender), recording each delivery at once with an
   UPDATE that only counts while the row still carries this dispatcher's token (*fencing*: a
   dispatcher whose lease was taken over cannot mark sent, reschedule or fail an entry another
   dispatcher now owns).

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
that records it leaves the entry claimed with ``attempted_at`` set, and the next dispatcher to
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
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import OutboxSection
from bot.db.models import OutboxEntry
from bot.db.uow import DueEntry, OutboxLease, UnitOfWork, UnitOfWorkFactory
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


def outbox_entry(
    place: Place,
    message: OutgoingMessage | dict[str, Any],
    *,
    at: datetime,
    purpose: str = "reply",
    ticket_id: int | None = None,
    delay: timedelta = timedelta(0),
) -> OutboxEntry:
    """A pending outbox row for ``message`` at ``place``, written ``at`` and due ``delay`` later.

    ``message`` is an :class:`OutgoingMessage` (encoded here) or a payload already encoded (a
    ``{"render": …}`` payload rendered on delivery). Every writer of the outbox builds its rows here.
    """
    return OutboxEntry(
        created_at=at,
        ticket_id=ticket_id,
        platform=place.platform,
        chat_id=place.chat_id,
        thread_id=place.thread_id,
        purpose=purpose,
        payload=message if isinstance(message, dict) else encode_message(message),
        status="pending",
        attempts=0,
        next_attempt_at=at + delay,
    )


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


BATCH_SIZE = 10
"""Entries claimed in one transaction."""


class _LeaseKeeper:
    """Renews the leases of the batch in flight every third of the lease, from one background thread.

    A platform that answers slowly (a long timeout, the SDK's own short retries) never lets the
    lease lapse under a live sender; a dead process stops renewing, and its lease expires. The
    thread lives as long as the dispatcher: entering and leaving a send costs no thread start.
    """

    def __init__(self, dispatcher: OutboxDispatcher) -> None:
        self._dispatcher = dispatcher
        self._guard = threading.Lock()
        self._held: tuple[tuple[int, ...], str] | None = None
        self._thread: threading.Thread | None = None

    def hold(self, entry_ids: tuple[int, ...], token: str) -> None:
        """Keep renewing these entries' leases until :meth:`release`."""
        with self._guard:
            self._held = (entry_ids, token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbox-lease-keeper", daemon=True)
                self._thread.start()

    def release(self) -> None:
        """The batch is over: stop renewing."""
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
                logger.exception("could not renew the leases of outbox entries %s", held[0])
                continue
            with self._guard:
                if not renewed and self._held == held:
                    logger.warning("outbox entries %s: the leases were taken over during the send", held[0])


class OutboxDispatcher:
    """Delivers due outbox entries through the registered messengers, a batch at a time.

    A round claims up to :data:`BATCH_SIZE` due entries in one transaction (one locked read, one
    UPDATE), then sends them one after the other, each delivery recorded as soon as it is made.
    """

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
        self.renderer: Callable[[UnitOfWork, int | None, dict[str, Any], str], OutgoingMessage] | None = None
        """Renders an entry queued language-neutral (``payload["render"]``, see :mod:`bot.rendering`) in the
        recipient's language, at delivery time (set by :func:`bot.bootstrap.bootstrap`)."""
        self.default_language = "fr"
        """The language of a chat whose messenger does not say (``[bot] language``)."""
        self.for_platform: Callable[[OutgoingMessage, str], OutgoingMessage] | None = None
        """Writes the commands a message names the way its platform writes them (``/helpdesk mytickets`` in
        Slack), at delivery (set by :func:`bot.bootstrap.bootstrap`)."""

    def language_for(self, place: Place) -> str:
        """The language of whoever reads ``place``: the messenger's answer, else :attr:`default_language`."""
        messenger = self._messengers.get(place.platform)
        ask = getattr(messenger, "language_for", None)
        language = ask(place.chat_id) if callable(ask) else None
        return language if isinstance(language, str) and language else self.default_language

    def preview(self, entry: OutboxEntry, language: str | None = None) -> OutgoingMessage:
        """The message ``entry`` carries, rendered (when it is language-neutral) in ``language``, else in
        the language of the chat it goes to: what a delivery now would send."""
        spec = entry.payload.get("render")
        if spec is None:
            return self._written_for(decode_message(entry.payload), entry.platform)
        place = Place(entry.platform, entry.chat_id, entry.thread_id)
        if language is None:
            return self._render(entry.ticket_id, spec, place)
        if self.renderer is None:
            raise RuntimeError("an outbox entry needs rendering but no renderer is set")
        with self._uow() as uow:
            return self._written_for(self.renderer(uow, entry.ticket_id, spec, language), entry.platform)

    def _render(self, ticket_id: int | None, spec: dict[str, Any], place: Place) -> OutgoingMessage:
        """A language-neutral entry rendered, now, in the language of whoever reads the chat it goes to.

        An entry for nobody in particular that reaches a one-person chat (a Slack DM, a Telegram private
        chat: the messenger's ``reader_of``) is written for that person, like an entry naming its reader.
        """
        if self.renderer is None:
            raise RuntimeError("an outbox entry needs rendering but no renderer is set")
        language = self.language_for(place)
        spec = self._for_reader(spec, place)
        with self._uow() as uow:
            return self._written_for(self.renderer(uow, ticket_id, spec, language), place.platform)

    def _for_reader(self, spec: dict[str, Any], place: Place) -> dict[str, Any]:
        """``spec``, naming the one person who reads ``place`` (the messenger's ``reader_of``) when it names nobody."""
        if spec.get("reader"):
            return spec
        ask = getattr(self._messengers.get(place.platform), "reader_of", None)
        reader = ask(place.chat_id) if callable(ask) else None
        return {**spec, "reader": reader} if isinstance(reader, str) and reader else spec

    def _written_for(self, message: OutgoingMessage, platform: str) -> OutgoingMessage:
        """``message`` with its commands written the way ``platform`` writes them."""
        return self.for_platform(message, platform) if self.for_platform is not None else message

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

    @property
    def woken(self) -> bool:
        """Whether a wake-up is pending (something was left for the background loop)."""
        return self._wakeup.is_set()

    def dispatch_due(self, *, chat_ids: Iterable[str] | None = None, limit: int = 200) -> int:
        """Deliver every due entry (optionally only to some chats); returns how many were sent.

        Consumes a pending wake-up (:meth:`wake`): this round delivers what it asked for.
        """
        self._wakeup.clear()
        if not self._messengers:
            return 0
        chats = list(chat_ids) if chat_ids is not None else None
        with self._lock:
            return self._rounds(limit, chat_ids=chats)

    def lease_for_event(self) -> OutboxLease | None:
        """A lease for the entries an incoming event is about to queue (see
        :meth:`~bot.db.uow.OutboxRepository.lease_new_entries`); ``None`` without a messenger.

        A process that dies between the event's commit and the delivery leaves its entries claimed,
        with ``attempted_at`` set: another dispatcher takes them once the lease expires and sends them
        as in doubt, exactly as after a death in the middle of a send.
        """
        if not self._messengers:
            return None
        now = self._clock.now()
        return OutboxLease(uuid.uuid4().hex, self.platforms, now, now + self.lease)

    def deliver_leased(self, entries: Sequence[DueEntry], lease: OutboxLease) -> int:
        """Deliver entries written already claimed by ``lease`` (:meth:`lease_for_event`); returns how many
        were sent.

        No claim transaction: the event's commit took the leases; one read transaction prepares and
        renders them all, then each delivery is recorded as in :meth:`_send`. An entry waiting for
        its thread's anchor is given back at once (for :meth:`dispatch_due`); entries whose lease has
        already run out are left alone (another dispatcher may have taken them).
        """
        if not entries or self._clock.now() >= lease.until:
            return 0
        with self._lock:
            batch: list[tuple[DueEntry, Notification]] = []
            waiting: list[int] = []
            rendered: set[int] = set()
            # One read transaction: threads and edit targets, then the language-neutral messages rendered.
            with self._uow() as uow:
                for entry in entries:
                    notification = self._prepare(uow, entry)
                    if notification is None:
                        waiting.append(entry.id)
                    else:
                        batch.append((entry, notification))
                for index, (entry, notification) in enumerate(batch):
                    spec = entry.payload.get("render")
                    if spec is None or self.renderer is None:
                        continue
                    try:
                        place = notification.place
                        message = self.renderer(
                            uow, entry.ticket_id, self._for_reader(spec, place), self.language_for(place)
                        )
                        message = self._written_for(message, place.platform)
                    except Exception:
                        uow.rollback()  # rendered again, and its failure handled, by the send
                        continue
                    batch[index] = (entry, dataclasses.replace(notification, message=message))
                    rendered.add(entry.id)
            if waiting:
                with self._uow() as uow:
                    uow.outbox.release(waiting, lease.token)
                    uow.commit()
            if not batch:
                return 0
            return self._send(batch, lease.token, rendered=frozenset(rendered))

    def run_forever(self, stop: threading.Event) -> None:
        """Background loop: deliver, then wait for a wake-up or the poll interval."""
        while not stop.is_set():
            try:
                self.dispatch_due()
            except Exception:
                logger.exception("outbox dispatch round failed; retrying at the next poll")
            self._wakeup.wait(self._settings.poll_seconds)

    def renew(self, entry_ids: Sequence[int], token: str) -> bool:
        """Extend the leases of entries this dispatcher holds; ``False`` when it holds none of them any more."""
        with self._uow() as uow:
            renewed = uow.outbox.renew(entry_ids, token, self._clock.now() + self.lease)
            uow.commit()
        return renewed > 0

    # -- internals --------------------------------------------------------------------------

    def _rounds(self, limit: int, *, ids: list[int] | None = None, chat_ids: list[str] | None = None) -> int:
        """Claim, send and record batches until nothing is due (or ``limit`` entries were tried)."""
        sent = 0
        tried: set[int] = set()
        while len(tried) < limit:
            token = uuid.uuid4().hex
            batch = self._claim(token, min(BATCH_SIZE, limit - len(tried)), tried, ids=ids, chat_ids=chat_ids)
            if not batch:
                break
            tried.update(entry.id for entry, _ in batch)
            sent += self._send(batch, token)
        return sent

    def _claim(
        self,
        token: str,
        limit: int,
        tried: set[int],
        *,
        ids: list[int] | None,
        chat_ids: list[str] | None,
    ) -> list[tuple[DueEntry, Notification]]:
        """One transaction: lock due entries, prepare those ready to go, take their leases."""
        now = self._clock.now()
        with self._uow() as uow:
            uow.begin_serialised()
            rows = uow.outbox.lock_due(now, self.platforms, ids=ids, chat_ids=chat_ids, limit=limit + len(tried))
            batch: list[tuple[DueEntry, Notification]] = []
            for entry in rows:
                if entry.id in tried or len(batch) == limit:
                    continue
                notification = self._prepare(uow, entry)
                if notification is None:
                    continue
                if entry.attempted_at is not None:
                    # Set by the claim of an earlier attempt and cleared by its outcome: still set means
                    # that attempt died mid-send, and the platform may already have the message.
                    notification = dataclasses.replace(notification, in_doubt=True)
                batch.append((entry, notification))
            if not batch:
                return []
            uow.outbox.claim_many([entry.id for entry, _ in batch], token, now, now + self.lease)
            uow.commit()
        return batch

    def _send(
        self, batch: list[tuple[DueEntry, Notification]], token: str, *, rendered: frozenset[int] = frozenset()
    ) -> int:
        """Send a claimed batch in order, recording each delivery as soon as the platform took it; returns
        how many were sent. Entries whose ids are in ``rendered`` already carry their rendered message.

        Each record is committed before the next send: a crash leaves at most one message in doubt,
        and a reply to a message finds its ticket as soon as the message is out.
        """
        recorded = 0
        self._keeper.hold(tuple(entry.id for entry, _ in batch), token)
        try:
            for entry, notification in batch:
                messenger = self._messengers[entry.platform]
                try:
                    spec = entry.payload.get("render")
                    if spec is not None and entry.id not in rendered:
                        message = self._render(entry.ticket_id, spec, notification.place)
                    else:
                        message = self._written_for(notification.message, entry.platform)
                    notification = dataclasses.replace(notification, message=message)
                    sent = messenger.send(notification)
                except DeliveryError as error:
                    self._failed(entry.id, token, str(error), permanent=error.permanent, retry_after=error.retry_after)
                    continue
                except Exception as error:
                    logger.exception("messenger %s failed on outbox entry %s", entry.platform, entry.id)
                    self._failed(entry.id, token, f"{type(error).__name__}: {error}", permanent=False)
                    continue
                recorded += self._record_sent([(entry, sent)], token)
        finally:
            self._keeper.release()
        return recorded

    def _prepare(self, uow: UnitOfWork, entry: DueEntry) -> Notification | None:
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
            message=OutgoingMessage("") if "render" in entry.payload else decode_message(entry.payload),
            ticket_number=entry.ticket_id,
            purpose=entry.purpose,
            edit_message_id=edit_id,
            idempotency_key=f"outbox-{entry.id}",
            created_at=entry.created_at,
        )

    def _record_sent(self, delivered: list[tuple[DueEntry, SentMessage]], token: str) -> int:
        """One transaction: mark delivered entries sent (each only while ``token`` still holds it) and
        link each message to its ticket; returns how many were recorded."""
        if not delivered:
            return 0
        now = self._clock.now()
        recorded = 0
        with self._uow() as uow:
            for entry, sent in delivered:
                if not uow.outbox.mark_sent(entry.id, token, now, sent.message_id):
                    logger.warning("outbox entry %s was sent but its lease had been taken over: not recorded", entry.id)
                    continue
                recorded += 1
                if entry.ticket_id is not None and sent.message_id:
                    self._link(uow, entry.ticket_id, entry.purpose, sent)
            uow.commit()
        return recorded

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
                    logger.log(
                        logging.WARNING if retry_after > 0 else logging.DEBUG,
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
                    uow.outbox.reload(entry)
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
