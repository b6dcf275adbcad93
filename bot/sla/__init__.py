"""Service levels: the business calendar (working time) and priorities with their targets.

:class:`BusinessCalendar` does the working-time arithmetic (opening hours, public
holidays, closing days, time zone); :mod:`bot.sla.priority` turns impact × urgency
into P1–P4 and computes the response and resolution deadlines. Both are pure: the
current time is always passed in.
"""

from bot.sla.calendar import BusinessCalendar, CalendarConfig
from bot.sla.priority import (
    DueTimes,
    Impact,
    Priority,
    PriorityConfig,
    SlaTarget,
    Urgency,
    WorkingDuration,
    due_times,
    elapsed_fraction,
    paused_working_time,
    priority_for,
    resolution_due,
)

__all__ = [
    "BusinessCalendar",
    "CalendarConfig",
    "DueTimes",
    "Impact",
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
