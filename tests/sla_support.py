"""Shared helpers of the service-level tests: apps on one SQLite file, a frozen clock, console users."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.db.models import OutboxEntry, SlaAction
from bot.port import User
from bot.tickets import TicketDraft

FRIDAY_1630 = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
"""Friday 27 November 2026, 16:30 in Brussels (UTC+1): half an hour before closing."""

ALICE = User("console", "alice", "Alice Dupont", "en", email="alice@example.be")
BOB = User("console", "bob", "Bob Tech", "en")
CAROL = User("console", "carol", "Carol Second", "en")
LEA = User("console", "lea", "Lea Lead", "en")


class NoKnowledge:
    """A knowledge base without articles: every problem goes to the intake."""

    def search(self, query: str, *, limit: int = 3, explain: bool = False, lang: str | None = None) -> list[Any]:
        return []

    def rank(self, query: str, *, limit: int = 3) -> list[Any]:
        return []

    def get(self, article_id: str) -> object | None:
        return None


def sla_config(db: Path, **sla: Any) -> dict[str, Any]:
    """A configuration on ``db`` with team leads (chat ``leads``) and an L2 team (chat ``l2``)."""
    section: dict[str, Any] = {
        "team_leads": {"technicians": ["console:lea"], "places": ["console:leads"]},
        "levels": {"L2": {"technicians": ["console:carol"], "places": ["console:l2"]}},
        "unclaimed_reminder_minutes": 15,
    }
    section.update(sla)
    return {"bot": {"language": "en"}, "database": {"url": f"sqlite:///{db}"}, "sla": section}


def make_app(db: Path, clock: FrozenClock, **sla: Any) -> HelpdeskApp:
    """A bootstrapped application (one "process") on the SQLite file ``db``."""
    return bootstrap(parse_config(sla_config(db, **sla)), clock=clock, knowledge=NoKnowledge())


class Desk:
    """One process with its terminals: requester Alice, technician Bob, L2 Carol, team lead Lea."""

    def __init__(self, app: HelpdeskApp) -> None:
        self.app = app
        self.alice = ConsoleChat(app, ALICE)
        self.bob = ConsoleChat(app, BOB, technician=True)
        self.carol = ConsoleChat(app, CAROL, technician=True, triage_chat="l2")
        self.lea = ConsoleChat(app, LEA, technician=True, triage_chat="leads")

    def open(
        self,
        title: str = "Printer down",
        impact: str = "me",
        urgency: str = "high",
        type_: str = "incident",
        category: str = "helpdesk",
    ) -> int:
        """Open a ticket for Alice and deliver the resulting notifications."""
        draft = TicketDraft(
            title=title, impact=impact, urgency=urgency, type=type_, category=category, contact_email="alice@example.be"
        )
        ticket = self.app.tickets.open(ALICE, self.alice.place, draft, "en")
        self.poll_all()
        return ticket.id

    def poll_all(self) -> dict[str, list[str]]:
        """Deliver pending notifications to every terminal; what each one showed."""
        return {name: getattr(self, name).poll() for name in ("alice", "bob", "carol", "lea")}

    def tick(self) -> int:
        """One scheduler round at the frozen clock's time."""
        assert self.app.service_levels is not None
        return self.app.service_levels.run_due_actions()


def outbox_texts(app: HelpdeskApp, chat_id: str | None = None) -> list[str]:
    """Every queued or sent text (optionally for one chat), oldest first."""
    with app.uow() as uow:
        stmt = select(OutboxEntry).order_by(OutboxEntry.id)
        if chat_id is not None:
            stmt = stmt.where(OutboxEntry.chat_id == chat_id)
        entries = [e for e in uow.session.scalars(stmt) if e.status != "superseded"]
    return [app.dispatcher.preview(e, "en").text for e in entries]


def count_texts(app: HelpdeskApp, fragment: str, chat_id: str | None = None) -> int:
    """How many notifications contain ``fragment``."""
    return sum(fragment in text for text in outbox_texts(app, chat_id))


def actions(app: HelpdeskApp, ticket_id: int) -> dict[str, str]:
    """``kind → outcome`` of a ticket's service-level actions."""
    with app.uow() as uow:
        rows = uow.sla_actions.for_ticket(ticket_id)
        return {row.kind: row.outcome for row in rows}


def action_count(app: HelpdeskApp) -> int:
    """How many action rows exist."""
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(SlaAction)) or 0)
