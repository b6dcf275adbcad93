"""Competing changes in two real processes on one database (SQLite file, and PostgreSQL when
configured): simultaneous claims by command and by the card button, cancel against resolve,
resolve against resolve, reopen against close, assign against claim. Every round has exactly one
outcome and the other side is told. The two processes start each round on a barrier."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.bootstrap import HelpdeskApp, bootstrap
from bot.config import parse_config
from bot.db.models import OutboxEntry, Ticket, TicketEvent
from bot.knowledge import KnowledgeBase
from bot.port import ButtonPress, Place, SlashCommand, User
from bot.rendering import payload_text
from bot.tickets import TicketDraft

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"
PG_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL", "")
CLAIM_ROUNDS = 50

ALICE = User("console", "alice", "Alice Dupont", "en")
BOB = User("console", "bob", "Bob Tech", "en")
LUC = User("console", "luc", "Luc Lambert", "fr")
USERS = {user.id: user for user in (ALICE, BOB, LUC)}
TECHS = Place("console", "techs")

Step = tuple[str, str, str]
"""(how, user id, what): ``command`` ``"claim 3"``, ``button`` ``"claim:3"`` or ``close`` ``"3"`` (the scheduler)."""


def _app(url: str) -> HelpdeskApp:
    config = parse_config({"database": {"url": url}, "bot": {"language": "en"}}, environ={})
    app = bootstrap(config, knowledge=KnowledgeBase.from_directory(KB_DIR))
    for tech in (BOB, LUC):
        app.roles.grant(tech.key, "technician")
    app.add_technician_place(TECHS)
    return app


def _perform(app: HelpdeskApp, step: Step) -> tuple[str, tuple[str, ...]]:
    how, user_id, what = step
    user = USERS[user_id]
    if how == "close":
        try:
            app.tickets.close(int(what))
        except Exception as error:  # the scheduler's close lost: its error is its answer
            return f"refused: {error}", ()
        return "closed", ()
    if how == "command":
        name, _, args = what.partition(" ")
        replies = app.handle(SlashCommand(user, TECHS, name, args))
    else:
        replies = app.handle(ButtonPress(user, TECHS, what, message_id="card-1"))
    text = "\n".join(reply.message.text for reply in replies)
    buttons = tuple(button.value for reply in replies for button in reply.message.buttons)
    return text, buttons


def _worker(url: str, steps: Sequence[Step], barrier: Barrier, results: Queue[Any]) -> None:
    """One bot process: for each round, wait for the other process, then act at the same moment."""
    app = _app(url)
    try:
        answers = []
        for step in steps:
            barrier.wait(60)
            answers.append(_perform(app, step))
        results.put((steps[0][1] if steps else "", answers))
    finally:
        app.close()


def _race(url: str, first: Sequence[Step], second: Sequence[Step]) -> tuple[list[Any], list[Any]]:
    """Run both scripts in two processes, round by round; each side's answers in order."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results: Queue[Any] = context.Queue()
    workers = [context.Process(target=_worker, args=(url, steps, barrier, results)) for steps in (first, second)]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    by_user = dict(collected)
    return by_user[first[0][1]], by_user[second[0][1]]


@pytest.fixture(params=["sqlite", "postgresql"])
def race_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database two processes can share."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/race.db"
        return
    pg_url: str = request.getfixturevalue("pg_url")
    yield pg_url


@pytest.fixture
def main_app(race_db: str) -> Iterator[HelpdeskApp]:
    app = _app(race_db)  # migrates before any race
    yield app
    app.close()


def _open(app: HelpdeskApp, count: int) -> list[int]:
    return [
        app.tickets.open(ALICE, Place("console", "dm:alice"), TicketDraft(title=f"Printer {i} offline"), "en").id
        for i in range(count)
    ]


def _events(app: HelpdeskApp, number: int, kind: str) -> list[TicketEvent]:
    with app.uow() as uow:
        return list(
            uow.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.kind == kind))
        )


def _ticket(app: HelpdeskApp, number: int) -> Ticket:
    with app.uow() as uow:
        ticket = uow.session.get(Ticket, number)
        assert ticket is not None
        return ticket


def _requester_updates(app: HelpdeskApp, number: int) -> int:
    with app.uow() as uow:
        rows = uow.session.scalars(
            select(OutboxEntry).where(OutboxEntry.ticket_id == number, OutboxEntry.purpose == "update")
        ).all()
    return len(rows)


def test_simultaneous_claims_have_exactly_one_winner_and_the_loser_is_told(main_app: HelpdeskApp, race_db: str) -> None:
    numbers = _open(main_app, 2 * CLAIM_ROUNDS)
    by_command, by_button = numbers[:CLAIM_ROUNDS], numbers[CLAIM_ROUNDS:]

    def script(user: User) -> list[Step]:
        return [("command", user.id, f"claim {n}") for n in by_command] + [
            ("button", user.id, f"claim:{n}") for n in by_button
        ]

    bob_answers, luc_answers = _race(race_db, script(BOB), script(LUC))

    winners = {"bob": 0, "luc": 0}
    for number, (bob, luc) in zip(numbers, zip(bob_answers, luc_answers, strict=True), strict=True):
        bob_won = bob[0] == f"You took #{number}."
        luc_won = luc[0] == f"Vous avez pris en charge le ticket #{number}."
        assert bob_won != luc_won, f"#{number}: bob {bob!r}, luc {luc!r}"
        ticket = _ticket(main_app, number)
        if bob_won:
            winners["bob"] += 1
            assert luc[0] == (
                f"Le ticket #{number} est déjà pris en charge par Bob Tech — utilisez /assign pour le réattribuer."
            )
            assert luc[1] == (f"takeover:{number}:console:bob",)
            assert (ticket.assignee_key, ticket.status) == (BOB.key, "in_progress")
        else:
            winners["luc"] += 1
            assert bob[0] == f"#{number} is already taken by Luc Lambert — use /assign to hand it over."
            assert bob[1] == (f"takeover:{number}:console:luc",)
            assert (ticket.assignee_key, ticket.status) == (LUC.key, "in_progress")
        assert len(_events(main_app, number, "assignee")) == 1
        assert len(_events(main_app, number, "status")) == 1
        assert _requester_updates(main_app, number) == 1  # the requester hears of one technician only
    assert sum(winners.values()) == 2 * CLAIM_ROUNDS


