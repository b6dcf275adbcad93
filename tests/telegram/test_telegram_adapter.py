"""The adapter through the real python-telegram-bot Application, against the fake Bot API server."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from conftest import (
    REQUESTER,
    TECH_CHAT,
    TECH_USER,
    RecordingCore,
    callback,
    free_port,
    group_command,
    make_config,
    private_message,
    update,
)
from fake_telegram import FakeTelegram
from telegram import Update

from adapters.telegram.app import TelegramAdapter
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.ratelimit import FloodLimiter
from bot.port import (
    Attachment,
    Button,
    ButtonPress,
    Event,
    Image,
    OutgoingMessage,
    Place,
    Reply,
    SlashCommand,
    TextMessage,
    TicketCard,
)


async def feed(adapter: TelegramAdapter, payload: dict[str, Any]) -> None:
    await adapter.application.process_update(Update.de_json(payload, adapter.application.bot))


def echo(text: str, **options: Any) -> Any:
    def respond(event: Event) -> list[Reply]:
        return [Reply(event.place, OutgoingMessage(text, **options))]

    return respond


async def test_start_through_real_polling_reaches_core_and_answers(fake: FakeTelegram, core: RecordingCore) -> None:
    core.respond = echo("Bonjour ! Décrivez votre problème.")
    adapter = TelegramAdapter(make_config(fake, technicians_forum=False), core)
    await adapter.astart()
    try:
        fake.push_update(update(892252934, private_message(6557, "/start", language="fr")))
        calls = await fake.wait_for_calls("sendMessage")
    finally:
        await adapter.astop()
    assert core.events == [
        SlashCommand(
            user=core.events[0].user,
            place=Place("telegram", str(REQUESTER)),
            name="start",
            args="",
            event_id="update:892252934",
        )
    ]
    user = core.events[0].user
    assert (user.platform, user.id, user.locale, user.display_name) == (
        "telegram",
        str(REQUESTER),
        "fr",
        "Waffle",
    )
    assert calls[0].params["chat_id"] == REQUESTER
    assert calls[0].params["text"] == "Bonjour ! Décrivez votre problème."
    assert calls[0].params["parse_mode"] == "HTML"
    # the core ran in a worker thread, not on the event loop
    assert core.threads and "MainThread" not in core.threads
    # the offset confirmed the update: the last getUpdates asks for the next one
    assert any(call.params.get("offset") == 892252935 for call in fake.calls_to("getUpdates"))


async def test_command_menus_per_language_and_technician_scope(fake: FakeTelegram, adapter: TelegramAdapter) -> None:
    calls = fake.calls_to("setMyCommands")
    default_scope = [c for c in calls if c.params.get("scope") == {"type": "all_private_chats"}]
    chat_scope = [c for c in calls if c.params.get("scope", {}).get("type") == "chat"]
    assert len(default_scope) + len(chat_scope) == len(calls)
    assert sorted(str(c.params.get("language_code")) for c in default_scope) == ["None", "en", "fr", "nl"]
    assert sorted(str(c.params.get("language_code")) for c in chat_scope) == ["None", "en", "fr", "nl"]
    assert all(c.params["scope"] == {"type": "chat", "chat_id": TECH_CHAT} for c in chat_scope)
    requester_names = {cmd["command"] for cmd in default_scope[0].params["commands"]}
    technician_names = {cmd["command"] for cmd in chat_scope[0].params["commands"]}
    assert {"start", "mytickets", "ticket", "cancel", "kb", "lang", "help", "complaint", "feedback"} <= requester_names
    # Every command the core registers is in the menus: nothing can be left out.
    assert {"new", "comment", "unfollow"} <= requester_names
    assert {"mine", "queue", "new", "comment", "stats"} <= technician_names
    assert not {"claim", "escalate", "visit", "stats"} & requester_names
    assert {
        "claim",
        "assign",
        "note",
        "reply",
        "wait",
        "resolve",
        "reopen",
        "priority",
        "queue",
        "escalate",
        "visit",
        "visits",
        "problem",
        "link",
        "kbdraft",
    } <= technician_names
    french = next(c for c in default_scope if c.params.get("language_code") is None)
    dutch = next(c for c in default_scope if c.params.get("language_code") == "nl")
    english = next(c for c in default_scope if c.params.get("language_code") == "en")
    assert french.params["commands"][1] == {"command": "help", "description": "Ce que je sais faire"}
    assert dutch.params["commands"][1] == {"command": "help", "description": "Wat ik kan"}
    ticket = next(c for c in english.params["commands"] if c["command"] == "ticket")
    assert ticket["description"] == "Status and history of ticket N — /ticket N"


async def test_user_text_is_html_escaped(fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore) -> None:
    core.respond = echo('Titre : <script>alert("x")</script> & <b>gras</b>')
    await feed(adapter, update(1, private_message(10, "<b>injection</b>")))
    assert isinstance(core.events[0], TextMessage)
    assert core.events[0].text == "<b>injection</b>"
    sent = fake.calls_to("sendMessage")[0].params
    assert sent["text"] == 'Titre : &lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;'
    assert sent["parse_mode"] == "HTML"


async def test_buttons_become_inline_keyboard_and_questions_force_reply(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    def respond(event: Event) -> list[Reply]:
        return [
            Reply(
                event.place,
                OutgoingMessage(
                    "Ces articles peuvent aider.",
                    buttons=(
                        Button("Résolu", "kb:solved"),
                        Button("Ouvrir un ticket", "kb:ticket"),
                    ),
                ),
            ),
            Reply(event.place, OutgoingMessage("Quel est le titre ?", expects_text=True)),
        ]

    core.respond = respond
    await feed(adapter, update(2, private_message(11, "mon vpn ne marche pas")))
    first, second = (call.params for call in fake.calls_to("sendMessage"))
    assert first["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Résolu", "callback_data": "kb:solved"},
                {"text": "Ouvrir un ticket", "callback_data": "kb:ticket"},
            ]
        ]
    }
    assert second["reply_markup"] == {"force_reply": True, "selective": True}


async def test_answer_to_a_force_reply_question_stays_in_the_main_flow(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    core.respond = echo("Quel est le titre ?", expects_text=True)
    await feed(adapter, update(3, private_message(12, "imprimante")))
    question_id = (await fake.wait_for_calls("sendMessage"))[0]
    prompt_message_id = 1001  # the fake numbers messages from 1001
    assert question_id.params["text"] == "Quel est le titre ?"
    await feed(adapter, update(4, private_message(13, "Imprimante bloquée", reply_to=prompt_message_id)))
    assert isinstance(core.events[1], TextMessage)
    assert core.events[1].place.thread_id is None


async def test_reply_to_ticket_confirmation_is_a_thread_message_and_answers_in_thread(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    core.respond = echo("Commentaire ajouté au ticket #42.")
    await feed(adapter, update(5, private_message(14, "J'ai redémarré, toujours pareil", reply_to=777)))
    event = core.events[0]
    assert isinstance(event, TextMessage)
    assert event.place == Place("telegram", str(REQUESTER), "777")
    sent = fake.calls_to("sendMessage")[0].params
    assert sent["reply_parameters"] == {"message_id": 777, "allow_sending_without_reply": True}


async def test_group_commands_strip_bot_name_and_ignore_other_bots_and_chatter(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    await feed(adapter, update(6, group_command(20, "/claim@HelpdeskTestBot 42")))
    await feed(adapter, update(7, group_command(21, "/claim@OtherBot 42")))
    chatter = group_command(22, "quelqu'un a vu le ticket 42 ?")
    del chatter["entities"]
    await feed(adapter, update(8, chatter))
    assert len(core.events) == 1
    command = core.events[0]
    assert isinstance(command, SlashCommand)
    assert (command.name, command.args, command.user.key) == ("claim", "42", f"telegram:{TECH_USER}")
    assert command.place == Place("telegram", str(TECH_CHAT))


async def test_duplicated_update_reaches_the_core_with_one_identity(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    """The adapter does not deduplicate: the core's pipeline does, in the database (see
    tests/test_pipeline.py); the adapter hands it the update id as the event's identity."""
    core.respond = echo("ok")
    payload = update(9, private_message(15, "bonjour"))
    await feed(adapter, payload)
    await feed(adapter, payload)
    assert [event.event_id for event in core.events] == ["update:9", "update:9"]


