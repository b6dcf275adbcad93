"""Shared fixtures of the core tests: an application on a fresh database, a frozen clock,
a fake messenger that can be told to fail, console users, and transcript helpers.

Every core test runs on SQLite; when ``HELPDESK_TEST_DATABASE_URL`` is set it runs on
PostgreSQL as well, each test in a schema of its own (see :func:`postgres_schema_url`).
Helpers are handed out as fixtures (``assert_dialog``, ``open_ticket`` …) rather than
imported, because several ``conftest.py`` files live side by side in this tree.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from support import PG_ENV, PG_URL, PostgresSchema, migrated_postgres_schema

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.clock import FrozenClock
from bot.config import Config, parse_config
from bot.db.engine import create_db_engine, upgrade_database
from bot.knowledge import KnowledgeBase
from bot.port import DeliveryError, Notification, SentMessage, User

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning: the frozen clock starts here."""

Dialog = Sequence[tuple[str, Sequence[str]]]
AssertDialog = Callable[[ConsoleChat, Dialog], list[list[str]]]
AppFactory = Callable[..., HelpdeskApp]
OpenTicket = Callable[..., int]


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test starts from a copy (fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_session_schema() -> Iterator[str]:
    """One migrated PostgreSQL schema for the session; :func:`db_url` empties it before each test."""
    with migrated_postgres_schema(PG_URL) as url:
        yield url


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"] if PG_URL else ["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A database with the schema and no rows: a SQLite file, or (when configured) PostgreSQL."""
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "t.db")
        return f"sqlite:///{tmp_path}/t.db"
    url: str = request.getfixturevalue("pg_session_schema")
    _empty_postgres(url)
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty schema on the PostgreSQL test server (tests using it skip without one)."""
    if not PG_URL:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests need a server")
    with PostgresSchema(PG_URL) as schema:
        yield schema.url


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    """The small knowledge base written for these tests (loaded once)."""
    return KnowledgeBase.from_directory(KB_DIR)


@pytest.fixture
def clock() -> FrozenClock:
    """Time stands still unless a test advances it."""
    return FrozenClock(START)


def make_config(url: str, **sections: dict[str, Any]) -> Config:
    """A configuration on ``url``; ``sections`` override other sections (``outbox={...}``).

    The bot's default language (technician cards) is English, so that msgids are stable.
    """
    data: dict[str, Any] = {"database": {"url": url}, "bot": {"language": "en"}, **sections}
    return parse_config(data, environ={})


@pytest.fixture
def make_app(db_url: str, clock: FrozenClock, knowledge: KnowledgeBase) -> Iterator[AppFactory]:
    """Build applications on the test database (several = several bot processes); all closed at the end."""
    apps: list[HelpdeskApp] = []

    def factory(*, clock: FrozenClock = clock, **sections: dict[str, Any]) -> HelpdeskApp:
        app = bootstrap(make_config(db_url, **sections), clock=clock, knowledge=knowledge)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: AppFactory) -> HelpdeskApp:
    """The application under test."""
    return make_app()


# -- a messenger that records and fails on demand ---------------------------------------------


class FakeMessenger:
    """Records every notification; ``fail_next`` makes the next sends raise :class:`DeliveryError`.

    ``on_send`` (optional) runs inside ``send`` before it returns: tests use it to hold a
    delivery in flight while something else happens.
    """

    def __init__(self, platform: str = "fake") -> None:
        self.platform = platform
        self.sent: list[Notification] = []
        self.attempts: list[Notification] = []
        self.on_send: Callable[[Notification], None] | None = None
        self._failures: list[DeliveryError] = []
        self._lock = threading.Lock()

    def fail_next(self, count: int = 1, *, permanent: bool = False) -> None:
        """The next ``count`` sends fail (transiently unless ``permanent``)."""
        with self._lock:
            self._failures += [DeliveryError("platform is down", permanent=permanent) for _ in range(count)]

    def send(self, notification: Notification) -> SentMessage:
        """Record, maybe fail, and answer with a message id (the edited one for edits)."""
        with self._lock:
            self.attempts.append(notification)
            if self._failures:
                raise self._failures.pop(0)
        if self.on_send is not None:
            self.on_send(notification)
        with self._lock:
            self.sent.append(notification)
            message_id = notification.edit_message_id or f"msg-{notification.id}"
        return SentMessage(notification.place, message_id)

    def purposes(self) -> list[str]:
        """The purposes of the notifications delivered so far, in order."""
        return [n.purpose for n in self.sent]


