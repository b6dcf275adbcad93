"""A terminal chat with the bot: the one place that turns typed lines into core events,
and the one place that renders core replies as text.

Typed lines:

* ``/command args`` — a slash command (``/ticket 12``, ``/claim 12`` …);
* ``1``, ``2`` … — press that numbered button of the last message that had buttons;
* ``#12 some text`` — a reply in ticket 12's thread (a comment on the ticket);
* anything else — a message to the bot.

Images (the charts of ``/stats``) are listed, one line each, after the text: their title,
file name and size; nothing is written to disk (``helpdesk-bot report --format png`` does).

Notifications (status updates, technician cards) reach the terminal through
:class:`ConsoleMessenger`: each terminal delivers the outbox entries addressed to the
chats it shows, so two terminals on one database behave like two people.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from bot.port import (
    AdapterHost,
    Button,
    ButtonPress,
    DeliveryError,
    Event,
    Image,
    Notification,
    OutgoingMessage,
    Place,
    SentMessage,
    SlashCommand,
    TextMessage,
    User,
)
from bot.text import terminal_safe

PLATFORM = "console"


class Output(Protocol):
    """Where a terminal writes: a text stream, or a :class:`PromptScreen`."""

    def write(self, text: str, /) -> int:
        """Write ``text``."""
        ...

    def flush(self) -> None:
        """Flush."""
        ...


Screen = Callable[[list[str], tuple[Button, ...], Place | None], None]
_THREAD_LINE = re.compile(r"^#(\d{1,9})\s+(.+)$", re.DOTALL)


def _button_number(text: str, buttons: int) -> bool:
    """``text`` is the number of one of ``buttons`` numbered buttons (ASCII digits: "²" is no number)."""
    return len(text) <= 3 and text.isascii() and text.isdigit() and 1 <= int(text) <= buttons


def image_line(image: Image) -> str:
    """One image as a line: ``[PNG] title — file name (size)``; the tag is the file's format."""
    kind = image.filename.rsplit(".", 1)[-1].upper() if "." in image.filename else "FILE"
    size = len(image.data)
    shown = f"{size} B" if size < 1000 else f"{round(size / 1000)} kB"
    title = f"{image.title} — " if image.title and image.title != image.filename else ""
    return f"[{kind}] {title}{image.filename} ({shown})"


def render(message: OutgoingMessage, *, thread: str | None = None) -> list[str]:
    """A core message as terminal lines (one line per image, then the buttons numbered from 1).

    Every line goes through :func:`~bot.text.terminal_safe`: nothing in a ticket, a name or a
    knowledge-base article can send an escape sequence to the terminal.
    """
    prefix = f"[{thread}] " if thread else ""
    lines: list[str] = []
    if message.card is not None:
        lines.append(f"{prefix}┌ {message.card.headline}")
        for label, value in message.card.fields:
            first, *rest = value.splitlines() or [""]
            lines.append(f"{prefix}│ {label}{message.card.separator}{first}")
            lines += [f"{prefix}│   {more}" for more in rest if more.strip()]
        if message.text and message.text != message.card.headline:
            lines += [f"{prefix}{line}" for line in message.text.splitlines()]
    else:
        lines += [f"{prefix}{line}" for line in message.text.splitlines()]
    lines += [prefix + image_line(image) for image in message.images]
    if message.buttons:
        lines.append(prefix + "  ".join(f"[{i}] {b.label}" for i, b in enumerate(message.buttons, start=1)))
    return [safe for line in lines for safe in terminal_safe(line).split("\n")]


@dataclass
class ConsoleMessenger:
    """Delivers outbox entries to the terminals of this process by printing them.

    Each :class:`ConsoleChat` subscribes the chats it shows; one messenger serves them all.
    """

    platform: str = PLATFORM
    _screens: dict[str, Screen] = field(default_factory=dict)
    _languages: dict[str, Callable[[], str]] = field(default_factory=dict)

    def subscribe(self, chat_id: str, show: Screen, language: Callable[[], str] | None = None) -> None:
        """Show messages for ``chat_id`` with ``show``, rendered in ``language()`` (the terminal user's)."""
        self._screens[chat_id] = show
        if language is not None:
            self._languages[chat_id] = language

    def language_for(self, chat_id: str) -> str | None:
        """The language of the person whose terminal shows ``chat_id`` (their ``/lang`` or ``--lang``)."""
        language = self._languages.get(chat_id)
        return language() if language is not None else None

    def send(self, notification: Notification) -> SentMessage:
        """Print the notification; confirmations and cards become thread anchors named ``#N``."""
        show = self._screens.get(notification.place.chat_id)
        if show is None:
            # Another terminal (another process on the same database) may show it: give it back at once.
            raise DeliveryError(f"no terminal shows chat {notification.place.chat_id}", retry_after=0.0)
        thread = None if notification.purpose == "card" else notification.place.thread_id
        show(
            render(notification.message, thread=thread),
            notification.message.buttons,
            notification.place.in_thread(None),
        )
        if notification.purpose in ("confirmation", "card") and notification.ticket_number is not None:
            message_id = f"#{notification.ticket_number}"
        else:
            message_id = f"m{notification.id}"
        return SentMessage(notification.place, message_id)