async def test_duplicated_update_over_polling_keeps_its_identity(fake: FakeTelegram, core: RecordingCore) -> None:
    core.respond = echo("ok")
    adapter = TelegramAdapter(make_config(fake, technicians_forum=False), core)
    await adapter.astart()
    try:
        payload = update(50, private_message(15, "bonjour"))
        fake.push_update(payload)
        await fake.wait_for_calls("sendMessage")
        fake.push_update(payload)  # Telegram re-delivers it (e.g. after a lost confirmation)
        fake.push_update(update(51, private_message(16, "encore")))
        await fake.wait_for_calls("sendMessage", 2)
    finally:
        await adapter.astop()
    assert [e.text for e in core.events if isinstance(e, TextMessage)] == ["bonjour", "encore"]


async def test_button_press_answers_callback_and_removes_keyboard(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    core.respond = echo("Quel est le titre ?", expects_text=True)
    await feed(adapter, callback(30, "kb:ticket"))
    press = core.events[0]
    assert press == ButtonPress(
        user=press.user,
        place=Place("telegram", str(REQUESTER)),
        value="kb:ticket",
        message_id="123",
        event_id="update:30",
    )
    assert [c.params for c in fake.calls_to("answerCallbackQuery")] == [{"callback_query_id": "cb30"}]
    assert fake.calls_to("editMessageReplyMarkup")[0].params == {"chat_id": REQUESTER, "message_id": 123}
    assert fake.calls_to("sendMessage")[0].params["text"] == "Quel est le titre ?"


async def test_ephemeral_reply_to_a_button_is_an_alert(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    core.respond = echo("Seuls les techniciens peuvent faire cela.", ephemeral=True)
    await feed(adapter, callback(31, "t:claim:42", user_id=555, chat_id=TECH_CHAT, chat_type="supergroup"))
    answer = fake.calls_to("answerCallbackQuery")[0].params
    assert answer == {
        "callback_query_id": "cb31",
        "text": "Seuls les techniciens peuvent faire cela.",
        "show_alert": True,
    }
    assert fake.calls_to("sendMessage") == []
    assert fake.calls_to("editMessageReplyMarkup") == []  # the card in the group keeps its buttons


async def test_button_on_inaccessible_message_is_handled_without_editing(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    await feed(adapter, callback(32, "kb:solved", accessible=False))
    assert isinstance(core.events[0], ButtonPress)
    assert fake.calls_to("editMessageReplyMarkup") == []
    assert len(fake.calls_to("answerCallbackQuery")) == 1


async def test_callback_is_answered_even_when_the_core_fails(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    def broken(event: Event) -> list[Reply]:
        raise RuntimeError("database is down")

    core.respond = broken
    await feed(adapter, callback(33, "kb:solved"))
    assert [c.params for c in fake.calls_to("answerCallbackQuery")] == [{"callback_query_id": "cb33"}]


async def test_long_callback_values_are_hashed_and_come_back(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    long_value = "intake:edit:" + "x" * 80
    core.respond = echo("Choisissez", buttons=(Button("Modifier", long_value),))
    await feed(adapter, update(34, private_message(16, "bonjour")))
    data = fake.calls_to("sendMessage")[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert len(data.encode()) <= 64
    core.respond = echo("ok")
    await feed(adapter, callback(35, data))
    assert isinstance(core.events[1], ButtonPress)
    assert core.events[1].value == long_value


async def test_long_message_is_split_with_keyboard_on_last_part(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    text = "\n".join(f"ligne {i} " + "é" * 60 for i in range(120))
    core.respond = echo(text, buttons=(Button("OK", "ok"),))
    await feed(adapter, update(36, private_message(17, "bonjour")))
    parts = [c.params for c in fake.calls_to("sendMessage")]
    assert len(text) > 8192 and len(parts) == 3
    assert all(len(p["text"]) <= 4096 for p in parts)
    assert "reply_markup" not in parts[0] and "reply_markup" not in parts[1]
    assert parts[2]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
    assert "\n".join(p["text"] for p in parts) == text


async def test_photo_with_caption_is_downloaded_to_storage(
    fake: FakeTelegram, core: RecordingCore, tmp_path: Any
) -> None:
    file_id = "AgACAgQAAxkBAAINhGKvijUVSn2i3980bQIIc1fqWGNCAAJpvDEbEmaBUfuA43fR-BnlAQADAgADeQADJAQ"
    fake.files[file_id] = b"\x89PNG fake screenshot"
    adapter = TelegramAdapter(make_config(fake, technicians_forum=False, storage_dir=tmp_path / "files"), core)
    await adapter.astart()
    try:
        # teloxide message.rs `fn parse_caption_entities`, trimmed to two sizes
        message = {
            "message_id": 3460,
            "from": {"id": 27433968, "is_bot": False, "first_name": "Crax", "language_code": "en"},
            "chat": {"id": 27433968, "first_name": "Crax", "type": "private"},
            "date": 1655671349,
            "photo": [
                {
                    "file_id": "small",
                    "file_unique_id": "AQADabwxGxJmgVF4",
                    "file_size": 2077,
                    "width": 90,
                    "height": 90,
                },
                {
                    "file_id": file_id,
                    "file_unique_id": "AQADabwxGxJmgVF-",
                    "file_size": 162061,
                    "width": 1280,
                    "height": 1280,
                },
            ],
            "caption": "www.example.com",
            "caption_entities": [{"offset": 0, "length": 15, "type": "url"}],
        }
        await feed(adapter, update(37, message))
    finally:
        await adapter.astop()
    event = core.events[0]
    assert isinstance(event, TextMessage)
    assert event.text == "www.example.com"
    (attachment,) = event.attachments
    assert (attachment.kind, attachment.ref) == ("image", file_id)
    stored = list((tmp_path / "files").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == b"\x89PNG fake screenshot"
    assert attachment.url == stored[0].resolve().as_uri()
    assert isinstance(attachment, Attachment)


async def test_rate_limited_reply_is_retried_after_retry_after(fake: FakeTelegram, core: RecordingCore) -> None:
    pauses: list[float] = []

    async def record_pause(seconds: float) -> None:
        pauses.append(seconds)

    adapter = TelegramAdapter(
        make_config(fake, technicians_forum=False), core, limiter=FloodLimiter(sleep=record_pause)
    )
    await adapter.astart()
    try:
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        core.respond = echo("ok")
        await feed(adapter, update(38, private_message(18, "bonjour")))
    finally:
        await adapter.astop()
    assert len(fake.calls_to("sendMessage")) == 2  # refused once, then accepted
    assert pauses == [7.0]


async def test_group_migration_moves_the_technicians_chat(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    # teloxide message.rs `fn issue_427`, in the technicians' chat
    migrate = {
        "chat": {"all_members_are_administrators": False, "id": TECH_CHAT, "title": "test", "type": "group"},
        "date": 1629404938,
        "from": {"first_name": "nullptr", "id": 729497414, "is_bot": False},
        "message_id": 16,
        "migrate_to_chat_id": -1001555296434,
    }
    await feed(adapter, update(40, migrate))
    assert core.events == []
    assert adapter.registry.technicians_chat == -1001555296434
    assert adapter.registry.resolve(TECH_CHAT) == -1001555296434


async def test_webhook_mode_checks_the_secret_token(fake: FakeTelegram, core: RecordingCore) -> None:
    core.respond = echo("ok")
    port = free_port()
    config = make_config(
        fake,
        technicians_forum=False,
        mode="webhook",
        webhook_url="https://helpdesk.example/tg",
        webhook_port=port,
        webhook_secret="s3cret-token_1",
    )
    adapter = TelegramAdapter(config, core)
    await adapter.astart()
    url = f"http://127.0.0.1:{port}/telegram"
    try:
        (set_webhook,) = fake.calls_to("setWebhook")
        assert set_webhook.params["url"] == "https://helpdesk.example/tg"
        assert set_webhook.params["secret_token"] == "s3cret-token_1"
        payload = update(60, private_message(30, "bonjour"))
        async with aiohttp.ClientSession() as session:
            async with session.post(
                url, json=payload, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            ) as response:
                assert response.status == 403
            async with session.post(url, json=payload) as response:
                assert response.status == 403
            assert core.events == []
            async with session.post(
                url, json=payload, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token_1"}
            ) as response:
                assert response.status == 200
        await fake.wait_for_calls("sendMessage")
    finally:
        await adapter.astop()
    assert [e.text for e in core.events if isinstance(e, TextMessage)] == ["bonjour"]


async def test_card_reply_renders_card_fields(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    card = TicketCard(42, "VPN <down>", (("Statut", "Nouveau"), ("Priorité", "P2")))
    core.respond = echo("", card=card)
    await feed(adapter, update(61, group_command(40, "/ticket 42")))
    sent = fake.calls_to("sendMessage")[0].params
    assert sent["text"] == "<b>#42 — VPN &lt;down&gt;</b>\n<b>Statut</b>: Nouveau\n<b>Priorité</b>: P2"
    assert sent["chat_id"] == TECH_CHAT


async def test_threaded_start_and_stop(fake: FakeTelegram, core: RecordingCore) -> None:
    core.respond = echo("ok")
    adapter = TelegramAdapter(make_config(fake, technicians_forum=False), core)
    await asyncio.to_thread(adapter.start)
    try:
        fake.push_update(update(70, private_message(31, "bonjour")))
        await fake.wait_for_calls("sendMessage")
    finally:
        await asyncio.to_thread(adapter.stop)
    assert len(core.events) == 1
    await asyncio.to_thread(adapter.stop)  # idempotent


# ------------------------------------------------------------------ images (the charts of /stats)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # binary on purpose: the multipart part must keep every byte


def charts(count: int) -> tuple[Image, ...]:
    return tuple(Image(f"chart-{n}.png", PNG + bytes([n]), f"Chart {n} <&>") for n in range(1, count + 1))


async def test_one_image_is_a_photo_after_the_text_in_the_same_thread(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore
) -> None:
    core.respond = echo("Statistiques", images=charts(1))
    await feed(adapter, update(40, private_message(41, "/stats", reply_to=777)))

    assert [c.method for c in fake.calls if c.method in ("sendMessage", "sendPhoto")] == ["sendMessage", "sendPhoto"]
    assert fake.calls_to("sendMediaGroup") == []
    [photo] = fake.sent_photos()
    assert (photo.chat_id, photo.reply_to, photo.filename) == (REQUESTER, 777, "chart-1.png")
    assert (photo.caption, photo.parse_mode) == ("Chart 1 &lt;&amp;&gt;", "HTML")
    assert photo.data == PNG + b"\x01"


async def test_many_images_go_as_albums_of_ten_in_the_forum_topic(fake: FakeTelegram, adapter: TelegramAdapter) -> None:
    adapter.registry.set_forum(TECH_CHAT, True)
    adapter.registry.learn_topic(TECH_CHAT, 501)
    message = OutgoingMessage("Statistiques", images=charts(11))
    await adapter.outbound.send(Place("telegram", str(TECH_CHAT), "501"), message)

    [album] = fake.calls_to("sendMediaGroup")
    assert len(album.params["media"]) == 10 and len(album.result) == 10
    assert len(fake.calls_to("sendPhoto")) == 1  # the eleventh: an album needs two photos at least
    photos = fake.sent_photos(TECH_CHAT)
    assert [p.filename for p in photos] == [f"chart-{n}.png" for n in range(1, 12)]
    assert [p.data for p in photos] == [image.data for image in charts(11)]
    assert {(p.message_thread_id, p.reply_to) for p in photos} == {(501, None)}


async def test_a_refused_photo_is_logged_and_never_stops_the_reply(
    fake: FakeTelegram, adapter: TelegramAdapter, core: RecordingCore, caplog: pytest.LogCaptureFixture
) -> None:
    core.respond = lambda event: [
        Reply(event.place, OutgoingMessage("Statistiques", images=charts(2))),
        Reply(event.place, OutgoingMessage("Fin du rapport")),
    ]
    fake.fail("sendMediaGroup", 400, "Bad Request: IMAGE_PROCESS_FAILED")
    await feed(adapter, update(42, private_message(43, "/stats")))

    assert fake.sent_texts(REQUESTER) == ["Statistiques", "Fin du rapport"]
    assert fake.sent_photos() == []
    [record] = [r for r in caplog.records if "were not sent" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert "chart-1.png, chart-2.png" in record.getMessage() and str(REQUESTER) in record.getMessage()
    assert "image_process_failed" in record.getMessage().lower()


async def test_cards_are_rendered_in_the_language_of_the_chat_they_reach(
    fake: FakeTelegram, core: RecordingCore
) -> None:
    """The outbox asks the messenger: the technicians' group has its configured language; a private chat
    is read by its user, whose language the core keeps in the database (``reader_of``)."""
    adapter = TelegramAdapter(make_config(fake, technicians_forum=False, technicians_language="nl"), core)
    messenger = adapter.messenger
    assert isinstance(messenger, TelegramMessenger)
    assert messenger.language_for(str(TECH_CHAT)) == "nl"
    assert messenger.language_for(str(REQUESTER)) is None
    assert messenger.reader_of(str(REQUESTER)) == f"telegram:{REQUESTER}"
    assert messenger.reader_of(str(TECH_CHAT)) is None
