"""``TelegramAdapter.connected()``, which ``/readyz`` reads: whether Telegram answers the polls.

Through python-telegram-bot's real polling against the local fake Bot API: connected after the start,
disconnected while every ``getUpdates`` is refused (a 502 from a proxy), connected again once a poll
is answered, and disconnected after the stop.
"""

from __future__ import annotations

from conftest import RecordingCore, make_config
from fake_telegram import FakeTelegram

from adapters.telegram.app import TelegramAdapter


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
