"""The outbox: notifications written with the change that caused them, delivered with
retries and backoff (the clock is moved, nobody sleeps), never sent twice, threads and
cards handled in the right order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import OutboxEntry, Ticket
from bot.errors import IllegalTransition
from bot.notifications import Notifier
from bot.outbox import BATCH_SIZE, decode_message, encode_message
from bot.port import Button, DeliveryError, Image, Notification, OutgoingMessage, Place, TicketCard, User
from bot.tickets import TicketDraft

AppFactory = Callable[..., HelpdeskApp]

URSULA = User("fake", "u1", "Ursula User", "en", email="ursula@example.be")
TECH = User("fake", "t1", "Theo Tech", "en")
URSULA_DM = Place("fake", "dm-u1")
TECHS = Place("fake", "techs")


def wire(app: HelpdeskApp, messenger: Any) -> HelpdeskApp:
    app.register_messenger(messenger)
    app.add_technician_place(TECHS)
    app.roles.grant(TECH.key, "technician")
    return app


@pytest.fixture
def fake_app(app: HelpdeskApp, messenger: Any) -> HelpdeskApp:
    return wire(app, messenger)


def open_ticket(app: HelpdeskApp, title: str = "VPN drops every hour") -> int:
    return app.tickets.open(URSULA, URSULA_DM, TicketDraft(title=title, contact_email="ursula@example.be"), "en").id


def entries(app: HelpdeskApp) -> list[OutboxEntry]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))


def test_messages_round_trip_through_the_outbox_payload() -> None:
    message = OutgoingMessage(
        "Hello",
        buttons=(Button("Yes", "y", "primary"), Button("No", "n")),
        card=TicketCard(3, "#3 · x", (("Status", "new"),)),
        expects_text=True,
        ephemeral=True,
    )
    assert decode_message(encode_message(message)) == message
    assert decode_message(encode_message(OutgoingMessage("plain"))) == OutgoingMessage("plain")


def test_the_outbox_refuses_images_rather_than_dropping_them() -> None:
    """Images are for direct replies (the charts of /stats): notifications carry none."""
    with pytest.raises(ValueError, match="images"):
        encode_message(OutgoingMessage("chart", images=(Image("a.png", b"\x89PNG", "A"),)))


def test_a_change_and_its_notifications_are_written_together(fake_app: HelpdeskApp, messenger: Any) -> None:
    number = open_ticket(fake_app)
    rows = entries(fake_app)
    assert [(e.purpose, e.chat_id, e.status) for e in rows] == [
        ("confirmation", "dm-u1", "pending"),
        ("card", "techs", "pending"),
    ]
    assert messenger.sent == []  # written, not sent: delivery is the dispatcher's job
    fake_app.tickets.claim(TECH, number)
    assert [(e.purpose, e.chat_id) for e in entries(fake_app)][2:] == [("update", "dm-u1"), ("card", "techs")]


def test_a_failing_change_leaves_no_outbox_row(fake_app: HelpdeskApp, monkeypatch: pytest.MonkeyPatch) -> None:
    number = open_ticket(fake_app)
    before = len(entries(fake_app))

    def broken_card(self: Notifier, uow: Any, ticket: Ticket) -> None:
        raise RuntimeError("disk full")

    # status_changed writes the requester's update first, then fails on the card: all or nothing.
    monkeypatch.setattr(Notifier, "card_changed", broken_card)
    with pytest.raises(RuntimeError):
        fake_app.tickets.claim(TECH, number)
    assert len(entries(fake_app)) == before
    with fake_app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "new" and ticket.assignee_key is None
        assert [e.kind for e in uow.events.for_ticket(number)] == ["created"]


def test_a_refused_change_writes_no_notification(fake_app: HelpdeskApp) -> None:
    number = open_ticket(fake_app)
    before = len(entries(fake_app))
    with pytest.raises(IllegalTransition):
        fake_app.tickets.reopen(TECH, number)
    assert len(entries(fake_app)) == before


def test_delivery_sets_the_thread_anchor_and_updates_go_in_the_thread(fake_app: HelpdeskApp, messenger: Any) -> None:
    number = open_ticket(fake_app)
    assert fake_app.dispatch_pending() == 2
    confirmation, _card = messenger.sent
    assert confirmation.place == URSULA_DM and confirmation.ticket_number == number
    assert "Your ticket #1 is open" in confirmation.message.text
    assert confirmation.idempotency_key == f"outbox-{confirmation.id}"
    with fake_app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.thread_id == f"msg-{confirmation.id}"

    fake_app.tickets.reply(TECH, number, "Try the other port")
    fake_app.dispatch_pending()
    update = next(n for n in messenger.sent if n.purpose == "update")
    assert update.place == URSULA_DM.in_thread(f"msg-{confirmation.id}")
    assert "Try the other port" in update.message.text
    # A reply in that thread finds its ticket.
    assert fake_app.tickets.by_thread(update.place) is not None


def test_the_technicians_card_is_edited_in_place(fake_app: HelpdeskApp, messenger: Any) -> None:
    number = open_ticket(fake_app)
    fake_app.dispatch_pending()
    first_card = next(n for n in messenger.sent if n.purpose == "card")
    assert first_card.edit_message_id is None
    fake_app.tickets.claim(TECH, number)
    fake_app.dispatch_pending()
    second_card = [n for n in messenger.sent if n.purpose == "card"][1]
    assert second_card.edit_message_id == f"msg-{first_card.id}"
    assert second_card.place == TECHS
    assert second_card.message.card is not None
    assert ("Status", "in progress") in second_card.message.card.fields


def test_queued_card_versions_are_superseded_by_the_latest(fake_app: HelpdeskApp, messenger: Any) -> None:
    number = open_ticket(fake_app)
    fake_app.tickets.claim(TECH, number)
    fake_app.tickets.note(TECH, number, "checking")
    fake_app.dispatch_pending()
    cards = [n for n in messenger.sent if n.purpose == "card"]
    assert len(cards) == 1
    assert cards[0].message.card is not None
    assert ("Assigned to", "Theo Tech") in cards[0].message.card.fields
    assert [e.status for e in entries(fake_app) if e.purpose == "card"].count("superseded") == 2


def test_updates_wait_for_the_confirmation_that_anchors_the_thread(
    fake_app: HelpdeskApp, messenger: Any, clock: FrozenClock
) -> None:
    number = open_ticket(fake_app)
    messenger.fail_next()  # the confirmation does not go through the first time
    fake_app.dispatch_pending()
    fake_app.tickets.claim(TECH, number)
    fake_app.dispatch_pending()
    assert "update" not in messenger.purposes()  # not before its thread exists

    clock.advance(timedelta(seconds=10))
    fake_app.dispatch_pending()
    confirmation = next(n for n in messenger.sent if n.purpose == "confirmation")
    update = next(n for n in messenger.sent if n.purpose == "update")
    assert messenger.sent.index(confirmation) < messenger.sent.index(update)
    assert update.place.thread_id == f"msg-{confirmation.id}"


def test_requester_comments_are_posted_under_the_card(fake_app: HelpdeskApp, messenger: Any) -> None:
    number = open_ticket(fake_app)
    fake_app.dispatch_pending()
    card = next(n for n in messenger.sent if n.purpose == "card")
    fake_app.tickets.comment_from_requester(URSULA, number, "Also on Wi-Fi")
    fake_app.dispatch_pending()
    comment = next(n for n in messenger.sent if n.purpose == "tech_update")
    assert comment.place == TECHS.in_thread(f"msg-{card.id}")
    assert "Also on Wi-Fi" in comment.message.text


def test_transient_failures_are_retried_with_exponential_backoff(
    fake_app: HelpdeskApp, messenger: Any, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    open_ticket(fake_app)
    messenger.fail_next(3)  # the confirmation fails twice, the card once
    caplog.set_level(logging.WARNING, logger="bot.outbox")

    assert fake_app.dispatch_pending() == 0
    confirmation, card = entries(fake_app)
    assert [(e.attempts, e.status) for e in (confirmation, card)] == [(1, "pending"), (1, "pending")]
    delays = [(e.next_attempt_at - clock.now()).total_seconds() for e in (confirmation, card)]
    assert all(1.6 <= d <= 2.4 for d in delays), delays  # base 2 s, ±20 % jitter
    assert "retrying in" in caplog.text

    assert fake_app.dispatch_pending() == 0  # nothing is due yet: no busy retry
    assert len(messenger.attempts) == 2
    clock.advance(timedelta(seconds=2.5))
    assert fake_app.dispatch_pending() == 1
    confirmation, card = entries(fake_app)
    assert (confirmation.attempts, confirmation.status, card.status) == (2, "pending", "sent")
    delay = (confirmation.next_attempt_at - clock.now()).total_seconds()
    assert 3.2 <= delay <= 4.8, delay  # doubled
    clock.advance(timedelta(seconds=5))
    assert fake_app.dispatch_pending() == 1
    assert [e.status for e in entries(fake_app)] == ["sent", "sent"]
    assert messenger.purposes() == ["card", "confirmation"]
    assert len(messenger.attempts) == 5


def test_backoff_is_capped(make_app: AppFactory, messenger: Any, clock: FrozenClock) -> None:
    app = wire(make_app(outbox={"base_delay_seconds": 10, "max_delay_seconds": 30, "max_attempts": 10}), messenger)
    open_ticket(app)
    for _ in range(4):
        messenger.fail_next(2)
        app.dispatch_pending()
        clock.advance(timedelta(seconds=40))
    entry = entries(app)[0]
    assert entry.attempts == 4
    last_delay = (entry.next_attempt_at - clock.now() + timedelta(seconds=40)).total_seconds()
    assert 24 <= last_delay <= 36, last_delay  # min(30, 10 * 2**3) with ±20 % jitter


def test_gives_up_after_max_attempts(
    make_app: AppFactory, messenger: Any, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = wire(make_app(outbox={"max_attempts": 3}), messenger)
    open_ticket(app)
    for _ in range(3):
        messenger.fail_next(2)
        app.dispatch_pending()
        clock.advance(timedelta(hours=1))
    assert [(e.purpose, e.status, e.attempts) for e in entries(app)] == [
        ("confirmation", "failed", 3),
        ("card", "failed", 3),
        ("tech_update", "sent", 1),  # the technicians are told in the same round that the requester was not reached
    ]
    assert "giving up on outbox entry" in caplog.text
    assert messenger.purposes() == ["tech_update"]
    assert len(messenger.attempts) == 7


def test_a_permanent_refusal_fails_at_once_and_holds_back_nothing(
    fake_app: HelpdeskApp, messenger: Any, clock: FrozenClock
) -> None:
    """The requester blocked the bot: the confirmation is a dead letter at the first attempt, the
    technicians are told under the card (with the contact details, to phone), and the later updates
    of the ticket still go out instead of waiting for a thread anchor that will never come."""
    number = open_ticket(fake_app)
    messenger.fail_next(permanent=True)
    fake_app.dispatch_pending()
    confirmation, card, notice = entries(fake_app)
    assert (confirmation.status, confirmation.attempts, confirmation.last_error) == ("failed", 1, "platform is down")
    assert card.status == "sent"
    assert (notice.purpose, notice.chat_id) == ("tech_update", "techs")
    fake_app.dispatch_pending()
    [told] = [n for n in messenger.sent if n.purpose == "tech_update"]
    assert "the requester Ursula User could not be reached on fake (platform is down)" in told.message.text
    assert "ursula@example.be" in told.message.text
    assert told.place == TECHS.in_thread(f"msg-{card.id}")  # under the ticket's card

    fake_app.tickets.claim(TECH, number)
    fake_app.dispatch_pending()
    update = next(n for n in messenger.sent if n.purpose == "update")
    assert "Theo Tech is taking care of your ticket" in update.message.text
    clock.advance(timedelta(days=1))
    fake_app.dispatch_pending()
    assert [a.id for a in messenger.attempts].count(confirmation.id) == 1  # never retried


def test_an_unexpected_messenger_crash_is_retried_and_logged(
    fake_app: HelpdeskApp, messenger: Any, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    open_ticket(fake_app)
    calls: list[int] = []

    def crash_once(notification: Notification) -> None:
        calls.append(notification.id)
        if len(calls) == 1:
            raise ValueError("bug in the adapter")

    messenger.on_send = crash_once
    fake_app.dispatch_pending()
    assert "messenger fake failed on outbox entry" in caplog.text
    assert entries(fake_app)[0].last_error == "ValueError: bug in the adapter"
    clock.advance(timedelta(minutes=1))
    fake_app.dispatch_pending()
    assert [e.status for e in entries(fake_app)] == ["sent", "sent"]


def test_entries_of_platforms_without_a_messenger_wait(app: HelpdeskApp, messenger: Any) -> None:
    open_ticket(wire(app, messenger))
    other = User("ghost", "g1", "Ghost", "en")
    app.tickets.open(other, Place("ghost", "dm"), TicketDraft(title="Ghost printer"), "en")
    app.dispatch_pending()
    assert [(e.platform, e.purpose, e.status) for e in entries(app)] == [
        ("fake", "confirmation", "sent"),
        ("fake", "card", "sent"),
        ("ghost", "confirmation", "pending"),
        ("fake", "card", "sent"),
    ]


def test_two_dispatchers_on_one_database_never_send_twice(
    make_app: AppFactory, make_messenger: Callable[[], Any]
) -> None:
    first, second = make_messenger(), make_messenger()
    app_a, app_b = wire(make_app(), first), wire(make_app(), second)
    for i in range(15):
        open_ticket(app_a, f"Problem number {i}")
    in_flight, release = threading.Event(), threading.Event()

    def hold_the_first(notification: Notification) -> None:
        if not in_flight.is_set():
            in_flight.set()
            release.wait(10)

    first.on_send = hold_the_first
    sender = threading.Thread(target=app_a.dispatch_pending)
    sender.start()
    assert in_flight.wait(10)
    app_b.dispatch_pending()  # while A is in the middle of sending the first entry of its batch
    release.set()
    sender.join(10)
    app_a.dispatch_pending()
    app_b.dispatch_pending()

    ids = [n.id for n in first.sent] + [n.id for n in second.sent]
    # A holds the batch it claimed; B delivers everything else meanwhile.
    assert len(first.sent) == BATCH_SIZE and len(second.sent) == 30 - BATCH_SIZE
    assert sorted(ids) == sorted(set(ids)) == [e.id for e in entries(app_a)]
    assert all(e.status == "sent" and e.attempts == 1 for e in entries(app_a))


def test_a_claimed_entry_is_left_alone_until_its_lease_expires(
    make_app: AppFactory, messenger: Any, clock: FrozenClock
) -> None:
    app = wire(make_app(outbox={"lease_seconds": 60}), messenger)
    open_ticket(app)
    confirmation_id = entries(app)[0].id
    # Another process claimed the confirmation and then died before sending it.
    with app.uow() as uow:
        assert uow.outbox.claim(confirmation_id, "dead", clock.now(), clock.now() + timedelta(seconds=60))
        uow.commit()
    with app.uow() as uow:
        assert not uow.outbox.claim(confirmation_id, "other", clock.now(), clock.now() + timedelta(seconds=60))
    app.dispatch_pending()
    assert messenger.purposes() == ["card"]
    clock.advance(timedelta(seconds=61))
    app.dispatch_pending()
    assert messenger.purposes() == ["card", "confirmation"]
    assert entries(app)[0].attempts == 2


def test_wake_interrupts_the_background_loop(fake_app: HelpdeskApp, messenger: Any) -> None:
    stop = threading.Event()
    delivered = threading.Event()

    def done(notification: Notification) -> None:
        if notification.purpose == "card":
            delivered.set()
            stop.set()

    messenger.on_send = done
    loop = threading.Thread(target=fake_app.dispatcher.run_forever, args=(stop,), daemon=True)
    loop.start()
    open_ticket(fake_app)
    fake_app.dispatcher.wake()
    assert delivered.wait(10)
    fake_app.dispatcher.wake()
    loop.join(10)
    assert not loop.is_alive()
    assert messenger.purposes() == ["confirmation", "card"]


# -- lease fencing ----------------------------------------------------------------------------


def test_a_dispatcher_whose_lease_was_taken_over_cannot_mark_the_entry(
    make_app: AppFactory, make_messenger: Callable[[], Any], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A is slow; its lease expires and B takes the entry over and sends it. A's late success is not
    recorded (its UPDATE no longer matches the token), so it cannot overwrite what B recorded."""
    slow, fast = make_messenger(), make_messenger()
    app_a = wire(make_app(outbox={"lease_seconds": 60}), slow)
    app_b = wire(make_app(outbox={"lease_seconds": 60}), fast)
    open_ticket(app_a)
    confirmation_id = entries(app_a)[0].id

    def stall(notification: Notification) -> None:
        if notification.id == confirmation_id and not fast.sent:
            clock.advance(timedelta(seconds=61))  # A's lease runs out while it is sending
            assert app_b.dispatch_pending() == 2  # B takes both entries over and delivers them

    slow.on_send = stall
    assert app_a.dispatch_pending() == 0  # A's "sent" did not count
    assert "its lease had been taken over" in caplog.text
    confirmation = entries(app_a)[0]
    assert (confirmation.status, confirmation.attempts, confirmation.lease_token) == ("sent", 2, None)
    assert fast.sent[0].id == confirmation_id


