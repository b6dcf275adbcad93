"""One registry of slash commands: what runs them, who sees them, how each platform writes them.

Built-in commands and feature commands register the same way
(:meth:`bot.core.HelpdeskCore.register_command`), with an audience, a usage and a one-line
summary (msgids, translated when shown). The registry feeds ``/help``, the platforms' command
menus (Telegram ``setMyCommands``: :meth:`CommandRegistry.menu`) and the way a command is written
per platform: Slack has a single slash command, so there every command is a subcommand
(``/helpdesk mytickets``), in help, in usage errors and in every direct reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.i18n import Translator
from bot.port import Audience as Audience  # defined with the port; re-exported for the registry's users

COMMAND_PREFIXES: dict[str, str] = {"slack": "/helpdesk "}
"""How a platform starts a command, when it is not ``/``: Slack has one slash command, ``/helpdesk``."""


@dataclass(frozen=True)
class Command:
    """One slash command.

    ``usage`` (a msgid, ``N text``) is what follows the name; ``summary`` (a msgid) says what it does
    in ``/help`` and in menus. A command without a summary runs but is listed nowhere.
    """

    name: str
    handler: Callable[..., object]
    audience: Audience = "everyone"
    usage: str = ""
    summary: str = ""


def command_text(platform: str, name: str, args: str = "") -> str:
    """``/name args`` as ``platform`` writes it (``/helpdesk name args`` in Slack)."""
    prefix = COMMAND_PREFIXES.get(platform, "/")
    return f"{prefix}{name}{' ' + args if args else ''}"


class CommandRegistry:
    """The commands of the bot, in registration order."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> None:
        """Register ``command`` (a later registration of the same name replaces it)."""
        self._commands[command.name.lower()] = command

    def get(self, name: str) -> Command | None:
        """The command called ``name``, if any."""
        return self._commands.get(name.lower())

    @property
    def names(self) -> tuple[str, ...]:
        """Every command name."""
        return tuple(self._commands)

    def listed(self, audiences: Iterable[Audience]) -> list[Command]:
        """The commands with a summary for any of ``audiences``, in registration order."""
        wanted = set(audiences)
        return [c for c in self._commands.values() if c.summary and c.audience in wanted]

    def help_line(self, command: Command, t: Translator, platform: str) -> str:
        """``/ticket N — status and history of ticket N`` in ``t``'s language, written for ``platform``."""
        usage = t(command.usage) if command.usage else ""
        return f"{command_text(platform, command.name, usage)} — {t(command.summary)}"

    def menu(self, audiences: Iterable[Audience], t: Translator) -> list[tuple[str, str]]:
        """``(name, description)`` pairs for a platform's command menu, in ``t``'s language."""
        entries = []
        for command in self.listed(audiences):
            summary = t(command.summary)
            usage = t(command.usage) if command.usage else ""
            text = summary[:1].upper() + summary[1:] + (f" — /{command.name} {usage}" if usage else "")
            entries.append((command.name, text[:256]))
        return entries

    def for_platform(self, platform: str, text: str) -> str:
        """``text`` with every ``/command`` of this registry written as ``platform`` writes it."""
        prefix = COMMAND_PREFIXES.get(platform)
        if prefix is None or not self._commands:
            return text
        names = "|".join(sorted((re.escape(n) for n in self._commands), key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w/:.\-])/({names})\b(?!/)")
        return pattern.sub(lambda m: f"{prefix}{m.group(1)}", text)
