"""A local fake of Slack's Socket Mode WebSocket endpoint, on 127.0.0.1, for offline tests.

``apps.connections.open`` on :class:`fake_slack.FakeSlack` answers :attr:`FakeSocketMode.url`
(set ``fake_slack.socket_mode_url``); slack_sdk's built-in Socket Mode client connects there over a
plain socket (it uses TLS only on port 443). On each connection the server says ``hello`` as Slack
does; :meth:`FakeSocketMode.send_envelope` pushes an ``events_api`` / ``interactive`` /
``slash_commands`` envelope and :meth:`FakeSocketMode.wait_for_ack` waits for the client's
acknowledgement; :meth:`FakeSocketMode.drop` closes every open connection (a network cut).
Waiting is event-driven (a condition variable notified on each connection, close and message).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    """The WebSocket server, run in its own thread and event loop."""

    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Any]] = {}
        self.connections = 0
        self._open: set[web.WebSocketResponse] = set()
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-socket-mode", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        """The ``wss``-style URL ``apps.connections.open`` hands out (plain ``ws`` here)."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4().hex}"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def open_connections(self) -> int:
        """Connections currently open."""
        return len(self._open)

    def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds after a connection, close or message; fail after ``timeout``."""
        with self._changed:
            assert self._changed.wait_for(predicate, timeout), "the Socket Mode client did not get there in time"

    def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push one envelope to every open connection; return its ``envelope_id``."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }

        async def send() -> None:
            for socket in list(self._open):
                await socket.send_str(json.dumps(envelope))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The client's acknowledgement of one envelope."""
        self.wait_until(lambda: envelope_id in self.acks, timeout)
        return self.acks[envelope_id]

    def drop(self) -> None:
        """Close every open connection, as a network cut or a Slack-side refresh would."""

        async def close() -> None:
            for socket in list(self._open):
                await socket.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)

    # ------------------------------------------------------------------ server

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        for socket in list(self._open):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._open.add(socket)
        self.connections += 1
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}))
        self._notify()
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if "envelope_id" in data:
                        self.acks[data["envelope_id"]] = data
                        self._notify()
        finally:
            self._open.discard(socket)
            self._notify()
        return socket
