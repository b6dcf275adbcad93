"""Every update of a ticket reaches its requester by mail, threaded, in their language.

Requesters who wrote by mail, and chat requesters who chose ``/notify email``: claim, questions,
technicians' replies, resolution, auto-close and the satisfaction question, each one a mail in
the ticket's thread (Message-ID, In-Reply-To, References). Real Dovecot in, real aiosmtpd out.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from email.message import EmailMessage

import pytest
from mail_servers import DESK, Mailbox, SmtpSink, email_config
from test_mail_replies import JEAN, MailDesk, _reply_to, _text

from adapters.console.chat import ConsoleChat
from adapters.email import build_email_adapter
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.port import User

ALICE = User("console", "alice", "Alice Martin", "en", email="alice.martin@commune.example")


@pytest.fixture
def desk(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink, tech: ConsoleChat
) -> MailDesk:
    return MailDesk(app, email_adapter, mailbox, smtp_sink, tech)


def _ids(value: object) -> list[str]:
    return str(value or "").split()


def _assert_threaded(mails: list[EmailMessage], first_mail_id: str) -> None:
    """One conversation: distinct Message-IDs, each mail answering the one before, all naming the first."""
    ids = [str(mail["Message-ID"]) for mail in mails]
    assert len(set(ids)) == len(ids)
    for previous, mail in itertools.pairwise(mails):
        assert mail["In-Reply-To"] == previous["Message-ID"]
        assert first_mail_id in _ids(mail["References"])
        assert str(previous["Message-ID"]) in _ids(mail["References"])
    for mail in mails:
        assert mail["Auto-Submitted"] == "auto-replied"
        assert DESK in str(mail["From"])


def test_a_mail_requester_gets_every_update_in_one_thread_in_french(
    desk: MailDesk, clock: FrozenClock, app: HelpdeskApp
) -> None:
    number, ack = desk.open()
    subject = f"[#{number}] VPN : connexion impossible"

    desk.tech_says(f"/claim {number}")
    claim = desk.next_mail()
    assert "Bob Tech" in _text(claim) and "s'occupe de votre ticket" in _text(claim)

    desk.tech_says(f"/reply {number} Pouvez-vous redémarrer le portable ?")
    answer = desk.next_mail()
    assert "Pouvez-vous redémarrer le portable ?" in _text(answer)

    desk.tech_says(f"/note {number} Certificat expiré côté serveur.")
    desk.no_new_mail()  # internal notes stay internal

    desk.tech_says(f"/resolve {number} Certificat VPN renouvelé.")
    resolution = desk.next_mail()
    assert "Répondez TOUJOURS EN PANNE pour rouvrir le ticket." in _text(resolution)

    # Nobody answers: closed automatically after the working days, then the satisfaction question.
    clock.advance(timedelta(days=15))
    assert app.service_levels is not None
    app.service_levels.run_due_actions()
    deliver = app.dispatcher.dispatch_due
    deliver(chat_ids=[JEAN])
    closed = desk.next_mail()
    assert "est clôturé" in _text(closed)
    app.service_levels.run_due_actions()
    deliver(chat_ids=[JEAN])
    survey = desk.next_mail()
    assert "Répondez par une note de 1 à 5" in _text(survey)

    mails = [ack, claim, answer, resolution, closed, survey]
    assert all(mail["Subject"] == subject for mail in mails)
    assert [mail["Content-Language"] for mail in mails] == ["fr"] * len(mails)
    _assert_threaded(mails, "<first-mail@commune.example>")

    # The score by reply.
    assert desk.send(_reply_to(survey, "4 - rapide et efficace")) == {"feedback": 1}
    with app.uow() as uow:
        saved = uow.satisfaction.get(number)
        assert saved is not None
        assert (saved.score, saved.comment) == (4, "rapide et efficace")


def test_a_chat_requester_who_chose_mail_gets_copies_and_can_answer_them(
    desk: MailDesk, app: HelpdeskApp, open_ticket: object
) -> None:
    alice = ConsoleChat(app, ALICE)
    shown = alice.say("/notify email")
    assert any("alice.martin@commune.example" in line for line in shown)
    with app.uow() as uow:
        assert uow.preferences.notify_email(ALICE.key) == "alice.martin@commune.example"

    number = open_ticket(alice, "My screen stays black after the update")  # type: ignore[operator]
    address = "alice.martin@commune.example"
    app.dispatcher.dispatch_due(chat_ids=[address])
    confirmation = desk.next_mail()
    assert confirmation["To"] == address
    assert confirmation["Subject"].startswith(f"[#{number}] ")

    desk.tech.poll()
    desk.tech.say(f"/wait {number} Which screen model?")
    assert any("Which screen model?" in line for line in alice.poll())  # still told in the chat
    app.dispatcher.dispatch_due(chat_ids=[address])
    question = desk.next_mail()
    assert "Which screen model?" in _text(question)
    assert question["In-Reply-To"] == confirmation["Message-ID"]

    # Her answer by mail speaks for her chat account: a comment that resumes the ticket.
    reply = _reply_to(question, "A Dell P2419H.")
    del reply["From"]
    reply["From"] = f"Alice Martin <{address}>"
    assert desk.send(reply) == {"comment": 1}
    with app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "in_progress"
        comments = [(e.actor_key, e.text) for e in uow.events.for_ticket(number) if e.kind == "comment"]
        assert (ALICE.key, "A Dell P2419H.") in comments

    # /notify chat stops the copies.
    alice.say("/notify chat")
    desk.tech.say(f"/reply {number} Thanks, I am ordering a cable.")
    alice.poll()
    app.dispatcher.dispatch_due(chat_ids=[address])
    seen = len(desk.smtp.messages)
    assert all("ordering a cable" not in _text(mail) for mail in desk.smtp.messages[:seen])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("email not-an-address", "is not a mail address"),
        ("email eve@elsewhere.example", "only writes to addresses at commune.example"),
    ],
)
def test_notify_email_refuses_what_is_not_an_allowed_address(
    app: HelpdeskApp, mailbox: Mailbox, smtp_sink: SmtpSink, args: str, expected: str
) -> None:
    adapter = build_email_adapter(app, email_config(mailbox, smtp_sink, allowed_domains=["commune.example"]))
    try:
        alice = ConsoleChat(app, ALICE)
        shown = "\n".join(alice.say(f"/notify {args}"))
        assert expected in shown
        with app.uow() as uow:
            assert uow.preferences.notify_email(ALICE.key) is None
    finally:
        adapter.stop()


def test_a_call_logged_for_a_mail_address_is_acknowledged_by_mail_and_answered_there(
    desk: MailDesk, app: HelpdeskApp
) -> None:
    tech = desk.tech
    tech.say(f"/call {JEAN} Jean Dupont")
    for line in ["Imprimante du 2e étage en panne", "1", "1", "1", "1", "1", "2", "1"]:
        tech.say(line)
    shown = tech.say("1")  # open the ticket from the summary
    with app.uow() as uow:
        (ticket,) = uow.tickets.for_requester(f"email:{JEAN}")
        number, channel = ticket.id, ticket.channel
    assert channel == "phone"
    assert any(f"#{number} is open for Jean Dupont (phone call)" in line for line in shown)

    app.dispatcher.dispatch_due(chat_ids=[JEAN])
    ack = desk.next_mail()
    assert ack["To"] == JEAN
    assert ack["Subject"] == f"[#{number}] Imprimante du 2e étage en panne"
    # His reply by mail is a comment on the ticket logged for him.
    assert desk.send(_reply_to(ack, "Elle affiche l'erreur E-502.")) == {"comment": 1}
    assert ("comment", "Elle affiche l'erreur E-502.") in desk.history(number)
