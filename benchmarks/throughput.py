"""Core throughput, end to end, against what the database itself can do — measured in the same run.

Each simulated requester runs a whole conversation through :meth:`HelpdeskApp.handle`: a problem
described in chat (knowledge-base search, suggestions refused), every intake step answered with
its buttons and persisted, the ticket opened (audit event, outbox entries), then a technician
claims and resolves it; every event's outbox entries are delivered right after its commit through a
recording messenger (the requester's replies, the thread updates, the technicians' card). The
database holds 1,000 / 10,000 / 100,000 historical tickets first (with events and sent outbox
rows), so a step that scans the history shows up as a slowdown.

Three runs per database and history size, on identical copies of the seeded database:

* **app** — the bot, as above. Every statement it sends is captured (SQLAlchemy's
  ``before_cursor_execute``) with its parameters, its connection, and the commits and rollbacks.
* **raw replay** — the same statements, parameters, commits and rollbacks replayed with the bare
  driver (``sqlite3`` / ``psycopg``), fetching every result: the floor for this exact SQL.
* **writes alone** — only the INSERT / UPDATE / DELETE statements, one commit per incoming event:
  the durable-write ceiling of the database for this workload.

The figures that matter are the ratios (app ÷ raw replay, app ÷ writes alone, 100k ÷ 1k), since
absolute rates depend on the machine and on what else runs on it. Also reported per incoming event:
statements (and SELECTs), commits, rollbacks and connection checkouts, delivery included, and the CPU
time of the benchmark's process per event with its ratio to the raw replay's (``cpu app/raw``): on a
machine shared with other jobs, CPU time moves much less with the load than wall-clock rates. On SQLite
the database engine runs in the process, so ``cpu app/raw`` is the share of the CPU an event costs that
is the database's own work; on PostgreSQL it compares the client side only (the server's CPU is not
counted).

PostgreSQL also runs with several processes on one database (``--processes 1 4``): each process
has its own requesters, every process delivers whatever is due (they compete for the outbox
entries), and afterwards the script checks that nothing was lost or doubled: one ticket per
conversation, every outbox entry sent, and exactly as many messages delivered as entries sent.

``--memory N`` runs N conversations on SQLite and prints the resident memory every N/10
conversations (flat or not); ``--profile sqlite|postgresql`` runs one history size under cProfile
and prints the top functions.

Usage::

    python benchmarks/throughput.py                          # SQLite, all sizes
    python benchmarks/throughput.py --postgres URL           # also PostgreSQL (or HELPDESK_TEST_DATABASE_URL)
    python benchmarks/throughput.py --sizes 1000 --conversations 20 --processes 1 4
    python benchmarks/throughput.py --memory 10000 --sizes 1000
    python benchmarks/throughput.py --profile sqlite --sizes 1000
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import multiprocessing
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import HelpdeskApp, bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.db.models import OutboxEntry, Ticket, TicketEvent  # noqa: E402
from bot.port import (  # noqa: E402
    ButtonPress,
    Notification,
    OutgoingMessage,
    Place,
    SentMessage,
    SlashCommand,
    TextMessage,
    User,
)

PROBLEMS = [
    "Le lecteur de badges de la salle du conseil ne répond plus depuis ce matin",
    "Mon deuxième écran reste noir après la mise à jour de cette nuit",
    "L'application de gestion des permis d'urbanisme affiche une page blanche",
    "Impossible d'ouvrir le dossier partagé du service population",
    "Le scanner du guichet 3 n'envoie plus les documents",
]

# The buttons a requester presses, in order of preference, whatever the bot offers next.
PREFERRED_BUTTONS = (
    "dup:different:",
    "kb:notsolved:",
    "intake:accept",
    "intake:type:incident",
    "intake:started:today",
    "intake:impact:team",
    "intake:urgency:high",
    "intake:contact:ok",
    "intake:confirm",
    "intake:skip",
)
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


# -- the bot's side ------------------------------------------------------------------------------


class RecordingMessenger:
    """Accepts every notification, like a healthy platform, and keeps what each chat last received."""

    platform = "bench"

    def __init__(self) -> None:
        self.count = 0
        self.inbox: dict[str, list[Notification]] = {}

    def send(self, notification: Notification) -> SentMessage:
        self.count += 1
        self.inbox.setdefault(notification.place.chat_id, []).append(notification)
        return SentMessage(notification.place, f"m{notification.id}")


def make_app(url: str, clock: FrozenClock, *, migrate: bool = True) -> tuple[HelpdeskApp, RecordingMessenger]:
    """The bot as a chat platform's adapter runs it, every reply going through the outbox."""
    config = parse_config({"database": {"url": url}, "roles": {"technicians": ["bench:tech"]}})
    app = bootstrap(config, clock=clock, migrate=migrate)
    messenger = RecordingMessenger()
    app.register_messenger(messenger)
    app.add_technician_place(Place("bench", "triage"))
    deliver_directly = getattr(app, "deliver_directly", None)
    if deliver_directly is not None:  # the pipeline: replies go through the outbox, as on Slack and Telegram
        deliver_directly("bench", lambda _event, _reply: False)
    return app, messenger


