"""The ticket lifecycle through :class:`bot.tickets.TicketService`: every legal transition,
every illegal one (with a clear error and nothing changed), and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import OutboxEntry, Ticket, TicketEvent
from bot.errors import IllegalTransition, InvalidCommand, PermissionDenied, TicketNotFound
from bot.port import Attachment, Place, User
from bot.tickets import Actor, TicketDraft, TicketService

ALICE = User("console", "alice", "Alice Dupont", "en", email="alice@example.be")
CAROL = User("console", "carol", "Carol Peeters", "en")
BOB = User("console", "bob", "Bob Tech", "en")
TOM = User("console", "tom", "Tom Tech", "en")
LEAD = User("console", "lea", "Lea Lead", "en")
ALICE_DM = Place("console", "dm:alice")

STATUSES = ("new", "in_progress", "waiting", "resolved", "closed", "cancelled")
ACTIONS = ("claim", "assign", "wait", "resolve", "reopen", "close", "cancel")

# The lifecycle of the issue, written out independently of bot.lifecycle:
# new → in progress (claimed) → waiting on requester → resolved → closed; reopen from resolved;
# cancel by the requester while the ticket is open.
LEGAL = {
    ("new", "claim"): "in_progress",
    ("in_progress", "claim"): "in_progress",
    ("waiting", "claim"): "in_progress",
    ("new", "assign"): "in_progress",
    ("in_progress", "assign"): "in_progress",
    ("waiting", "assign"): "waiting",
    ("new", "wait"): "waiting",
    ("in_progress", "wait"): "waiting",
    ("waiting", "wait"): "waiting",
    ("new", "resolve"): "resolved",
    ("in_progress", "resolve"): "resolved",
    ("waiting", "resolve"): "resolved",
    ("resolved", "reopen"): "in_progress",
    ("resolved", "close"): "closed",
    ("new", "cancel"): "cancelled",
    ("in_progress", "cancel"): "cancelled",
    ("waiting", "cancel"): "cancelled",
}
PATH_TO = {
    "new": (),
    "in_progress": ("claim",),
    "waiting": ("claim", "wait"),
    "resolved": ("claim", "resolve"),
    "closed": ("claim", "resolve", "close"),
    "cancelled": ("cancel",),
}


@pytest.fixture
def svc(app: HelpdeskApp) -> TicketService:
    app.roles.grant(BOB.key, "technician")
    app.roles.grant(TOM.key, "technician")
    app.roles.grant(LEAD.key, "team_lead")
    return app.tickets


def new_ticket(
    svc: TicketService, title: str = "Printer offline", *, impact: str = "me", urgency: str = "medium"
) -> int:
    draft = TicketDraft(
        title=title, description="It does not print", contact_email="alice@example.be", impact=impact, urgency=urgency
    )
    return svc.open(ALICE, ALICE_DM, draft, "en").id


def perform(svc: TicketService, action: str, number: int) -> Ticket:
    operations: dict[str, Callable[[], Ticket]] = {
        "claim": lambda: svc.claim(BOB, number),
        "assign": lambda: svc.assign(BOB, number, Actor(TOM.key, "Tom Tech")),
        "wait": lambda: svc.wait(BOB, number, "Which floor?"),
        "resolve": lambda: svc.resolve(BOB, number, "Paper removed"),
        "reopen": lambda: svc.reopen(BOB, number),
        "close": lambda: svc.close(number),
        "cancel": lambda: svc.cancel(ALICE, number),
    }
    return operations[action]()


def ticket_in(svc: TicketService, status: str) -> int:
    number = new_ticket(svc)
    for action in PATH_TO[status]:
        perform(svc, action, number)
    assert status_of(svc, number) == status
    return number


def status_of(svc: TicketService, number: int) -> str:
    return svc.view(BOB, number).ticket.status


def events(app: HelpdeskApp, number: int) -> list[TicketEvent]:
    with app.uow() as uow:
        return list(uow.events.for_ticket(number))


def outbox_count(app: HelpdeskApp) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


@pytest.mark.parametrize(("status", "action"), sorted(LEGAL))
def test_every_legal_transition_moves_the_ticket_and_is_audited(
    app: HelpdeskApp, svc: TicketService, clock: FrozenClock, status: str, action: str
) -> None:
    number = ticket_in(svc, status)
    before = len(events(app, number))
    clock.advance(timedelta(minutes=7))

    ticket = perform(svc, action, number)

    expected = LEGAL[(status, action)]
    assert ticket.status == expected
    assert status_of(svc, number) == expected
    new_events = events(app, number)[before:]
    status_events = [e for e in new_events if e.kind == "status"]
    if expected != status:
        assert [(e.from_value, e.to_value) for e in status_events] == [(status, expected)]
        assert status_events[0].at == clock.now()
        assert status_events[0].actor_key == (
            ALICE.key if action == "cancel" else "system" if action == "close" else BOB.key
        )
    else:
        assert status_events == []


ILLEGAL = [(s, a) for s in STATUSES for a in ACTIONS if (s, a) not in LEGAL]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_every_illegal_transition_is_refused_and_changes_nothing(
    app: HelpdeskApp, svc: TicketService, status: str, action: str
) -> None:
    number = ticket_in(svc, status)
    before_events, before_outbox = len(events(app, number)), outbox_count(app)

    with pytest.raises(IllegalTransition) as raised:
        perform(svc, action, number)

    assert f"Ticket #{number} is " in str(raised.value)
    assert "cannot be" in str(raised.value)
    assert status_of(svc, number) == status
    assert len(events(app, number)) == before_events
    assert outbox_count(app) == before_outbox


def test_requester_answer_resumes_a_waiting_ticket(app: HelpdeskApp, svc: TicketService) -> None:
    number = ticket_in(svc, "waiting")
    svc.comment_from_requester(ALICE, number, "Second floor, room 204")
    assert status_of(svc, number) == "in_progress"
    last = events(app, number)[-2:]
    assert [(e.kind, e.text) for e in last] == [("comment", "Second floor, room 204"), ("status", "")]
    assert (last[1].from_value, last[1].to_value, last[1].actor_key) == ("waiting", "in_progress", ALICE.key)


def test_requester_comment_on_an_open_ticket_keeps_its_status(svc: TicketService) -> None:
    number = ticket_in(svc, "in_progress")
    svc.comment_from_requester(ALICE, number, "It also happens on the 3rd floor")
    assert status_of(svc, number) == "in_progress"


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_comments_on_finished_tickets_are_refused(svc: TicketService, status: str) -> None:
    number = ticket_in(svc, status)
    with pytest.raises(InvalidCommand, match="new message"):
        svc.comment_from_requester(ALICE, number, "hello?")
    with pytest.raises(InvalidCommand, match="reopen it first"):
        svc.reply(BOB, number, "hello?")


def test_requester_confirms_resolution_and_the_ticket_closes(app: HelpdeskApp, svc: TicketService) -> None:
    number = ticket_in(svc, "resolved")
    ticket = svc.confirm_resolution(ALICE, number)
    assert ticket.status == "closed"
    assert ticket.closed_at is not None
    with pytest.raises(IllegalTransition):
        svc.confirm_resolution(ALICE, number)


def test_only_the_requester_confirms_a_resolution(svc: TicketService) -> None:
    number = ticket_in(svc, "resolved")
    with pytest.raises(PermissionDenied):
        svc.confirm_resolution(BOB, number)
    with pytest.raises(TicketNotFound):
        svc.confirm_resolution(CAROL, number)
    assert status_of(svc, number) == "resolved"


def test_still_broken_reopens_with_the_requesters_reason(app: HelpdeskApp, svc: TicketService) -> None:
    number = ticket_in(svc, "resolved")
    ticket = svc.reopen(ALICE, number, "Still jammed")
    assert ticket.status == "in_progress"
    assert ticket.resolved_at is None
    assert events(app, number)[-1].text == "Still jammed"


def test_team_lead_may_cancel_someone_elses_ticket_but_a_technician_may_not(svc: TicketService) -> None:
    number = ticket_in(svc, "new")
    with pytest.raises(PermissionDenied, match="Only the person who opened"):
        svc.cancel(BOB, number)
    assert svc.cancel(LEAD, number).status == "cancelled"


def test_assign_only_to_technicians(svc: TicketService) -> None:
    number = ticket_in(svc, "new")
    with pytest.raises(InvalidCommand, match="not a technician"):
        svc.assign(BOB, number, Actor(CAROL.key, "Carol"))
    assert status_of(svc, number) == "new"


def test_audit_trail_records_who_when_and_from_to_for_every_change(
    app: HelpdeskApp, svc: TicketService, clock: FrozenClock
) -> None:
    number = new_ticket(svc)
    steps: list[tuple[User, Callable[[], object]]] = [
        (BOB, lambda: svc.claim(BOB, number)),
        (BOB, lambda: svc.set_priority(BOB, number, "p1")),
        (BOB, lambda: svc.note(BOB, number, "Toner ordered")),
        (BOB, lambda: svc.reply(BOB, number, "On my way")),
        (BOB, lambda: svc.assign(BOB, number, Actor(TOM.key, "Tom Tech"))),
        (
            ALICE,
            lambda: svc.comment_from_requester(
                ALICE, number, "Photo attached", [Attachment("image", "F123", "jam.png")]
            ),
        ),
        (TOM, lambda: svc.resolve(TOM, number, "Drum replaced")),
    ]
    for _, step in steps:
        clock.advance(timedelta(minutes=5))
        step()

    rows = [(e.kind, e.actor_key, e.from_value, e.to_value, e.text, e.at) for e in events(app, number)]
    t0 = rows[0][5]
    minute = timedelta(minutes=1)
    assert rows == [
        ("created", ALICE.key, None, "new", "Printer offline", t0),
        ("status", BOB.key, "new", "in_progress", "", t0 + 5 * minute),
        ("assignee", BOB.key, None, "Bob Tech", "", t0 + 5 * minute),
        ("priority", BOB.key, "P4", "P1", "", t0 + 10 * minute),
        ("note", BOB.key, None, None, "Toner ordered", t0 + 15 * minute),
        ("comment", BOB.key, None, None, "On my way", t0 + 20 * minute),
        ("assignee", BOB.key, "Bob Tech", "Tom Tech", "", t0 + 25 * minute),
        ("comment", ALICE.key, None, None, "Photo attached", t0 + 30 * minute),
        ("attachment", ALICE.key, None, None, "jam.png", t0 + 30 * minute),
        ("status", TOM.key, "in_progress", "resolved", "", t0 + 35 * minute),
        ("comment", TOM.key, None, None, "Drum replaced", t0 + 35 * minute),
    ]
    ticket = svc.view(BOB, number).ticket
    assert ticket.first_response_at == t0 + 5 * minute
    assert ticket.resolved_at == t0 + 35 * minute
    assert [a.ref for a in ticket.attachments] == ["F123"]


def test_priority_is_impact_times_urgency_and_technicians_may_override(svc: TicketService) -> None:
    assert svc.view(BOB, new_ticket(svc, impact="site", urgency="high")).ticket.priority == "P1"
    assert svc.view(BOB, new_ticket(svc, impact="team", urgency="medium")).ticket.priority == "P3"
    number = new_ticket(svc, impact="me", urgency="low")
    assert svc.view(BOB, number).ticket.priority == "P4"
    with pytest.raises(InvalidCommand):
        svc.set_priority(BOB, number, "P9")
    assert svc.set_priority(BOB, number, "P2").priority == "P2"
    perform(svc, "resolve", number)
    with pytest.raises(InvalidCommand, match="can no longer change"):
        svc.set_priority(BOB, number, "P1")


def test_unchanged_priority_writes_no_event(app: HelpdeskApp, svc: TicketService) -> None:
    number = new_ticket(svc)
    before = len(events(app, number))
    svc.set_priority(BOB, number, "P4")
    assert len(events(app, number)) == before


def test_queue_is_ordered_by_priority_then_age(svc: TicketService, clock: FrozenClock) -> None:
    old_low = new_ticket(svc, "old low", impact="me", urgency="low")
    clock.advance(timedelta(hours=1))
    urgent = new_ticket(svc, "urgent", impact="site", urgency="high")
    clock.advance(timedelta(hours=1))
    new_low = new_ticket(svc, "new low", impact="me", urgency="low")
    done = new_ticket(svc, "done")
    perform(svc, "resolve", done)
    assert [t.id for t in svc.queue(BOB)] == [urgent, old_low, new_low]
    with pytest.raises(PermissionDenied):
        svc.queue(ALICE)


def test_ticket_numbers_are_unique_and_increasing(svc: TicketService) -> None:
    numbers = [new_ticket(svc, f"problem {i}") for i in range(5)]
    assert numbers == sorted(set(numbers))
