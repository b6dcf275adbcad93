"""The console adapter: the embedded default chat, and the test driver of the core.

``helpdesk-bot chat`` runs one person's conversation in a terminal; two terminals on
the same database are two people (a requester and a technician). Tests drive the same
:class:`ConsoleChat` as transcripts of (user says, bot replies).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.plugins import AdapterSpec


class ConsoleConfig(BaseModel):
    """``[console]``: the terminal chat."""

    model_config = ConfigDict(extra="forbid")

    triage_chat: str = "triage"
    """The pseudo-chat where technicians' terminals show new-ticket cards."""
    poll_seconds: float = 1.0
    """How often an interactive terminal looks for updates from other terminals."""


ADAPTER = AdapterSpec(name="console", config_model=ConsoleConfig, build=None)
"""The console is started by ``helpdesk-bot chat``, never by ``helpdesk-bot run``."""

__all__ = ["ADAPTER", "ConsoleChat", "ConsoleConfig", "ConsoleMessenger"]
