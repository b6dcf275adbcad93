"""kill -9 while a batch of mail is processed loses none and duplicates none (real processes, real Dovecot).

A bot process reads a mailbox of twelve new requests and is killed with SIGKILL: inside a ticket's
transaction, between a commit and the move out of the inbox, or from outside at an arbitrary moment.
A second process then reads the mailbox again. Every mail must end as exactly one ticket, with one
confirmation in the outbox, and leave the inbox.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mail_servers import Mailbox, SmtpSink, make_mail
from sqlalchemy import func, select

from bot.bootstrap import HelpdeskApp
from bot.db.models import OutboxEntry, Ticket

WORKER = Path(__file__).resolve().parent / "mail_process.py"
BATCH = 12


def _worker(db_url: str, mailbox: Mailbox, smtp: SmtpSink, kill_at: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            db_url,
            str(mailbox.server.port),
            mailbox.user,
            mailbox.password,
            str(smtp.port),
            kill_at,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def _finish(db_url: str, mailbox: Mailbox, smtp: SmtpSink) -> list[str]:
    restarted = _worker(db_url, mailbox, smtp, "none")
    out, _ = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, out
    return out.split("\n")


def _assert_each_mail_is_one_ticket(app: HelpdeskApp, mailbox: Mailbox, subjects: list[str]) -> None:
    with app.uow() as uow:
        titles = list(uow.session.scalars(select(Ticket.title)))
        confirmations = uow.session.scalar(
            select(func.count()).select_from(OutboxEntry).where(OutboxEntry.purpose == "confirmation")
        )
    assert sorted(titles) == sorted(subjects)  # none lost, none twice
    assert confirmations == len(subjects)  # one acknowledgement each
    assert mailbox.message_ids("INBOX") == []
    assert len(mailbox.message_ids("Helpdesk.Processed")) == len(subjects)


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
    doomed = _worker(db_url, mailbox, smtp_sink, kill_at)
    out, _ = doomed.communicate(timeout=120)
    assert doomed.returncode == -signal.SIGKILL, out
    assert "done" not in out
    assert len(mailbox.message_ids("INBOX")) > 0  # it died with work left

    finished = _finish(db_url, mailbox, smtp_sink)
    assert "done" in finished
    _assert_each_mail_is_one_ticket(app, mailbox, subjects)


def test_kill_9_from_outside_in_the_middle_of_a_batch(
    app: HelpdeskApp, db_url: str, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    subjects = _deliver_batch(mailbox)
    doomed = _worker(db_url, mailbox, smtp_sink, "none")
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
    _assert_each_mail_is_one_ticket(app, mailbox, subjects)
