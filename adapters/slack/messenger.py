"""The outbox's way into Slack: :class:`SlackMessenger` implements :class:`bot.port.Messenger`.

Notifications (a status update in the requester's thread, the technician card in the
triage channel) are posted with ``chat.postMessage`` (in the thread given by
``place.thread_id``) or edited in place with ``chat.update`` when
``edit_message_id`` is set. The Web API client retries 429 answers (honouring
``Retry-After``), 5xx answers and dropped connections; what still fails becomes a
:class:`~bot.port.DeliveryError`, permanent when retrying cannot help.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from adapters.slack.render import render_message
from bot.port import DeliveryError, Notification, Place, SentMessage

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_not_in_channel",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "restricted_action",
        "cannot_dm_bot",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "team_access_not_granted",
        "ekm_access_denied",
        "invalid_arguments",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "too_many_attachments",
        "channel_is_archived",
        "user_is_deleted",
    }
)
"""Slack error codes that a later retry cannot fix: the outbox should give up on the entry."""

_MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

OUTBOX_EVENT_TYPE = "helpdesk_outbox"
"""``metadata.event_type`` of every message the outbox posts; ``event_payload`` is ``{"outbox_id": id}``."""

_LOOKUP_PAGES = 5
"""At most this many pages of 200 messages are read when looking for a message posted in doubt."""


def outbox_metadata(outbox_id: int) -> dict[str, Any]:
    """The message metadata that lets the bot find a message it posted for an outbox entry."""
    return {"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"outbox_id": outbox_id}}


def carries_outbox_id(message: dict[str, Any], outbox_id: int) -> bool:
    """Whether a message (from ``conversations.history``/``replies``) was posted for that outbox entry."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return bool(metadata.get("event_type") == OUTBOX_EVENT_TYPE and payload.get("outbox_id") == outbox_id)


def _retry_after(headers: Any) -> float:
    """The ``Retry-After`` header in seconds (1 when absent or unreadable)."""
    for name, values in dict(headers or {}).items():
        if name.lower() == "retry-after" and values:
            value = values[0] if isinstance(values, list | tuple) else values
            try:
                return max(float(value), 0.0)
            except ValueError:
                return 1.0
    return 1.0


