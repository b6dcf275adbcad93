"""What one incoming mail does to the helpdesk: open a ticket, add a comment, close, reopen — or nothing.

:meth:`MailIntake.process` decides, in this order:

1. a mail whose ``Message-ID`` is already recorded is a duplicate (the same mail appended
   twice, or fetched again after a crash): nothing happens;
2. a bounce marks the requester's address unreachable on their open tickets and tells the
   technicians; an auto-reply or bulk/list mail is dropped — none of them is ever answered;
3. a sender outside ``allowed_domains``, or over the hourly limit, is refused unanswered; a mail
   over ``max_message_bytes`` is answered with the limit, without a ticket;
4. a reply — ``In-Reply-To``/``References`` naming one of the ticket's mails, or the number of one
   of the sender's own tickets in the subject (``[#1042]``) — is a comment on that ticket (which
   resumes a ticket waiting for the requester); ``SOLVED`` closes it, ``STILL BROKEN`` reopens it,
   a score from 1 to 5 answers the satisfaction survey of a closed ticket, ``OK`` or another date
   answers a visit proposal — and a calendar's iTIP ``REPLY`` accepts or declines the visit;
5. anything else opens a new ticket: subject → title, body → description, attachments
   referenced, sender → requester ``email:ADDRESS`` and contact e-mail.

Requesters who write by mail are keyed ``email:<address in lower case>``. Ticket changes go
through the core (:meth:`~bot.bootstrap.HelpdeskApp.handle` with a :class:`~bot.port.SlashCommand`
or :class:`~bot.port.ButtonPress`, or :class:`~bot.tickets.TicketService` for a new ticket), so
the acknowledgement and every later update leave through the outbox like any other notification.
The mail's ``Message-ID`` is then recorded as a message of its ticket (``message_refs``), which
both recognises a duplicate and threads later replies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from bot.db.models import TicketEvent
from bot.errors import ValidationFailed
from bot.i18n import translator
from bot.port import Attachment, ButtonPress, OutgoingMessage, Place, Reply, SlashCommand, User
from bot.presenters import ticket_ref
from bot.rendering import later
from bot.tickets import TicketDraft
from bot.validation import clean_title

from .config import EmailConfig
from .invitations import proposed_date, read_answer
from .parse import InboundMail, stored_id
from .texts import MESSAGES, accepts, keyword, score_of, size_text, text

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

logger = logging.getLogger(__name__)

PLATFORM = "email"
Outcome = Literal[
    "ticket",
    "comment",
    "solved",
    "reopened",
    "feedback",
    "visit",
    "duplicate",
    "ignored",
    "bounce",
    "refused",
    "too_large",
]
INBOUND_PURPOSE = "mail_in"
"""``message_refs.purpose`` of a mail the requester sent (their own Message-IDs)."""
UNREACHABLE_KIND = "bounced"
UNREACHABLE_KEY = "address"
"""``chat_facts`` of an address that bounced: no mail goes to it until its owner writes again."""


@dataclass(frozen=True)
class MailResult:
    """What processing a mail did, and where the mail goes next."""

    outcome: Outcome
    ticket_number: int | None = None
    replies: tuple[Reply, ...] = ()
    """Direct answers of the core to send back to the sender (errors, confirmations)."""
    folder: Literal["processed", "failed"] = "processed"
    language: str | None = None
    """The language of the direct answers when they concern no ticket (else the ticket's)."""


def requester_of(mail: InboundMail) -> User:
    """The core's user for a mail sender: ``email:<address>``."""
    return User(PLATFORM, mail.sender, mail.sender_name or mail.sender, mail.language, email=mail.sender)


class MailIntake:
    """Turns parsed mail into core events for one application."""

    def __init__(self, app: HelpdeskApp, config: EmailConfig) -> None:
        self._app = app
        self._config = config

    def process(self, mail: InboundMail) -> MailResult:
        """Apply ``mail`` to the helpdesk (see the module documentation for the order of the checks)."""
        if not mail.sender:
            logger.warning("mail %s has no sender address: moved to the failed folder", mail.message_id)
            return MailResult("refused", folder="failed")
        known = self._known_ticket(mail.sender, [mail.message_id])
        if known is not None:
            logger.info("mail %s from %s is already recorded on #%s", mail.message_id, mail.sender, known)
            return MailResult("duplicate", known)
        if mail.kind == "bounce":
            return self._bounce(mail)
        if mail.kind != "person":
            logger.info("mail %s from %s ignored (%s: %s)", mail.message_id, mail.sender, mail.kind, mail.kind_reason)
            return MailResult("ignored")
        domain = mail.sender.rpartition("@")[2]
        if self._config.allowed_domains and domain not in self._config.allowed_domains:
            logger.warning("mail %s refused: sender domain %s is not allowed", mail.message_id, domain)
            return MailResult("refused", folder="failed")
        if mail.sender == self._config.from_address.lower():
            logger.warning("mail %s comes from the desk's own address: ignored", mail.message_id)
            return MailResult("ignored")
        user = requester_of(mail)
        language = self._app.core.language_of(user)
        if mail.size > self._config.max_message_bytes:
            limit = size_text(self._config.max_message_bytes, language)
            notice = text("too_large", language, size=size_text(mail.size, language), limit=limit)
            reply = Reply(self._place(mail), OutgoingMessage(notice))
            return MailResult("too_large", replies=(reply,), language=language)
        if mail.calendars:
            answered = self._calendar_answer(mail, user)
            if answered is not None:
                return answered
        number = self._ticket_for_reply(mail, user)
        if number is not None:
            return self._reply(mail, user, number)
        if self._over_rate_limit(user):
            logger.warning(
                "mail %s refused: %s sent more than %s mails this hour",
                mail.message_id,
                mail.sender,
                self._config.max_mails_per_hour,
            )
            return MailResult("refused", folder="failed")
        return self._open(mail, user, language)

    # -- new tickets ------------------------------------------------------------------------

    def _open(self, mail: InboundMail, user: User, language: str) -> MailResult:
        limit = self._app.config.bot.max_message_chars
        description = mail.body
        if len(description) > limit:
            note = text("truncated", language)
            description = description[: limit - len(note) - 2].rstrip() + "\n" + note
        title = mail.title or (description.splitlines()[0] if description else "") or text("no_subject", language)
        try:
            title = clean_title(title)
        except ValidationFailed:
            title = title[:120].rsplit(" ", 1)[0] + "…"
        draft = TicketDraft(
            title=title,
            description=description,
            category=self._category(f"{title}. {description}"),
            contact_name=mail.sender_name,
            contact_email=mail.sender,
            attachments=[
                Attachment(
                    "image" if part.mime_type.startswith("image/") else "file",
                    ref=f"mail:{mail.message_id}#{part.part}",
                    name=part.name,
                    mime_type=part.mime_type,
                )
                for part in mail.attachments
            ],
        )
        # One transaction: the mail's identity, the ticket, its notifications and its Message-ID. A crash
        # before the commit leaves nothing; after it, the mail fetched again is a duplicate.
        with self._app.uow.event() as uow:
            if not uow.processed.record(PLATFORM, self._identity(mail), self._app.clock.now()):
                logger.info("mail %s from %s is being or was processed elsewhere", mail.message_id, mail.sender)
                return MailResult("duplicate")
            ticket = self._app.tickets.open(user, self._place(mail), draft, language)
            uow.messages.add(ticket.id, PLATFORM, mail.sender, stored_id(mail.message_id), INBOUND_PURPOSE)
            uow.messages.forget_fact(PLATFORM, mail.sender, UNREACHABLE_KIND, UNREACHABLE_KEY)
            uow.commit()
            number = ticket.id
        self._app.dispatcher.wake()
        logger.info("mail %s from %s opened #%s", mail.message_id, mail.sender, number)
        return MailResult("ticket", number)

    def _category(self, words: str) -> str:
        ranked = self._app.knowledge.rank(words, limit=1)
        if ranked and float(ranked[0].score) > 0.05:
            category = getattr(ranked[0].article, "category", "helpdesk")
            return category if category in ("helpline", "helpdesk") else "helpdesk"
        return "helpdesk"

    def _over_rate_limit(self, user: User) -> bool:
        since = self._app.clock.now() - timedelta(hours=1)
        cap = self._config.max_mails_per_hour
        with self._app.uow() as uow:
            recent = uow.tickets.for_requester(user.key, open_only=False, limit=cap + 1)
            return sum(1 for ticket in recent if ticket.created_at >= since) >= cap

    # -- replies ----------------------------------------------------------------------------

    def _ticket_for_reply(self, mail: InboundMail, user: User) -> int | None:
        """The sender's own ticket this mail answers: by its threading headers, else the subject's number.

        A number naming someone else's ticket, or none at all, is not a reply: the mail is a new
        request like any other, so a number in a subject reveals nothing about another requester.
        """
        by_thread = self._known_ticket(mail.sender, list(mail.in_reply_to))
        if by_thread is not None:
            return by_thread
        number = mail.ticket_number
        if number is None:
            return None
        with self._app.uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None:
                return None
            if ticket.requester_key == user.key:
                return number
            return number if uow.preferences.notify_email(ticket.requester_key) == mail.sender else None

    def _speaker(self, mail: InboundMail, user: User, number: int) -> tuple[User, str | None]:
        """Who a reply on ticket ``number`` speaks for, and the ticket's status (``None``: not theirs).

        A chat requester who chose ``/notify email`` answers the copies by mail: their reply speaks
        for their chat account, which owns the ticket.
        """
        with self._app.uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None:
                return user, None
            if ticket.requester_key == user.key:
                # A mail that does not say its language (a calendar's answer) speaks the ticket's.
                return replace(user, locale=user.locale or ticket.requester_locale), ticket.status
            by_mail = self._known_ticket(mail.sender, list(mail.in_reply_to)) == number
            if by_mail or uow.preferences.notify_email(ticket.requester_key) == mail.sender:
                platform, _, user_id = ticket.requester_key.partition(":")
                owner = User(platform, user_id, ticket.requester_name, ticket.requester_locale, email=mail.sender)
                return owner, ticket.status
            return user, None

    def _reply(self, mail: InboundMail, user: User, number: int) -> MailResult:
        place = self._place(mail)
        user, status = self._speaker(mail, user, number)
        word = keyword(mail.body)
        outcome: Outcome = "comment"
        events: list[SlashCommand | ButtonPress] = []
        if word == "solved" and status == "resolved":
            events = [ButtonPress(user, place, f"confirm:{number}")]
            outcome = "solved"
        elif word == "solved" and status in ("new", "in_progress", "waiting"):
            # "Reply SOLVED if this fixed it": the knowledge-base suggestion solved it before any technician.
            events = [
                SlashCommand(user, place, "comment", f"{number} {mail.body}"),
                SlashCommand(user, place, "cancel", str(number)),
            ]
            outcome = "solved"
        elif word == "still_broken" and status == "resolved":
            events = [ButtonPress(user, place, f"stillbroken:{number}")]
            rest = mail.body.split("\n", 1)[1].strip() if "\n" in mail.body else ""
            if rest:
                events.append(SlashCommand(user, place, "comment", f"{number} {rest}"))
            outcome = "reopened"
        elif (
            status in ("new", "in_progress", "waiting")
            and (visit_id := self._proposed_visit(number)) is not None
            and (accepts(mail.body) or proposed_date(mail.body) is not None)
        ):
            when = proposed_date(mail.body)
            if when is None:
                events = [ButtonPress(user, place, f"visit:ok:{visit_id}")]
            else:
                events = [SlashCommand(user, place, "visit", f"{number} {when[0]} {when[1]}")]
            outcome = "visit"
        elif status == "closed" and score_of(mail.body) is not None:
            score, comment = score_of(mail.body) or (0, "")
            events = [SlashCommand(user, place, "feedback", f"{number} {score} {comment}".strip())]
            outcome = "feedback"
        else:
            attachments = tuple(
                Attachment(
                    "image" if part.mime_type.startswith("image/") else "file",
                    ref=f"mail:{mail.message_id}#{part.part}",
                    name=part.name,
                    mime_type=part.mime_type,
                )
                for part in mail.attachments
            )
            events = [SlashCommand(user, place, "comment", f"{number} {mail.body}", attachments)]
        replies: list[Reply] = []
        for index, event in enumerate(events):
            # The mail's identity per event: fetched again after a crash, what was done is not done twice.
            event = replace(event, event_id=f"{self._identity(mail)}:{index}")
            answered = self._app.handle(event)
            if (
                index == 0
                and outcome in ("comment", "solved", "feedback", "visit")
                and not (isinstance(event, SlashCommand) and len(events) > 1)
            ):
                # The receipt ("Added to #12") or the polite error; closing and reopening are told by the outbox.
                replies += answered
        if status is not None:
            self._record(number, mail)
        logger.info("mail %s from %s on #%s: %s", mail.message_id, mail.sender, number, outcome)
        return MailResult(outcome, number, tuple(replies))

    # -- visits -----------------------------------------------------------------------------

    def _proposed_visit(self, number: int) -> int | None:
        """The visit a technician proposed on ticket ``number`` that awaits the requester's answer."""
        with self._app.uow() as uow:
            pending = [
                v for v in uow.visits.for_ticket(number) if v.status == "proposed" and v.proposed_by == "technician"
            ]
            return pending[-1].id if pending else None

    def _calendar_answer(self, mail: InboundMail, user: User) -> MailResult | None:
        """A calendar's iTIP REPLY to a visit invitation: accepted, or declined (another date, please)."""
        answer = next(
            (found for data in mail.calendars if (found := read_answer(data, self._config.from_domain))), None
        )
        if answer is None:
            return None
        with self._app.uow() as uow:
            visit = uow.visits.get(answer.visit_id)
            number = visit.ticket_id if visit is not None else None
            # The UID names the ticket's calendar entry (its first invitation); updates keep it, so the
            # answer is for the technician's proposal now pending, when there is one.
            pending = [
                v.id
                for v in (uow.visits.for_ticket(number) if number is not None else ())
                if v.status == "proposed" and v.proposed_by == "technician"
            ]
        visit_id = pending[-1] if pending else answer.visit_id
        if number is None or answer.attendee != mail.sender:
            logger.warning("calendar answer %s names an unknown visit or another attendee: ignored", mail.message_id)
            return MailResult("ignored")
        speaker, status = self._speaker(mail, user, number)
        if status is None:
            return MailResult("ignored")
        choice = "ok" if answer.accepted else "other"
        event = ButtonPress(speaker, self._place(mail), f"visit:{choice}:{visit_id}")
        replies = self._app.handle(replace(event, event_id=f"{self._identity(mail)}:0"))
        self._record(number, mail)
        logger.info("mail %s: calendar answer %s to visit %s", mail.message_id, choice, visit_id)
        return MailResult("visit", number, tuple(replies))

    # -- bounces ----------------------------------------------------------------------------

    def _bounce(self, mail: InboundMail) -> MailResult:
        """A delivery failure of the bot's own mail: mark the address unreachable and tell the technicians.

        Only a report quoting the Message-ID of a mail the bot really sent (recorded on its ticket)
        counts: the address is the one that mail went to, whatever else the report claims, so a
        forged report cannot silence someone else's address.
        """
        with self._app.uow() as uow:
            sent = next(
                (found for found in (uow.messages.owner(PLATFORM, i) for i in mail.bounced_message_ids) if found), None
            )
            if sent is None:
                logger.info("bounce %s quotes none of the desk's mails: ignored", mail.message_id)
                return MailResult("ignored")
            number, address = sent
            tickets = []
            found = uow.tickets.get(number)
            if found is not None:
                tickets.append(found)
            for ticket in uow.tickets.for_requester(f"{PLATFORM}:{address}"):
                if ticket not in tickets:
                    tickets.append(ticket)
            language = self._app.config.bot.language
            for ticket in tickets:
                # the history keeps the note in the desk's language (exports); each technicians' place reads it
                # in its own language when it is delivered
                notice = later(MESSAGES["bounce_note"], ref=ticket_ref(ticket.id), address=address)
                note = notice.render(translator(language))
                uow.events.add(
                    TicketEvent(
                        ticket_id=ticket.id,
                        at=self._app.clock.now(),
                        actor_key="system",
                        actor_name="helpdesk-bot",
                        kind="note",
                        text=note,
                    )
                )
                assert self._app.notifier is not None
                for tech_place in self._app.notifier.technician_places(ticket):
                    self._app.notifier.direct(uow, tech_place, [notice], ticket)
            now = self._app.clock.now()
            uow.messages.remember_fact(PLATFORM, address, UNREACHABLE_KIND, UNREACHABLE_KEY, now.isoformat(), now)
            if tickets:
                uow.messages.add(tickets[0].id, PLATFORM, mail.sender, stored_id(mail.message_id), INBOUND_PURPOSE)
            uow.commit()
        self._app.dispatcher.wake()
        logger.warning("bounce %s: %s unreachable (tickets %s)", mail.message_id, address, [t.id for t in tickets])
        return MailResult("bounce", tickets[0].id if tickets else None)

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _place(mail: InboundMail) -> Place:
        return Place(PLATFORM, mail.sender, mail.message_id)

    def _known_ticket(self, address: str, message_ids: list[str]) -> int | None:
        """The ticket one of ``message_ids`` belongs to, in the mail thread of ``address``."""
        with self._app.uow() as uow:
            for message_id in message_ids:
                ticket = uow.tickets.by_thread(PLATFORM, address, stored_id(message_id))
                if ticket is not None:
                    return ticket.id
        return None

    def _record(self, number: int, mail: InboundMail) -> None:
        with self._app.uow() as uow:
            uow.messages.add(number, PLATFORM, mail.sender, stored_id(mail.message_id), INBOUND_PURPOSE)
            uow.messages.forget_fact(PLATFORM, mail.sender, UNREACHABLE_KIND, UNREACHABLE_KEY)
            uow.commit()

    @staticmethod
    def _identity(mail: InboundMail) -> str:
        """The mail's identity in ``processed_events``."""
        return f"mail:{stored_id(mail.message_id)}"
