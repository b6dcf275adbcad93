"""The running e-mail channel: the mailbox reader thread, the SMTP messenger and their glue."""

from __future__ import annotations

import logging
import threading
from email import policy
from email.parser import BytesHeaderParser
from email.utils import make_msgid
from typing import TYPE_CHECKING

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
            config, self.thread_of, app.config.bot.language, self.bounced_since, self.visit_invite
        )
        self.messenger: Messenger = self.smtp
        self.intake = MailIntake(app, config)
        self.reader = MailboxReader(config, self.intake, self._send_replies)
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

    def visit_invite(self, visit_id: int) -> VisitInvite | None:
        """What the invitation of a proposed visit says (``None`` once it is no longer proposed)."""
        with self._app.uow() as uow:
            visit = uow.visits.get(visit_id)
            ticket = uow.tickets.get(visit.ticket_id) if visit is not None else None
            if visit is None or ticket is None or visit.status != "proposed":
                return None
            return VisitInvite(
                visit_id=visit.id,
                ticket_number=ticket.id,
                title=ticket.title,
                starts=visit.at,
                minutes=self._app.config.sla.visit_minutes,
                place=visit.place,
                technician=visit.technician_name,
                created=visit.created_at,
            )

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
