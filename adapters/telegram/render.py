"""Core replies → Telegram: HTML text, inline keyboards and ForceReply. The ONE place.

Every piece of text that comes from the core (and therefore possibly from a user:
ticket titles, comments, names) goes through :func:`html.escape` here and nowhere
else; messages are sent with ``parse_mode=HTML``. Telegram refuses texts longer
than 4096 characters, so long messages are split on line boundaries (a single
over-long line is cut), and the keyboard goes with the last part.

Images (the charts of ``/stats``) become photos after the text: :func:`photo_groups` packs
them in albums of at most ten (sendMediaGroup; a lone photo goes with sendPhoto), each with
its title as an HTML-escaped caption of at most 1024 characters.

``callback_data`` is limited to 64 bytes. Most of the core's button values are short
and go as they are; :class:`CallbackCodec` replaces a longer one (a knowledge article
with a long id, a take-over naming a long user key) by ``"~"`` and a 120-bit hash of it,
stored in the database (:class:`bot.db.callbacks.CallbackDataStore`) so that the button
still works after a restart and when another bot process receives the press. A token
nobody knows (expired after its time to live, or never stored) comes back as itself,
which the core answers with "That button is no longer active."
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Protocol

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.constants import ParseMode

from bot.port import Button, Image, OutgoingMessage, TicketCard

MAX_TEXT = 4096
"""Telegram's limit for one message's text."""
MAX_CALLBACK_DATA = 64
"""Telegram's limit for ``callback_data``, in bytes."""
MAX_ALERT = 200
"""Telegram's limit for an answerCallbackQuery text."""
MAX_TOPIC_NAME = 128
MAX_CAPTION = 1024
"""Telegram's limit for a photo caption, in characters (after entity parsing)."""
MAX_MEDIA_GROUP = 10
"""A sendMediaGroup album holds 2 to 10 photos."""

_HASH_PREFIX = "~"
_ROW_CHARS = 32
_ROW_BUTTONS = 3
_FIELD_VALUE_CHARS = 1000


class CallbackStore(Protocol):
    """Where long button values live behind their tokens (the database, for every process)."""

    def remember(self, token: str, value: str) -> None:
        """Make ``token`` mean ``value``."""
        ...

    def recall(self, token: str) -> str | None:
        """The value behind ``token``, or None."""
        ...


class MemoryCallbackStore:
    """A bounded in-process table (most recent ``capacity`` values): tests and the console, one process only."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._table: OrderedDict[str, str] = OrderedDict()
        self._lock = Lock()

    def remember(self, token: str, value: str) -> None:
        """Remember ``token → value``, forgetting the oldest beyond the capacity."""
        with self._lock:
            self._table[token] = value
            self._table.move_to_end(token)
            while len(self._table) > self._capacity:
                self._table.popitem(last=False)

    def recall(self, token: str) -> str | None:
        """The value behind ``token``, if still remembered."""
        with self._lock:
            return self._table.get(token)


class CallbackCodec:
    """Maps button values to ``callback_data`` of at most 64 bytes, and back.

    ``store`` keeps the long values (:class:`bot.db.callbacks.CallbackDataStore` in a running
    bot); without one they are remembered in this process only.
    """

    def __init__(self, store: CallbackStore | None = None) -> None:
        self._store: CallbackStore = store if store is not None else MemoryCallbackStore()

    @staticmethod
    def token(value: str) -> str:
        """The short token of a long value: the same in every process."""
        digest = hashlib.sha256(value.encode("utf-8")).digest()[:15]
        return _HASH_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")

    def encode(self, value: str) -> str:
        """The ``callback_data`` for ``value``: itself when it fits, else its stored token."""
        if len(value.encode("utf-8")) <= MAX_CALLBACK_DATA and not value.startswith(_HASH_PREFIX):
            return value
        key = self.token(value)
        self._store.remember(key, value)
        return key

    def decode(self, data: str) -> str:
        """The button value behind ``callback_data`` (the data itself when not a token, or unknown)."""
        if not data.startswith(_HASH_PREFIX):
            return data
        return self._store.recall(data) or data


@dataclass(frozen=True)
class RenderedMessage:
    """One core message ready for the Bot API: HTML parts and the markup of the last part."""

    parts: tuple[str, ...]
    reply_markup: InlineKeyboardMarkup | ForceReply | None


def escape(text: str) -> str:
    """Escape user or core text for ``parse_mode=HTML``."""
    return html.escape(text, quote=False)


def _card_lines(card: TicketCard) -> list[str]:
    headline = card.headline if f"#{card.number}" in card.headline else f"#{card.number} — {card.headline}"
    lines = [f"<b>{escape(_shorten(headline))}</b>"]
    lines.extend(
        f"<b>{escape(_shorten(label))}</b>{escape(card.separator)}{escape(_shorten(value))}"
        for label, value in card.fields
    )
    return lines


def _shorten(value: str, limit: int = _FIELD_VALUE_CHARS) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _cut_plain(line: str, limit: int) -> list[str]:
    """Cut one plain-text line so that each escaped piece fits in ``limit`` characters."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        escaped = escape(char)
        if size + len(escaped) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(escaped)
        size += len(escaped)
    pieces.append("".join(current))
    return pieces


