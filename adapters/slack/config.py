"""The ``[slack]`` section of ``bot.toml``, validated once at start-up.

Tokens may stay out of the file: ``SLACK_BOT_TOKEN``, ``SLACK_APP_TOKEN`` and
``SLACK_SIGNING_SECRET`` fill ``bot_token``, ``app_token`` and ``signing_secret`` when the
file leaves them out. They are held as :class:`pydantic.SecretStr`, so they never show up
in a ``repr``, a log line or a validation error.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config import secret_value, secrets_from_environment

ENV_VARS = {
    "bot_token": "SLACK_BOT_TOKEN",
    "app_token": "SLACK_APP_TOKEN",
    "signing_secret": "SLACK_SIGNING_SECRET",
}

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


class SlackConfig(BaseModel):
    """Settings of the Slack adapter (``[slack]`` in ``bot.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    mode: Literal["socket", "http"] = "socket"
    """``socket``: Socket Mode (app-level token, no public URL). ``http``: Events API on ``/slack/events``."""
    bot_token: SecretStr | None = None
    """``xoxb-…`` bot token (or ``SLACK_BOT_TOKEN``)."""
    app_token: SecretStr | None = None
    """``xapp-…`` app-level token with ``connections:write``, Socket Mode only (or ``SLACK_APP_TOKEN``)."""
    signing_secret: SecretStr | None = None
    """Signing secret from "Basic Information", HTTP mode only (or ``SLACK_SIGNING_SECRET``)."""
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=3000, ge=0, le=65535)
    """``0`` picks a free port (tests)."""
    command: str = "/helpdesk"
    """The slash command declared in the manifest."""
    triage_channel: str | None = None
    """Channel id (``C…``) where new-ticket cards are posted; invite the bot there."""
    technicians: list[str] = Field(default_factory=list)
    """Slack user ids (``U…``) of technicians."""
    team_leads: list[str] = Field(default_factory=list)
    """Slack user ids of team leads."""
    technician_usergroup: str | None = None
    """A user group id (``S…``) whose members are technicians too."""
    api_base_url: str | None = None
    """Web API base URL (a proxy or a local test server); default Slack's ``https://slack.com/api/``."""
    workers: int = Field(default=8, ge=1, le=64)
    """Threads that process events after Slack has been acknowledged (in each worker process, with
    ``queue_workers``)."""
    profile_cache_seconds: float = Field(default=600.0, ge=0)
    """How long a user's profile (name, locale, email, phone) is reused before asking users.info again."""
    queue_workers: int = Field(default=0, ge=0, le=32)
    """HTTP mode: ``0`` handles requests in the process that acknowledges them; ``N`` records them in
    the database (``inbound_events``) and acknowledges, and ``helpdesk-bot run`` starts ``N``
    ``helpdesk-bot slack-worker`` processes that handle them."""
    queue_lease_seconds: float = Field(default=60.0, gt=0)
    """How long a worker may hold a request before another worker takes it (a worker that died)."""
    queue_poll_seconds: float = Field(default=0.05, gt=0, le=10)
    """How long an idle worker waits before looking for new requests again."""
    queue_worker_nice: int = Field(default=10, ge=0, le=19)
    """Scheduling priority the workers lower themselves by (``nice``), so that on a busy machine the
    process acknowledging Slack gets the CPU first; ``0`` leaves it alone."""

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_environment(cls, data: Any) -> Any:
        return secrets_from_environment(data, ENV_VARS)

    @field_validator("technicians", "team_leads")
    @classmethod
    def _user_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _USER_ID.match(value):
                raise ValueError(f"{value!r} is not a Slack user id (like 'U024BE7LH': profile → ⋮ → Copy member ID)")
        return values

    @field_validator("triage_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_ID.match(value):
            raise ValueError(
                f"{value!r} is not a channel id (like 'C024BE91L': channel details → bottom of the About tab)"
            )
        return value

    @field_validator("technician_usergroup")
    @classmethod
    def _usergroup_id(cls, value: str | None) -> str | None:
        if value is not None and not _USERGROUP_ID.match(value):
            raise ValueError(f"{value!r} is not a user group id (like 'S0614TZR7')")
        return value

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError(f"{value!r} is not a slash command such as '/helpdesk'")
        return value

    @model_validator(mode="after")
    def _required_secrets(self) -> SlackConfig:
        if not self.enabled:
            return self
        problems = []
        bot = secret_value(self.bot_token)
        if not bot.startswith("xoxb-"):
            problems.append("bot_token (or SLACK_BOT_TOKEN) must be the bot token starting with 'xoxb-'")
        if self.mode == "socket":
            app = secret_value(self.app_token)
            if not app.startswith("xapp-"):
                problems.append("Socket Mode needs app_token (or SLACK_APP_TOKEN), an app-level token starting 'xapp-'")
        if self.mode == "http" and not secret_value(self.signing_secret):
            problems.append("HTTP mode needs signing_secret (or SLACK_SIGNING_SECRET)")
        if self.mode == "socket" and self.queue_workers:
            problems.append('queue_workers needs mode = "http" (Socket Mode handles requests in its own process)')
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def secret(self, name: Literal["bot_token", "app_token", "signing_secret"]) -> str:
        """The plain value of a secret ('' when unset): only for handing to the Slack SDK."""
        value: SecretStr | None = getattr(self, name)
        return secret_value(value)
