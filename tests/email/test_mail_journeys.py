"""Journeys of requesters who write to the desk's mailbox: real Dovecot in, real SMTP (aiosmtpd) out.

The bot reads the mailbox with IMAPClient and sends with smtplib, exactly as in production;
technicians work in their console terminal.
"""

from __future__ import annotations

from email.message import EmailMessage

from mail_servers import DESK, Mailbox, SmtpSink, make_mail

from adapters.console.chat import ConsoleChat
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _open_by_mail(
    app: HelpdeskApp, adapter: EmailAdapter, mailbox: Mailbox, smtp: SmtpSink, mail: EmailMessage
) -> tuple[int, EmailMessage]:
    mailbox.deliver(mail)
    report = adapter.poll_once()
    assert report.outcomes == {"ticket": 1}
    number = report.results[0].ticket_number
    assert number is not None
    deliver_mail(app)
    return number, smtp.wait_for(1)[0]


def deliver_mail(app: HelpdeskApp) -> None:
    """Deliver the outbox entries for mail requesters (technicians' terminals show theirs when they look)."""
    with app.uow() as uow:
        addresses = [t.origin_chat_id for t in uow.tickets.queue(limit=100) if t.origin_platform == "email"]
    app.dispatcher.dispatch_due(chat_ids=addresses)


def test_a_mail_opens_a_ticket_and_is_acknowledged_with_its_number(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink, tech: ConsoleChat
) -> None:
    original = make_mail(
        "VPN : connexion impossible",
        "Bonjour,\n\nLe VPN refuse de se connecter depuis ce matin, message « Connexion impossible ».\n\n"
        "Cordialement,\nJean Dupont\nService Population\n",
        message_id="first-mail@commune.example",
        headers={"Content-Language": "fr"},
    )
    number, ack = _open_by_mail(app, email_adapter, mailbox, smtp_sink, original)

    # The ticket: subject → title, body without the signature → description, sender → requester.
    with app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        assert ticket.title == "VPN : connexion impossible"
        assert "refuse de se connecter" in ticket.description
        assert "Service Population" not in ticket.description
        assert ticket.requester_key == "email:jean.dupont@commune.example"
        assert ticket.contact_email == "jean.dupont@commune.example"
        assert ticket.origin_platform == "email"
        assert ticket.requester_locale == "fr"

    # The acknowledgement: number in the subject, threaded on the original, RFC 3834, in French.
    assert ack["Subject"] == f"[#{number}] VPN : connexion impossible"
    assert ack["To"] == "jean.dupont@commune.example"
    assert DESK in ack["From"]
    assert ack["In-Reply-To"] == "<first-mail@commune.example>"
    assert "<first-mail@commune.example>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    body = _text(ack)
    assert f"#{number}" in body
    assert "répondez à ce mail" in body.lower()  # the intake's questions, to answer by reply
    assert "Un numéro de téléphone" in body
    assert "Le VPN ne se connecte pas" in body  # the knowledge-base suggestion
    assert "Répondez RÉSOLU" in body

    # Technicians see the new ticket's card in their terminal; the mail left the inbox after the commit.
    assert any("VPN : connexion impossible" in line for line in tech.poll())
    assert mailbox.message_ids("INBOX") == []
    assert mailbox.message_ids("Helpdesk.Processed") == ["first-mail@commune.example"]


def test_the_same_mail_appended_twice_makes_one_ticket(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    mail = make_mail("Imprimante bloquée", "L'imprimante du 2e étage affiche un bourrage papier.")
    mailbox.deliver(mail)
    mailbox.deliver(mail)
    report = email_adapter.poll_once()
    assert report.outcomes == {"ticket": 1, "duplicate": 1}
    with app.uow() as uow:
        assert len(uow.tickets.for_requester("email:jean.dupont@commune.example")) == 1
    assert len(mailbox.message_ids("Helpdesk.Processed")) == 2
