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
    from bot.bootstrap import HelpdeskApp

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


def install(app: HelpdeskApp) -> None:
    """Plug the duplicate offer, follower updates, major-incident detection and problem commands in."""
    if app.notifier is None:  # pragma: no cover - bootstrap always builds one
        raise RuntimeError("the incidents feature needs the application's notifier")
    desk = DuplicateDesk(app.config, app.uow, app.clock, app.notifier, app.technician_places, app.core)
    app.core.problem_hooks.append(desk.on_new_problem)
    app.core.register_button("dup", desk.on_button)
    app.core.register_command("unfollow", desk.cmd_unfollow, usage=N_("N"), summary=N_("stop following ticket N"))
    app.notifier.watchers.append(desk)
    problems = ProblemDesk(app.uow, app.clock, app.roles, app.tickets)
    app.core.register_command(
        "problem",
        problems.cmd_problem,
        audience="technician",
        usage=N_("[new TITLE | P | resolve P TEXT]"),
        summary=N_("problem records"),
    )
    app.core.register_command(
        "link", problems.cmd_link, audience="technician", usage=N_("N P"), summary=N_("link ticket N to problem P")
    )
