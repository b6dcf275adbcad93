"""Long button values through the real PTB Application and the fake Bot API: a button whose value
is over Telegram's 64 bytes is sent as a short token, stored in the database, and still works when
it is pressed after the adapter restarted (a new Application and a new core on the same database)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import REQUESTER, callback, make_config, private_message, update
from fake_telegram import Call, FakeTelegram

from adapters.telegram import build_telegram_adapter
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.config import parse_config
from bot.knowledge import KnowledgeBase

ARTICLE_ID = "imprimante-du-deuxieme-etage-bloquee-apres-la-mise-a-jour-du-pilote-hp"
ARTICLE = f"""---
id: {ARTICLE_ID}
title: L'imprimante du deuxième étage est bloquée
lang: fr
tags: [imprimante, pilote, bloquée]
category: helpdesk
---
Après la mise à jour du pilote HP, l'imprimante du deuxième étage refuse les travaux.

1. Supprimez l'imprimante dans Paramètres.
2. Réinstallez-la depuis le portail logiciel.
"""


def _buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [(button["text"], button["callback_data"]) for row in markup.get("inline_keyboard", []) for button in row]


def _values(call: Call) -> list[str]:
    return [value for _label, value in _buttons(call)]


@contextmanager
def _running_core(url: str, kb: Path) -> Iterator[HelpdeskApp]:
    """One bot process's core with its outbox dispatcher running."""
    app = bootstrap(parse_config({"database": {"url": url}}), knowledge=KnowledgeBase.from_directory(kb))
    stop = threading.Event()
    dispatcher = threading.Thread(target=app.dispatcher.run_forever, args=(stop,), daemon=True)
    dispatcher.start()
    try:
        yield app
    finally:
        stop.set()
        app.dispatcher.wake()
        dispatcher.join()
        app.close()


async def test_a_long_button_value_still_works_after_the_adapter_restarts(fake: FakeTelegram, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / f"{ARTICLE_ID}.md").write_text(ARTICLE, encoding="utf-8")
    url = f"sqlite:///{tmp_path}/t.db"
    section = make_config(fake, technicians_forum=False)

    with _running_core(url, kb) as first_core:
        adapter = build_telegram_adapter(first_core, section)
        await adapter.astart()
        try:
            mark = len(fake.calls_to("sendMessage"))
            fake.push_update(update(1, private_message(2, "l'imprimante du deuxième étage est bloquée", language="fr")))
            suggestion = await fake.next_call("sendMessage", mark, lambda c: bool(_values(c)))
        finally:
            await adapter.astop()
    # "Read: …" and "This solved it" both name the long article id: each becomes a token
    tokens = {label: value for label, value in _buttons(suggestion) if value.startswith("~")}
    assert len(tokens) == 2 and all(len(v.encode()) <= 64 for v in _values(suggestion))
    assert ARTICLE_ID not in str(suggestion.params)  # the long value itself never reached Telegram
    read_token = next(value for label, value in tokens.items() if label.startswith("Lire"))

    with _running_core(url, kb) as second_core:  # a restart: new core, new PTB Application, same database
        adapter = build_telegram_adapter(second_core, section)
        await adapter.astart()
        try:
            mark = len(fake.calls_to("sendMessage"))
            fake.push_update(callback(3, read_token, message_id=suggestion.result["message_id"]))
            article = await fake.next_call(
                "sendMessage",
                mark,
                lambda c: c.params["chat_id"] == REQUESTER and "portail logiciel" in c.params["text"],
            )
        finally:
            await adapter.astop()
    assert "L'imprimante du deuxième étage est bloquée" in article.params["text"]


async def test_an_unknown_token_is_answered_as_an_inactive_button(fake: FakeTelegram, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / f"{ARTICLE_ID}.md").write_text(ARTICLE, encoding="utf-8")
    with _running_core(f"sqlite:///{tmp_path}/t.db", kb) as core:
        adapter = build_telegram_adapter(core, make_config(fake, technicians_forum=False))
        await adapter.astart()
        try:
            answers = len(fake.calls_to("answerCallbackQuery"))
            fake.push_update(callback(4, "~AAAAAAAAAAAAAAAAAAAA"))
            answer = await fake.next_call("answerCallbackQuery", answers)
        finally:
            await adapter.astop()
    assert answer.params["text"] == "Ce bouton n'est plus actif."
