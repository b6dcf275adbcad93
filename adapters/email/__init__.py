"""E-mail adapter: the desk's mailbox as one more channel (IMAP in, SMTP out).

``ADAPTER`` is what ``helpdesk-bot run`` discovers (see :mod:`bot.plugins`): it validates the
``[email]`` section with :class:`EmailConfig` and builds an :class:`EmailAdapter`, which reads the
mailbox in a background thread (:mod:`adapters.email.mailbox`) and registers the
:class:`~adapters.email.messenger.SmtpMessenger` with the outbox, so every update of a ticket
opened by mail reaches its requester by mail.

Requesters who write by mail are the core's users ``email:<address>``; technicians keep
working on those tickets in chat like on any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugins import AdapterSpec

from .config import EmailConfig

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

    from .adapter import EmailAdapter

__all__ = ["ADAPTER", "EmailConfig", "build_email_adapter"]

PLATFORM = "email"


def build_email_adapter(app: HelpdeskApp, config: EmailConfig) -> EmailAdapter:
    """Wire an e-mail adapter into a bootstrapped application (not started yet).

    The mail libraries (the ``email`` extra: ``pip install 'helpdesk-bot[email]'``) are imported
    here, so that the other adapters run without them.
    """
    from .adapter import EmailAdapter
    from .notify import NotifyCommand

    adapter = EmailAdapter(app, config)
    app.register_messenger(adapter.messenger)
    NotifyCommand(app, config).register()
    return adapter


ADAPTER = AdapterSpec(name=PLATFORM, config_model=EmailConfig, build=build_email_adapter)
