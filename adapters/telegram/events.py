"""Telegram updates → core events. The ONE place that reads Telegram payloads.

Rules (see :func:`to_event`):

* ``/command args`` (also ``/command@ThisBot``) → :class:`~bot.port.SlashCommand`;
  a command addressed to another bot (``/start@OtherBot``) is ignored.
* A callback query (inline button) → :class:`~bot.port.ButtonPress`.
* In a private chat every other text, photo or document → :class:`~bot.port.TextMessage`;
  a reply to one of the bot's messages carries that message's id as ``place.thread_id``
  (the ticket confirmation is the requester's ticket thread), except a reply to a
  ForceReply question, which is just the answer in the main flow.
* In a group only what is addressed to the bot reaches the core: commands, replies to
  the bot's messages and messages in a forum topic (``place.thread_id`` = topic id), so
  the technicians can still talk among themselves.
* Photos become an image attachment (largest size's ``file_id``), documents a file
  (or image) attachment; the caption is the text.
* In a private chat, a sticker, voice note, video note, location, contact, poll … becomes a
  :class:`~bot.port.TextMessage` with ``unsupported`` set (the user is told what the bot can
  read); an edited message becomes one with ``edited`` set and the original ``message_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import Message, Update
from telegram import User as TgUser

from bot.port import Attachment, ButtonPress, Event, Place, SlashCommand, TextMessage, User

PLATFORM = "telegram"


@dataclass(frozen=True)
class EventContext:
    """What the translation needs to know about the bot itself."""

    bot_id: int
    bot_username: str
    is_prompt: Callable[[int, int], bool] = lambda chat_id, message_id: False
    """``(chat_id, message_id) -> True`` when that bot message was a ForceReply question."""
    decode_callback: Callable[[str], str] = lambda data: data
    """Turns ``callback_data`` back into the core's button value (see :class:`render.CallbackCodec`)."""
    topic_anchor: Callable[[int, int], int | None] = lambda chat_id, topic_id: None
    """``(chat_id, topic_id) ->`` the ticket card posted first in that forum topic, when known."""


def user_from(tg_user: TgUser) -> User:
    """The core's view of a Telegram user (``language_code`` is the locale hint)."""
    return User(
        platform=PLATFORM,
        id=str(tg_user.id),
        display_name=tg_user.full_name,
        locale=tg_user.language_code,
    )


def parse_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """``"/claim@Bot 42"`` → ``("claim", "42")``; ``None`` when not a command for this bot."""
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text.partition(" ")
    if "\n" in head:
        head, _, rest = head.partition("\n")
        args = f"{rest} {args}".strip() if args else rest
    name, _, addressee = head[1:].partition("@")
    if not name or (addressee and addressee.lower() != bot_username.lower()):
        return None
    return name.lower(), args.strip()


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """File references in a message: the largest photo size, a document."""
    found: list[Attachment] = []
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        found.append(
            Attachment(
                kind="image",
                ref=largest.file_id,
                name=f"{largest.file_unique_id}.jpg",
                mime_type="image/jpeg",
            )
        )
    if message.document:
        document = message.document
        mime = document.mime_type or ""
        found.append(
            Attachment(
                kind="image" if mime.startswith("image/") else "file",
                ref=document.file_id,
                name=document.file_name or document.file_unique_id,
                mime_type=mime,
            )
        )
    return tuple(found)


def _thread_of(message: Message, ctx: EventContext) -> str | None:
    """The thread a message belongs to: the bot message it replies to, or its forum topic.

    Inside a forum topic Telegram makes every message a reply to the topic's creation
    message; that one is not a ticket message, so the topic stands for the thread (its
    first bot message, the ticket card, when known).
    """
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and replied.from_user.id == ctx.bot_id
        and replied.forum_topic_created is None
        and not ctx.is_prompt(message.chat.id, replied.message_id)
    ):
        return str(replied.message_id)
    if message.is_topic_message and message.message_thread_id is not None:
        anchor = ctx.topic_anchor(message.chat.id, message.message_thread_id)
        return str(anchor if anchor is not None else message.message_thread_id)
    return None


UNSUPPORTED_KINDS = (
    "sticker",
    "voice",
    "video_note",
    "video",
    "audio",
    "animation",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
)
"""Message kinds the bot cannot read: in a private chat the user is told what it can read."""


def unsupported_kind(message: Message) -> str | None:
    """The kind of a message without text or file the bot could use (``"sticker"`` …), else None."""
    for kind in UNSUPPORTED_KINDS:
        if getattr(message, kind, None):
            return kind
    return None


def _message_event(message: Message, ctx: EventContext, event_id: str = "", *, edited: bool = False) -> Event | None:
    tg_user = message.from_user
    if tg_user is None or tg_user.is_bot:
        return None
    text = message.text or message.caption or ""
    attachments = attachments_of(message)
    private = message.chat.type == message.chat.PRIVATE
    user = user_from(tg_user)
    message_id = str(message.message_id)
    if not text and not attachments:
        kind = unsupported_kind(message)
        if kind is None or not private:
            return None  # service messages, and group chatter the bot cannot read
        place = Place(PLATFORM, str(message.chat.id), None)
        return TextMessage(user, place, "", event_id=event_id, message_id=message_id, unsupported=kind)
    place = Place(PLATFORM, str(message.chat.id), _thread_of(message, ctx))
    if edited:
        if not private and place.thread_id is None:
            return None
        return TextMessage(user, place, text, attachments, event_id=event_id, message_id=message_id, edited=True)
    command = parse_command(text, ctx.bot_username)
    if command is not None:
        return SlashCommand(
            user=user, place=place, name=command[0], args=command[1], attachments=attachments, event_id=event_id
        )
    if text.startswith("/"):
        return None  # a command for another bot in a group
    if message.chat.type != message.chat.PRIVATE and place.thread_id is None:
        return None  # group chatter that does not address the bot
    return TextMessage(
        user=user, place=place, text=text, attachments=attachments, event_id=event_id, message_id=message_id
    )


def to_event(update: Update, ctx: EventContext) -> Event | None:
    """Translate one update; ``None`` when it means nothing to the helpdesk core.

    The event's identity is ``update:<update_id>``: Telegram delivers an update again (after a
    lost ``getUpdates`` confirmation, a webhook retry, a restart) under the same id.
    """
    event_id = f"update:{update.update_id}"
    query = update.callback_query
    if query is not None:
        if query.message is None or query.data is None:
            return None  # inline-mode or game buttons: not ours
        carrier = query.message
        thread: str | None = None
        if isinstance(carrier, Message) and carrier.is_accessible and carrier.is_topic_message:
            thread = str(carrier.message_thread_id) if carrier.message_thread_id is not None else None
        return ButtonPress(
            user=user_from(query.from_user),
            place=Place(PLATFORM, str(carrier.chat.id), thread),
            value=ctx.decode_callback(query.data),
            message_id=str(carrier.message_id),
            event_id=event_id,
        )
    if update.message is not None:
        return _message_event(update.message, ctx, event_id)
    if update.edited_message is not None:
        return _message_event(update.edited_message, ctx, event_id, edited=True)
    return None  # channel posts, member updates
