"""The service desk's numbers over a period, computed from the ticket store.

Definitions (every figure of :class:`Stats` follows them; the tests check each one by hand):

* **Period** — ``[start, end)``: start included, end excluded, timezone-aware.
* **Opened** — tickets whose ``created_at`` falls in the period; the counts by category,
  type, priority, platform (``origin_platform``) and channel (``channel``: how the request came —
  console, slack, telegram, email, or phone for a call a technician logged) are over them.
* **First response** — for opened tickets that have a ``first_response_at``: the working
  time between creation and first technician action, on the business calendar.
* **Resolved** — tickets with at least one status event to ``resolved`` in the period (the
  audit trail, so a ticket resolved, reopened and resolved again counts once). Resolution
  time is the working time from creation to the *last* resolution in the period; the
  "within 8 / 24 working hours" shares are over the resolved tickets.
* **Percentiles** — the median is the usual one (mean of the two middle values for an even
  count); p90 is the nearest-rank percentile: the ``ceil(0.9 × n)``-th smallest value.
* **SLA compliance** — over opened tickets that are not cancelled and carry a due time.
  Response: met when the first response came at or before ``response_due_at``; breached when
  it came later, or has not come and the due time is past. Resolution: the same with
  ``resolved_at`` and ``resolution_due_at`` (a ticket waiting on its requester is never
  counted breached while it waits, since its clock is paused). Others are pending and excluded.
* **Backlog** — tickets open (new, in progress, waiting) at ``as_of`` = the end of the period,
  or now when the period is not over; status at that moment is rebuilt from the audit trail.
  Age buckets are in calendar days since creation.
* **Deflection** — knowledge-base suggestions shown in the period: *confirmed* when the user
  pressed "This solved it"; *none* when they said "not solved", or the suggestion led to a
  ticket, or the same user opened any ticket within a day; *potential* when none of that
  happened within a day (never counted as a success); *pending* when that day is not over.
* **First-contact resolution** — a resolved ticket that never waited on its requester, was
  never escalated, had at most one assignment and was not reopened before that resolution.
* **Reopen rate** — share of resolved tickets reopened within 7 days (calendar) of one of
  their resolutions in the period.
* **Satisfaction** — answers recorded in the period: count and mean score (1–5).
* **Load per technician** — resolutions in the period by who resolved (the scheduler's
  automatic closings excluded), and open tickets assigned to each technician now.
* **Top recurring issues** — opened tickets grouped greedily by the similarity of their
  titles (rapidfuzz ``token_set_ratio`` on normalised titles without stop words, ≥ 80):
  titles survive anonymisation, so the clusters do too.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy import or_, select

from bot.db.models import Satisfaction, SuggestionLog, Ticket, TicketEvent
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.knowledge.text import is_stop_word, tokenise
from bot.sla.calendar import BusinessCalendar

OPEN = ("new", "in_progress", "waiting")
BACKLOG_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<1d", 0.0, 1.0),
    ("1-3d", 1.0, 3.0),
    ("3-7d", 3.0, 7.0),
    ("7-30d", 7.0, 30.0),
    (">30d", 30.0, math.inf),
)
"""Backlog age buckets: label, from (included) and to (excluded), in calendar days."""
CLUSTER_THRESHOLD = 80.0
REOPEN_WINDOW = timedelta(days=7)
DEFLECTION_WINDOW = timedelta(days=1)
SYSTEM_ACTOR = "system"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` with a label for titles and file names."""

    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True)
class Durations:
    """A distribution of durations in working hours."""

    count: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: Sequence[float]) -> Durations:
        """Median and nearest-rank p90 of ``hours`` (``None`` when empty)."""
        if not hours:
            return cls(0, None, None)
        ordered = sorted(hours)
        return cls(
            len(ordered),
            round(statistics.median(ordered), 4),
            round(ordered[math.ceil(0.9 * len(ordered)) - 1], 4),
        )


