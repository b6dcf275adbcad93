"""The ``/stats`` command for team leads: ``/stats``, ``/stats 7d``, ``/stats 30d``, ``/stats 2026-03``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import InvalidCommand, PermissionDenied
from bot.i18n import N_, Translator
from bot.port import OutgoingMessage, SlashCommand
from bot.reports import build_report

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

USAGE = "/stats [7d|30d|YYYY-MM]"


def install(app: HelpdeskApp) -> None:
    """Register ``/stats`` on the core."""

    def stats(event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        if not app.roles.is_team_lead(event.user.key):
            raise PermissionDenied("Only team leads can see the statistics.")
        try:
            report = build_report(app, event.args.strip() or "7d", language=t.language, charts=False)
        except ValueError:
            raise InvalidCommand(usage=USAGE) from None
        return [OutgoingMessage(report.text)]

    app.core.register_command("stats", stats, audience="team_lead",
                              help_line=N_("/stats [7d|30d|YYYY-MM] — service desk statistics"))
