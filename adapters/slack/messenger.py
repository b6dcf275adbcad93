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
    }
)
"""Slack error codes that a later retry cannot fix: the outbox should give up on the entry."""

_MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class RateLimitRetry(RetryHandler):
    """Retry a 429 after the ``Retry-After`` delay Slack asks for (capped), with an injectable sleep."""

    def __init__(self, max_retry_count: int = 3, *, sleep: Sleep = time.sleep, max_wait: float = 30.0) -> None:
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
        return response is not None and response.status_code == 429

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        delay = 1.0
        if response is not None:
            for name, values in response.headers.items():
                if name.lower() == "retry-after" and values:
                    try:
                        delay = float(values[0])
                    except ValueError:
                        delay = 1.0
        state.next_attempt_requested = True
        self.sleep(min(max(delay, 0.0), self.max_wait))
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
    """Turn an SDK error into a :class:`DeliveryError`; permanent for errors a retry cannot fix."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or f"http_{error.response.status_code}")
        return DeliveryError(f"Slack refused the message: {code}", permanent=code in PERMANENT_ERRORS)
    return DeliveryError(f"Slack could not be reached: {type(error).__name__}")


class SlackMessenger:
    """Delivers outbox notifications to Slack through a :class:`~slack_sdk.WebClient`."""

    platform = "slack"

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send(self, notification: Notification) -> SentMessage:
        """Post (or, with ``edit_message_id``, update) the notification; return its channel and ``ts``.

        An edit of a message that no longer exists posts a fresh one instead, so the card
        stays visible; the returned ``message_id`` is then the new ``ts``.
        """
        place = notification.place
        rendered = render_message(notification.message)
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
            )
        except SlackClientError as error:
            raise delivery_error(error) from error
        except OSError as error:
            raise DeliveryError(f"Slack could not be reached: {error}") from error
        channel = str(response.get("channel") or place.chat_id)
        return SentMessage(Place(place.platform, channel, place.thread_id), str(response["ts"]))