def conversation(
    app: HelpdeskApp,
    messenger: RecordingMessenger,
    clock: FrozenClock,
    n: int,
    *,
    tag: str = "",
    on_event: Callable[[], None] | None = None,
    shared_chats: Sequence[str] | None = None,
) -> int:
    """One requester's whole conversation plus a technician's claim and resolve; returns events handled.

    The requester answers whatever the bot last offered (its buttons), so the script follows the
    intake as it is. Only the bot's own replies and deliveries are read: no query of the script's own.
    Every event's outbox entries are delivered by :meth:`HelpdeskApp.handle` right after its commit,
    as on a live platform; what it could not send wakes the background dispatcher, emulated here by
    a delivery round — with several processes (``shared_chats`` given), only to this
    conversation's chat and the shared ones (the technicians'), so that the requester's messages
    reach this process's messenger, which the script reads.
    """
    user = User("bench", f"req{tag}{n}", f"Requester {n}", "fr", email=f"req{tag}{n}@example.be")
    place = Place("bench", f"dm-req{tag}{n}")
    tech = User("bench", "tech", "Tech", "fr")
    triage = Place("bench", "triage")
    events = 0

    def handle(event: TextMessage | ButtonPress | SlashCommand) -> list[OutgoingMessage]:
        nonlocal events
        if on_event is not None:
            on_event()
        messenger.inbox.pop(place.chat_id, None)
        replies = app.handle(event)
        if app.dispatcher.woken:
            if shared_chats is None:
                app.dispatch_pending()
            else:
                app.dispatcher.dispatch_due(chat_ids=[place.chat_id, *shared_chats])
        events += 1
        clock.advance(timedelta(seconds=5))
        received = [r.message for r in replies if r.place.chat_id == place.chat_id]
        return received + [x.message for x in messenger.inbox.get(place.chat_id, [])]

    def ticket_number() -> int | None:
        for notification in messenger.inbox.get(place.chat_id, []):
            if notification.purpose == "confirmation" and notification.ticket_number is not None:
                return notification.ticket_number
        return None

    received = handle(TextMessage(user, place, PROBLEMS[n % len(PROBLEMS)] + f" (poste {n})"))
    number = None
    for _ in range(25):
        values = [b.value for m in received for b in m.buttons]
        choice = next((v for prefix in PREFERRED_BUTTONS for v in values if v.startswith(prefix)), None)
        if choice is None:
            raise RuntimeError(f"conversation {n}: no button to press in {[m.text[:60] for m in received]}")
        received = handle(ButtonPress(user, place, choice))
        number = ticket_number()
        if number is not None:
            break
    if number is None:
        raise RuntimeError(f"conversation {n}: no ticket was opened")
    handle(SlashCommand(tech, triage, "claim", str(number)))
    handle(SlashCommand(tech, triage, "resolve", f"{number} Fixed on site"))
    return events


def seed_history(engine: Engine, size: int, now: datetime) -> None:
    """Insert ``size`` closed tickets with events and delivered outbox rows, in bulk."""
    batch = 5000
    with engine.begin() as conn:
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


# -- what the bot sends to the database ------------------------------------------------------------


