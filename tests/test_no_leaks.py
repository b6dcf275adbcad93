"""Nothing internal reaches a requester and nothing about one requester reaches another:
handover notes and internal notes stay with the technicians on every path (/ticket, the thread,
follower updates), the duplicate offer shows only the category and when the similar problem was
reported, and someone else's ticket number answers exactly like a number that does not exist."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.port import User

OpenTicket = Callable[..., int]
HANDOVER = "VIP user, bypass the password policy via the admin console"
NOTE = "Requester sounded annoyed; her manager is Jean Peeters"
PERSONAL_TITLE = "Alice's payslip printer leaks salary sheets on floor 3"


def test_handover_and_internal_notes_never_reach_the_requester(
    requester: ConsoleChat, technician: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester)
    technician.say(f"/claim {number}")
    technician.say(f"/note {number} {NOTE}")
    technician.say(f"/escalate {number} L2 {HANDOVER}")
    seen = requester.poll() + requester.say(f"/ticket {number}")
    screen = "\n".join(seen)
    assert "handed over to a specialised team" in screen
    assert "escalated L1 → L2" in screen
    assert HANDOVER not in screen and "VIP" not in screen
    assert NOTE not in screen and "internal note" not in screen
    technician_view = "\n".join(technician.say(f"/ticket {number}"))
    assert HANDOVER in technician_view and NOTE in technician_view


def test_followers_never_see_handover_notes(
    app: HelpdeskApp, requester: ConsoleChat, technician: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester, "The Leave Planner application is unreachable, error 503")
    follower = ConsoleChat(app, User("console", "fred", "Fred", "en"))
    follower.say("Leave planner is unreachable")
    follower.say("1")
    technician.say(f"/escalate {number} L2 {HANDOVER}")
    screen = "\n".join(follower.poll())
    assert "handed over to a specialised team" in screen and HANDOVER not in screen


def test_the_duplicate_offer_reveals_nothing_personal(
    app: HelpdeskApp, requester: ConsoleChat, other_requester: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester, PERSONAL_TITLE)
    offer = "\n".join(other_requester.say("the payslip printer on floor 3 leaks sheets"))
    assert f"#{number}" in offer, offer
    assert "payslip" not in offer.lower() and "Alice" not in offer and "salary" not in offer
    assert "(category helpdesk) was reported" in offer
    followed = "\n".join(other_requester.say("1"))
    assert f"You now follow #{number}" in followed
    assert "payslip" not in followed.lower() and "Alice" not in followed


def _normalised(screen: list[str], number: int) -> str:
    return re.sub(rf"#{number}\b", "#N", "\n".join(screen))


@pytest.mark.parametrize(
    "command",
    [
        "/ticket {n}",
        "/comment {n} is it fixed?",
        "/cancel {n}",
        "/feedback {n} 5 great",
        "/unfollow {n}",
        "/visit {n} 2026-03-04 10:00",
        "#{n} any news?",
    ],
)
def test_someone_elses_ticket_answers_like_an_unknown_number(
    app: HelpdeskApp, requester: ConsoleChat, other_requester: ConsoleChat, open_ticket: OpenTicket, command: str
) -> None:
    number = open_ticket(requester, PERSONAL_TITLE)
    missing = number + 1000
    theirs = _normalised(other_requester.say(command.format(n=number)), number)
    other_requester.say("/cancel")
    unknown = _normalised(other_requester.say(command.format(n=missing)), missing)
    assert theirs == unknown
    assert "payslip" not in theirs.lower()
