"""Staying within Telegram's flood limits, and honouring RetryAfter.

Telegram allows about 30 messages per second overall and 20 messages per minute in
one group. :class:`FloodLimiter` is a python-telegram-bot rate limiter (the
``rate-limiter`` extra needs aiolimiter; this one needs nothing) with two sliding
windows, one global and one per group (negative chat id). When Telegram still answers
429, every request waits for ``retry_after`` and the call is retried
(``max_retries`` times, then :class:`telegram.error.RetryAfter` propagates: the
outbox will try again later).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

# Calls that are not messages: never throttled (answering a button must stay instant).
_UNTHROTTLED = frozenset(
    {
        "answerCallbackQuery",
        "getMe",
        "getFile",
        "getChat",
        "setMyCommands",
        "deleteWebhook",
        "setWebhook",
        "getUpdates",
    }
)


def retry_after_seconds(error: RetryAfter) -> float:
    """``error.retry_after`` in seconds, whatever PTB's int/timedelta transition setting."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: int | dtm.timedelta = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class SlidingWindow:
    """At most ``limit`` events in any ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._times: deque[float] = deque()

    def delay(self, now: float) -> float:
        """Seconds to wait before one more event is allowed (0 when allowed now)."""
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self.period - (now - self._times[0])

    def record(self, now: float) -> None:
        """Count one event at ``now``."""
        self._times.append(now)


class FloodLimiter(BaseRateLimiter[int]):
    """Global and per-group sliding windows plus RetryAfter handling."""

    def __init__(
        self,
        *,
        overall_per_second: int = 30,
        group_per_minute: int = 20,
        max_retries: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._overall = SlidingWindow(overall_per_second, 1.0)
        self._group_limit = group_per_minute
        self._groups: dict[int, SlidingWindow] = {}
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Forget the windows."""
        self._groups.clear()

    async def _acquire(self, group: int | None, *, honour_pause: bool = True) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                windows = [self._overall]
                if group is not None:
                    window = self._groups.get(group)
                    if window is None:
                        window = self._groups[group] = SlidingWindow(self._group_limit, 60.0)
                    windows.append(window)
                paused = self._paused_until - now if honour_pause else 0.0
                wait = max([paused, *(w.delay(now) for w in windows)])
                if wait <= 0:
                    for window in windows:
                        window.record(now)
                    return
                await self._sleep(wait)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        """Wait for a slot (messages only), call, and retry after a 429."""
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        group: int | None = None
        try:
            chat = int(data.get("chat_id", 0))
            group = chat if chat < 0 else None
        except (TypeError, ValueError):
            group = None
        attempt = 0
        while True:
            if endpoint not in _UNTHROTTLED:
                # a retry has already waited out the pause it was told about
                await self._acquire(group, honour_pause=attempt == 0)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= max_retries:
                    raise
                attempt += 1
                pause = retry_after_seconds(error)
                logger.warning("Telegram asked to slow down on %s: waiting %.1f s", endpoint, pause)
                self._paused_until = max(self._paused_until, self._clock() + pause)
                await self._sleep(pause)
