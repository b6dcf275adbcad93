"""Duplicate reports, followers, major incidents and problem records, through the console driver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import IncidentReport, Problem, ProblemLink, Ticket, TicketFollower
from bot.incidents import text_similarity
from bot.incidents.duplicates import DuplicateDesk
from bot.port import User

OpenTicket = Callable[..., int]

OUTAGE = "The Leave Planner application is unreachable, error 503"
VARIANTS = [
    "Leave Planner is unreachable",
    "leave planner does not open, error 503",
    "I cannot reach the leave planner application",
    "Leave planner down?",
    "the Leave Planner app gives error 503",
]


def person(i: int) -> User:
    return User("console", f"user{i}", f"Person {i}", "en")


def count(app: HelpdeskApp, model: type[Any], *where: ColumnElement[bool]) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_similarity_tells_same_problem_from_different_ones() -> None:
    assert text_similarity(OUTAGE, VARIANTS[0]) >= 0.5
    assert text_similarity("imprimante bloquée au 2e étage", "Le VPN ne marche plus") == 0.0
    assert text_similarity("l'imprimnte est en panne", "imprimante en panne") == 1.0


def test_thirty_reports_of_one_outage_make_one_incident_with_followers(
    app: HelpdeskApp,
    clock: FrozenClock,
    requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
) -> None:
    number = open_ticket(requester, OUTAGE)
    technician.poll()
    followers = []
    for i in range(29):
        clock.advance(timedelta(seconds=20))
        chat = ConsoleChat(app, person(i))
        offer = chat.say(VARIANTS[i % len(VARIANTS)])
        assert f"Same problem as #{number}? Follow it" in "\n".join(offer)
        assert f"You now follow #{number}" in "\n".join(chat.say("1"))
        followers.append(chat)

    triage = "\n".join(technician.poll())
    assert triage.count("Major incident") == 1
    assert "Problem P1 is open" in triage
    assert count(app, Ticket) == 1
    assert count(app, TicketFollower, TicketFollower.ticket_id == number) == 29
    assert count(app, Problem) == 1
    with app.uow() as uow:
        problem = uow.session.scalars(select(Problem)).one()
        assert problem.source == "major" and problem.reports == 30
        assert [link.ticket_id for link in uow.session.scalars(select(ProblemLink))] == [number]

    technician.say(f"/claim {number}")
    for chat in followers:
        assert f"#{number}, which you follow: a technician is working on it." in "\n".join(chat.poll())

    shown = "\n".join(technician.say("/problem P1"))
    assert "30 people affected" in shown and "29 followers" in shown

    done = "\n".join(technician.say("/problem resolve P1 The application server was restarted."))
    assert "1 ticket resolved, 30 people notified" in done
    assert "The application server was restarted." in "\n".join(requester.poll())
    for chat in followers:
        update = "\n".join(chat.poll())
        assert f"#{number}, which you follow, is resolved:" in update
        assert "The application server was restarted." in update
    with app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "resolved"
        assert uow.session.scalars(select(Problem)).one().status == "resolved"


def test_declining_the_offer_goes_on_with_the_intake(
    app: HelpdeskApp,
    clock: FrozenClock,
    requester: ConsoleChat,
    other_requester: ConsoleChat,
    open_ticket: OpenTicket,
) -> None:
    number = open_ticket(requester, OUTAGE)
    offer = other_requester.say("Leave planner unreachable since this morning")
    assert f"#{number}" in "\n".join(offer)
    after = "\n".join(other_requester.say("2"))
    assert "let's open a ticket together" in after
    assert count(app, TicketFollower) == 0


def test_no_offer_for_old_closed_or_own_tickets(
    app: HelpdeskApp,
    clock: FrozenClock,
    requester: ConsoleChat,
    other_requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
) -> None:
    number = open_ticket(requester, OUTAGE)
    own = "\n".join(requester.say(VARIANTS[0]))
    assert "Follow it" not in own
    requester.say("/cancel")
    clock.advance(timedelta(hours=5))  # beyond duplicate_hours = 4
    assert "Follow it" not in "\n".join(other_requester.say(VARIANTS[0]))
    other_requester.say("/cancel")
    clock.set(clock.now() - timedelta(hours=5))
    technician.say(f"/resolve {number} fixed")
    assert "Follow it" not in "\n".join(other_requester.say(VARIANTS[0]))


def test_unfollow_stops_the_updates(
    app: HelpdeskApp,
    requester: ConsoleChat,
    other_requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
) -> None:
    number = open_ticket(requester, OUTAGE)
    other_requester.say(VARIANTS[1])
    other_requester.say("1")
    assert "You no longer follow" in "\n".join(other_requester.say(f"/unfollow {number}"))
    assert "You do not follow" in "\n".join(other_requester.say(f"/unfollow {number}"))
    technician.say(f"/claim {number}")
    assert "which you follow" not in "\n".join(other_requester.poll())


def test_reports_spread_over_more_than_t_minutes_are_no_major_incident(
    make_app: Callable[..., HelpdeskApp], clock: FrozenClock
) -> None:
    app = make_app(incidents={"major_reports": 3, "major_minutes": 10})
    technician = ConsoleChat(app, User("console", "bob", "Bob Tech", "en"), technician=True)
    for i in range(3):  # at 0, 6 and 12 minutes: never three within 10 minutes
        if i:
            clock.advance(timedelta(minutes=6))
        ConsoleChat(app, person(i)).say(VARIANTS[i])
    assert "Major incident" not in "\n".join(technician.poll())
    clock.advance(timedelta(minutes=1))
    ConsoleChat(app, person(9)).say(VARIANTS[3])  # at 13 minutes: with those at 6 and 12
    triage = "\n".join(technician.poll())
    assert triage.count("Major incident") == 1 and "3 people reported a similar problem" in triage
    ConsoleChat(app, person(10)).say(VARIANTS[4])
    assert "Major incident" not in "\n".join(technician.poll())
    assert count(app, Problem) == 1


def test_reports_are_forgotten_after_a_day(app: HelpdeskApp, clock: FrozenClock) -> None:
    ConsoleChat(app, person(1)).say(VARIANTS[0])
    clock.advance(timedelta(days=1, minutes=1))
    ConsoleChat(app, person(2)).say("my printer is jammed")
    with app.uow() as uow:
        assert [r.text for r in uow.session.scalars(select(IncidentReport))] == ["my printer is jammed"]


def test_problem_commands(
    app: HelpdeskApp,
    requester: ConsoleChat,
    other_requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
) -> None:
    first = open_ticket(requester, OUTAGE)
    second = open_ticket(other_requester, "My screen stays black after the update")
    assert "Only technicians" in "\n".join(requester.say("/problem new Leave planner"))
    assert "Problem P1 “Leave planner outage” is open" in "\n".join(technician.say("/problem new Leave planner outage"))
    assert f"#{first} is linked to P1 (1 ticket)." in "\n".join(technician.say(f"/link {first} P1"))
    assert "already linked" in "\n".join(technician.say(f"/link {first} P1"))
    assert f"#{second} is linked to P1 (2 tickets)" in "\n".join(technician.say(f"/link #{second} 1"))
    assert "There is no problem P7" in "\n".join(technician.say(f"/link {first} P7"))
    assert "I cannot find ticket #99" in "\n".join(technician.say("/link 99 P1"))
    assert "Usage: /link N P" in "\n".join(technician.say("/link 1"))
    assert "P1 “Leave planner outage” — 2 tickets" in "\n".join(technician.say("/problem"))
    technician.say(f"/resolve {second} paper removed")
    other_requester.poll()
    done = "\n".join(technician.say("/problem resolve P1 Fixed by the vendor."))
    assert "1 ticket resolved, 1 person notified" in done
    assert "Fixed by the vendor." in "\n".join(requester.poll())
    assert "Fixed by the vendor." not in "\n".join(other_requester.poll())
    assert "already resolved" in "\n".join(technician.say("/problem resolve P1 again"))
    assert "No open problem" in "\n".join(technician.say("/problem"))


def test_signatures_of_reports_that_left_the_window_are_not_kept(
    make_app: Callable[..., HelpdeskApp], clock: FrozenClock
) -> None:
    app = make_app(incidents={"major_reports": 30, "major_minutes": 10})
    [desk] = [hook.__self__ for hook in app.core.problem_hooks if isinstance(hook.__self__, DuplicateDesk)]  # type: ignore[attr-defined]
    for i in range(6):  # one report every 4 minutes: at most three of them within 10 minutes
        ConsoleChat(app, person(i)).say(f"{VARIANTS[i % len(VARIANTS)]} (desk {i})")
        clock.advance(timedelta(minutes=4))
    with app.uow() as uow:
        ids = sorted(uow.session.scalars(select(IncidentReport.id)))
    # Only the reports the last one was compared with (those of its window) stay decoded in memory.
    assert len(ids) == 6 and sorted(desk._signatures) == ids[3:5]