def test_a_late_failure_cannot_reschedule_an_entry_another_dispatcher_sent(
    make_app: AppFactory, make_messenger: Callable[[], Any], clock: FrozenClock
) -> None:
    slow, fast = make_messenger(), make_messenger()
    app_a, app_b = wire(make_app(), slow), wire(make_app(), fast)
    open_ticket(app_a)

    def stall_then_fail(notification: Notification) -> None:
        if not fast.sent:
            clock.advance(timedelta(seconds=61))
            app_b.dispatch_pending()
        raise DeliveryError("timed out", permanent=True)

    slow.on_send = stall_then_fail
    app_a.dispatch_pending()
    assert [e.status for e in entries(app_a)] == ["sent", "sent"]  # not "failed": A no longer held them


def test_a_platform_wait_longer_than_the_lease_gives_the_entry_back(
    make_app: AppFactory, make_messenger: Callable[[], Any], clock: FrozenClock
) -> None:
    """Retry-After 90 s with a 60 s lease: the entry is given back until the wait is over (the lease
    released, the attempt not counted), so no other dispatcher sends it early, and it is sent once."""
    first, second = make_messenger(), make_messenger()
    app_a = wire(make_app(outbox={"lease_seconds": 60}), first)
    app_b = wire(make_app(outbox={"lease_seconds": 60}), second)
    open_ticket(app_a)
    asked: list[int] = []

    def rate_limited_once(notification: Notification) -> None:
        if not asked:
            asked.append(notification.id)
            raise DeliveryError("rate limited", retry_after=90)

    first.on_send = rate_limited_once
    app_a.dispatch_pending()
    confirmation = entries(app_a)[0]
    assert (confirmation.status, confirmation.attempts, confirmation.lease_until) == ("pending", 0, None)
    assert confirmation.next_attempt_at == clock.now() + timedelta(seconds=90)
    clock.advance(timedelta(seconds=61))
    assert app_b.dispatch_pending() == 0  # past the lease, but not past the wait
    clock.advance(timedelta(seconds=30))
    assert app_b.dispatch_pending() == 1
    assert asked == [confirmation.id]
    assert [n.id for n in first.sent + second.sent].count(confirmation.id) == 1


