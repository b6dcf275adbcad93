"""The ops listener (``/healthz``, ``/readyz``, ``/metrics``) over real HTTP on loopback, and
``db backup`` / ``db restore`` round trips."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from support import http_get as get

from bot.bootstrap import HelpdeskApp, bootstrap
from bot.cli import main
from bot.config import parse_config
from bot.ops import metrics
from bot.ops.health import Readiness
from bot.ops.server import OpsServer
from bot.port import TextMessage, User

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"


class FlakyAdapter:
    """An adapter that reports its connection like the real ones do."""

    name = "fake"

    def __init__(self) -> None:
        self.up = True

    def connected(self) -> bool:
        return self.up


@pytest.fixture
def app(tmp_path: Path) -> Iterator[HelpdeskApp]:
    config = parse_config(
        {"database": {"url": f"sqlite:///{tmp_path / 'ops.db'}"}, "knowledge": {"directory": str(KB_DIR)}},
        environ={},
    )
    application = bootstrap(config)
    yield application
    application.close()


@pytest.fixture
def listener(app: HelpdeskApp) -> Iterator[tuple[OpsServer, FlakyAdapter]]:
    adapter = FlakyAdapter()
    readiness = Readiness(app.engine, [adapter], max_outbox_backlog=3, max_outbox_due_seconds=3600)
    server = OpsServer("127.0.0.1", 0, readiness)
    server.start()
    yield server, adapter
    server.stop()


def test_healthz_readyz_and_metrics(app: HelpdeskApp, listener: tuple[OpsServer, FlakyAdapter]) -> None:
    server, _adapter = listener
    assert get(server.url + "/healthz") == (200, "ok\n")
    status, body = get(server.url + "/readyz")
    assert status == 200, body
    assert "ok database reachable" in body and "ok adapter:fake connected" in body
    metrics.instrument_app(app)
    app.handle(TextMessage(user=User("console", "alice"), place=_place(), text="hello"))
    status, body = get(server.url + "/metrics")
    assert status == 200
    assert 'helpdesk_events_handled_total{kind="message",platform="console"}' in body
    assert "helpdesk_outbox_backlog " in body and "helpdesk_database_up 1.0" in body
    assert get(server.url + "/nope")[0] == 404


def _place() -> object:
    from bot.port import Place

    return Place("console", "alice")


def test_readyz_fails_when_the_adapter_disconnects_or_the_database_goes_away(
    app: HelpdeskApp, listener: tuple[OpsServer, FlakyAdapter]
) -> None:
    server, adapter = listener
    adapter.up = False
    status, body = get(server.url + "/readyz")
    assert status == 503 and "FAIL adapter:fake disconnected" in body
    adapter.up = True
    assert get(server.url + "/readyz")[0] == 200
    with app.engine.begin() as connection:
        connection.execute(text("DROP TABLE outbox"))
    status, body = get(server.url + "/readyz")
    assert status == 503 and "FAIL database unreachable" in body
    assert "helpdesk_database_up 0.0" in get(server.url + "/metrics")[1]


def test_readyz_fails_when_the_outbox_backlog_grows(app: HelpdeskApp, listener: tuple[OpsServer, FlakyAdapter]) -> None:
    server, _adapter = listener
    with app.engine.begin() as connection:
        for n in range(3):
            connection.execute(
                text(
                    "INSERT INTO outbox (platform, chat_id, purpose, payload, status, attempts, next_attempt_at,"
                    " last_error, created_at) VALUES ('console', :chat, 'message', '{}', 'pending', 0,"
                    " '2026-01-01 00:00:00', '', '2026-01-01 00:00:00')"
                ),
                {"chat": f"c{n}"},
            )
    status, body = get(server.url + "/readyz")
    assert status == 503
    assert "FAIL outbox_backlog 3 pending (limit 3)" in body
    assert "FAIL outbox_oldest_due" in body


def _cli(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output


def test_backup_and_restore_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELPDESK_CONFIG", raising=False)
    live = tmp_path / "live.db"
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite:///{live}")
    monkeypatch.setenv("HELPDESK_KNOWLEDGE__DIRECTORY", str(KB_DIR))
    code, out = _cli(
        "chat",
        "--user",
        "alice",
        "--lang",
        "en",
        stdin="\n".join(["The monitor on my desk stays black", "1", "skip", "skip", "skip", "skip", "skip"])
        + "\n"
        + "\n".join(["1", "2", "3", "0470 12 34 56", "1", "1"])
        + "\n",
    )
    assert code == 0, out
    assert "Your ticket #1 is open" in out
    code, out = _cli("db", "backup", str(tmp_path / "backup.db"))
    assert (code, out.strip()) == (0, f"backed up 1 ticket(s) to {tmp_path / 'backup.db'}")
    assert _cli("db", "backup", str(tmp_path / "backup.db"))[1].count("already exists") == 1

    # into an empty database: restored; into one holding tickets: refused unless --force
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    code, out = _cli("db", "restore", str(tmp_path / "backup.db"))
    assert (code, out.strip()) == (0, f"restored 1 ticket(s) from {tmp_path / 'backup.db'}")
    with sqlite3.connect(tmp_path / "fresh.db") as connection:
        assert connection.execute("SELECT title FROM tickets").fetchall() == [("The monitor on my desk stays black",)]
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite:///{live}")
    code, out = _cli("db", "restore", str(tmp_path / "backup.db"))
    assert code == 1 and "already holds tickets" in out and "--force" in out
    assert _cli("db", "restore", "--force", str(tmp_path / "backup.db"))[0] == 0


def test_postgresql_backups_point_to_pg_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    code, out = _cli("db", "backup", str(tmp_path / "x.dump"))
    assert code == 1 and "pg_dump --format=custom" in out


def test_metrics_count_service_level_actions_and_suggestions_from_the_database(
    app: HelpdeskApp, listener: tuple[OpsServer, FlakyAdapter]
) -> None:
    server, _adapter = listener
    alice = User("console", "alice")
    app.handle(TextMessage(user=alice, place=_place(), text="my printer has a paper jam"))
    app.open_ticket_from_form(
        alice,
        _place(),
        {"title": "Printer jammed", "description": "Paper stuck in tray 2", "contact_phone": "0470 12 34 56"},
    )
    with app.engine.begin() as connection:
        for kind in ("unclaimed", "response_breach"):
            connection.execute(
                text(
                    "INSERT INTO sla_actions (ticket_id, kind, seq, due_at, done_at, outcome)"
                    " VALUES (1, :kind, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'done')"
                ),
                {"kind": kind},
            )
    status, body = get(server.url + "/metrics")
    assert status == 200
    assert 'helpdesk_kb_suggestions_total{outcome="offered"} 1.0' in body
    assert 'helpdesk_kb_suggestions_total{outcome="undecided"} 1.0' in body
    assert 'helpdesk_sla_breaches_total{target="response"} 1.0' in body
    assert 'helpdesk_sla_breaches_total{target="resolution"} 0.0' in body
    assert 'helpdesk_due_actions_total{kind="unclaimed"} 1.0' in body
