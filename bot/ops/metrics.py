"""The bot's Prometheus metrics, every name prefixed ``helpdesk_``.

Other modules import the metric objects from here and update them where the thing happens::

    from bot.ops.metrics import KB_SUGGESTIONS
    KB_SUGGESTIONS.labels(outcome="helped").inc()

They live in a registry of their own (:data:`REGISTRY`), served on ``/metrics`` by
:mod:`bot.ops.server`. Gauges about the database (outbox backlog, failed entries, age of the oldest
due entry) are refreshed from the database when ``/metrics`` or ``/readyz`` is read, so that several
bot processes report the same figures. :func:`instrument_app` counts and times the events an
application handles and the deliveries of its messengers without changing their code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp
    from bot.port import Messenger, Notification, SentMessage

REGISTRY = CollectorRegistry(auto_describe=True)

BUILD = Info("helpdesk_build", "Version of the running bot.", registry=REGISTRY)
EVENTS = Counter(
    "helpdesk_events_handled",
    "Events handled by the core, per platform and kind (message, command, button, form…).",
    ["platform", "kind"],
    registry=REGISTRY,
)
EVENT_ERRORS = Counter(
    "helpdesk_event_errors",
    "Events whose handling raised an unexpected error (the user got an apology).",
    ["platform"],
    registry=REGISTRY,
)
EVENT_SECONDS = Histogram(
    "helpdesk_event_handling_seconds",
    "Time to handle one event in the core, per platform.",
    ["platform"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "helpdesk_deliveries",
    "Notification deliveries per platform and outcome (sent, retry, failed).",
    ["platform", "outcome"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "helpdesk_outbox_backlog", "Outbox entries waiting to be delivered (all processes).", registry=REGISTRY
)
OUTBOX_FAILED = Gauge(
    "helpdesk_outbox_failed", "Outbox entries given up on after their last attempt (all processes).", registry=REGISTRY
)
OUTBOX_OLDEST_DUE_SECONDS = Gauge(
    "helpdesk_outbox_oldest_due_seconds",
    "How long the oldest due outbox entry has been waiting (0 when none is due).",
    registry=REGISTRY,
)
SLA_BREACHES = Counter("helpdesk_sla_breaches", "Service-level targets breached.", ["target"], registry=REGISTRY)
DUE_ACTIONS = Counter(
    "helpdesk_due_actions", "Scheduled actions run (reminders, escalations, auto-close…).", ["kind"], registry=REGISTRY
)
KB_SUGGESTIONS = Counter(
    "helpdesk_kb_suggestions",
    "Knowledge-base suggestions offered and their outcome (offered, helped, not_helped).",
    ["outcome"],
    registry=REGISTRY,
)
DATABASE_UP = Gauge("helpdesk_database_up", "1 when the last readiness check reached the database.", registry=REGISTRY)
ADAPTER_UP = Gauge(
    "helpdesk_adapter_up", "1 when the adapter reported itself connected.", ["adapter"], registry=REGISTRY
)


def _event_kind(event: Any) -> str:
    name = type(event).__name__
    return {"TextMessage": "message", "SlashCommand": "command", "ButtonPress": "button"}.get(name, name.lower())


def _platform(event: Any) -> str:
    user = getattr(event, "user", None)
    return str(getattr(user, "platform", "unknown"))


def instrument_handler(handle: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap an event handler (``app.handle``) so that every event is counted and timed."""

    @wraps(handle)
    def counted(event: Any) -> Any:
        platform = _platform(event)
        started = time.perf_counter()
        try:
            return handle(event)
        except Exception:
            EVENT_ERRORS.labels(platform=platform).inc()
            raise
        finally:
            EVENTS.labels(platform=platform, kind=_event_kind(event)).inc()
            EVENT_SECONDS.labels(platform=platform).observe(time.perf_counter() - started)

    return counted


class CountingMessenger:
    """A :class:`~bot.port.Messenger` that counts the deliveries of the one it wraps."""

    def __init__(self, inner: Messenger) -> None:
        self.inner = inner
        self.platform = inner.platform

    def send(self, notification: Notification) -> SentMessage:
        from bot.port import DeliveryError

        try:
            sent = self.inner.send(notification)
        except DeliveryError as error:
            outcome = "failed" if error.permanent else "retry"
            DELIVERIES.labels(platform=self.platform, outcome=outcome).inc()
            raise
        except Exception:
            DELIVERIES.labels(platform=self.platform, outcome="retry").inc()
            raise
        DELIVERIES.labels(platform=self.platform, outcome="sent").inc()
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def instrument_app(app: HelpdeskApp) -> None:
    """Count and time the events ``app`` handles (its ``handle`` entry point)."""
    if not getattr(app.handle, "__wrapped__", None):
        app.handle = instrument_handler(app.handle)  # type: ignore[method-assign,assignment]


def set_build_info(version: str, config_file: str) -> None:
    """Publish the running version and configuration file as ``helpdesk_build_info``."""
    BUILD.info({"version": version, "config": config_file})
