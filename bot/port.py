"""The port between the platform-neutral core and the chat platforms.

Adapters (console, Slack, Telegram) speak to the core only through the types in
this module, the way Zulip's bot framework does with its ``BotHandler`` protocol:

* an adapter turns a platform payload into one :data:`Event` (a text message,
  a button press or a slash command), calls :meth:`bot.core.HelpdeskCore.handle`
  and renders the returned :class:`Reply` objects;
* notifications caused by ticket changes (a status update in the requester's
  thread, the new-ticket card for technicians) leave the core through the
  outbox and reach the platform through the adapter's :class:`Messenger`.

The calls an adapter makes are typed once, here: :class:`HelpdeskPort` (handle an event, open a
ticket from a form, a user's tickets, a command menu …) and :class:`AdapterHost`, the port plus the
wiring an adapter's builder does at start (roles, technician places, its messenger, which replies
it shows itself). :class:`bot.core.HelpdeskCore` is a :class:`HelpdeskPort` and
:class:`bot.bootstrap.HelpdeskApp` an :class:`AdapterHost`; mypy checks both (see
:func:`bot.bootstrap.as_port`).

Nothing here knows about Slack or Telegram. All text is plain text: each
adapter escapes it for its own markup before sending. Images (the charts of
``/stats``) travel as bytes in a direct :class:`Reply` only, never through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

PlatformName = str
"""``"console"``, ``"slack"`` or ``"telegram"``."""

Audience = Literal["everyone", "technician", "team_lead"]
"""Who a command is for: everyone, technicians, or team leads."""

Role = Literal["technician", "team_lead"]
"""A role an adapter's configuration grants (team leads can do everything technicians can)."""


@dataclass(frozen=True)
class User:
    """Who sent an event, as the platform knows them.

    ``locale`` is the platform's language hint (``"fr-BE"``, ``"nl"``, ``"en_US"``);
    the core keeps only the language part. ``email`` and ``phone`` come from the
    platform profile when the adapter can read it and prefill the intake's contact step.
    """

    platform: PlatformName
    id: str
    display_name: str = ""
    locale: str | None = None
    email: str | None = None
    phone: str | None = None

    @property
    def key(self) -> str:
        """Identity used in the database and in role lists: ``"platform:id"``."""
        return f"{self.platform}:{self.id}"


@dataclass(frozen=True)
class Place:
    """Where a message lives: a chat (DM, channel, group) and optionally a thread in it.

    On Slack ``thread_id`` is the parent message's ``ts``; on Telegram it is the id of
    the message a reply answers (or a forum topic id); the console uses none.
    """

    platform: PlatformName
    chat_id: str
    thread_id: str | None = None

    def in_thread(self, thread_id: str | None) -> Place:
        """The same chat, in another thread (``None`` for the chat's main flow)."""
        return Place(self.platform, self.chat_id, thread_id)


@dataclass(frozen=True)
class Attachment:
    """A file the user sent (screenshot, document): a reference, never the bytes."""

    kind: Literal["image", "file"]
    ref: str
    """The platform's file id (Slack file id, Telegram file_id)."""
    name: str = ""
    url: str = ""
    """A permalink where technicians can open the file, when the platform has one."""
    mime_type: str = ""


@dataclass(frozen=True)
class TextMessage:
    """A free-text message. ``place.thread_id`` set means a reply in a thread.

    ``unsupported`` names a kind of message the bot cannot read (``"sticker"``, ``"voice"``,
    ``"location"`` …): the text is then empty and the user is told what the bot can read.
    ``edited`` marks a new version of the earlier message ``message_id``.
    """

    user: User
    place: Place
    text: str
    attachments: tuple[Attachment, ...] = ()
    event_id: str = ""
    """The platform's identity of this event (see :data:`Event`)."""
    message_id: str | None = None
    """The platform's id of the message, when the adapter knows it (edits refer to it)."""
    edited: bool = False
    unsupported: str = ""


@dataclass(frozen=True)
class ButtonPress:
    """A press on a button the core rendered; ``value`` is the button's opaque value."""

    user: User
    place: Place
    value: str
    message_id: str | None = None
    """The platform id of the message that carried the button, when known."""
    event_id: str = ""
    """The platform's identity of this event (see :data:`Event`)."""


