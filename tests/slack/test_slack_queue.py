"""HTTP mode with worker processes, end to end: a real ``helpdesk-bot run`` (the front, which checks
signatures, records requests in ``inbound_events`` and acknowledges) starting two real
``helpdesk-bot slack-worker`` processes, on SQLite and PostgreSQL, against the local fake Web API.

Signed requests go over real sockets; the tests wait on what the fake Web API receives (a
condition, not a timer). One test kills a worker with SIGKILL in the middle of a request.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_slack import VALID_TOKEN, FakeSlack
from slack_harness import TECHNICIAN
from slack_payloads import FORM, JSON, SIGNING_SECRET, dm_message, event_body, signed_headers, slash_command
from sqlalchemy import select

from bot.db.engine import create_db_engine
from bot.db.inbound import InboundQueue
from bot.db.models import Conversation, InboundEvent

ROOT = Path(__file__).resolve().parent.parent.parent
KB_DIR = ROOT / "tests" / "kb_core_fixtures"
PROBLEM = "My screen stays black after the update"
TITLE = "Black screen on PC 42"
ASKS_DESCRIPTION = "Your description so far"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningBot:
    """``helpdesk-bot run`` in HTTP mode with ``queue_workers = 2``, from a bot.toml in ``folder``."""

    def __init__(self, folder: Path, database_url: str, fake: FakeSlack) -> None:
        self.port = free_port()
        config = folder / "bot.toml"
        config.write_text(
            f"""
[database]
url = "{database_url}"

[bot]
language = "en"

[knowledge]
directory = "{KB_DIR}"

[slack]
enabled = true
mode = "http"
bot_token = "{VALID_TOKEN}"
signing_secret = "{SIGNING_SECRET}"
http_host = "127.0.0.1"
http_port = {self.port}
api_base_url = "{fake.api_url}"
triage_channel = "CTRIAGE1"
technicians = ["{TECHNICIAN}"]
queue_workers = 2
queue_lease_seconds = 1
""",
            encoding="utf-8",
        )
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "HELPDESK_"))}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import entry; entry()", "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=folder,
            env=env,
        )
        assert self.process.stdout is not None
        started = self.process.stdout.readline()
        assert "started" in started, started

    def post(self, body: str, content_type: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode(),
            headers=signed_headers(body, content_type),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.read() == b""
            return int(response.status)

    def worker_pids(self) -> set[int]:
        """The children of the front (its worker processes), from /proc."""
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.add(int(entry.name))
        return found

    def stop(self) -> None:
        """SIGTERM: the front stops its workers, each after the request it is handling (idempotent)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            assert self.process.wait(60) == 0
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def bot(tmp_path: Path, db_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    for n in range(1, 4):
        fake_slack.add_user(f"U20{n}", real_name=f"Agent {n}", locale="en-US")
    running = RunningBot(tmp_path, db_url, fake_slack)
    yield running
    running.stop()


def wait_until(fake: FakeSlack, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Block until ``condition`` holds, re-checked whenever the fake Web API receives a call."""
    with fake._changed:
        assert fake._changed.wait_for(condition, timeout), "the workers did not answer in time"


def dm_texts(fake: FakeSlack, dm: str) -> list[str]:
    calls = [call for call in fake.calls if call.method == "chat.postMessage" and call.args.get("channel") == dm]
    return [str(call.args.get("text") or "") for call in calls]


def conversations(url: str) -> dict[str, tuple[str, dict[str, Any]]]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Conversation.chat_id, Conversation.state, Conversation.data).where(Conversation.platform == "slack")
        ).all()
    engine.dispose()
    return {str(chat): (str(state), dict(data)) for chat, state, data in rows}


def recorded(url: str) -> list[Any]:
    """The requests still in the inbound queue (beside a SQLite database, in its own file)."""
    queue = InboundQueue.for_database(create_db_engine(url))
    with queue.engine.connect() as connection:
        rows = list(connection.execute(select(InboundEvent.id, InboundEvent.claimed_by)).all())
    queue.engine.dispose()
    return rows


def test_workers_handle_each_conversation_in_order(bot: RunningBot, fake_slack: FakeSlack, db_url: str) -> None:
    users = [(f"U20{n}", f"D20{n}") for n in range(1, 4)]
    for n, (user, dm) in enumerate(users):
        # Two messages per requester, sent back to back: the title only makes sense after the problem.
        problem = dm_message(PROBLEM, user=user, channel=dm, ts=f"1700000100.{n:06d}")
        title = dm_message(TITLE, user=user, channel=dm, ts=f"1700000200.{n:06d}")
        assert bot.post(event_body(problem, event_id=f"EvP{n}"), JSON) == 200
        assert bot.post(event_body(title, event_id=f"EvT{n}"), JSON) == 200
    assert bot.post(slash_command("help", response_url=fake_slack.response_url(), user=TECHNICIAN), FORM) == 200

    wait_until(fake_slack, lambda: all(any(ASKS_DESCRIPTION in t for t in dm_texts(fake_slack, dm)) for _, dm in users))
    wait_until(fake_slack, lambda: any(call.method == "respond" for call in fake_slack.calls))
    bot.stop()
    assert recorded(db_url) == []  # every recorded request was handled and removed
    states = conversations(db_url)
    for _user, dm in users:
        state, data = states[dm]
        assert state == "intake:description"
        assert data["title"] == TITLE and PROBLEM in data["description"]


def test_a_worker_killed_in_the_middle_of_a_request_loses_nothing(
    bot: RunningBot, fake_slack: FakeSlack, db_url: str
) -> None:
    held = fake_slack.hold("users.info")  # the worker stops there, before the core runs
    assert bot.post(event_body(dm_message(PROBLEM, user="U201", channel="D201", ts="1700000300.000001")), JSON) == 200
    assert held.arrived.wait(60)
    ((_id, claimed_by),) = recorded(db_url)
    pid = int(str(claimed_by).split(":")[1])
    assert pid in bot.worker_pids() and pid != bot.process.pid  # handled by a worker, not by the front
    os.kill(pid, signal.SIGKILL)
    held.release()

    # Another worker takes the request once the dead one's lease has expired, and answers it once.
    wait_until(fake_slack, lambda: len(dm_texts(fake_slack, "D201")) >= 1)
    assert bot.post(event_body(dm_message(TITLE, user="U201", channel="D201", ts="1700000300.000002")), JSON) == 200
    wait_until(fake_slack, lambda: any(ASKS_DESCRIPTION in t for t in dm_texts(fake_slack, "D201")))
    bot.stop()
    assert recorded(db_url) == []
    texts = dm_texts(fake_slack, "D201")
    assert len(texts) == len(set(texts))  # nothing answered twice
    state, data = conversations(db_url)["D201"]
    assert state == "intake:description" and data["title"] == TITLE
