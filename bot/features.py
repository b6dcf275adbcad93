"""Feature modules that plug extra commands, buttons and scheduled work into the core.

Each feature exposes ``install(ctx: FeatureContext) -> None``; :func:`bot.bootstrap.bootstrap`
calls every installer listed in :data:`INSTALLERS`, in order, with one :class:`FeatureContext`:
the narrow set of things a feature may plug into — the command and button registry, the
unit-of-work factory, the clock, the notifier and its hook lists, the scheduled jobs — never the
whole :class:`~bot.bootstrap.HelpdeskApp`. So no feature imports the composition root, and the
composition root imports no feature (the installers are found by name): no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module
from typing import Protocol

from bot.clock import Clock
from bot.config import Config
from bot.core import HelpdeskCore, KnowledgeSearch
from bot.db.models import Ticket
from bot.db.uow import SqlUnitOfWorkFactory, UnitOfWorkFactory
from bot.i18n import Translator
from bot.notifications import Notifier
from bot.port import Audience, OutgoingMessage, Place, TextMessage
from bot.roles import RoleDirectory
from bot.tickets import TicketService

INSTALLERS: list[str] = [
    # "module.path:function" — add one line per feature.
    "bot.kb_lifecycle:install",
    "bot.incidents:install",
    "bot.sla.service:install",
    "bot.reports.feature:install",
]


@dataclass(frozen=True)
class ScheduledJob:
    """Work a running bot does every ``interval`` (first ``first_in`` after the start), in the background.

    One run at a time, missed runs coalesced; a failure is logged with ``failed`` and retried at the next
    run. When ``wakes`` and the work returns something truthy (it queued messages), the outbox is woken.
    """

    id: str
    work: Callable[[], object]
    interval: timedelta
    first_in: timedelta = timedelta(0)
    failed: str = "scheduled job failed; retrying at the next run"
    wakes: bool = True


class Desk(Protocol):
    """What a report reads: the configuration (calendar), the database and the clock — the running
    application or a feature's context (:class:`bot.features.FeatureContext`) alike."""

    @property
    def config(self) -> Config:
        """The configuration."""
        ...

    @property
    def uow(self) -> UnitOfWorkFactory:
        """Opens units of work."""
        ...

    @property
    def clock(self) -> Clock:
        """The clock."""
        ...


class DueWork(Protocol):
    """The service levels' due actions, which the embedded console also runs between lines."""

    def run_due_actions(self) -> int:
        """Run what is due now; how many actions ran."""
        ...


class Registry(Protocol):
    """The core's registration surface: commands, buttons, the hooks on a new problem, the knowledge base."""

    problem_hooks: list[HelpdeskCore.ProblemHook]

    def register_command(
        self,
        name: str,
        handler: HelpdeskCore.CommandHandler,
        *,
        audience: Audience = "everyone",
        usage: str = "",
        summary: str = "",
    ) -> None:
        """Add a slash command (see :meth:`bot.core.HelpdeskCore.register_command`)."""
        ...

    def register_button(self, prefix: str, handler: HelpdeskCore.ButtonHandler) -> None:
        """Route button values ``prefix:…`` to ``handler``."""
        ...

    def use_knowledge(self, knowledge: Callable[[], KnowledgeSearch]) -> None:
        """Search this knowledge base from now on."""
        ...

    def continue_problem(self, event: TextMessage, t: Translator) -> list[OutgoingMessage]:
        """Carry on with a new problem a hook let through: knowledge-base suggestions, then the intake."""
        ...


@dataclass
class FeatureContext:
    """What a feature plugs into, and what it leaves for the application (routing, due work, jobs)."""

    config: Config
    uow: SqlUnitOfWorkFactory
    clock: Clock
    roles: RoleDirectory
    tickets: TicketService
    notifier: Notifier
    knowledge: KnowledgeSearch
    """The knowledge base as loaded (a feature may rank it: :meth:`Registry.use_knowledge`)."""
    registry: Registry
    """Commands, buttons, problem hooks and the knowledge base searched (:class:`bot.core.HelpdeskCore`)."""
    technician_places: Sequence[Place]
    """Where new-ticket cards go (the adapters add to it while they start)."""
    jobs: list[ScheduledJob] = field(default_factory=list)
    """Background work the scheduler runs (:func:`bot.scheduler.start_scheduler`)."""
    routing: Callable[[Ticket], Sequence[Place]] | None = None
    """Set by a feature that decides where technicians see a ticket (the service levels)."""
    due_work: DueWork | None = None
    """Set by the service levels: what the embedded console runs between lines."""


def install_features(ctx: FeatureContext) -> None:
    """Run every feature installer with ``ctx``."""
    for target in INSTALLERS:
        module_name, _, function = target.partition(":")
        installer: Callable[[FeatureContext], None] = getattr(import_module(module_name), function)
        installer(ctx)