def split_html(lines: list[str], limit: int = MAX_TEXT) -> tuple[str, ...]:
    """Pack already-escaped lines into parts of at most ``limit`` characters."""
    parts: list[str] = []
    current = ""
    for line in lines:
        candidates = [line] if len(line) <= limit else _cut_plain(html.unescape(line), limit)
        for piece in candidates:
            joined = f"{current}\n{piece}" if current else piece
            if len(joined) <= limit:
                current = joined
            else:
                if current:
                    parts.append(current)
                current = piece
    if current or not parts:
        parts.append(current)
    return tuple(parts)


def keyboard(buttons: tuple[Button, ...], codec: CallbackCodec) -> InlineKeyboardMarkup:
    """Inline keyboard: short labels share a row (up to three), long ones get their own."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    row_chars = 0
    for button in buttons:
        label = button.label
        if row and (len(row) >= _ROW_BUTTONS or row_chars + len(label) > _ROW_CHARS):
            rows.append(row)
            row, row_chars = [], 0
        row.append(InlineKeyboardButton(text=label, callback_data=codec.encode(button.value)))
        row_chars += len(label)
    if row:
        rows.append(row)
    return InlineKeyboardMarkup(rows)


def render(message: OutgoingMessage, codec: CallbackCodec) -> RenderedMessage:
    """Turn a core message into Telegram HTML parts plus its markup.

    A card comes first (bold headline, one ``label: value`` line per field), then the
    text. Buttons become an inline keyboard; otherwise ``expects_text`` becomes a
    ForceReply so the user's client opens a reply to the question.
    """
    lines: list[str] = []
    text = message.text
    if message.card is not None:
        lines.extend(_card_lines(message.card))
        if text.strip() == message.card.headline.strip():
            text = ""  # the headline already says it
        elif text:
            lines.append("")
    if text:
        lines.extend(escape(line) for line in text.split("\n"))
    parts = split_html(lines)
    markup: InlineKeyboardMarkup | ForceReply | None = None
    if message.buttons:
        markup = keyboard(message.buttons, codec)
    elif message.expects_text:
        markup = ForceReply(selective=True)
    return RenderedMessage(parts=parts, reply_markup=markup)


def alert_text(message: OutgoingMessage) -> str:
    """Plain text for an answerCallbackQuery alert (no HTML there), cut to 200 characters."""
    text = message.text.strip() or (message.card.headline if message.card else "")
    return _shorten(text, MAX_ALERT)


def topic_name(number: int, headline: str) -> str:
    """Name of a ticket's forum topic, within Telegram's 128 characters (plain text)."""
    name = headline if f"#{number}" in headline else f"#{number} {headline}"
    return _shorten(name.strip(), MAX_TOPIC_NAME)


@dataclass(frozen=True)
class RenderedPhoto:
    """One image ready for sendPhoto or an album: its bytes, file name and HTML caption."""

    data: bytes
    filename: str
    caption: str

    def as_media(self) -> InputMediaPhoto:
        """The photo as an album item (uploaded from its bytes)."""
        return InputMediaPhoto(
            media=self.data, caption=self.caption or None, parse_mode=ParseMode.HTML, filename=self.filename
        )


def render_photo(image: Image) -> RenderedPhoto:
    """An image with its title as caption (escaped, cut to :data:`MAX_CAPTION`)."""
    caption = _cut_plain(image.title, MAX_CAPTION)[0] if image.title else ""
    return RenderedPhoto(data=image.data, filename=image.filename, caption=caption)


def photo_groups(images: tuple[Image, ...]) -> list[list[RenderedPhoto]]:
    """Images in sending order, in albums of at most :data:`MAX_MEDIA_GROUP`; a group of one is a lone photo."""
    photos = [render_photo(image) for image in images]
    return [photos[start : start + MAX_MEDIA_GROUP] for start in range(0, len(photos), MAX_MEDIA_GROUP)]
