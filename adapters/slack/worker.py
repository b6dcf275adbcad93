"""``helpdesk-bot slack-worker``: handle the Slack requests an HTTP-mode front recorded.

``helpdesk-bot run`` starts ``[slack] queue_workers`` of them itself (and restarts one that
exits); more can run by hand, on this machine or another, as long as they use the same
database and configuration. Declared under the ``helpdesk_bot.commands`` entry points.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

logger = logging.getLogger(__name__)


@click.command("slack-worker")
@click.pass_context
def slack_worker(ctx: click.Context) -> None:
    """Handle the Slack requests recorded by the HTTP front ([slack] queue_workers), until SIGTERM."""
    from adapters.slack.app import build_slack_adapter
    from adapters.slack.config import SlackConfig
    from adapters.slack.queue import QueueWorker
    from bot.cli import bootstrap_app, context_config
    from bot.config import adapter_section

    config = context_config(ctx)
    section = adapter_section(config, "slack", SlackConfig)
    assert isinstance(section, SlackConfig)
    if section.mode != "http" or not section.queue_workers:
        raise click.ClickException('slack-worker needs [slack] mode = "http" and queue_workers ≥ 1')
    if section.queue_worker_nice:
        os.nice(section.queue_worker_nice)  # the acknowledging process gets the CPU first
    app = bootstrap_app(config)
    adapter = build_slack_adapter(app, section, worker=True)
    assert adapter.queue is not None
    worker = QueueWorker(adapter, adapter.queue, threads=section.workers, poll_seconds=section.queue_poll_seconds)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    logger.info("Slack worker %s started", worker.name)
    try:
        worker.run_forever(stop)
    finally:
        adapter.stop()
        app.close()
