"""Slack delivery: the outbox id in the message metadata, looking a message up before posting
an entry whose earlier attempt died in flight, long Retry-After given back to the outbox,
permanent refusals — through slack_sdk's WebClient against the local fake Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fake_slack import VALID_TOKEN, FakeSlack

from adapters.slack.messenger import OUTBOX_EVENT_TYPE, SlackMessenger, make_web_client
from bot.port import DeliveryError, Notification, OutgoingMessage, Place

THREAD = "1700000000.000001"


@pytest.fixture
def messenger(fake_slack: FakeSlack, sleeps: list[float]) -> SlackMessenger:
    return SlackMessenger(make_web_client(VALID_TOKEN, base_url=fake_slack.api_url, sleep=sleeps.append))


def note(outbox_id: int, *, thread: str | None = THREAD, in_doubt: bool = False) -> Notification:
    return Notification(
        id=outbox_id,
        place=Place("slack", "D111", thread),
        message=OutgoingMessage(f"update {outbox_id}"),
        ticket_number=12,
        in_doubt=in_doubt,
        created_at=datetime(2023, 11, 14, tzinfo=UTC),
    )


def test_every_posted_message_carries_its_outbox_id(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    messenger.send(note(41))
    [message] = fake_slack.posted("D111")
    assert message["metadata"] == {"event_type": OUTBOX_EVENT_TYPE, "event_payload": {"outbox_id": 41}}


@pytest.mark.parametrize("thread", [THREAD, None])
def test_an_entry_in_doubt_already_posted_is_found_not_posted_again(
    messenger: SlackMessenger, fake_slack: FakeSlack, thread: str | None
) -> None:
    first = messenger.send(note(42, thread=thread))
    messenger.send(note(43, thread=thread))  # another message of the same thread, posted after it
    again = messenger.send(note(42, thread=thread, in_doubt=True))
    assert again.message_id == first.message_id
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    lookup = fake_slack.calls_to("conversations.replies" if thread else "conversations.history")
    assert len(lookup) == 1 and lookup[0].args["include_all_metadata"] in ("1", "true", True)


def test_an_entry_in_doubt_that_never_arrived_is_posted(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    messenger.send(note(43))
    sent = messenger.send(note(44, in_doubt=True))
    assert [m["metadata"]["event_payload"]["outbox_id"] for m in fake_slack.posted("D111")] == [43, 44]
    assert sent.message_id == fake_slack.posted("D111")[-1]["ts"]


def test_a_lookup_slack_refuses_for_good_falls_back_to_posting(
    messenger: SlackMessenger, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("conversations.replies", "missing_scope")
    messenger.send(note(45, in_doubt=True))
    assert len(fake_slack.posted("D111")) == 1


def test_a_lookup_that_fails_for_now_is_retried_later_rather_than_posting_blindly(
    messenger: SlackMessenger, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("conversations.replies", "internal_error")
    with pytest.raises(DeliveryError) as raised:
        messenger.send(note(46, in_doubt=True))
    assert raised.value.permanent is False
    assert fake_slack.posted("D111") == []


def test_a_long_retry_after_is_handed_back_to_the_outbox_not_slept(
    messenger: SlackMessenger, fake_slack: FakeSlack, sleeps: list[float]
) -> None:
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=90)
    with pytest.raises(DeliveryError) as raised:
        messenger.send(note(47))
    assert (raised.value.permanent, raised.value.retry_after) == (False, 90.0)
    assert sleeps == [] and len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "is_archived", "not_in_channel", "msg_too_long", "invalid_blocks", "account_inactive"],
)
def test_permanent_refusals(messenger: SlackMessenger, fake_slack: FakeSlack, error: str) -> None:
    fake_slack.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as raised:
        messenger.send(note(48))
    assert raised.value.permanent is True


def test_any_other_http_4xx_is_permanent(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    from fake_slack import Scripted

    fake_slack.script("chat.postMessage", Scripted(400, {"ok": False, "error": "invalid_request_data"}))
    with pytest.raises(DeliveryError) as raised:
        messenger.send(note(49))
    assert raised.value.permanent is True
