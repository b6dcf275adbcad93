"""The composition root: :func:`bootstrap` wires the core once, for the CLI, every adapter and the tests.

Nothing is created at import time. Tests inject a :class:`~bot.clock.FrozenClock`, a
knowledge base of their own and fake messengers; production gets the system clock,
the configured database (migrated on start) and the configured knowledge folder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.core import HelpdeskCore, KnowledgeSearch, Outcome, always_direct
from bot.db.engine import create_db_engine, upgrade_database
from bot.db.models import Ticket
from bot.db.uow import OutboxLease, SqlUnitOfWorkFactory, unit_of_work_factory
from bot.error_policy import apology, log_unexpected
from bot.features import DueWork, FeatureContext, ScheduledJob, install_features
from bot.i18n import language_from_locale, translator
from bot.knowledge import KnowledgeBase, default_knowledge_dir
from bot.notifications import Notifier
from bot.outbox import OutboxDispatcher
from bot.port import (
    AdapterHost,
    Audience,
    DirectPolicy,
    Event,
    HelpdeskPort,
    Messenger,
    OutgoingMessage,
    Place,
    Reply,
    Role,
    User,
)
from bot.presenters import set_display_timezone
from bot.roles import RoleDirectory
from bot.tickets import TicketService

logger = logging.getLogger(__name__)


@dataclass
class HelpdeskApp:
    """Everything a running bot needs, built by :func:`bootstrap`.

    Adapters see it as an :class:`~bot.port.AdapterHost` (the inbound port and the wiring they do at
    start); features get the parts they plug into.
    """

    config: Config
    engine: Engine
    uow: SqlUnitOfWorkFactory
    clock: Clock
    roles: RoleDirectory
    knowledge: KnowledgeSearch
    tickets: TicketService
    core: HelpdeskCore
    dispatcher: OutboxDispatcher
    technician_places: list[Place] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    notifier: Notifier | None = None
    routing: Callable[[Ticket], Sequence[Place]] | None = None
    """Set by the service levels: where technicians see a ticket (category, level, complaints)."""
    service_levels: DueWork | None = None
    """Set by :func:`bot.sla.service.install`: its due actions (escalations, reminders, visits)."""
    jobs: list[ScheduledJob] = field(default_factory=list)
    """The features' background work, run by :func:`bot.scheduler.start_scheduler`."""

    direct_policies: dict[str, DirectPolicy] = field(default_factory=dict)
    """Per platform, the replies its adapter shows itself (see :meth:`deliver_directly`)."""

    def command_menu(self, audience: Audience, language: str) -> list[tuple[str, str]]:
        """The commands a platform menu offers ``audience`` in ``language`` (:meth:`HelpdeskCore.command_menu`)."""
        return self.core.command_menu(audience, language)

    def handle(self, event: Event) -> list[Reply]:
        """Run ``event`` through the pipeline (:meth:`HelpdeskCore.process`), then deliver at once.

        The outbox entries the event queues — its replies, the technicians' card, a requester's
        thread update — are written already claimed by this process's dispatcher (a lease, in the
        event's own transaction) and delivered here, after the event's single commit, in the
        caller's thread (no polling delay, no search for due entries, no claim transaction: the
        answer to a message leaves as soon as it is saved). Only when some could not be sent now is the background
        dispatcher woken. Returns the replies the adapter shows itself. An entry whose delivery
        fails stays in the outbox and is retried with backoff. Never raises: when the pipeline cannot
        run at all, the failure is logged and the apology returned (:mod:`bot.error_policy`).
        """
        lease = self.dispatcher.lease_for_event()
        try:
            outcome = self.core.process(
                event, self.direct_policies.get(event.place.platform, always_direct), lease=lease
            )
        except Exception:
            # The pipeline itself could not run (the database is unreachable): nothing was recorded, so
            # the platform's redelivery, or the user's next try, is processed afresh.
            log_unexpected("the pipeline could not run", event)
            language = language_from_locale(event.user.locale, self.config.bot.language)
            return [Reply(event.place, apology(translator(language)))]
        if outcome.queued and not (lease is not None and self._deliver_now(outcome, lease)):
            self.dispatcher.wake()
        return list(outcome.direct)

    def open_tickets_for(self, user: User) -> list[OutgoingMessage]:
        """The user's open tickets as cards (:meth:`HelpdeskCore.open_tickets_for`)."""
        return self.core.open_tickets_for(user)

    def language_of(self, user: User) -> str:
        """The user's language (:meth:`HelpdeskCore.language_of`)."""
        return self.core.language_of(user)

    def pending_question(self, user: User, place: Place) -> OutgoingMessage | None:
        """The question a conversation waits on (:meth:`HelpdeskCore.pending_question`)."""
        return self.core.pending_question(user, place)

    def is_technician(self, user_key: str) -> bool:
        """Whether ``user_key`` is a technician or a team lead (:meth:`HelpdeskCore.is_technician`)."""
        return self.core.is_technician(user_key)

    def grant_role(self, user_key: str, role: Role) -> None:
        """Give ``user_key`` a role (an adapter's configured technicians and team leads)."""
        self.roles.grant(user_key, role)

    def deliver_directly(self, platform: str, policy: DirectPolicy) -> None:
        """Let ``platform``'s adapter show the replies ``policy`` picks; every other reply goes to the outbox.

        A platform without a policy gets every reply back (the console, which shows them in the same
        process and has nothing to retry).
        """
        self.direct_policies[platform] = policy

    def open_ticket_from_form(
        self, user: User, place: Place, fields: dict[str, str], *, event_id: str = ""
    ) -> list[Reply]:
        """Open a ticket from a complete form (see :meth:`HelpdeskCore.open_ticket_from_form`), then wake the
        outbox so the confirmation and the technicians' card leave at once."""
        replies = self.core.open_ticket_from_form(user, place, fields, event_id=event_id)
        try:
            self.dispatcher.dispatch_due(chat_ids=(place.chat_id,))
        except Exception:
            logger.exception("immediate delivery to %s failed; the outbox retries it", place.chat_id)
        self.dispatcher.wake()
        return replies

    def log_call_from_form(
        self,
        technician: User,
        place: Place,
        caller: dict[str, str],
        fields: dict[str, str],
        *,
        event_id: str = "",
    ) -> list[Reply]:
        """Log a phone call from a complete form (see :meth:`HelpdeskCore.log_call_from_form`), then wake the
        outbox so the caller's confirmation and the technicians' card leave at once."""
        replies = self.core.log_call_from_form(technician, place, caller, fields, event_id=event_id)
        self.dispatcher.wake()
        return replies

    def purge_processed_events(self) -> int:
        """Forget processed events (and idle conversations) older than ``[bot] processed_events_hours``."""
        before = self.clock.now() - timedelta(hours=self.config.bot.processed_events_hours)
        with self.uow() as uow:
            count = uow.processed.purge(before)
            uow.conversations.purge_idle(before)
            uow.commit()
        return count

    def _deliver_now(self, outcome: Outcome, lease: OutboxLease) -> bool:
        """Deliver an event's leased entries; whether all it queued were sent (the rest stays in the outbox,
        retried)."""
        try:
            return self.dispatcher.deliver_leased(outcome.leased, lease) == len(outcome.queued)
        except Exception:
            logger.exception("immediate delivery of outbox entries %s failed; the outbox retries them", outcome.queued)
            return False

    def register_messenger(self, messenger: Messenger) -> None:
        """Let the outbox deliver to ``messenger.platform``."""
        self.dispatcher.register(messenger)

    def add_technician_place(self, place: Place) -> None:
        """Post new-ticket cards (and ticket updates for technicians) at ``place``."""
        if place not in self.technician_places:
            self.technician_places.append(place)

    def places_for(self, ticket: Ticket) -> Sequence[Place]:
        """Where technicians see ``ticket``."""
        if self.routing is not None:
            return list(self.routing(ticket))
        return list(self.technician_places)

    def messenger_for(self, platform: str) -> Messenger | None:
        """The messenger registered for ``platform``, if any."""
        return self.dispatcher.messenger_for(platform)

    def deliver_due(self, chat_ids: Sequence[str] | None = None) -> int:
        """Deliver the due outbox entries now (only those for ``chat_ids`` when given); how many were sent."""
        return self.dispatcher.dispatch_due(chat_ids=chat_ids)

    def dispatch_pending(self) -> int:
        """Deliver every due outbox entry now; returns how many were sent."""
        return self.dispatcher.dispatch_due()

    def close(self) -> None:
        """Release the database connections."""
        self._stop.set()
        self.engine.dispose()


