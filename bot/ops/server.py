"""The ops HTTP listener: ``/healthz``, ``/readyz`` and ``/metrics`` on ``[ops] host:port``.

It runs in every mode (console, Slack Socket Mode or HTTP, Telegram polling or webhook, several adapters
at once) on its own port, in a daemon thread, with the standard library's threading HTTP server, so
that a platform outage or a busy adapter never hides it:

* ``GET /healthz`` — 200 ``ok`` while the process runs (liveness);
* ``GET /readyz`` — 200 when every :class:`~bot.ops.health.Readiness` check passes, 503 otherwise;
  the body lists each check on its own line (``ok database reachable``, ``FAIL adapter:slack …``);
* ``GET /metrics`` — the Prometheus text format of :data:`bot.ops.metrics.REGISTRY`.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.ops.health import Readiness
from bot.ops.metrics import REGISTRY

logger = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    server: OpsServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._reply(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            checks = self.server.readiness.checks()
            ready = all(check.ok for check in checks)
            body = "".join(f"{'ok' if c.ok else 'FAIL'} {c.name} {c.detail}\n" for c in checks)
            self._reply(200 if ready else 503, body.encode(), "text/plain; charset=utf-8")
        elif path == "/metrics":
            self.server.readiness.refresh_gauges()
            self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        else:
            self._reply(404, b"not found: try /healthz, /readyz or /metrics\n", "text/plain; charset=utf-8")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("ops listener: " + format, *args)


class OpsServer(ThreadingHTTPServer):
    """The listener; :meth:`start` serves in a daemon thread, :meth:`stop` closes it."""

    daemon_threads = True

    def __init__(self, host: str, port: int, readiness: Readiness) -> None:
        super().__init__((host, port), _Handler)
        self.readiness = readiness
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="ops-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()
