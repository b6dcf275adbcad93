"""The real core behind python-telegram-bot, on SQLite and PostgreSQL: an update delivered twice.

The same update reaches two bot applications on one database (a webhook retried on another
instance, a ``getUpdates`` answer fetched again after a restart): it is answered once.
"""

from __future__ import annotations

from collections.abc import Callable

from conftest import REQUESTER, make_config, private_message, update
from fake_telegram import FakeTelegram
from telegram import Update

from adapters.telegram import ADAPTER, TelegramAdapter
from bot.bootstrap import HelpdeskApp


async def feed(adapter: TelegramAdapter, payload: dict[str, object]) -> None:
    await adapter.application.process_update(Update.de_json(payload, adapter.application.bot))


async def test_an_update_delivered_twice_to_two_instances_is_answered_once(
    fake: FakeTelegram, make_app: Callable[..., HelpdeskApp]
) -> None:
    assert ADAPTER.build is not None
    adapters = []
    for app in (make_app(), make_app()):
        adapter = ADAPTER.build(app, make_config(fake, technicians_forum=False))
        assert isinstance(adapter, TelegramAdapter)
        await adapter.astart()
        adapters.append(adapter)
    try:
        payload = update(7001, private_message(71, "My screen stays black after the update"))
        await feed(adapters[0], payload)
        answered = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == REQUESTER]
        assert answered  # the intake's first question, through the outbox, at once
        await feed(adapters[1], payload)  # the same update on the other instance
        await feed(adapters[0], payload)  # and again on the first one
        again = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == REQUESTER]
        assert len(again) == len(answered)
    finally:
        for adapter in adapters:
            await adapter.astop()