@dataclass(frozen=True)
class Ratio:
    """``part`` out of ``whole``; ``share`` is ``None`` when ``whole`` is 0."""

    part: int
    whole: int

    @property
    def share(self) -> float | None:
        """``part / whole`` or ``None``."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class SlaCompliance:
    """Due times met and breached (pending ones excluded)."""

    response: Ratio
    resolution: Ratio
    response_pending: int = 0
    resolution_pending: int = 0


@dataclass(frozen=True)
class Deflection:
    """What came of the knowledge-base suggestions shown in the period."""

    shown: int
    confirmed: int
    potential: int
    none: int
    pending: int

    @property
    def decided(self) -> int:
        """Suggestions whose outcome is known (pending excluded)."""
        return self.confirmed + self.potential + self.none


@dataclass(frozen=True)
class Satisfied:
    """Satisfaction answers: how many and their mean score."""

    count: int
    average: float | None


@dataclass(frozen=True)
class TechnicianLoad:
    """One technician's resolutions in the period and open tickets now."""

    key: str
    name: str
    resolved: int
    open: int


@dataclass(frozen=True)
class IssueCluster:
    """Tickets of the period whose titles say the same thing."""

    title: str
    count: int
    tickets: tuple[int, ...]


@dataclass(frozen=True)
class Stats:
    """Every figure of a report (see the module docstring for the definitions)."""

    period: Period
    generated_at: datetime
    opened: int
    by_category: dict[str, int]
    by_type: dict[str, int]
    by_priority: dict[str, int]
    by_platform: dict[str, int]
    first_response: Durations
    resolution: Durations
    resolved: int
    within_8h: Ratio
    within_24h: Ratio
    sla: SlaCompliance
    backlog_as_of: datetime
    backlog: dict[str, int]
    deflection: Deflection
    first_contact: Ratio
    reopened: Ratio
    satisfaction: Satisfied
    technicians: list[TechnicianLoad]
    top_issues: list[IssueCluster]
    weekly_volume: dict[date, dict[str, int]] = field(default_factory=dict)
    """Opened tickets per week (Monday, local date) and category: the volume chart."""
    by_channel: dict[str, int] = field(default_factory=dict)
    """Opened tickets by the channel they came by (console, slack, telegram, email, phone)."""
    weekly_sla: dict[date, SlaCompliance] = field(default_factory=dict)
    """SLA compliance per week of creation: the compliance chart."""

    @property
    def backlog_total(self) -> int:
        """Open tickets at ``backlog_as_of``."""
        return sum(self.backlog.values())


# -- periods ------------------------------------------------------------------------------------


def period_between(since: date, until: date, tz: ZoneInfo, label: str | None = None) -> Period:
    """From ``since`` 00:00 to the end of ``until`` (included), in the desk's time zone."""
    if until < since:
        raise ValueError(f"the period ends ({until}) before it starts ({since})")
    start = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return Period(start.astimezone(UTC), end.astimezone(UTC), label or f"{since.isoformat()}_{until.isoformat()}")


def parse_period(spec: str, now: datetime, tz: ZoneInfo) -> Period:
    """``7d`` / ``30d`` (the last N days up to now), ``YYYY-MM`` (a calendar month) → a period.

    An empty ``spec`` means ``7d``. Raises :class:`ValueError` for anything else.
    """
    spec = spec.strip().lower() or "7d"
    if spec.endswith("d") and spec[:-1].isdigit():
        days = int(spec[:-1])
        if not 1 <= days <= 366:
            raise ValueError("the number of days must be between 1 and 366")
        return Period(now - timedelta(days=days), now, spec)
    parts = spec.split("-")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        year, month = int(parts[0]), int(parts[1])
        if not 1 <= month <= 12:
            raise ValueError(f"{spec!r}: the month must be between 01 and 12")
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return period_between(first, following - timedelta(days=1), tz, spec)
    raise ValueError(f"{spec!r} is not a period: use 7d, 30d or YYYY-MM")


# -- computation --------------------------------------------------------------------------------


def compute_stats(uow_factory: UnitOfWorkFactory, calendar: BusinessCalendar, period: Period, now: datetime) -> Stats:
    """Every figure for ``period``, as known at ``now`` (read-only)."""
    with uow_factory() as uow:
        return _Computation(uow, calendar, period, now).run()


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def _week_of(moment: datetime, tz: ZoneInfo) -> date:
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


