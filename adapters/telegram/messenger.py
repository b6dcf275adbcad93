"""Sending to Telegram: direct replies, outbox notifications, edits and forum topics.

:class:`TelegramOutbound` is the asynchronous sender used by both paths (the replies
to an update and the outbox). :class:`TelegramMessenger` is the core's
:class:`bot.port.Messenger`: the outbox dispatcher calls it from a worker thread,
and it hands each notification to the Application's own event loop with
:func:`asyncio.run_coroutine_threadsafe` and waits for the result. One bot, one
HTTP connection pool and one flood limiter therefore serve both paths.

Threads: a ``place.thread_id`` becomes ``message_thread_id`` in a forum supergroup
(a topic) and ``reply_parameters`` elsewhere (a reply to that message, still sent
when the message is gone). In a forum technicians' chat, the first notification of
a ticket that has no thread yet creates the ticket's topic (createForumTopic); the
returned :class:`SentMessage` carries the topic id as ``place.thread_id``.

Images of a direct reply (the charts of ``/stats``) follow its text as photos, routed
like the text (same chat, topic and reply target). A photo Telegram refuses is logged
and skipped: the text has already arrived.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import OrderedDict
from collections.abc import Callable

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.clock import Clock, SystemClock
from bot.db.uow import UnitOfWorkFactory
from bot.port import DeliveryError, Notification, OutgoingMessage, Place, SentMessage

from .events import PLATFORM
from .ratelimit import retry_after_seconds
from .render import CallbackCodec, RenderedPhoto, photo_groups, render, topic_name

logger = logging.getLogger(__name__)


class ChatFacts:
    """The database side of :class:`ChatRegistry`: forum topics, topic anchors and ForceReply prompts.

    Stored as :class:`~bot.db.models.ChatFact` rows, so they survive a restart and are shared by
    every bot process (a webhook behind a load balancer, the outbox dispatcher of another process).
    Each call is one short indexed query in its own unit of work.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock | None = None) -> None:
        self._uow = uow
        self._clock = clock or SystemClock()

    def get(self, chat_id: int, kind: str, key: int) -> int | None:
        """The integer recorded for ``key`` in that chat, if any."""
        with self._uow() as uow:
            value = uow.messages.fact(PLATFORM, str(chat_id), kind, str(key))
        return None if value is None else int(value or 0)

    def put(self, chat_id: int, kind: str, key: int, value: int) -> None:
        """Record ``key → value`` (the first value recorded for a key stays)."""
        with self._uow() as uow:
            uow.messages.remember_fact(PLATFORM, str(chat_id), kind, str(key), str(value), self._clock.now())
            uow.commit()


