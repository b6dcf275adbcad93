"""Service levels at work: due times, scheduled reminders, escalation, visits, complaints, surveys.

:func:`install` plugs everything into a bootstrapped application (it is listed in
:data:`bot.features.INSTALLERS`): ticket hooks that set due times and count the pauses
while a ticket waits on the requester, routing of technician cards by category, support
level and type, the commands ``/escalate``, ``/visit``, ``/visits``, ``/complaint``,
``/category`` and ``/feedback``, and the buttons of visits and of the satisfaction question.

Scheduled work never lives in memory. :meth:`ServiceLevels.run_due_actions` derives the
due actions from the tickets' state in the database, creates one ``sla_actions`` row per
action (unique per ticket, kind and clock: ``INSERT … ON CONFLICT DO NOTHING``), claims
each row with one conditional UPDATE (a lease, as the outbox does) and runs it in the
transaction that marks it done. Two processes on one database therefore never run an
action twice, and after downtime every missed action runs once; when several actions of
one chain are overdue (reminders then close, warning then breach) only the last runs and
the earlier ones are recorded as skipped. APScheduler only decides *when* to look
(:func:`bot.scheduler.start_scheduler`); tests call :meth:`ServiceLevels.run_due_actions` directly.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.clock import Clock
from bot.config import SlaSection, TeamSection
from bot.core import parse_number
from bot.db.models import SlaAction, Ticket, TicketEvent, Visit
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.errors import InvalidCommand, PermissionDenied, TicketNotFound
from bot.features import FeatureContext, Registry, ScheduledJob
from bot.i18n import N_, Translator, translator
from bot.intake import ConversationState, IntakeFlow
from bot.notifications import Notifier
from bot.port import ButtonPress, OutgoingMessage, Place, SlashCommand
from bot.presenters import (
    CATEGORY_LABELS,
    VISIT_CANCELLED_PREFIX,
    VISIT_NOTE_PREFIX,
    VISIT_NOTES,
    ticket_ref,
    weekday_text,
    when_text,
)
from bot.rendering import Line, Phrase, When, later, later_plural
from bot.roles import RoleDirectory
from bot.sla.calendar import BusinessCalendar
from bot.sla.priority import IMPACTS, URGENCIES, due_times
from bot.tickets import SYSTEM, Actor, TicketService
from bot.validation import parse_ticket_number

logger = logging.getLogger(__name__)

OPEN = ("new", "in_progress", "waiting")
SURVEY_WINDOW = timedelta(days=14)
"""Tickets closed longer ago than this are not asked the satisfaction question any more."""
VISIT_HORIZON = timedelta(days=45)
"""Accepted visits further ahead than this are not looked at by the reminder scan yet."""
_LEVEL = re.compile(r"^L?([123])$", re.IGNORECASE)
_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2})(?:\s+(.*))?$", re.DOTALL)


def epoch_minutes(moment: datetime) -> int:
    """The ``seq`` of an action tied to a clock that started at ``moment`` (fits a 32-bit integer)."""
    return int(moment.timestamp() // 60)


def parse_place(text: str) -> Place:
    """``"slack:C0123"`` → ``Place("slack", "C0123")`` (validated by the configuration)."""
    platform, _, chat_id = text.partition(":")
    return Place(platform, chat_id)


@dataclass(frozen=True)
class DueAction:
    """An action that the ticket's state makes due at ``due_at``; ``chain`` groups superseding actions."""

    ticket_id: int
    kind: str
    seq: int
    due_at: datetime
    chain: str = ""


class Router:
    """Where technicians see a ticket: by type, category and support level (``[sla]`` teams).

    Complaints go to the team leads' places only. Other tickets go to their category's
    places (else L1's, else the adapters' technician places), plus the places of every
    level they were escalated to. Places configured for a team are never used as the
    general default, so a team leads' channel does not receive every ticket.
    """

    def __init__(self, config: SlaSection, default_places: Callable[[], Sequence[Place]]) -> None:
        self._config = config
        self._default = default_places
        teams = [config.team_leads, *config.levels.values(), *config.categories.values()]
        self._configured = {parse_place(p) for team in teams for p in team.places}
        self.lead_places = [parse_place(p) for p in config.team_leads.places]

    def defaults(self) -> list[Place]:
        """The adapters' technician places that no team claims."""
        return [p for p in self._default() if p not in self._configured]

    def places_for(self, ticket: Ticket) -> list[Place]:
        """The places for ``ticket``, without duplicates."""
        if ticket.type == "complaint":
            return list(self.lead_places) or self.defaults()
        category = self._config.categories.get(ticket.category)  # type: ignore[call-overload]
        level_one = self._config.levels.get("L1")
        if category is not None and category.places:
            places = [parse_place(p) for p in category.places]
        elif level_one is not None and level_one.places:
            places = [parse_place(p) for p in level_one.places]
        else:
            places = self.defaults()
        for level in range(2, ticket.support_level + 1):
            team = self._config.levels.get(f"L{level}")  # type: ignore[call-overload]
            if team is not None:
                places += [parse_place(p) for p in team.places if parse_place(p) not in places]
        return places

    def breach_places(self, ticket: Ticket) -> list[Place]:
        """Where a breach is announced: the team leads, else the ticket's technicians."""
        return list(self.lead_places) or self.places_for(ticket)


