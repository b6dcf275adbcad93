"""Readiness: is this bot process able to do its job right now?

:class:`Readiness` answers for ``/readyz``: the database answers, every enabled adapter says it is
connected to its platform, and the outbox keeps up (fewer pending entries than ``[ops]
max_outbox_backlog``, and none due for longer than ``max_outbox_due_seconds``). The outbox figures
also feed the gauges of :mod:`bot.ops.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bot.db.figures import OutboxFigures, monitoring_figures
from bot.ops import metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One readiness check: its name, whether it passed, and a short reason."""

    name: str
    ok: bool
    detail: str


def adapter_connected(adapter: Any) -> bool | None:
    """``adapter.connected()`` when the adapter reports it, else ``None`` (not reported)."""
    probe = getattr(adapter, "connected", None)
    if not callable(probe):
        return None
    try:
        return bool(probe())
    except Exception:
        logger.exception("the %s adapter failed to report its connection", getattr(adapter, "name", "?"))
        return False


class Readiness:
    """The checks behind ``/readyz``."""

    def __init__(
        self,
        engine: Engine,
        adapters: Sequence[Any],
        *,
        max_outbox_backlog: int,
        max_outbox_due_seconds: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.adapters = list(adapters)
        self.max_outbox_backlog = max_outbox_backlog
        self.max_outbox_due_seconds = max_outbox_due_seconds
        self.now = now

    def refresh_gauges(self) -> OutboxFigures | None:
        """Update the database gauges; ``None`` (and ``helpdesk_database_up`` 0) when it cannot be read."""
        try:
            figures = monitoring_figures(self.engine, self.now())
        except Exception as error:
            metrics.DATABASE_UP.set(0)
            logger.warning("readiness: the database cannot be read (%s)", type(error).__name__)
            return None
        metrics.DATABASE_UP.set(1)
        metrics.OUTBOX_BACKLOG.set(figures.outbox.backlog)
        metrics.OUTBOX_FAILED.set(figures.outbox.failed)
        metrics.OUTBOX_OLDEST_DUE_SECONDS.set(figures.outbox.oldest_due_seconds)
        metrics.DATABASE_COUNTERS.update(figures.due_actions, figures.suggestions)
        return figures.outbox

    def checks(self) -> list[Check]:
        """Every check, in a fixed order: database, outbox, then each adapter."""
        figures = self.refresh_gauges()
        results = [Check("database", figures is not None, "reachable" if figures is not None else "unreachable")]
        if figures is not None:
            backlog_ok = figures.backlog < self.max_outbox_backlog
            results.append(
                Check("outbox_backlog", backlog_ok, f"{figures.backlog} pending (limit {self.max_outbox_backlog})")
            )
            due_ok = figures.oldest_due_seconds < self.max_outbox_due_seconds
            results.append(
                Check(
                    "outbox_oldest_due",
                    due_ok,
                    f"{figures.oldest_due_seconds:.0f} s (limit {self.max_outbox_due_seconds:.0f} s)",
                )
            )
        for adapter in self.adapters:
            name = str(getattr(adapter, "name", type(adapter).__name__))
            connected = adapter_connected(adapter)
            metrics.ADAPTER_UP.labels(adapter=name).set(1 if connected is not False else 0)
            detail = {True: "connected", False: "disconnected", None: "running (connection not reported)"}[connected]
            results.append(Check(f"adapter:{name}", connected is not False, detail))
        return results