def test_the_lease_is_renewed_while_a_send_is_in_flight(
    make_app: AppFactory, make_messenger: Callable[[], Any], clock: FrozenClock
) -> None:
    slow, other = make_messenger(), make_messenger()
    app_a = wire(make_app(outbox={"lease_seconds": 0.3}), slow)
    app_b = wire(make_app(outbox={"lease_seconds": 0.3}), other)
    open_ticket(app_a)
    renewed = threading.Event()
    renew = app_a.dispatcher.renew

    def renew_and_tell(entry_id: int, token: str) -> bool:
        result = renew(entry_id, token)
        renewed.set()
        return result

    app_a.dispatcher.renew = renew_and_tell  # type: ignore[method-assign]

    def slow_send(notification: Notification) -> None:
        if notification.purpose != "confirmation":
            return
        clock.advance(timedelta(seconds=0.25))
        renewed.clear()
        assert renewed.wait(10)  # the keeper renewed the lease from "now"
        clock.advance(timedelta(seconds=0.25))  # past the first lease, inside the renewed one
        assert app_b.dispatcher.dispatch_due(chat_ids=["dm-u1"]) == 0

    slow.on_send = slow_send
    app_a.dispatch_pending()
    assert other.sent == [] and [e.status for e in entries(app_a)] == ["sent", "sent"]