class ServiceLevels:
    """The service-level behaviour of one application (see the module docstring)."""

    def __init__(
        self,
        *,
        config: SlaSection,
        uow: UnitOfWorkFactory,
        clock: Clock,
        roles: RoleDirectory,
        tickets: TicketService,
        notifier: Notifier,
        router: Router,
        language: str,
        max_chars: int = 40_000,
    ) -> None:
        self.config = config
        self.calendar = BusinessCalendar(config.calendar)
        self.router = router
        self._uow = uow
        self._clock = clock
        self._roles = roles
        self._tickets = tickets
        self._notifier = notifier
        self._tech_language = language
        self._intake = IntakeFlow(tickets, lambda _text: "helpdesk", max_chars, clock)
        self._lock = threading.Lock()

    # -- ticket hooks (called inside the ticket's transaction) --------------------------------

    def on_open(self, ticket: Ticket) -> None:
        """Priority from the configured matrix, then the due times of that priority."""
        if ticket.impact in IMPACTS and ticket.urgency in URGENCIES:
            ticket.priority = self.config.priority.priority_for(ticket.impact, ticket.urgency)
        self._set_due_times(ticket)

    def on_priority(self, ticket: Ticket) -> None:
        """A new priority: new targets from the opening time, keeping the pauses already counted."""
        self._set_due_times(ticket)

    def on_status(self, ticket: Ticket, old: str, new: str) -> None:
        """Start the pause when the ticket waits on the requester; end it (and push the deadline) after."""
        now = self._clock.now()
        if new == "waiting" and old != "waiting":
            ticket.waiting_since = now
        elif old == "waiting" and ticket.waiting_since is not None:
            paused = self.calendar.working_time_between(ticket.waiting_since, now)
            due = ticket.resolution_due_at
            if self.config.priority.pause_when_waiting and due is not None and ticket.waiting_since < due:
                ticket.resolution_due_at = self.calendar.add_working_time(due, paused)
                ticket.paused_seconds = (ticket.paused_seconds or 0) + int(paused.total_seconds())
            ticket.waiting_since = None

    def describe_due(self, t: Translator, ticket: Ticket) -> str:
        """The estimate told to the requester when the ticket opens, in working time."""
        if ticket.response_due_at is None:
            return ""
        return t(
            "A technician will pick this up by {when} (working hours: {hours}).",
            when=when_text(t, ticket.response_due_at, self._clock.now(), tz=self.calendar.tz),
            hours=self._hours_text(t),
        )

    def _set_due_times(self, ticket: Ticket) -> None:
        due = due_times(self.calendar, ticket.created_at, ticket.priority, self.config.priority)  # type: ignore[arg-type]
        ticket.response_due_at = due.response
        resolution = due.resolution
        if ticket.paused_seconds:
            resolution = self.calendar.add_working_time(resolution, timedelta(seconds=ticket.paused_seconds))
        ticket.resolution_due_at = resolution

    def _hours_text(self, t: Translator) -> str:
        days = self.config.calendar.weekly_hours()
        first = next((i for i, d in enumerate(days) if d), 0)
        spans = days[first]
        return ", ".join(f"{s // 60:02d}:{s % 60:02d}–{e // 60:02d}:{e % 60:02d}" for s, e in spans)

    # -- the scheduler ----------------------------------------------------------------------

    def run_due_actions(self, now: datetime | None = None) -> int:
        """Find, claim and run every due action; returns how many ran (skipped ones not counted).

        Safe to call from several threads and processes at once: each action runs once.
        """
        with self._lock:
            now = now or self._clock.now()
            self._plan(now)
            with self._uow() as uow:
                due = list(uow.sla_actions.due(now))
            ran = 0
            for action_id in due:
                ran += self._run_one(action_id, now)
            return ran

    def due_actions(self, ticket: Ticket, now: datetime) -> list[DueAction]:
        """Every action the ticket's current state makes due at ``now`` or earlier."""
        cfg, cal = self.config, self.calendar
        found: list[DueAction] = []

        def add(kind: str, seq: int, at: datetime, chain: str = "") -> None:
            if at <= now:
                found.append(DueAction(ticket.id, kind, seq, at, chain or kind))

        status = ticket.status
        if status == "new" and ticket.assignee_key is None:
            reminder = timedelta(minutes=cfg.unclaimed_reminder_minutes)
            add("unclaimed", 0, cal.add_working_time(ticket.created_at, reminder))
        if status in OPEN and ticket.first_response_at is None and ticket.response_due_at is not None:
            budget = cal.working_time_between(ticket.created_at, ticket.response_due_at)
            warn_at = cal.add_working_time(ticket.response_due_at, -budget * (1 - cfg.warning_fraction))
            add("response_warning", 0, warn_at, "response")
            add("response_breach", 0, ticket.response_due_at, "response")
        running = status in ("new", "in_progress") or (status == "waiting" and not cfg.priority.pause_when_waiting)
        if running and ticket.resolution_due_at is not None:
            budget = cal.working_time_between(ticket.created_at, ticket.resolution_due_at) - timedelta(
                seconds=ticket.paused_seconds or 0
            )
            add(
                "resolution_warning",
                0,
                cal.add_working_time(ticket.resolution_due_at, -budget * (1 - cfg.warning_fraction)),
                "resolution",
            )
            add("resolution_breach", 0, ticket.resolution_due_at, "resolution")
        if status == "waiting" and ticket.waiting_since is not None:
            seq = epoch_minutes(ticket.waiting_since)
            for index, days in enumerate(cfg.waiting_reminder_days, start=1):
                add(f"waiting_reminder_{index}", seq, cal.add_working_days(ticket.waiting_since, days), "waiting")
            add("waiting_close", seq, cal.add_working_days(ticket.waiting_since, cfg.waiting_close_days), "waiting")
        if status == "resolved" and ticket.resolved_at is not None:
            add(
                "resolved_close",
                epoch_minutes(ticket.resolved_at),
                cal.add_working_days(ticket.resolved_at, cfg.resolved_close_days),
            )
        return found

    def _plan(self, now: datetime) -> None:
        """Create the rows of every due action (idempotent; superseded ones are created as skipped)."""
        after = 0
        while True:
            with self._uow() as uow:
                tickets = uow.sla_actions.tickets_on_the_clock(after_id=after)
                if not tickets:
                    break
                after = tickets[-1].id
                actions = [a for ticket in tickets for a in self.due_actions(ticket, now)]
                self._ensure(uow, actions, now)
                uow.commit()
        with self._uow() as uow:
            closed = uow.satisfaction.closed_without_survey(now - SURVEY_WINDOW)
            surveys = [DueAction(t.id, "satisfaction", 0, t.closed_at or now) for t in closed]
            visits = [
                DueAction(v.ticket_id, "visit_reminder", v.id, self._visit_reminder_at(v))
                for v in uow.visits.accepted_between(now, now + VISIT_HORIZON)
            ]
            self._ensure(uow, surveys + [v for v in visits if v.due_at <= now], now)
            uow.commit()

    @staticmethod
    def _ensure(uow: UnitOfWork, actions: list[DueAction], now: datetime) -> None:
        latest: dict[tuple[int, str], DueAction] = {}
        for action in actions:
            key = (action.ticket_id, action.chain)
            if key not in latest or action.due_at > latest[key].due_at:
                latest[key] = action
        for action in actions:
            if latest[(action.ticket_id, action.chain)] is action:
                uow.sla_actions.ensure(action.ticket_id, action.kind, action.seq, action.due_at)
            else:
                uow.sla_actions.ensure(action.ticket_id, action.kind, action.seq, action.due_at, skipped_at=now)

    def _visit_reminder_at(self, visit: Visit) -> datetime:
        """Opening time of the working day before the visit (not before the visit was agreed)."""
        day = visit.at.astimezone(self.calendar.tz).date()
        before = self.calendar.previous_working_day(day)
        intervals = self.calendar.working_intervals(before)
        start = intervals[0][0] if intervals else datetime.combine(before, datetime.min.time(), self.calendar.tz)
        return max(start, visit.created_at)

    def _run_one(self, action_id: int, now: datetime) -> int:
        lease = now + timedelta(seconds=self.config.claim_seconds)
        with self._uow() as uow:
            if not uow.sla_actions.claim(action_id, now, lease):
                return 0
            uow.commit()
        try:
            with self._uow() as uow:
                action = uow.sla_actions.get(action_id)
                ticket = uow.tickets.get(action.ticket_id, for_update=True) if action else None
                if action is None or ticket is None or action.done_at is not None:
                    return 0
                outcome = self._execute(uow, action, ticket, now)
                if not uow.sla_actions.finish(action_id, now, outcome):
                    uow.rollback()
                    return 0
                uow.commit()
        except Exception:
            # The lease expires and another round retries; nothing half-done was committed.
            logger.exception("service-level action %s failed; it will be retried", action_id)
            return 0
        if outcome == "done":
            logger.info("service-level action %s on #%s done", action.kind, action.ticket_id)
        return int(outcome == "done")

    # -- the actions ------------------------------------------------------------------------

    def _execute(self, uow: UnitOfWork, action: SlaAction, ticket: Ticket, now: datetime) -> str:
        kind = action.kind
        ref = ticket_ref(ticket.id)
        if kind == "unclaimed":
            if ticket.status != "new" or ticket.assignee_key is not None:
                return "skipped"
            line = later(
                "Reminder: {ref} “{title}” ({priority}) is still waiting for a technician.",
                ref=ref,
                title=ticket.title,
                priority=ticket.priority,
            )
            self._to_places(
                uow,
                ticket,
                self.router.places_for(ticket),
                [line],
                buttons=((later("Claim"), f"claim:{ticket.id}", "primary"),),
            )
            return "done"
        if kind in ("response_warning", "response_breach"):
            if ticket.status not in OPEN or ticket.first_response_at is not None or ticket.response_due_at is None:
                return "skipped"
            return self._warn_or_breach(uow, ticket, kind, later("pick-up"), ticket.response_due_at)
        if kind in ("resolution_warning", "resolution_breach"):
            if ticket.status not in ("new", "in_progress", "waiting") or ticket.resolution_due_at is None:
                return "skipped"
            if ticket.status == "waiting" and self.config.priority.pause_when_waiting:
                return "skipped"
            if ticket.resolution_due_at > now and kind == "resolution_breach":
                return "skipped"  # the deadline moved after a pause: a new row will come due later
            return self._warn_or_breach(uow, ticket, kind, later("resolution"), ticket.resolution_due_at)
        if kind.startswith("waiting_"):
            if (
                ticket.status != "waiting"
                or ticket.waiting_since is None
                or epoch_minutes(ticket.waiting_since) != action.seq
            ):
                return "skipped"
            close_at = self.calendar.add_working_days(ticket.waiting_since, self.config.waiting_close_days)
            if kind == "waiting_close":
                self._tickets.apply_auto_close(
                    uow,
                    ticket,
                    later_plural(
                        "{ref} is closed: it waited {count} working day for your answer. If the problem is still "
                        "there, just describe it in a new message.",
                        "{ref} is closed: it waited {count} working days for your answer. If the problem is still "
                        "there, just describe it in a new message.",
                        self.config.waiting_close_days,
                        ref=ref,
                    ),
                )
                return "done"
            self._notifier.to_requester(
                uow,
                ticket,
                [
                    later(
                        "Reminder: {ref} is waiting for your answer since {since}. Reply to this message; without an "
                        "answer the ticket closes on {when}.",
                        ref=ref,
                        since=When(ticket.waiting_since),
                        when=When(close_at),
                    )
                ],
                expects_text=True,
            )
            return "done"
        if kind == "resolved_close":
            if (
                ticket.status != "resolved"
                or ticket.resolved_at is None
                or epoch_minutes(ticket.resolved_at) != action.seq
            ):
                return "skipped"
            self._tickets.apply_auto_close(
                uow,
                ticket,
                later_plural(
                    "{ref} is closed: {count} working day passed since it was resolved. If the problem comes back, "
                    "just describe it in a new message.",
                    "{ref} is closed: {count} working days passed since it was resolved. If the problem comes back, "
                    "just describe it in a new message.",
                    self.config.resolved_close_days,
                    ref=ref,
                ),
            )
            return "done"
        if kind == "satisfaction":
            if ticket.status != "closed":
                return "skipped"
            self._notifier.to_requester(
                uow,
                ticket,
                [
                    later(
                        "How satisfied are you with how {ref} was handled? 1 = not at all, 5 = very satisfied.", ref=ref
                    )
                ],
                buttons=tuple((str(score), f"sat:{ticket.id}:{score}", None) for score in range(1, 6)),
            )
            return "done"
        if kind == "visit_reminder":
            return self._remind_visit(uow, ticket, action.seq, now)
        logger.error("unknown service-level action %r on #%s", kind, ticket.id)
        return "skipped"

    def _warn_or_breach(self, uow: UnitOfWork, ticket: Ticket, kind: str, target: Phrase, due: datetime) -> str:
        ref = ticket_ref(ticket.id)
        who: str | Phrase = ticket.assignee_name or later("nobody yet")
        if kind.endswith("_warning"):
            line = later(
                "Warning: {percent} % of the {target} time of {ref} “{title}” ({priority}) is used; due "
                "{when}. Assigned to: {who}.",
                percent=round(self.config.warning_fraction * 100),
                target=target,
                ref=ref,
                title=ticket.title,
                priority=ticket.priority,
                when=When(due),
                who=who,
            )
            self._to_places(uow, ticket, self.router.places_for(ticket), [line])
            return "done"
        line = later(
            "Service level breached: the {target} time of {ref} “{title}” ({priority}) ended {when}. "
            "Assigned to: {who}. Level: L{level}.",
            target=target,
            ref=ref,
            title=ticket.title,
            priority=ticket.priority,
            when=When(due),
            who=who,
            level=ticket.support_level,
        )
        self._to_places(uow, ticket, self.router.breach_places(ticket), [line])
        if ticket.support_level < 3 and ticket.status in OPEN:
            reason = later(
                "Automatic escalation: the {target} target was missed ({when}).", target=target, when=When(due)
            )
            self._tickets.apply_escalation(
                uow,
                ticket,
                SYSTEM,
                ticket.support_level + 1,
                reason.render(translator(self._tech_language), self._clock.now()),
                notice=reason,
            )
        return "done"

    def _remind_visit(self, uow: UnitOfWork, ticket: Ticket, visit_id: int, now: datetime) -> str:
        visit = uow.visits.get(visit_id, for_update=True)
        if visit is None or visit.status != "accepted" or visit.at <= now or visit.reminded:
            return "skipped"
        where = f" ({visit.place})" if visit.place else ""
        self._notifier.to_requester(
            uow,
            ticket,
            [
                later(
                    "Reminder: {name} comes for {ref} on {when}{where}.",
                    name=visit.technician_name,
                    ref=ticket_ref(ticket.id),
                    when=When(visit.at),
                    where=where,
                )
            ],
        )
        self._to_technician(
            uow,
            visit,
            ticket,
            later(
                "Reminder: visit for {ref} “{title}” on {when}{where}; contact: {contact}.",
                ref=ticket_ref(ticket.id),
                title=ticket.title,
                when=When(visit.at),
                where=where,
                contact=" · ".join(v for v in (ticket.contact_name, ticket.contact_phone) if v) or "—",
            ),
        )
        visit.reminded = True
        return "done"

    def _to_places(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        places: Sequence[Place],
        lines: Sequence[Line],
        *,
        buttons: Sequence[tuple[Phrase | str, str, str | None]] = (),
    ) -> None:
        """A technicians' notice in each place, written in each place's language on delivery."""
        for place in places:
            self._notifier.direct(uow, place, lines, ticket, buttons=buttons)

    def _to_technician(
        self,
        uow: UnitOfWork,
        visit: Visit,
        ticket: Ticket,
        line: Phrase,
        buttons: Sequence[tuple[Phrase | str, str, str | None]] = (),
    ) -> None:
        """A notice for the technician of ``visit``, where they planned it, written in their language on delivery."""
        self._notifier.direct(
            uow,
            Place(visit.technician_platform, visit.technician_chat_id),
            [line],
            ticket,
            reader=visit.technician_key,
            buttons=buttons,
        )

    # -- commands and buttons ---------------------------------------------------------------

    def register(self, core: Registry) -> None:
        """Add the commands and buttons to the core."""
        core.register_command(
            "escalate",
            self.cmd_escalate,
            audience="technician",
            usage=N_("N [L2|L3] reason"),
            summary=N_("hand the ticket over to the next level"),
        )
        core.register_command(
            "visit",
            self.cmd_visit,
            audience="technician",
            usage=N_("N YYYY-MM-DD HH:MM [place]"),
            summary=N_("plan an on-site visit"),
        )
        core.register_command(
            "visits", self.cmd_visits, audience="technician", summary=N_("your upcoming on-site visits")
        )
        core.register_command("complaint", self.cmd_complaint, summary=N_("make a complaint to the team leads"))
        core.register_command(
            "category",
            self.cmd_category,
            audience="technician",
            usage=N_("N helpline|helpdesk"),
            summary=N_("route the ticket to the other team"),
        )
        core.register_command(
            "feedback", self.cmd_feedback, usage=N_("N [1-5] comment"), summary=N_("rate how ticket N was handled")
        )
        core.register_button("visit", self.button_visit)
        core.register_button("sat", self.button_satisfaction)

    def cmd_escalate(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/escalate N [L2|L3] handover note``: the level's team gets the card and the note."""
        usage = "/escalate N [L2|L3] reason"
        number, rest = parse_number(event.args, usage)
        self._roles.require_technician(event.user.key)
        head, _, tail = rest.partition(" ")
        match = _LEVEL.match(head)
        with self._uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None:
                raise TicketNotFound(number=number)
            current = ticket.support_level
        if match:
            level, reason = int(match.group(1)), tail.strip()
        else:
            level, reason = current + 1, rest
        self._tickets.escalate(event.user, number, level, reason)
        return [
            OutgoingMessage(
                t(
                    "{ref} is escalated to L{level}; that team has the card and your note.",
                    ref=ticket_ref(number),
                    level=level,
                )
            )
        ]

    def cmd_visit(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/visit N YYYY-MM-DD HH:MM [place]``: a technician proposes, a requester counter-proposes."""
        usage = "/visit N YYYY-MM-DD HH:MM [place]"
        number, rest = parse_number(event.args, usage)
        if rest.strip().lower() == "cancel":
            return self._cancel_visit(event, number, t)
        match = _DATE_TIME.match(rest)
        if match is None:
            raise InvalidCommand(usage=usage)
        at = self._parse_local(match.group(1), match.group(2), usage)
        where = (match.group(3) or "").strip()[:200]
        now = self._clock.now()
        if at <= now:
            raise InvalidCommand(
                "{when} is in the past. Choose a date to come.",
                when=when_text(t, at, self._clock.now(), tz=self.calendar.tz),
            )
        if not self.calendar.is_within_working_hours(at, timedelta(minutes=self.config.visit_minutes)):
            raise InvalidCommand(
                "{when} is outside the working hours ({hours} on {day}). Choose another time.",
                when=when_text(t, at, self._clock.now(), tz=self.calendar.tz),
                hours=self._day_hours(t, at),
                day=weekday_text(t, at, tz=self.calendar.tz),
            )
        user = event.user
        technician = self._roles.is_technician(user.key)
        with self._uow() as uow:
            ticket = uow.tickets.get(number, for_update=True)
            if ticket is None or (not technician and ticket.requester_key != user.key):
                raise TicketNotFound(number=number)
            if ticket.status not in OPEN:
                raise InvalidCommand(
                    "Ticket #{number} is {status}: no visit can be planned.", number=number, status=ticket.status
                )
            if technician and ticket.requester_key != user.key:
                visit = uow.visits.add(
                    Visit(
                        ticket_id=number,
                        technician_key=user.key,
                        technician_name=user.display_name or user.id,
                        technician_platform=event.place.platform,
                        technician_chat_id=event.place.chat_id,
                        at=at,
                        place=where,
                        status="proposed",
                        proposed_by="technician",
                        reminded=False,
                        created_at=now,
                    )
                )
                self._decline_open(uow, number, keep=visit.id)
                self._notifier.to_requester(
                    uow,
                    ticket,
                    [
                        later(
                            "{ref}: {name} proposes an on-site visit on {when}{where}. Does it suit you?",
                            ref=ticket_ref(number),
                            name=visit.technician_name,
                            when=When(at),
                            where=f" ({where})" if where else "",
                        )
                    ],
                    buttons=self._visit_buttons(visit.id),
                )
                self._visit_note(uow, ticket, Actor.of(user), VISIT_NOTE_PREFIX, at, t)
                uow.commit()
                return [
                    OutgoingMessage(
                        t(
                            "Visit for {ref} proposed for {when}; I will tell you the answer here.",
                            ref=ticket_ref(number),
                            when=when_text(t, at, self._clock.now(), tz=self.calendar.tz),
                        )
                    )
                ]
            previous = uow.visits.for_ticket(number)
            if not previous:
                raise InvalidCommand(
                    "No visit is planned for ticket #{number} yet: the technician proposes one first.", number=number
                )
            last = previous[-1]
            visit = uow.visits.add(
                Visit(
                    ticket_id=number,
                    technician_key=last.technician_key,
                    technician_name=last.technician_name,
                    technician_platform=last.technician_platform,
                    technician_chat_id=last.technician_chat_id,
                    at=at,
                    place=where or last.place,
                    status="proposed",
                    proposed_by="requester",
                    reminded=False,
                    created_at=now,
                )
            )
            self._decline_open(uow, number, keep=visit.id)
            self._to_technician(
                uow,
                visit,
                ticket,
                later(
                    "{ref}: {name} proposes another date for the visit: {when}{where}.",
                    ref=ticket_ref(number),
                    name=ticket.requester_name,
                    when=When(at),
                    where=f" ({visit.place})" if visit.place else "",
                ),
                self._visit_buttons(visit.id),
            )
            self._visit_note(uow, ticket, Actor.of(user), VISIT_NOTE_PREFIX, at, t)
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "I proposed {when} to {name}; the answer will come here.",
                    when=when_text(t, at, self._clock.now(), tz=self.calendar.tz),
                    name=visit.technician_name,
                )
            )
        ]

    def ticket_update(self, uow: UnitOfWork, ticket: Ticket, action: str, detail: str) -> None:
        """A ticket cancelled or closed (also automatically) takes its visits still ahead with it: they are
        cancelled (a mail requester's calendar gets the iCalendar cancellation with the notice) and the
        visit's technician is told."""
        if action not in ("cancel", "close", "auto_close"):
            return
        now = self._clock.now()
        planned = [v for v in uow.visits.for_ticket(ticket.id) if v.status in ("proposed", "accepted") and v.at > now]
        for visit in planned:
            visit.status = "cancelled"
            if action == "cancel":
                line = later(
                    "{ref} is cancelled: the visit on {when} is cancelled too.",
                    ref=ticket_ref(ticket.id),
                    when=When(visit.at),
                )
            else:
                line = later(
                    "{ref} is closed: the visit on {when} is cancelled.", ref=ticket_ref(ticket.id), when=When(visit.at)
                )
            self._to_technician(uow, visit, ticket, line)

    def _cancel_visit(self, event: SlashCommand, number: int, t: Translator) -> list[OutgoingMessage]:
        """``/visit N cancel``: a technician cancels the ticket's visit still ahead; the requester is told
        (by mail, with an iCalendar cancellation of the invitation)."""
        self._roles.require_technician(event.user.key)
        now = self._clock.now()
        with self._uow() as uow:
            ticket = uow.tickets.get(number, for_update=True)
            if ticket is None:
                raise TicketNotFound(number=number)
            planned = [v for v in uow.visits.for_ticket(number) if v.status in ("proposed", "accepted") and v.at > now]
            if not planned:
                raise InvalidCommand("No visit is planned for ticket #{number}.", number=number)
            for visit in planned:
                visit.status = "cancelled"
            visit = planned[-1]
            self._notifier.to_requester(
                uow,
                ticket,
                [
                    later(
                        "{ref}: the on-site visit on {when} is cancelled.", ref=ticket_ref(number), when=When(visit.at)
                    )
                ],
            )
            self._visit_note(uow, ticket, Actor.of(event.user), VISIT_CANCELLED_PREFIX, visit.at, t)
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "The visit for {ref} on {when} is cancelled; the requester is told.",
                    ref=ticket_ref(number),
                    when=when_text(t, visit.at, now, tz=self.calendar.tz),
                )
            )
        ]

    def button_visit(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        """``visit:ok:ID`` / ``visit:other:ID``: the side that did not propose answers."""
        choice, _, id_text = rest.partition(":")
        visit_id = parse_ticket_number(id_text)
        if visit_id is None or choice not in ("ok", "other"):
            return [OutgoingMessage(t("That button is no longer active."), ephemeral=True)]
        user = event.user
        now = self._clock.now()
        with self._uow() as uow:
            visit = uow.visits.get(visit_id, for_update=True)
            ticket = uow.tickets.get(visit.ticket_id) if visit else None
            if visit is None or ticket is None:
                return [OutgoingMessage(t("That button is no longer active."), ephemeral=True)]
            answering_requester = visit.proposed_by == "technician"
            allowed = user.key == ticket.requester_key if answering_requester else self._roles.is_technician(user.key)
            if not allowed:
                raise PermissionDenied("Only the other party can answer this visit proposal.")
            if visit.status != "proposed" or visit.at <= now:
                return [OutgoingMessage(t("This proposal was already answered."), ephemeral=True)]
            usage = f"/visit {ticket.id} YYYY-MM-DD HH:MM"
            accepted = choice == "ok"
            visit.status = "accepted" if accepted else "declined"
            if answering_requester:
                said: dict[str, str | int | Phrase | When] = {
                    "ref": ticket_ref(ticket.id),
                    "name": ticket.requester_name,
                    "when": When(visit.at),
                }
                note = (
                    later("{ref}: {name} accepts the visit on {when}.", **said)
                    if accepted
                    else later(
                        "{ref}: {name} asks for another date than {when}. Propose one with {usage}.",
                        **said,
                        usage=usage,
                    )
                )
                self._to_technician(uow, visit, ticket, note)
            else:
                said = {"ref": ticket_ref(ticket.id), "name": visit.technician_name, "when": When(visit.at)}
                note = (
                    later("{ref}: {name} confirms the visit on {when}.", **said)
                    if accepted
                    else later("{ref}: {name} cannot come on {when} and will propose another date.", **said)
                )
                self._notifier.to_requester(uow, ticket, [note])
            reply = (
                t(
                    "The visit on {when} is confirmed. A reminder comes the working day before.",
                    when=when_text(t, visit.at, self._clock.now(), tz=self.calendar.tz),
                )
                if accepted
                else t(
                    "Which date suits you? Send it as {usage} (working hours: {hours}).",
                    usage=usage,
                    hours=self._hours_text(t),
                )
            )
            uow.commit()
        return [OutgoingMessage(reply)]

    def cmd_visits(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/visits``: the technician's upcoming visits."""
        self._roles.require_technician(event.user.key)
        with self._uow() as uow:
            visits = uow.visits.upcoming_for(event.user.key, self._clock.now())
            rows = [(v, uow.tickets.get(v.ticket_id)) for v in visits]
        if not rows:
            return [OutgoingMessage(t("You have no upcoming visit."))]
        labels = {"proposed": t("proposed"), "accepted": t("confirmed")}
        lines = [t("Your upcoming visits:")]
        for visit, ticket in rows:
            title = ticket.title if ticket else ""
            where = f" · {visit.place}" if visit.place else ""
            when = when_text(t, visit.at, self._clock.now(), tz=self.calendar.tz)
            status = labels.get(visit.status, visit.status)
            lines.append(f"{when} · {ticket_ref(visit.ticket_id)} {title}{where} · {status}")
        return [OutgoingMessage("\n".join(lines))]

    def cmd_complaint(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/complaint [what happened]``: a complaint-type ticket through the intake, for the team leads."""
        conv = ConversationState()
        messages = self._intake.start(
            conv, event.user, event.args.strip(), t, event.attachments, ticket_type="complaint"
        )
        with self._uow() as uow:
            uow.conversations.save(
                event.place.platform, event.place.chat_id, event.user.id, conv.state, conv.data, self._clock.now()
            )
            uow.commit()
        note = OutgoingMessage(t("Your complaint goes to the team leads only. Let's describe it."))
        return [note, *messages[1:]]

    def cmd_category(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/category N helpline|helpdesk``: move the ticket to the other team."""
        usage = "/category N helpline|helpdesk"
        number, category = parse_number(event.args, usage)
        category = category.strip().lower()
        if category not in CATEGORY_LABELS:
            raise InvalidCommand(usage=usage)
        self._roles.require_technician(event.user.key)
        with self._uow() as uow:
            ticket = uow.tickets.get(number, for_update=True)
            if ticket is None:
                raise TicketNotFound(number=number)
            old = ticket.category
            if old != category:
                ticket.category = category
                ticket.updated_at = self._clock.now()
                uow.events.add(
                    TicketEvent(
                        ticket_id=number,
                        at=self._clock.now(),
                        actor_key=event.user.key,
                        actor_name=event.user.display_name or event.user.id,
                        kind="category",
                        from_value=old,
                        to_value=category,
                        text="",
                    )
                )
                self._notifier.card_changed(uow, ticket)
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "{ref} is now in the category {category}.",
                    ref=ticket_ref(number),
                    category=t(CATEGORY_LABELS[category]),
                )
            )
        ]

    def button_satisfaction(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        """``sat:N:score``: the requester's score for a closed ticket."""
        number_text, _, score_text = rest.partition(":")
        number = parse_ticket_number(number_text)
        if number is None or score_text not in ("1", "2", "3", "4", "5"):
            return [OutgoingMessage(t("That button is no longer active."), ephemeral=True)]
        self._save_feedback(event.user.key, number, int(score_text), None)
        return [
            OutgoingMessage(t("Thank you! Anything to add? Send /feedback {number} and your comment.", number=number))
        ]

    def cmd_feedback(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/feedback N [1-5] comment``: the satisfaction score and/or comment of a closed ticket."""
        usage = "/feedback N [1-5] comment"
        number, rest = parse_number(event.args, usage)
        head, _, tail = rest.partition(" ")
        score = int(head) if head in ("1", "2", "3", "4", "5") else None
        comment = (tail if score is not None else rest).strip()
        if score is None and not comment:
            raise InvalidCommand(usage=usage)
        self._save_feedback(event.user.key, number, score, comment or None)
        return [OutgoingMessage(t("Thank you for your feedback on {ref}.", ref=ticket_ref(number)))]

    # -- helpers ----------------------------------------------------------------------------

    def _save_feedback(self, user_key: str, number: int, score: int | None, comment: str | None) -> None:
        with self._uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None or ticket.requester_key != user_key:
                raise TicketNotFound(number=number)
            if ticket.status != "closed":
                raise InvalidCommand("Ticket #{number} is not closed yet: feedback comes after closing.", number=number)
            if score is None and uow.satisfaction.get(number) is None:
                raise InvalidCommand("Give a score first: /feedback {number} 1-5 and your comment.", number=number)
            uow.satisfaction.save(number, self._clock.now(), score=score, comment=comment)
            uow.commit()

    def _parse_local(self, day: str, clock_time: str, usage: str) -> datetime:
        try:
            parsed = datetime.strptime(f"{day} {clock_time}", "%Y-%m-%d %H:%M")
        except ValueError:
            raise InvalidCommand(usage=usage) from None
        local = parsed.replace(tzinfo=self.calendar.tz)
        return local.astimezone(UTC)

    def _day_hours(self, t: Translator, moment: datetime) -> str:
        day: date = moment.astimezone(self.calendar.tz).date()
        holiday = self.calendar.holiday_name(day)
        if holiday:
            return t("closed: {holiday}", holiday=holiday)
        spans = self.calendar.working_intervals(day)
        if not spans:
            return t("closed")
        return ", ".join(f"{s:%H:%M}–{e:%H:%M}" for s, e in spans)

    @staticmethod
    def _visit_buttons(visit_id: int) -> tuple[tuple[Phrase | str, str, str | None], ...]:
        return (
            (later("OK"), f"visit:ok:{visit_id}", "primary"),
            (later("Another date, please"), f"visit:other:{visit_id}", None),
        )

    @staticmethod
    def _decline_open(uow: UnitOfWork, ticket_id: int, *, keep: int) -> None:
        for visit in uow.visits.for_ticket(ticket_id):
            if visit.id != keep and visit.status == "proposed":
                visit.status = "declined"

    def _event(self, uow: UnitOfWork, ticket: Ticket, actor: Actor, text: str, marker: str | None = None) -> None:
        uow.events.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=self._clock.now(),
                actor_key=actor.key,
                actor_name=actor.name,
                kind="note",
                to_value=marker,
                text=text,
            )
        )

    def _visit_note(
        self, uow: UnitOfWork, ticket: Ticket, actor: Actor, prefix: str, at: datetime, t: Translator
    ) -> None:
        """The history note that the visit at ``at`` was proposed or cancelled (``prefix``, see
        :data:`bot.presenters.VISIT_NOTES`), shown in each reader's language; its text is kept for exports."""
        self._event(uow, ticket, actor, t(VISIT_NOTES[prefix], when=at.isoformat()), f"{prefix}{at.isoformat()}")


def _grant_team(roles: RoleDirectory, team: TeamSection, role: str) -> None:
    for key in team.technicians:
        roles.grant(key, "team_lead" if role == "team_lead" else "technician")


def install(ctx: FeatureContext) -> None:
    """Plug the service levels in: hooks, routing, roles, commands, buttons and their scheduled round."""
    config = ctx.config.sla
    router = Router(config, lambda: list(ctx.technician_places))
    service = ServiceLevels(
        config=config,
        uow=ctx.uow,
        clock=ctx.clock,
        roles=ctx.roles,
        tickets=ctx.tickets,
        notifier=ctx.notifier,
        router=router,
        language=ctx.config.bot.language,
        max_chars=ctx.config.bot.max_message_chars,
    )
    _grant_team(ctx.roles, config.team_leads, "team_lead")
    for team in (*config.levels.values(), *config.categories.values()):
        _grant_team(ctx.roles, team, "technician")
    ctx.routing = router.places_for
    ctx.due_work = service
    ctx.tickets.hooks = service
    ctx.notifier.watchers.append(service)
    ctx.notifier.describe_due = service.describe_due
    service.register(ctx.registry)
    ctx.jobs.append(
        ScheduledJob(
            "service-levels",
            service.run_due_actions,
            timedelta(seconds=config.poll_seconds),
            failed="service-level round failed; retrying at the next one",
        )
    )
