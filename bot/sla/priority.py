"""Ticket priority (impact × urgency) and service-level targets in working time.

The requester answers two questions during the intake: who is affected (``impact``:
just me, my team, the whole site) and how much it hurts (``urgency``: it can wait,
work is degraded, work is blocked). A configurable matrix turns the pair into a
priority P1–P4, and each priority has two targets counted in working time on the
:class:`~bot.sla.calendar.BusinessCalendar`:

* ``response``: the first technician action;
* ``resolution``: the ticket is resolved. While the ticket waits on the requester
  the resolution clock stops (``pause_when_waiting``, on by default).

Default matrix (ITIL-style) and targets::

                  urgency: low   medium   high            response  resolution
    impact site            P3    P2       P1         P1   1 h       4 h
           team            P4    P3       P2         P2   2 h       8 h
           me              P4    P4       P3         P3   4 h       3 working days
                                                     P4   8 h       5 working days

A target is written ``"1h"``, ``"30m"``, ``"1h30m"``, ``"3d"`` (working days, see
:meth:`WorkingDuration.after`) or a bare number of hours. Everything here is pure:
no database, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, NamedTuple, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator

from bot.sla.calendar import BusinessCalendar, merge_intervals

Impact = Literal["me", "team", "site"]
"""Who is affected: just the requester, their team, or the whole site."""
Urgency = Literal["low", "medium", "high"]
"""How much it hurts: it can wait, work is degraded, work is blocked."""
Priority = Literal["P1", "P2", "P3", "P4"]

IMPACTS: tuple[Impact, ...] = get_args(Impact)
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
_PRIORITY_BY_NAME: dict[str, Priority] = {p: p for p in PRIORITIES}

DEFAULT_MATRIX: dict[Impact, dict[Urgency, Priority]] = {
    "site": {"high": "P1", "medium": "P2", "low": "P3"},
    "team": {"high": "P2", "medium": "P3", "low": "P4"},
    "me": {"high": "P3", "medium": "P4", "low": "P4"},
}

DEFAULT_TARGETS: dict[Priority, dict[str, str]] = {
    "P1": {"response": "1h", "resolution": "4h"},
    "P2": {"response": "2h", "resolution": "8h"},
    "P3": {"response": "4h", "resolution": "3d"},
    "P4": {"response": "8h", "resolution": "5d"},
}

_DURATION = re.compile(r"(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?", re.IGNORECASE)


@dataclass(frozen=True)
class WorkingDuration:
    """A service-level target: whole working days, then working time (both may be set).

    ``"3d"`` is three working days, ``"4h"`` four hours of working time, ``"1d 2h"``
    one working day and then two working hours.
    """

    days: int = 0
    time: timedelta = timedelta(0)

    @classmethod
    def parse(cls, value: object) -> WorkingDuration:
        """Read ``"1h30m"``, ``"90m"``, ``"3d"``, ``"1d 4h"`` or a number of hours (``1.5``)."""
        if isinstance(value, WorkingDuration):
            return value
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a duration")
        if isinstance(value, int | float):
            if value <= 0:
                raise ValueError(f"{value!r}: a target must be longer than zero")
            return cls(time=timedelta(hours=value))
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a duration: write it like '4h', '30m' or '3d'")
        match = _DURATION.fullmatch(value.strip())
        if match is None or not any(match.groups()):
            raise ValueError(f"{value!r} is not a duration: write it like '4h', '1h30m', '30m' or '3d' (working days)")
        days, hours, minutes = (int(group or 0) for group in match.groups())
        result = cls(days=days, time=timedelta(hours=hours, minutes=minutes))
        if not result:
            raise ValueError(f"{value!r}: a target must be longer than zero")
        return result

    def __bool__(self) -> bool:
        return self.days > 0 or self.time > timedelta(0)

    def __str__(self) -> str:
        parts = [f"{self.days}d"] if self.days else []
        hours, seconds = divmod(int(self.time.total_seconds()), 3600)
        if hours:
            parts.append(f"{hours}h")
        if seconds // 60:
            parts.append(f"{seconds // 60}m")
        return "".join(parts) or "0h"

    def after(self, calendar: BusinessCalendar, start: datetime) -> datetime:
        """The deadline for a clock started at ``start``.

        The clock starts at the next working moment (a ticket opened on Saturday starts
        on Monday at opening time). Days land at the same wall-clock time on the
        ``days``-th following working day, brought inside that day's opening hours
        (opened Thursday 18:00 with a desk open until 19:00 on Thursdays and 17:00 on
        Fridays: "1d" is Friday 17:00). Working time is then added.
        """
        moment = calendar.next_working_moment(start)
        if self.days:
            moment = calendar.clamp_to_working_day(calendar.add_working_days(moment, self.days))
        return calendar.add_working_time(moment, self.time)


TargetDuration = Annotated[
    WorkingDuration,
    BeforeValidator(WorkingDuration.parse),
    PlainSerializer(str, return_type=str),
]


class SlaTarget(BaseModel):
    """The two targets of one priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    response: TargetDuration
    resolution: TargetDuration


