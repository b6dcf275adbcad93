"""An intake the requester leaves unanswered: one reminder with the pending question and its
buttons repeated after ``[bot] intake_reminder_minutes``, then dropped ``intake_drop_minutes``
later, the requester told. An answer in between keeps the intake going; the job never touches
conversations outside an intake."""

from __future__ import annotations

from datetime import timedelta

from test_core_intake import conversation_state, reach

from adapters.console.chat import ConsoleChat
from bot.clock import FrozenClock


def test_an_abandoned_intake_is_reminded_once_then_dropped(clock: FrozenClock, requester: ConsoleChat) -> None:
    app = requester.app
    reach(requester, 2)  # the error-message question is pending
    clock.advance(timedelta(minutes=119))
    assert app.core.follow_up_abandoned_intakes() == 0
    assert requester.poll() == []

    clock.advance(timedelta(minutes=2))
    assert app.core.follow_up_abandoned_intakes() == 1
    reminder = "\n".join(requester.poll())
    assert "Shall we finish your ticket?" in reminder
    assert "Is there an error message?" in reminder and "[1] No error message" in reminder
    assert app.core.follow_up_abandoned_intakes() == 0  # once only
    assert requester.poll() == []

    clock.advance(timedelta(minutes=1441))
    assert app.core.follow_up_abandoned_intakes() == 1
    dropped = "\n".join(requester.poll())
    assert "I have set aside the ticket you started (“My screen stays black after the update”)" in dropped
    assert conversation_state(app, requester) is None


def test_an_answer_after_the_reminder_goes_on_with_the_intake(clock: FrozenClock, requester: ConsoleChat) -> None:
    app = requester.app
    reach(requester, 2)
    clock.advance(timedelta(minutes=121))
    assert app.core.follow_up_abandoned_intakes() == 1
    requester.poll()
    answer = "\n".join(requester.say("1"))  # "No error message", pressed from the repeated question
    assert "Which web address (URL) is concerned" in answer
    clock.advance(timedelta(minutes=30))
    assert app.core.follow_up_abandoned_intakes() == 0
    assert conversation_state(app, requester) == "intake:url"


def test_conversations_outside_an_intake_are_left_alone(
    clock: FrozenClock, requester: ConsoleChat, other_requester: ConsoleChat
) -> None:
    app = requester.app
    requester.say("/help")
    other_requester.say("/mytickets")
    clock.advance(timedelta(days=3))
    assert app.core.follow_up_abandoned_intakes() == 0
    assert requester.poll() == [] and other_requester.poll() == []
