"""The whole journey through the real core (SQLite), the real PTB Application in polling mode
and the fake Bot API server: intake, ticket, technicians' card, claim, commands, resolve."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    REQUESTER,
    TECH_CHAT,
    TECH_USER,
    callback,
    group_command,
    make_config,
    private_message,
    update,
)
from fake_telegram import Call, FakeTelegram

from adapters.telegram import ADAPTER, TelegramAdapter, build_telegram_adapter
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.config import parse_config
from bot.port import Place
from bot.rendering import later


def callback_values(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [button["callback_data"] for row in markup.get("inline_keyboard", []) for button in row]


class Journey:
    """Drives one conversation: pushes updates, waits for the bot's answers."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.next_update = 1000
        self.callback_ids: list[str] = []

    def push(self, payload: dict[str, Any]) -> None:
        if "callback_query" in payload:
            self.callback_ids.append(payload["callback_query"]["id"])
        self.fake.push_update(payload)

    def new_id(self) -> int:
        self.next_update += 1
        return self.next_update

    def mark(self, method: str = "sendMessage") -> int:
        return len(self.fake.calls_to(method))

    async def say(self, text: str, *, reply_to: int | None = None, expect: str) -> Call:
        """The requester writes; returns the first answer whose keyboard offers ``expect``."""
        mark = self.mark()
        self.push(update(self.new_id(), private_message(self.new_id(), text, language="fr", reply_to=reply_to)))
        return await self.keyboard_after(mark, expect)

    async def press(self, call: Call, value: str, *, expect: str) -> Call:
        """The requester presses ``value`` on the message ``call`` sent."""
        assert value in callback_values(call), (value, callback_values(call))
        mark = self.mark()
        self.push(callback(self.new_id(), value, message_id=call.result["message_id"]))
        return await self.keyboard_after(mark, expect)

    async def keyboard_after(self, mark: int, expect: str) -> Call:
        return await self.fake.next_call(
            "sendMessage", mark, lambda c: any(v.startswith(expect) for v in callback_values(c))
        )


@pytest.fixture
async def helpdesk(tmp_path: Path) -> AsyncIterator[HelpdeskApp]:
    config = parse_config({"database": {"url": f"sqlite:///{tmp_path}/t.db"}})
    app = bootstrap(config)
    stop = threading.Event()
    dispatcher = threading.Thread(target=app.dispatcher.run_forever, args=(stop,), daemon=True)
    dispatcher.start()
    yield app
    stop.set()
    app.dispatcher.wake()
    dispatcher.join()
    app.close()