class ConsoleChat:
    """One person's terminal conversation with the bot."""

    def __init__(
        self,
        app: AdapterHost,
        user: User,
        *,
        technician: bool = False,
        out: Output | None = None,
        triage_chat: str = "triage",
    ) -> None:
        self.app = app
        self.user = user
        self.place = Place(PLATFORM, f"dm:{user.id}")
        self.triage = Place(PLATFORM, triage_chat)
        self.technician = technician
        self._out = out
        self._buttons: tuple[Button, ...] = ()
        self._buttons_place = self.place
        # Where the next plain line goes when a question asked elsewhere (a card's button in the
        # triage chat) waits for free text; None means the user's own chat.
        self._text_place: Place | None = None
        self._transcript: list[str] = []
        # Lines delivered while this terminal was not answering its own user (another terminal's
        # doing, delivered at once by that terminal's event): what the next poll() shows.
        self._unread: list[str] = []
        self._answering = False
        self._held: list[tuple[list[str], tuple[Button, ...], Place | None]] | None = None
        self._lock = threading.RLock()
        if technician:
            app.grant_role(user.key, "technician")
        app.add_technician_place(self.triage)
        messenger = app.messenger_for(PLATFORM)
        if not isinstance(messenger, ConsoleMessenger):
            messenger = ConsoleMessenger()
            app.register_messenger(messenger)
        for chat_id in self.chats:
            messenger.subscribe(chat_id, self._show, lambda: app.language_of(user))

    @property
    def chats(self) -> list[str]:
        """The chats this terminal shows: its own, plus the triage chat for technicians."""
        return [self.place.chat_id, self.triage.chat_id] if self.technician else [self.place.chat_id]

    def to_event(self, line: str) -> Event:
        """The one place that turns a typed line into a core event (each line has an id of its own)."""
        text = line.rstrip("\n")
        stripped = text.strip()
        line_id = f"line:{uuid.uuid4().hex}"
        if _button_number(stripped, len(self._buttons)):
            value = self._buttons[int(stripped) - 1].value
            return ButtonPress(self.user, self._buttons_place, value, event_id=line_id)
        if stripped.startswith("/") and len(stripped) > 1:
            name, _, args = stripped[1:].partition(" ")
            return SlashCommand(self.user, self.place, name.lower(), args.strip(), event_id=line_id)
        thread = _THREAD_LINE.match(stripped)
        if thread:
            # Technicians answer under the ticket's card in the triage chat; requesters in their own chat.
            where = self.triage if self.technician else self.place
            return TextMessage(self.user, where.in_thread(f"#{thread.group(1)}"), thread.group(2), event_id=line_id)
        answer_place, self._text_place = self._text_place, None
        return TextMessage(self.user, answer_place or self.place, text, event_id=line_id)

    def say(self, line: str) -> list[str]:
        """Send one line as this user; returns every line the terminal shows in answer."""
        with self._lock:
            start = len(self._transcript)
            self._answering = True
            # What the event's notifications bring to this terminal (delivered during handle) is shown
            # after the direct answer, as a person reads it: first the answer, then what it caused.
            self._held = []
            try:
                event = self.to_event(line)
                replies = self.app.handle(event)
                held, self._held = self._held, None
                for reply in replies:
                    self._show(render(reply.message), reply.message.buttons, reply.place.in_thread(None))
                    if reply.message.expects_text and event.place.chat_id != self.place.chat_id:
                        self._text_place = event.place.in_thread(None)
                for lines, buttons, place in held:
                    self._show(lines, buttons, place)
                self.app.deliver_due(self.chats)
            finally:
                self._answering = False
                self._held = None
            return self._transcript[start:]

    def resume(self) -> list[str]:
        """Show the question this person's conversation waits on, with its buttons (a terminal
        started again in the middle of an intake): numbers typed next press those buttons."""
        with self._lock:
            start = len(self._transcript)
            question = self.app.pending_question(self.user, self.place)
            if question is not None:
                self._show(render(question), question.buttons, self.place)
            return self._transcript[start:]

    def poll(self) -> list[str]:
        """Show notifications other terminals caused (a technician's change, a new ticket): those already
        delivered since the last call, and those still due for this terminal's chats."""
        with self._lock:
            start = len(self._transcript)
            self._answering = True
            try:
                self.app.deliver_due(self.chats)
            finally:
                self._answering = False
            unread, self._unread = self._unread, []
            return unread + self._transcript[start:]

    def _show(self, lines: list[str], buttons: tuple[Button, ...], place: Place | None = None) -> None:
        if self._held is not None:
            self._held.append((lines, buttons, place))
            return
        if buttons:
            self._buttons = buttons
            self._buttons_place = place or self.place
        self._transcript.extend(lines)
        if not self._answering:
            self._unread.extend(lines)
        if self._out is not None:
            for line in lines:
                self._out.write(f"bot> {line}\n")
            self._out.flush()


class PromptScreen:
    """The output of an interactive terminal with a prompt (``alice> ``) and readline editing.

    While the person is typing (:attr:`reading`), a notice from someone else is printed above the
    line being typed: the line is cleared, the notice written, then the prompt and what was typed so
    far are shown again, so nothing typed is lost or garbled. ``typed`` returns the line buffer
    (``readline.get_line_buffer``).
    """

    def __init__(self, out: TextIO, prompt: str, typed: Callable[[], str]) -> None:
        self._out = out
        self.prompt = prompt
        self._typed = typed
        self.reading = False
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Write ``text``; above the line being typed when the person is typing."""
        with self._lock:
            if not self.reading:
                return self._out.write(text)
            self._out.write("\r\x1b[2K" + text)
            self._out.write(self.prompt + self._typed())
            return len(text)

    def flush(self) -> None:
        """Flush the terminal."""
        self._out.flush()

    def read_line(self) -> str:
        """One typed line (``input`` with the prompt, so readline edits it and keeps the history)."""
        self.reading = True
        try:
            return input(self.prompt)
        finally:
            self.reading = False