ROUNDS = 10


def test_competing_pairs_each_have_one_outcome_and_the_other_side_is_told(main_app: HelpdeskApp, race_db: str) -> None:
    """Cancel vs resolve, resolve vs resolve, reopen vs close, assign vs claim: one race each round."""
    cancel_resolve = _open(main_app, ROUNDS)
    double_resolve = _open(main_app, ROUNDS)
    reopen_close = _open(main_app, ROUNDS)
    for number in reopen_close:
        main_app.tickets.resolve(BOB, number, "Cable replaced")
    assign_claim = _open(main_app, ROUNDS)
    first: list[Step] = [("command", "bob", f"resolve {n} Toner replaced") for n in cancel_resolve]
    second: list[Step] = [("command", "alice", f"cancel {n}") for n in cancel_resolve]
    first += [("command", "bob", f"resolve {n} Driver reinstalled") for n in double_resolve]
    second += [("command", "luc", f"resolve {n} Printer restarted") for n in double_resolve]
    first += [("command", "bob", f"reopen {n}") for n in reopen_close]
    second += [("close", "luc", str(n)) for n in reopen_close]
    first += [("command", "bob", f"claim {n}") for n in assign_claim]
    second += [("command", "luc", f"assign {n} console:luc") for n in assign_claim]

    firsts, seconds = _race(race_db, first, second)
    answers = list(zip(firsts, seconds, strict=True))

    for number, (resolve, cancel) in zip(cancel_resolve, answers[:ROUNDS], strict=True):
        status = _ticket(main_app, number).status
        if status == "cancelled":
            assert cancel[0] == f"#{number} is cancelled."
            assert resolve[0] == f"Ticket #{number} is cancelled: it cannot be resolved."
        else:
            assert status == "resolved"
            assert resolve[0] == f"#{number} is resolved; the requester is told."
            assert cancel[0] == f"Ticket #{number} is resolved: it cannot be cancelled."
        assert [(e.from_value, e.to_value) for e in _events(main_app, number, "status")] == [("new", status)]

    for number, (bob_said, luc_said) in zip(double_resolve, answers[ROUNDS : 2 * ROUNDS], strict=True):
        bob_won = bob_said[0] == f"#{number} is resolved; the requester is told."
        luc_won = luc_said[0] == f"Le ticket #{number} est résolu\u202f; le demandeur en est informé."
        assert bob_won != luc_won, (bob_said, luc_said)
        if bob_won:
            assert luc_said[0] == f"Le ticket #{number} est résolu\u202f: il ne peut pas être résolu."
        else:
            assert bob_said[0] == f"Ticket #{number} is resolved: it cannot be resolved."
        ticket = _ticket(main_app, number)
        assert ticket.resolution == ("Driver reinstalled" if bob_won else "Printer restarted")
        assert len(_events(main_app, number, "status")) == 1

    for number, (bob_said, luc_said) in zip(reopen_close, answers[2 * ROUNDS : 3 * ROUNDS], strict=True):
        status = _ticket(main_app, number).status
        if status == "closed":
            assert luc_said[0] == "closed"
            assert bob_said[0] == f"Ticket #{number} is closed: it cannot be reopened."
        else:
            assert status == "in_progress"
            assert bob_said[0] == f"#{number} is reopened."
            assert luc_said[0].startswith("refused: ")
        assert len(_events(main_app, number, "status")) == 2  # new→resolved, then one of the two

    for number, (claim, assign) in zip(assign_claim, answers[3 * ROUNDS :], strict=True):
        ticket = _ticket(main_app, number)
        assert ticket.assignee_key == LUC.key  # /assign is the explicit hand-over: it holds whatever the order
        assert assign[0] == f"Le ticket #{number} est assigné à luc."
        assignees = [(e.from_value, e.to_value) for e in _events(main_app, number, "assignee")]
        if claim[0] == f"You took #{number}.":
            # Bob claimed first: the assignment took it from him, audited and posted under the card.
            assert assignees == [(None, "Bob Tech"), ("Bob Tech", "luc")]
            with main_app.uow() as uow:
                notes = uow.session.scalars(
                    select(OutboxEntry).where(OutboxEntry.ticket_id == number, OutboxEntry.purpose == "tech_update")
                ).all()
            assert [payload_text(n.payload, "en") for n in notes] == [
                f"#{number}: Luc Lambert took the ticket over from Bob Tech."
            ]
        else:
            assert claim[0] == f"#{number} is already taken by luc — use /assign to hand it over."
            assert assignees == [(None, "luc")]
