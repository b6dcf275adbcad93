"""The ``[email]`` section of ``bot.toml``, validated once at start-up.

Passwords may stay out of the file: ``HELPDESK_IMAP_PASSWORD`` and ``HELPDESK_SMTP_PASSWORD``
fill ``imap_password`` and ``smtp_password`` when the file leaves them out. They are held as
:class:`pydantic.SecretStr`, so they never show up in a ``repr``, a log line or an error.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config import secret_value, secrets_from_environment

ENV_VARS = {
    "imap_password": "HELPDESK_IMAP_PASSWORD",
    "smtp_password": "HELPDESK_SMTP_PASSWORD",
}

Security = Literal["ssl", "starttls", "none"]


class EmailConfig(BaseModel):
    """Settings of the e-mail adapter (``[email]`` in ``bot.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    imap_host: str = "localhost"
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Security = "ssl"
    """``ssl`` (implicit TLS, port 993), ``starttls`` (port 143, upgraded) or ``none`` (loopback only)."""
    imap_user: str = ""
    imap_password: SecretStr | None = None
    """Or ``HELPDESK_IMAP_PASSWORD``."""
    mailbox: str = "INBOX"
    """The folder where the desk's incoming mail arrives."""
    processed_folder: str = "Helpdesk/Processed"
    """Every mail moves here once its ticket change is committed (created when missing)."""
    failed_folder: str = "Helpdesk/Failed"
    """Mail the bot could not or would not turn into a ticket: refused senders, unreadable mail, errors."""
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Security = "starttls"
    smtp_user: str = ""
    smtp_password: SecretStr | None = None
    """Or ``HELPDESK_SMTP_PASSWORD``."""
    from_address: str = ""
    """The desk's address, e.g. ``servicedesk@province.be``: the sender of every mail the bot writes."""
    from_name: str = "Service desk"
    """The display name of the sender."""
    allowed_domains: list[str] = Field(default_factory=list)
    """Sender domains accepted (``["province.be"]``); empty accepts every domain."""
    poll_seconds: float = Field(default=60.0, gt=0)
    """How often the mailbox is checked when the server does not offer IMAP IDLE (and the IDLE renewal)."""
    max_message_bytes: int = Field(default=15_000_000, ge=10_000)
    """Larger mail is not turned into a ticket: the sender is told the limit."""
    max_mails_per_hour: int = Field(default=20, ge=1)
    """New tickets per sender and hour; mail beyond that moves to the failed folder unanswered."""
    timeout_seconds: float = Field(default=30.0, gt=0)
    """Network timeout of the IMAP and SMTP connections."""

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_environment(cls, data: Any) -> Any:
        return secrets_from_environment(data, ENV_VARS)

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip().lower().lstrip("@") for value in values]
        for value in cleaned:
            if not value or "." not in value or "@" in value or " " in value:
                raise ValueError(f"{value!r} is not a mail domain such as 'province.be'")
        return cleaned

    @model_validator(mode="after")
    def _required_when_enabled(self) -> EmailConfig:
        if not self.enabled:
            return self
        problems = []
        if not self.imap_user:
            problems.append("imap_user is required")
        if not self.imap_password_value:
            problems.append("imap_password (or HELPDESK_IMAP_PASSWORD) is required")
        if "@" not in self.from_address:
            problems.append("from_address must be the desk's mail address, e.g. 'servicedesk@province.be'")
        if self.processed_folder == self.mailbox or self.failed_folder == self.mailbox:
            problems.append("processed_folder and failed_folder must differ from mailbox")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def imap_password_value(self) -> str:
        """The plain IMAP password ('' when unset): only for handing to the IMAP client."""
        return secret_value(self.imap_password)

    @property
    def smtp_password_value(self) -> str:
        """The plain SMTP password ('' when unset): only for handing to the SMTP client."""
        return secret_value(self.smtp_password)

    @property
    def from_domain(self) -> str:
        """The domain part of ``from_address`` (used in the Message-IDs the bot writes)."""
        return self.from_address.rpartition("@")[2] or "localhost"
