"""The ``/stats`` command for team leads: ``/stats``, ``/stats 7d``, ``/stats 30d``, ``/stats 2026-03``.

The answer is the report's text with its three PNG charts (weekly volume by category, SLA
compliance per week, backlog by age) as :class:`~bot.port.Image` objects whose titles are
translated: Slack uploads them with the text, Telegram sends them as photos, the console
lists them. matplotlib is imported only when a team lead asks (see :func:`bot.reports.build_report`).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from bot.errors import InvalidCommand, PermissionDenied
from bot.i18n import N_, Translator
from bot.port import Image, OutgoingMessage, SlashCommand
from bot.reports import Report, build_report, calendar_of, parse_period

if TYPE_CHECKING:
    from bot.features import FeatureContext

USAGE = "/stats [7d|30d|YYYY-MM]"
CHARTS_MISSING = N_(
    "Charts are not installed on this server: an administrator adds them with pip install 'helpdesk-bot[charts]'."
)


def charts_available() -> bool:
    """Whether matplotlib (the ``[charts]`` extra) is installed, without importing it."""
    return importlib.util.find_spec("matplotlib") is not None


def chart_images(report: Report, t: Translator) -> tuple[Image, ...]:
    """The report's charts as images titled in ``t``'s language (empty when it has none)."""
    if not report.charts:
        return ()
    from bot.reports.charts import chart_titles  # matplotlib is already loaded: the charts exist

    titles = chart_titles(report.stats, t)
    return tuple(Image(filename, png, title) for (filename, png), title in zip(report.charts, titles, strict=True))


def install(ctx: FeatureContext) -> None:
    """Register ``/stats`` on the core."""

    def stats(event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        if not ctx.roles.is_team_lead(event.user.key):
            raise PermissionDenied("Only team leads can see the statistics.")
        try:
            period = parse_period(event.args.strip() or "7d", ctx.clock.now(), calendar_of(ctx).tz)
        except ValueError:
            raise InvalidCommand(usage=USAGE) from None
        with_charts = charts_available()
        report = build_report(ctx, period, language=t.language, charts=with_charts)
        text = report.text if with_charts else f"{report.text}\n\n{t(CHARTS_MISSING)}"
        return [OutgoingMessage(text, images=chart_images(report, t))]

    ctx.registry.register_command(
        "stats", stats, audience="team_lead", usage=N_("[7d|30d|YYYY-MM]"), summary=N_("service desk statistics")
    )