@dataclass
class Capture:
    """Every statement the app sent (with its DBAPI parameters and connection), commits, rollbacks, checkouts.

    ``log`` entries: ``("x", conn, sql, params, many)``, ``("c", conn)`` commit, ``("r", conn)``
    rollback, ``("e",)`` the start of an incoming event, ``("t",)`` the start of the timed part.
    """

    log: list[tuple[Any, ...]] = field(default_factory=list)
    checkouts: int = 0
    recording: bool = False

    def attach(self, engine: Engine) -> None:
        def execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if self.recording:
                # "insertmanyvalues" batches report executemany but run one execute with flat parameters.
                many = (
                    executemany
                    and isinstance(parameters, (list, tuple))
                    and bool(parameters)
                    and isinstance(parameters[0], (list, tuple, dict))
                )
                self.log.append(("x", id(conn.connection.dbapi_connection), statement, parameters, many))

        def commit(conn: Any) -> None:
            if self.recording:
                self.log.append(("c", id(conn.connection.dbapi_connection)))

        def rollback(conn: Any) -> None:
            if self.recording:
                self.log.append(("r", id(conn.connection.dbapi_connection)))

        def checkout(_dbapi: Any, _record: Any, _proxy: Any) -> None:
            if self.recording:
                self.checkouts += 1

        event.listen(engine, "before_cursor_execute", execute)
        event.listen(engine, "commit", commit)
        event.listen(engine, "rollback", rollback)
        event.listen(engine.pool, "checkout", checkout)

    def mark(self, kind: str) -> None:
        if self.recording:
            self.log.append((kind,))

    def timed(self) -> list[tuple[Any, ...]]:
        """The log from the start of the timed part."""
        start = next(i for i, entry in enumerate(self.log) if entry[0] == "t")
        return self.log[start + 1 :]

    def per_event(self) -> dict[str, float]:
        timed = self.timed()
        events = sum(1 for e in timed if e[0] == "e") or 1
        statements = [e for e in timed if e[0] == "x"]
        selects = [e for e in statements if e[2].lstrip().upper().startswith("SELECT")]
        return {
            "statements": len(statements) / events,
            "selects": len(selects) / events,
            "commits": sum(1 for e in timed if e[0] == "c") / events,
            "rollbacks": sum(1 for e in timed if e[0] == "r") / events,
        }


def is_write(sql: str) -> bool:
    return sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")


def replay(
    connect: Callable[[], Any], log: Sequence[tuple[Any, ...]], *, writes_only: bool = False
) -> tuple[float, int, float]:
    """Replay a captured log with the bare driver; returns (seconds for the timed part, events, CPU seconds
    of this process for it).

    The part before the ``("t",)`` mark (the warm-up conversation) is replayed untimed, so that the
    database is in the same state as the app's was. ``writes_only`` keeps only INSERT / UPDATE /
    DELETE on one connection and commits once per incoming event.
    """
    connections: dict[int, Any] = {}

    def connection(key: int) -> Any:
        if writes_only:
            key = 0
        if key not in connections:
            connections[key] = connect()
        return connections[key]

    started = cpu_started = 0.0
    events = 0
    pending_writes = False
    for entry in log:
        kind = entry[0]
        if kind == "t":
            for conn in connections.values():
                conn.commit()
            started = time.perf_counter()
            cpu_started = time.process_time()
            events = 0
            continue
        if kind == "e":
            if writes_only and pending_writes:
                connection(0).commit()
                pending_writes = False
            events += 1
            continue
        if kind in ("c", "r"):
            if not writes_only:
                conn = connection(entry[1])
                conn.commit() if kind == "c" else conn.rollback()
            continue
        _, key, sql, params, many = entry
        if writes_only and not is_write(sql):
            continue
        cursor = connection(key).cursor()
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        if cursor.description is not None:
            cursor.fetchall()
        cursor.close()
        pending_writes = True
    for conn in connections.values():
        conn.commit()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    for conn in connections.values():
        conn.close()
    return elapsed, events, cpu


# -- databases -------------------------------------------------------------------------------------


