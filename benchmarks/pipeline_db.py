"""Database work per incoming event: statements, commits, rollbacks and connection checkouts.

Counted with SQLAlchemy event listeners (``before_cursor_execute``, ``commit``, ``rollback``
on the engine; ``checkout`` on its pool) around the core's handling of each event only —
delivery is excluded (the outbox dispatcher is not run inside the measured section). The
scenario is one requester's whole conversation (a first message that opens the intake, every
intake step by button or text, "Open the ticket"), a greeting, and a technician's ``/claim``.

Run side by side, in one invocation, against the code at a baseline commit (extracted with
``git archive`` into a temporary folder) and against this checkout::

    python benchmarks/pipeline_db.py                          # baseline 5f69ec3, SQLite
    python benchmarks/pipeline_db.py --postgres URL           # also PostgreSQL
    python benchmarks/pipeline_db.py --baseline COMMIT

The figures are counts, not timings: they do not depend on the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KB_DIR = ROOT / "tests" / "kb_core_fixtures"
PROBLEMS = [
    "My screen stays black after the update",
    "The badge reader of the council room does not answer",
    "The planning application shows a blank page since Monday",
    "The second monitor at desk 12 flickers every few minutes",
    "Our shared calendar lost all the meetings of next week",
]
# The buttons pressed at each intake step (1-based, as in the console transcripts of tests/conftest.py).
STEPS = ["1", "1", "1", "1", "5", "1", "2", "1", "1"]
"""Eight intake answers, then "Open the ticket" (the first button of the summary)."""
METRICS = ("statements", "commits", "rollbacks", "checkouts")


def measure(database_url: str) -> dict[str, dict[str, float]]:
    """Run the scenario with the ``bot`` package found first on ``sys.path``; per-kind averages."""
    from sqlalchemy import event as sa_event
    from sqlalchemy import select

    from bot.bootstrap import bootstrap
    from bot.clock import FrozenClock
    from bot.config import parse_config
    from bot.db.models import OutboxEntry
    from bot.knowledge import KnowledgeBase
    from bot.port import Button, ButtonPress, SlashCommand, TextMessage, User

    try:
        from bot.outbox import decode_message
    except ImportError:  # pragma: no cover
        decode_message = None

    from datetime import UTC, datetime

    config = parse_config({"database": {"url": database_url}, "bot": {"language": "en"}}, environ={})
    app = bootstrap(
        config,
        clock=FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        knowledge=KnowledgeBase.from_directory(KB_DIR),
    )
    app.roles.grant("bench:tech", "technician")
    has_identity = "event_id" in {f.name for f in dataclasses.fields(TextMessage)}
    counts = dict.fromkeys(METRICS, 0)

    def on_statement(*_: Any) -> None:
        counts["statements"] += 1

    def on_commit(*_: Any) -> None:
        counts["commits"] += 1

    def on_rollback(*_: Any) -> None:
        counts["rollbacks"] += 1

    def on_checkout(*_: Any) -> None:
        counts["checkouts"] += 1

    sa_event.listen(app.engine, "before_cursor_execute", on_statement)
    sa_event.listen(app.engine, "commit", on_commit)
    sa_event.listen(app.engine, "rollback", on_rollback)
    sa_event.listen(app.engine.pool, "checkout", on_checkout)

    def nothing_direct(event: Any, reply: Any) -> bool:
        return False

    def run(event: Any) -> list[Any]:
        """The core's handling of one event, as the Slack/Telegram adapters use it (replies to the outbox)."""
        if has_identity:
            event = dataclasses.replace(event, event_id=f"bench:{uuid.uuid4().hex}")
        before = dict(counts)
        if hasattr(app.core, "process"):
            replies = list(app.core.process(event, nothing_direct).direct)
        else:
            replies = app.core.handle(event)
        return [replies, {m: counts[m] - before[m] for m in METRICS}]

    seen = [0]

    def buttons(user: Any, replies: list[Any]) -> tuple[Button, ...]:
        """The buttons the last event showed: in its replies (old code) or its outbox entries (the pipeline)."""
        shown: tuple[Button, ...] = ()
        for reply in replies:
            if reply.message.buttons:
                shown = tuple(reply.message.buttons)
        with app.uow() as uow:
            rows = uow.session.scalars(
                select(OutboxEntry)
                .where(OutboxEntry.chat_id == f"dm:{user.id}", OutboxEntry.id > seen[0])
                .order_by(OutboxEntry.id)
            ).all()
            for row in rows:
                seen[0] = max(seen[0], row.id)
                message = decode_message(row.payload) if decode_message else None
                if row.purpose == "reply" and message is not None and message.buttons:
                    shown = tuple(message.buttons)
        return shown

    per_kind: dict[str, list[dict[str, int]]] = {}

    def record(kind: str, figures: dict[str, int]) -> None:
        per_kind.setdefault(kind, []).append(figures)

    from bot.port import Place

    for index in range(5):
        user = User("bench", f"u{index}", f"User {index}", "en", email=f"u{index}@example.be")
        place = Place("bench", f"dm:{user.id}")
        replies, figures = run(TextMessage(user, place, "hello"))
        record("greeting", figures)
        replies, figures = run(TextMessage(user, place, PROBLEMS[index]))
        record("first message (intake starts)", figures)
        for step, choice in enumerate(STEPS):
            shown = buttons(user, replies)
            if shown:
                event: Any = ButtonPress(user, place, shown[int(choice) - 1].value)
            else:
                event = TextMessage(user, place, choice)
            replies, figures = run(event)
            if step == len(STEPS) - 1:
                assert event.value == "intake:confirm", event
                record("Open the ticket", figures)
            else:
                record("intake answer", figures)
        with app.uow() as uow:
            number = max(t.id for t in uow.tickets.queue())
        tech = User("bench", "tech", "Tom Tech", "en")
        replies, figures = run(SlashCommand(tech, Place("bench", "triage"), "claim", str(number)))
        record("technician /claim", figures)
    app.close()
    return {
        kind: {m: sum(f[m] for f in rows) / len(rows) for m in METRICS} | {"events": float(len(rows))}
        for kind, rows in per_kind.items()
    }


