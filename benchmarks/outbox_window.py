"""The in-flight window of outbox delivery: how long a message the platform already accepted stays
unrecorded, i.e. how long a crash (kill -9, power loss) would leave it to be sent again.

For each entry the window runs from the moment the fake Slack Web API receives ``chat.postMessage``
(``tests/slack/fake_slack.py`` on loopback, the real ``slack_sdk`` client) to the commit that marks
the entry sent. Side by side in the same run, the **baseline** is the bare round trip of the same
``chat.postMessage`` with the same client and no database: the part of the window no bookkeeping can
remove. On Slack a crash inside the window does not repeat the message (the next attempt finds it by
the outbox id in its metadata); on Telegram it would, so this is Telegram's duplicate window.

    python benchmarks/outbox_window.py [--entries 300] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "slack")]

from fake_slack import VALID_TOKEN, FakeSlack  # noqa: E402
from sqlalchemy import text  # noqa: E402

from adapters.slack.messenger import SlackMessenger, make_web_client  # noqa: E402
from bot.bootstrap import bootstrap  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.knowledge import KnowledgeBase  # noqa: E402
from bot.port import Notification, OutgoingMessage, Place, SentMessage, User  # noqa: E402
from bot.tickets import TicketDraft  # noqa: E402


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return (
        f"{name:<32} median {statistics.median(values) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms   "
        f"max {values[-1] * 1000:6.2f} ms"
    )


def baseline(fake: FakeSlack, count: int) -> list[float]:
    client = SlackMessenger(make_web_client(VALID_TOKEN, base_url=fake.api_url))
    windows = []
    for i in range(count):
        mark = len(fake.calls)
        client.send(Notification(id=10_000 + i, place=Place("slack", "D999"), message=OutgoingMessage("ping")))
        windows.append(time.monotonic() - fake.calls[mark].at)
    return windows


def outbox(fake: FakeSlack, url: str, count: int) -> list[float]:
    config = parse_config({"database": {"url": url}, "bot": {"language": "en"}}, environ={})
    app = bootstrap(config, knowledge=KnowledgeBase([]))
    messenger = SlackMessenger(make_web_client(VALID_TOKEN, base_url=fake.api_url))
    app.register_messenger(messenger)
    committed: dict[int, float] = {}
    bookkeeping: list[float] = []
    dispatcher: Any = app.dispatcher
    record_sent = dispatcher._record_sent

    def timed(delivered: list[tuple[Any, SentMessage]], token: str) -> int:
        started = time.monotonic()
        result: int = record_sent(delivered, token)
        finished = time.monotonic()
        for entry, _sent in delivered:
            committed[entry.id] = finished
        if delivered:
            bookkeeping.append(finished - started)
        return result

    dispatcher._record_sent = timed
    user = User("slack", "U111", "Anne", "en")
    try:
        for i in range(count):
            app.tickets.open(user, Place("slack", f"D{i:05d}"), TicketDraft(title=f"Problem {i}"), "en")
        mark = len(fake.calls)
        app.dispatch_pending()
        arrivals = {
            call.args["metadata"]["event_payload"]["outbox_id"]: call.at
            for call in fake.calls[mark:]
            if call.method == "chat.postMessage"
        }
        print(summary("  of which the recording commit", bookkeeping))
        writes = []
        for _ in range(count):  # the cost of any durable write on this database, for comparison
            started = time.monotonic()
            with app.uow() as uow:
                uow.session.execute(text("UPDATE outbox SET last_error = last_error WHERE id = 1"))
                uow.commit()
            writes.append(time.monotonic() - started)
        print(summary("baseline: one-row UPDATE + commit", writes))
        return [committed[entry_id] - arrived for entry_id, arrived in arrivals.items()]
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300)
    parser.add_argument("--postgres", default=os.environ.get("HELPDESK_BENCH_DATABASE_URL", ""))
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with FakeSlack(epoch=int(time.time())) as fake, tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{tmp}/bench.db"
        print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (file, WAL)'}; {args.entries} entries")
        base = baseline(fake, args.entries)
        window = outbox(fake, url, args.entries)
    print(summary("baseline: bare round trip", base))
    print(summary("outbox: accepted -> committed", window))


if __name__ == "__main__":
    main()
