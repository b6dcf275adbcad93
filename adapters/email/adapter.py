"""The running e-mail channel: the mailbox reader thread, the SMTP messenger and their glue."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import replace
from email import policy
from email.parser import BytesHeaderParser
from email.utils import make_msgid
from typing import TYPE_CHECKING

from bot.db.locks import ProcessLock
from bot.port import Messenger

from .config import EmailConfig
from .intake import PLATFORM, UNREACHABLE_KEY, UNREACHABLE_KIND, MailIntake, MailResult
from .invitations import VisitInvite
from .mailbox import MailboxReader, RoundReport
from .messenger import MailThread, SmtpMessenger
from .texts import text

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

logger = logging.getLogger(__name__)


class EmailAdapter:
    """The running e-mail channel: a mailbox reader thread and the SMTP messenger."""

    name = PLATFORM

    def __init__(self, app: HelpdeskApp, config: EmailConfig) -> None:
        self._app = app
        self.config = config
        self.smtp = SmtpMessenger(
            config,
            self.thread_of,
            app.config.bot.language,
            self.bounced_since,
            self.calendar_update,
            self.calendar_sent,
        )
        self.messenger: Messenger = self.smtp
        self.intake = MailIntake(app, config)
        lock = ProcessLock(
            app.engine, f"email-reader:{config.imap_user}@{config.imap_host}:{config.imap_port}/{config.mailbox}"
        )
        self.reader = MailboxReader(config, self.intake, self._send_replies, lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- PlatformAdapter --------------------------------------------------------------------

    def start(self) -> None:
        """Read the mailbox in a background thread (IDLE when offered, else every ``poll_seconds``)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.reader.run, args=(self._stop,), name="email-imap", daemon=True)
        self._thread.start()

    def connected(self) -> bool:
        """Whether the mailbox is read (``/readyz``): the reader runs and its last round reached the
        IMAP server (a refused login, an unreachable server or a dropped connection make it false
        until a round succeeds again)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and self.reader.reachable is not False

    def stop(self) -> None:
        """Stop reading and log out; idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.config.timeout_seconds)
        self.reader.close()

    def poll_once(self) -> RoundReport:
        """Process the mail waiting now, in the caller's thread (the CLI's one-shot mode and the tests)."""
        return self.reader.process_pending()

    # -- outgoing mail ----------------------------------------------------------------------

    def calendar_update(self, ticket_number: int, address: str) -> VisitInvite | None:
        """The invitation a mail of ticket ``ticket_number`` to ``address`` must carry, if any.

        The requester's calendar follows the ticket's visit: the latest technician proposal, accepted
        date or cancellation. Nothing when their calendar already shows that (the last invitation sent
        to them had the same method, time and place), when nothing was ever sent and the visit is
        cancelled, or while a date the requester proposed awaits the technician. An update keeps the
        first invitation's UID and increments ``SEQUENCE``.
        """
        with self._app.uow() as uow:
            ticket = uow.tickets.get(ticket_number)
            if ticket is None:
                return None
            visits = uow.visits.for_ticket(ticket_number)
            current = next(
                (
                    v
                    for v in reversed(visits)
                    if v.status in ("accepted", "cancelled")
                    or (v.status == "proposed" and v.proposed_by == "technician")
                ),
                None,
            )
            if current is None:
                return None
            sent = uow.messages.fact(PLATFORM, address, CALENDAR_KIND, str(ticket_number))
            invite = VisitInvite(
                visit_id=current.id,
                ticket_number=ticket.id,
                title=ticket.title,
                starts=current.at,
                minutes=self._app.config.sla.visit_minutes,
                place=current.place,
                technician=current.technician_name,
                created=current.created_at,
                method="CANCEL" if current.status == "cancelled" else "REQUEST",
                accepted=current.status == "accepted" and current.proposed_by == "requester",
            )
        if sent is None:
            return None if invite.method == "CANCEL" else replace(invite, entry_id=current.id)
        entry, sequence, state = _calendar_fact(sent)
        if state == _digest(invite.state):
            return None
        return replace(invite, entry_id=entry, sequence=sequence + 1)

    def calendar_sent(self, address: str, invite: VisitInvite) -> None:
        """Remember what the requester's calendar shows now (after the mail carrying ``invite`` left)."""
        value = f"{invite.entry_id or invite.visit_id}|{invite.sequence}|{_digest(invite.state)}"
        key = str(invite.ticket_number)
        with self._app.uow() as uow:
            uow.messages.forget_fact(PLATFORM, address, CALENDAR_KIND, key)
            uow.messages.remember_fact(PLATFORM, address, CALENDAR_KIND, key, value, self._app.clock.now())
            uow.commit()

    def bounced_since(self, address: str) -> str | None:
        """When mail to ``address`` bounced (ISO time), if it did and its owner has not written since."""
        with self._app.uow() as uow:
            return uow.messages.fact(PLATFORM, address, UNREACHABLE_KIND, UNREACHABLE_KEY)

    def thread_of(self, number: int, address: str, acknowledgement: bool) -> MailThread | None:
        """Subject, language and threading headers of ticket ``number`` for its requester ``address``."""
        with self._app.uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None:
                return None
            # The ticket's mails with this address, oldest first: the requester's and the bot's.
            thread = [ref for ref in uow.messages.in_chat(number, PLATFORM, address) if not ref.startswith("sha256:")]
            latest = thread[-1] if thread else None
            references = tuple(thread[:1] + thread[-9:]) if len(thread) > 10 else tuple(thread)
            language = ticket.requester_locale
            sections: tuple[str, ...] = ()
            if acknowledgement:
                sections = self._acknowledgement_sections(
                    language,
                    f"{ticket.title}. {ticket.description}",
                    missing=[
                        key
                        for key, value in (
                            ("q_error", ticket.error_message),
                            ("q_url", ticket.url),
                            ("q_started", ticket.started),
                            ("q_impact", ""),
                            ("q_phone", ticket.contact_phone),
                        )
                        if not value
                    ],
                )
            return MailThread(number, ticket.title, language, references, latest, sections)

    def _acknowledgement_sections(self, language: str, words: str, missing: list[str]) -> tuple[str, ...]:
        """The intake's questions to answer by reply, and the knowledge-base suggestions."""
        sections = []
        if missing:
            questions = [f"{i}. {text(key, language)}" for i, key in enumerate(missing, start=1)]
            sections.append("\n".join([text("questions_intro", language), *questions]))
        suggestions = self._app.knowledge.search(words, limit=self._app.config.knowledge.max_suggestions)
        if suggestions:
            lines = [text("kb_intro", language)]
            lines += [f"- {suggestion.article.title}" for suggestion in suggestions]
            body = str(getattr(suggestions[0].article, "body", "")).strip()
            if body:
                lines += ["", body if len(body) <= 1200 else body[:1199].rsplit("\n", 1)[0] + "\n…"]
            lines += ["", text("kb_solved", language)]
            sections.append("\n".join(lines))
        return tuple(sections)

    def _send_replies(self, raw: bytes, result: MailResult) -> None:
        """Send the core's direct answers to a mail as replies to it."""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        subject = str(headers.get("Subject", ""))
        for reply in result.replies:
            address = reply.place.chat_id
            thread = self.thread_of(result.ticket_number, address, False) if result.ticket_number else None
            message_id = make_msgid("helpdesk", self.config.from_domain).strip("<>")
            mail = self.smtp.compose(
                reply.message, address, thread, message_id, reply.place.thread_id, language=result.language
            )
            if thread is None and subject:
                del mail["Subject"]
                mail["Subject"] = ("Re: " + " ".join(subject.split()))[:200]
            self.smtp.deliver(mail)
            if result.ticket_number is not None:
                # Like the outbox's mail: a reply to this one finds its ticket by In-Reply-To.
                with self._app.uow() as uow:
                    uow.messages.add(result.ticket_number, PLATFORM, address, message_id, "thread")
                    uow.commit()


CALENDAR_KIND = "calendar"
"""Chat fact of the invitation last sent for a ticket: ``<entry visit id>|<sequence>|<state digest>``."""


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def _calendar_fact(value: str) -> tuple[int, int, str]:
    entry, _, rest = value.partition("|")
    sequence, _, state = rest.partition("|")
    return int(entry or 0), int(sequence or 0), state
