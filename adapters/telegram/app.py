"""The running Telegram adapter: a python-telegram-bot v22 Application around the core.

One :class:`~telegram.ext.TypeHandler` receives every update; :mod:`.events` turns it
into a core event, the core runs in a worker thread (``asyncio.to_thread``: it is
synchronous, SQLAlchemy) and the replies are rendered by :mod:`.render` and sent by
:class:`~.messenger.TelegramOutbound`.

* Updates of one chat are handled one after the other (a per-chat lock), different
  chats concurrently; an update id already handled is skipped (Telegram re-delivers
  when a webhook answer was lost; a bounded in-memory ledger of recent ids).
* Every callback query is answered exactly once: with an alert when the core's reply
  is ``ephemeral`` (e.g. a non-technician pressing Claim), silently otherwise.
* In a private chat the pressed message loses its keyboard (when still accessible), so
  an old question cannot be answered twice.
* Polling (default) or webhook mode (PTB's own server verifies the secret token header
  and answers 403 to a wrong one).
* :meth:`TelegramAdapter.start` runs the Application in its own thread with its own
  event loop; :meth:`astart`/:meth:`astop` do the same inside a running loop (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import BotCommandScopeAllPrivateChats, BotCommandScopeChat, CallbackQuery, Chat, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest, RequestData

from bot.port import Attachment, ButtonPress, Event, HelpdeskPort, Messenger, Reply

from . import commands
from .config import TelegramConfig
from .events import EventContext, to_event
from .messenger import ChatRegistry, TelegramMessenger, TelegramOutbound
from .ratelimit import FloodLimiter
from .render import CallbackCodec, CallbackStore, alert_text

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile's limit on Telegram's public server

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def direct_reply(event: Event, reply: Reply) -> bool:
    """The Telegram :data:`~bot.port.DirectPolicy`: only a button's ephemeral answer stays with the adapter.

    It is shown as the callback query's alert, which exists only while the press is being
    answered. Every other reply is written to the outbox in the event's transaction and
    delivered (and retried through an outage) by the dispatcher.
    """
    return isinstance(event, ButtonPress) and reply.message.ephemeral


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


class WatchedPolling(HTTPXRequest):
    """The ``getUpdates`` connection, remembering whether Telegram answered the last poll.

    ``answered`` is ``None`` until a poll finishes, ``True`` after a 200 answer, ``False`` after a
    network error, a timeout or an error status (502 from a proxy, 401 for a revoked token, 409 when
    another process polls with the same token). ``/readyz`` reads it through
    :meth:`TelegramAdapter.connected`.
    """

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)
        self.answered: bool | None = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        write_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        connect_timeout: Any = HTTPXRequest.DEFAULT_NONE,
        pool_timeout: Any = HTTPXRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send the poll and record whether it was answered."""
        try:
            status, payload = await super().do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        except TelegramError:
            self.answered = False
            raise
        self.answered = status == 200
        return status, payload


def build_application(
    config: TelegramConfig, limiter: FloodLimiter | None = None, polling: WatchedPolling | None = None
) -> AnyApplication:
    """A PTB Application for ``config`` (custom ``base_url``, flood limiter, concurrent chats)."""
    quiet_http_logs()
    # Opt in to PTB 23's timedelta durations now (RetryAfter.retry_after…): without it PTB 22.2+
    # emits a deprecation warning each time Telegram answers 429. ratelimit.py reads both forms.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    builder = ApplicationBuilder().token(config.bot_token()).rate_limiter(limiter or FloodLimiter())
    if config.base_url:
        builder = builder.base_url(f"{config.base_url}/bot").base_file_url(f"{config.base_url}/file/bot")
    if polling is not None:
        builder = builder.get_updates_request(polling)
    return builder.concurrent_updates(64).build()


