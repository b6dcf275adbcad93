"""Every domain error of the helpdesk core, in one place.

Each error carries a translatable message (an English msgid, see ``bot/locales``)
and its format arguments, so that an adapter, or the core itself, can turn it into
one polite sentence in the user's language. Anything that is *not* a
:class:`HelpdeskError` is unexpected: it is logged with ``logger.exception`` and
the user gets one generic apology (see :func:`bot.core.HelpdeskCore.handle`).
"""

from __future__ import annotations

from typing import Any


def N_(msgid: str) -> str:
    """Mark a class-level default msgid for extraction (``bot.i18n`` imports this module)."""
    return msgid


class HelpdeskError(Exception):
    """Base class: a problem the user can understand and act upon."""

    msgid: str = N_("Something is not right with that request.")

    def __init__(self, msgid: str | None = None, **params: Any) -> None:
        self.msgid = msgid or type(self).msgid
        self.params = params
        super().__init__(self.msgid.format(**params) if params else self.msgid)


class ConfigError(HelpdeskError):
    """The configuration file is missing, unreadable or invalid."""

    msgid = N_("The configuration is invalid: {detail}")


class KnowledgeBaseError(HelpdeskError):
    """An article or the knowledge folder cannot be read."""

    msgid = N_("The knowledge base cannot be read: {detail}")


class TicketNotFound(HelpdeskError):
    """No ticket with that number exists, or the user may not see it."""

    msgid = N_(
        "I cannot find ticket #{number}. Check the number (it is in the confirmation message) or type /mytickets."
    )


class PermissionDenied(HelpdeskError):
    """The user's role does not allow the action."""

    msgid = N_("Only technicians can do that. If you need help, just describe your problem.")


class IllegalTransition(HelpdeskError):
    """A lifecycle change that the ticket's current status does not allow."""

    msgid = N_("Ticket #{number} is {status}: it cannot be {action}.")


class TicketTaken(HelpdeskError):
    """Another technician holds the ticket: claiming it would take it from them.

    ``holder`` is their user key (not shown; the adapter's take-over button carries it,
    so that the take-over only happens if the ticket is still theirs).
    """

    msgid = N_("{ref} is already taken by {name} — use /assign to hand it over.")

    def __init__(self, *, number: int, name: str, holder: str) -> None:
        super().__init__(ref=f"#{number}", name=name)
        self.number = number
        self.holder = holder
        self.holder_name = name


class InvalidCommand(HelpdeskError):
    """A command with missing or malformed arguments."""

    msgid = N_("I did not understand that command. Usage: {usage}")


class UnknownCommand(HelpdeskError):
    """A slash command the bot does not have."""

    msgid = N_("I do not know the command /{name}. Type /help to see what I can do.")


class ValidationFailed(HelpdeskError):
    """A value typed during the intake is not acceptable (the text is kept)."""

    msgid = N_("That value is not valid.")
