"""Property-based tests (hypothesis): every intake step, every command and an idle conversation
driven through the console with arbitrary text — control characters, escape sequences, huge
lines, empty lines, markup, any Unicode — never end in the generic apology or a logged
unexpected error, always leave a question (with its buttons) on the screen during the intake,
and keep what was typed when it is refused."""

from __future__ import annotations

import itertools
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import COMMANDS, NASTY
from test_core_intake import FORWARD, PROBLEM, STEPS

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.port import User
from bot.text import clean_input

APOLOGY = "Sorry, something went wrong"
PIECES = [*NASTY, "a]b.be", "#-1", "\t"]
"""The fuzzer's nasty pieces (:data:`support.NASTY`), and three that reach the intake's own parsers."""
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(PIECES) | st.text(max_size=8), max_size=12).map("".join),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=4), st.integers(5_000, 12_000)),
)
PROPERTIES = settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_people = itertools.count()


def newcomer(app: HelpdeskApp, *, technician: bool = False) -> ConsoleChat:
    """A person who never wrote to the bot (each example starts from a fresh conversation)."""
    number = next(_people)
    user = User("console", f"p{number}", f"Person {number}", "en", email=f"p{number}@example.be")
    return ConsoleChat(app, user, technician=technician)


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@PROPERTIES
@given(step=st.integers(0, len(STEPS) - 1), text=TEXT)
def test_any_text_at_any_intake_step_gets_a_question_back(
    app: HelpdeskApp, caplog: pytest.LogCaptureFixture, step: int, text: str
) -> None:
    caplog.clear()
    chat = newcomer(app)
    chat.say(PROBLEM)
    for press in FORWARD[:step]:
        chat.say(press)
    shown = chat.say(text)
    screen = "\n".join(shown)
    assert APOLOGY not in screen
    assert not unexpected_errors(caplog)
    assert "\x1b" not in screen
    if "Cancelled" not in screen and "Your ticket #" not in screen:
        assert shown and shown[-1].startswith("[1] "), screen
    typed = " ".join(clean_input(text).split())
    if "You typed:" in screen and typed:
        assert typed[:40] in " ".join(screen.split())


@PROPERTIES
@given(command=st.sampled_from(COMMANDS), args=TEXT)
def test_any_arguments_to_any_command_get_a_polite_answer(
    app: HelpdeskApp, caplog: pytest.LogCaptureFixture, command: str, args: str
) -> None:
    caplog.clear()
    chat = newcomer(app, technician=True)
    app.roles.grant(chat.user.key, "team_lead")
    screen = "\n".join(chat.say(f"/{command} {args}"))
    assert APOLOGY not in screen
    assert not unexpected_errors(caplog)
    assert screen.strip()
    assert "\x1b" not in screen


@PROPERTIES
@given(lines=st.lists(TEXT, min_size=1, max_size=4))
def test_any_text_in_an_idle_conversation_is_answered(
    app: HelpdeskApp, caplog: pytest.LogCaptureFixture, lines: list[str]
) -> None:
    caplog.clear()
    chat = newcomer(app)
    for line in lines:
        screen = "\n".join(chat.say(line))
        assert APOLOGY not in screen
        assert "\x1b" not in screen
    assert not unexpected_errors(caplog)
