"""Two bot processes pointed at one mailbox at the same moment (real processes, real Dovecot).

Both are connected before the first mail is read and start on the same signal, each running the
reader's own loop until the mailbox is empty. Every mail must end as exactly one ticket with one
acknowledgement, none lost and none doubled, and be in the processed folder once. Without the reader
lock both read: the tickets were right (the processed-event identity), but one reader's ``MOVE`` of a
mail the other had moved failed with ``EXPUNGEISSUED`` and ended its round, and Dovecot kept two copies
of most mail in the processed folder (both sessions copied before either expunged). Now one process
reads and the other waits on standby; killed with SIGKILL, the reader is replaced by the other at its
next round.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading

from mail_servers import Mailbox, SmtpSink, assert_each_mail_is_one_ticket, mail_worker, make_mail

from bot.bootstrap import HelpdeskApp

BATCH = 30


def _deliver(mailbox: Mailbox) -> list[str]:
    subjects = [f"Demande {n:02d} : l'imprimante {n} n'imprime plus" for n in range(BATCH)]
    for n, subject in enumerate(subjects):
        body = f"L'imprimante {n} du bureau {n} reste hors ligne."
        mailbox.deliver(make_mail(subject, body, sender=f"agent{n}@commune.example"))
    return subjects


def _start_together(db_url: str, mailbox: Mailbox, smtp: SmtpSink) -> list[subprocess.Popen[str]]:
    readers = [mail_worker(db_url, mailbox, smtp, until_empty=True) for _ in range(2)]
    for reader in readers:
        assert reader.stdout is not None
        if reader.stdout.readline() != "ready\n":
            for other in readers:
                other.kill()
            _, err = reader.communicate(timeout=30)
            raise AssertionError(f"a bot process did not get ready (exit {reader.returncode}):\n{err}")
    for reader in readers:  # both go at once
        assert reader.stdin is not None
        reader.stdin.write("go\n")
        reader.stdin.flush()
    return readers


def test_two_processes_reading_one_mailbox_make_one_ticket_per_mail(
    app: HelpdeskApp, db_url: str, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    subjects = _deliver(mailbox)
    outputs = []
    for reader in _start_together(db_url, mailbox, smtp_sink):
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err
        assert "done" in out, err
        outputs.append(out)
    assert_each_mail_is_one_ticket(app, mailbox, subjects)
    created = [out.count("processed ticket") for out in outputs]
    assert sorted(created) == [0, BATCH], outputs  # one read them all, the other stood by
    assert any("standby" in out for out in outputs)


def test_the_other_process_takes_over_when_the_reader_is_killed(
    app: HelpdeskApp, db_url: str, mailbox: Mailbox, smtp_sink: SmtpSink
) -> None:
    subjects = _deliver(mailbox)
    readers = _start_together(db_url, mailbox, smtp_sink)
    lines: queue.Queue[tuple[subprocess.Popen[str], str]] = queue.Queue()

    def forward(reader: subprocess.Popen[str]) -> None:
        assert reader.stdout is not None
        for line in reader.stdout:
            lines.put((reader, line))

    forwarders = [threading.Thread(target=forward, args=(reader,), daemon=True) for reader in readers]
    for forwarder in forwarders:
        forwarder.start()
    # Whichever process prints "processed" first is the reader: kill it after four mails.
    counts = dict.fromkeys(readers, 0)
    doomed = None
    while doomed is None:
        reader, line = lines.get(timeout=120)
        counts[reader] += line.startswith("processed ")
        if counts[reader] == 4:
            doomed = reader
    doomed.kill()
    doomed.wait(timeout=30)
    assert doomed.returncode == -signal.SIGKILL
    (survivor,) = [reader for reader in readers if reader is not doomed]
    survivor.wait(timeout=300)
    for forwarder in forwarders:
        forwarder.join(timeout=30)
    said = []
    while not lines.empty():
        reader, line = lines.get()
        if reader is survivor:
            said.append(line)
    errors = survivor.stderr.read() if survivor.stderr else ""
    for reader in readers:
        for stream in (reader.stdin, reader.stdout, reader.stderr):
            if stream is not None:
                stream.close()
    assert survivor.returncode == 0 and "done\n" in said, errors
    assert "processed ticket\n" in said  # it took over
    assert_each_mail_is_one_ticket(app, mailbox, subjects)