async def test_requester_and_technician_journey(fake: FakeTelegram, helpdesk: HelpdeskApp) -> None:
    section = make_config(fake, technicians_forum=False)
    assert ADAPTER.build is not None
    adapter = ADAPTER.build(helpdesk, section)
    assert isinstance(adapter, TelegramAdapter)
    await adapter.astart()
    journey = Journey(fake)
    try:
        # /start greets in the requester's chat
        mark = journey.mark()
        journey.push(update(journey.new_id(), private_message(1, "/start", language="fr")))
        greeting = await fake.next_call("sendMessage", mark)
        assert greeting.params["chat_id"] == REQUESTER and "/mytickets" in greeting.params["text"]

        # a problem: KB suggestions first, "not solved" opens the intake
        suggestions = await journey.say("mon VPN ne se connecte pas depuis ce matin", expect="kb:notsolved:")
        solved_value = next(v for v in callback_values(suggestions) if v.startswith("kb:notsolved:"))
        title = await journey.press(suggestions, solved_value, expect="intake:accept")
        # the pressed suggestion lost its keyboard
        assert any(
            c.params["message_id"] == suggestions.result["message_id"] for c in fake.calls_to("editMessageReplyMarkup")
        )
        description = await journey.press(title, "intake:accept", expect="intake:skip")
        error = await journey.say("Le client affiche <erreur 809> & se ferme", expect="intake:skip")
        assert "erreur 809" not in description.params["text"]
        url = await journey.press(error, "intake:skip", expect="intake:skip")
        started = await journey.press(url, "intake:skip", expect="intake:started:")
        impact = await journey.press(started, "intake:started:today", expect="intake:impact:")
        urgency = await journey.press(impact, "intake:impact:me", expect="intake:urgency:")
        contact = await journey.press(urgency, "intake:urgency:high", expect="intake:contact:")
        phone = await journey.press(contact, "intake:contact:phone", expect="intake:back")  # no contact: no Skip
        contact = await journey.say("+32 2 123 45 67", expect="intake:contact:ok")
        summary = await journey.press(contact, "intake:contact:ok", expect="intake:confirm")
        assert "&lt;erreur 809&gt; &amp; se ferme" in summary.params["text"]
        assert phone.params["chat_id"] == REQUESTER

        # confirm: confirmation in the private chat, card with buttons in the technicians' chat
        mark = journey.mark()
        confirm = journey.new_id()
        journey.push(callback(confirm, "intake:confirm", message_id=summary.result["message_id"]))
        confirmation = await fake.next_call(
            "sendMessage", mark, lambda c: c.params["chat_id"] == REQUESTER and "#1" in c.params["text"]
        )
        card = await fake.next_call("sendMessage", mark, lambda c: c.params["chat_id"] == TECH_CHAT)
        # the press itself is answered once the event's messages are out (its spinner stops then)
        await fake.next_call("answerCallbackQuery", 0, lambda c: c.params["callback_query_id"] == f"cb{confirm}")
        assert "claim:1" in callback_values(card)
        assert "<b>" in card.params["text"] and "#1" in card.params["text"]
        confirmation_id = confirmation.result["message_id"]
        card_id = card.result["message_id"]

        # someone who is not a technician presses Claim: refused with an alert, nothing changes
        mark_answers = journey.mark("answerCallbackQuery")
        mark_edits = journey.mark("editMessageText")
        journey.push(
            callback(
                journey.new_id(),
                "claim:1",
                user_id=555,
                chat_id=TECH_CHAT,
                message_id=card_id,
                chat_type="supergroup",
            )
        )
        refusal = await fake.next_call("answerCallbackQuery", mark_answers)
        assert refusal.params.get("show_alert") is True

        # the technician claims by button: the card is edited, the requester told in the ticket's thread
        mark = journey.mark()
        journey.push(
            callback(
                journey.new_id(),
                "claim:1",
                user_id=TECH_USER,
                chat_id=TECH_CHAT,
                message_id=card_id,
                chat_type="supergroup",
            )
        )
        edited = await fake.next_call("editMessageText", mark_edits, lambda c: c.params["message_id"] == card_id)
        assert "claim:1" not in callback_values(edited) and "resolve:1" in callback_values(edited)
        claimed = await fake.next_call("sendMessage", mark, lambda c: c.params["chat_id"] == REQUESTER)
        assert claimed.params["reply_parameters"]["message_id"] == confirmation_id

        # the requester replies to the confirmation: a comment; technicians see it under the card
        mark = journey.mark()
        journey.push(
            update(
                journey.new_id(),
                private_message(
                    journey.new_id(),
                    "Toujours en panne après redémarrage",
                    language="fr",
                    reply_to=confirmation_id,
                ),
            )
        )
        tech_update = await fake.next_call("sendMessage", mark, lambda c: c.params["chat_id"] == TECH_CHAT)
        assert "Toujours en panne" in tech_update.params["text"]
        assert tech_update.params["reply_parameters"]["message_id"] == card_id

        # technician commands in the technicians' chat
        mark = journey.mark()
        journey.push(
            update(
                journey.new_id(),
                group_command(journey.new_id(), "/wait@HelpdeskTestBot 1 Quel est votre numéro de bureau ?"),
            )
        )
        question = await fake.next_call(
            "sendMessage", mark, lambda c: c.params["chat_id"] == REQUESTER and "bureau" in c.params["text"]
        )
        assert question.params["reply_parameters"]["message_id"] == confirmation_id
        mark = journey.mark()
        journey.push(update(journey.new_id(), group_command(journey.new_id(), "/resolve 1 Profil VPN reconfiguré")))
        resolved = await fake.next_call(
            "sendMessage",
            mark,
            lambda c: c.params["chat_id"] == REQUESTER and "reconfiguré" in c.params["text"],
        )
        assert resolved.params["reply_parameters"]["message_id"] == confirmation_id
        final_card = await fake.next_call(
            "editMessageText",
            mark_edits,
            lambda c: c.params["message_id"] == card_id and "reopen" in str(c.params),
        )
        assert final_card.params["chat_id"] == TECH_CHAT
    finally:
        await adapter.astop()
    # every callback query was answered, exactly once
    answered = [c.params["callback_query_id"] for c in fake.calls_to("answerCallbackQuery")]
    assert sorted(answered) == sorted(journey.callback_ids)


