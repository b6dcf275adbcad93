"""bot.toml.example documents every section, and it is a valid configuration."""

from __future__ import annotations

import tomllib
from pathlib import Path

from bot.config import IncidentsSection, SlaSection, adapter_section, load_config
from bot.plugins import discover_adapters
from bot.privacy.config import PrivacySection

EXAMPLE = Path(__file__).resolve().parent.parent / "bot.toml.example"


def test_example_configuration_is_valid() -> None:
    adapters = discover_adapters()
    config = load_config(EXAMPLE, adapter_names=set(adapters), environ={})
    for name, spec in adapters.items():
        adapter_section(config, name, spec.config_model)
    assert config.database.url == "sqlite:///helpdesk.db"
    assert config.bot.language == "fr"


def test_example_documents_every_section() -> None:
    sections = set(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert {"bot", "database", "knowledge", "roles", "outbox", "sla", "privacy", "incidents"} <= sections
    assert set(discover_adapters()) <= sections


def test_example_shows_the_default_service_levels_privacy_and_incidents() -> None:
    config = load_config(EXAMPLE, adapter_names=set(discover_adapters()), environ={})
    assert config.sla.model_dump() == SlaSection().model_dump()
    assert config.privacy == PrivacySection()
    assert config.incidents == IncidentsSection()
