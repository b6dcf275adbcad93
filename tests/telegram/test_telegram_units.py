"""Pure translation units: Update → event (events.py), core message → HTML (render.py), flood limiter."""

from __future__ import annotations

from typing import Any

from conftest import REQUESTER, callback, private_message
from telegram import Bot, Update
from telegram.error import RetryAfter

from adapters.telegram.config import TelegramConfig
from adapters.telegram.events import EventContext, parse_command, to_event
from adapters.telegram.ratelimit import FloodLimiter
from adapters.telegram.render import (
    MAX_CAPTION,
    MAX_TEXT,
    CallbackCodec,
    MemoryCallbackStore,
    alert_text,
    photo_groups,
    render,
)
from bot.port import Button, ButtonPress, Image, OutgoingMessage, Place, SlashCommand, TextMessage, TicketCard

BOT = Bot("123:ABC")
CTX = EventContext(bot_id=123, bot_username="HelpdeskTestBot")


def event_of(payload: dict[str, Any], ctx: EventContext = CTX) -> Any:
    return to_event(Update.de_json(payload, BOT), ctx)


def test_private_text_with_cyrillic_and_emoji() -> None:
    # teloxide message.rs `fn de_text`
    message = {
        "message_id": 199785,
        "from": {
            "id": 250918540,
            "is_bot": False,
            "first_name": "Андрей",
            "last_name": "Власов",
            "username": "aka_dude",
            "language_code": "en",
        },
        "chat": {"id": 250918540, "first_name": "Андрей", "type": "private"},
        "date": 1568289890,
        "text": "Лол кек 😂",
    }
    event = event_of({"update_id": 1, "message": message})
    assert isinstance(event, TextMessage)
    assert event.text == "Лол кек 😂"
    assert event.user.display_name == "Андрей Власов" and event.user.locale == "en"
    assert event.place == Place("telegram", "250918540")


def test_supergroup_command_in_reply_thread_to_a_human() -> None:
    # teloxide update.rs `fn issue_1107`: /report replying to someone else's story
    payload = {
        "update_id": 439432600,
        "message": {
            "chat": {"id": -1001293752024, "title": "CryptoInside Chat", "type": "supergroup"},
            "date": 1721592580,
            "entities": [{"length": 7, "offset": 0, "type": "bot_command"}],
            "from": {"first_name": "the Cable Guy", "id": 5964236329, "is_bot": False, "language_code": "en"},
            "message_id": 134546,
            "message_thread_id": 134545,
            "reply_to_message": {
                "chat": {"id": -1001293752024, "title": "CryptoInside Chat", "type": "supergroup"},
                "date": 1721592028,
                "from": {"first_name": "Wert", "id": 6962620676, "is_bot": False},
                "message_id": 134545,
            },
            "text": "/report",
        },
    }
    event = event_of(payload)
    assert event == SlashCommand(
        user=event.user, place=Place("telegram", "-1001293752024"), name="report", args="", event_id="update:439432600"
    )


def test_parse_command() -> None:
    assert parse_command("/Claim@helpdesktestbot  42 ", "HelpdeskTestBot") == ("claim", "42")
    assert parse_command("/note 4 line one\nline two", "B") == ("note", "4 line one\nline two")
    assert parse_command("/start@OtherBot", "HelpdeskTestBot") is None
    assert parse_command("hello", "B") is None


def test_callback_queries_accessible_or_not() -> None:
    press = event_of(callback(1, "kb:solved:3"))
    assert press == ButtonPress(
        user=press.user,
        place=Place("telegram", str(REQUESTER)),
        value="kb:solved:3",
        message_id="123",
        event_id="update:1",
    )
    old = event_of(callback(2, "kb:solved:3", accessible=False))
    assert isinstance(old, ButtonPress) and old.message_id == "123"


def test_reply_to_a_prompt_is_not_a_thread() -> None:
    ctx = EventContext(123, "HelpdeskTestBot", is_prompt=lambda chat, message: message == 50)
    assert (
        event_of({"update_id": 3, "message": private_message(9, "réponse", reply_to=50)}, ctx).place.thread_id is None
    )
    assert event_of({"update_id": 4, "message": private_message(9, "suite", reply_to=51)}, ctx).place.thread_id == "51"


def test_render_escapes_card_and_text() -> None:
    message = OutgoingMessage("a < b & c", card=TicketCard(3, "Outlook <crash>", (("Statut", "<nouveau>"),)))
    rendered = render(message, CallbackCodec())
    assert rendered.parts == ("<b>#3 — Outlook &lt;crash&gt;</b>\n<b>Statut</b>: &lt;nouveau&gt;\n\na &lt; b &amp; c",)


def test_render_cuts_one_huge_line_within_the_limit() -> None:
    rendered = render(OutgoingMessage("<" * 5000), CallbackCodec())
    assert all(len(part) <= MAX_TEXT for part in rendered.parts)
    assert "".join(rendered.parts) == "&lt;" * 5000


def test_photo_captions_are_escaped_and_cut_and_albums_hold_ten() -> None:
    groups = photo_groups(tuple(Image(f"{n}.png", b"png", "a & b" if n else "&" * 600) for n in range(12)))
    assert [len(group) for group in groups] == [10, 2]
    assert groups[0][0].caption == "&amp;" * 204 and len(groups[0][0].caption) <= MAX_CAPTION
    assert groups[0][1].caption == "a &amp; b"
    media = groups[1][0].as_media()
    assert (media.caption, media.parse_mode, media.type) == ("a &amp; b", "HTML", "photo")


def test_codec_keeps_short_values_and_hashes_long_ones() -> None:
    codec = CallbackCodec(MemoryCallbackStore(capacity=2))
    assert codec.encode("claim:1") == "claim:1"
    long_values = ["é" * 40, "x" * 65, "y" * 70]
    keys = [codec.encode(value) for value in long_values]
    assert all(len(key.encode()) <= 64 for key in keys)
    assert codec.decode(keys[2]) == long_values[2]
    assert codec.decode(keys[0]) == keys[0]  # evicted: bounded table


def test_buttons_pack_short_labels() -> None:
    buttons = (Button("Oui", "y"), Button("Non", "n"), Button("Une étiquette vraiment très longue", "l"))
    markup = render(OutgoingMessage("?", buttons=buttons), CallbackCodec()).reply_markup
    assert markup is not None
    rows = markup.to_dict()["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in rows] == [["y", "n"], ["l"]]


def test_alert_text_is_cut() -> None:
    assert len(alert_text(OutgoingMessage("x" * 500))) == 200


def test_config_reads_secrets_from_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:SECRET")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "abc")
    config = TelegramConfig(enabled=True)
    assert config.bot_token() == "999:SECRET"
    assert "SECRET" not in repr(config)


async def test_flood_limiter_spaces_group_messages() -> None:
    now = [0.0]
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    limiter = FloodLimiter(group_per_minute=2, clock=lambda: now[0], sleep=sleep)

    async def ok(*args: Any, **kwargs: Any) -> bool:
        return True

    for _ in range(3):
        await limiter.process_request(ok, (), {}, "sendMessage", {"chat_id": -100}, None)
    await limiter.process_request(ok, (), {}, "sendMessage", {"chat_id": 5}, None)  # private: not this window
    assert pauses == [60.0]


async def test_flood_limiter_retries_after_429() -> None:
    pauses: list[float] = []
    attempts = [0]

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        attempts[0] += 1
        if attempts[0] == 1:
            raise RetryAfter(5)
        return True

    limiter = FloodLimiter(sleep=sleep)
    assert await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None) is True
    assert pauses == [5.0] and attempts[0] == 2