def extract(commit: str, target: Path) -> None:
    """The tree of ``commit`` into ``target`` (git archive: nothing changes in the repository)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


@contextmanager
def database_for(kind: str, postgres: str | None, folder: Path) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema on ``postgres`` (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/{uuid.uuid4().hex}.db"
        return
    assert postgres
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(postgres)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="5f69ec3", help="commit to compare with (default: before the pipeline)")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (a schema per run is created)")
    parser.add_argument("--child", nargs=2, metavar=("SRC", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        src, url = args.child
        sys.path.insert(0, src)
        print(json.dumps(measure(url)))
        return
    databases = ["sqlite"] + (["postgresql"] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        extract(args.baseline, base)
        results: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
        for database in databases:
            for label, src in (("before", base), ("after", ROOT)):
                with database_for(database, args.postgres, Path(tmp)) as url:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", str(src), url], check=True, capture_output=True, text=True
                    ).stdout
                results[(database, label)] = json.loads(out.strip().splitlines()[-1])
    print(f"Per incoming event, delivery excluded (baseline {args.baseline} vs this checkout)")
    for database in databases:
        print(f"\n{database}")
        print(f"{'event':32} {'':7} " + " ".join(f"{m:>10}" for m in METRICS))
        for kind in results[(database, "after")]:
            for label in ("before", "after"):
                row = results[(database, label)].get(kind)
                if row is None:
                    continue
                print(f"{kind:32} {label:7} " + " ".join(f"{row[m]:10.1f}" for m in METRICS))


if __name__ == "__main__":
    main()
