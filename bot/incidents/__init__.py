"""Duplicate reports, major incidents and problem records (installed by :func:`install`).

* A new report that resembles an open ticket opened in the last ``[incidents] duplicate_hours``
  is offered "Same problem as #N? Follow it": followers get the ticket's status updates in
  their own chat; ``/unfollow N`` stops them.
* ``[incidents] major_reports`` similar reports from different people within ``major_minutes``
  flag a major incident to the technicians' places and open a problem record.
* ``/problem``, ``/problem new TITLE``, ``/problem P``, ``/link N P`` and
  ``/problem resolve P TEXT`` (technicians) manage problem records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import N_
from bot.incidents.duplicates import DuplicateDesk, MajorIncident, follower_text
from bot.incidents.problems import ProblemDesk, parse_problem, problem_ref
from bot.incidents.similarity import Signature, signature, similarity, text_similarity

if TYPE_CHECKING:
    from bot.features import FeatureContext

__all__ = [
    "DuplicateDesk",
    "MajorIncident",
    "ProblemDesk",
    "Signature",
    "follower_text",
    "install",
    "parse_problem",
    "problem_ref",
    "signature",
    "similarity",
    "text_similarity",
]


def install(ctx: FeatureContext) -> None:
    """Plug the duplicate offer, follower updates, major-incident detection and problem commands in."""
    desk = DuplicateDesk(ctx.config, ctx.uow, ctx.clock, ctx.notifier, ctx.technician_places, ctx.registry)
    ctx.registry.problem_hooks.append(desk.on_new_problem)
    ctx.registry.register_button("dup", desk.on_button)
    ctx.registry.register_command("unfollow", desk.cmd_unfollow, usage=N_("N"), summary=N_("stop following ticket N"))
    ctx.notifier.watchers.append(desk)
    problems = ProblemDesk(ctx.uow, ctx.clock, ctx.roles, ctx.tickets)
    ctx.registry.register_command(
        "problem",
        problems.cmd_problem,
        audience="technician",
        usage=N_("[new TITLE | P | resolve P TEXT]"),
        summary=N_("problem records"),
    )
    ctx.registry.register_command(
        "link", problems.cmd_link, audience="technician", usage=N_("N P"), summary=N_("link ticket N to problem P")
    )
