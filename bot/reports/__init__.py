"""Statistics, reports and charts for team leads.

``build_report(app, period)`` is the one entry point for chat adapters and the CLI::

    report = build_report(app, "30d", language="fr")   # or "7d", "2026-03", or a Period
    report.text      # plain text, translated (what /stats answers)
    report.charts    # [(filename, png_bytes), ...]: weekly volume, SLA compliance, backlog age
    report.stats     # every figure (bot.reports.stats.Stats); render_json/render_csv for files

Definitions of every figure are in :mod:`bot.reports.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.db.uow import UnitOfWorkFactory
from bot.i18n import translator
from bot.reports.render import render_csv, render_json, render_text
from bot.reports.stats import Period, Stats, compute_stats, parse_period, period_between
from bot.sla.calendar import BusinessCalendar

if TYPE_CHECKING:
    from bot.features import Desk


@dataclass(frozen=True)
class Report:
    """A computed report: its figures, their text and (optionally) the PNG charts."""

    stats: Stats
    text: str
    charts: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def json(self) -> str:
        """Every figure as a JSON document."""
        return render_json(self.stats)

    @property
    def csv(self) -> str:
        """Every figure as ``metric,value`` CSV."""
        return render_csv(self.stats)


def calendar_of(app: Desk) -> BusinessCalendar:
    """The desk's business calendar (``[sla.calendar]``)."""
    return BusinessCalendar(app.config.sla.calendar)


def build_report(app: Desk, period: Period | str, *, language: str = "en", charts: bool = True) -> Report:
    """Compute the report for ``period`` (``7d``, ``30d``, ``YYYY-MM`` or a :class:`Period`).

    Raises :class:`ValueError` for a malformed period. ``charts=False`` skips matplotlib
    (the text alone; ``/stats`` sends the charts too).
    """
    return make_report(app.uow, calendar_of(app), period, app.clock.now(), language=language, charts=charts)


def make_report(
    uow: UnitOfWorkFactory,
    calendar: BusinessCalendar,
    period: Period | str,
    now: datetime,
    *,
    language: str = "en",
    charts: bool = True,
) -> Report:
    """:func:`build_report` without an application (the CLI needs no knowledge base)."""
    if isinstance(period, str):
        period = parse_period(period, now, calendar.tz)
    stats = compute_stats(uow, calendar, period, now)
    t = translator(language)
    pngs: list[tuple[str, bytes]] = []
    if charts:
        from bot.reports.charts import render_charts

        pngs = render_charts(stats, t)
    return Report(stats, render_text(stats, t, calendar.tz), pngs)


__all__ = [
    "Period",
    "Report",
    "Stats",
    "build_report",
    "calendar_of",
    "make_report",
    "parse_period",
    "period_between",
]
