"""Typed configuration, read from ``bot.toml`` and checked once at start-up.

The core owns the sections below; every adapter owns its own section (``[slack]``,
``[telegram]``, ``[console]``) and validates it with its own pydantic model (see
:mod:`bot.plugins`). A bad file gives one readable :class:`~bot.errors.ConfigError`
listing every problem. No file at all means the embedded default: SQLite in the
working directory, the console chat and the bundled knowledge base.

Every option can also come from the environment, with one rule: **an environment variable wins over
the file, which wins over the default**. The variable of an option is ``HELPDESK_<SECTION>__<KEY>``
(``HELPDESK_DATABASE__URL``, ``HELPDESK_OUTBOX__MAX_ATTEMPTS``, ``HELPDESK_SLACK__MODE``, nested tables
with more ``__``: ``HELPDESK_SLA__CALENDAR__TIMEZONE``); lists and tables are written as JSON. The
core sections are read with pydantic-settings. Shorter names stay for the most common ones
(:data:`ENVIRONMENT_ALIASES`: ``HELPDESK_DATABASE_URL``, ``SLACK_BOT_TOKEN``…). Any of these variables
may instead be given as ``<NAME>_FILE``, the path of a file holding the value (container secrets,
systemd credentials); setting both is an error.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

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
    intake_reminder_minutes: int = Field(default=120, ge=0)
    """A requester who leaves an intake unanswered this long is reminded once, with the pending
    question repeated (0: never)."""
    intake_drop_minutes: int = Field(default=1440, ge=1)
    """After the reminder, an intake still unanswered this long is dropped (the requester is told)."""
    processed_events_hours: float = Field(default=72.0, gt=0)
    """How long the identity of a handled platform event is kept to recognise a second delivery
    (Slack retries within minutes; Telegram keeps undelivered updates for 24 hours)."""


class DatabaseSection(_Section):
    """``[database]``: where tickets live."""

    url: str = "sqlite:///helpdesk.db"
    """A SQLAlchemy URL: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``."""
    echo: bool = False
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long to wait for PostgreSQL to answer a new connection before saying it is unreachable."""

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        scheme = value.partition("://")[0].lower()
        if scheme in ("sqlite", "sqlite+pysqlite"):
            return value
        if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
            if importlib.util.find_spec("psycopg") is None:
                raise ValueError("PostgreSQL needs the psycopg driver: pip install 'helpdesk-bot[postgresql]'")
            return "postgresql+psycopg://" + value.partition("://")[2]
        if scheme.startswith(("postgresql+", "postgres+")):
            raise ValueError(
                f"the driver {scheme.partition('+')[2]!r} is not supported: "
                "write postgresql+psycopg://user@host/db (psycopg 3)"
            )
        raise ValueError(
            f"{scheme or value!r} databases are not supported: use sqlite:///path.db or postgresql+psycopg://user@host/db"
        )


class KnowledgeSection(_Section):
    """``[knowledge]``: the articles the bot suggests."""

    directory: Path | None = None
    """Folder of Markdown articles; default: the bundled ``knowledge/``."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Confidence below which the bot suggests nothing; default: the matcher's calibrated one."""
    max_suggestions: int = Field(default=3, ge=1, le=5)
    index_cache: Path | None = None
    """Folder where the built index is kept between starts, keyed by the content it was built from
    (:mod:`bot.knowledge.cache`); default: none, the index is built at every start."""


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


