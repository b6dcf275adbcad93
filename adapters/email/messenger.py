"""Mail out: the outbox's :class:`~bot.port.Messenger` for requesters who write by mail.

Every update of a mail ticket leaves as one mail to the requester, in their language:

* subject ``[#1042] title`` so that any reply finds its ticket, even from another client;
* threaded: ``In-Reply-To`` the requester's latest mail, ``References`` their first mail, the
  acknowledgement and that latest mail, so mail clients show one conversation per ticket;
* ``Auto-Submitted: auto-replied`` (RFC 3834) and ``X-Auto-Response-Suppress: All``, so that
  out-of-office robots do not answer the bot — and the bot never answers them either;
* the ``Message-ID`` is derived from the outbox entry, so a retried send carries the same id
  and mail clients show it once;
* plain text, with an HTML alternative whose every character from the core is escaped;
* never to an address that bounced (until its owner writes again): the send is refused for good,
  and the outbox tells the technicians, with the requester's phone number.

Buttons become instructions to reply with a keyword (``SOLVED``, ``STILL BROKEN``), and the
acknowledgement adds the intake's questions and the knowledge-base suggestions.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from bot.port import DeliveryError, Notification, OutgoingMessage, Place, SentMessage

from .config import EmailConfig
from .invitations import VisitInvite, invitation
from .texts import text

_EXAMPLE_DATE = "2026-12-03 10:00"

logger = logging.getLogger(__name__)

PLATFORM = "email"


@dataclass(frozen=True)
class MailThread:
    """What the messenger needs to know about a ticket to write its mail."""

    number: int
    title: str
    language: str
    references: tuple[str, ...] = ()
    """Message-IDs of the ticket's conversation, oldest first (without brackets)."""
    in_reply_to: str | None = None
    """The requester's latest mail on the ticket."""
    extra_sections: tuple[str, ...] = ()
    """Paragraphs added to the acknowledgement (questions, knowledge-base suggestions)."""


ThreadLookup = Callable[[int, str, bool], MailThread | None]
"""``lookup(ticket_number, address, acknowledgement)`` → the ticket's mail thread."""


