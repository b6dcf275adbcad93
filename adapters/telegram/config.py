"""The ``[telegram]`` section of ``bot.toml``.

Secrets never need to be in the file: ``TELEGRAM_BOT_TOKEN`` and
``TELEGRAM_WEBHOOK_SECRET`` fill ``token`` and ``webhook_secret`` when the file
leaves them out. Both are :class:`~pydantic.SecretStr`, so they never show in a
``repr``, a log line or a validation error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config import secrets_from_environment

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"

# Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - in X-Telegram-Bot-Api-Secret-Token.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TelegramConfig(BaseModel):
    """Everything the Telegram adapter needs; validated once at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    token: SecretStr | None = None
    """The bot token from @BotFather (or ``TELEGRAM_BOT_TOKEN``)."""
    mode: Literal["polling", "webhook"] = "polling"
    polling_timeout: int = Field(default=30, ge=0, le=50)
    """Seconds a getUpdates long poll may wait on Telegram's side."""
    webhook_url: str | None = None
    """Public HTTPS URL Telegram posts updates to (mode ``"webhook"``)."""
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "telegram"
    """Path the local webhook server listens on (``http://host:port/<path>``)."""
    webhook_secret: SecretStr | None = None
    """Checked against the ``X-Telegram-Bot-Api-Secret-Token`` header (or ``TELEGRAM_WEBHOOK_SECRET``)."""
    technicians_chat: int | None = None
    """The technicians' group id (negative); new-ticket cards are posted there."""
    technicians_language: Literal["fr", "en", "nl"] | None = None
    """The language of the cards and notices in the technicians' group (default: ``[bot] language``)."""
    technicians_forum: bool | None = None
    """Whether that group is a forum (one topic per ticket); ``None``: ask Telegram at start-up."""
    technicians: list[int] = Field(default_factory=list)
    """Telegram user ids of the technicians."""
    team_leads: list[int] = Field(default_factory=list)
    base_url: str | None = None
    """A self-hosted Bot API server or a test server, e.g. ``http://127.0.0.1:8081``."""
    storage_dir: Path | None = None
    """When set, photos and documents users send are also downloaded there."""
    request_timeout: float = Field(default=30.0, gt=0)
    """Seconds the outbox waits for Telegram to take one notification."""

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_environment(cls, data: Any) -> Any:
        return secrets_from_environment(data, {"token": TOKEN_ENV, "webhook_secret": WEBHOOK_SECRET_ENV})

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_RE.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters among A-Z, a-z, 0-9, '_' and '-'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TelegramConfig:
        if self.enabled and self.token is None:
            raise ValueError(f"telegram.token (or the {TOKEN_ENV} environment variable) is required")
        if self.mode == "webhook" and self.enabled and not self.webhook_url:
            raise ValueError("telegram.webhook_url is required in webhook mode")
        return self

    def bot_token(self) -> str:
        """The token, for the HTTP client only; raises when none is configured."""
        if self.token is None:
            raise ValueError(f"no Telegram token: set telegram.token or {TOKEN_ENV}")
        return self.token.get_secret_value()
