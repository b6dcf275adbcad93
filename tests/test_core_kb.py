"""Knowledge-base suggestions in the conversation: offered first, outcome recorded
(solved / not solved / ignored), silence on greetings and thanks."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import SuggestionLog
from bot.port import ButtonPress

Dialog = Sequence[tuple[str, Sequence[str]]]
AssertDialog = Callable[[ConsoleChat, Dialog], list[list[str]]]

SUGGESTED = "This might help — from the knowledge base:"


def logs(app: HelpdeskApp) -> list[SuggestionLog]:
    with app.uow() as uow:
        return list(uow.session.query(SuggestionLog).order_by(SuggestionLog.id))


def test_confident_match_is_offered_first_with_solved_and_not_solved(
    app: HelpdeskApp, requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            (
                "The printer says paper jam",
                [
                    SUGGESTED,
                    "1. Paper jam in the printer or copier",
                    "Pull the sheet out slowly",
                    "[1] Read: Paper jam in the printer or copier  [2] This solved it  [3] Not solved — open a ticket",
                ],
            ),
        ],
    )
    [log] = logs(app)
    assert (log.outcome, log.user_key, log.platform, log.query) == (
        "shown",
        "console:alice",
        "console",
        "The printer says paper jam",
    )
    assert log.article_ids["ids"] == ["printer-paper-jam"]
    assert 0.2 <= log.article_ids["scores"][0] <= 1


def test_solved_is_recorded_with_the_article(
    app: HelpdeskApp, requester: ConsoleChat, clock: FrozenClock, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            ("my password has expired", [SUGGESTED, "Your Windows password has expired"]),
            ("1", ["Press Ctrl + Alt + Del", "[1] This solved it  [2] Not solved — open a ticket"]),
            ("1", ["Great, glad it is fixed!"]),
        ],
    )
    [log] = logs(app)
    assert (log.outcome, log.solved_by, log.decided_at) == ("solved", "password-expired", clock.now())
    assert log.ticket_id is None
    with app.uow() as uow:
        assert uow.tickets.queue() == []


def test_not_solved_opens_the_intake_with_the_question(
    app: HelpdeskApp, requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            ("The printer says paper jam but there is no paper inside", [SUGGESTED]),
            (
                "3",
                [
                    "let's open a ticket together",
                    "Proposed title: “The printer says paper jam but there is no paper inside”",
                ],
            ),
        ],
    )
    [log] = logs(app)
    assert log.outcome == "not_solved"
    assert log.solved_by is None


def test_a_new_message_instead_of_an_answer_counts_as_ignored(
    app: HelpdeskApp, requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            ("The printer says paper jam", [SUGGESTED]),
            ("mon vpn ne se connecte pas", [SUGGESTED, "Le VPN ne se connecte pas"]),
        ],
    )
    first, second = logs(app)
    assert (first.outcome, second.outcome) == ("ignored", "shown")
    # The buttons of the first suggestion no longer decide anything.
    replies = app.handle(ButtonPress(requester.user, requester.place, f"kb:solved:{first.id}"))
    assert "That question is over." in replies[0].message.text
    assert [log.outcome for log in logs(app)] == ["ignored", "shown"]


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "Bonjour !",
        "hey",
        "goedemorgen",
        "merci beaucoup",
        "thanks",
        "thank you",
        "thanks a lot",
        "thank you so much",
        "bedankt",
        "👍",
        "ok",
        "Bonjour à tous",
    ],
)
def test_greetings_and_thanks_get_no_suggestion_and_no_ticket(
    app: HelpdeskApp, requester: ConsoleChat, text: str
) -> None:
    screen = "\n".join(requester.say(text))
    assert SUGGESTED not in screen
    assert "open a ticket together" not in screen
    assert ("You're welcome!" in screen) or ("Hello Alice!" in screen)
    assert logs(app) == []
    with app.uow() as uow:
        row = uow.conversations.get("console", "dm:alice", "alice")
        assert row is None or (row.state, row.data) == ("idle", {})


def test_thanks_get_you_are_welcome_and_greetings_a_hello(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    assert_dialog(
        requester,
        [
            ("Hello", ["Hello Alice! I am the IT service desk bot."]),
            ("thanks a lot", ["You're welcome!"]),
        ],
    )


def test_unmatched_problem_goes_straight_to_the_intake(
    app: HelpdeskApp, requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            (
                "The monitor on my desk stays black",
                ["I found no article that fixes this", "Proposed title: “The monitor on my desk stays black”"],
            ),
        ],
    )
    assert logs(app) == []


def test_suggestion_state_survives_a_restart(make_app: Callable[..., HelpdeskApp], requester: ConsoleChat) -> None:
    requester.say("The printer says paper jam")
    requester.app.close()
    chat = ConsoleChat(make_app(), requester.user)
    [log] = logs(chat.app)
    replies = chat.app.handle(ButtonPress(chat.user, chat.place, f"kb:notsolved:{log.id}"))
    assert "Proposed title: “The printer says paper jam”" in replies[-1].message.text
    assert logs(chat.app)[0].outcome == "not_solved"
