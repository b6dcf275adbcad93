"""The real core behind python-telegram-bot, on SQLite and PostgreSQL: an update delivered twice.

The same update reaches two bot applications on one database (a webhook retried on another
instance, a ``getUpdates`` answer fetched again after a restart): it is answered once.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import REQUESTER, make_config, private_message, update
from fake_telegram import FakeTelegram
from sqlalchemy.exc import OperationalError
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


async def test_a_database_that_is_down_gets_the_apology_in_the_users_language_and_the_update_is_processed_later(
    fake: FakeTelegram, make_app: Callable[..., HelpdeskApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ADAPTER.build is not None
    app = make_app()
    adapter = ADAPTER.build(app, make_config(fake, technicians_forum=False))
    assert isinstance(adapter, TelegramAdapter)
    await adapter.astart()
    try:

        def unreachable() -> None:
            raise OperationalError("BEGIN", {}, ConnectionRefusedError("connection refused"))

        monkeypatch.setattr(app.uow, "event", unreachable)
        payload = update(7101, private_message(81, "Mijn scherm blijft zwart", language="nl"))
        await feed(adapter, payload)
        [apology] = [c.params["text"] for c in fake.calls_to("sendMessage") if c.params["chat_id"] == REQUESTER]
        assert apology.startswith("Sorry, er ging bij mij iets mis.")
        monkeypatch.undo()
        await feed(adapter, payload)  # nothing was recorded: the redelivery is processed afresh
        answers = [c.params["text"] for c in fake.calls_to("sendMessage") if c.params["chat_id"] == REQUESTER]
        assert len(answers) > 1 and "Sorry" not in answers[-1]
    finally:
        await adapter.astop()
