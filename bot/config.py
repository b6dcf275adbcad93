"""Typed configuration, read from ``bot.toml`` and checked once at start-up.

The core owns the sections below; every adapter owns its own section (``[slack]``,
``[telegram]``, ``[console]``) and validates it with its own pydantic model (see
:mod:`bot.plugins`). A bad file gives one readable :class:`~bot.errors.ConfigError`
listing every problem. No file at all means the embedded default: SQLite in the
working directory, the console chat and the bundled knowledge base.

Secrets never need to be in the file: ``HELPDESK_DATABASE_URL`` overrides
``database.url``, and each adapter reads its tokens from environment variables.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError
from bot.privacy.config import PrivacySection
from bot.sla.calendar import CalendarConfig
from bot.sla.priority import PriorityConfig

Language = Literal["fr", "en", "nl"]
SUPPORTED_LANGUAGES: tuple[Language, ...] = ("fr", "en", "nl")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(_Section):
    """``[bot]``: general behaviour."""

    language: Language = "fr"
    """Language used when the platform gives no hint and for technician channels."""
    max_message_chars: int = Field(default=40_000, ge=1_000)
    """Longer messages are refused politely (the user keeps their text)."""


class DatabaseSection(_Section):
    """``[database]``: where tickets live."""

    url: str = "sqlite:///helpdesk.db"
    """A SQLAlchemy URL: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``."""
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value


class KnowledgeSection(_Section):
    """``[knowledge]``: the articles the bot suggests."""

    directory: Path | None = None
    """Folder of Markdown articles; default: the bundled ``knowledge/``."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Confidence below which the bot suggests nothing; default: the matcher's calibrated one."""
    max_suggestions: int = Field(default=3, ge=1, le=5)


class RolesSection(_Section):
    """``[roles]``: who may act on tickets, as ``"platform:user_id"`` keys.

    Adapters add the ids listed in their own sections (``slack.technicians`` …).
    """

    technicians: list[str] = Field(default_factory=list)
    team_leads: list[str] = Field(default_factory=list)

    @field_validator("technicians", "team_leads")
    @classmethod
    def _keys(cls, values: list[str]) -> list[str]:
        for value in values:
            if ":" not in value:
                raise ValueError(f"{value!r} must look like 'platform:user_id', e.g. 'slack:U024BE7LH'")
        return values


class OutboxSection(_Section):
    """``[outbox]``: delivery of notifications, with retries and exponential backoff."""

    max_attempts: int = Field(default=10, ge=1)
    base_delay_seconds: float = Field(default=2.0, gt=0)
    max_delay_seconds: float = Field(default=900.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)
    """How long a dispatcher owns an entry it is sending before another may retry it."""
    poll_seconds: float = Field(default=2.0, gt=0)


def _check_keys(values: list[str], example: str) -> list[str]:
    for value in values:
        platform, _, ident = value.partition(":")
        if not platform or not ident:
            raise ValueError(f"{value!r} must look like 'platform:id', e.g. {example!r}")
    return values


class TeamSection(_Section):
    """People and places of one support level, one category or the team leads.

    ``technicians`` are ``"platform:user_id"`` keys (they get the technician role);
    ``places`` are ``"platform:chat_id"`` where the team sees ticket cards and reminders.
    """

    technicians: list[str] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)

    @field_validator("technicians")
    @classmethod
    def _technician_keys(cls, values: list[str]) -> list[str]:
        return _check_keys(values, "slack:U024BE7LH")

    @field_validator("places")
    @classmethod
    def _place_keys(cls, values: list[str]) -> list[str]:
        return _check_keys(values, "slack:C0123456")


class SlaSection(_Section):
    """``[sla]``: working time, priorities and targets, scheduled reminders, levels and routing.

    Every duration counts working time on the business calendar (``[sla.calendar]``).
    ``levels`` maps ``L1``/``L2``/``L3`` to their technicians and places (L1 defaults to
    the adapters' technician places); ``categories`` maps ``helpline``/``helpdesk`` the
    same way; ``team_leads`` receive complaints and breach notices.
    """

    calendar: CalendarConfig = CalendarConfig()
    priority: PriorityConfig = PriorityConfig()
    unclaimed_reminder_minutes: int = Field(default=30, ge=1)
    """Working minutes after which an unclaimed ticket is recalled to its technicians' places."""
    warning_fraction: float = Field(default=0.75, gt=0.0, lt=1.0)
    """Share of a target after which the assignee (or the technicians) are warned."""
    waiting_reminder_days: list[int] = Field(default_factory=lambda: [2, 5])
    """Working days waiting on the requester after which they are reminded."""
    waiting_close_days: int = Field(default=7, ge=1)
    """Working days without an answer after which a waiting ticket closes."""
    resolved_close_days: int = Field(default=7, ge=1)
    """Working days without reaction after which a resolved ticket closes."""
    visit_minutes: int = Field(default=60, ge=0)
    """Expected length of an on-site visit: it must fit in the working hours."""
    poll_seconds: float = Field(default=60.0, gt=0)
    """How often the scheduler looks for due actions."""
    claim_seconds: float = Field(default=300.0, gt=0)
    """How long a process owns a due action it is running before another may retry it."""
    team_leads: TeamSection = TeamSection()
    levels: dict[Literal["L1", "L2", "L3"], TeamSection] = Field(default_factory=dict)
    categories: dict[Literal["helpline", "helpdesk"], TeamSection] = Field(default_factory=dict)

    @field_validator("waiting_reminder_days")
    @classmethod
    def _positive_days(cls, values: list[int]) -> list[int]:
        if any(day < 1 for day in values):
            raise ValueError("reminder days must be at least 1 working day")
        return sorted(set(values))

    @model_validator(mode="after")
    def _reminders_before_close(self) -> SlaSection:
        late = [day for day in self.waiting_reminder_days if day >= self.waiting_close_days]
        if late:
            raise ValueError(
                f"waiting_reminder_days {late} must come before waiting_close_days ({self.waiting_close_days})"
            )
        return self