async def test_build_registers_roles_technician_place_and_messenger(fake: FakeTelegram, helpdesk: HelpdeskApp) -> None:
    adapter = build_telegram_adapter(helpdesk, make_config(fake, team_leads=[77]))
    assert helpdesk.roles.is_technician(f"telegram:{TECH_USER}")
    assert helpdesk.roles.is_team_lead("telegram:77")
    assert [p.chat_id for p in helpdesk.technician_places] == [str(TECH_CHAT)]
    assert helpdesk.dispatcher.messenger_for("telegram") is adapter.messenger


# ------------------------------------------------------------------ /stats: the report, then three charts as photos

LEAD = 424242


async def test_stats_sends_the_report_then_its_three_charts_as_photos(
    fake: FakeTelegram, make_app: Callable[..., HelpdeskApp]
) -> None:
    from test_reports import NOW, seed

    from bot.clock import FrozenClock

    app = make_app(clock=FrozenClock(NOW))
    seed(app)
    adapter = build_telegram_adapter(app, make_config(fake, technicians_forum=False, team_leads=[LEAD]))
    await adapter.astart()
    try:
        mark = len(fake.calls)
        fake.push_update(update(7001, private_message(71, "/stats 30d", user_id=LEAD, language="fr")))
        [album] = await fake.wait_for_calls("sendMediaGroup")
        await fake.wait_until(lambda: album.result is not None)
        methods = [c.method for c in fake.calls[mark:] if c.method in ("sendMessage", "sendMediaGroup", "sendPhoto")]
        assert methods == ["sendMessage", "sendMediaGroup"]  # the text first, then one album
        [text] = fake.sent_texts(LEAD)
        assert text.startswith("Statistiques du service desk 30d") and "Tickets ouverts\u202f: 10" in text
        photos = fake.sent_photos(LEAD)
        assert [p.filename for p in photos] == ["volume-30d.png", "sla-30d.png", "backlog-30d.png"]
        assert [p.caption for p in photos] == [  # the chart titles, in the team lead's language
            "Tickets ouverts par semaine, par catégorie",
            "Respect du SLA par semaine (%)",
            "Tickets en cours par ancienneté (4 ouverts)",
        ]
        for photo in photos:
            assert photo.data.startswith(b"\x89PNG\r\n\x1a\n") and len(photo.data) > 5_000
            assert photo.parse_mode == "HTML" and photo.message_thread_id is None

        # A requester asking for the statistics is refused politely and gets no photo.
        fake.push_update(update(7002, private_message(72, "/stats", language="fr")))
        refusal = await fake.next_call("sendMessage", 1, lambda c: c.params["chat_id"] == REQUESTER)
        assert refusal.params["text"] == "Seuls les chefs d'équipe peuvent consulter les statistiques."
        assert fake.sent_photos(REQUESTER) == [] and len(fake.calls_to("sendMediaGroup")) == 1
    finally:
        await adapter.astop()


async def test_a_private_chats_language_outlives_the_process(fake: FakeTelegram, tmp_path: Path) -> None:
    """The ``language_code`` of a requester's update is kept in the database, not in the adapter's memory: after
    a restart, a notice queued for their private chat by the new process is written in Dutch."""
    config = parse_config({"database": {"url": f"sqlite:///{tmp_path}/t.db"}})
    first = bootstrap(config)
    adapter = build_telegram_adapter(first, make_config(fake, technicians_forum=False))
    await adapter.astart()
    try:
        mark = len(fake.calls_to("sendMessage"))
        fake.push_update(update(5001, private_message(6001, "/mytickets", language="nl-BE")))
        answer = await fake.next_call("sendMessage", mark)
        assert answer.params["text"].startswith("U hebt geen openstaand ticket.")
    finally:
        await adapter.astop()
        first.close()
    second = bootstrap(config)
    adapter = build_telegram_adapter(second, make_config(fake, technicians_forum=False))
    await adapter.astart()
    try:
        with second.uow() as uow:
            second.notifier.direct(uow, Place("telegram", str(REQUESTER)), [later("Problem P{id} is open.", id=7)])
            uow.commit()
        mark = len(fake.calls_to("sendMessage"))
        assert await asyncio.to_thread(second.dispatch_pending) == 1
        notice = await fake.next_call("sendMessage", mark)
        assert notice.params["chat_id"] == REQUESTER and notice.params["text"] == "Probleem P7 is geopend."
    finally:
        await adapter.astop()
        second.close()
