"""Real bot processes delivering to the fake Slack through slack_sdk, on one PostgreSQL:

* a Retry-After longer than the lease, with two dispatcher processes: the message is posted once;
* a send in flight when its process is killed with SIGKILL (the fake holds the request): after a
  restart the entry is looked up by the outbox id in the message metadata and posted exactly once.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from fake_slack import VALID_TOKEN, FakeSlack
from sqlalchemy import select

from adapters.slack.messenger import carries_outbox_id
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.config import parse_config
from bot.db.models import OutboxEntry
from bot.knowledge import KnowledgeBase
from bot.port import Place, User
from bot.tickets import TicketDraft

pytestmark = pytest.mark.skipif(
    not os.environ.get("HELPDESK_TEST_DATABASE_URL"),
    reason="HELPDESK_TEST_DATABASE_URL is not set: PostgreSQL tests need a server",
)

REQUESTER = User("slack", "U111", "Anne Dupont", "en")
DM = Place("slack", "D111")


def _app(url: str, lease_seconds: float, *, migrate: bool = False) -> HelpdeskApp:
    config = parse_config(
        {
            "database": {"url": url},
            "bot": {"language": "en"},
            "outbox": {"lease_seconds": lease_seconds, "base_delay_seconds": 0.2, "poll_seconds": 0.05},
        },
        environ={},
    )
    return bootstrap(config, knowledge=KnowledgeBase([]), migrate=migrate)


def _dispatcher_process(url: str, api_url: str, lease_seconds: float, barrier: Barrier | None) -> None:
    """A bot process: deliver through the real Slack client until nothing is pending (or 60 s)."""
    from adapters.slack.messenger import SlackMessenger, make_web_client

    app = _app(url, lease_seconds)
    try:
        app.register_messenger(SlackMessenger(make_web_client(VALID_TOKEN, base_url=api_url)))
        if barrier is not None:
            barrier.wait(60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            app.dispatch_pending()
            with app.uow() as uow:
                if uow.outbox.count_pending() == 0:
                    return
            time.sleep(0.05)  # the poll interval of a real bot's dispatcher loop
    finally:
        app.close()


def _entry(app: HelpdeskApp) -> OutboxEntry:
    with app.uow() as uow:
        [entry] = uow.session.scalars(select(OutboxEntry)).all()
        return entry


def _posted_for(fake: FakeSlack, outbox_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.posted() if carries_outbox_id(m, outbox_id)]


def test_a_retry_after_longer_than_the_lease_is_posted_once_by_two_processes(pg_url: str) -> None:
    app = _app(pg_url, 1.0, migrate=True)
    context = multiprocessing.get_context("spawn")
    try:
        app.tickets.open(REQUESTER, DM, TicketDraft(title="VPN drops"), "en")  # one entry: the confirmation
        entry_id = _entry(app).id
        with FakeSlack(epoch=int(time.time())) as fake:
            fake.rate_limit("chat.postMessage", times=1, retry_after=3)  # 3 s, with a 1 s lease
            barrier = context.Barrier(2)
            workers = [
                context.Process(target=_dispatcher_process, args=(pg_url, fake.api_url, 1.0, barrier)) for _ in range(2)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(90)
                assert worker.exitcode == 0
            assert len(_posted_for(fake, entry_id)) == 1
            assert len(fake.calls_to("chat.postMessage")) == 2  # the 429, then the one post
        entry = _entry(app)
        assert entry.status == "sent" and entry.attempts == 1  # the wait was not a failed attempt
    finally:
        app.close()


@pytest.mark.parametrize("accepted", [True, False], ids=["slack-had-it", "slack-never-got-it"])
def test_a_send_in_flight_at_kill_9_is_posted_exactly_once_after_restart(pg_url: str, accepted: bool) -> None:
    app = _app(pg_url, 1.0, migrate=True)
    context = multiprocessing.get_context("spawn")
    try:
        app.tickets.open(REQUESTER, DM, TicketDraft(title="VPN drops"), "en")
        entry_id = _entry(app).id
        with FakeSlack(epoch=int(time.time())) as fake:
            hold = fake.hold("chat.postMessage", accept=accepted)
            doomed = context.Process(target=_dispatcher_process, args=(pg_url, fake.api_url, 1.0, None))
            doomed.start()
            assert hold.arrived.wait(60)  # the post is in flight: Slack has it (or not), no answer yet
            doomed.kill()  # SIGKILL: no cleanup, no commit
            doomed.join(30)
            assert doomed.exitcode == -9
            in_flight = _entry(app)
            assert in_flight.status == "pending" and in_flight.attempted_at is not None

            restarted = context.Process(target=_dispatcher_process, args=(pg_url, fake.api_url, 1.0, None))
            restarted.start()
            restarted.join(90)
            assert restarted.exitcode == 0
            posted = _posted_for(fake, entry_id)
            assert len(posted) == 1
            assert len(fake.calls_to("chat.postMessage")) == (1 if accepted else 2)
            assert len(fake.calls_to("conversations.history")) == 1
        entry = _entry(app)
        assert (entry.status, entry.sent_message_id, entry.attempts) == ("sent", posted[0]["ts"], 2)
        with app.uow() as uow:
            ticket = uow.tickets.get(entry.ticket_id or 0)
            assert ticket is not None and ticket.thread_id == posted[0]["ts"]  # the thread anchor is known
    finally:
        app.close()
