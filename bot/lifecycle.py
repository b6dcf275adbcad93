"""The ticket lifecycle: one state machine for every ticket.

::

    new ──claim──▶ in_progress ──wait──▶ waiting ──(requester answers)──▶ in_progress
     │                 │                    │
     └────────resolve──┴────────────────────┴──▶ resolved ──close──▶ closed
                                                   │
                                                   └──reopen──▶ in_progress

A requester may cancel a ticket that is not resolved or closed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.errors import IllegalTransition
from bot.i18n import N_
from bot.port import User

Status = Literal["new", "in_progress", "waiting", "resolved", "closed", "cancelled"]
Action = Literal["claim", "wait", "answer", "resolve", "reopen", "close", "cancel", "assign"]

STATUS_LABELS: dict[str, str] = {
    "new": N_("new"),
    "in_progress": N_("in progress"),
    "waiting": N_("waiting for your answer"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
    "cancelled": N_("cancelled"),
}

TECHNICIAN_STATUS_LABELS: dict[str, str] = {**STATUS_LABELS, "waiting": N_("waiting for the requester")}
"""The statuses as the service desk's staff read them (the requester is "you" only to the requester)."""

ACTION_LABELS: dict[str, str] = {
    "claim": N_("claimed"),
    "assign": N_("assigned"),
    "wait": N_("put on hold for the requester"),
    "answer": N_("answered"),
    "resolve": N_("resolved"),
    "reopen": N_("reopened"),
    "close": N_("closed"),
    "cancel": N_("cancelled"),
}

TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "claim"): "in_progress",
    ("in_progress", "claim"): "in_progress",
    ("waiting", "claim"): "in_progress",
    ("new", "assign"): "in_progress",
    ("in_progress", "assign"): "in_progress",
    ("waiting", "assign"): "waiting",
    ("new", "wait"): "waiting",
    ("in_progress", "wait"): "waiting",
    ("waiting", "wait"): "waiting",
    ("waiting", "answer"): "in_progress",
    ("new", "resolve"): "resolved",
    ("in_progress", "resolve"): "resolved",
    ("waiting", "resolve"): "resolved",
    ("resolved", "reopen"): "in_progress",
    ("resolved", "close"): "closed",
    ("new", "cancel"): "cancelled",
    ("in_progress", "cancel"): "cancelled",
    ("waiting", "cancel"): "cancelled",
}

OPEN = frozenset({"new", "in_progress", "waiting"})


def next_status(number: int, status: str, action: str) -> str:
    """The status after ``action``; :class:`IllegalTransition` when the lifecycle forbids it."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(
            number=number, status=STATUS_LABELS.get(status, status), action=ACTION_LABELS.get(action, action)
        ) from None


@dataclass(frozen=True)
class Actor:
    """Who performs an operation: a user key (``platform:id``) and a display name."""

    key: str
    name: str

    @classmethod
    def of(cls, user: User) -> Actor:
        """The actor for a platform user."""
        return cls(user.key, user.display_name or user.id)


SYSTEM = Actor("system", "helpdesk-bot")
