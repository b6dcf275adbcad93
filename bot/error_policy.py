"""The error policy, in one place: what a user is told when something goes wrong, and what is logged.

* A :class:`~bot.errors.HelpdeskError` (a domain error: unknown ticket, wrong role, bad usage …) is
  the user's to act upon: :func:`explain` turns it into one polite sentence in their language. It is
  not logged as a failure.
* Anything else is unexpected: :func:`log_unexpected` logs it with its traceback and the context
  of the event (its kind, who sent it, where, its platform identity), and the user gets
  :func:`apology`, never the exception's text.

The core applies it to every event (:meth:`bot.core.HelpdeskCore.process`), the application to a
pipeline that cannot run at all (:meth:`bot.bootstrap.HelpdeskApp.handle`, a database that is down),
and adapters to the work they do around the core (Slack's intake modal).
"""

from __future__ import annotations

import logging

from bot.errors import HelpdeskError
from bot.i18n import N_, Translator, language_from_locale, translator
from bot.port import Event, OutgoingMessage

logger = logging.getLogger(__name__)

APOLOGY = N_(
    "Sorry, something went wrong on my side. Nothing you typed is lost; please try again in a "
    "moment, or call the service desk if it is urgent."
)
"""What a user is told after an unexpected failure."""


def explain(error: HelpdeskError, t: Translator) -> str:
    """A domain error as one sentence in ``t``'s language (string arguments are msgids too)."""
    params = {k: (t(v) if isinstance(v, str) else v) for k, v in error.params.items()}
    return t(error.msgid, **params)


def explain_for_locale(error: HelpdeskError, locale: str | None) -> str:
    """:func:`explain` for an adapter that knows only the platform's locale hint (``"fr-BE"``)."""
    return explain(error, translator(language_from_locale(locale)))


def apology(t: Translator) -> OutgoingMessage:
    """The answer to an unexpected failure, for the sender only."""
    return OutgoingMessage(t(APOLOGY), ephemeral=True)


def describe(event: Event) -> str:
    """The context logged with an event's failure: ``SlashCommand from slack:U1 in slack:D1 (event …)``."""
    return (
        f"{type(event).__name__} from {event.user.key} in {event.place.platform}:{event.place.chat_id} "
        f"(event {event.event_id or 'without id'})"
    )


def log_unexpected(what: str, event: Event | None = None) -> None:
    """Log the exception being handled as unexpected, with ``what`` failed and the event's context."""
    if event is None:
        logger.exception("unexpected error: %s", what)
    else:
        logger.exception("unexpected error: %s on %s", what, describe(event))