@dataclass(frozen=True)
class SlashCommand:
    """A command such as ``/claim 42`` (``name="claim"``, ``args="42"``).

    Slack sends ``/helpdesk claim 42``: its adapter strips the ``helpdesk`` word.
    """

    user: User
    place: Place
    name: str
    args: str = ""
    attachments: tuple[Attachment, ...] = ()
    event_id: str = ""
    """The platform's identity of this event (see :data:`Event`)."""


Event = TextMessage | ButtonPress | SlashCommand
"""Everything an adapter can hand to the core.

Every event an adapter builds carries ``event_id``, the platform's identity of the delivery,
stable across the platform's retries: Slack ``event:<event_id>`` (Events API), ``action:<trigger_id>``
(buttons), ``view:<view id>:<hash>`` (modal submissions), ``command:<trigger_id>`` (slash commands);
Telegram ``update:<update_id>``; the console ``line:<uuid>``. The core records it in the
``processed_events`` table in the event's own transaction, so a second delivery — a retry that
reaches another process, or a redelivery after a restart — commits nothing and answers nothing.
An empty ``event_id`` (an event the core builds itself, or a test's) is never deduplicated.
"""


DirectPolicy = Callable[["Event", "Reply"], bool]
"""An adapter's choice of the replies it shows itself instead of through the outbox.

The core writes every reply to the outbox in the event's transaction, except those this
returns ``True`` for (and those carrying images, which the outbox does not carry): what only
exists during the interaction — Slack ephemeral answers through ``response_url``, a prompt
modal opened with a trigger id that expires after 3 seconds, a Telegram callback alert.
"""


@dataclass(frozen=True)
class Button:
    """One choice rendered as a button (Slack Block Kit, Telegram inline keyboard,
    a numbered option in the console). ``value`` comes back in a :class:`ButtonPress`."""

    label: str
    value: str
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class TicketCard:
    """A ticket summary that platforms render as a rich card.

    Every string is already translated; ``fields`` is an ordered list of
    ``(label, value)`` pairs.
    """

    number: int
    headline: str
    fields: tuple[tuple[str, str], ...] = ()
    separator: str = ": "
    """What goes between a label and its value where a platform writes them on one line (the
    card's language decides: ``"\u202f: "`` in French)."""


@dataclass(frozen=True)
class Image:
    """A picture the core sends along with a message (a PNG chart of ``/stats``).

    ``filename`` names the file on platforms that show one (``volume-2026-03.png``);
    ``title`` is already translated and is shown as the file's title or the photo's caption.
    """

    filename: str
    data: bytes = field(repr=False)
    """The file's bytes (left out of ``repr``: logs stay readable)."""
    title: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    """What the core wants shown: plain text, optional buttons, an optional card and images.

    ``expects_text`` marks a question whose answer is free text (Telegram renders it
    with ForceReply); ``ephemeral`` marks a message meant for the sender only (Slack
    renders it as an ephemeral message; other platforms send it privately).

    ``images`` are shown after the text, in order, in the same chat and thread (Slack
    uploads them as files, Telegram sends them as photos, the console lists them). They
    are meant for direct replies (:class:`Reply`): the outbox does not carry them, so a
    :class:`Notification` never has any (see :func:`bot.outbox.encode_message`). An
    ephemeral message cannot carry images either: adapters leave them out.
    """

    text: str
    buttons: tuple[Button, ...] = ()
    card: TicketCard | None = None
    expects_text: bool = False
    ephemeral: bool = False
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Reply:
    """A direct answer to an event, to be shown at ``place``."""

    place: Place
    message: OutgoingMessage


@dataclass(frozen=True)
class SentMessage:
    """The platform's reference to a message it accepted."""

    place: Place
    message_id: str


@dataclass(frozen=True)
class Notification:
    """One outbox entry handed to a :class:`Messenger` for delivery.

    ``edit_message_id`` set means: update that message in place (a technician card)
    instead of posting a new one. ``idempotency_key`` is stable across retries.

    ``in_doubt`` means an earlier attempt died while sending (its outcome is unknown): the
    platform may already have the message. A messenger that can look messages up (Slack,
    through the outbox id in the message metadata) does so before posting again.
    ``created_at`` is when the entry was written (where to start such a lookup).
    """

    id: int
    place: Place
    message: OutgoingMessage
    ticket_number: int | None = None
    purpose: str = "update"
    edit_message_id: str | None = None
    idempotency_key: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    in_doubt: bool = False
    created_at: datetime | None = None


