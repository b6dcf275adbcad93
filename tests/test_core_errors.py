"""The error policy: huge messages refused politely, domain errors as one sentence,
unexpected exceptions logged with a traceback and answered with one apology — and the
bot keeps working for the next event."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import pytest
from sqlalchemy.exc import OperationalError

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.port import ButtonPress, SlashCommand, TextMessage, User

Dialog = Sequence[tuple[str, Sequence[str]]]
AssertDialog = Callable[[ConsoleChat, Dialog], list[list[str]]]
OpenTicket = Callable[..., int]
APOLOGY = "Sorry, something went wrong on my side. Nothing you typed is lost"


def test_huge_message_is_refused_politely_and_nothing_is_saved(app: HelpdeskApp, requester: ConsoleChat) -> None:
    limit = app.config.bot.max_message_chars
    replies = app.handle(TextMessage(requester.user, requester.place, "printer " * (limit // 8 + 1)))
    [reply] = replies
    assert f"at most {limit}" in reply.message.text
    assert "Nothing was saved" in reply.message.text
    with app.uow() as uow:
        row = uow.conversations.get("console", "dm:alice", "alice")
        assert row is None or (row.state, row.data) == ("idle", {})
        assert uow.tickets.queue() == []
    # Exactly at the limit is still a message.
    replies = app.handle(TextMessage(requester.user, requester.place, "x" * limit))
    assert "too long" not in replies[0].message.text


def test_huge_message_mid_intake_keeps_the_draft(
    app: HelpdeskApp, requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    requester.say("My screen stays black after the update")
    requester.say("1")
    requester.say("x" * (app.config.bot.max_message_chars + 1))
    assert_dialog(requester, [("skip", ["Is there an error message?"])])


def test_over_long_command_text_is_refused(
    app: HelpdeskApp, technician: ConsoleChat, requester: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester)
    limit = app.config.bot.max_message_chars
    replies = app.handle(ButtonPress(technician.user, technician.place, "noop"))
    assert "no longer active" in replies[0].message.text
    replies = app.handle(SlashCommand(technician.user, technician.place, "note", f"{number} " + "y" * (limit + 1)))
    assert f"at most {limit}" in replies[0].message.text


def test_unexpected_exception_gives_an_apology_is_logged_and_the_bot_keeps_working(
    app: HelpdeskApp,
    requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
    assert_dialog: AssertDialog,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    number = open_ticket(requester)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(app.tickets, "claim", explode)
    with caplog.at_level(logging.ERROR, logger="bot.error_policy"):
        shown = technician.say(f"/claim {number}")
    assert APOLOGY in "\n".join(shown)
    assert "database on fire" not in "\n".join(shown)
    [record] = [r for r in caplog.records if r.name == "bot.error_policy"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert "SlashCommand from console:bob" in record.getMessage()

    monkeypatch.undo()
    assert_dialog(technician, [(f"/claim {number}", [f"You took #{number}."])])
    assert_dialog(requester, [("/mytickets", [f"#{number} [P4] in progress"])])


def test_an_unexpected_error_mid_intake_loses_nothing(
    app: HelpdeskApp, requester: ConsoleChat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    requester.say("My screen stays black after the update")
    requester.say("1")

    def broken(*args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(app.core, "_text", broken)
    assert APOLOGY in "\n".join(requester.say("more details"))
    monkeypatch.undo()
    assert "Is there an error message?" in "\n".join(requester.say("skip"))


def test_a_pipeline_that_cannot_run_is_logged_and_answered_with_the_apology_in_the_users_language(
    app: HelpdeskApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    zoe = ConsoleChat(app, User("console", "zoe", "Zoé", "fr-BE"))

    def unreachable() -> None:
        raise OperationalError("BEGIN", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(app.uow, "event", unreachable)  # the event's unit of work cannot even begin
    with caplog.at_level(logging.ERROR, logger="bot.error_policy"):
        shown = "\n".join(zoe.say("Mon imprimante ne répond plus"))
    assert "Désolé, un problème est survenu de mon côté" in shown
    assert "connection refused" not in shown
    [record] = [r for r in caplog.records if r.name == "bot.error_policy"]
    assert record.exc_info is not None and isinstance(record.exc_info[1], OperationalError)
    assert "TextMessage from console:zoe in console:dm:zoe" in record.getMessage()

    monkeypatch.undo()
    assert "Désolé" not in "\n".join(zoe.say("Mon imprimante ne répond plus"))