class IncidentsSection(_Section):
    """``[incidents]``: duplicate reports and major incidents.

    A new report that resembles a ticket opened less than ``duplicate_hours`` ago and still
    open is offered as "Same problem as #N? Follow it"; ``major_reports`` similar reports
    from different people within ``major_minutes`` flag a major incident to the technicians.
    """

    duplicate_hours: float = Field(default=4.0, ge=0.0)
    """How far back open tickets are offered to follow (0 turns the offer off)."""
    similarity: float = Field(default=0.5, gt=0.0, le=1.0)
    """How alike two reports must be (share of their meaningful words) to be the same problem."""
    major_reports: int = Field(default=5, ge=2)
    """Reports from different people that make a major incident (K)."""
    major_minutes: int = Field(default=30, ge=1)
    """Within how many minutes those reports must arrive (T)."""


class Config(_Section):
    """The whole configuration. ``adapters`` holds the raw adapter sections."""

    bot: BotSection = BotSection()
    database: DatabaseSection = DatabaseSection()
    knowledge: KnowledgeSection = KnowledgeSection()
    roles: RolesSection = RolesSection()
    outbox: OutboxSection = OutboxSection()
    sla: SlaSection = SlaSection()
    privacy: PrivacySection = PrivacySection()
    incidents: IncidentsSection = IncidentsSection()
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: Path | None = None
    """The file this configuration was read from (``None`` for the embedded default)."""


_CORE_SECTIONS = {"bot", "database", "knowledge", "roles", "outbox", "sla", "incidents", "privacy"}


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        lines.append(f"  - {where}: {item['msg']}")
    return "\n".join(lines)


def parse_config(
    data: dict[str, Any],
    *,
    adapter_names: set[str] | None = None,
    source: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Validate a parsed TOML document; raise one :class:`ConfigError` listing every problem.

    ``adapter_names`` are the sections adapters own; any other unknown section is an error
    (a typo such as ``[databse]`` must not be silently ignored).
    """
    env = os.environ if environ is None else environ
    core = {key: value for key, value in data.items() if key in _CORE_SECTIONS}
    adapters = {key: value for key, value in data.items() if key not in _CORE_SECTIONS}
    where = f" in {source}" if source else ""
    unknown = sorted(set(adapters) - (adapter_names or set(adapters)))
    if unknown:
        raise ConfigError(
            detail=f"unknown section(s) {', '.join('[' + u + ']' for u in unknown)}{where}; "
            f"known: {', '.join(sorted(_CORE_SECTIONS | (adapter_names or set())))}"
        )
    for name, section in adapters.items():
        if not isinstance(section, dict):
            raise ConfigError(detail=f"[{name}] must be a table{where}")
    if env.get("HELPDESK_DATABASE_URL"):
        core.setdefault("database", {})
        core["database"] = {**core["database"], "url": env["HELPDESK_DATABASE_URL"]}
    try:
        return Config(**core, adapters=adapters, source=source)
    except ValidationError as error:
        raise ConfigError(detail=f"{len(error.errors())} problem(s){where}:\n{_format_errors(error)}") from None


def load_config(
    path: Path | None,
    *,
    adapter_names: set[str] | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read ``path`` (TOML); ``None`` gives the embedded default configuration."""
    if path is None:
        return parse_config({}, adapter_names=adapter_names, environ=environ)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(detail=f"cannot read {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(detail=f"{path} is not valid TOML: {error}") from None
    return parse_config(data, adapter_names=adapter_names, source=path, environ=environ)


def adapter_section(config: Config, name: str, model: type[BaseModel]) -> BaseModel:
    """Validate the ``[name]`` section with the adapter's own model (one readable error)."""
    try:
        return model(**config.adapters.get(name, {}))
    except ValidationError as error:
        where = f" in {config.source}" if config.source else ""
        raise ConfigError(
            detail=f"[{name}] has {len(error.errors())} problem(s){where}:\n{_format_errors(error)}"
        ) from None