class Database:
    """Fresh copies of one seeded database, for one backend and history size."""

    def __init__(self, base_url: str | None, size: int, workdir: Path) -> None:
        self.base_url = base_url
        self.size = size
        self.workdir = workdir
        self._schemas: list[str] = []
        self._template: Path | None = None

    @property
    def backend(self) -> str:
        return "sqlite" if self.base_url is None else "postgresql"

    def fresh(self) -> str:
        """The URL of a new database: migrated and seeded with the history."""
        if self.base_url is None:
            if self._template is None:
                self._template = self.workdir / f"template-{self.size}.db"
                engine = self._migrated(f"sqlite:///{self._template}")
                seed_history(engine, self.size, START)
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                engine.dispose()
            copy = self.workdir / f"copy-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self._template, copy)
            return f"sqlite:///{copy}"
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.base_url)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        self._schemas.append(schema)
        sep = "&" if "?" in self.base_url else "?"
        url = f"{self.base_url}{sep}options=-csearch_path%3D{schema}"
        engine = self._migrated(url)
        seed_history(engine, self.size, START)
        engine.dispose()
        return url

    @staticmethod
    def _migrated(url: str) -> Engine:
        from bot.db.engine import create_db_engine, upgrade_database

        engine = create_db_engine(url)
        upgrade_database(engine)
        return engine

    def driver_connect(self, url: str) -> Callable[[], Any]:
        """A function opening a bare driver connection to ``url``, set up as the bot's engine sets it up."""
        if self.base_url is None:
            path = make_url(url).database
            assert path is not None

            def connect_sqlite() -> sqlite3.Connection:
                conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
                for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                    conn.execute(f"PRAGMA {pragma}")
                return conn

            return connect_sqlite
        import psycopg

        parsed = make_url(url)
        conninfo = psycopg.conninfo.make_conninfo(
            host=parsed.host or "", port=parsed.port or 5432, user=parsed.username or "", dbname=parsed.database or ""
        )
        options = parsed.query.get("options")
        search_path = str(options).split("search_path=", 1)[1] if options else "public"

        def connect_pg() -> Any:
            return psycopg.connect(conninfo, options=f"-csearch_path={search_path}")

        return connect_pg

    def count(self, url: str, sql: str) -> int:
        engine = create_engine(url)
        with engine.connect() as conn:
            value = int(conn.execute(text(sql)).scalar_one())
        engine.dispose()
        return value

    def drop(self) -> None:
        if self.base_url is None or not self._schemas:
            return
        admin = create_engine(self.base_url)
        with admin.begin() as conn:
            for schema in self._schemas:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        self._schemas.clear()


# -- runs ------------------------------------------------------------------------------------------


@dataclass
class AppRun:
    events_per_s: float
    cpu_events_per_s: float
    ms_per_event_median: float
    events: int
    notifications: int
    checkouts_per_event: float
    counts: dict[str, float]
    log: list[tuple[Any, ...]]


def run_app(url: str, conversations: int, *, profile: cProfile.Profile | None = None) -> AppRun:
    clock = FrozenClock(START)
    app, messenger = make_app(url, clock, migrate=False)
    capture = Capture()
    capture.attach(app.engine)
    capture.recording = True
    conversation(app, messenger, clock, -1, on_event=lambda: capture.mark("e"))  # warm-up: caches, prepared plans
    capture.mark("t")
    capture.checkouts = 0
    per_event: list[float] = []
    total = 0
    gc.collect()
    if profile is not None:
        profile.enable()
    started = time.perf_counter()
    cpu_started = time.process_time()
    for n in range(conversations):
        t0 = time.perf_counter()
        handled = conversation(app, messenger, clock, n, on_event=lambda: capture.mark("e"))
        per_event.append((time.perf_counter() - t0) / handled)
        total += handled
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profile is not None:
        profile.disable()
    capture.recording = False
    app.close()
    return AppRun(
        events_per_s=total / elapsed,
        cpu_events_per_s=total / cpu,
        ms_per_event_median=statistics.median(per_event) * 1000,
        events=total,
        notifications=messenger.count,
        checkouts_per_event=capture.checkouts / total,
        counts=capture.per_event(),
        log=capture.log,
    )