class _Computation:
    """One report's queries and arithmetic, sharing the loaded rows."""

    def __init__(self, uow: UnitOfWork, calendar: BusinessCalendar, period: Period, now: datetime) -> None:
        self.session = uow.session
        self.calendar = calendar
        self.period = period
        self.now = now
        self.as_of = min(period.end, now)

    def run(self) -> Stats:
        start, end = self.period.start, self.period.end
        opened = list(
            self.session.scalars(
                select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end).order_by(Ticket.id)
            )
        )
        resolve_events = list(
            self.session.scalars(
                select(TicketEvent)
                .where(
                    TicketEvent.kind == "status",
                    TicketEvent.to_value == "resolved",
                    TicketEvent.at >= start,
                    TicketEvent.at < end,
                )
                .order_by(TicketEvent.id)
            )
        )
        last_resolution: dict[int, TicketEvent] = {}
        for event in resolve_events:
            last_resolution[event.ticket_id] = event
        resolved_ids = sorted(last_resolution)
        resolved_tickets = {t.id: t for t in self._tickets(resolved_ids)}
        history = self._events(resolved_ids)

        resolution_hours = [
            _hours(self.calendar.working_time_between(resolved_tickets[tid].created_at, last_resolution[tid].at))
            for tid in resolved_ids
        ]
        response_hours = [
            _hours(self.calendar.working_time_between(t.created_at, t.first_response_at))
            for t in opened
            if t.first_response_at is not None
        ]
        backlog = self._backlog()
        return Stats(
            period=self.period,
            generated_at=self.now,
            opened=len(opened),
            by_category=_count(t.category for t in opened),
            by_type=_count(t.type for t in opened),
            by_priority=_count(t.priority for t in opened),
            by_platform=_count(t.origin_platform for t in opened),
            by_channel=_count(t.channel for t in opened),
            first_response=Durations.of(response_hours),
            resolution=Durations.of(resolution_hours),
            resolved=len(resolved_ids),
            within_8h=Ratio(sum(h <= 8 for h in resolution_hours), len(resolution_hours)),
            within_24h=Ratio(sum(h <= 24 for h in resolution_hours), len(resolution_hours)),
            sla=self._sla(opened),
            backlog_as_of=self.as_of,
            backlog=backlog,
            deflection=self._deflection(),
            first_contact=Ratio(
                sum(self._first_contact(history[tid], last_resolution[tid]) for tid in resolved_ids),
                len(resolved_ids),
            ),
            reopened=Ratio(sum(self._reopened(history[tid]) for tid in resolved_ids), len(resolved_ids)),
            satisfaction=self._satisfaction(),
            technicians=self._technicians(resolve_events, last_resolution),
            top_issues=cluster_titles([(t.id, t.title) for t in opened]),
            weekly_volume=self._weekly_volume(opened),
            weekly_sla=self._weekly_sla(opened),
        )

    # -- loading ------------------------------------------------------------------------------

    def _tickets(self, ids: Sequence[int]) -> list[Ticket]:
        found: list[Ticket] = []
        for chunk in _chunks(ids, 500):
            found += self.session.scalars(select(Ticket).where(Ticket.id.in_(chunk)))
        return found

    def _events(self, ids: Sequence[int]) -> dict[int, list[TicketEvent]]:
        history: dict[int, list[TicketEvent]] = defaultdict(list)
        for chunk in _chunks(ids, 500):
            rows = self.session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id.in_(chunk)).order_by(TicketEvent.id)
            )
            for event in rows:
                history[event.ticket_id].append(event)
        return history

    # -- figures ------------------------------------------------------------------------------

    def _sla(self, tickets: Iterable[Ticket]) -> SlaCompliance:
        response_met = response_breached = response_pending = 0
        resolution_met = resolution_breached = resolution_pending = 0
        for ticket in tickets:
            if ticket.status == "cancelled":
                continue
            due = getattr(ticket, "response_due_at", None)
            if due is not None:
                if ticket.first_response_at is not None:
                    if ticket.first_response_at <= due:
                        response_met += 1
                    else:
                        response_breached += 1
                elif due <= self.now:
                    response_breached += 1
                else:
                    response_pending += 1
            due = getattr(ticket, "resolution_due_at", None)
            if due is not None:
                if ticket.resolved_at is not None:
                    if ticket.resolved_at <= due:
                        resolution_met += 1
                    else:
                        resolution_breached += 1
                elif due <= self.now and ticket.status != "waiting":
                    resolution_breached += 1
                else:
                    resolution_pending += 1
        return SlaCompliance(
            Ratio(response_met, response_met + response_breached),
            Ratio(resolution_met, resolution_met + resolution_breached),
            response_pending,
            resolution_pending,
        )

    def _weekly_sla(self, tickets: Sequence[Ticket]) -> dict[date, SlaCompliance]:
        by_week: dict[date, list[Ticket]] = defaultdict(list)
        for ticket in tickets:
            by_week[_week_of(ticket.created_at, self.calendar.tz)].append(ticket)
        return {week: self._sla(by_week.get(week, [])) for week in self._weeks()}

    def _weekly_volume(self, tickets: Sequence[Ticket]) -> dict[date, dict[str, int]]:
        volume: dict[date, dict[str, int]] = {week: {} for week in self._weeks()}
        for ticket in tickets:
            week = volume.setdefault(_week_of(ticket.created_at, self.calendar.tz), {})
            week[ticket.category] = week.get(ticket.category, 0) + 1
        return volume

    def _weeks(self) -> list[date]:
        first = _week_of(self.period.start, self.calendar.tz)
        last = _week_of(self.period.end - timedelta(microseconds=1), self.calendar.tz)
        weeks = []
        while first <= last:
            weeks.append(first)
            first += timedelta(days=7)
        return weeks

    def _backlog(self) -> dict[str, int]:
        as_of = self.as_of
        changed_later = select(TicketEvent.ticket_id).where(TicketEvent.kind == "status", TicketEvent.at >= as_of)
        candidates = list(
            self.session.scalars(
                select(Ticket).where(
                    Ticket.created_at < as_of, or_(Ticket.status.in_(OPEN), Ticket.id.in_(changed_later))
                )
            )
        )
        history = self._events([t.id for t in candidates])
        buckets = {label: 0 for label, _, _ in BACKLOG_BUCKETS}
        for ticket in candidates:
            status = "new"
            for event in history.get(ticket.id, []):
                if event.kind == "status" and event.at < as_of and event.to_value:
                    status = event.to_value
            if status not in OPEN:
                continue
            age = (as_of - ticket.created_at).total_seconds() / 86400
            for label, low, high in BACKLOG_BUCKETS:
                if low <= age < high:
                    buckets[label] += 1
                    break
        return buckets

    def _deflection(self) -> Deflection:
        logs = list(
            self.session.scalars(
                select(SuggestionLog).where(SuggestionLog.at >= self.period.start, SuggestionLog.at < self.period.end)
            )
        )
        users = sorted({log.user_key for log in logs})
        opened_by: dict[str, list[datetime]] = defaultdict(list)
        for chunk in _chunks(users, 500):
            rows = self.session.execute(
                select(Ticket.requester_key, Ticket.created_at).where(
                    Ticket.requester_key.in_(chunk),
                    Ticket.created_at >= self.period.start,
                    Ticket.created_at < self.period.end + DEFLECTION_WINDOW,
                )
            )
            for key, created in rows:
                opened_by[key].append(created)
        confirmed = potential = none = pending = 0
        for log in logs:
            if log.outcome == "solved":
                confirmed += 1
            elif (
                log.outcome == "not_solved"
                or log.ticket_id is not None
                or any(log.at <= c <= log.at + DEFLECTION_WINDOW for c in opened_by.get(log.user_key, []))
            ):
                none += 1
            elif log.at + DEFLECTION_WINDOW > self.now:
                pending += 1
            else:
                potential += 1
        return Deflection(len(logs), confirmed, potential, none, pending)

    @staticmethod
    def _first_contact(events: Sequence[TicketEvent], resolution: TicketEvent) -> bool:
        assignments = 0
        for event in events:
            if event.id >= resolution.id:
                break
            if event.kind == "level":
                return False
            if event.kind == "status" and event.to_value == "waiting":
                return False
            if event.kind == "status" and event.from_value == "resolved" and event.to_value in OPEN:
                return False
            if event.kind == "assignee":
                assignments += 1
        return assignments <= 1

    def _reopened(self, events: Sequence[TicketEvent]) -> bool:
        resolutions = [
            e.at
            for e in events
            if e.kind == "status" and e.to_value == "resolved" and self.period.start <= e.at < self.period.end
        ]
        reopenings = [e.at for e in events if e.kind == "status" and e.from_value == "resolved" and e.to_value in OPEN]
        return any(r < o <= r + REOPEN_WINDOW for r in resolutions for o in reopenings)

    def _satisfaction(self) -> Satisfied:
        scores = list(
            self.session.scalars(
                select(Satisfaction.score).where(
                    Satisfaction.at >= self.period.start, Satisfaction.at < self.period.end
                )
            )
        )
        return Satisfied(len(scores), round(statistics.fmean(scores), 4) if scores else None)

    def _technicians(
        self, resolve_events: Sequence[TicketEvent], last_resolution: dict[int, TicketEvent]
    ) -> list[TechnicianLoad]:
        names: dict[str, str] = {}
        resolved: Counter[str] = Counter()
        for event in last_resolution.values():
            if event.actor_key == SYSTEM_ACTOR:
                continue
            resolved[event.actor_key] += 1
            names.setdefault(event.actor_key, event.actor_name or event.actor_key)
        open_now: Counter[str] = Counter()
        rows = self.session.execute(
            select(Ticket.assignee_key, Ticket.assignee_name).where(
                Ticket.status.in_(OPEN), Ticket.assignee_key.is_not(None)
            )
        )
        for key, name in rows:
            if key is not None:
                open_now[key] += 1
                names.setdefault(key, name or key)
        keys = set(resolved) | set(open_now)
        loads = [TechnicianLoad(k, names[k], resolved[k], open_now[k]) for k in keys]
        return sorted(loads, key=lambda x: (-x.resolved, -x.open, x.name))


