"""The bot's Prometheus metrics, every name prefixed ``helpdesk_``.

They live in a registry of their own (:data:`REGISTRY`), served on ``/metrics`` by
:mod:`bot.ops.server`. What the database knows is read from it when ``/metrics`` or ``/readyz`` is
read, so that several bot processes report the same figures and a restart loses none: the outbox
gauges (backlog, failed entries, age of the oldest due entry) and the counters of service-level
actions done (breaches among them) and of knowledge-base suggestions per outcome
(:data:`DATABASE_COUNTERS`). :func:`instrument_app` counts and times the events an
application handles and the deliveries of its messengers without changing their code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import wraps
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

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


class DatabaseCounters(Collector):
    """Counters kept by the database: ``helpdesk_sla_breaches_total{target}`` (response, resolution),
    ``helpdesk_due_actions_total{kind}`` (every service-level action done: reminders, warnings,
    breaches, auto-closes, surveys…) and ``helpdesk_kb_suggestions_total{outcome}`` (``offered``, then
    ``solved``, ``not_solved``, ``ignored`` and ``undecided``). :meth:`update` takes the figures read by
    :func:`bot.db.figures.monitoring_figures`."""

    def __init__(self) -> None:
        self._due_actions: dict[str, int] = {}
        self._suggestions: dict[str, int] = {}

    def update(self, due_actions: dict[str, int], suggestions: dict[str, int]) -> None:
        """Replace the figures with a fresh reading."""
        self._due_actions = dict(due_actions)
        self._suggestions = dict(suggestions)

    def collect(self) -> Iterator[Metric]:
        """The three counter families, from the last reading."""
        breaches = CounterMetricFamily("helpdesk_sla_breaches", "Service-level targets breached.", labels=["target"])
        for target in ("response", "resolution"):
            breaches.add_metric([target], self._due_actions.get(f"{target}_breach", 0))
        yield breaches
        actions = CounterMetricFamily(
            "helpdesk_due_actions",
            "Scheduled service-level actions done (reminders, warnings, breaches, auto-close…).",
            labels=["kind"],
        )
        for kind, count in sorted(self._due_actions.items()):
            actions.add_metric([kind], count)
        yield actions
        suggestions = CounterMetricFamily(
            "helpdesk_kb_suggestions",
            "Knowledge-base suggestions offered, and how the requester answered.",
            labels=["outcome"],
        )
        suggestions.add_metric(["offered"], sum(self._suggestions.values()))
        for outcome in ("solved", "not_solved", "ignored"):
            suggestions.add_metric([outcome], self._suggestions.get(outcome, 0))
        suggestions.add_metric(["undecided"], self._suggestions.get("shown", 0))
        yield suggestions


DATABASE_COUNTERS = DatabaseCounters()
REGISTRY.register(DATABASE_COUNTERS)
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
