"""PostgreSQL: migrations, a whole conversation, several bot processes creating tickets at
once, and dispatchers that never send an entry twice. Each test gets a schema of its own."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select, text

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.db.engine import create_db_engine, upgrade_database
from bot.db.models import OutboxEntry, Ticket
from bot.knowledge import KnowledgeBase
from bot.port import Place, User
from bot.tickets import TicketDraft

pytestmark = pytest.mark.skipif(
    not os.environ.get("HELPDESK_TEST_DATABASE_URL"),
    reason="HELPDESK_TEST_DATABASE_URL is not set: PostgreSQL tests need a server",
)

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"
PER_PROCESS = 25


def pg_app(url: str, clock: FrozenClock | None = None, knowledge: KnowledgeBase | None = None) -> HelpdeskApp:
    config = parse_config({"database": {"url": url}, "bot": {"language": "en"}}, environ={})
    return bootstrap(config, clock=clock, knowledge=knowledge or KnowledgeBase.from_directory(KB_DIR))


def test_migrations_apply_to_a_fresh_schema_and_are_idempotent(pg_url: str) -> None:
    engine = create_db_engine(pg_url)
    try:
        upgrade_database(engine)
        upgrade_database(engine)
        tables = set(inspect(engine).get_table_names())
        assert {
            "tickets",
            "ticket_events",
            "ticket_attachments",
            "outbox",
            "message_refs",
            "conversations",
            "user_preferences",
            "kb_suggestions",
            "alembic_version",
        } <= tables
        with engine.connect() as connection:
            schema = connection.execute(text("select current_schema()")).scalar_one()
        assert schema.startswith("t_")  # the test's own schema, not public
    finally:
        engine.dispose()


def test_scripted_conversation_on_postgresql(pg_url: str, clock: FrozenClock, knowledge: KnowledgeBase) -> None:
    alice_app, bob_app = pg_app(pg_url, clock, knowledge), pg_app(pg_url, clock, knowledge)
    try:
        alice = ConsoleChat(alice_app, User("console", "alice", "Alice", "en", email="alice@example.be"))
        bob = ConsoleChat(bob_app, User("console", "bob", "Bob Tech", "en"), technician=True)
        for line in ["The monitor on my desk stays black", "1", "1", "1", "1", "5", "1", "2", "1"]:
            alice.say(line)
        assert "Your ticket #1 is open" in "\n".join(alice.say("1"))
        assert "#1 · The monitor on my desk stays black" in "\n".join(bob.poll())
        assert "You took #1." in "\n".join(bob.say("/claim 1"))
        assert "#1 is resolved" in "\n".join(bob.say("/resolve 1 Cable replaced"))
        update = "\n".join(alice.poll())
        assert "Bob Tech is taking care of your ticket." in update and "Cable replaced" in update
        assert "Thank you! #1 is closed." in "\n".join(alice.say("1"))
    finally:
        alice_app.close()
        bob_app.close()


def _open_tickets(url: str, who: str, count: int, barrier: Barrier, results: Any) -> None:
    """Runs in a separate process: bootstrap an app and open ``count`` tickets as fast as possible."""
    app = pg_app(url, knowledge=KnowledgeBase([]))
    try:
        user = User("console", who, who.title(), "en")
        place = Place("console", f"dm:{who}")
        barrier.wait(60)
        numbers = [
            app.tickets.open(user, place, TicketDraft(title=f"{who} problem {i}"), "en").id for i in range(count)
        ]
        results.put((who, numbers))
    finally:
        app.close()


def test_two_processes_creating_tickets_at_once_get_unique_numbers(pg_url: str) -> None:
    pg_app(pg_url).close()  # migrate once, before the race
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=_open_tickets, args=(pg_url, who, PER_PROCESS, barrier, results))
        for who in ("anna", "ben")
    ]
    for worker in workers:
        worker.start()
    collected = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    numbers = collected["anna"] + collected["ben"]
    assert len(numbers) == 2 * PER_PROCESS
    assert len(set(numbers)) == len(numbers)
    assert collected["anna"] == sorted(collected["anna"]) and collected["ben"] == sorted(collected["ben"])
    engine = create_engine(pg_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(Ticket.id, Ticket.requester_key)).all()
            confirmations = connection.execute(
                select(func.count()).select_from(OutboxEntry).where(OutboxEntry.purpose == "confirmation")
            ).scalar_one()
    finally:
        engine.dispose()
    assert sorted(n for n, _ in stored) == sorted(numbers)
    assert {n for n, key in stored if key == "console:anna"} == set(collected["anna"])
    assert confirmations == 2 * PER_PROCESS


def test_concurrent_dispatchers_never_send_an_entry_twice(
    pg_url: str, clock: FrozenClock, make_messenger: Callable[[], Any]
) -> None:
    apps = [pg_app(pg_url, clock), pg_app(pg_url, clock)]
    messengers = [make_messenger(), make_messenger()]
    try:
        for app, messenger in zip(apps, messengers, strict=True):
            app.register_messenger(messenger)
            app.add_technician_place(Place("fake", "techs"))
        user = User("fake", "u1", "Ursula", "en")
        for i in range(20):
            apps[0].tickets.open(user, Place("fake", "dm-u1"), TicketDraft(title=f"Problem {i}"), "en")
        start = threading.Barrier(2)
        errors: Queue[BaseException] = Queue()

        def dispatch(app: HelpdeskApp) -> None:
            try:
                start.wait(30)
                while app.dispatch_pending():
                    pass
            except BaseException as error:  # surfaced below
                errors.put(error)

        threads = [threading.Thread(target=dispatch, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors.empty()
        ids = [n.id for m in messengers for n in m.sent]
        assert len(ids) == len(set(ids)) == 40
        with apps[0].uow() as uow:
            rows = list(uow.session.scalars(select(OutboxEntry)))
        assert all(row.status == "sent" and row.attempts == 1 for row in rows)
    finally:
        for app in apps:
            app.close()


def test_a_pooled_connection_is_pinged_only_after_sitting_idle(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recently used connections are handed out without a round trip; an idle one is checked and replaced
    when the server closed it meanwhile (here: killed with ``pg_terminate_backend``)."""
    import bot.db.engine as engine_module

    engine = create_db_engine(pg_url)
    admin = create_engine(pg_url)
    try:

        def kill_pooled_connection() -> None:
            with engine.connect() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with admin.begin() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()

        # Used moments ago: not pinged, so a connection the server dropped fails on first use.
        monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 3600.0)
        kill_pooled_connection()
        with pytest.raises(Exception, match=r"terminat|closed|connection"), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        # Idle longer than the threshold: pinged at checkout, found dead, replaced.
        monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
        kill_pooled_connection()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42
    finally:
        engine.dispose()
        admin.dispose()
