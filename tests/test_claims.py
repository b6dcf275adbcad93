"""Claiming and taking over, one step after the other: a second /claim no longer takes a colleague's
ticket; the loser is told in their language and offered a confirmed take-over; /assign and the
take-over button are audited in ``ticket_events`` and posted under the technicians' card."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.bootstrap import HelpdeskApp
from bot.db.models import OutboxEntry, Ticket, TicketEvent
from bot.port import ButtonPress, Place, Reply, SlashCommand, User
from bot.rendering import payload_text
from bot.tickets import TicketDraft

ALICE = User("console", "alice", "Alice Dupont", "en")
BOB = User("console", "bob", "Bob Tech", "en")
LUC = User("console", "luc", "Luc Lambert", "fr")
NELE = User("console", "nele", "Nele Peeters", "nl")
TECHS = Place("console", "techs")


@pytest.fixture
def desk(app: HelpdeskApp) -> HelpdeskApp:
    for tech in (BOB, LUC, NELE):
        app.roles.grant(tech.key, "technician")
    app.add_technician_place(TECHS)
    return app


def _open(app: HelpdeskApp) -> int:
    return app.tickets.open(ALICE, Place("console", "dm:alice"), TicketDraft(title="Printer offline"), "en").id


def _command(app: HelpdeskApp, user: User, line: str) -> list[Reply]:
    name, _, args = line.partition(" ")
    return app.handle(SlashCommand(user, TECHS, name, args))


def _press(app: HelpdeskApp, user: User, value: str) -> list[Reply]:
    return app.handle(ButtonPress(user, TECHS, value, message_id="card-1"))


def _ticket(app: HelpdeskApp, number: int) -> Ticket:
    with app.uow() as uow:
        ticket = uow.session.get(Ticket, number)
        assert ticket is not None
        return ticket


def _audit(app: HelpdeskApp, number: int) -> list[tuple[str, str | None, str | None, str]]:
    with app.uow() as uow:
        rows = uow.session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == number, TicketEvent.kind == "assignee")
            .order_by(TicketEvent.id)
        ).all()
    return [(e.actor_key, e.from_value, e.to_value, e.kind) for e in rows]


def _tech_updates(app: HelpdeskApp, number: int) -> list[str]:
    with app.uow() as uow:
        rows = uow.session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.ticket_id == number, OutboxEntry.purpose == "tech_update")
            .order_by(OutboxEntry.id)
        ).all()
    return [payload_text(row.payload, "en") for row in rows]


def test_a_second_claim_is_refused_and_names_the_holder(desk: HelpdeskApp) -> None:
    number = _open(desk)
    assert [r.message.text for r in _command(desk, BOB, f"claim {number}")] == [f"You took #{number}."]

    [refusal] = _command(desk, LUC, f"claim {number}")

    assert refusal.message.text == (
        f"Le ticket #{number} est déjà pris en charge par Bob Tech — utilisez /assign pour le réattribuer."
    )
    assert [(b.label, b.value) for b in refusal.message.buttons] == [
        ("Reprendre à Bob Tech", f"takeover:{number}:console:bob")
    ]
    assert _ticket(desk, number).assignee_key == BOB.key
    assert _audit(desk, number) == [(BOB.key, None, "Bob Tech", "assignee")]


def test_the_card_button_is_refused_the_same_way_in_dutch(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _press(desk, BOB, f"claim:{number}")

    [refusal] = _press(desk, NELE, f"claim:{number}")

    assert refusal.message.text == (
        f"Ticket #{number} is al in behandeling bij Bob Tech — gebruik /assign om het over te dragen."
    )
    assert [(b.label, b.value) for b in refusal.message.buttons] == [
        ("Overnemen van Bob Tech", f"takeover:{number}:console:bob")
    ]
    assert _ticket(desk, number).assignee_key == BOB.key


def test_claiming_ones_own_ticket_again_changes_nothing(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")
    with desk.uow() as uow:
        before = len(uow.session.scalars(select(OutboxEntry)).all())

    assert [r.message.text for r in _command(desk, BOB, f"claim {number}")] == [f"You took #{number}."]

    with desk.uow() as uow:
        assert len(uow.session.scalars(select(OutboxEntry)).all()) == before  # nobody is told twice
    assert _audit(desk, number) == [(BOB.key, None, "Bob Tech", "assignee")]


def test_taking_over_with_assign_is_audited_and_posted_under_the_card(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")

    [reply] = _command(desk, LUC, f"assign {number} console:luc")

    assert reply.message.text == f"Le ticket #{number} est assigné à luc."
    assert _ticket(desk, number).assignee_key == LUC.key
    assert _audit(desk, number) == [
        (BOB.key, None, "Bob Tech", "assignee"),
        (LUC.key, "Bob Tech", "luc", "assignee"),
    ]
    assert _tech_updates(desk, number) == [f"#{number}: Luc Lambert took the ticket over from Bob Tech."]


def test_handing_over_to_a_third_colleague_says_who_did_it(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")

    _command(desk, LUC, f"assign {number} console:nele")

    assert _audit(desk, number)[-1] == (LUC.key, "Bob Tech", "nele", "assignee")
    assert _tech_updates(desk, number) == [f"#{number}: Luc Lambert handed the ticket over from Bob Tech to nele."]


def test_the_take_over_button_takes_the_ticket_if_the_holder_is_unchanged(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")
    [refusal] = _command(desk, LUC, f"claim {number}")
    [offer] = refusal.message.buttons

    [done] = _press(desk, LUC, offer.value)

    assert done.message.text == f"Vous avez repris le ticket #{number}."
    assert _ticket(desk, number).assignee_key == LUC.key
    assert _audit(desk, number)[-1] == (LUC.key, "Bob Tech", "Luc Lambert", "assignee")
    assert _tech_updates(desk, number) == [f"#{number}: Luc Lambert took the ticket over from Bob Tech."]
    assert [r.message.text for r in _press(desk, LUC, offer.value)] == [f"Vous avez repris le ticket #{number}."]
    assert len(_audit(desk, number)) == 2  # the second press changed nothing


def test_a_stale_take_over_offer_names_the_new_holder_and_changes_nothing(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")
    [refusal] = _command(desk, LUC, f"claim {number}")
    _command(desk, BOB, f"assign {number} console:nele")  # it changed hands since Luc was offered it

    [answer] = _press(desk, LUC, refusal.message.buttons[0].value)

    assert answer.message.text == (
        f"Le ticket #{number} est déjà pris en charge par nele — utilisez /assign pour le réattribuer."
    )
    assert _ticket(desk, number).assignee_key == NELE.key


def test_only_technicians_can_take_over(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")

    [answer] = _press(desk, ALICE, f"takeover:{number}:console:bob")

    assert answer.message.text.startswith("Only technicians can do that.")
    assert _ticket(desk, number).assignee_key == BOB.key


def test_an_escalated_ticket_can_be_claimed_again(desk: HelpdeskApp) -> None:
    number = _open(desk)
    _command(desk, BOB, f"claim {number}")
    desk.tickets.escalate(BOB, number, 2, "Needs the network team")

    assert [r.message.text for r in _command(desk, LUC, f"claim {number}")] == [
        f"Vous avez pris en charge le ticket #{number}."
    ]
    assert _ticket(desk, number).assignee_key == LUC.key