class ChatRegistry:
    """What the adapter learns about chats while it runs (all access from the event loop).

    Group → supergroup migrations (old id → new id), which chats are forums, the
    forum topic of each ticket, and the recent ForceReply questions (so that the
    answer to a question is not mistaken for a reply in a ticket thread).

    With a :class:`ChatFacts` store attached (:meth:`attach`, done by
    :func:`adapters.telegram.build_telegram_adapter`) topics, topic anchors and prompts are
    kept in the database too: a ticket keeps its topic after a restart and on every process.
    The in-memory maps then serve as a cache. Migrations and forum flags stay in memory:
    Telegram tells them again (service messages, ``getChat`` at start).
    """

    def __init__(self, technicians_chat: int | None = None, *, prompt_capacity: int = 10_000) -> None:
        self.technicians_chat = technicians_chat
        self._migrations: dict[int, int] = {}
        self._forums: dict[int, bool] = {}
        self._topics: dict[tuple[int, int], int] = {}
        self._known_topics: set[tuple[int, int]] = set()
        self._message_topics: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._anchors: dict[tuple[int, int], int] = {}
        self._prompts: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._prompt_capacity = prompt_capacity
        self._store: ChatFacts | None = None

    def attach(self, store: ChatFacts) -> None:
        """Keep topics, anchors and prompts in the database from now on."""
        self._store = store

    def resolve(self, chat_id: int) -> int:
        """The current id of a chat (follows group → supergroup migrations)."""
        seen = {chat_id}
        while chat_id in self._migrations:
            chat_id = self._migrations[chat_id]
            if chat_id in seen:
                break
            seen.add(chat_id)
        return chat_id

    def migrate(self, old: int, new: int) -> None:
        """Record that ``old`` became ``new``; the technicians' chat follows."""
        if old == new:
            return
        self._migrations[old] = new
        if self.technicians_chat == old:
            logger.warning("The technicians' chat %s became supergroup %s: using the new id", old, new)
            self.technicians_chat = new
        else:
            logger.info("Chat %s migrated to supergroup %s", old, new)

    def set_forum(self, chat_id: int, is_forum: bool) -> None:
        """Remember whether a chat is a forum supergroup."""
        self._forums[chat_id] = is_forum

    def is_forum(self, chat_id: int) -> bool:
        """Whether messages there are organised in topics."""
        return self._forums.get(self.resolve(chat_id), False)

    def topic(self, chat_id: int, ticket_number: int) -> int | None:
        """The forum topic already created for a ticket."""
        chat_id = self.resolve(chat_id)
        topic = self._topics.get((chat_id, ticket_number))
        if topic is None and self._store is not None:
            topic = self._store.get(chat_id, "topic", ticket_number)
            if topic is not None:
                self._topics[(chat_id, ticket_number)] = topic
                self._known_topics.add((chat_id, topic))
        return topic

    def remember_topic(self, chat_id: int, ticket_number: int, topic_id: int) -> None:
        """Remember a ticket's topic."""
        chat_id = self.resolve(chat_id)
        self._topics[(chat_id, ticket_number)] = topic_id
        self._known_topics.add((chat_id, topic_id))
        if self._store is not None:
            self._store.put(chat_id, "topic", ticket_number, topic_id)
            self._store.put(chat_id, "is_topic", topic_id, ticket_number)

    def learn_topic(self, chat_id: int, topic_id: int) -> None:
        """A topic seen in an incoming message."""
        self._known_topics.add((self.resolve(chat_id), topic_id))

    def is_topic(self, chat_id: int, thread_id: int) -> bool:
        """Whether ``thread_id`` is a forum topic id (rather than a message id) in that chat."""
        chat_id = self.resolve(chat_id)
        if (chat_id, thread_id) in self._known_topics:
            return True
        if self._store is not None and self._store.get(chat_id, "is_topic", thread_id) is not None:
            self._known_topics.add((chat_id, thread_id))
            return True
        return False

    def remember_in_topic(self, chat_id: int, message_id: int, topic_id: int) -> None:
        """A bot message posted in a topic; the first one (the ticket card) anchors the topic."""
        chat_id = self.resolve(chat_id)
        self._message_topics[(chat_id, message_id)] = topic_id
        first = (chat_id, topic_id) not in self._anchors
        self._anchors.setdefault((chat_id, topic_id), message_id)
        while len(self._message_topics) > self._prompt_capacity:
            self._message_topics.popitem(last=False)
        if self._store is not None:
            self._store.put(chat_id, "in_topic", message_id, topic_id)
            if first:
                self._store.put(chat_id, "anchor", topic_id, message_id)

    def topic_of_message(self, chat_id: int, message_id: int) -> int | None:
        """The topic a bot message was posted in, when known."""
        chat_id = self.resolve(chat_id)
        topic = self._message_topics.get((chat_id, message_id))
        if topic is None and self._store is not None:
            topic = self._store.get(chat_id, "in_topic", message_id)
        return topic

    def topic_anchor(self, chat_id: int, topic_id: int) -> int | None:
        """The first bot message of a topic (the ticket card), which the core knows as the ticket's."""
        chat_id = self.resolve(chat_id)
        if self._store is not None:
            # The database's anchor is the first one any process recorded (this process may have
            # posted a later message of the topic first, after a restart).
            anchor = self._store.get(chat_id, "anchor", topic_id)
            if anchor is not None:
                self._anchors[(chat_id, topic_id)] = anchor
                return anchor
        return self._anchors.get((chat_id, topic_id))

    def remember_prompt(self, chat_id: int, message_id: int) -> None:
        """Remember a ForceReply question the bot asked."""
        self._prompts[(chat_id, message_id)] = None
        while len(self._prompts) > self._prompt_capacity:
            self._prompts.popitem(last=False)
        if self._store is not None:
            self._store.put(chat_id, "prompt", message_id, 0)

    def is_prompt(self, chat_id: int, message_id: int) -> bool:
        """Whether that bot message was a ForceReply question."""
        if (chat_id, message_id) in self._prompts:
            return True
        return self._store is not None and self._store.get(chat_id, "prompt", message_id) is not None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _benign_edit_error(error: BadRequest) -> bool:
    return "not modified" in error.message.lower()


def _edit_impossible(error: BadRequest) -> bool:
    text = error.message.lower()
    return "message to edit not found" in text or "can't be edited" in text


