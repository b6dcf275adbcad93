"""Input that used to crash the bot into its generic apology: odd web addresses at the URL
step, ticket numbers too large for the database, and the contact step that looped on "Skip"
and refused an e-mail address typed where a phone number was asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from test_core_intake import reach

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.errors import ValidationFailed
from bot.port import User
from bot.validation import clean_url, parse_ticket_number

AssertDialog = Callable[[ConsoleChat, Sequence[tuple[str, Sequence[str]]]], list[list[str]]]
Labels = Callable[[Sequence[str]], list[str]]
APOLOGY = "Sorry, something went wrong"

ODD_ADDRESSES = [
    "http://[x",
    "https://a]b.be/page",
    "\x1b[2J",
    "\x1b]0;pwned\x07intranet.example.be",
    "exa\u2028mple.be",
    "ex\x00ample.be",
    "http://intranet.example.be:99999/",
    "http://intranet.example.be:port/",
    "http://ex_ample!.be",
    "http://\u202eeb.elpmaxe",
    "https://" + "a" * 70 + ".be",
    "https://.be",
    "[",
    "]",
]


@pytest.mark.parametrize("address", ODD_ADDRESSES)
def test_odd_addresses_are_refused_politely(address: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        clean_url(address)
    value = str(refused.value.params["value"])
    assert "\x1b" not in value and "\x00" not in value and "\u202e" not in value


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("intranet.example.be/app?id=3", "https://intranet.example.be/app?id=3"),
        ("http://[2001:db8::1]:8080/status", "http://[2001:db8::1]:8080/status"),
        ("https://10.0.0.12/login", "https://10.0.0.12/login"),
        ("https://bücher.example.be/", "https://bücher.example.be/"),
        ("<https://intranet.example.be/a/b>", "https://intranet.example.be/a/b"),
        ("http://localhost:8080/", "http://localhost:8080/"),
    ],
)
def test_good_addresses_are_kept(typed: str, kept: str) -> None:
    assert clean_url(typed) == kept


@pytest.mark.parametrize("address", ["https://a]b.be", "\x1b[2Jintranet", "exa\u2028mple.be", "http://[x"])
def test_url_step_re_asks_an_odd_address(requester: ConsoleChat, address: str) -> None:
    reach(requester, 3)
    screen = "\n".join(requester.say(address))
    assert APOLOGY not in screen
    assert "is not a web address" in screen and "Which web address (URL) is concerned" in screen


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), ("#12", 12), (" #7 ", 7), ("2147483647", 2147483647)],
)
def test_ticket_numbers_are_parsed(text: str, number: int) -> None:
    assert parse_ticket_number(text) == number


@pytest.mark.parametrize(
    "text", ["", "#", "0", "-3", "99999999999999999999", "2147483648", "²", "١٢", "12a", "1e5", "0x10", "#-1"]
)
def test_anything_else_is_not_a_ticket_number(text: str) -> None:
    assert parse_ticket_number(text) is None


NUMBERED_COMMANDS = [
    "ticket",
    "cancel",
    "comment",
    "claim",
    "assign",
    "note",
    "reply",
    "wait",
    "resolve",
    "reopen",
    "priority",
    "unfollow",
    "feedback",
    "escalate",
    "visit",
    "category",
    "link",
    "problem",
    "kbdraft",
    "kblink",
]


@pytest.mark.parametrize("command", NUMBERED_COMMANDS)
@pytest.mark.parametrize("number", ["99999999999999999999", "#99999999999999999999", "2147483648", "²", "0"])
def test_huge_or_odd_numbers_get_the_usage_answer(app: HelpdeskApp, command: str, number: str) -> None:
    lead = User("console", "lea", "Léa Lead", "en")
    app.roles.grant(lead.key, "team_lead")
    chat = ConsoleChat(app, lead, technician=True)
    for line in (f"/{command} {number}", f"/{command} {number} some words"):
        screen = "\n".join(chat.say(line))
        assert APOLOGY not in screen
        # /kbdraft first says when the desk has no knowledge folder of its own to write drafts to.
        assert "Usage:" in screen or (command == "kbdraft" and "knowledge folder" in screen), screen


def test_link_with_a_huge_problem_number_gets_the_usage(app: HelpdeskApp, technician: ConsoleChat) -> None:
    screen = "\n".join(technician.say("/link 1 P99999999999999999999"))
    assert APOLOGY not in screen and "Usage: /link N P" in screen


def test_phone_step_accepts_an_email_address(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 7)
    assert_dialog(
        requester,
        [
            ("3", ["Your phone number or internal extension?"]),
            ("alice.work@example.be", ["Email: alice.work@example.be", "How can a technician reach you?"]),
        ],
    )


def test_contact_step_accepts_a_phone_or_an_email_typed_directly(
    requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    reach(requester, 7)
    assert_dialog(
        requester,
        [
            ("0470 12 34 56", ["Phone: +32 470 12 34 56", "How can a technician reach you?"]),
            ("dupont.a@example.be", ["Email: dupont.a@example.be", "Phone: +32 470 12 34 56"]),
            ("nothing useful", ["Please choose one of the buttons", "How can a technician reach you?"]),
        ],
    )


def test_without_any_contact_the_phone_question_offers_no_skip_that_loops(
    app: HelpdeskApp, assert_dialog: AssertDialog, button_labels: Labels
) -> None:
    nobody = ConsoleChat(app, User("console", "dan", "Dan", "en"))
    reach(nobody, 7)
    screen = nobody.say("1")
    joined = "\n".join(screen)
    assert "Please give a phone number or an email address" in joined
    assert "Skip" not in button_labels(screen)
    assert_dialog(
        nobody,
        [
            ("skip", ["a phone number or an email address", "Your phone number or email address?"]),
            ("dan@example.be", ["Email: dan@example.be", "How can a technician reach you?"]),
            ("1", ["Here is your ticket."]),
        ],
    )
