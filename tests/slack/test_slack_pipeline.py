"""The real core behind the Slack adapter, on SQLite and PostgreSQL: replies through the outbox.

A conversation reply written while Slack answers 503 stays in the outbox and arrives once
after recovery; a retried event (``X-Slack-Retry-Num``) is answered once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fake_slack import VALID_TOKEN, FakeSlack
from slack_harness import dispatch, slack_config
from slack_payloads import dm_message, event_body

from adapters.slack.app import SlackAdapter, direct_reply
from adapters.slack.messenger import make_web_client
from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock

PROBLEM = "My screen stays black after the update"
DM = "D111"


@pytest.fixture
def slack_app(
    make_app: Callable[..., HelpdeskApp], fake_slack: FakeSlack, sleeps: list[float]
) -> Iterator[tuple[HelpdeskApp, SlackAdapter]]:
    """The bootstrapped core (frozen clock, test KB) wired like build_slack_adapter, with a non-sleeping client."""
    app = make_app()
    client = make_web_client(VALID_TOKEN, base_url=fake_slack.api_url, sleep=sleeps.append)
    adapter = SlackAdapter(app, slack_config(fake_slack), client=client, grant_role=app.grant_role)
    app.register_messenger(adapter.messenger)
    app.deliver_directly("slack", direct_reply)
    yield app, adapter
    adapter.stop()


def dm_texts(fake: FakeSlack) -> list[str]:
    return [c.args["text"] for c in fake.calls_to("chat.postMessage") if c.args["channel"] == DM]


def test_a_reply_sent_during_a_5xx_storm_arrives_once_after_recovery(
    slack_app: tuple[HelpdeskApp, SlackAdapter], fake_slack: FakeSlack, clock: FrozenClock
) -> None:
    app, adapter = slack_app
    fake_slack.unavailable("chat.postMessage", times=100)
    dispatch(adapter, event_body(dm_message(PROBLEM, channel=DM, ts="1700000000.000001"), event_id="Ev1"))
    refused = len(fake_slack.calls_to("chat.postMessage"))
    assert refused >= 1  # the adapter tried, Slack answered 503
    with app.uow() as uow:
        assert uow.outbox.count_pending() == 2  # the intake's first question is kept, not lost

    fake_slack.recover("chat.postMessage")
    for _ in range(5):
        clock.advance(timedelta(minutes=5))
        app.dispatch_pending()

    delivered = dm_texts(fake_slack)[refused:]
    assert sum("Proposed title" in text or "Titre proposé" in text for text in delivered) == 1
    assert len(delivered) == 2
    with app.uow() as uow:
        assert uow.outbox.count_pending() == 0


def test_a_retried_event_is_answered_once(slack_app: tuple[HelpdeskApp, SlackAdapter], fake_slack: FakeSlack) -> None:
    _, adapter = slack_app
    body = event_body(dm_message("hello", channel=DM, ts="1700000000.000002"), event_id="Ev2")
    dispatch(adapter, body)
    dispatch(adapter, body, **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    assert len(dm_texts(fake_slack)) == 1
