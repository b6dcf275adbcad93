"""The outbox's Messenger: notifications, card edits, forum topics and error classification."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import REQUESTER, TECH_CHAT, RecordingCore, make_config
from fake_telegram import FakeTelegram

from adapters.telegram.app import TelegramAdapter
from adapters.telegram.ratelimit import FloodLimiter
from bot.port import Button, DeliveryError, Notification, OutgoingMessage, Place, SentMessage, TicketCard

CARD = OutgoingMessage(
    "#7 · Imprimante <HS>",
    buttons=(Button("Prendre", "claim:7"),),
    card=TicketCard(7, "#7 · Imprimante <HS>"),
)


class VirtualTime:
    """A clock for the flood limiter that moves only when the limiter waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def note(place: Place, message: OutgoingMessage, **fields: Any) -> Notification:
    return Notification(id=fields.pop("id", 1), place=place, message=message, **fields)


async def send(adapter: TelegramAdapter, notification: Notification) -> SentMessage:
    return await asyncio.to_thread(adapter.messenger.send, notification)


async def running(fake: FakeTelegram, time: VirtualTime | None = None, **config: Any) -> TelegramAdapter:
    time = time or VirtualTime()
    limiter = FloodLimiter(sleep=time.sleep, clock=time.clock)
    adapter = TelegramAdapter(make_config(fake, **config), RecordingCore(), limiter=limiter)
    await adapter.astart()
    return adapter


async def test_update_in_thread_and_card_edit(fake: FakeTelegram) -> None:
    adapter = await running(fake, technicians_forum=False)
    try:
        sent = await send(adapter, note(Place("telegram", str(REQUESTER), "4242"), OutgoingMessage("#7: en cours")))
        card = await send(adapter, note(Place("telegram", str(TECH_CHAT)), CARD, ticket_number=7, purpose="card"))
        edited = await send(
            adapter,
            note(
                Place("telegram", str(TECH_CHAT)),
                CARD,
                ticket_number=7,
                purpose="card",
                edit_message_id=card.message_id,
            ),
        )
    finally:
        await adapter.astop()
    first, second = (c.params for c in fake.calls_to("sendMessage"))
    assert first["reply_parameters"] == {"message_id": 4242, "allow_sending_without_reply": True}
    assert sent == SentMessage(
        Place("telegram", str(REQUESTER), "4242"), str(fake.calls_to("sendMessage")[0].result["message_id"])
    )
    assert second["text"] == "<b>#7 · Imprimante &lt;HS&gt;</b>"
    (edit,) = fake.calls_to("editMessageText")
    assert edit.params["message_id"] == int(card.message_id)
    assert edit.params["reply_markup"] == {"inline_keyboard": [[{"text": "Prendre", "callback_data": "claim:7"}]]}
    assert edited.message_id == card.message_id


async def test_forum_technicians_chat_gets_one_topic_per_ticket(fake: FakeTelegram) -> None:
    fake.forums.add(TECH_CHAT)
    adapter = await running(fake)  # technicians_forum=None: detected with getChat
    try:
        assert fake.calls_to("getChat")[0].params["chat_id"] == TECH_CHAT
        card = await send(adapter, note(Place("telegram", str(TECH_CHAT)), CARD, ticket_number=7, purpose="card"))
        update = await send(
            adapter,
            note(
                Place("telegram", str(TECH_CHAT), card.message_id),
                OutgoingMessage("Nouveau commentaire"),
                ticket_number=7,
                id=2,
            ),
        )
    finally:
        await adapter.astop()
    (topic,) = fake.calls_to("createForumTopic")
    assert topic.params == {"chat_id": TECH_CHAT, "name": "#7 · Imprimante <HS>"}
    topic_id = topic.result["message_thread_id"]
    card_call, update_call = fake.calls_to("sendMessage")
    assert card_call.params["message_thread_id"] == topic_id
    assert update_call.params["message_thread_id"] == topic_id
    assert update_call.params["reply_parameters"]["message_id"] == int(card.message_id)
    assert card.place.thread_id == str(topic_id) and update.place.thread_id == str(topic_id)


