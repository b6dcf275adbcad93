"""Fixtures for the Telegram adapter tests: the fake Bot API server, a recording core, payloads.

The update payloads copy the shapes of real Bot API updates (teloxide's and aiogram's
test suites: private text, supergroup command, forum topic message, photo with caption,
callback queries with an accessible and an inaccessible message).
"""

from __future__ import annotations

import functools
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import BOT_ID, BOT_USERNAME, TOKEN, FakeTelegram

from adapters.telegram.app import TelegramAdapter
from adapters.telegram.config import TelegramConfig
from bot.bootstrap import bootstrap
from bot.commands import Audience
from bot.config import parse_config
from bot.core import HelpdeskCore
from bot.port import Event, Reply

TECH_CHAT = -1001847508954
TECH_USER = 1253681278
REQUESTER = 218485655


class RecordingCore:
    """A stand-in for HelpdeskCore: records events, answers with ``respond(event)``."""

    def __init__(self, respond: Callable[[Event], list[Reply]] | None = None) -> None:
        self.events: list[Event] = []
        self.respond = respond or (lambda event: [])
        self.threads: set[str] = set()

    def handle(self, event: Event) -> list[Reply]:
        self.events.append(event)
        self.threads.add(threading.current_thread().name)
        return self.respond(event)

    def command_menu(self, audience: Audience, language: str) -> list[tuple[str, str]]:
        """The real core's menus (built-ins and features), from one application bootstrapped per session."""
        return _menu_core().command_menu(audience, language)


@functools.cache
def _menu_core() -> HelpdeskCore:
    folder = Path(tempfile.mkdtemp(prefix="tg-menus-"))
    return bootstrap(parse_config({"database": {"url": f"sqlite:///{folder}/menus.db"}})).core


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns on RetryAfter unless opted in to timedelta durations (the adapter opts in too)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def make_config(fake: FakeTelegram, **overrides: Any) -> TelegramConfig:
    values: dict[str, Any] = {
        "enabled": True,
        "token": TOKEN,
        "base_url": fake.base_url,
        "technicians_chat": TECH_CHAT,
        "technicians": [TECH_USER],
        "polling_timeout": 5,
        "request_timeout": 10,
    }
    values.update(overrides)
    return TelegramConfig(**values)


@pytest.fixture
def core() -> RecordingCore:
    return RecordingCore()


@pytest.fixture
async def adapter(fake: FakeTelegram, core: RecordingCore) -> AsyncIterator[TelegramAdapter]:
    running = TelegramAdapter(make_config(fake, technicians_forum=False), core)
    await running.astart()
    yield running
    await running.astop()


# ------------------------------------------------------------------ payloads (real shapes)


def private_user(user_id: int = REQUESTER, language: str = "en") -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": "Waffle",
        "username": "WaffleLapkin",
        "language_code": language,
    }


def private_chat(user_id: int = REQUESTER) -> dict[str, Any]:
    return {"id": user_id, "first_name": "Waffle", "username": "WaffleLapkin", "type": "private"}


def bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Helpdesk", "username": BOT_USERNAME}


def private_message(
    message_id: int, text: str, *, user_id: int = REQUESTER, language: str = "en", reply_to: int | None = None
) -> dict[str, Any]:
    """Shape of teloxide's update.rs ``fn message`` (a private text message)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": private_user(user_id, language),
        "chat": private_chat(user_id),
        "date": 1569518342,
        "text": text,
        "link_preview_options": {"is_disabled": True},
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split(" ")[0]), "type": "bot_command"}]
    if reply_to is not None:
        message["reply_to_message"] = {
            "message_id": reply_to,
            "from": bot_user(),
            "chat": private_chat(user_id),
            "date": 1569518300,
            "text": "earlier bot message",
        }
    return message


def update(update_id: int, message: dict[str, Any]) -> dict[str, Any]:
    return {"update_id": update_id, "message": message}


def group_command(
    message_id: int,
    text: str,
    *,
    user_id: int = TECH_USER,
    chat_id: int = TECH_CHAT,
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Shape of teloxide's update.rs ``fn issue_1107`` (a supergroup bot command)."""
    message: dict[str, Any] = {
        "chat": {"id": chat_id, "title": "Technicians", "type": "supergroup"},
        "date": 1721592580,
        "entities": [{"length": len(text.split(" ")[0]), "offset": 0, "type": "bot_command"}],
        "from": {
            "first_name": "the Cable Guy",
            "id": user_id,
            "is_bot": False,
            "language_code": "fr",
            "username": "tech",
        },
        "message_id": message_id,
        "text": text,
    }
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return message


def callback(
    update_id: int,
    data: str,
    *,
    user_id: int = REQUESTER,
    chat_id: int = REQUESTER,
    message_id: int = 123,
    accessible: bool = True,
    chat_type: str = "private",
) -> dict[str, Any]:
    """Shape of aiogram's callback query tests (``date: 0`` = inaccessible message)."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": user_id, "is_bot": False, "first_name": "name", "language_code": "fr"},
            "message": {
                "message_id": message_id,
                "date": 1234567890 if accessible else 0,
                "chat": {"id": chat_id, "type": chat_type},
            },
            "chat_instance": "chat",
            "data": data,
        },
    }
