"""Conversation states: one Literal per flow, with typed data, stored as the text earlier releases wrote.

A conversation (one user in one chat) is in one flow at a time:

* ``idle``: nothing pending;
* ``suggested``: knowledge-base articles were offered for a problem (:class:`SuggestedData`);
* the intake, at one of its steps (:data:`IntakeStep`, :class:`IntakeData`), stored ``intake:<step>``;
* a technician's pending free-text answer (:data:`TechnicianAction`, :class:`TechnicianData`),
  stored ``tech:<action>``;
* a feature's own flow under its own prefix (the duplicate detector's ``dup:offer``).

Code asks :class:`ConversationState` which flow and step it is in (:attr:`~ConversationState.intake_step`,
:attr:`~ConversationState.technician_action` …) and moves it with :meth:`~ConversationState.to_intake`
and the constructors; it never splits the stored strings itself. The stored form — the
``conversations.state`` text and the ``conversations.data`` JSON — is unchanged, so conversations saved
by an earlier release (or by another process still running one) load and continue; a state that names
no known step (written by a later release, say) is treated as no intake at all rather than crashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast, get_args

IntakeStep = Literal[
    "title",
    "description",
    "error",
    "url",
    "started",
    "impact",
    "urgency",
    "contact",
    "summary",
    "contact_name",
    "contact_phone",
    "contact_email",
    "type",
]
"""A step of the intake: the main questions in order (up to ``summary``, see :data:`bot.intake.STEPS`), then
the contact sub-steps (a name, a phone number or an address asked on their own) and ``type`` (incident or
request, changed from the summary)."""

INTAKE_STEPS: tuple[IntakeStep, ...] = get_args(IntakeStep)

TechnicianAction = Literal["thread", "wait", "resolve"]
"""What a technician's next free text is for: sent or noted on a ticket after a message typed in its thread
(``thread``), the question of ``/wait``, the resolution note of ``/resolve`` (asked by a card's button)."""

TECHNICIAN_ACTIONS: tuple[TechnicianAction, ...] = get_args(TechnicianAction)

_INTAKE = "intake:"
_TECHNICIAN = "tech:"
IDLE = "idle"
SUGGESTED = "suggested"


class AttachmentData(TypedDict):
    """An :class:`~bot.port.Attachment` as stored in a conversation's data."""

    kind: Literal["image", "file"]
    ref: str
    name: str
    url: str
    mime_type: str


class IntakeData(TypedDict, total=False):
    """The draft of a ticket during the intake (every key optional: drafts of earlier releases lack some)."""

    first_message: str
    title: str
    description: str
    type: str
    category: str
    error_message: str
    url: str
    started: str
    impact: str
    urgency: str
    contact_name: str
    contact_phone: str
    contact_email: str
    attachments: list[AttachmentData]
    history: list[str]
    """The steps answered so far, for ``back``."""
    rejected: dict[str, str]
    """Per step, the value typed that did not pass validation (shown back, never lost)."""
    answers: dict[str, list[str]]
    """Per platform message id, ``[step, text]``: an edited message corrects that answer."""
    return_to_summary: bool
    reminded_at: str
    """When the abandoned intake was reminded (ISO 8601); it is dropped after the next delay."""
    caller: dict[str, str]
    """A phone call a technician logs: the :class:`~bot.intake.Caller`'s fields."""
    channel: str
    suggestion_log: int


class SuggestedData(TypedDict, total=False):
    """Articles were offered for ``query``; ``log_id`` is the suggestion log that records the outcome."""

    log_id: int
    query: str
    attachments: list[AttachmentData]
    read: str
    """The article the user opened, if any."""


class TechnicianData(TypedDict, total=False):
    """The ticket a technician's next text is for, and (``thread``) the text waiting for its destination."""

    number: int
    text: str


@dataclass
class ConversationState:
    """One conversation's state and data, as stored in the ``conversations`` table."""

    state: str = IDLE
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_technician(cls, action: TechnicianAction, data: TechnicianData) -> ConversationState:
        """A technician's pending answer for ``action``."""
        return cls(_TECHNICIAN + action, dict(data))

    def reset(self) -> None:
        """Back to idle, forgetting the draft."""
        self.state = IDLE
        self.data = {}

    @property
    def idle(self) -> bool:
        """Nothing pending."""
        return self.state == IDLE

    @property
    def intake_step(self) -> IntakeStep | None:
        """The intake step this conversation waits on, or ``None`` outside the intake."""
        return parse_intake_step(self.state.removeprefix(_INTAKE)) if self.state.startswith(_INTAKE) else None

    @property
    def in_intake(self) -> bool:
        """Whether an intake waits for an answer."""
        return self.intake_step is not None

    def to_intake(self, step: IntakeStep) -> None:
        """Move to (or start the intake at) ``step``; the draft is kept."""
        self.state = _INTAKE + step

    @property
    def intake(self) -> IntakeData:
        """The intake's draft (the same mapping as :attr:`data`, typed)."""
        return cast(IntakeData, self.data)

    @property
    def technician_action(self) -> TechnicianAction | None:
        """What the technician's next text is for, or ``None``."""
        if not self.state.startswith(_TECHNICIAN):
            return None
        action = self.state.removeprefix(_TECHNICIAN)
        return action if action in TECHNICIAN_ACTIONS else None

    @property
    def technician(self) -> TechnicianData:
        """The pending technician answer's data (the same mapping as :attr:`data`, typed)."""
        return cast(TechnicianData, self.data)

    @property
    def suggested(self) -> bool:
        """Whether knowledge-base articles were offered and the user has not chosen yet."""
        return self.state == SUGGESTED

    def to_suggested(self, data: SuggestedData) -> None:
        """Offer articles: remember the query (and its files) until the user chooses."""
        self.state = SUGGESTED
        self.data = dict(data)

    @property
    def suggestion(self) -> SuggestedData:
        """The pending suggestion's data (the same mapping as :attr:`data`, typed)."""
        return cast(SuggestedData, self.data)


def parse_intake_step(name: str) -> IntakeStep | None:
    """``name`` as an intake step, or ``None`` when it names none (a stored step list, a button value)."""
    return name if name in INTAKE_STEPS else None