class OpsSection(_Section):
    """``[ops]``: the health, readiness and metrics listener, logs and shutdown."""

    host: str = "127.0.0.1"
    """Address of the ops listener (``0.0.0.0`` in a container, where the port is published)."""
    port: int | None = Field(default=None, ge=0, le=65535)
    """Port of ``/healthz``, ``/readyz`` and ``/metrics``; none: no listener (0: any free port)."""
    max_outbox_backlog: int = Field(default=500, ge=1)
    """``/readyz`` fails when this many notifications (or more) wait to be delivered."""
    max_outbox_due_seconds: float = Field(default=300.0, gt=0)
    """``/readyz`` fails when a notification has been due for this long."""
    shutdown_seconds: float = Field(default=10.0, ge=0)
    """On SIGTERM, how long in-flight deliveries may take to finish before the process exits."""
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object per log line (for a log collector)."""


class CoreSections(_Section):
    """The sections the core owns, declared once: :class:`Config` has them, and the environment
    (``HELPDESK_<SECTION>__<KEY>``) reads them through the same fields."""

    bot: BotSection = BotSection()
    database: DatabaseSection = DatabaseSection()
    knowledge: KnowledgeSection = KnowledgeSection()
    roles: RolesSection = RolesSection()
    outbox: OutboxSection = OutboxSection()
    sla: SlaSection = SlaSection()
    privacy: PrivacySection = PrivacySection()
    incidents: IncidentsSection = IncidentsSection()
    ops: OpsSection = OpsSection()


class Config(CoreSections):
    """The whole configuration. ``adapters`` holds the raw adapter sections."""

    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: Path | None = None
    """The file this configuration was read from (``None`` for the embedded default)."""


_CORE_SECTIONS = set(CoreSections.model_fields)
ENV_PREFIX = "HELPDESK_"
ENV_DELIMITER = "__"
ENVIRONMENT_ALIASES: dict[str, tuple[str, str]] = {
    "HELPDESK_DATABASE_URL": ("database", "url"),
    "SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "SLACK_APP_TOKEN": ("slack", "app_token"),
    "SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "TELEGRAM_BOT_TOKEN": ("telegram", "token"),
    "TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
}
"""Short variable names for common options: same rule (the environment wins), same ``_FILE`` form.
An adapter's alias applies when its section exists (from the file or a ``HELPDESK_<ADAPTER>__…``
variable): a token alone does not enable an adapter."""

_ENVIRONMENT: ContextVar[Mapping[str, str]] = ContextVar("helpdesk_config_environment")


def secrets_from_environment(data: Any, variables: Mapping[str, str]) -> Any:
    """An adapter section's raw values with each secret it leaves empty taken from its environment
    variable (``variables``: option → variable, such as ``{"bot_token": "SLACK_BOT_TOKEN"}``).

    For the adapters' ``model_validator(mode="before")``; anything but a mapping is returned as it is.
    """
    if not isinstance(data, dict):
        return data
    filled = dict(data)
    for name, variable in variables.items():
        if not filled.get(name) and os.environ.get(variable):
            filled[name] = os.environ[variable]
    return filled


def secret_value(secret: SecretStr | None) -> str:
    """The plain value of a secret option ('' when unset): only for handing to a client library."""
    return secret.get_secret_value() if secret is not None else ""


def read_secret_files(environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``environ`` with every ``<NAME>_FILE`` replaced by ``<NAME>`` = the file's content (trailing
    newline removed), for ``HELPDESK_…`` names and :data:`ENVIRONMENT_ALIASES`; plus the problems."""
    result = dict(environ)
    problems: list[str] = []
    for key, path in environ.items():
        name = key[: -len("_FILE")]
        if not key.endswith("_FILE") or not (name.startswith(ENV_PREFIX) or name in ENVIRONMENT_ALIASES):
            continue
        del result[key]
        if environ.get(name):
            problems.append(f"{name} and {key} are both set: keep one")
            continue
        try:
            result[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            problems.append(f"{key}: cannot read {path}: {error.strerror}")
    return result, problems


def apply_secret_files(environ: os._Environ[str] | dict[str, str] = os.environ) -> list[str]:
    """Set each ``<NAME>`` from its ``<NAME>_FILE`` in ``environ`` itself (for code that reads the
    environment directly, such as adapters' own password variables); returns the problems."""
    expanded, problems = read_secret_files(environ)
    for name, value in expanded.items():
        if name not in environ:
            environ[name] = value
    return problems


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping :func:`parse_config` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRONMENT.get(os.environ)
        return {key.lower(): value for key, value in environ.items() if value != ""}


class _CoreSettings(BaseSettings, CoreSections):
    """The core sections, from the file (init values) under the environment (higher priority)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER, case_sensitive=False, extra="forbid"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_MappingEnvSource(settings_cls), init_settings)


def _json_or_text(value: str) -> Any:
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _adapter_environment(environ: Mapping[str, str], names: set[str]) -> dict[str, dict[str, Any]]:
    """``HELPDESK_<ADAPTER>__<KEY>`` variables as adapter sections (lists and tables as JSON)."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or ENV_DELIMITER not in upper or value == "":
            continue
        section, _, option = upper[len(ENV_PREFIX) :].partition(ENV_DELIMITER)
        if section.lower() in names and option:
            sections.setdefault(section.lower(), {})[option.lower()] = _json_or_text(value)
    return sections


def _suggest(word: str, choices: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The section model a validation error's location points into (for "did you mean")."""
    model: Any = _CoreSettings
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or not fields or part not in fields:
            return None
        annotation = fields[part].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _error_lines(error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> list[str]:
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        where = prefix + ".".join(str(part) for part in loc)
        message = item["msg"]
        if item["type"] == "extra_forbidden" and loc:
            owner = model if model is not None and len(loc) == 1 else _model_at(loc)
            fields: dict[str, FieldInfo] = getattr(owner, "model_fields", {}) if owner is not None else {}
            message = f"unknown option{_suggest(str(loc[-1]), list(fields))}"
        lines.append(f"  - {where}: {message}")
    return lines


def _format_errors(error: ValidationError) -> str:
    return "\n".join(_error_lines(error))


def parse_config(
    data: dict[str, Any],
    *,
    adapter_names: set[str] | None = None,
    source: Path | None = None,
    environ: Mapping[str, str] | None = None,
    adapter_models: Mapping[str, type[BaseModel]] | None = None,
) -> Config:
    """Validate a parsed TOML document under the environment; raise one :class:`ConfigError` listing
    every problem: unknown sections (with "did you mean"), bad values in any section, unreadable
    ``_FILE`` variables.

    ``adapter_names`` are the sections adapters own; any other unknown section is an error (a typo
    such as ``[databse]`` must not be silently ignored). ``adapter_models`` validate those sections
    too, so that their problems are listed with the others. ``environ`` defaults to ``os.environ``.
    """
    env, problems = read_secret_files(os.environ if environ is None else environ)
    names = set(adapter_names or set()) | set(adapter_models or {})
    known = _CORE_SECTIONS | names
    core: dict[str, Any] = {}
    adapters: dict[str, dict[str, Any]] = {}
    for key, section in data.items():
        if key in _CORE_SECTIONS:
            core[key] = section
        elif adapter_names is not None and key not in names:
            problems.append(f"  - [{key}]: unknown section{_suggest(key, known)}; known: {', '.join(sorted(known))}")
        elif not isinstance(section, dict):
            problems.append(f"  - [{key}]: must be a table")
        else:
            adapters[key] = dict(section)
    problems = [p if p.startswith("  - ") else f"  - {p}" for p in problems]
    for name, values in _adapter_environment(env, names).items():
        adapters[name] = {**adapters.get(name, {}), **values}
    for variable, (section_name, option) in ENVIRONMENT_ALIASES.items():
        if not env.get(variable):
            continue
        if section_name in _CORE_SECTIONS:
            section = core.get(section_name)
            core[section_name] = {**(section if isinstance(section, dict) else {}), option: env[variable]}
        elif section_name in adapters:
            adapters[section_name][option] = env[variable]
    token = _ENVIRONMENT.set(env)
    settings: _CoreSettings | None = None
    try:
        settings = _CoreSettings(**core)
    except ValidationError as error:
        problems.extend(_error_lines(error))
    except SettingsError as error:
        problems.append(f"  - environment: {error}")
    finally:
        _ENVIRONMENT.reset(token)
    for name in sorted(set(adapters) & set(adapter_models or {})):
        model = (adapter_models or {})[name]  # only the adapters configured: their packages load lazily
        try:
            model(**adapters[name])
        except ValidationError as error:
            problems.extend(_error_lines(error, f"{name}.", model))
    where = f" in {source}" if source else ""
    if problems or settings is None:
        raise ConfigError(detail=f"{len(problems)} problem(s){where}:\n" + "\n".join(problems))
    sections = {name: getattr(settings, name) for name in _CORE_SECTIONS}
    knowledge = sections["knowledge"]
    if source is not None:
        relative = {
            name: source.parent / value
            for name in ("directory", "index_cache")
            if (value := getattr(knowledge, name)) is not None and not value.is_absolute()
        }
        if relative:
            sections["knowledge"] = knowledge.model_copy(update=relative)
    return Config(**sections, adapters=adapters, source=source)


def load_config(
    path: Path | None,
    *,
    adapter_names: set[str] | None = None,
    environ: Mapping[str, str] | None = None,
    adapter_models: Mapping[str, type[BaseModel]] | None = None,
) -> Config:
    """Read ``path`` (TOML); ``None`` gives the embedded default configuration (under the environment)."""
    if path is None:
        return parse_config({}, adapter_names=adapter_names, environ=environ, adapter_models=adapter_models)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(detail=f"cannot read {path}: {error.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(detail=f"{path} is not valid TOML: {error}") from None
    return parse_config(data, adapter_names=adapter_names, source=path, environ=environ, adapter_models=adapter_models)


def adapter_section(config: Config, name: str, model: type[BaseModel]) -> BaseModel:
    """Validate the ``[name]`` section with the adapter's own model (one readable error)."""
    try:
        return model(**config.adapters.get(name, {}))
    except ValidationError as error:
        where = f" in {config.source}" if config.source else ""
        raise ConfigError(
            detail=f"[{name}] has {len(error.errors())} problem(s){where}:\n{_format_errors(error)}"
        ) from None
