"""kill -9 while a batch of mail is processed loses none and duplicates none (real processes, real Dovecot).

A bot process reads a mailbox of twelve new requests and is killed with SIGKILL: inside a ticket's
transaction, between a commit and the move out of the inbox, or from outside at an arbitrary moment.
A second process then reads the mailbox again. Every mail must end as exactly one ticket, with one
confirmation in the outbox, and leave the inbox.
"""

from __future__ import annotations

import signal

import pytest
from mail_servers import Mailbox, SmtpSink, assert_each_mail_is_one_ticket, mail_worker, make_mail

from bot.bootstrap import HelpdeskApp

BATCH = 12


def _finish(db_url: str, mailbox: Mailbox, smtp: SmtpSink) -> list[str]:
    restarted = mail_worker(db_url, mailbox, smtp, "none")
    out, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, out
    return out.split("\n")


def _deliver_batch(mailbox: Mailbox) -> list[str]:
    subjects = [f"Demande {n:02d} : le poste {n} ne démarre plus" for n in range(BATCH)]
    for n, subject in enumerate(subjects):
        body = f"Le poste {n} du bureau {n} reste sur un écran noir."
        mailbox.deliver(make_mail(subject, body, sender=f"agent{n}@commune.example"))
    return subjects


@pytest.mark.parametrize("kill_at", ["before-commit:5", "before-move:5", "before-move:1"])
def test_kill_9_at_a_precise_point_loses_and_duplicates_nothing(
    app: HelpdeskApp, db_url: str, mailbox: Mailbox, smtp_sink: SmtpSink, kill_at: str
) -> None:
    subjects = _deliver_batch(mailbox)
    doomed = mail_worker(db_url, mailbox, smtp_sink, kill_at)
    out, _ = doomed.communicate(timeout=120)
    assert doomed.returncode == -signal.SIGKILL, out
    assert "done" not in out
    assert len(mailbox.message_ids("INBOX")) > 0  # it died with work left

    finished = _finish(db_url, mailbox, smtp_sink)
    assert "done" in finished
    assert_each_mail_is_one_ticket(app, mailbox, subjects)


def test_kill_9_from_outside_in_the_middle_of_a_batch(
    app: HelpdeskApp, db_url: str, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    subjects = _deliver_batch(mailbox)
    doomed = mail_worker(db_url, mailbox, smtp_sink, "none")
    assert doomed.stdout is not None
    processed = 0
    while processed < 4:  # four mails processed: kill it while it works on the next ones
        line = doomed.stdout.readline()
        assert line, "the worker ended before processing four mails"
        processed += line.startswith("processed ")
    doomed.kill()
    doomed.wait(timeout=30)
    doomed.stdout.close()
    assert doomed.returncode == -signal.SIGKILL

    _finish(db_url, mailbox, smtp_sink)
    assert_each_mail_is_one_ticket(app, mailbox, subjects)
