"""The mailbox reader sees mail delivered while it is connected: between polls and while it idles.

A real Dovecot keeps the selected mailbox's view until a command synchronises it; these tests
deliver mail through a second IMAP connection, as the desk's mail server does.
"""

from __future__ import annotations

import threading

from mail_servers import Mailbox, SmtpSink, email_config, make_mail

from adapters.email.adapter import EmailAdapter
from adapters.email.mailbox import RoundReport
from bot.bootstrap import HelpdeskApp


def test_mail_delivered_after_a_round_is_seen_by_the_next_round(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    mailbox.deliver(make_mail("Imprimante", "L'imprimante du 2e étage ne répond plus."))
    assert email_adapter.poll_once().outcomes == {"ticket": 1}

    # Same connection, mailbox still selected: the new mail must be found by the next search.
    mailbox.deliver(make_mail("Écran", "Mon deuxième écran reste noir."))
    assert email_adapter.poll_once().outcomes == {"ticket": 1}
    assert mailbox.message_ids("INBOX") == []


def test_mail_delivered_while_the_reader_idles_opens_a_ticket(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    rounds: list[RoundReport] = []
    arrived = threading.Condition()

    def on_round(report: RoundReport) -> None:
        with arrived:
            rounds.append(report)
            arrived.notify_all()

    email_adapter.reader.on_round = on_round
    email_adapter.start()
    with arrived:
        assert arrived.wait_for(lambda: len(rounds) >= 1, timeout=30)  # the first round: empty mailbox
    assert email_adapter.reader.supports_idle

    mailbox.deliver(make_mail("VPN", "Le VPN refuse de se connecter."))
    with arrived:
        assert arrived.wait_for(lambda: any(r.outcomes.get("ticket") for r in rounds), timeout=30)
    email_adapter.stop()
    with app.uow() as uow:
        assert len(uow.tickets.for_requester("email:jean.dupont@commune.example")) == 1


def test_the_adapter_reports_whether_it_reaches_the_mailbox(
    app: HelpdeskApp, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    assert not EmailAdapter(app, email_config(mailbox, smtp_sink)).connected()  # not started

    reading = EmailAdapter(app, email_config(mailbox, smtp_sink))
    rounds = threading.Event()
    reading.reader.on_round = lambda report: rounds.set()
    reading.start()
    try:
        assert rounds.wait(30)
        assert reading.connected()
    finally:
        reading.stop()
    assert not reading.connected()

    refused = EmailAdapter(app, email_config(mailbox, smtp_sink, imap_password="wrong password"))
    failed = threading.Event()
    refused.reader.on_failure = lambda error: failed.set()
    refused.start()
    try:
        assert failed.wait(30)
        assert not refused.connected()
    finally:
        refused.stop()
