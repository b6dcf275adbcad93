"""Replies by mail: comments without their quoted history, answers to /wait, SOLVED and STILL BROKEN.

A real Dovecot in, a real SMTP server (aiosmtpd) out; the technician works in his console terminal.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest
from mail_servers import Mailbox, SmtpSink, make_mail

from adapters.console.chat import ConsoleChat
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp

JEAN = "jean.dupont@commune.example"


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def deliver_mail(app: HelpdeskApp) -> None:
    """Deliver the outbox entries for mail requesters."""
    app.dispatcher.dispatch_due(chat_ids=[JEAN])


def _reply_to(mail: EmailMessage, body: str, *, subject: str | None = None, references: bool = True) -> EmailMessage:
    """The requester's reply to one of the bot's mails, quoting it as mail clients do.

    ``references=False``: a client that sets ``In-Reply-To`` only.
    """
    quoted = "\n".join(f"> {line}" for line in _text(mail).splitlines())
    thread = " ".join(filter(None, [str(mail.get("References", "")), str(mail["Message-ID"])]))
    reply = make_mail(
        subject if subject is not None else f"Re: {mail['Subject']}",
        f"{body}\n\nLe mar. 1 déc. 2026 à 10:12, Service desk <{mail['From'].addresses[0].addr_spec}> a écrit :\n"
        f"{quoted}\n",
        message_id=f"{uuid.uuid4().hex}@commune.example",
        headers={"In-Reply-To": mail["Message-ID"], "Content-Language": "fr"},
    )
    if references:
        reply["References"] = thread
    return reply


class MailDesk:
    """The requester Jean by mail, the technician Bob in his terminal."""

    def __init__(self, app: HelpdeskApp, adapter: EmailAdapter, mailbox: Mailbox, smtp: SmtpSink, tech: ConsoleChat):
        self.app, self.adapter, self.mailbox, self.smtp, self.tech = app, adapter, mailbox, smtp, tech

    def send(self, mail: EmailMessage) -> dict[str, int]:
        self.mailbox.deliver(mail)
        report = self.adapter.poll_once()
        deliver_mail(self.app)
        return report.outcomes

    def next_mail(self) -> EmailMessage:
        """The next mail the bot sent (exactly one more than before)."""
        seen = getattr(self, "_seen", 0)
        mails = self.smtp.wait_for(seen + 1)
        self._seen = seen + 1
        return mails[seen]

    def no_new_mail(self) -> None:
        deliver_mail(self.app)
        assert len(self.smtp.messages) == getattr(self, "_seen", 0)

    def tech_says(self, line: str) -> list[str]:
        shown = self.tech.say(line)
        deliver_mail(self.app)
        return shown

    def status(self, number: int) -> str:
        with self.app.uow() as uow:
            ticket = uow.tickets.get(number)
            assert ticket is not None
            return ticket.status

    def history(self, number: int) -> list[tuple[str, str]]:
        with self.app.uow() as uow:
            return [(event.kind, event.text or "") for event in uow.events.for_ticket(number)]

    def open(self) -> tuple[int, EmailMessage]:
        outcomes = self.send(
            make_mail(
                "VPN : connexion impossible",
                "Bonjour,\n\nLe VPN refuse de se connecter depuis ce matin.\n\nCordialement,\nJean Dupont\n",
                message_id="first-mail@commune.example",
                headers={"Content-Language": "fr"},
            )
        )
        assert outcomes == {"ticket": 1}
        with self.app.uow() as uow:
            (ticket,) = uow.tickets.for_requester(f"email:{JEAN}")
            number = ticket.id
        self.tech.poll()
        return number, self.next_mail()


@pytest.fixture
def desk(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink, tech: ConsoleChat
) -> MailDesk:
    return MailDesk(app, email_adapter, mailbox, smtp_sink, tech)


def test_a_reply_with_the_number_becomes_a_comment_without_its_quoted_history(desk: MailDesk) -> None:
    number, ack = desk.open()
    reply = _reply_to(ack, "Le message exact est « Erreur 809 ».")
    assert desk.send(reply) == {"comment": 1}

    comments = [text for kind, text in desk.history(number) if kind == "comment"]
    assert comments == ["Le message exact est « Erreur 809 »."]
    # The technician sees it under the ticket's card; the mail left the inbox.
    assert any("Erreur 809" in line for line in desk.tech.poll())
    assert desk.mailbox.message_ids("INBOX") == []

    # The receipt answers the reply in its thread; answering the receipt is a comment too.
    receipt = desk.next_mail()
    assert receipt["In-Reply-To"] == reply["Message-ID"]
    assert f"#{number}" in _text(receipt)
    answer = _reply_to(receipt, "Et depuis hier soir.", subject="sans objet", references=False)
    assert desk.send(answer) == {"comment": 1}
    assert ("comment", "Et depuis hier soir.") in desk.history(number)


def test_a_reply_found_by_its_references_alone_is_a_comment(desk: MailDesk) -> None:
    number, ack = desk.open()
    # A mail client that rewrote the subject: only In-Reply-To/References name the bot's mail.
    reply = _reply_to(ack, "Cela concerne aussi ma collègue.", subject="Encore le VPN")
    assert desk.send(reply) == {"comment": 1}
    assert ("comment", "Cela concerne aussi ma collègue.") in desk.history(number)


def test_the_number_of_someone_elses_ticket_is_a_new_request_not_a_comment(desk: MailDesk) -> None:
    number, _ack = desk.open()
    intruder = make_mail(f"Re: [#{number}] VPN", "Mon VPN aussi.", sender="Eve <eve@ailleurs.example>")
    assert desk.send(intruder) == {"ticket": 1}
    assert all("Mon VPN aussi" not in text for _kind, text in desk.history(number))
    with desk.app.uow() as uow:
        (own,) = uow.tickets.for_requester("email:eve@ailleurs.example")
        assert own.id != number
        assert own.description == "Mon VPN aussi."
    # Eve's acknowledgement names her own ticket only.
    desk.app.dispatcher.dispatch_due(chat_ids=["eve@ailleurs.example"])
    ack = desk.next_mail()
    assert ack["To"] == "eve@ailleurs.example"
    assert ack["Subject"].startswith(f"[#{own.id}] ")
    assert "connexion impossible" not in _text(ack)


def test_an_answer_to_a_wait_question_resumes_the_ticket(desk: MailDesk) -> None:
    number, _ack = desk.open()
    desk.tech_says(f"/claim {number}")
    claim = desk.next_mail()
    assert claim["Subject"] == f"[#{number}] VPN : connexion impossible"
    desk.tech_says(f"/wait {number} Quelle version du client VPN utilisez-vous ?")
    assert desk.status(number) == "waiting"
    question = desk.next_mail()
    assert "Quelle version du client VPN" in _text(question)

    assert desk.send(_reply_to(question, "La version 4.2, je crois.")) == {"comment": 1}
    assert desk.status(number) == "in_progress"
    assert ("comment", "La version 4.2, je crois.") in desk.history(number)


@pytest.mark.parametrize(
    ("still_broken", "solved"),
    [("TOUJOURS EN PANNE", "RÉSOLU"), ("Still broken", "Solved"), ("nog steeds kapot", "Opgelost!")],
)
def test_still_broken_reopens_and_solved_closes(desk: MailDesk, still_broken: str, solved: str) -> None:
    number, _ack = desk.open()
    desk.tech_says(f"/claim {number}")
    desk.next_mail()
    desk.tech_says(f"/resolve {number} Certificat VPN renouvelé.")
    resolution = desk.next_mail()
    body = _text(resolution)
    assert "Certificat VPN renouvelé" in body
    assert "TOUJOURS EN PANNE" in body  # how to reopen, in the requester's language

    assert desk.send(_reply_to(resolution, f"{still_broken}\nToujours la même erreur ce matin.")) == {"reopened": 1}
    assert desk.status(number) == "in_progress"
    assert ("comment", "Toujours la même erreur ce matin.") in desk.history(number)

    desk.tech_says(f"/resolve {number} Client VPN réinstallé.")
    resolution = desk.next_mail()
    assert desk.send(_reply_to(resolution, solved)) == {"solved": 1}
    assert desk.status(number) == "closed"
