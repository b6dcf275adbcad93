"""The HTTP front of ``queue_workers`` (``adapters/slack/queue.py``): which requests it records for the
workers, which it leaves to bolt in its own process, and that nothing unsigned is recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_payloads import (
    FORM,
    JSON,
    SIGNING_SECRET,
    app_mention,
    block_actions,
    dm_message,
    event_body,
    shortcut,
    signed_headers,
    slash_command,
    url_verification,
    view_submission,
)

from adapters.slack.queue import QueueFront, queued_conversation
from bot.db.engine import create_db_engine
from bot.db.inbound import InboundQueue

RESPONSE_URL = "http://127.0.0.1:9/respond/r1"


@pytest.fixture
def queue(db_url: str) -> Iterator[InboundQueue]:
    engine = create_db_engine(db_url)
    yield InboundQueue(engine)
    engine.dispose()


def headers(body: str, content_type: str, **changes: str) -> dict[str, list[str]]:
    return {key: [value] for key, value in {**signed_headers(body, content_type), **changes}.items()}


def test_what_the_workers_get_and_what_the_front_keeps() -> None:
    message = event_body(dm_message("hello", user="U222"))
    assert queued_conversation(message, JSON) == "T111:U222"
    assert queued_conversation(event_body(app_mention("help", user="U333")), JSON) == "T111:U333"
    assert queued_conversation(slash_command("queue", response_url=RESPONSE_URL, user="U444"), FORM) == "T111:U444"
    assert queued_conversation(block_actions("claim:1", response_url=RESPONSE_URL, user="U555"), FORM) == "T111:U555"
    # Answered in the HTTP response, or with a trigger_id valid 3 seconds: the front keeps them.
    assert queued_conversation(slash_command("new", response_url=RESPONSE_URL), FORM) is None
    assert queued_conversation(view_submission({"title": "x"}), FORM) is None
    assert queued_conversation(shortcut(), FORM) is None
    assert queued_conversation(url_verification(), JSON) is None
    assert queued_conversation(block_actions("x", response_url=RESPONSE_URL, action_id="hd_open_intake"), FORM) is None
    # The bot's own messages, another app's command, bodies that are not Slack's.
    assert queued_conversation(event_body(dm_message("echo", bot_id="B1")), JSON) is None
    assert queued_conversation(slash_command("x", response_url=RESPONSE_URL, command="/other"), FORM) is None
    assert queued_conversation("{not json", JSON) is None
    assert queued_conversation("payload=%7Bbroken", FORM) is None


def test_the_front_records_signed_requests_only(queue: InboundQueue) -> None:
    front = QueueFront(queue, SIGNING_SECRET)
    body = event_body(dm_message("hello", user="U222"))

    assert front(body, headers(body, JSON, **{"x-slack-signature": "v0=forged"})) is None  # bolt answers 401
    assert front(body, headers(body, JSON, **{"x-slack-request-timestamp": "1000000000"})) is None  # stale
    assert queue.backlog() == 0

    assert front(body, headers(body, JSON)) == 200
    command = slash_command("new", response_url=RESPONSE_URL)
    assert front(command, headers(command, FORM)) is None
    front.close()
    (item,) = queue.claim("slack", "w1")
    assert (item.body, item.conversation, item.content_type) == (body, "T111:U222", JSON)


def test_a_request_that_cannot_be_recorded_is_not_acknowledged(queue: InboundQueue) -> None:
    front = QueueFront(queue, SIGNING_SECRET)
    queue.engine.dispose()
    queue.engine = create_db_engine("sqlite:////nonexistent-folder/inbound.db")
    body = event_body(dm_message("hello"))
    assert front(body, headers(body, JSON)) == 503  # Slack retries the event
    front.close()
