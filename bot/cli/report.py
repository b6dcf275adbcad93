"""``helpdesk-bot report``: the service desk's statistics as text, CSV, JSON or PNG charts."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click

from bot.clock import SystemClock


@click.command(name="report")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day (YYYY-MM-DD, included; default: 29 days before --until).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day (YYYY-MM-DD, included; default: today).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "json", "png"]),
    default="text",
    show_default=True,
    help="png writes three charts into the --output folder.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="File to write (default: standard output); for png, a folder (default: the current one).",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en", "nl"]),
    default="en",
    show_default=True,
    help="Language of the text and chart titles.",
)
@click.pass_context
def report(
    ctx: click.Context,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    output: Path | None,
    lang: str,
) -> None:
    """Statistics over a period: volumes, response and resolution times, SLA, backlog, deflection…

    Days are in the service desk's time zone ([sla.calendar] timezone); both ends are included.
    """
    from bot.cli import context_config
    from bot.db.engine import create_db_engine, upgrade_database
    from bot.db.uow import unit_of_work_factory
    from bot.reports import make_report
    from bot.reports.stats import period_between
    from bot.sla.calendar import BusinessCalendar

    config = context_config(ctx.find_root())
    calendar = BusinessCalendar(config.sla.calendar)
    now = SystemClock().now()
    last: date = until.date() if until else now.astimezone(calendar.tz).date()
    first: date = since.date() if since else last - timedelta(days=29)
    if last < first:
        raise click.BadParameter("--until is before --since", param_hint="--until")
    if fmt == "png":
        from bot.reports.feature import charts_available

        if not charts_available():
            raise click.ClickException("charts need matplotlib: pip install 'helpdesk-bot[charts]'")
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine)
        result = make_report(
            unit_of_work_factory(engine),
            calendar,
            period_between(first, last, calendar.tz),
            now,
            language=lang,
            charts=fmt == "png",
        )
    finally:
        engine.dispose()
    if fmt == "png":
        folder = output or Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in result.charts:
            (folder / name).write_bytes(data)
            click.echo(str(folder / name))
        return
    body = {"text": result.text + "\n", "csv": result.csv, "json": result.json + "\n"}[fmt]
    if output is None:
        sys.stdout.write(body)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(body, encoding="utf-8")
        click.echo(f"written to {output}", err=True)