class TelegramOutbound:
    """Sends core messages with a Bot; shared by the update handlers and the outbox."""

    def __init__(self, bot: Bot, codec: CallbackCodec, registry: ChatRegistry) -> None:
        self.bot = bot
        self.codec = codec
        self.registry = registry

    async def send(
        self, place: Place, message: OutgoingMessage, *, topic: int | None = None, prompt: bool = True
    ) -> list[Message]:
        """Post ``message`` at ``place`` (split when too long); returns the messages sent.

        ``topic`` forces the forum topic (a ticket's topic known from the registry). A question
        (``expects_text``) is remembered as a ForceReply prompt, whose answer belongs to the main
        flow, unless ``prompt=False``: a question about a ticket (the technician's ``/wait``) is
        answered by replying to it, and that reply is a comment on the ticket.
        """
        chat_id = _int(place.chat_id)
        if chat_id is None:
            raise DeliveryError(f"not a Telegram chat id: {place.chat_id!r}", permanent=True)
        try:
            return await self._send(self.registry.resolve(chat_id), _int(place.thread_id), message, topic, prompt)
        except ChatMigrated as migrated:
            self.registry.migrate(self.registry.resolve(chat_id), migrated.new_chat_id)
            return await self._send(migrated.new_chat_id, _int(place.thread_id), message, topic, prompt)

    def _route(self, chat_id: int, thread: int | None, topic: int | None) -> tuple[int | None, int | None]:
        """``(message_thread_id, reply_to_message_id)`` for a thread id in a chat.

        Outside forums a thread is the message to reply to. In a forum it is either a topic
        id (post in the topic) or a message id (reply to it, in its topic when known;
        Telegram also files a reply in the topic of the message it answers).
        """
        if thread is None:
            return topic, None
        if not self.registry.is_forum(chat_id):
            return None, thread
        if topic is None and self.registry.is_topic(chat_id, thread):
            return thread, None
        if topic is None:
            topic = self.registry.topic_of_message(chat_id, thread)
        return topic, (None if thread == topic else thread)

    async def _send(
        self, chat_id: int, thread: int | None, message: OutgoingMessage, forced_topic: int | None, prompt: bool
    ) -> list[Message]:
        rendered = render(message, self.codec)
        parts = [part for part in rendered.parts if part.strip()]
        topic, reply_to = self._route(chat_id, thread, forced_topic)
        sent: list[Message] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent.append(
                await self.bot.send_message(
                    chat_id=chat_id,
                    text=part,
                    parse_mode=ParseMode.HTML,
                    message_thread_id=topic,
                    reply_parameters=(
                        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                        if reply_to is not None
                        else None
                    ),
                    reply_markup=rendered.reply_markup if last else None,
                    disable_web_page_preview=True,
                )
            )
        if sent and prompt and message.expects_text and not message.buttons:
            self.registry.remember_prompt(chat_id, sent[-1].message_id)
        photos = await self._send_photos(chat_id, topic, reply_to, message) if message.images else []
        if topic is not None:
            for item in [*sent, *photos]:
                self.registry.remember_in_topic(chat_id, item.message_id, topic)
        return sent

    async def _send_photos(
        self, chat_id: int, topic: int | None, reply_to: int | None, message: OutgoingMessage
    ) -> list[Message]:
        """The message's images as photos after its text: albums of up to ten, sendPhoto for a lone one."""
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to is not None else None
        sent: list[Message] = []
        for group in photo_groups(message.images):
            names = ", ".join(photo.filename for photo in group)
            try:
                if len(group) == 1:
                    sent.append(await self._send_photo(chat_id, topic, reply, group[0]))
                else:
                    album = await self.bot.send_media_group(
                        chat_id=chat_id,
                        media=[photo.as_media() for photo in group],
                        message_thread_id=topic,
                        reply_parameters=reply,
                    )
                    sent.extend(album)
            except TelegramError as error:
                logger.error("Photos %s were not sent to chat %s (topic %s): %s", names, chat_id, topic, error)
        return sent

    async def _send_photo(
        self, chat_id: int, topic: int | None, reply: ReplyParameters | None, photo: RenderedPhoto
    ) -> Message:
        return await self.bot.send_photo(
            chat_id=chat_id,
            photo=photo.data,
            filename=photo.filename,
            caption=photo.caption or None,
            parse_mode=ParseMode.HTML,
            message_thread_id=topic,
            reply_parameters=reply,
        )

    async def edit(self, chat_id: int, message_id: int, message: OutgoingMessage) -> None:
        """Replace the text and keyboard of a message the bot sent (a ticket card)."""
        rendered = render(message, self.codec)
        markup = rendered.reply_markup if isinstance(rendered.reply_markup, InlineKeyboardMarkup) else None
        try:
            await self.bot.edit_message_text(
                chat_id=self.registry.resolve(chat_id),
                message_id=message_id,
                text=rendered.parts[0],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
        except BadRequest as error:
            if not _benign_edit_error(error):
                raise

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        """Take the buttons off a message once one was pressed (best effort)."""
        try:
            await self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)
        except TelegramError as error:
            logger.debug("Could not remove the keyboard of %s/%s: %s", chat_id, message_id, error)

    async def deliver(self, notification: Notification) -> SentMessage:
        """Deliver one outbox entry: edit in place, or post (in the ticket's topic in a forum)."""
        chat_id = _int(notification.place.chat_id)
        if chat_id is None:
            raise DeliveryError(f"not a Telegram chat id: {notification.place.chat_id!r}", permanent=True)
        chat_id = self.registry.resolve(chat_id)
        place = Place(PLATFORM, str(chat_id), notification.place.thread_id)
        edit_id = _int(notification.edit_message_id)
        if edit_id is not None:
            try:
                await self.edit(chat_id, edit_id, notification.message)
                return SentMessage(place=place, message_id=str(edit_id))
            except BadRequest as error:
                if not _edit_impossible(error):
                    raise
                logger.info("Message %s/%s cannot be edited any more: posting a new one", chat_id, edit_id)
        topic: int | None = None
        if notification.ticket_number is not None and self.registry.is_forum(chat_id):
            topic = self.registry.topic(chat_id, notification.ticket_number)
            if topic is None and place.thread_id is None:
                topic = await self._topic_for(chat_id, notification)
        sent = await self.send(place, notification.message, topic=topic, prompt=notification.ticket_number is None)
        if not sent:
            raise DeliveryError(f"notification {notification.id} has no text to send", permanent=True)
        final_chat = sent[-1].chat.id
        thread = str(topic) if topic is not None else place.thread_id
        return SentMessage(place=Place(PLATFORM, str(final_chat), thread), message_id=str(sent[-1].message_id))

    async def _topic_for(self, chat_id: int, notification: Notification) -> int:
        number = notification.ticket_number
        assert number is not None
        existing = self.registry.topic(chat_id, number)
        if existing is not None:
            return existing
        message = notification.message
        headline = message.card.headline if message.card else message.text.split("\n", 1)[0]
        topic = await self.bot.create_forum_topic(chat_id=chat_id, name=topic_name(number, headline))
        self.registry.remember_topic(chat_id, number, topic.message_thread_id)
        return topic.message_thread_id


