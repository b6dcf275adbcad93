"""The outbox messenger (chat.postMessage / chat.update, errors, 429) and HTTP mode on a real socket."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from fake_slack import VALID_TOKEN, FakeSlack, iter_mrkdwn_text
from slack_harness import RecordingCore, slack_config
from slack_payloads import FORM, JSON, dm_message, event_body, signed_headers, slash_command, url_verification

from adapters.slack.app import SlackAdapter
from adapters.slack.messenger import SlackMessenger, make_web_client
from bot.port import Button, DeliveryError, Messenger, Notification, OutgoingMessage, Place, TicketCard


@pytest.fixture
def messenger(fake_slack: FakeSlack, sleeps: list[float]) -> SlackMessenger:
    return SlackMessenger(make_web_client(VALID_TOKEN, base_url=fake_slack.api_url, sleep=sleeps.append))


def card_notification(edit: str | None = None) -> Notification:
    card = TicketCard(12, "VPN <!channel>", (("Status", "new"), ("Assignee", "—")))
    message = OutgoingMessage("#12 VPN", card=card, buttons=(Button("Claim", "claim:12", "primary"),))
    return Notification(id=1, place=Place("slack", "CTRIAGE1"), message=message, purpose="card", edit_message_id=edit)


def test_messenger_is_a_port_messenger(messenger: SlackMessenger) -> None:
    assert isinstance(messenger, Messenger)
    assert messenger.platform == "slack"


def test_send_posts_in_the_thread_and_returns_the_ts(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    note = Notification(
        id=3,
        place=Place("slack", "D111", "1700000000.000001"),
        message=OutgoingMessage("Ticket #12 is in progress <@U999>"),
    )
    sent = messenger.send(note)

    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "D111"
    assert post.args["thread_ts"] == "1700000000.000001"
    assert post.args["text"] == "Ticket #12 is in progress &lt;@U999&gt;"
    assert sent.place == Place("slack", "D111", "1700000000.000001")
    assert sent.message_id.startswith("1700000000.")


def test_card_is_posted_then_updated_in_place(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    first = messenger.send(card_notification())
    second = messenger.send(card_notification(edit=first.message_id))

    [post] = fake_slack.calls_to("chat.postMessage")
    [update] = fake_slack.calls_to("chat.update")
    assert update.args["ts"] == first.message_id == second.message_id
    assert update.args["channel"] == "CTRIAGE1"
    blocks = update.blocks()
    assert blocks[0]["elements"][0]["elements"] == [{"type": "text", "text": "#12 VPN"}]
    [header] = [b for b in blocks if b["type"] == "header"]
    assert header["text"] == {"type": "plain_text", "text": "#12 — VPN <!channel>", "emoji": True}
    assert not any("<!channel>" in text for text in iter_mrkdwn_text(blocks))
    assert [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]] == ["claim:12"]
    assert post.blocks() == blocks


def test_edit_of_a_deleted_card_posts_a_new_one(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.update", "message_not_found")
    sent = messenger.send(card_notification(edit="1690000000.000001"))

    assert len(fake_slack.calls_to("chat.update")) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert sent.message_id != "1690000000.000001"


@pytest.mark.parametrize(
    ("error", "permanent"),
    [("channel_not_found", True), ("is_archived", True), ("invalid_auth", True), ("internal_error", False)],
)
def test_ok_false_becomes_a_delivery_error(
    messenger: SlackMessenger, fake_slack: FakeSlack, error: str, permanent: bool
) -> None:
    fake_slack.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as raised:
        messenger.send(card_notification())
    assert raised.value.permanent is permanent
    assert error in str(raised.value)


def test_rate_limit_is_retried_after_retry_after_and_delivered_once(
    messenger: SlackMessenger, fake_slack: FakeSlack, sleeps: list[float]
) -> None:
    fake_slack.rate_limit("chat.postMessage", times=2, retry_after=7)
    sent = messenger.send(card_notification())

    assert len(fake_slack.calls_to("chat.postMessage")) == 3  # two 429s, then the one that landed
    assert sleeps == [7.0, 7.0]
    assert sent.message_id


def test_endless_server_errors_are_a_transient_delivery_error(
    messenger: SlackMessenger, fake_slack: FakeSlack, sleeps: list[float]
) -> None:
    fake_slack.server_error("chat.postMessage", times=10)
    with pytest.raises(DeliveryError) as raised:
        messenger.send(card_notification())
    assert raised.value.permanent is False
    assert len(fake_slack.calls_to("chat.postMessage")) == 3  # first try + 2 retries with backoff
    assert sleeps == [0.5, 1.0]


def test_unreachable_slack_is_a_transient_delivery_error(sleeps: list[float]) -> None:
    with FakeSlack() as gone:
        url = gone.api_url
    messenger = SlackMessenger(make_web_client(VALID_TOKEN, base_url=url, sleep=sleeps.append, timeout=2))
    with pytest.raises(DeliveryError) as raised:
        messenger.send(card_notification())
    assert raised.value.permanent is False


def test_ephemeral_notification_for_a_user(messenger: SlackMessenger, fake_slack: FakeSlack) -> None:
    note = Notification(
        id=4,
        place=Place("slack", "C111"),
        message=OutgoingMessage("psst", ephemeral=True),
        extra={"user_id": "U111"},
    )
    messenger.send(note)
    [call] = fake_slack.calls_to("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"]) == ("C111", "U111")


# --- HTTP mode --------------------------------------------------------------------------------


@pytest.fixture
def http_adapter(fake_slack: FakeSlack, core: RecordingCore, sleeps: list[float]) -> Iterator[SlackAdapter]:
    client = make_web_client(VALID_TOKEN, base_url=fake_slack.api_url, sleep=sleeps.append)
    adapter = SlackAdapter(core, slack_config(fake_slack), client=client)
    adapter.start()
    yield adapter
    adapter.stop()


def post(adapter: SlackAdapter, body: str, headers: dict[str, str], path: str = "/slack/events") -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{adapter.http_port}{path}", data=body.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_http_mode_serves_signed_events(http_adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack) -> None:
    body = event_body(dm_message("bonjour, mon VPN"))
    status, _ = post(http_adapter, body, signed_headers(body, JSON))

    assert status == 200
    assert http_adapter.wait_idle(5)
    assert [getattr(e, "text", None) for e in core.events] == ["bonjour, mon VPN"]
    assert fake_slack.calls_to("chat.postMessage")[0].args["channel"] == "D111"


def test_http_mode_answers_the_url_verification_challenge(http_adapter: SlackAdapter) -> None:
    body = url_verification()
    status, text = post(http_adapter, body, signed_headers(body, JSON))
    assert status == 200
    assert json.loads(text) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_bad_signature_gets_401_and_changes_nothing(
    http_adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    body = slash_command("claim 42", response_url=fake_slack.response_url())
    forged = signed_headers(body, FORM, secret="not-the-secret")
    stale = signed_headers(body, FORM, timestamp=int(time.time()) - 10 * 60)
    unsigned = {"content-type": FORM}
    before = fake_slack.methods()

    results = [post(http_adapter, body, headers)[0] for headers in (forged, stale, unsigned)]

    assert results == [401, 401, 401]
    assert http_adapter.wait_idle(5)
    assert core.events == []
    assert fake_slack.methods() == before


def test_http_mode_other_paths(http_adapter: SlackAdapter) -> None:
    body = url_verification()
    assert post(http_adapter, body, signed_headers(body, JSON), path="/other")[0] == 404
    with urllib.request.urlopen(f"http://127.0.0.1:{http_adapter.http_port}/healthz", timeout=5) as response:
        assert (response.status, response.read()) == (200, b"ok")


def test_http_mode_reports_its_connection_for_readiness(http_adapter: SlackAdapter) -> None:
    assert http_adapter.connected()
    http_adapter.stop()
    assert not http_adapter.connected()


def test_web_addresses_are_links_and_what_people_typed_stays_inert(
    messenger: SlackMessenger, fake_slack: FakeSlack
) -> None:
    """The body is rich text: each http(s) address a clickable link showing itself, everything else literal
    (a typed ``*bold*``, ``<!channel>`` or ``<https://evil.be|bank>`` neither formats, pings nor links as a
    label); a card field that is one address links to it, escaped. The blocks parse as the SDK's own models."""
    from slack_sdk.models.blocks import Block, RichTextBlock

    text = "#12 is resolved: see https://intranet.example.be/vpn?a=1&b=2. *bold* <!channel> <https://evil.be|bank>"
    card = TicketCard(12, "VPN", (("URL", "https://app.example.be/x?y=1&z=2|fake"), ("Title", "*x* <!here>")))
    messenger.send(
        Notification(
            id=5, place=Place("slack", "D111", None), message=OutgoingMessage(text, card=card), purpose="update"
        )
    )
    [post] = fake_slack.calls_to("chat.postMessage")
    blocks = post.blocks()
    [body] = [b for b in blocks if b["type"] == "rich_text"]
    parts = body["elements"][0]["elements"]
    assert parts[:3] == [
        {"type": "text", "text": "#12 is resolved: see "},
        {
            "type": "link",
            "url": "https://intranet.example.be/vpn?a=1&b=2",
            "text": "https://intranet.example.be/vpn?a=1&b=2",
        },
        {"type": "text", "text": ". *bold* <!channel> <"},
    ]
    assert {"type": "link", "url": "https://evil.be|bank", "text": "https://evil.be|bank"} in parts
    assert isinstance(Block.parse(body), RichTextBlock)
    fields = [f for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert fields[0] == {
        "type": "mrkdwn",
        "text": "URL\n<https://app.example.be/x?y=1&amp;z=2%7Cfake>",
        "verbatim": True,
    }
    assert fields[1]["type"] == "plain_text" and "<!here>" in fields[1]["text"]
    assert not any("<!" in t or "*x*" in t for t in iter_mrkdwn_text(blocks))
    assert post.args["text"].endswith("*bold* &lt;!channel&gt; &lt;https://evil.be|bank&gt;")