class DueTimes(NamedTuple):
    """When a ticket must be picked up and resolved (aware datetimes in the calendar's zone)."""

    response: datetime
    resolution: datetime


def _default_matrix() -> dict[str, dict[str, str]]:
    return {impact: {urgency: p for urgency, p in row.items()} for impact, row in DEFAULT_MATRIX.items()}


def _default_targets() -> dict[str, SlaTarget]:
    return {p: SlaTarget.model_validate(raw) for p, raw in DEFAULT_TARGETS.items()}


class PriorityConfig(BaseModel):
    """The ``[sla.priority]`` section: the impact × urgency matrix and the targets.

    Both are merged with the defaults, so a file only lists what differs, e.g.
    ``matrix = {me = {high = "P2"}}`` or ``[sla.priority.targets.P1] response = "30m"``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    matrix: dict[str, dict[str, str]] = Field(default_factory=_default_matrix)
    targets: dict[str, SlaTarget] = Field(default_factory=_default_targets)
    pause_when_waiting: bool = True
    """Stop the resolution clock while the ticket waits on the requester."""

    @field_validator("matrix", mode="before")
    @classmethod
    def _merge_matrix(cls, value: Any) -> dict[str, dict[str, str]]:
        if not isinstance(value, dict):
            raise ValueError("the matrix maps an impact to {urgency = priority}, e.g. {site = {high = 'P1'}}")
        merged = _default_matrix()
        for impact, row in value.items():
            if impact not in IMPACTS:
                raise ValueError(f"unknown impact {impact!r}: use {', '.join(IMPACTS)}")
            if not isinstance(row, dict):
                raise ValueError(f"{impact}: expected {{urgency = priority}}, got {row!r}")
            for urgency, priority in row.items():
                if urgency not in URGENCIES:
                    raise ValueError(f"{impact}: unknown urgency {urgency!r}: use {', '.join(URGENCIES)}")
                if priority not in PRIORITIES:
                    raise ValueError(f"{impact}.{urgency}: unknown priority {priority!r}: use {', '.join(PRIORITIES)}")
                merged[impact][urgency] = priority
        return merged

    @field_validator("targets", mode="before")
    @classmethod
    def _merge_targets(cls, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError("targets map a priority to {response = '1h', resolution = '4h'}")
        merged: dict[str, Any] = {p: dict(raw) for p, raw in DEFAULT_TARGETS.items()}
        for priority, target in value.items():
            if priority not in PRIORITIES:
                raise ValueError(f"unknown priority {priority!r}: use {', '.join(PRIORITIES)}")
            if isinstance(target, SlaTarget):
                merged[priority] = target
            elif isinstance(target, dict):
                merged[priority] = {**merged[priority], **target}
            else:
                raise ValueError(f"{priority}: expected {{response = ..., resolution = ...}}, got {target!r}")
        return merged

    def priority_for(self, impact: Impact, urgency: Urgency) -> Priority:
        """The matrix cell for ``impact`` × ``urgency``."""
        if impact not in IMPACTS:
            raise ValueError(f"unknown impact {impact!r}: use {', '.join(IMPACTS)}")
        if urgency not in URGENCIES:
            raise ValueError(f"unknown urgency {urgency!r}: use {', '.join(URGENCIES)}")
        return _PRIORITY_BY_NAME[self.matrix[impact][urgency]]

    def target(self, priority: Priority) -> SlaTarget:
        """The targets of ``priority``."""
        if priority not in self.targets:
            raise ValueError(f"unknown priority {priority!r}: use {', '.join(PRIORITIES)}")
        return self.targets[priority]


_DEFAULT_CONFIG = PriorityConfig()


def priority_for(impact: Impact, urgency: Urgency, config: PriorityConfig | None = None) -> Priority:
    """The priority of a ticket from its impact and urgency (default matrix unless ``config``)."""
    return (config or _DEFAULT_CONFIG).priority_for(impact, urgency)


def due_times(
    calendar: BusinessCalendar,
    opened_at: datetime,
    priority: Priority,
    config: PriorityConfig | None = None,
) -> DueTimes:
    """Response and resolution deadlines of a ticket opened at ``opened_at``, without pauses.

    P1 opened Friday 16:30 with the defaults: response Monday 09:00, resolution
    Monday 12:00. Use :func:`resolution_due` once the ticket has waited on the requester.
    """
    target = (config or _DEFAULT_CONFIG).target(priority)
    return DueTimes(target.response.after(calendar, opened_at), target.resolution.after(calendar, opened_at))


Pause = tuple[datetime, datetime | None]
"""A period waiting on the requester; the end is ``None`` while it lasts."""


def _closed_pauses(
    opened_at: datetime, pauses: Iterable[Pause], now: datetime | None
) -> list[tuple[datetime, datetime]]:
    closed: list[tuple[datetime, datetime]] = []
    for start, end in pauses:
        if end is None:
            if now is None:
                raise ValueError("a pause is still running: pass now= to count it until now")
            end = now
        closed.append((max(start, opened_at), end))
    return merge_intervals(closed)


def paused_working_time(
    calendar: BusinessCalendar,
    opened_at: datetime,
    pauses: Iterable[Pause],
    now: datetime | None = None,
) -> timedelta:
    """Working time spent waiting on the requester since ``opened_at`` (overlaps counted once).

    A running pause (end ``None``) counts until ``now``, which is then required.
    """
    return sum(
        (calendar.working_time_between(s, e) for s, e in _closed_pauses(opened_at, pauses, now)),
        timedelta(0),
    )


def resolution_due(
    calendar: BusinessCalendar,
    opened_at: datetime,
    priority: Priority,
    pauses: Iterable[Pause] = (),
    now: datetime | None = None,
    config: PriorityConfig | None = None,
) -> datetime:
    """The resolution deadline, pushed back by the working time spent waiting on the requester.

    Only pauses that start before the (already pushed) deadline move it: once a target
    is breached, waiting does not undo the breach. With ``pause_when_waiting = false``
    the pauses are ignored. A running pause needs ``now`` and the result moves with it.
    """
    cfg = config or _DEFAULT_CONFIG
    due = cfg.target(priority).resolution.after(calendar, opened_at)
    if not cfg.pause_when_waiting:
        return due
    for start, end in _closed_pauses(opened_at, pauses, now):
        if start >= due:
            break
        due = calendar.add_working_time(due, calendar.working_time_between(start, end))
    return due


def elapsed_fraction(
    calendar: BusinessCalendar,
    started_at: datetime,
    due_at: datetime,
    now: datetime,
    paused: timedelta = timedelta(0),
) -> float:
    """Share of a target used at ``now``: 0.0 at the start, 1.0 at the deadline, above 1 when late.

    ``due_at`` is the deadline *without* pauses (from :func:`due_times`) and ``paused``
    the waiting time (:func:`paused_working_time` up to ``now``), so that a warning at
    75 % fires after 75 % of the running time. A target of zero working time is
    reported as fully used.
    """
    budget = calendar.working_time_between(started_at, due_at)
    if budget <= timedelta(0):
        return 1.0
    used = calendar.working_time_between(started_at, now) - paused
    return max(used, timedelta(0)) / budget


__all__ = [
    "DEFAULT_MATRIX",
    "DEFAULT_TARGETS",
    "IMPACTS",
    "PRIORITIES",
    "URGENCIES",
    "DueTimes",
    "Impact",
    "Pause",
    "Priority",
    "PriorityConfig",
    "SlaTarget",
    "Urgency",
    "WorkingDuration",
    "due_times",
    "elapsed_fraction",
    "paused_working_time",
    "priority_for",
    "resolution_due",
]