def delivery_error(error: BaseException) -> DeliveryError:
    """Classify a Telegram failure for the outbox: permanent (give up) or transient (retry)."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, RetryAfter):  # still rate limited after the flood limiter's own retries
        wait = retry_after_seconds(error)
        return DeliveryError(f"Telegram asks to wait {wait:.0f} s (flood control)", retry_after=wait)
    if isinstance(error, Forbidden):
        return DeliveryError(f"Telegram refused: {error.message}", permanent=True)
    if isinstance(error, BadRequest):  # includes "chat not found"; checked before NetworkError, its base
        return DeliveryError(f"Telegram rejected the request: {error.message}", permanent=True)
    if isinstance(error, TelegramError):
        return DeliveryError(f"Telegram is unavailable: {error.message}")
    return DeliveryError(f"Telegram delivery failed: {type(error).__name__}: {error}")


class TelegramMessenger:
    """The outbox's way into Telegram (synchronous; call it from a worker thread).

    ``loop`` returns the running Application's event loop (``None`` while stopped: the
    notification then fails transiently and the outbox retries it later).
    """

    platform = PLATFORM

    def __init__(
        self,
        outbound: Callable[[], TelegramOutbound | None],
        loop: Callable[[], asyncio.AbstractEventLoop | None],
        *,
        timeout: float = 30.0,
        languages: Callable[[str], str | None] | None = None,
    ) -> None:
        self._outbound = outbound
        self._loop = loop
        self._timeout = timeout
        self._languages = languages

    def language_for(self, chat_id: str) -> str | None:
        """The language of whoever reads ``chat_id`` (cards and notices are rendered in it), if known."""
        return self._languages(chat_id) if self._languages is not None else None

    @staticmethod
    def reader_of(chat_id: str) -> str | None:
        """The user key of the one person who reads ``chat_id``: a private chat's id is its user's id
        (groups and channels have negative ids). The outbox writes what it sends there in that person's
        language — their ``/lang``, else the ``language_code`` of their last update, kept in the database."""
        return f"{PLATFORM}:{chat_id}" if chat_id.isdigit() else None

    def send(self, notification: Notification) -> SentMessage:
        """Deliver ``notification`` on the adapter's loop; raise :class:`DeliveryError` on failure."""
        loop = self._loop()
        outbound = self._outbound()
        if loop is None or outbound is None or not loop.is_running() or loop.is_closed():
            raise DeliveryError("the Telegram adapter is not running")
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            raise DeliveryError("TelegramMessenger.send must not be called from the adapter's event loop")
        future = asyncio.run_coroutine_threadsafe(outbound.deliver(notification), loop)
        try:
            return future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeliveryError(f"Telegram did not answer within {self._timeout:.0f} s") from None
        except Exception as error:
            raise delivery_error(error) from error
