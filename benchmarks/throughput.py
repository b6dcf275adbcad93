"""How many incoming messages per second the core handles end to end, and whether that
changes as the ticket history grows.

Each simulated requester runs a whole conversation through :meth:`HelpdeskApp.handle`
(knowledge-base search, every intake step persisted, ticket creation with its audit
event and outbox entries) and a technician then claims and resolves the ticket; every
outbox entry is delivered through a recording messenger. Before measuring, the
database is seeded with 1,000 / 10,000 / 100,000 historical tickets (with events and
sent outbox rows), so a step that scanned the history would show up as a slowdown.

Usage::

    python benchmarks/throughput.py                    # SQLite, all sizes
    python benchmarks/throughput.py --postgres URL     # also PostgreSQL
    python benchmarks/throughput.py --sizes 1000 10000 --conversations 40
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import HelpdeskApp, bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.db.models import OutboxEntry, Ticket, TicketEvent  # noqa: E402
from bot.port import ButtonPress, Notification, Place, SentMessage, SlashCommand, TextMessage, User  # noqa: E402

PROBLEMS = [
    "Le lecteur de badges de la salle du conseil ne répond plus depuis ce matin",
    "Mon deuxième écran reste noir après la mise à jour de cette nuit",
    "L'application de gestion des permis d'urbanisme affiche une page blanche",
    "Impossible d'ouvrir le dossier partagé du service population",
    "Le scanner du guichet 3 n'envoie plus les documents",
]


class RecordingMessenger:
    """Accepts every notification, like a healthy platform."""

    platform = "bench"

    def __init__(self) -> None:
        self.count = 0

    def send(self, notification: Notification) -> SentMessage:
        self.count += 1
        return SentMessage(notification.place, f"m{notification.id}")


def seed_history(app: HelpdeskApp, size: int, now: datetime) -> None:
    """Insert ``size`` closed tickets with events and delivered outbox rows, in bulk."""
    batch = 5000
    with app.engine.begin() as conn:
        for start in range(0, size, batch):
            rows = []
            for i in range(start, min(size, start + batch)):
                created = now - timedelta(days=400) + timedelta(minutes=i)
                rows.append(
                    {
                        "title": f"Historical problem {i}",
                        "description": "seeded",
                        "type": "incident",
                        "category": "helpdesk",
                        "priority": "P3",
                        "impact": "me",
                        "urgency": "medium",
                        "status": "closed",
                        "support_level": 1,
                        "requester_key": f"bench:user{i % 3000}",
                        "requester_name": f"User {i % 3000}",
                        "requester_locale": "fr",
                        "contact_name": "",
                        "contact_phone": "",
                        "contact_email": "",
                        "error_message": "",
                        "url": "",
                        "started": "",
                        "origin_platform": "bench",
                        "origin_chat_id": f"dm{i % 3000}",
                        "thread_id": f"h{i}",
                        "created_at": created,
                        "updated_at": created,
                        "resolution": "done",
                    }
                )
            conn.execute(insert(Ticket), rows)
        first_id = conn.execute(text("SELECT MIN(id) FROM tickets")).scalar_one()
        for start in range(0, size, batch):
            events, outbox = [], []
            for i in range(start, min(size, start + batch)):
                at = now - timedelta(days=400) + timedelta(minutes=i)
                for kind in ("created", "status", "status"):
                    events.append(
                        {
                            "ticket_id": first_id + i,
                            "at": at,
                            "actor_key": "bench:tech",
                            "actor_name": "T",
                            "kind": kind,
                            "text": "",
                        }
                    )
                outbox.append(
                    {
                        "created_at": at,
                        "ticket_id": first_id + i,
                        "platform": "bench",
                        "chat_id": f"dm{i % 3000}",
                        "purpose": "update",
                        "payload": {"text": "x"},
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": at,
                        "last_error": "",
                    }
                )
            conn.execute(insert(TicketEvent), events)
            conn.execute(insert(OutboxEntry), outbox)


def conversation(app: HelpdeskApp, clock: FrozenClock, n: int) -> int:
    """One requester's whole intake plus a technician's claim and resolve; returns events handled."""
    user = User("bench", f"req{n}", f"Requester {n}", "fr", email=f"req{n}@example.be")
    place = Place("bench", f"dm-req{n}")
    tech = User("bench", "tech", "Tech", "fr")
    triage = Place("bench", "triage")
    events = 0

    def handle(event: TextMessage | ButtonPress | SlashCommand) -> None:
        nonlocal events
        app.handle(event)
        app.dispatch_pending()
        events += 1
        clock.advance(timedelta(seconds=5))

    handle(TextMessage(user, place, PROBLEMS[n % len(PROBLEMS)] + f" (poste {n})"))
    with app.uow() as uow:
        row = uow.conversations.get("bench", place.chat_id, user.id)
        state = row.state if row else "idle"
        log_id = row.data.get("log_id") if row else None
    if state == "suggested":
        handle(ButtonPress(user, place, f"kb:notsolved:{log_id}"))
    for value in (
        "intake:accept",
        "intake:skip",
        "intake:skip",
        "intake:skip",
        "intake:started:today",
        "intake:impact:team",
        "intake:urgency:high",
        "intake:contact:ok",
        "intake:confirm",
    ):
        handle(ButtonPress(user, place, value))
    with app.uow() as uow:
        number = uow.tickets.for_requester(user.key, limit=1)[0].id
    handle(SlashCommand(tech, triage, "claim", str(number)))
    handle(SlashCommand(tech, triage, "resolve", f"{number} Fixed on site"))
    return events


def measure(url: str, size: int, conversations: int) -> dict[str, float]:
    clock = FrozenClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))
    config = parse_config({"database": {"url": url}, "roles": {"technicians": ["bench:tech"]}})
    app = bootstrap(config, clock=clock)
    messenger = RecordingMessenger()
    app.register_messenger(messenger)
    app.add_technician_place(Place("bench", "triage"))
    seed_history(app, size, clock.now())
    conversation(app, clock, -1)  # warm-up: caches, prepared statements
    per_event: list[float] = []
    total_events = 0
    started = time.perf_counter()
    for n in range(conversations):
        t0 = time.perf_counter()
        handled = conversation(app, clock, n)
        per_event.append((time.perf_counter() - t0) / handled)
        total_events += handled
    elapsed = time.perf_counter() - started
    app.close()
    return {
        "events_per_s": total_events / elapsed,
        "ms_per_event_median": statistics.median(per_event) * 1000,
        "notifications": messenger.count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--postgres", default=os.environ.get("HELPDESK_TEST_DATABASE_URL"))
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    backends = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    print(f"{'backend':<11} {'history':>8} {'events/s':>9} {'ms/event':>9} {'vs 1k':>6}")
    for name, base_url in backends:
        baseline = None
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                if base_url is None:
                    url = f"sqlite:///{tmp}/bench.db"
                    result = measure(url, size, args.conversations)
                else:
                    schema = f"bench_{uuid.uuid4().hex[:8]}"
                    admin = create_engine(base_url)
                    with admin.begin() as conn:
                        conn.execute(text(f"CREATE SCHEMA {schema}"))
                    sep = "&" if "?" in base_url else "?"
                    url = f"{base_url}{sep}options=-csearch_path%3D{schema}"
                    try:
                        result = measure(url, size, args.conversations)
                    finally:
                        with admin.begin() as conn:
                            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                        admin.dispose()
            baseline = baseline or result["events_per_s"]
            print(
                f"{name:<11} {size:>8} {result['events_per_s']:>9.0f} {result['ms_per_event_median']:>9.2f} "
                f"{result['events_per_s'] / baseline:>6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
