"""Configuration: defaults, bad files, unknown sections, bad values (one error listing every
problem) and the ``HELPDESK_DATABASE_URL`` override."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config, adapter_section, load_config, parse_config
from bot.errors import ConfigError
from bot.plugins import discover_adapters

ADAPTERS = {"console", "slack", "telegram"}


def test_no_file_means_the_embedded_default() -> None:
    config = load_config(None, environ={})
    assert config == Config()
    assert config.bot.language == "fr"
    assert config.bot.max_message_chars == 40_000
    assert config.database.url == "sqlite:///helpdesk.db"
    assert config.knowledge.directory is None and config.knowledge.max_suggestions == 3
    assert config.roles.technicians == [] and config.adapters == {}
    assert (config.outbox.max_attempts, config.outbox.base_delay_seconds) == (10, 2.0)
    assert config.source is None


def test_a_complete_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(
        """
[bot]
language = "nl"
max_message_chars = 5000

[database]
url = "postgresql+psycopg://helpdesk@db/helpdesk"

[knowledge]
directory = "kb"
threshold = 0.4
max_suggestions = 2

[roles]
technicians = ["slack:U1", "console:bob"]
team_leads = ["slack:U9"]

[outbox]
max_attempts = 4

[console]
triage_chat = "helpdesk"
""",
        encoding="utf-8",
    )
    config = load_config(path, adapter_names=ADAPTERS, environ={})
    assert config.bot.language == "nl" and config.bot.max_message_chars == 5000
    assert config.database.url.startswith("postgresql+psycopg://")
    assert config.knowledge.directory == tmp_path / "kb"  # relative to the file
    assert config.knowledge.threshold == 0.4
    assert config.roles.technicians == ["slack:U1", "console:bob"]
    assert config.outbox.max_attempts == 4
    assert config.adapters == {"console": {"triage_chat": "helpdesk"}}
    assert config.source == path


def test_bad_toml_is_one_readable_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text('[bot\nlanguage = "fr"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML") as raised:
        load_config(path, environ={})
    assert str(path) in str(raised.value)


def test_missing_file_is_one_readable_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*nowhere\.toml"):
        load_config(tmp_path / "nowhere.toml", environ={})


def test_unknown_section_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({"databse": {"url": "sqlite://"}, "console": {}}, adapter_names=ADAPTERS, environ={})
    message = str(raised.value)
    assert "[databse]: unknown section (did you mean 'database'?)" in message
    assert "database" in message and "slack" in message


def test_bad_values_are_all_listed_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(
            {
                "bot": {"language": "de", "max_message_chars": 10},
                "database": {"url": "mysql://x"},
                "roles": {"technicians": ["bob"]},
                "outbox": {"max_attempts": 0, "colour": "blue"},
            },
            environ={},
        )
    message = str(raised.value)
    assert "6 problem(s)" in message
    for where in (
        "bot.language",
        "bot.max_message_chars",
        "database.url",
        "roles.technicians",
        "outbox.max_attempts",
        "outbox.colour",
    ):
        assert f"  - {where}:" in message, message
    assert "'mysql' databases are not supported" in message
    assert "outbox.colour: unknown option" in message
    assert "must look like 'platform:user_id'" in message


def test_an_adapter_section_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"\[console\]: must be a table"):
        parse_config({"console": "yes"}, adapter_names=ADAPTERS, environ={})


def test_adapter_sections_are_validated_by_the_adapter() -> None:
    spec = discover_adapters()["console"]
    config = parse_config({"console": {"triage_chat": "t", "colour": "red"}}, adapter_names=ADAPTERS, environ={})
    with pytest.raises(ConfigError, match=r"\[console\] has 1 problem\(s\)"):
        adapter_section(config, "console", spec.config_model)


def test_environment_overrides_the_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+psycopg://helpdesk@127.0.0.1/helpdesk"
    config = parse_config({"database": {"url": "sqlite:///a.db", "echo": True}}, environ={"HELPDESK_DATABASE_URL": url})
    assert (config.database.url, config.database.echo) == (url, True)
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "sqlite:///from-env.db")
    assert load_config(None).database.url == "sqlite:///from-env.db"
    with pytest.raises(ConfigError, match=r"database\.url"):
        parse_config({}, environ={"HELPDESK_DATABASE_URL": "oracle://nope"})
