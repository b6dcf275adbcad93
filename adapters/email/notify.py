"""``/notify email [address]`` and ``/notify chat``: chat requesters who want their updates by mail too.

Registered with the core by the e-mail adapter, so the command exists wherever the desk has a
mailbox. The choice is stored per user (``user_preferences.notify_email``); from then on every
update of the user's tickets — claim, questions, replies, resolution, auto-close, satisfaction —
is also written to the outbox for the ``email`` platform (see :mod:`bot.notifications`) and sent
in the ticket's mail thread, and a reply to those mails speaks for the chat account.
"""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import TYPE_CHECKING

from bot.errors import InvalidCommand
from bot.i18n import N_, Translator
from bot.port import OutgoingMessage, SlashCommand

from .config import EmailConfig

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

USAGE = "/notify email [address] | /notify chat"


def mail_address(value: str) -> str | None:
    """``value`` as a plain mail address in lower case, or ``None`` when it is not one."""
    candidate = value.strip().strip("<>").lower()
    if not candidate or " " in candidate or candidate.count("@") != 1:
        return None
    try:
        address = Address(addr_spec=candidate)
    except (HeaderParseError, ValueError, IndexError):
        return None
    if not address.username or "." not in address.domain:
        return None
    return address.addr_spec


class NotifyCommand:
    """The ``/notify`` command of one application."""

    def __init__(self, app: HelpdeskApp, config: EmailConfig) -> None:
        self._app = app
        self._config = config

    def register(self) -> None:
        """Add ``/notify`` to the core's commands (and to ``/help``)."""
        self._app.core.register_command(
            "notify",
            self,
            usage=N_("email [address] | chat"),
            summary=N_("your tickets' updates by mail too, or here only"),
        )

    def __call__(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """Store the user's choice and say what it means."""
        choice, _, rest = event.args.strip().partition(" ")
        choice = choice.lower()
        now = self._app.clock.now()
        if choice in ("chat", "off", "none"):
            with self._app.uow() as uow:
                uow.preferences.set_notify_email(event.user.key, None, now)
                uow.commit()
            return [OutgoingMessage(t("From now on the updates of your tickets are posted here only."))]
        if choice not in ("email", "mail", "e-mail"):
            with self._app.uow() as uow:
                current = uow.preferences.notify_email(event.user.key)
            if current:
                text = t("The updates of your tickets are also sent by mail to {address}.", address=current)
            else:
                text = t("The updates of your tickets are posted here only.")
            return [OutgoingMessage(text + "\n" + t("Usage: {usage}", usage=USAGE))]
        given = rest.strip() or (event.user.email or "")
        if not given:
            raise InvalidCommand(
                "Which address? Type /notify email followed by your address, e.g. /notify email {example}.",
                example=f"jean.dupont@{self._example_domain()}",
            )
        address = mail_address(given)
        if address is None:
            raise InvalidCommand(
                "“{value}” is not a mail address. Type /notify email followed by your address, e.g. "
                "/notify email {example}.",
                value=given[:80],
                example=f"jean.dupont@{self._example_domain()}",
            )
        domains = self._config.allowed_domains
        if domains and address.rpartition("@")[2] not in domains:
            raise InvalidCommand("The service desk only writes to addresses at {domains}.", domains=", ".join(domains))
        with self._app.uow() as uow:
            uow.preferences.set_notify_email(event.user.key, address, now)
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "From now on the updates of your tickets are also sent by mail to {address}. "
                    "You can answer those mails; /notify chat stops them.",
                    address=address,
                )
            )
        ]

    def _example_domain(self) -> str:
        return self._config.allowed_domains[0] if self._config.allowed_domains else self._config.from_domain
