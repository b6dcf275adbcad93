"""Text as it enters the bot: one sanitising step for everything people type.

:func:`clean_input` is applied once, by the core's pipeline, to every incoming message
text, command argument, display name and attachment name (and to the fields of a platform
form), before anything is stored or shown:

* terminal escape sequences (``ESC [ … m``, ``ESC ] … BEL`` window titles, C1 controls) are
  removed whole, and so is every other control character except newline and tab;
* bidirectional overrides and isolates (``U+202A``–``U+202E``, ``U+2066``–``U+2069``), the
  byte-order mark and lone surrogates are removed: they can make text read backwards;
* line and paragraph separators and ``\\r\\n`` become ``\\n``;
* the text is normalised to NFC, so ``é`` typed as ``e`` + combining accent matches ``é``.

Lengths are bounded where the text is used (the message limit of ``[bot] max_message_chars``,
the intake's per-field limits); names are cut to :data:`NAME_MAX` here.

Each platform escapes again where text leaves (terminal, Slack, Telegram HTML, e-mail): see
:func:`terminal_safe` for the console.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace

from bot.port import Attachment, Event, SlashCommand, TextMessage, User

NAME_MAX = 100
"""Display names and file names longer than this are cut (with an ellipsis)."""

_ESCAPE_SEQUENCE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI: colours, cursor moves, screen clearing
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC: window title, hyperlinks (to BEL or ST)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?     # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                  # any other escape
    | \x9b[0-?]*[ -/]*[@-~]            # 8-bit CSI
    """,
    re.VERBOSE,
)
_BIDI_AND_INVISIBLE = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufff9\ufffa\ufffb"
)
_KEPT_CONTROLS = frozenset("\n\t")


def _allowed(ch: str) -> bool:
    if ch in _KEPT_CONTROLS:
        return True
    if ch in _BIDI_AND_INVISIBLE:
        return False
    category = unicodedata.category(ch)
    return category not in ("Cc", "Cs")


def clean_input(text: str) -> str:
    """``text`` without escape sequences, control characters (newline and tab kept) and bidi
    overrides, with uniform newlines, in NFC."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = "".join(ch for ch in text if _allowed(ch))
    return unicodedata.normalize("NFC", text)


def clean_name(name: str, limit: int = NAME_MAX) -> str:
    """A display or file name: :func:`clean_input` on one line, spaces collapsed, at most ``limit``."""
    flat = " ".join(clean_input(name).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def terminal_safe(text: str) -> str:
    """Text that cannot alter a terminal: no escape sequence, no control character but newline,
    tabs as spaces, no bidi override. The console applies it to every line it prints."""
    return clean_input(text).replace("\t", "    ")


def clean_user(user: User) -> User:
    """The user with a cleaned display name (names come from platform profiles anyone can edit)."""
    name = clean_name(user.display_name)
    return user if name == user.display_name else replace(user, display_name=name)


def clean_event(event: Event) -> Event:
    """The event with its text, command arguments, user name and attachment names cleaned."""
    user = clean_user(event.user)
    if isinstance(event, TextMessage):
        return replace(event, user=user, text=clean_input(event.text), attachments=_attachments(event.attachments))
    if isinstance(event, SlashCommand):
        return replace(
            event,
            user=user,
            name=clean_name(event.name, 64),
            args=clean_input(event.args),
            attachments=_attachments(event.attachments),
        )
    return replace(event, user=user) if user is not event.user else event


def clean_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """A platform form's fields (Slack's intake modal), each cleaned."""
    return {name: clean_input(value) for name, value in fields.items()}


def _attachments(items: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    return tuple(replace(item, name=clean_name(item.name)) if item.name else item for item in items)