def bootstrap(
    config: Config,
    *,
    clock: Clock | None = None,
    knowledge: KnowledgeSearch | None = None,
    messengers: Sequence[Messenger] = (),
    migrate: bool = True,
) -> HelpdeskApp:
    """Build the application for ``config``; apply migrations unless ``migrate=False``."""
    clock = clock or SystemClock()
    set_display_timezone(ZoneInfo(config.sla.calendar.timezone))
    engine = create_db_engine(config.database.url, echo=config.database.echo)
    if migrate:
        upgrade_database(engine)
    uow = unit_of_work_factory(engine)
    roles = RoleDirectory(config.roles.technicians, config.roles.team_leads)
    if knowledge is None:
        directory = config.knowledge.directory or default_knowledge_dir()
        knowledge = KnowledgeBase.from_directory(
            directory, threshold=config.knowledge.threshold, index_cache=config.knowledge.index_cache
        )
        logger.info("knowledge base: %d articles from %s", len(knowledge.articles), directory)
    places: list[Place] = []
    notifier = Notifier(clock, lambda ticket: app.places_for(ticket), config.bot.language)
    tickets = TicketService(uow, clock, roles, notifier)
    kb = knowledge
    core = HelpdeskCore(config=config, uow=uow, clock=clock, roles=roles, tickets=tickets, knowledge=lambda: kb)
    dispatcher = OutboxDispatcher(uow, clock, config.outbox)
    dispatcher.on_unreachable = notifier.requester_unreachable
    dispatcher.renderer = notifier.render
    dispatcher.default_language = config.bot.language
    dispatcher.for_platform = core.for_platform
    app = HelpdeskApp(
        config=config,
        engine=engine,
        uow=uow,
        clock=clock,
        roles=roles,
        knowledge=knowledge,
        tickets=tickets,
        core=core,
        dispatcher=dispatcher,
        technician_places=places,
        notifier=notifier,
    )
    for messenger in messengers:
        app.register_messenger(messenger)
    features = FeatureContext(
        config=config,
        uow=uow,
        clock=clock,
        roles=roles,
        tickets=tickets,
        notifier=notifier,
        knowledge=knowledge,
        registry=core,
        technician_places=places,
    )
    install_features(features)
    app.routing, app.service_levels, app.jobs = features.routing, features.due_work, features.jobs
    return app


def as_port(core: HelpdeskCore, app: HelpdeskApp) -> tuple[HelpdeskPort, AdapterHost]:
    """The core as the inbound port and the application as the adapters' host.

    Written down so that mypy (strict) proves :class:`HelpdeskCore` satisfies
    :class:`~bot.port.HelpdeskPort` and :class:`HelpdeskApp` satisfies :class:`~bot.port.AdapterHost`:
    a method an adapter calls that either lacks, or types differently, fails the type check here.
    """
    return core, app
