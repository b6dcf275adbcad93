"""Two bot processes on one PostgreSQL, each with the real core and python-telegram-bot's webhook server.

Telegram redelivers an update whose webhook call failed or timed out, and behind a load balancer the
second delivery can reach the other process. The same update posted to both processes at once is
answered once; a redelivery in the middle of an intake, on the other process, is not taken as the
next answer. The Bot API is the local fake, shared by both. Each process is driven over its stdin
(``handled N``), so nothing waits on a timer. Skipped without ``HELPDESK_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REQUESTER, free_port, private_message, update
from fake_telegram import FakeTelegram
from sqlalchemy import func, select
from support import PG_URL, ChildProcess, migrated_postgres_schema

from bot.db.engine import create_db_engine
from bot.db.models import Conversation, ProcessedEvent

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KB_DIR = ROOT / "tests" / "kb_core_fixtures"
SECRET = "webhook-secret-for-tests"
PROBLEM = "My screen stays black after the update"


class BotProcess(ChildProcess):
    """One ``telegram_process.py`` child: its webhook port and its stdin/stdout handshake."""

    def __init__(self, database_url: str, fake: FakeTelegram) -> None:
        self.port = free_port()
        super().__init__(
            [
                sys.executable,
                str(HERE / "telegram_process.py"),
                *(database_url, fake.base_url, str(KB_DIR), str(self.port), SECRET),
            ]
        )

    async def started(self) -> None:
        """Wait (without blocking the fake Bot API's event loop) until the process listens."""
        assert await asyncio.to_thread(self.read) == "ready"

    async def ask_async(self, command: str) -> str:
        """:meth:`ask` without blocking the fake Bot API's event loop."""
        return await asyncio.to_thread(self.ask, command)

    def post(self, payload: dict[str, Any]) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/telegram",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    async def deliver(self, payload: dict[str, Any], handled: int) -> None:
        """Post an update and wait until this process has finished ``handled`` events in all."""
        assert await asyncio.to_thread(self.post, payload) == 200
        assert await self.ask_async(f"handled {handled}") == "handled"

    async def stop_async(self) -> None:
        """:meth:`stop` without blocking the fake Bot API's event loop."""
        await asyncio.to_thread(self.stop)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL test server, migrated once before both processes start."""
    if not PG_URL:
        pytest.skip("HELPDESK_TEST_DATABASE_URL is not set: the multi-process tests need PostgreSQL")
    with migrated_postgres_schema() as url:
        yield url


def _read(pg_url: str, statement: Any) -> Any:
    engine = create_db_engine(pg_url)
    with engine.connect() as connection:
        value = connection.execute(statement).one()
    engine.dispose()
    return value


def requester_texts(fake: FakeTelegram) -> list[str]:
    return [str(c.params["text"]) for c in fake.calls_to("sendMessage") if c.params["chat_id"] == REQUESTER]


async def test_an_update_posted_to_both_processes_at_once_is_answered_once(fake: FakeTelegram, pg_url: str) -> None:
    first, second = BotProcess(pg_url, fake), BotProcess(pg_url, fake)
    try:
        await asyncio.gather(first.started(), second.started())
        payload = update(9001, private_message(91, PROBLEM))
        statuses = await asyncio.gather(asyncio.to_thread(first.post, payload), asyncio.to_thread(second.post, payload))
        assert statuses == [200, 200]
        assert await first.ask_async("handled 1") == "handled"
        assert await second.ask_async("handled 1") == "handled"
        answers = requester_texts(fake)
        assert answers, "nobody answered"
        assert len(answers) == len(set(answers)), answers  # one process answered, the other stayed silent
        (recorded,) = _read(
            pg_url,
            select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.event_id == "update:9001"),
        )
        assert recorded == 1
    finally:
        await asyncio.gather(first.stop_async(), second.stop_async())


async def test_a_redelivery_on_the_other_process_mid_intake_is_not_the_next_answer(
    fake: FakeTelegram, pg_url: str
) -> None:
    first, second = BotProcess(pg_url, fake), BotProcess(pg_url, fake)
    try:
        await asyncio.gather(first.started(), second.started())
        await first.deliver(update(9101, private_message(101, "/new")), handled=1)
        title = update(9102, private_message(102, "Black screen on PC 42"))
        await second.deliver(title, handled=1)
        state_after_title = _read(
            pg_url,
            select(Conversation.state).where(
                Conversation.platform == "telegram", Conversation.user_id == str(REQUESTER)
            ),
        )[0]
        await first.deliver(title, handled=2)  # Telegram redelivers the title, to the other process
        state, data = _read(
            pg_url,
            select(Conversation.state, Conversation.data).where(
                Conversation.platform == "telegram", Conversation.user_id == str(REQUESTER)
            ),
        )
        assert state == state_after_title == "intake:description"
        assert data.get("description", "") in ("", None)
        answers = requester_texts(fake)
        assert len(answers) == len(set(answers)), answers
    finally:
        await asyncio.gather(first.stop_async(), second.stop_async())