async def test_message_in_a_ticket_topic_is_a_thread_message(fake: FakeTelegram) -> None:
    from telegram import Update

    fake.forums.add(TECH_CHAT)
    core = RecordingCore()
    adapter = TelegramAdapter(make_config(fake), core)
    await adapter.astart()
    try:
        card = await send(adapter, note(Place("telegram", str(TECH_CHAT)), CARD, ticket_number=7, purpose="card"))
        topic_id = int(card.place.thread_id or 0)
        # teloxide message.rs `fn topic_message`: a text in a topic replies to the topic's creation message
        chat = {"id": TECH_CHAT, "is_forum": True, "title": "twest", "type": "supergroup"}
        creation = {
            "chat": chat,
            "date": 1675229139,
            "message_id": topic_id,
            "message_thread_id": topic_id,
            "is_topic_message": True,
            "from": {"id": 123, "is_bot": True, "first_name": "Helpdesk"},
            "forum_topic_created": {"icon_color": 9367192, "name": "#7"},
        }
        message = {
            "chat": chat,
            "date": 1675229140,
            "from": {"first_name": "tech", "id": 1253681278, "is_bot": False, "language_code": "en"},
            "is_topic_message": True,
            "message_id": topic_id + 5,
            "message_thread_id": topic_id,
            "reply_to_message": creation,
            "text": "blah",
        }
        await adapter.application.process_update(
            Update.de_json({"update_id": 1, "message": message}, adapter.application.bot)
        )
    finally:
        await adapter.astop()
    (event,) = core.events
    assert event.place == Place("telegram", str(TECH_CHAT), card.message_id)  # the card the core knows


@pytest.mark.parametrize(
    ("status", "description", "permanent"),
    [
        (403, "Forbidden: bot was blocked by the user", True),
        (400, "Bad Request: chat not found", True),
        (502, "Bad Gateway", False),
    ],
)
async def test_failures_are_classified(fake: FakeTelegram, status: int, description: str, permanent: bool) -> None:
    adapter = await running(fake, technicians_forum=False)
    try:
        fake.fail("sendMessage", status, description)
        with pytest.raises(DeliveryError) as raised:
            await send(adapter, note(Place("telegram", str(REQUESTER)), OutgoingMessage("x")))
    finally:
        await adapter.astop()
    assert raised.value.permanent is permanent


async def test_persistent_flood_limit_is_transient_and_honours_retry_after(fake: FakeTelegram) -> None:
    time = VirtualTime()
    adapter = await running(fake, time, technicians_forum=False)
    try:
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 3", times=4, retry_after=3)
        with pytest.raises(DeliveryError) as raised:
            await send(adapter, note(Place("telegram", str(REQUESTER)), OutgoingMessage("x")))
        sent = await send(adapter, note(Place("telegram", str(REQUESTER)), OutgoingMessage("y"), id=2))
    finally:
        await adapter.astop()
    assert raised.value.permanent is False
    assert len(fake.calls_to("sendMessage")) == 5  # 1 + 3 retries, then the next one goes through
    assert time.pauses[:3] == [3.0, 3.0, 3.0]
    assert sent.message_id


async def test_migrated_chat_is_followed(fake: FakeTelegram) -> None:
    adapter = await running(fake, technicians_forum=False)
    try:
        fake.fail(
            "sendMessage",
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=-1009999,
        )
        sent = await send(adapter, note(Place("telegram", "-4242"), OutgoingMessage("x")))
        again = await send(adapter, note(Place("telegram", "-4242"), OutgoingMessage("y"), id=2))
    finally:
        await adapter.astop()
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [-4242, -1009999, -1009999]
    assert sent.place.chat_id == again.place.chat_id == "-1009999"


async def test_messenger_refuses_while_stopped(fake: FakeTelegram) -> None:
    adapter = TelegramAdapter(make_config(fake), RecordingCore())
    with pytest.raises(DeliveryError) as raised:
        await send(adapter, note(Place("telegram", "1"), OutgoingMessage("x")))
    assert raised.value.permanent is False
