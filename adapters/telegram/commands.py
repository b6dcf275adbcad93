"""The command menus registered with ``setMyCommands``, per language, from the core's command registry.

Telegram shows these in the client's "/" menu, in the user's app language (``language_code``),
falling back to the default list (French, the service desks' first language). Requesters' commands
are registered for all private chats (``BotCommandScopeAllPrivateChats``); the technicians' commands
(theirs, the team leads' and everyone's) only for the technicians' chat (``BotCommandScopeChat``).
Every command a feature registers with a summary is in the menus: none can be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable

from telegram import BotCommand

from bot.port import Audience

DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en", "nl")

CommandMenu = Callable[[Audience, str], list[tuple[str, str]]]
"""``(audience, language) → [(name, description)]``: :meth:`bot.core.HelpdeskCore.command_menu`."""


def menu_commands(menu: CommandMenu, audience: Audience, language: str) -> list[BotCommand]:
    """The menu of ``audience`` in ``language`` as Bot API commands (names and descriptions within its limits)."""
    return [BotCommand(name[:32], description[:256] or name) for name, description in menu(audience, language)]
