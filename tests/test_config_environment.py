"""One precedence rule (environment over file over default), ``*_FILE`` secrets, every problem of a
file at once with "did you mean", unsupported drivers refused, unreachable databases in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config import parse_config
from bot.errors import ConfigError
from bot.plugins import discover_adapters

SPECS = discover_adapters()
MODELS = {name: spec.config_model for name, spec in SPECS.items()}


def test_every_core_option_can_come_from_the_environment_and_wins_over_the_file() -> None:
    config = parse_config(
        {"outbox": {"max_attempts": 4}, "bot": {"language": "nl"}},
        environ={
            "HELPDESK_OUTBOX__MAX_ATTEMPTS": "7",
            "HELPDESK_SLA__CALENDAR__TIMEZONE": "Europe/Brussels",
            "HELPDESK_ROLES__TECHNICIANS": '["slack:U1", "console:bob"]',
            "HELPDESK_OPS__PORT": "9480",
        },
    )
    assert config.outbox.max_attempts == 7  # environment over file
    assert config.bot.language == "nl"  # file over default
    assert config.roles.technicians == ["slack:U1", "console:bob"]
    assert config.ops.port == 9480
    assert str(config.sla.calendar.timezone) == "Europe/Brussels"


def test_adapter_options_and_tokens_follow_the_same_rule() -> None:
    config = parse_config(
        {"console": {"triage_chat": "from-file"}, "telegram": {"token": "111:file-token"}},
        adapter_names=set(SPECS),
        environ={"HELPDESK_CONSOLE__TRIAGE_CHAT": "from-env", "TELEGRAM_BOT_TOKEN": "222:env-token"},
    )
    assert config.adapters["console"]["triage_chat"] == "from-env"
    assert config.adapters["telegram"]["token"] == "222:env-token"
    # a token alone does not create (and so enable) an adapter section
    assert "slack" not in parse_config({}, adapter_names=set(SPECS), environ={"SLACK_BOT_TOKEN": "xoxb-1"}).adapters


def test_secrets_can_be_given_as_files(tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("sqlite:///from-a-file.db\n", encoding="utf-8")
    config = parse_config({}, environ={"HELPDESK_DATABASE_URL_FILE": str(secret)})
    assert config.database.url == "sqlite:///from-a-file.db"
    nested = parse_config({}, environ={"HELPDESK_DATABASE__URL_FILE": str(secret)})
    assert nested.database.url == "sqlite:///from-a-file.db"
    with pytest.raises(ConfigError) as raised:
        parse_config(
            {},
            environ={
                "HELPDESK_DATABASE_URL_FILE": str(secret),
                "HELPDESK_DATABASE_URL": "sqlite:///x.db",
                "TELEGRAM_BOT_TOKEN_FILE": str(tmp_path / "missing"),
            },
        )
    message = str(raised.value)
    assert "HELPDESK_DATABASE_URL and HELPDESK_DATABASE_URL_FILE are both set" in message
    assert "TELEGRAM_BOT_TOKEN_FILE: cannot read" in message


def test_every_problem_of_a_file_is_listed_at_once_with_suggestions() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(
            {
                "databse": {"url": "sqlite://"},
                "telegarm": {},
                "outbox": {"max_atempts": 3},
                "console": {"triage_chatt": "x"},
                "bot": {"language": "de"},
            },
            adapter_models=MODELS,
            adapter_names=set(SPECS),
            environ={},
        )
    message = str(raised.value)
    assert "5 problem(s)" in message, message
    assert "[databse]: unknown section (did you mean 'database'?)" in message
    assert "[telegarm]: unknown section (did you mean 'telegram'?)" in message
    assert "outbox.max_atempts: unknown option (did you mean 'max_attempts'?)" in message
    assert "console.triage_chatt: unknown option (did you mean 'triage_chat'?)" in message
    assert "bot.language:" in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg2://u@h/db", "the driver 'psycopg2' is not supported: write postgresql+psycopg://"),
        ("postgresql+asyncpg://u@h/db", "the driver 'asyncpg' is not supported"),
        ("mysql://u@h/db", "'mysql' databases are not supported"),
    ],
)
def test_unsupported_database_drivers_are_refused(url: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config({"database": {"url": url}}, environ={})


def test_a_bare_postgresql_url_means_psycopg() -> None:
    config = parse_config({"database": {"url": "postgresql://u@h/db"}}, environ={})
    assert config.database.url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("command", [["chat"], ["db", "upgrade"]])
def test_an_unwritable_sqlite_path_is_one_readable_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    result = CliRunner().invoke(main, command, input="hello\n")
    assert result.exit_code == 1
    assert "cannot open the SQLite database" in result.output
    assert "does its folder exist" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_an_unreachable_postgresql_is_one_readable_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # a port nothing listens on, on loopback: refused at once
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "postgresql+psycopg://helpdesk:s3cret@127.0.0.1:1/helpdesk")
    result = CliRunner().invoke(main, ["chat"], input="hello\n")
    assert result.exit_code == 1
    assert "cannot reach the database postgresql+psycopg://helpdesk:***@127.0.0.1:1/helpdesk" in result.output
    assert "s3cret" not in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