def _count(values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _chunks(values: Sequence[_T], size: int) -> Iterable[list[_T]]:
    items = list(values)
    for index in range(0, len(items), size):
        yield items[index : index + size]


# -- recurring issues ---------------------------------------------------------------------------


def _signature(title: str) -> str:
    return " ".join(token for token in tokenise(title) if not is_stop_word(token))


def cluster_titles(
    tickets: Sequence[tuple[int, str]],
    *,
    threshold: float = CLUSTER_THRESHOLD,
    top: int = 5,
    min_size: int = 2,
) -> list[IssueCluster]:
    """Greedy clustering of ``(number, title)`` pairs, in the given order.

    Each ticket joins the cluster whose first title is most similar (``token_set_ratio`` of the
    normalised titles without stop words, at least ``threshold``), or starts a new one. Returns
    the ``top`` largest clusters of at least ``min_size`` tickets, largest first, ties by age.
    """
    clusters: list[tuple[str, str, list[int]]] = []
    for number, title in tickets:
        signature = _signature(title)
        best, best_score = -1, -1.0
        if signature:
            for index, (head, _, _) in enumerate(clusters):
                score = fuzz.token_set_ratio(signature, head) if head else 0.0
                if score >= threshold and score > best_score:
                    best, best_score = index, score
        if best >= 0 and signature:
            clusters[best][2].append(number)
        else:
            clusters.append((signature, title, [number]))
    found = [
        IssueCluster(title, len(numbers), tuple(numbers)) for _, title, numbers in clusters if len(numbers) >= min_size
    ]
    found.sort(key=lambda c: (-c.count, c.tickets[0]))
    return found[:top]
