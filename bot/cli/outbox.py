"""``helpdesk-bot outbox``: see what waits to be delivered and act on dead letters.

* ``outbox list`` — pending entries and dead letters (``--failed``: dead letters only),
  with their ticket, destination, attempts and last error;
* ``outbox retry ID`` — queue a dead letter again (fresh attempt count, due now): a running
  bot delivers it at its next round;
* ``outbox discard ID`` — drop an entry for good (kept as ``discarded`` for the record).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.clock import SystemClock
from bot.db.models import OutboxEntry
from bot.db.uow import UnitOfWorkFactory
from bot.rendering import payload_text


@contextmanager
def _database(ctx: click.Context) -> Iterator[UnitOfWorkFactory]:
    from bot.cli import context_config
    from bot.db.engine import create_db_engine, upgrade_database
    from bot.db.uow import unit_of_work_factory

    config = context_config(ctx.find_root())
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine)
        yield unit_of_work_factory(engine)
    finally:
        engine.dispose()


def _line(entry: OutboxEntry) -> str:
    ticket = f"#{entry.ticket_id}" if entry.ticket_id is not None else "-"
    where = f"{entry.platform}:{entry.chat_id}" + (f" (thread {entry.thread_id})" if entry.thread_id else "")
    state = entry.status
    if entry.status == "pending" and entry.attempted_at is not None:
        state = f"in flight since {entry.attempted_at:%Y-%m-%d %H:%M:%S} UTC"
    elif entry.status == "pending":
        state = f"pending, next attempt {entry.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
    text = payload_text(entry.payload, "en").replace("\n", " ")
    text = text if len(text) <= 60 else text[:59] + "…"
    line = f"{entry.id:>6}  {ticket:>6}  {entry.purpose:<12} {where}  {state}, {entry.attempts} attempt(s)"
    line += f"\n        “{text}”"
    if entry.last_error:
        line += f"\n        last error: {entry.last_error}"
    return line


@click.group(name="outbox")
def outbox() -> None:
    """Notifications waiting for delivery, and dead letters."""


@outbox.command("list")
@click.option("--failed", is_flag=True, help="Only dead letters (refused for good or out of attempts).")
@click.option("--limit", default=100, show_default=True, help="At most this many entries.")
@click.pass_context
def list_entries(ctx: click.Context, failed: bool, limit: int) -> None:
    """List pending entries and dead letters, oldest first."""
    statuses = ("failed",) if failed else ("pending", "failed")
    with _database(ctx) as uow_factory, uow_factory() as uow:
        entries = list(uow.outbox.listing(statuses=statuses, limit=limit))
    if not entries:
        click.echo("no dead letters" if failed else "the outbox is empty: everything was delivered")
        return
    for entry in entries:
        click.echo(_line(entry))


@outbox.command("retry")
@click.argument("entry_id", type=int)
@click.pass_context
def retry(ctx: click.Context, entry_id: int) -> None:
    """Queue entry ENTRY_ID again, due now (a running bot delivers it at its next round)."""
    with _database(ctx) as uow_factory, uow_factory() as uow:
        if not uow.outbox.retry(entry_id, SystemClock().now()):
            raise click.ClickException(f"outbox entry {entry_id} does not exist or was already delivered")
        uow.commit()
    click.echo(f"outbox entry {entry_id} is queued again")


@outbox.command("discard")
@click.argument("entry_id", type=int)
@click.pass_context
def discard(ctx: click.Context, entry_id: int) -> None:
    """Drop entry ENTRY_ID for good (it stays in the table as discarded)."""
    with _database(ctx) as uow_factory, uow_factory() as uow:
        if not uow.outbox.discard(entry_id):
            raise click.ClickException(f"outbox entry {entry_id} does not exist or was already delivered")
        uow.commit()
    click.echo(f"outbox entry {entry_id} is discarded")