@pytest.fixture
def messenger() -> FakeMessenger:
    """A fake platform named ``fake``."""
    return FakeMessenger()


@pytest.fixture
def make_messenger() -> Callable[..., FakeMessenger]:
    """More fake messengers (one per simulated bot process)."""
    return FakeMessenger


# -- console users -----------------------------------------------------------------------------


ALICE = User("console", "alice", "Alice Dupont", "en", email="alice.dupont@example.be")
CAROL = User("console", "carol", "Carol Peeters", "en", email="carol.peeters@example.be")
BOB = User("console", "bob", "Bob Tech", "en")
TOM = User("console", "tom", "Tom Tech", "en")


@pytest.fixture
def requester(app: HelpdeskApp) -> ConsoleChat:
    """Alice, a requester, in her own terminal."""
    return ConsoleChat(app, ALICE)


@pytest.fixture
def other_requester(app: HelpdeskApp) -> ConsoleChat:
    """Carol, another requester."""
    return ConsoleChat(app, CAROL)


@pytest.fixture
def technician(app: HelpdeskApp) -> ConsoleChat:
    """Bob, a technician (his terminal also shows the triage chat)."""
    return ConsoleChat(app, BOB, technician=True)


# -- transcripts -------------------------------------------------------------------------------


def _check_dialog(chat: ConsoleChat, dialog: Dialog) -> list[list[str]]:
    transcripts = []
    for said, expected in dialog:
        shown = chat.say(said)
        screen = "\n".join(shown)
        for fragment in expected:
            assert fragment in screen, (
                f"{chat.user.id} said {said!r}; expected {fragment!r} in what the bot showed:\n{screen}"
            )
        transcripts.append(shown)
    return transcripts


@pytest.fixture
def assert_dialog() -> AssertDialog:
    """``assert_dialog(chat, [("user says", ["expected fragment", ...]), ...])``; returns the screens."""
    return _check_dialog


_BUTTON = re.compile(r"\[(\d+)\] (.*?)(?=\s{2}\[\d+\] |$)")


def buttons_of(screen: Sequence[str]) -> list[str]:
    """The labels of the numbered buttons on the last line of ``screen`` that shows some."""
    for line in reversed(screen):
        found = _BUTTON.findall(line)
        if found and found[0][0] == "1":
            return [label.strip() for _, label in found]
    return []


@pytest.fixture
def button_labels() -> Callable[[Sequence[str]], list[str]]:
    """``button_labels(screen)`` → the labels of the last numbered buttons shown."""
    return buttons_of


def _open_ticket(
    chat: ConsoleChat, problem: str = "My screen stays black after the update", *, impact: str = "1", urgency: str = "2"
) -> int:
    """Walk the whole intake with defaults and return the new ticket's number."""
    steps = [problem, "1", "1", "1", "1", "5", impact, urgency, "1"]
    for line in steps:
        chat.say(line)
    shown = chat.say("1")
    for line in shown:
        if line.startswith("Your ticket #"):
            return int(line.removeprefix("Your ticket #").split(" ")[0].rstrip(":"))
    raise AssertionError("no confirmation after the summary:\n" + "\n".join(shown))


@pytest.fixture
def open_ticket() -> OpenTicket:
    """``open_ticket(chat, "problem text")`` → the ticket number, through the whole intake."""
    return _open_ticket
