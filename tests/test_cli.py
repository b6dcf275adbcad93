"""The ``helpdesk-bot`` command line through click's CliRunner: a scripted console chat with
piped input (requester, then technician, then requester again: three processes on one
database), ``db upgrade``, and readable errors for bad configurations."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect

from bot.cli import main

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray ./bot.toml, and the default database lands here
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    path = tmp_path / "bot.toml"
    path.write_text(
        f"""
[bot]
language = "en"

[database]
url = "sqlite:///{tmp_path / "cli.db"}"

[knowledge]
directory = "{KB_DIR}"
""",
        encoding="utf-8",
    )
    return path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def chat(config: Path, user: str, lines: list[str], *extra: str) -> Result:
    result = run("--config", str(config), "chat", "--user", user, "--lang", "en", *extra, stdin="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return result


def test_piped_chat_from_first_message_to_resolved_ticket(config_file: Path) -> None:
    alice = chat(
        config_file,
        "alice",
        [
            "hello",
            "The monitor on my desk stays black",
            "1",
            "skip",
            "skip",
            "skip",
            "skip",
            "1",
            "2",
            "3",
            "0470 12 34 56",
            "1",
            "1",
        ],
    )
    assert "alice> The monitor on my desk stays black" in alice.output  # the script is echoed
    assert "bot> Hello Alice!" in alice.output
    assert "bot> Proposed title: “The monitor on my desk stays black”" in alice.output
    assert "bot> Your ticket #1 is open: “The monitor on my desk stays black” (priority P4)." in alice.output

    bob = chat(config_file, "bob", ["/queue", "/claim 1", "/resolve 1 Monitor cable replaced"], "--as", "technician")
    assert "bot> ┌ #1 · The monitor on my desk stays black" in bob.output  # the card, shown on start
    assert "#1 [P4] new — The monitor on my desk stays black" in bob.output
    assert "bot> You took #1." in bob.output
    assert "bot> #1 is resolved; the requester is told." in bob.output

    again = chat(config_file, "alice", ["1"])
    assert "bot> [#1] #1: Bob is taking care of your ticket." in again.output
    assert "bot> [#1] Monitor cable replaced" in again.output
    assert "bot> Thank you! #1 is closed." in again.output


def test_requesters_cannot_use_technician_commands_in_the_cli(config_file: Path) -> None:
    result = chat(config_file, "mallory", ["/queue"])
    assert "Only technicians can do that." in result.output


def test_db_upgrade_creates_the_schema_and_is_idempotent(config_file: Path, tmp_path: Path) -> None:
    for _ in range(2):
        result = run("--config", str(config_file), "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "database is up to date" in result.output
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"tickets", "ticket_events", "outbox", "conversations", "kb_suggestions", "alembic_version"} <= tables


def test_db_upgrade_failure_is_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "migration failed:" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[bot\n", "is not valid TOML"),
        ("[databse]\nurl = 'sqlite://'\n", "[databse]: unknown section (did you mean 'database'?)"),
        ("[bot]\nlanguage = 'de'\n[outbox]\nmax_attempts = 0\n", "2 problem(s)"),
        ("[console]\ntriage_chat = 3\n", "console.triage_chat: Input should be a valid string"),
    ],
)
@pytest.mark.parametrize("command", [["chat"], ["db", "upgrade"], ["run"]])
def test_a_bad_config_file_is_a_readable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), *command], input="hello\n")
    assert result.exit_code != 0
    assert expected in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert not (tmp_path / "helpdesk.db").exists()


def test_a_missing_config_file_is_a_readable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["--config", "nowhere.toml", "chat"], input="hello\n")
    assert result.exit_code != 0
    assert "cannot read nowhere.toml" in result.output
    assert "Traceback" not in result.output


def test_run_without_an_enabled_adapter_explains_what_to_do(config_file: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(config_file), "run"])
    assert result.exit_code != 0
    assert "no adapter is enabled" in result.output and "helpdesk-bot chat" in result.output


def test_bot_toml_in_the_working_directory_is_used(config_file: Path) -> None:
    result = run("chat", "--user", "alice", "--lang", "en", stdin="/help\n")
    assert "/mytickets" in result.output
    assert (config_file.parent / "cli.db").exists()
    assert not (config_file.parent / "helpdesk.db").exists()
