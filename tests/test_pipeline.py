"""The pipeline: one event, one unit of work (see :meth:`bot.core.HelpdeskCore.process`).

On SQLite and, when configured, PostgreSQL: a duplicate delivery commits and answers
nothing (also on another application on the same database, as a second bot process
would); an event's changes and replies are committed together or not at all; replies go
through the outbox, leave at once and survive an outage; processed-event rows expire.
Real processes with the real Slack client are in ``tests/slack/test_slack_processes.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, func, select

from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import Conversation, OutboxEntry, ProcessedEvent, Ticket
from bot.errors import InvalidCommand
from bot.port import Event, OutgoingMessage, Place, Reply, SlashCommand, TextMessage, User
from bot.tickets import TicketDraft

if TYPE_CHECKING:  # several conftest.py files live side by side: only fixtures are shared at run time
    from conftest import AppFactory, FakeMessenger

UNA = User("fake", "u1", "Una Test", "en", email="una@example.be")
DM = Place("fake", "dm:u1")
PROBLEM = "My screen stays black after the update"
TITLE = "Black screen on PC 42"


def nothing_direct(event: Event, reply: Reply) -> bool:
    """Every reply through the outbox (as on Slack and Telegram for a conversation)."""
    return False


@pytest.fixture
def platform_app(make_app: AppFactory, messenger: FakeMessenger) -> HelpdeskApp:
    """An application whose ``fake`` platform gets every reply through the outbox."""
    app = make_app()
    app.register_messenger(messenger)
    app.deliver_directly("fake", nothing_direct)
    return app


def say(app: HelpdeskApp, text: str, event_id: str) -> list[Reply]:
    return app.handle(TextMessage(UNA, DM, text, event_id=event_id))


def count(app: HelpdeskApp, model: type[Any]) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def conversation(app: HelpdeskApp) -> tuple[str, dict[str, Any]]:
    with app.uow() as uow:
        row = uow.conversations.get("fake", DM.chat_id, UNA.id)
        return (row.state, dict(row.data)) if row else ("idle", {})


def texts(messenger: FakeMessenger) -> list[str]:
    return [n.message.text for n in messenger.sent]


def test_replies_go_through_the_outbox_and_leave_at_once(platform_app: HelpdeskApp, messenger: FakeMessenger) -> None:
    assert say(platform_app, "hello", "e1") == []  # nothing left for the adapter
    [sent] = messenger.sent  # delivered right after the commit, without a dispatcher round
    assert sent.place == DM and sent.purpose == "reply" and "Hello Una" in sent.message.text
    with platform_app.uow() as uow:
        assert uow.outbox.count_pending() == 0


def test_an_events_replies_are_written_claimed_and_delivered_without_a_claim_of_their_own(
    platform_app: HelpdeskApp, messenger: FakeMessenger
) -> None:
    statements: list[str] = []
    commits: list[int] = []
    event.listen(platform_app.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    event.listen(platform_app.engine, "commit", lambda _conn: commits.append(1))

    say(platform_app, "hello", "e1")

    [sent] = messenger.sent
    assert not sent.in_doubt
    # The event's commit (its reply written already leased) and the delivery's record: no claim between.
    assert len(commits) == 2
    outbox_reads = [sql for sql in statements if sql.lstrip().startswith("SELECT") and "FROM outbox" in sql]
    claims = [sql for sql in statements if sql.lstrip().startswith("UPDATE outbox SET attempts")]
    assert outbox_reads == [] and claims == []
    with platform_app.uow() as uow:
        [entry] = uow.session.scalars(select(OutboxEntry)).all()
        assert (entry.status, entry.attempts, entry.lease_token, entry.attempted_at) == ("sent", 1, None, None)


def test_an_events_entries_are_prepared_in_one_read_and_each_delivery_recorded_at_once(
    platform_app: HelpdeskApp, messenger: FakeMessenger
) -> None:
    tech, techs = User("fake", "t1", "Theo Tech", "en"), Place("fake", "techs")
    platform_app.roles.grant(tech.key, "technician")
    platform_app.add_technician_place(techs)
    number = platform_app.tickets.open(UNA, DM, TicketDraft(title=TITLE), "en").id
    platform_app.dispatch_pending()  # the confirmation (the thread anchor) and the card
    already = len(messenger.sent)
    commits: list[int] = []
    rollbacks: list[int] = []
    event.listen(platform_app.engine, "commit", lambda _conn: commits.append(1))
    event.listen(platform_app.engine, "rollback", lambda _conn: rollbacks.append(1))

    platform_app.handle(SlashCommand(tech, techs, "claim", str(number), event_id="c1"))

    delivered = messenger.sent[already:]
    assert {n.purpose for n in delivered} >= {"update", "card", "reply"}
    # The event's commit, then one commit per delivery (a reply to it finds the ticket at once); threads,
    # edit targets and the card and update rendered in the recipients' languages: one read transaction.
    assert (len(commits), len(rollbacks)) == (1 + len(delivered), 1)
    with platform_app.uow() as uow:
        assert uow.outbox.count_pending() == 0
        [update] = [n for n in delivered if n.purpose == "update"]
        owner = uow.messages.owner("fake", f"msg-{update.id}")  # a reply to the update is about the ticket
        assert owner is not None and owner[0] == number


def test_replies_of_a_process_that_died_before_delivering_wait_for_the_lease_then_go_in_doubt(
    make_app: AppFactory, make_messenger: type[FakeMessenger], clock: FrozenClock
) -> None:
    dead, alive = make_app(outbox={"lease_seconds": 60}), make_app(outbox={"lease_seconds": 60})
    survivor = make_messenger()
    dead.register_messenger(make_messenger())
    alive.register_messenger(survivor)
    # The first process commits the event (its reply written claimed by it) and dies before sending.
    outcome = dead.core.process(
        TextMessage(UNA, DM, "hello", event_id="e1"), nothing_direct, lease=dead.dispatcher.lease_for_event()
    )
    assert len(outcome.leased) == len(outcome.queued) == 1

    assert alive.dispatch_pending() == 0  # the lease holds: nobody else sends it
    clock.advance(timedelta(seconds=61))
    assert alive.dispatch_pending() == 1
    [sent] = survivor.sent
    assert sent.in_doubt  # the platform may have it already: Slack looks it up before posting again
    with alive.uow() as uow:
        [entry] = uow.session.scalars(select(OutboxEntry)).all()
        assert (entry.status, entry.attempts) == ("sent", 2)


def test_a_duplicate_commits_nothing_and_answers_nothing(platform_app: HelpdeskApp, messenger: FakeMessenger) -> None:
    say(platform_app, PROBLEM, "e1")
    answered, outbox, state = len(messenger.sent), count(platform_app, OutboxEntry), conversation(platform_app)
    assert state[0] == "intake:title"

    assert say(platform_app, PROBLEM, "e1") == []

    assert len(messenger.sent) == answered
    assert count(platform_app, OutboxEntry) == outbox
    assert conversation(platform_app) == state
    assert count(platform_app, ProcessedEvent) == 1


def test_a_retry_mid_intake_on_another_process_is_not_the_next_answer(
    make_app: AppFactory, make_messenger: type[FakeMessenger]
) -> None:
    first, second = make_app(), make_app()
    sent_by: list[FakeMessenger] = []
    for app in (first, second):
        messenger = make_messenger()
        app.register_messenger(messenger)
        app.deliver_directly("fake", nothing_direct)
        sent_by.append(messenger)
    say(first, PROBLEM, "e1")
    say(first, TITLE, "e2")  # the title: the bot asks for the description
    assert conversation(first)[0] == "intake:description"

    say(second, TITLE, "e2")  # the platform retries the title on the other process

    state, data = conversation(second)
    assert state == "intake:description"
    assert (data["title"], data["description"]) == (TITLE, PROBLEM)
    assert sent_by[1].sent == []  # the second process answered nothing
    say(second, "It happens every morning since Monday.", "e3")  # the real next answer, on the other process
    state, data = conversation(second)
    assert state == "intake:error"
    assert "every morning" in data["description"] and TITLE not in data["description"]


def test_an_event_without_identity_is_not_deduplicated(platform_app: HelpdeskApp, messenger: FakeMessenger) -> None:
    say(platform_app, "hello", "")
    say(platform_app, "hello", "")
    assert len(messenger.sent) == 2
    assert count(platform_app, ProcessedEvent) == 0


def test_a_domain_error_rolls_back_the_event_and_is_answered_once(
    platform_app: HelpdeskApp, messenger: FakeMessenger
) -> None:
    """A command that changed something and then refused: nothing of it stays; the refusal is
    answered and the event recorded, so a retry gets nothing more."""

    def open_then_refuse(event: SlashCommand, t: Any) -> list[OutgoingMessage]:
        platform_app.tickets.open(UNA, DM, TicketDraft(title="half-done"), "en")
        raise InvalidCommand(usage="/halfway N")

    platform_app.core.register_command("halfway", open_then_refuse)
    command = SlashCommand(UNA, DM, "halfway", "", event_id="c1")
    platform_app.handle(command)
    platform_app.handle(command)

    assert count(platform_app, Ticket) == 0
    assert [n.message.text for n in messenger.sent] == ["Usage: /halfway N"] or (
        len(messenger.sent) == 1 and "/halfway N" in messenger.sent[0].message.text
    )
    assert count(platform_app, ProcessedEvent) == 1


def test_an_unexpected_error_rolls_back_and_a_redelivery_is_processed_afresh(
    platform_app: HelpdeskApp, messenger: FakeMessenger
) -> None:
    calls: list[int] = []

    def flaky(event: SlashCommand, t: Any) -> list[OutgoingMessage]:
        platform_app.tickets.open(UNA, DM, TicketDraft(title="opened by the flaky command"), "en")
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection reset")
        return [OutgoingMessage("done")]

    platform_app.core.register_command("flaky", flaky)
    command = SlashCommand(UNA, DM, "flaky", "", event_id="c2")
    platform_app.handle(command)
    assert count(platform_app, Ticket) == 0  # the ticket of the failed attempt was rolled back
    assert "something went wrong" in messenger.sent[-1].message.text

    platform_app.handle(command)  # the platform delivers it again: this time it works
    assert count(platform_app, Ticket) == 1
    assert messenger.sent[-1].message.text == "done"


def test_a_reply_survives_an_outage_and_arrives_once(
    platform_app: HelpdeskApp, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    messenger.fail_next(3)
    say(platform_app, PROBLEM, "e1")  # the platform is down: the questions wait in the outbox
    assert messenger.sent == []
    with platform_app.uow() as uow:
        assert uow.outbox.count_pending() == 2
    for _ in range(6):
        clock.advance(timedelta(minutes=5))
        platform_app.dispatch_pending()
    # Each reply once (their order after an outage is the dispatcher's: see bot/outbox.py).
    assert len(messenger.sent) == 2 and len(set(texts(messenger))) == 2
    assert any("Proposed title" in text for text in texts(messenger))


def test_processed_events_expire(platform_app: HelpdeskApp, messenger: FakeMessenger, clock: FrozenClock) -> None:
    say(platform_app, "hello", "old")
    clock.advance(timedelta(hours=platform_app.config.bot.processed_events_hours + 1))
    say(platform_app, "hello", "recent")
    assert platform_app.purge_processed_events() == 1
    with platform_app.uow() as uow:
        assert uow.session.scalars(select(ProcessedEvent.event_id)).all() == ["recent"]
    say(platform_app, "hello", "recent")
    assert len(messenger.sent) == 2  # "recent" is still remembered


def test_an_event_is_one_commit_whatever_the_services_do(platform_app: HelpdeskApp) -> None:
    """Services open their own ``uow()`` and commit; inside an event they join its transaction."""
    from sqlalchemy import event as sa_event

    commits: list[int] = []
    listener = lambda connection: commits.append(1)  # noqa: E731
    sa_event.listen(platform_app.engine, "commit", listener)
    try:
        platform_app.core.register_command(
            "two",
            lambda event, t: [
                OutgoingMessage(f"#{platform_app.tickets.open(UNA, DM, TicketDraft(title=f'n{i}'), 'en').id}")
                for i in range(2)
            ],
        )
        before = len(commits)
        platform_app.core.process(SlashCommand(UNA, DM, "two", "", event_id="c3"), nothing_direct)
        assert len(commits) - before == 1
    finally:
        sa_event.remove(platform_app.engine, "commit", listener)
    assert count(platform_app, Ticket) == 2
    with platform_app.uow() as uow:
        row = uow.session.get(Conversation, ("fake", DM.chat_id, UNA.id))
        assert row is not None and row.state == "idle"