class TelegramAdapter:
    """The Telegram platform adapter (see the module docstring)."""

    name = "telegram"

    def __init__(
        self,
        config: TelegramConfig,
        core: HelpdeskPort,
        *,
        after_handle: Callable[[], object] | None = None,
        limiter: FloodLimiter | None = None,
        callback_store: CallbackStore | None = None,
    ) -> None:
        self.config = config
        self.core = core
        self.registry = ChatRegistry(config.technicians_chat)
        if config.technicians_chat is not None and config.technicians_forum is not None:
            self.registry.set_forum(config.technicians_chat, config.technicians_forum)
        self.codec = CallbackCodec(callback_store)
        self._polling = WatchedPolling()
        self.application = build_application(config, limiter, self._polling)
        self.outbound = TelegramOutbound(self.application.bot, self.codec, self.registry)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.messenger: Messenger = TelegramMessenger(
            lambda: self.outbound, lambda: self._loop, timeout=config.request_timeout, languages=self.language_for
        )
        self._after_handle = after_handle
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._ctx: EventContext | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested: asyncio.Event | None = None
        self._running = False
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    # ---------------------------------------------------------------- lifecycle

    async def astart(self) -> None:
        """Initialise the bot, register the menus and start receiving (in the running loop)."""
        app = self.application
        await app.initialize()
        bot = app.bot
        self._ctx = EventContext(
            bot_id=bot.id,
            bot_username=bot.username,
            is_prompt=self.registry.is_prompt,
            decode_callback=self.codec.decode,
            topic_anchor=self.registry.topic_anchor,
        )
        await self._detect_forum()
        await self.register_commands()
        await app.start()
        updater = app.updater
        assert updater is not None
        if self.config.mode == "webhook":
            secret = self.config.webhook_secret.get_secret_value() if self.config.webhook_secret else None
            await updater.start_webhook(
                listen=self.config.webhook_host,
                port=self.config.webhook_port,
                url_path=self.config.webhook_path,
                webhook_url=self.config.webhook_url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        else:
            await updater.start_polling(
                poll_interval=0.0,
                timeout=self.config.polling_timeout,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        self._loop = asyncio.get_running_loop()
        self._running = True
        logger.info("Telegram adapter running as @%s (%s mode)", bot.username, self.config.mode)

    def connected(self) -> bool:
        """Whether updates arrive (``/readyz``): in polling mode, Telegram answered the last poll
        (or none has finished yet since the start, which reached Telegram); in webhook mode, the
        webhook server is running."""
        updater = self.application.updater
        if not self._running or updater is None or not updater.running:
            return False
        return self.config.mode == "webhook" or self._polling.answered is not False

    async def astop(self) -> None:
        """Stop receiving and release the connection (idempotent)."""
        if not self._running:
            return
        self._running = False
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        self._loop = None

    def start(self) -> None:
        """Run the Application in its own thread and event loop; return once it receives updates."""
        if self._thread is not None:
            return
        started = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._stop_requested = asyncio.Event()
            try:
                await self.astart()
            except BaseException as error:
                failure.append(error)
                started.set()
                with contextlib.suppress(Exception):
                    await self.application.shutdown()
                return
            started.set()
            await self._stop_requested.wait()
            await self.astop()

        self._thread = threading.Thread(target=asyncio.run, args=(serve(),), name="telegram-adapter", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        """Stop the thread started by :meth:`start` (idempotent)."""
        thread, loop, stop = self._thread, self._loop, self._stop_requested
        if thread is None:
            return
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None

    async def register_commands(self) -> None:
        """setMyCommands: requesters' menu per language, technicians' menu in their chat only."""
        bot = self.application.bot
        menu = self.core.command_menu
        try:
            private = BotCommandScopeAllPrivateChats()
            for language in (None, *commands.LANGUAGES):
                menu_language = language or commands.DEFAULT_LANGUAGE
                await bot.set_my_commands(
                    commands.menu_commands(menu, "everyone", menu_language), scope=private, language_code=language
                )
            chat = self.registry.technicians_chat
            if chat is not None:
                scope = BotCommandScopeChat(chat)
                for language in (None, *commands.LANGUAGES):
                    menu_language = language or commands.DEFAULT_LANGUAGE
                    await bot.set_my_commands(
                        commands.menu_commands(menu, "technician", menu_language), scope=scope, language_code=language
                    )
        except TelegramError as error:
            logger.warning("Could not register the command menus: %s", error)

    async def _detect_forum(self) -> None:
        chat_id = self.registry.technicians_chat
        if chat_id is None or self.config.technicians_forum is not None:
            return
        try:
            chat = await self.application.bot.get_chat(chat_id)
        except TelegramError as error:
            logger.warning("Could not read the technicians' chat %s (%s): assuming no forum topics", chat_id, error)
            return
        self.registry.set_forum(chat_id, bool(chat.is_forum))

    # ---------------------------------------------------------------- updates

    def _lock_for(self, chat_id: str) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._chat_locks[chat_id] = lock
        return lock

    def _context(self) -> EventContext:
        if self._ctx is None:
            bot = self.application.bot
            self._ctx = EventContext(
                bot.id, bot.username, self.registry.is_prompt, self.codec.decode, self.registry.topic_anchor
            )
        return self._ctx

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # No deduplication here: the event carries ``update:<update_id>`` and the core's pipeline
        # records it in the database, so a redelivered update is skipped by every process.
        message = update.message
        if message is not None and self._learn_chat(message):
            return
        event = to_event(update, self._context())
        if update.callback_query is not None:
            await self._on_button(update.callback_query, event)
            return
        if event is None:
            return
        async with self._lock_for(event.place.chat_id):
            event = await self._download_attachments(event)
            replies = await asyncio.to_thread(self.core.handle, event)
            await self.send_replies(replies)
        await self._after()

    def language_for(self, chat_id: str) -> str | None:
        """The language to render cards and notices in for ``chat_id``: ``technicians_language`` for the
        technicians' group, else ``None``. A private chat is written in its user's language, which the core
        keeps in the database from their ``language_code`` (:meth:`TelegramMessenger.reader_of`)."""
        if self.config.technicians_chat is not None and chat_id == str(self.config.technicians_chat):
            return self.config.technicians_language
        return None

    def _learn_chat(self, message: Message) -> bool:
        """Follow migrations and forum flags; ``True`` when the message was only a service note."""
        if message.migrate_to_chat_id is not None:
            self.registry.migrate(message.chat.id, message.migrate_to_chat_id)
            return True
        if message.migrate_from_chat_id is not None:
            self.registry.migrate(message.migrate_from_chat_id, message.chat.id)
            return True
        if message.chat.is_forum is not None:
            self.registry.set_forum(message.chat.id, message.chat.is_forum)
        if message.is_topic_message and message.message_thread_id is not None:
            self.registry.learn_topic(message.chat.id, message.message_thread_id)
        return False

    async def _on_button(self, query: CallbackQuery, event: Event | None) -> None:
        answered = False
        try:
            if not isinstance(event, ButtonPress):
                return
            async with self._lock_for(event.place.chat_id):
                carrier = query.message
                if isinstance(carrier, Message) and carrier.is_accessible and carrier.chat.type == Chat.PRIVATE:
                    await self.outbound.remove_keyboard(carrier.chat.id, carrier.message_id)
                replies = await asyncio.to_thread(self.core.handle, event)
                alert = next((reply for reply in replies if reply.message.ephemeral), None)
                answered = True
                if alert is not None:
                    await query.answer(alert_text(alert.message), show_alert=True)
                else:
                    await query.answer()
                await self.send_replies([reply for reply in replies if reply is not alert])
            await self._after()
        finally:
            if not answered:
                try:
                    await query.answer()
                except TelegramError as error:
                    logger.warning("Could not answer callback query %s: %s", query.id, error)

    async def send_replies(self, replies: list[Reply]) -> None:
        """Send the core's replies in order; one failing reply does not stop the others."""
        for reply in replies:
            try:
                await self.outbound.send(reply.place, reply.message)
            except Exception:
                logger.exception("Could not send a reply to chat %s", reply.place.chat_id)

    async def _after(self) -> None:
        if self._after_handle is None:
            return
        try:
            await asyncio.to_thread(self._after_handle)
        except Exception:
            logger.exception("Delivering pending notifications after an update failed")

    async def _download_attachments(self, event: Event) -> Event:
        """Copy photos and documents to ``storage_dir`` (when configured); the file_id stays the ref."""
        directory = self.config.storage_dir
        if directory is None or isinstance(event, ButtonPress) or not event.attachments:
            return event
        stored = tuple([await self._download(attachment, directory) for attachment in event.attachments])
        return dataclasses.replace(event, attachments=stored)

    async def _download(self, attachment: Attachment, directory: Path) -> Attachment:
        try:
            file = await self.application.bot.get_file(attachment.ref)
            if file.file_size is not None and file.file_size > _MAX_DOWNLOAD_BYTES:
                return attachment
            suffix = Path(file.file_path or attachment.name).suffix or Path(attachment.name).suffix
            directory.mkdir(parents=True, exist_ok=True)
            target = await file.download_to_drive(directory / f"{file.file_unique_id}{suffix}")
            return dataclasses.replace(attachment, url=target.resolve().as_uri())
        except (TelegramError, OSError) as error:
            logger.warning("Could not download attachment %s: %s", attachment.name or attachment.ref, error)
            return attachment

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("Error while handling Telegram update %s", update_id, exc_info=context.error)