class DeliveryError(Exception):
    """Raised by a :class:`Messenger` when a platform refused or could not take a message.

    ``permanent=True`` means retrying cannot help (chat deleted, bot blocked):
    the outbox gives up on that entry instead of retrying it. ``retry_after`` (seconds) means
    the platform asked to wait (a rate limit): the outbox gives the entry back until then.
    """

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@runtime_checkable
class Messenger(Protocol):
    """What each adapter provides so that the outbox can reach its platform.

    A messenger may also offer ``language_for(chat_id) -> str | None``: the language of whoever reads
    that chat (a terminal's user, a private chat's user). Cards and technicians' notices are rendered
    in it when they are delivered; without an answer, ``[bot] language`` is used.
    """

    platform: PlatformName

    def send(self, notification: Notification) -> SentMessage:
        """Post ``notification.message`` at ``notification.place``; return where it landed.

        When ``notification.edit_message_id`` is set, edit that message instead.
        Raise :class:`DeliveryError` when the platform does not take it.
        """
        ...


class HelpdeskPort(Protocol):
    """The inbound port: everything an adapter asks of the core while it runs.

    :class:`bot.core.HelpdeskCore` implements it (every reply returned to the caller); so does
    :class:`bot.bootstrap.HelpdeskApp`, which also delivers the outbox entries an event queued at
    once and returns only the replies the platform's :data:`DirectPolicy` keeps for the adapter.
    """

    def handle(self, event: Event) -> list[Reply]:
        """Handle one event in one unit of work; never raises for the event's own failure
        (a domain error is a polite reply, anything else an apology)."""
        ...

    def open_ticket_from_form(
        self, user: User, place: Place, fields: dict[str, str], *, event_id: str = ""
    ) -> list[Reply]:
        """Open a ticket from a complete form (once per ``event_id``); raises
        :class:`~bot.errors.ValidationFailed` (``field=<name>``) for the first bad field."""
        ...

    def open_tickets_for(self, user: User) -> list[OutgoingMessage]:
        """The user's open tickets, each with its card (Slack's App Home)."""
        ...

    def log_call_from_form(
        self,
        technician: User,
        place: Place,
        caller: dict[str, str],
        fields: dict[str, str],
        *,
        event_id: str = "",
    ) -> list[Reply]:
        """Log a phone call from a complete form (Slack's call modal): the caller's ticket, channel ``phone``,
        once per ``event_id``; raises :class:`~bot.errors.ValidationFailed` (``field=<name>``)."""
        ...

    def is_technician(self, user_key: str) -> bool:
        """Whether ``user_key`` (``platform:id``) is a technician or a team lead (may log calls)."""
        ...

    def command_menu(self, audience: Audience, language: str) -> list[tuple[str, str]]:
        """``(name, description)`` of the commands a platform menu offers ``audience`` in ``language``."""
        ...

    def language_of(self, user: User) -> str:
        """The user's language: their /lang choice, else their platform locale, else the default."""
        ...

    def pending_question(self, user: User, place: Place) -> OutgoingMessage | None:
        """The question ``user``'s conversation at ``place`` waits on (an intake step), or ``None``."""
        ...


class AdapterHost(HelpdeskPort, Protocol):
    """The port plus what an adapter wires at start: the running application as adapters see it."""

    def grant_role(self, user_key: str, role: Role) -> None:
        """Give ``user_key`` (``"slack:U…"``) a role from the adapter's configuration."""
        ...

    def add_technician_place(self, place: Place) -> None:
        """Post new-ticket cards (and ticket updates for technicians) at ``place``."""
        ...

    def register_messenger(self, messenger: Messenger) -> None:
        """Let the outbox deliver to ``messenger.platform``."""
        ...

    def messenger_for(self, platform: PlatformName) -> Messenger | None:
        """The messenger registered for ``platform``, if any."""
        ...

    def deliver_directly(self, platform: PlatformName, policy: DirectPolicy) -> None:
        """Let ``platform``'s adapter show the replies ``policy`` picks; the others go through the outbox."""
        ...

    def deliver_due(self, chat_ids: Sequence[str] | None = None) -> int:
        """Deliver the due outbox entries now (only those for ``chat_ids`` when given); how many were sent."""
        ...