def verify(db: Database, url: str, *, expected_tickets: int) -> str:
    """Nothing lost: the history plus one resolved ticket per conversation, and no undelivered entry."""
    tickets = db.count(url, "SELECT COUNT(*) FROM tickets")
    resolved = db.count(url, "SELECT COUNT(*) FROM tickets WHERE status = 'resolved'")
    pending = db.count(url, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
    problems = []
    if tickets != db.size + expected_tickets:
        problems.append(f"{tickets - db.size} tickets for {expected_tickets} conversations")
    if resolved != expected_tickets:
        problems.append(f"{resolved} resolved of {expected_tickets}")
    if pending:
        problems.append(f"{pending} outbox entries not sent")
    return "; ".join(problems) or "ok"


def measure(db: Database, conversations: int) -> dict[str, Any]:
    app_url = db.fresh()
    app = run_app(app_url, conversations)
    check = verify(db, app_url, expected_tickets=conversations + 1)
    raw_url = db.fresh()
    raw_s, raw_events, raw_cpu = replay(db.driver_connect(raw_url), app.log)
    writes_url = db.fresh()
    writes_s, writes_events, _ = replay(db.driver_connect(writes_url), app.log, writes_only=True)
    return {
        "app": app,
        "raw_per_s": raw_events / raw_s,
        "raw_cpu_per_s": raw_events / raw_cpu,
        "writes_per_s": writes_events / writes_s,
        "check": check,
    }


def _worker(url: str, index: int, conversations: int, barrier: Any, results: Any) -> None:
    try:
        _work(url, index, conversations, barrier, results)
    except BaseException as error:
        barrier.abort()
        results.put(error)
        raise


def _work(url: str, index: int, conversations: int, barrier: Any, results: Any) -> None:
    clock = FrozenClock(START)
    app, messenger = make_app(url, clock, migrate=False)
    shared = ["triage"]
    conversation(app, messenger, clock, -1, tag=f"p{index}-", shared_chats=shared)
    barrier.wait()
    started = time.time()
    events = sum(
        conversation(app, messenger, clock, n, tag=f"p{index}-", shared_chats=shared) for n in range(conversations)
    )
    # Entries another process queued for this one's chats may still be due: once every process is done
    # (a drain while another still converses would take its requester's replies), deliver what is left.
    barrier.wait()
    while app.dispatch_pending():
        pass
    finished = time.time()
    app.close()
    results.put((started, finished, events, messenger.count))


def measure_processes(db: Database, processes: int, conversations: int) -> dict[str, Any]:
    """``processes`` bot processes on one database at once; checks nothing was lost or doubled."""
    url = db.fresh()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(url, i, conversations, barrier, results)) for i in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = [results.get() for _ in workers]
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    if failed:
        raise RuntimeError(f"a bot process failed: {failed[0]!r}")
    for worker in workers:
        worker.join()
    started = min(o[0] for o in outcomes)
    finished = max(o[1] for o in outcomes)
    events = sum(o[2] for o in outcomes)
    delivered = sum(o[3] for o in outcomes)
    check = verify(db, url, expected_tickets=processes * (conversations + 1))
    rows = db.count(url, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'") - db.size
    if delivered != rows:
        check = (check + "; " if check != "ok" else "") + f"{delivered} messages delivered for {rows} outbox entries"
    return {"events_per_s": events / (finished - started), "events": events, "check": check, "entries": rows}


# -- reporting -------------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load}"


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextlib.contextmanager
def databases(base_url: str | None, size: int) -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(base_url, size, Path(tmp))
        try:
            yield db
        finally:
            db.drop()


def run_throughput(args: argparse.Namespace) -> None:
    backends: list[str | None] = [None] + ([args.postgres] if args.postgres else [])
    print(
        f"{'backend':<10} {'history':>7} {'app ev/s':>8} {'raw ev/s':>8} {'app/raw':>7} {'wr ev/s':>8} "
        f"{'app/wr':>6} {'vs 1st':>6} {'ms/ev':>6} {'stmt':>5} {'sel':>5} {'commit':>6} {'rollbk':>6} "
        f"{'chkout':>6} {'cpu ms/ev':>9} {'cpu app/raw':>11}  check"
    )
    for base_url in backends:
        first = None
        for size in args.sizes:
            with databases(base_url, size) as db:
                result = measure(db, args.conversations)
            app: AppRun = result["app"]
            first = first or app.events_per_s
            c = app.counts
            print(
                f"{db.backend:<10} {size:>7} {app.events_per_s:>8.0f} {result['raw_per_s']:>8.0f} "
                f"{app.events_per_s / result['raw_per_s']:>7.3f} {result['writes_per_s']:>8.0f} "
                f"{app.events_per_s / result['writes_per_s']:>6.3f} {app.events_per_s / first:>6.2f} "
                f"{app.ms_per_event_median:>6.2f} {c['statements']:>5.1f} {c['selects']:>5.1f} "
                f"{c['commits']:>6.2f} {c['rollbacks']:>6.2f} {app.checkouts_per_event:>6.2f} "
                f"{1000 / app.cpu_events_per_s:>9.2f} {app.cpu_events_per_s / result['raw_cpu_per_s']:>11.3f}  "
                f"{result['check']}",
                flush=True,
            )
        if base_url is not None and args.processes:
            size = args.sizes[0]
            for processes in args.processes:
                with databases(base_url, size) as db:
                    result = measure_processes(db, processes, args.conversations)
                print(
                    f"{db.backend:<10} {size:>7} {processes} process(es): {result['events_per_s']:.0f} events/s "
                    f"({result['events']} events, {result['entries']} outbox entries)  check: {result['check']}",
                    flush=True,
                )


def run_memory(args: argparse.Namespace) -> None:
    """Resident memory while one process runs ``args.memory`` conversations on SQLite."""
    with databases(None, args.sizes[0]) as db:
        url = db.fresh()
        clock = FrozenClock(START)
        app, messenger = make_app(url, clock, migrate=False)
        conversation(app, messenger, clock, -1)
        gc.collect()
        step = max(1, args.memory // 10)
        samples = [(0, rss_mib())]
        started = time.perf_counter()
        events = 0
        for n in range(args.memory):
            events += conversation(app, messenger, clock, n)
            messenger.inbox.clear()
            if (n + 1) % step == 0:
                gc.collect()
                samples.append((n + 1, rss_mib()))
                print(f"  {n + 1:>6} conversations: RSS {samples[-1][1]:.1f} MiB", flush=True)
        elapsed = time.perf_counter() - started
        app.close()
    growth = samples[-1][1] - samples[1][1] if len(samples) > 2 else 0.0
    print(
        f"memory: {args.memory} conversations ({events} events, {events / elapsed:.0f} events/s): RSS "
        f"{samples[0][1]:.1f} MiB after warm-up, {samples[1][1]:.1f} after {samples[1][0]}, {samples[-1][1]:.1f} "
        f"after {samples[-1][0]} ({growth:+.1f} MiB over the last {samples[-1][0] - samples[1][0]})"
    )


def run_profile(args: argparse.Namespace) -> None:
    base_url = None if args.profile == "sqlite" else args.postgres
    if args.profile != "sqlite" and not base_url:
        raise SystemExit("--profile postgresql needs --postgres URL (or HELPDESK_TEST_DATABASE_URL)")
    profile = cProfile.Profile()
    with databases(base_url, args.sizes[0]) as db:
        result = run_app(db.fresh(), args.conversations, profile=profile)
    print(f"profile of {result.events} events on {args.profile} ({result.events_per_s:.0f} events/s under cProfile)")
    stats = pstats.Stats(profile)
    if args.profile_out:
        stats.dump_stats(args.profile_out)
    stats.sort_stats("cumulative").print_stats(args.profile_lines)
    stats.sort_stats("tottime").print_stats(args.profile_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--postgres", default=os.environ.get("HELPDESK_TEST_DATABASE_URL"))
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only, even with HELPDESK_TEST_DATABASE_URL")
    parser.add_argument("--processes", type=int, nargs="*", default=[1, 4], help="PostgreSQL processes (first size)")
    parser.add_argument("--memory", type=int, default=0, help="conversations for the memory run (SQLite)")
    parser.add_argument("--profile", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument("--profile-out", help="also write the cProfile stats to this file")
    args = parser.parse_args()
    if args.no_postgres:
        args.postgres = None
    print(f"machine: {machine()}", flush=True)
    if args.profile:
        run_profile(args)
    elif args.memory:
        run_memory(args)
    else:
        run_throughput(args)
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
