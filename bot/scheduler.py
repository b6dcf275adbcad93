"""The background scheduler of a running bot: the core's periodic work and the features' jobs.

:func:`start_scheduler` runs, in an APScheduler background thread, the purge of processed events
(hourly), the follow-up of abandoned intakes (every minute), the data-retention job
(:func:`bot.privacy.service.anonymise_expired`, daily, when ``[privacy] enabled``) and every
:class:`~bot.features.ScheduledJob` the features registered (the service levels' due actions every
``[sla] poll_seconds``). Scheduled work never lives in memory: each job reads what is due from the
database, so several processes may run it and a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.bootstrap import HelpdeskApp
from bot.features import ScheduledJob

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

logger = logging.getLogger(__name__)


def core_jobs(app: HelpdeskApp) -> list[ScheduledJob]:
    """The core's own periodic work (before the features' jobs)."""

    def retention() -> None:
        from bot.privacy.service import anonymise_expired

        count = anonymise_expired(app, app.clock.now())
        if count:
            logger.info("retention: anonymised the personal data of %d finished tickets", count)

    jobs = [
        ScheduledJob(
            "processed-events-purge",
            app.purge_processed_events,
            timedelta(hours=1),
            first_in=timedelta(minutes=1),
            failed="purge of processed events failed; retrying at the next one",
            wakes=False,
        ),
        ScheduledJob(
            "abandoned-intakes",
            app.core.follow_up_abandoned_intakes,
            timedelta(minutes=1),
            first_in=timedelta(seconds=30),
            failed="follow-up of abandoned intakes failed; retrying at the next one",
        ),
    ]
    if app.config.privacy.enabled:
        # Daily, first run shortly after start-up; several processes may run it: it is idempotent.
        jobs.append(
            ScheduledJob(
                "privacy-retention",
                retention,
                timedelta(hours=24),
                first_in=timedelta(minutes=5),
                failed="retention job failed; retrying tomorrow",
                wakes=False,
            )
        )
    return jobs


def start_scheduler(app: HelpdeskApp) -> BackgroundScheduler:
    """Start the background thread running :func:`core_jobs` and ``app.jobs``; returns the scheduler."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=UTC)
    for job in (*core_jobs(app), *app.jobs):
        scheduler.add_job(
            _guarded(job, app.dispatcher.wake),
            "interval",
            seconds=job.interval.total_seconds(),
            id=job.id,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC) + job.first_in,
        )
    scheduler.start()
    return scheduler


def _guarded(job: ScheduledJob, wake: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            if job.work() and job.wakes:
                wake()
        except Exception:
            logger.exception(job.failed)

    return run
