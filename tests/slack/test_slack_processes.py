"""Two bot processes on one PostgreSQL, each with the real core and the Slack adapter in HTTP mode.

Signed requests go over real sockets to either process (as a load balancer, or Slack retrying
on another connection, would send them); the Web API is the local fake, shared by both.
Each process is driven over its stdin (``idle``: every acknowledged request processed), so
nothing waits on a timer. Skipped without ``HELPDESK_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_slack import FakeSlack
from slack_harness import add_requester
from slack_payloads import FORM, JSON, block_actions, dm_message, event_body, signed_headers
from sqlalchemy import func, select
from support import PG_URL, ChildProcess, migrated_postgres_schema

from bot.db.engine import create_db_engine
from bot.db.models import Conversation, Ticket

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KB_DIR = ROOT / "tests" / "kb_core_fixtures"
DM = "D111"
PROBLEM = "My screen stays black after the update"
TITLE = "Black screen on PC 42"


class BotProcess(ChildProcess):
    """One ``slack_process.py`` child: its HTTP port and its stdin/stdout handshake."""

    def __init__(self, database_url: str, fake: FakeSlack) -> None:
        super().__init__([sys.executable, str(HERE / "slack_process.py"), database_url, fake.api_url, str(KB_DIR)])
        ready = self.read()
        assert ready.startswith("ready "), ready
        self.port = int(ready.split()[1])

    def post(self, body: str, content_type: str, **headers: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            headers={**signed_headers(body, content_type), **headers},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    def send(self, body: str, content_type: str, **headers: str) -> None:
        """Post and wait until this process has processed the request."""
        assert self.post(body, content_type, **headers) == 200
        assert self.ask("idle") == "idle"


@pytest.fixture(scope="module")
def shared_slack() -> Iterator[FakeSlack]:
    """One fake Web API for both processes and every test of the module (tests use their own DM)."""
    with FakeSlack() as fake:
        add_requester(fake)
        yield fake


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL test server, migrated once before both processes start."""
    if not PG_URL:
        pytest.skip("HELPDESK_TEST_DATABASE_URL is not set: the multi-process tests need PostgreSQL")
    with migrated_postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def processes(pg_url: str, shared_slack: FakeSlack) -> Iterator[tuple[BotProcess, BotProcess]]:
    """Two bot processes on one schema, started once for the module."""
    first = BotProcess(pg_url, shared_slack)
    second = BotProcess(pg_url, shared_slack)
    yield first, second
    first.stop()
    second.stop()


def dm_posts(fake: FakeSlack, dm: str = DM) -> list[dict[str, Any]]:
    return [call.args for call in fake.calls_to("chat.postMessage") if call.args["channel"] == dm]


def conversation(pg_url: str, dm: str = DM) -> tuple[str, dict[str, Any]]:
    engine = create_db_engine(pg_url)
    with engine.connect() as connection:
        row = connection.execute(
            select(Conversation.state, Conversation.data).where(
                Conversation.platform == "slack", Conversation.chat_id == dm, Conversation.user_id == "U111"
            )
        ).one()
    engine.dispose()
    return str(row[0]), dict(row[1])


def ticket_count(pg_url: str) -> int:
    engine = create_db_engine(pg_url)
    with engine.connect() as connection:
        number = int(connection.execute(select(func.count()).select_from(Ticket)).scalar_one())
    engine.dispose()
    return number


def message(text: str, ts: str, event_id: str, dm: str = DM) -> str:
    return event_body(dm_message(text, channel=dm, ts=ts), event_id=event_id)


def test_a_slack_retry_reaching_the_other_process_is_not_processed_again(
    processes: tuple[BotProcess, BotProcess], shared_slack: FakeSlack, pg_url: str
) -> None:
    fake_slack = shared_slack
    first, second = processes
    first.send(message(PROBLEM, "1700000000.000001", "Ev1"), JSON)
    first.send(message(TITLE, "1700000000.000002", "Ev2"), JSON)  # the title: the bot asks for the description
    answered = len(dm_posts(fake_slack))
    assert conversation(pg_url)[0] == "intake:description"

    # Slack did not see the acknowledgement in time and retries on the other process.
    second.send(message(TITLE, "1700000000.000002", "Ev2"), JSON, **{"x-slack-retry-num": "1"})

    assert len(dm_posts(fake_slack)) == answered  # nothing answered twice
    state, data = conversation(pg_url)
    assert state == "intake:description"  # the retry was not taken as the description
    assert data["title"] == TITLE and TITLE not in data["description"]

    second.send(message("Every morning since Monday.", "1700000000.000003", "Ev3"), JSON)
    state, data = conversation(pg_url)
    assert state == "intake:error" and "Every morning" in data["description"]


def drive_to_summary(bot: BotProcess, fake: FakeSlack, dm: str) -> None:
    """Answer the intake with its buttons (defaults) until the summary offers "Open the ticket"."""
    bot.send(message(PROBLEM, "1700000001.000001", "EvP", dm), JSON)
    for step in range(20):
        post = dm_posts(fake, dm)[-1]
        values = [e["value"] for b in post.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]
        if "intake:confirm" in values:
            return
        choice = next(
            (v for v in values if v.startswith(("intake:accept", "intake:skip", "intake:contact:ok"))), None
        ) or next((v for v in values if v.startswith(("intake:started:", "intake:impact:", "intake:urgency:"))), None)
        if choice is None:
            bot.send(message("Since this morning, on every PC.", f"1700000002.{step:06d}", f"EvA{step}", dm), JSON)
        else:
            bot.send(block_actions(choice, response_url=fake.response_url(), channel=dm), FORM)
    pytest.fail("the intake never reached its summary")


def test_a_double_press_of_open_the_ticket_on_two_processes_opens_one_ticket(
    processes: tuple[BotProcess, BotProcess], shared_slack: FakeSlack, pg_url: str
) -> None:
    first, second = processes
    dm = "D222"
    drive_to_summary(first, shared_slack, dm)
    assert ticket_count(pg_url) == 0
    presses = [block_actions("intake:confirm", response_url=shared_slack.response_url(), channel=dm) for _ in range(2)]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def press(bot: BotProcess, body: str) -> None:
        start.wait()
        statuses.append(bot.post(body, FORM))

    threads = [threading.Thread(target=press, args=pair) for pair in zip((first, second), presses, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert first.ask("idle") == "idle" and second.ask("idle") == "idle"

    assert statuses == [200, 200]
    assert ticket_count(pg_url) == 1
    assert conversation(pg_url, dm)[0] == "idle"
    texts = [post["text"] for post in dm_posts(shared_slack, dm)]
    over = ("That conversation is over", "Cette conversation est terminée")  # Anne's Slack locale is fr-BE
    assert sum(text.startswith(over) for text in texts) == 1, texts[-4:]
