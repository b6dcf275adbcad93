"""Fixtures of the Slack adapter tests: the fake Web API, a recording core, the adapter under test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_slack import VALID_TOKEN, FakeSlack
from slack_harness import TECHNICIAN, RecordingCore, add_requester, slack_config

from adapters.slack.app import SlackAdapter
from adapters.slack.messenger import make_web_client


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        add_requester(fake)
        fake.add_user(TECHNICIAN, real_name="Tom Tech", locale="en-US")
        yield fake


@pytest.fixture
def core() -> RecordingCore:
    return RecordingCore()


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the Web API client was asked to wait (no real sleeping in tests)."""
    return []


@pytest.fixture
def adapter(fake_slack: FakeSlack, core: RecordingCore, sleeps: list[float]) -> Iterator[SlackAdapter]:
    client = make_web_client(VALID_TOKEN, base_url=fake_slack.api_url, sleep=sleeps.append)
    slack = SlackAdapter(core, slack_config(fake_slack), client=client)
    yield slack
    slack.stop()
