"""``helpdesk-bot gdpr``: export or erase what is held about a person; run the retention job."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import click

from bot.clock import SystemClock
from bot.config import Config
from bot.db.uow import UnitOfWorkFactory

_USER = re.compile(r"^[a-z][a-z0-9_-]*:\S+$")


def _user_key(value: str) -> str:
    if not _USER.match(value):
        raise click.BadParameter(f"{value!r} must look like 'platform:id', e.g. 'slack:U024BE7LH'", param_hint="USER")
    return value


@contextmanager
def _database(ctx: click.Context) -> Iterator[tuple[Config, UnitOfWorkFactory]]:
    from bot.cli import context_config
    from bot.db.engine import create_db_engine, upgrade_database
    from bot.db.uow import unit_of_work_factory

    config = context_config(ctx.find_root())
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine)
        yield config, unit_of_work_factory(engine)
    finally:
        engine.dispose()


@click.group(name="gdpr")
def gdpr() -> None:
    """Data protection: export, erase, retention."""


@gdpr.command("export")
@click.argument("user")
@click.pass_context
def export(ctx: click.Context, user: str) -> None:
    """Print everything held about USER ("platform:id") as JSON."""
    from bot.privacy.service import export_user

    with _database(ctx) as (_, uow):
        data = export_user(uow, _user_key(user), SystemClock().now())
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@gdpr.command("erase")
@click.argument("user")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase(ctx: click.Context, user: str, yes: bool) -> None:
    """Erase the personal data of USER ("platform:id"); their tickets stay, anonymised, for statistics."""
    from bot.privacy.service import OpenTicketsRemain, erase_user, erasure_plan

    key = _user_key(user)
    with _database(ctx) as (_, uow):
        plan = erasure_plan(uow, key)
        if not plan.holds_anything:
            click.echo(f"nothing is held about {key}")
            return
        if plan.open_tickets:
            numbers = ", ".join(f"#{n}" for n in plan.open_tickets)
            raise click.ClickException(
                f"{key} still has tickets being worked on ({numbers}): close or cancel them first"
            )
        click.echo(
            f"{key}: {plan.tickets} ticket(s) to anonymise, {plan.events} event(s) authored, "
            f"{plan.suggestions} suggestion(s), {plan.conversations} conversation(s)"
            f"{', preferences' if plan.has_preferences else ''}."
        )
        if not yes:
            click.confirm("Erase this person's data? This cannot be undone", abort=True)
        try:
            counts = erase_user(uow, key, SystemClock().now())
        except OpenTicketsRemain as error:
            raise click.ClickException(str(error)) from None
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items())) or "nothing"
    click.echo(f"erased ({summary}); an audit entry without personal data was kept")


@gdpr.command("anonymise")
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=None,
    help="Retention in months (default: [privacy] retention_months).",
)
@click.pass_context
def anonymise(ctx: click.Context, months: int | None) -> None:
    """Anonymise the personal data of tickets finished more than the retention period ago."""
    from bot.privacy.service import anonymise_before, months_before

    with _database(ctx) as (config, uow):
        now = SystemClock().now()
        retention = months or config.privacy.retention_months
        cutoff = months_before(now, retention)
        count = anonymise_before(uow, cutoff, now, batch_size=config.privacy.batch_size, actor="cli")
    click.echo(f"{count} ticket(s) finished before {cutoff:%Y-%m-%d} anonymised")
