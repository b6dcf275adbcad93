"""Every message the bot sends about a ticket is linked to it, through the real PTB Application,
the real core (SQLite) and the fake Bot API: replying to the technician's /wait question or to a
status update is a comment on the ticket; a ticket keeps its forum topic after a restart."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import REQUESTER, TECH_CHAT, group_command, make_config, private_message, update
from fake_telegram import Call, FakeTelegram

from adapters.telegram import TelegramAdapter, build_telegram_adapter
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.config import parse_config
from bot.port import Place, User
from bot.tickets import TicketDraft

ANNE = User("telegram", str(REQUESTER), "Anne Dupont", "fr", email="anne@example.be")


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


def open_ticket(app: HelpdeskApp, title: str = "Le VPN décroche") -> int:
    number = app.tickets.open(ANNE, Place("telegram", str(REQUESTER)), TicketDraft(title=title), "fr").id
    app.dispatcher.wake()
    return number


def status(app: HelpdeskApp, number: int) -> str:
    with app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        return ticket.status


class Desk:
    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.ids = 5000

    def next_id(self) -> int:
        self.ids += 1
        return self.ids

    async def to_requester(self, mark: int, text: str) -> Call:
        return await self.fake.next_call(
            "sendMessage", mark, lambda c: c.params["chat_id"] == REQUESTER and text in c.params["text"]
        )

    async def to_technicians(self, mark: int, text: str) -> Call:
        return await self.fake.next_call(
            "sendMessage", mark, lambda c: c.params["chat_id"] == TECH_CHAT and text in c.params["text"]
        )

    def technician(self, text: str) -> int:
        mark = len(self.fake.calls_to("sendMessage"))
        self.fake.push_update(update(self.next_id(), group_command(self.next_id(), text)))
        return mark

    def requester_replies(self, text: str, reply_to: int) -> int:
        mark = len(self.fake.calls_to("sendMessage"))
        message = private_message(self.next_id(), text, language="fr", reply_to=reply_to)
        self.fake.push_update(update(self.next_id(), message))
        return mark


async def test_a_reply_to_the_wait_question_answers_it_and_resumes_the_ticket(
    fake: FakeTelegram, helpdesk: HelpdeskApp
) -> None:
    adapter = build_telegram_adapter(helpdesk, make_config(fake, technicians_forum=False))
    await adapter.astart()
    desk = Desk(fake)
    try:
        number = open_ticket(helpdesk)
        await desk.to_requester(0, f"#{number}")
        await desk.to_technicians(0, f"#{number}")
        mark = desk.technician(f"/wait {number} Quel est votre numéro de bureau ?")
        question = await desk.to_requester(mark, "bureau")
        assert question.params["reply_markup"].get("force_reply") is True  # Telegram asks for a reply
        assert status(helpdesk, number) == "waiting"

        mark = desk.requester_replies("Bureau 3.14, deuxième étage", reply_to=question.result["message_id"])
        comment = await desk.to_technicians(mark, "Bureau 3.14")
        assert f"#{number}" in comment.params["text"]
        assert status(helpdesk, number) == "in_progress"
        # not taken for the start of a new request: only the acknowledgement, no suggestion or intake question
        await desk.to_requester(mark, f"Ajouté au ticket #{number}")
        answers = [c.params["text"] for c in fake.calls_to("sendMessage")[mark:] if c.params["chat_id"] == REQUESTER]
        assert answers == [f"Ajouté au ticket #{number}. Le technicien est prévenu."]
    finally:
        await adapter.astop()


async def test_a_reply_to_a_status_update_is_a_comment_on_the_ticket(fake: FakeTelegram, helpdesk: HelpdeskApp) -> None:
    adapter = build_telegram_adapter(helpdesk, make_config(fake, technicians_forum=False))
    await adapter.astart()
    desk = Desk(fake)
    try:
        number = open_ticket(helpdesk)
        await desk.to_technicians(0, f"#{number}")
        mark = desk.technician(f"/claim {number}")
        claimed = await desk.to_requester(mark, "s'occupe de votre ticket")

        mark = desk.requester_replies("Merci, je suis là jusqu'à 16 h", reply_to=claimed.result["message_id"])
        comment = await desk.to_technicians(mark, "jusqu'à 16 h")
        assert f"#{number}" in comment.params["text"]
    finally:
        await adapter.astop()


async def test_a_ticket_keeps_its_forum_topic_after_a_restart(fake: FakeTelegram, helpdesk: HelpdeskApp) -> None:
    fake.forums.add(TECH_CHAT)
    adapter: TelegramAdapter = build_telegram_adapter(helpdesk, make_config(fake, technicians_forum=True))
    await adapter.astart()
    desk = Desk(fake)
    try:
        number = open_ticket(helpdesk)
        confirmation = await desk.to_requester(0, f"#{number}")
        card = await desk.to_technicians(0, f"#{number}")
        [created] = fake.calls_to("createForumTopic")
        topic = created.result["message_thread_id"]
        assert card.params["message_thread_id"] == topic
    finally:
        await adapter.astop()

    restarted: TelegramAdapter = build_telegram_adapter(helpdesk, make_config(fake, technicians_forum=True))
    await restarted.astart()  # a new process: nothing in memory
    try:
        mark = desk.requester_replies("Toujours en panne", reply_to=confirmation.result["message_id"])
        comment = await desk.to_technicians(mark, "Toujours en panne")
        assert comment.params["message_thread_id"] == topic  # the ticket's topic, found in the database
        assert len(fake.calls_to("createForumTopic")) == 1  # no second topic for the same ticket
        assert restarted.registry.topic_anchor(TECH_CHAT, topic) == card.result["message_id"]
    finally:
        await restarted.astop()