def _clean_header(value: str, limit: int = 200) -> str:
    flat = " ".join(value.replace("\r", " ").replace("\n", " ").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _instructions(message: OutgoingMessage, language: str) -> list[str]:
    """Buttons as reply keywords: only those a requester can use by mail."""
    lines = []
    for button in message.buttons:
        kind = button.value.partition(":")[0]
        if kind == "confirm":
            lines.append(text("reply_solved", language))
        elif kind == "stillbroken":
            lines.append(text("reply_still_broken", language))
        elif kind == "sat" and text("reply_score", language) not in lines:
            lines.append(text("reply_score", language))
        elif button.value.startswith("visit:ok:"):
            lines.append(text("reply_visit", language, example=_EXAMPLE_DATE))
    return lines


class SmtpMessenger:
    """Sends outbox entries for ``email`` places through SMTP."""

    platform = PLATFORM

    def __init__(
        self,
        config: EmailConfig,
        lookup: ThreadLookup,
        default_language: str,
        bounced: Callable[[str], str | None] = lambda address: None,
        calendar: Callable[[int, str], VisitInvite | None] = lambda number, address: None,
        calendar_sent: Callable[[str, VisitInvite], None] = lambda address, invite: None,
    ) -> None:
        self._config = config
        self._lookup = lookup
        self._default_language = default_language
        self._bounced = bounced
        self._calendar = calendar
        self._calendar_sent = calendar_sent

    # -- the Messenger protocol -------------------------------------------------------------

    def send(self, notification: Notification) -> SentMessage:
        """Write and send the mail for ``notification``; its Message-ID is the returned message id."""
        address = notification.place.chat_id
        since = self._bounced(address)
        if since is not None:
            # Refused for good: the outbox then tells the technicians, who phone the requester.
            raise DeliveryError(f"{address} bounced on {since[:16]}; no mail until they write again", permanent=True)
        thread = None
        if notification.ticket_number is not None:
            thread = self._lookup(notification.ticket_number, address, notification.purpose == "confirmation")
        if notification.id > 0:
            message_id = f"helpdesk.{notification.id}.{notification.ticket_number or 0}@{self._config.from_domain}"
        else:
            message_id = make_msgid("helpdesk", self._config.from_domain).strip("<>")
        mail = self.compose(notification.message, address, thread, message_id, notification.place.thread_id)
        invite = self._calendar(notification.ticket_number, address) if notification.ticket_number else None
        if invite is not None:
            self.attach_invitation(mail, invite, address, thread.language if thread else self._default_language)
        self.deliver(mail)
        if invite is not None:
            self._calendar_sent(address, invite)
        return SentMessage(Place(PLATFORM, address, notification.place.thread_id), message_id)

    # -- composing --------------------------------------------------------------------------

    def compose(
        self,
        message: OutgoingMessage,
        address: str,
        thread: MailThread | None,
        message_id: str,
        reply_to_id: str | None = None,
        language: str | None = None,
    ) -> EmailMessage:
        """The mail for ``message`` to ``address`` (threaded when ``thread`` is known)."""
        language = thread.language if thread is not None else (language or self._default_language)
        paragraphs = [message.text.strip()]
        if message.card is not None and thread is None:
            separator = message.card.separator
            paragraphs.append("\n".join(f"{label}{separator}{value}" for label, value in message.card.fields))
        if thread is not None:
            paragraphs += [section for section in thread.extra_sections if section]
        instructions = _instructions(message, language)
        if instructions:
            paragraphs.append("\n".join(instructions))
        if thread is not None:
            paragraphs.append(text("reply_hint", language, number=thread.number))
        body = "\n\n".join(p for p in paragraphs if p)
        mail = EmailMessage()
        mail["From"] = Address(self._config.from_name, addr_spec=self._config.from_address)
        mail["To"] = address
        if thread is not None:
            subject = f"[#{thread.number}] {thread.title}"
        else:
            subject = message.text.strip().splitlines()[0] if message.text.strip() else self._config.from_name
        mail["Subject"] = _clean_header(subject)
        mail["Message-ID"] = f"<{message_id}>"
        mail["Date"] = format_datetime(datetime.now(UTC))
        parent = (thread.in_reply_to if thread is not None else None) or reply_to_id
        references = list(thread.references) if thread is not None else []
        if parent and parent not in references:
            references.append(parent)
        if parent:
            mail["In-Reply-To"] = f"<{parent}>"
        if references:
            mail["References"] = " ".join(f"<{ref}>" for ref in references[-10:])
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(body)
        html_body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
        mail.add_alternative(f'<html lang="{html.escape(language)}"><body>{html_body}</body></html>', subtype="html")
        # After the content: set_content() and add_alternative() drop the Content-* headers set before.
        mail["Content-Language"] = language
        return mail

    def attach_invitation(self, mail: EmailMessage, invite: VisitInvite, address: str, language: str) -> None:
        """Add the iTIP REQUEST or CANCEL of ``invite``: inline (what calendar clients act on: Accept/Decline,
        or removing the entry) and as ``invite.ics``."""
        summary = text("visit_summary", language, number=invite.ticket_number, title=invite.title)
        data = invitation(invite, summary, self._config.from_address, self._config.from_name, address)
        inline = EmailMessage()
        inline.set_content(data, maintype="text", subtype="calendar", params={"method": invite.method}, cte="base64")
        del inline["MIME-Version"]
        mail.attach(inline)  # a third alternative of the text: what calendar clients show with Accept / Decline
        mail.add_attachment(data, maintype="application", subtype="ics", filename="invite.ics")
        # add_attachment() moved the Content-* headers to the alternative part: the language is the mail's.
        del mail["Content-Language"]
        mail["Content-Language"] = language

    # -- sending ----------------------------------------------------------------------------

    def deliver(self, mail: EmailMessage) -> None:
        """Hand ``mail`` to the SMTP server; :class:`DeliveryError` (permanent for 5xx refusals) on failure."""
        config = self._config
        try:
            if config.smtp_security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    config.smtp_host,
                    config.smtp_port,
                    timeout=config.timeout_seconds,
                    context=ssl.create_default_context(),
                )
            else:
                client = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_seconds)
            with client:
                if config.smtp_security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if config.smtp_user:
                    client.login(config.smtp_user, config.smtp_password_value)
                client.send_message(mail, from_addr=config.from_address)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from None
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600 and error.smtp_code not in (552,)
            raise DeliveryError(f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=permanent) from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP server unreachable: {type(error).__name__}: {error}") from None