class RateLimitRetry(RetryHandler):
    """Retry a 429 after the ``Retry-After`` delay Slack asks for, when that delay is short.

    A longer wait (over ``max_wait`` seconds) is not slept here: the 429 surfaces as a
    :class:`~bot.port.DeliveryError` with ``retry_after``, and the outbox gives the entry back
    until then rather than holding it (and its lease) while sleeping.
    """

    def __init__(self, max_retry_count: int = 3, *, sleep: Sleep = time.sleep, max_wait: float = 10.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429 and _retry_after(response.headers) <= self.max_wait

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        delay = _retry_after(response.headers) if response is not None else 1.0
        state.next_attempt_requested = True
        self.sleep(min(delay, self.max_wait))
        state.increment_current_attempt()


class ServerErrorRetry(RetryHandler):
    """Retry a 500/502/503/504 answer with exponential backoff (0.5 s, 1 s, …), injectable sleep."""

    def __init__(self, max_retry_count: int = 2, *, sleep: Sleep = time.sleep, base_delay: float = 0.5) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.base_delay = base_delay

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self.sleep(self.base_delay * (2**state.current_attempt))
        state.increment_current_attempt()


def make_web_client(
    token: str,
    *,
    base_url: str | None = None,
    sleep: Sleep = time.sleep,
    timeout: int = 15,
) -> WebClient:
    """A Web API client that retries 429 (``Retry-After``), 5xx and connection errors."""
    handlers: list[RetryHandler] = [
        RateLimitRetry(sleep=sleep),
        ServerErrorRetry(sleep=sleep),
        ConnectionErrorRetryHandler(max_retry_count=1),
    ]
    kwargs: dict[str, Any] = {"token": token, "timeout": timeout, "retry_handlers": handlers}
    if base_url:
        kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
    return WebClient(**kwargs)


def delivery_error(error: SlackClientError) -> DeliveryError:
    """Turn an SDK error into a :class:`DeliveryError`.

    Permanent for the error codes a retry cannot fix and for any other HTTP 4xx answer
    (except 408 and 429); a 429 carries Slack's ``Retry-After`` as ``retry_after``.
    """
    if isinstance(error, SlackApiError):
        status = int(error.response.status_code)
        code = str(error.response.get("error") or f"http_{status}")
        if status == 429 or code == "ratelimited":
            wait = _retry_after(error.response.headers)
            return DeliveryError(f"Slack asks to wait {wait:.0f} s (rate limited)", retry_after=wait)
        permanent = code in PERMANENT_ERRORS or (400 <= status < 500 and status != 408)
        return DeliveryError(f"Slack refused the message: {code}", permanent=permanent)
    return DeliveryError(f"Slack could not be reached: {type(error).__name__}")


class SlackMessenger:
    """Delivers outbox notifications to Slack through a :class:`~slack_sdk.WebClient`.

    Every posted message carries its outbox id in its metadata (:func:`outbox_metadata`).
    A notification ``in_doubt`` (an earlier attempt died while sending) is first looked for
    with :meth:`find_posted`; when Slack already has it, it is not posted again.
    """

    platform = "slack"

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._readers: dict[str, str | None] = {}
        self._readers_lock = threading.Lock()

    def remember_reader(self, channel: str, user_id: str) -> None:
        """``channel`` is the DM of ``user_id`` (seen on a message there, or opened by the bot)."""
        if channel.startswith("D") and user_id:
            with self._readers_lock:
                self._readers[channel] = user_id

    def reader_of(self, chat_id: str) -> str | None:
        """The user key of the one person who reads ``chat_id``: a DM's user (``conversations.info`` tells
        it once per channel when the bot has not seen it); ``None`` for a channel. The outbox writes what it
        sends there in that person's language: their ``/lang``, else their Slack locale, kept in the database."""
        if not chat_id.startswith("D"):
            return None
        with self._readers_lock:
            if chat_id in self._readers:
                user_id = self._readers[chat_id]
                return f"{self.platform}:{user_id}" if user_id else None
        try:
            channel = self.client.conversations_info(channel=chat_id).get("channel") or {}
        except (SlackClientError, OSError) as error:
            logger.warning("conversations.info failed for %s: %s", chat_id, error)
            return None
        user_id = str(channel.get("user") or "") or None
        with self._readers_lock:
            self._readers[chat_id] = user_id
        return f"{self.platform}:{user_id}" if user_id else None

    def send(self, notification: Notification) -> SentMessage:
        """Post (or, with ``edit_message_id``, update) the notification; return its channel and ``ts``.

        An edit of a message that no longer exists posts a fresh one instead, so the card
        stays visible; the returned ``message_id`` is then the new ``ts``.
        """
        place = notification.place
        rendered = render_message(notification.message)
        if notification.in_doubt and not notification.edit_message_id and not notification.message.ephemeral:
            found = self.find_posted(notification)
            if found is not None:
                logger.info(
                    "outbox entry %s was already posted (ts %s) by an attempt that died: not posted again",
                    notification.id,
                    found.message_id,
                )
                return found
        try:
            if notification.edit_message_id:
                try:
                    response = self.client.chat_update(
                        channel=place.chat_id,
                        ts=notification.edit_message_id,
                        text=rendered.text,
                        blocks=rendered.blocks,
                    )
                    return SentMessage(place, str(response.get("ts") or notification.edit_message_id))
                except SlackApiError as error:
                    if error.response.get("error") not in _MESSAGE_GONE:
                        raise
                    logger.warning(
                        "message %s is gone from %s: posting a new one",
                        notification.edit_message_id,
                        place.chat_id,
                    )
            user_id = notification.extra.get("user_id")
            if notification.message.ephemeral and user_id:
                self.client.chat_postEphemeral(
                    channel=place.chat_id,
                    user=user_id,
                    text=rendered.text,
                    blocks=rendered.blocks,
                    thread_ts=place.thread_id,
                )
                # Ephemeral messages have no ts that can be edited later.
                return SentMessage(place, "")
            response = self.client.chat_postMessage(
                channel=place.chat_id,
                text=rendered.text,
                blocks=rendered.blocks,
                thread_ts=place.thread_id,
                unfurl_links=False,
                unfurl_media=False,
                metadata=outbox_metadata(notification.id),
            )
        except SlackClientError as error:
            raise delivery_error(error) from error
        except OSError as error:
            raise DeliveryError(f"Slack could not be reached: {error}") from error
        channel = str(response.get("channel") or place.chat_id)
        return SentMessage(Place(place.platform, channel, place.thread_id), str(response["ts"]))

    def find_posted(self, notification: Notification) -> SentMessage | None:
        """The message already posted for this outbox entry, if Slack has it.

        Reads the thread (``conversations.replies``) or the channel (``conversations.history``)
        from a minute before the entry was written, with ``include_all_metadata``, looking for
        the outbox id in the message metadata. Raises a transient :class:`DeliveryError` when
        Slack cannot be asked (the entry is retried later: posting blindly could double it); when
        Slack refuses the lookup for good (a missing ``*:history`` scope) it posts: at-least-once.
        """
        place = notification.place
        oldest = f"{notification.created_at.timestamp() - 60:.6f}" if notification.created_at else None
        cursor: str | None = None
        for _page in range(_LOOKUP_PAGES):
            try:
                if place.thread_id:
                    response = self.client.conversations_replies(
                        channel=place.chat_id,
                        ts=place.thread_id,
                        include_all_metadata=True,
                        oldest=oldest,
                        limit=200,
                        cursor=cursor,
                    )
                else:
                    response = self.client.conversations_history(
                        channel=place.chat_id, include_all_metadata=True, oldest=oldest, limit=200, cursor=cursor
                    )
            except SlackClientError as error:
                failure = delivery_error(error)
                if failure.permanent:
                    # Slack will not let us read there (e.g. a missing history scope): post, at-least-once.
                    logger.warning("cannot look for outbox entry %s in %s: %s", notification.id, place.chat_id, failure)
                    return None
                raise failure from error
            except OSError as error:
                raise DeliveryError(f"Slack could not be reached: {error}") from error
            for message in response.get("messages") or []:
                if carries_outbox_id(message, notification.id):
                    return SentMessage(place, str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None
