"""Socket Mode through slack-bolt's real ``SocketModeHandler`` against a local WebSocket endpoint.

``apps.connections.open`` (app-level token) hands out the fake's URL; the message event pushed over
the socket reaches the core and is acknowledged by envelope id; ``SlackAdapter.connected()``, which
``/readyz`` reads, is true while the WebSocket is open, false once it is cut and Slack cannot be
reached for a new one, and true again after the client reconnects by itself.
"""

from __future__ import annotations

import gc
import json
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_slack import VALID_TOKEN, FakeSlack
from fake_socket_mode import FakeSocketMode
from slack_harness import RecordingCore, slack_config
from slack_payloads import dm_message, event_body
from support import http_get

from adapters.slack.app import SlackAdapter
from adapters.slack.messenger import make_web_client
from bot.db.engine import create_db_engine, upgrade_database
from bot.ops.health import Readiness
from bot.ops.server import OpsServer


def settles(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``predicate`` holds within ``timeout``: the SDK takes the session after the handshake
    in its own thread, with no event to wait on, so the test looks again every 10 ms."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.01)
    return True


@pytest.fixture
def socket_mode() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        yield server


def test_socket_mode_delivers_events_and_reports_its_connection(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, core: RecordingCore
) -> None:
    fake_slack.socket_mode_url = lambda: socket_mode.url
    client = make_web_client(VALID_TOKEN, base_url=fake_slack.api_url)
    config = slack_config(fake_slack, mode="socket", app_token="xapp-1-A111-test")
    adapter = SlackAdapter(core, config, client=client)
    adapter.start()
    try:
        socket_mode.wait_until(lambda: socket_mode.open_connections == 1)
        assert settles(adapter.connected)

        envelope = socket_mode.send_envelope("events_api", json.loads(event_body(dm_message("bonjour"))))
        assert socket_mode.wait_for_ack(envelope) == {"envelope_id": envelope}
        assert adapter.wait_idle(10)
        assert [event.text for event in core.events] == ["bonjour"]

        fake_slack.unavailable("apps.connections.open", times=1_000_000)
        socket_mode.drop()
        socket_mode.wait_until(lambda: socket_mode.open_connections == 0)
        fake_slack.wait_for("apps.connections.open", count=2, timeout=30)
        assert not adapter.connected()

        fake_slack.recover("apps.connections.open")
        socket_mode.wait_until(lambda: socket_mode.open_connections == 1, timeout=60)
        assert settles(adapter.connected)
    finally:
        adapter.stop()
        # The SDK can leave the socket of a session cut mid-handshake to the garbage collector:
        # collect it here rather than as an unraisable warning in a later test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    assert not adapter.connected()


def test_readyz_follows_the_socket_mode_connection(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, core: RecordingCore, tmp_path: Path
) -> None:
    fake_slack.socket_mode_url = lambda: socket_mode.url
    client = make_web_client(VALID_TOKEN, base_url=fake_slack.api_url)
    adapter = SlackAdapter(core, slack_config(fake_slack, mode="socket", app_token="xapp-1-A111-test"), client=client)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ops.db'}")
    upgrade_database(engine)
    server = OpsServer("127.0.0.1", 0, Readiness(engine, [adapter], max_outbox_backlog=10, max_outbox_due_seconds=300))
    server.start()
    adapter.start()
    try:
        socket_mode.wait_until(lambda: socket_mode.open_connections == 1)
        assert settles(adapter.connected)
        status, body = http_get(server.url + "/readyz")
        assert status == 200 and "ok adapter:slack connected" in body, body

        fake_slack.unavailable("apps.connections.open", times=1_000_000)
        socket_mode.drop()
        fake_slack.wait_for("apps.connections.open", count=2, timeout=30)
        status, body = http_get(server.url + "/readyz")
        assert status == 503 and "FAIL adapter:slack disconnected" in body, body
    finally:
        adapter.stop()
        server.stop()
        engine.dispose()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
