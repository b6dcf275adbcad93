"""A bot process reading the desk's mailbox, for the kill -9 tests: the real core and the e-mail adapter.

Run as ``python mail_process.py DATABASE_URL IMAP_PORT IMAP_USER IMAP_PASSWORD SMTP_PORT KILL_AT [ROUNDS]``.
It processes the mail waiting in the mailbox (one round), printing ``processed <outcome>`` after each
mail, then ``done`` and exits. With ``ROUNDS`` ``until-empty`` it prints ``ready`` once connected, waits
for a line on its standard input (the parent starts several processes at once that way), then runs
rounds until the mailbox is empty. ``KILL_AT`` makes it die by SIGKILL at a precise point of a mail:

* ``none``: never;
* ``before-commit:K``: the K-th new ticket is written (flushed, not committed) — the process dies inside
  the transaction;
* ``before-move:K``: the K-th mail's change is committed and it has not been moved out of the inbox yet.

The parent can also kill it from outside at any moment (``kill -9`` while it prints).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adapters.email import EmailConfig, build_email_adapter
from adapters.email.mailbox import MailboxReader, RoundReport
from bot.bootstrap import bootstrap
from bot.config import Config

DESK = "servicedesk@province.example"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(
    database_url: str, imap_port: str, user: str, password: str, smtp_port: str, kill_at: str, rounds: str = "one"
) -> None:
    config = Config.model_validate({"database": {"url": database_url}, "bot": {"language": "en"}})
    app = bootstrap(config, migrate=False)
    mail = EmailConfig.model_validate(
        {
            "enabled": True,
            "imap_host": "127.0.0.1",
            "imap_port": int(imap_port),
            "imap_security": "none",
            "imap_user": user,
            "imap_password": password,
            "smtp_host": "127.0.0.1",
            "smtp_port": int(smtp_port),
            "smtp_security": "none",
            "from_address": DESK,
            "poll_seconds": 0.5 if rounds == "until-empty" else 60.0,
        }
    )
    adapter = build_email_adapter(app, mail)
    point, _, count = kill_at.partition(":")
    target = int(count or 0)
    seen = {"open": 0, "move": 0}

    if point == "before-commit":
        open_ticket = app.tickets.open

        def open_then_die(*args: Any, **kwargs: Any) -> Any:
            ticket = open_ticket(*args, **kwargs)
            seen["open"] += 1
            if seen["open"] == target:
                with app.uow() as uow:  # the event's unit of work: written, not committed
                    uow.session.flush()
                _die()
            return ticket

        app.tickets.open = open_then_die  # type: ignore[method-assign]
    if point == "before-move":
        move = MailboxReader._move

        def die_then_move(reader: MailboxReader, client: Any, uid: int, folder: str) -> None:
            seen["move"] += 1
            if seen["move"] == target:
                _die()
            move(reader, client, uid, folder)

        MailboxReader._move = die_then_move  # type: ignore[method-assign]

    process = adapter.intake.process

    def process_and_say(parsed: Any) -> Any:
        result = process(parsed)
        print(f"processed {result.outcome}", flush=True)
        return result

    adapter.intake.process = process_and_say  # type: ignore[method-assign]
    try:
        if rounds == "until-empty":
            adapter.reader.connect()
            print("ready", flush=True)
            sys.stdin.readline()
            empty = threading.Event()

            def stop_when_empty(report: RoundReport) -> None:
                print("standby" if report.standby else "round", flush=True)
                client = adapter.reader.connect()
                client.noop()
                if not client.search(["NOT", "DELETED"]):
                    empty.set()

            adapter.reader.on_round = stop_when_empty
            adapter.start()  # the reader's own loop: IDLE or poll between rounds, as in helpdesk-bot run
            assert empty.wait(240), "the mailbox was never empty"
        else:
            adapter.poll_once()
        print("done", flush=True)
    finally:
        adapter.stop()
        app.close()


if __name__ == "__main__":
    main(*sys.argv[1:8])
