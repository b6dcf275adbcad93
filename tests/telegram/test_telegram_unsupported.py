"""Message kinds the bot cannot read and edited messages, through the real PTB Application in
polling mode, the fake Bot API server and the real core: a sticker, voice note, video note,
location, contact or poll is answered in the user's language with the current question
repeated; an edit replaces an intake answer not used yet, any other edit is declined politely."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REQUESTER, make_config, private_chat, private_message, private_user
from fake_telegram import FakeTelegram

from adapters.telegram import ADAPTER, TelegramAdapter
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.config import parse_config

UNREADABLE = {
    "sticker": {
        "file_id": "CAACAgIAAxkBAAIB",
        "file_unique_id": "AgADSgADwDZPEw",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    },
    "voice": {"file_id": "AwACAgQAAxkBAAIC", "file_unique_id": "AgADDQADWQ", "duration": 3, "mime_type": "audio/ogg"},
    "video_note": {"file_id": "DQACAgQAAxkBAAID", "file_unique_id": "AgADEQAD", "length": 240, "duration": 2},
    "location": {"latitude": 50.8466, "longitude": 4.3528},
    "contact": {"phone_number": "+32 2 123 45 67", "first_name": "Anne"},
    "poll": {
        "id": "5240",
        "question": "Pizza?",
        "options": [
            {"persistent_id": "0", "text": "yes", "voter_count": 0},
            {"persistent_id": "1", "text": "no", "voter_count": 0},
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": True,
        "members_only": False,
    },
}
CANNOT_READ = {
    "fr": "Je peux lire du texte, des photos et des documents",
    "en": "I can read text, photos and documents",
    "nl": "Ik kan tekst, foto's en documenten lezen",
}
TITLE_QUESTION = {
    "fr": "En quelques mots",
    "en": "In a few words, what is the problem?",
    "nl": "Wat is het probleem",
}


@pytest.fixture
async def adapter(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[tuple[TelegramAdapter, HelpdeskApp]]:
    app = bootstrap(parse_config({"database": {"url": f"sqlite:///{tmp_path}/t.db"}}))
    stop = threading.Event()
    dispatcher = threading.Thread(target=app.dispatcher.run_forever, args=(stop,), daemon=True)
    dispatcher.start()
    assert ADAPTER.build is not None
    built = ADAPTER.build(app, make_config(fake, technicians_forum=False))
    assert isinstance(built, TelegramAdapter)
    await built.astart()
    yield built, app
    await built.astop()
    stop.set()
    app.dispatcher.wake()
    dispatcher.join()
    app.close()


class Chat:
    """The requester's private chat: pushes updates, waits for the bot's texts."""

    def __init__(self, fake: FakeTelegram, language: str) -> None:
        self.fake = fake
        self.language = language
        self.next_id = 5000

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    async def send(self, payload: dict[str, Any], *, key: str = "message", answers: int = 1) -> list[str]:
        mark = len(self.fake.calls_to("sendMessage"))
        self.fake.push_update({"update_id": self._id(), key: payload})
        await self.fake.wait_for_calls("sendMessage", mark + answers)
        return [c.params["text"] for c in self.fake.calls_to("sendMessage")[mark:]]

    async def say(self, text: str, message_id: int | None = None, *, answers: int = 1) -> tuple[int, list[str]]:
        number = message_id or self._id()
        return number, await self.send(private_message(number, text, language=self.language), answers=answers)

    async def edit(self, message_id: int, text: str, *, answers: int = 2) -> list[str]:
        payload = private_message(message_id, text, language=self.language)
        payload["edit_date"] = 1569518400
        return await self.send(payload, key="edited_message", answers=answers)

    async def unreadable(self, kind: str, *, answers: int = 2) -> list[str]:
        payload = {
            "message_id": self._id(),
            "from": private_user(REQUESTER, self.language),
            "chat": private_chat(REQUESTER),
            "date": 1569518342,
            kind: UNREADABLE[kind],
        }
        return await self.send(payload, answers=answers)


@pytest.mark.parametrize("language", ["fr", "en", "nl"])
async def test_unreadable_kinds_are_answered_with_the_question_repeated(
    fake: FakeTelegram, adapter: tuple[TelegramAdapter, HelpdeskApp], language: str
) -> None:
    chat = Chat(fake, language)
    await chat.say("/new", answers=2)
    for kind in UNREADABLE:
        notice, question = await chat.unreadable(kind)
        assert CANNOT_READ[language] in notice, (kind, notice)
        assert TITLE_QUESTION[language] in question, (kind, question)


async def test_outside_an_intake_an_unreadable_kind_gets_the_notice_alone(
    fake: FakeTelegram, adapter: tuple[TelegramAdapter, HelpdeskApp]
) -> None:
    chat = Chat(fake, "en")
    [notice] = await chat.unreadable("sticker", answers=1)
    assert CANNOT_READ["en"] in notice


async def test_an_edited_answer_replaces_it_until_the_ticket_is_open(
    fake: FakeTelegram, adapter: tuple[TelegramAdapter, HelpdeskApp]
) -> None:
    _, app = adapter
    chat = Chat(fake, "en")
    new_id, _ = await chat.say("/new", answers=2)
    title_id, [description_question] = await chat.say("Printer jammed")
    assert "Describe the problem" in description_question

    corrected, question = await chat.edit(title_id, "Printer on floor 2 jammed")
    assert "Your correction is taken into account." in corrected
    assert "Describe the problem" in question
    with app.uow() as uow:
        row = uow.conversations.get("telegram", str(REQUESTER), str(REQUESTER))
        assert row is not None and row.data["title"] == "Printer on floor 2 jammed"

    refused, question = await chat.edit(title_id, "x")
    assert "too short" in refused and "Describe the problem" in question
    declined, question = await chat.edit(new_id, "/new again")
    assert "not taken into account once they have been used" in declined and "Describe the problem" in question


async def test_an_edit_outside_an_intake_is_declined(
    fake: FakeTelegram, adapter: tuple[TelegramAdapter, HelpdeskApp]
) -> None:
    chat = Chat(fake, "fr")
    message_id, _ = await chat.say("merci")
    [declined] = await chat.edit(message_id, "merci beaucoup", answers=1)
    assert "Les messages modifiés ne sont pas pris en compte" in declined
