"""``TelegramAdapter.connected()``, which ``/readyz`` reads: whether Telegram answers the polls
(polling mode) or the webhook server runs (webhook mode, checked through the ops listener).

Through python-telegram-bot's real polling against the local fake Bot API: connected after the start,
disconnected while every ``getUpdates`` is refused (a 502 from a proxy), connected again once a poll
is answered, and disconnected after the stop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import RecordingCore, free_port, make_config
from fake_telegram import FakeTelegram
from support import http_get

from adapters.telegram.app import TelegramAdapter
from bot.db.engine import create_db_engine, upgrade_database
from bot.ops.health import Readiness
from bot.ops.server import OpsServer


async def test_connected_follows_whether_telegram_answers_the_polls(fake: FakeTelegram, core: RecordingCore) -> None:
    adapter = TelegramAdapter(make_config(fake, technicians_forum=False, polling_timeout=0), core)
    await adapter.astart()
    try:
        assert adapter.connected()
        polls = len(fake.calls_to("getUpdates"))
        await fake.wait_until(lambda: len(fake.calls_to("getUpdates")) > polls)
        assert adapter.connected()

        fake.fail("getUpdates", 502, "Bad Gateway", times=1_000_000)
        refused = len(fake.calls_to("getUpdates"))
        await fake.wait_until(lambda: len(fake.calls_to("getUpdates")) > refused + 1)
        assert not adapter.connected()

        fake.clear_failures()
        answered = len(fake.calls_to("getUpdates"))
        await fake.wait_until(lambda: len(fake.calls_to("getUpdates")) > answered + 1, timeout=40)
        assert adapter.connected()
    finally:
        await adapter.astop()
    assert not adapter.connected()


async def test_readyz_in_webhook_mode_follows_the_webhook_server(
    fake: FakeTelegram, core: RecordingCore, tmp_path: Path
) -> None:
    port = free_port()
    config = make_config(
        fake,
        technicians_forum=False,
        mode="webhook",
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        webhook_port=port,
        webhook_secret="secret-for-tests",
    )
    adapter = TelegramAdapter(config, core)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    upgrade_database(engine)
    server = OpsServer("127.0.0.1", 0, Readiness(engine, [adapter], max_outbox_backlog=10, max_outbox_due_seconds=300))
    server.start()
    try:
        status, body = await asyncio.to_thread(http_get, server.url + "/readyz")
        assert status == 503 and "FAIL adapter:telegram disconnected" in body  # not started yet
        await adapter.astart()
        assert fake.calls_to("setWebhook")
        status, body = await asyncio.to_thread(http_get, server.url + "/readyz")
        assert status == 200 and "ok adapter:telegram connected" in body, body
        await adapter.astop()
        status, body = await asyncio.to_thread(http_get, server.url + "/readyz")
        assert status == 503 and "FAIL adapter:telegram disconnected" in body, body
    finally:
        await adapter.astop()
        server.stop()
        engine.dispose()
