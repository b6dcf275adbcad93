"""Mail that must never become a ticket nor get an answer, and the limits: real Dovecot in, real aiosmtpd out.

Out-of-office and other automatic replies, bulk and mailing-list mail are moved out of the inbox
unanswered; a delivery-status report (bounce) of the desk's own mail marks the address unreachable
and tells the technicians; oversized mail, foreign domains and senders over their hourly quota open
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from mail_servers import DESK, Mailbox, SmtpSink, email_config, make_mail
from test_mail_replies import JEAN, MailDesk, _reply_to, _text

from adapters.console.chat import ConsoleChat
from adapters.email import build_email_adapter
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp
from bot.db.models import OutboxEntry


@pytest.fixture
def desk(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink, tech: ConsoleChat
) -> MailDesk:
    return MailDesk(app, email_adapter, mailbox, smtp_sink, tech)


def _tickets(app: HelpdeskApp) -> int:
    with app.uow() as uow:
        return len(uow.tickets.queue(limit=100))


AUTOMATIC = {
    "out-of-office (RFC 3834)": ("Absent du bureau", {"Auto-Submitted": "auto-replied"}),
    "X-Autoreply": ("Je suis en congé", {"X-Autoreply": "yes"}),
    "Precedence: auto_reply": ("Re: votre message", {"Precedence": "auto_reply"}),
    "Exchange out-of-office": ("Réponse automatique : VPN", {"X-Auto-Response-Suppress": "All"}),
    "bulk": ("Newsletter de décembre", {"Precedence": "bulk"}),
    "mailing list": ("[it-news] Maintenance samedi", {"List-Id": "IT news <it-news.lists.commune.example>"}),
    "unsubscribe link": ("Offre spéciale", {"List-Unsubscribe": "<mailto:unsubscribe@shop.example>"}),
}


@pytest.mark.parametrize("kind", list(AUTOMATIC))
def test_automatic_and_bulk_mail_opens_nothing_and_gets_no_answer(desk: MailDesk, kind: str) -> None:
    subject, headers = AUTOMATIC[kind]
    mail = make_mail(subject, "Je serai de retour le 4 janvier.", headers=headers)
    assert desk.send(mail) == {"ignored": 1}
    assert _tickets(desk.app) == 0
    desk.no_new_mail()
    assert desk.mailbox.message_ids("INBOX") == []  # out of the inbox, never read again


def test_an_out_of_office_answering_the_desk_is_not_a_comment(desk: MailDesk) -> None:
    number, ack = desk.open()
    auto = _reply_to(ack, "Je suis absent jusqu'au 4 janvier.")
    auto["Auto-Submitted"] = "auto-replied"
    assert desk.send(auto) == {"ignored": 1}
    assert all("absent" not in text for kind, text in desk.history(number) if kind == "comment")
    desk.no_new_mail()


def _bounce_of(mail: EmailMessage, recipient: str) -> bytes:
    """A delivery-status report (RFC 3464) as a mail server writes it for ``mail``."""
    boundary = uuid.uuid4().hex
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.commune.example>\r\n"
        f"To: {DESK}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mx.commune.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Your message could not be delivered to one or more recipients.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.commune.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: {mail['From']}\r\n"
        f"To: {mail['To']}\r\n"
        f"Subject: {mail['Subject']}\r\n"
        f"Message-ID: {mail['Message-ID']}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_a_bounce_marks_the_address_unreachable_and_tells_the_technicians(desk: MailDesk) -> None:
    number, ack = desk.open()
    desk.mailbox.deliver(_bounce_of(ack, JEAN))
    assert desk.adapter.poll_once().outcomes == {"bounce": 1}
    desk.no_new_mail()  # a bounce is never answered
    assert _tickets(desk.app) == 1
    told = desk.tech.poll()
    assert any(f"#{number}" in line and "could not be delivered" in line for line in told)
    assert any(kind == "note" and JEAN in text for kind, text in desk.history(number))

    # The next update is not mailed to the dead address: refused for good, and the technicians are told.
    told = desk.tech_says(f"/claim {number}")
    desk.no_new_mail()
    with desk.app.uow() as uow:
        entries = [e for e in uow.session.query(OutboxEntry).filter_by(chat_id=JEAN) if e.status == "failed"]
        assert entries and "bounced" in (entries[-1].last_error or "")
    told += desk.tech.poll()
    assert any("could not be reached" in line for line in told), told

    # Jean writes again: the address works, updates are mailed again.
    assert desk.send(make_mail(f"Re: [#{number}] VPN", "Ma boîte est réparée.")) == {"comment": 1}
    receipt = desk.next_mail()
    assert receipt["To"] == JEAN
    desk.tech_says(f"/reply {number} Parfait, je regarde.")
    assert "Parfait, je regarde." in _text(desk.next_mail())


def test_a_report_quoting_no_mail_of_the_desk_changes_nothing(desk: MailDesk) -> None:
    number, _ack = desk.open()
    forged = make_mail("Re: quelque chose", "x", message_id=f"{uuid.uuid4().hex}@elsewhere.example")
    desk.mailbox.deliver(_bounce_of(forged, JEAN))
    assert desk.adapter.poll_once().outcomes == {"ignored": 1}
    desk.tech_says(f"/claim {number}")
    assert "s'occupe de votre ticket" in _text(desk.next_mail())


@pytest.fixture
def strict_adapter(app: HelpdeskApp, mailbox: Mailbox, smtp_sink: SmtpSink) -> Iterator[EmailAdapter]:
    """An adapter with small limits: 10 kB per mail, one domain, two new tickets per sender and hour."""
    config = email_config(
        mailbox, smtp_sink, max_message_bytes=10_000, allowed_domains=["commune.example"], max_mails_per_hour=2
    )
    adapter = build_email_adapter(app, config)
    try:
        yield adapter
    finally:
        adapter.stop()


def test_a_mail_over_the_size_limit_is_answered_with_the_limit_and_opens_nothing(
    app: HelpdeskApp, strict_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    mail = make_mail("Capture d'écran", "Voici la capture.", headers={"Content-Language": "fr"})
    mail.add_attachment(b"\x89PNG" + b"0" * 20_000, maintype="image", subtype="png", filename="capture.png")
    mailbox.deliver(mail)
    assert strict_adapter.poll_once().outcomes == {"too_large": 1}
    assert _tickets(app) == 0
    (answer,) = smtp_sink.wait_for(1)
    assert answer["To"] == JEAN
    assert answer["In-Reply-To"] == mail["Message-ID"]
    assert "trop volumineux pour le service desk (28\u202fko, au plus 10\u202fko)" in _text(answer)


def test_a_sender_outside_the_allowed_domains_is_refused_unanswered(
    app: HelpdeskApp, strict_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    mail = make_mail("Promo", "Achetez nos imprimantes.", sender="Vendeur <sales@printers.example>")
    mailbox.deliver(mail)
    assert strict_adapter.poll_once().outcomes == {"refused": 1}
    assert _tickets(app) == 0
    assert smtp_sink.messages == []
    assert mailbox.message_ids("Helpdesk.Failed") == [str(mail["Message-ID"]).strip("<>")]


def test_a_sender_over_the_hourly_quota_opens_no_more_tickets(
    app: HelpdeskApp, strict_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    for n in range(3):
        mailbox.deliver(make_mail(f"Problème {n}", f"Description du problème numéro {n}."))
    assert strict_adapter.poll_once().outcomes == {"ticket": 2, "refused": 1}
    assert _tickets(app) == 2
    assert len(mailbox.message_ids("Helpdesk.Failed")) == 1


def test_escape_sequences_and_bidi_overrides_in_a_mail_never_reach_the_ticket(desk: MailDesk) -> None:
    outcomes = desk.send(
        make_mail(
            "\x1b]0;pwned\x07Imprimante \u202ebloquée",
            "Bonjour,\n\n\x1b[2J\x1b[31mL'imprimante du 2e étage\x1b[0m est bloquée.\n",
            message_id=f"{uuid.uuid4().hex}@commune.example",
        )
    )
    assert outcomes == {"ticket": 1}
    with desk.app.uow() as uow:
        (ticket,) = uow.tickets.for_requester(f"email:{JEAN}")
        assert ticket.title == "Imprimante bloquée"
        assert "L'imprimante du 2e étage est bloquée." in ticket.description
        assert "\x1b" not in ticket.description
        assert ticket.contact_name == ticket.requester_name == "Jean Dupont"


def test_the_bounce_notice_is_written_in_each_technicians_language(desk: MailDesk) -> None:
    """The technician reads Dutch: the notice that a requester's address bounced reaches him in Dutch."""
    number, ack = desk.open()
    desk.tech_says("/lang nl")
    desk.mailbox.deliver(_bounce_of(ack, JEAN))
    assert desk.adapter.poll_once().outcomes == {"bounce": 1}
    told = desk.tech.poll()
    assert any(f"#{number}" in line and "kon niet worden bezorgd" in line for line in told), told
    assert not any("could not be delivered" in line for line in told), told
