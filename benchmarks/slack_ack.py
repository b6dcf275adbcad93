"""How fast the Slack adapter acknowledges requests in HTTP mode, under concurrency.

Slack gives an app 3 seconds to answer a request (events, slash commands, button presses)
before it shows the user an error and retries. The adapter acknowledges first and does the
database and Web API work afterwards in its worker pool; this script measures the time from
sending a signed request to receiving the HTTP answer, with ``--concurrency`` clients (default
50) sending at once.

The set-ups run side by side on the same machine, the same HTTP server and the same fake Slack
Web API (``tests/slack/fake_slack.py``, on loopback, in a process of its own at a lower priority:
Slack's servers share neither the bot's interpreter nor its CPU):

* **baseline** — a bare slack-bolt ``App`` whose listeners only call ``ack()``: the cost of
  Bolt's signature check and dispatch, and of the HTTP server itself;
* **helpdesk** — the real adapter on the real core (``bootstrap``, SQLite or PostgreSQL): DM
  messages that run the knowledge-base search and the intake, and ``/helpdesk`` commands,
  processed in the acknowledging process (``queue_workers = 0``);
* **helpdesk, queue** — the same adapter with ``queue_workers = N`` (``--workers``, default 2):
  the process serving HTTP checks signatures, records each request in ``inbound_events`` and
  acknowledges; ``N`` real ``helpdesk-bot slack-worker`` processes, started by the adapter from a
  bot.toml written for the run, process them.

"queue front only" starts no worker: the requests stay recorded, and the figure is what checking,
recording (one durable commit per burst) and acknowledging cost by themselves, without processing
competing for the CPU. "all work done" is the time from the first request until every request was processed (the
inbound queue empty, every worker idle); ``events_per_s`` is the requests divided by it.

    python benchmarks/slack_ack.py [--requests 2000] [--concurrency 50] [--workers 2] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "slack"))

from fake_slack import VALID_TOKEN, FakeSlack  # noqa: E402
from slack_bolt import Ack, App  # noqa: E402
from slack_payloads import FORM, JSON, SIGNING_SECRET, dm_message, event_body, signed_headers, slash_command  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from adapters.slack.app import SlackAdapter, SlackHTTPServer, build_slack_adapter  # noqa: E402
from adapters.slack.config import SlackConfig  # noqa: E402
from bot.bootstrap import bootstrap  # noqa: E402
from bot.config import load_config, parse_config  # noqa: E402
from bot.db.inbound import InboundQueue  # noqa: E402

MESSAGES = [
    "mon mot de passe a expiré ce matin",
    "l'imprimante du 2e étage fait un bourrage papier",
    "I cannot connect to the VPN from home",
    "mijn scherm blijft zwart op het dockingstation",
    "Outlook ne s'ouvre plus depuis la mise à jour",
]
TECHNICIAN = "UTECH001"


class FakeSlackProcess:
    """The fake Web API served by a child process (``--serve-fake N``), with ``N`` requesters and the technician."""

    def __init__(self, users: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", str(users)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        assert self.base_url.startswith("http"), self.base_url
        self.api_url = f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A ``response_url`` on the fake."""
        return f"{self.base_url}/respond/{name}"

    def close(self) -> None:
        """Stop the child."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def serve_fake(users: int) -> None:
    """The child's side: serve until stdin closes, at a lower priority (``nice 10``): on this machine the
    fake stands in for Slack's servers, whose CPU is not the bot's, so it must not take the bot's."""
    os.nice(10)
    with FakeSlack() as fake:
        fake.add_user(TECHNICIAN, real_name="Tom Tech", locale="fr-BE")
        for n in range(users):
            fake.add_user(f"U{n:07d}", real_name=f"Agent {n}", locale="fr-BE")
        print(fake.base_url, flush=True)
        sys.stdin.read()


def requests_for(count: int, response_url: str, first: int = 0) -> list[tuple[str, str]]:
    """``count`` signed-ready bodies: 3 DM messages (distinct users from ``first`` on) for 1 slash command."""
    bodies: list[tuple[str, str]] = []
    for n in range(first, first + count):
        if n % 4 == 3:
            command = "queue" if n % 8 == 3 else "help"
            bodies.append(
                (slash_command(command, response_url=response_url, user=TECHNICIAN, channel="CTRIAGE1"), FORM)
            )
        else:
            user = f"U{n:07d}"
            event = dm_message(MESSAGES[n % len(MESSAGES)], user=user, channel=f"D{n:07d}", ts=f"1700000000.{n:06d}")
            bodies.append((event_body(event, event_id=f"Ev{uuid.uuid4().hex[:12]}"), JSON))
    return bodies


def fire(port: int, bodies: list[tuple[str, str]], concurrency: int) -> list[float]:
    """Send every body with ``concurrency`` clients from another process; each request's latency in ms.

    The clients run in a process of their own so that they do not compete with the server for
    its interpreter lock, as Slack's servers would not.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as clients:
        return clients.submit(_fire, port, bodies, concurrency).result()


def _fire(port: int, bodies: list[tuple[str, str]], concurrency: int) -> list[float]:
    url = f"http://127.0.0.1:{port}/slack/events"

    def send(item: tuple[str, str]) -> float:
        body, content_type = item
        request = urllib.request.Request(
            url, data=body.encode(), headers=signed_headers(body, content_type), method="POST"
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"HTTP {error.code} {error.read()[:200]!r} for {body[:300]}") from None
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(send, bodies))


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def baseline(fake: FakeSlackProcess, bodies: list[tuple[str, str]], concurrency: int) -> list[float]:
    """A bare bolt App that only acknowledges, behind the same HTTP server."""
    client = WebClient(token=VALID_TOKEN, base_url=fake.api_url)
    bolt = App(
        client=client, signing_secret=SIGNING_SECRET, process_before_response=False, token_verification_enabled=False
    )

    def command(ack: Ack) -> None:
        ack()

    def message(ack: Ack) -> None:
        ack()

    bolt.command("/helpdesk")(command)
    bolt.event("message")(message)
    server = SlackHTTPServer(bolt, "127.0.0.1", 0)
    server.start()
    try:
        fire(server.port, bodies[: max(50, len(bodies) // 10)], concurrency)  # warm-up
        return fire(server.port, bodies, concurrency)
    finally:
        server.stop()


def helpdesk(
    fake: FakeSlackProcess, url: str, bodies: list[tuple[str, str]], concurrency: int
) -> tuple[list[float], float]:
    """The real adapter on the real core; returns latencies and the seconds until all work finished."""
    config = parse_config({"database": {"url": url}}, environ={})
    app = bootstrap(config)
    slack = SlackConfig.model_validate(
        {
            "enabled": True,
            "mode": "http",
            "bot_token": VALID_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "http_host": "127.0.0.1",
            "http_port": 0,
            "api_base_url": fake.api_url,
            "triage_channel": "CTRIAGE1",
            "technicians": [TECHNICIAN],
        }
    )
    adapter = build_slack_adapter(app, slack)
    stop = threading.Event()
    dispatcher = threading.Thread(target=app.dispatcher.run_forever, args=(stop,), daemon=True)
    adapter.start()
    dispatcher.start()
    try:
        port = adapter.http_port
        assert port is not None
        warm = requests_for(20, fake.response_url(), first=len(bodies))
        fire(port, warm, concurrency)
        adapter.wait_idle(60)
        started = time.perf_counter()
        latencies = fire(port, bodies, concurrency)
        if not adapter.wait_idle(600):
            raise RuntimeError("the adapter did not finish its work")
        return latencies, time.perf_counter() - started
    finally:
        stop.set()
        app.dispatcher.wake()
        dispatcher.join(10)
        adapter.stop()
        app.close()


def helpdesk_queue(
    fake: FakeSlackProcess,
    url: str,
    bodies: list[tuple[str, str]],
    concurrency: int,
    workers: int,
    folder: Path,
    *,
    front_only: bool = False,
) -> tuple[list[float], float | None]:
    """The adapter with ``queue_workers``: this process acknowledges, worker processes process.

    ``front_only``: no worker is started, the requests stay recorded — what recording costs by itself."""
    path = folder / "bot.toml"
    path.write_text(
        "\n".join(
            [
                "[database]",
                f"url = {json.dumps(url)}",
                "[slack]",
                "enabled = true",
                'mode = "http"',
                f"bot_token = {json.dumps(VALID_TOKEN)}",
                f"signing_secret = {json.dumps(SIGNING_SECRET)}",
                'http_host = "127.0.0.1"',
                "http_port = 0",
                f"api_base_url = {json.dumps(fake.api_url)}",
                'triage_channel = "CTRIAGE1"',
                f"technicians = [{json.dumps(TECHNICIAN)}]",
                f"queue_workers = {workers}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    config = load_config(path, adapter_models={"slack": SlackConfig}, environ={})
    app = bootstrap(config)
    slack = SlackConfig(**config.adapters["slack"])
    if front_only:
        adapter = SlackAdapter(app, slack, grant_role=app.grant_role, queue=InboundQueue.for_database(app.engine))
    else:
        adapter = build_slack_adapter(app, slack)
    queue = adapter.queue
    assert queue is not None
    stop = threading.Event()
    dispatcher = threading.Thread(target=app.dispatcher.run_forever, args=(stop,), daemon=True)
    adapter.start()
    dispatcher.start()

    def drained(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while queue.backlog() and time.monotonic() < deadline:
            time.sleep(0.05)
        adapter.wait_idle(timeout)  # the few requests the front keeps (none in this mix)
        if queue.backlog():
            raise RuntimeError("the workers did not finish their work")

    try:
        port = adapter.http_port
        assert port is not None
        fire(port, requests_for(20, fake.response_url(), first=len(bodies)), concurrency)
        if front_only:
            return fire(port, bodies, concurrency), None
        drained(120)  # also waits for the workers to start
        started = time.perf_counter()
        latencies = fire(port, bodies, concurrency)
        drained(600)
        return latencies, time.perf_counter() - started
    finally:
        stop.set()
        app.dispatcher.wake()
        dispatcher.join(10)
        adapter.stop()
        app.close()


def postgres_schema(base_url: str) -> tuple[str, Callable[[], None]]:
    """A throw-away schema on ``base_url``: its URL and a function that drops it."""
    from sqlalchemy import create_engine

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base_url else "?"

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()

    return f"{base_url}{sep}options=-csearch_path%3D{schema}", drop


def fresh(fake: FakeSlackProcess, args: argparse.Namespace) -> list[tuple[str, str]]:
    """The measured requests again, with new event ids (each set-up starts on an empty database)."""
    return requests_for(args.requests, fake.response_url())


def summary(name: str, latencies: list[float], base: list[float] | None) -> dict[str, Any]:
    row = {
        "setup": name,
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
    }
    if base is not None:
        row["p50_vs_baseline"] = round(row["p50_ms"] / statistics.median(base), 2)
        row["p99_vs_baseline"] = round(row["p99_ms"] / percentile(base, 0.99), 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the queue set-up")
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--only-queue", action="store_true", help="leave out the in-process set-ups (baseline and queue only)"
    )
    parser.add_argument("--postgres", default=os.environ.get("HELPDESK_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if args.serve_fake is not None:
        serve_fake(args.serve_fake)
        return
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.requests} requests, {args.concurrency} concurrent"
    )
    logging.basicConfig(level=logging.ERROR)
    rows = []
    fake = FakeSlackProcess(args.requests + 20)  # the requesters and the warm-up's
    try:
        bodies = requests_for(args.requests, fake.response_url())
        base = baseline(fake, bodies, args.concurrency)
        rows.append(summary("baseline: bare bolt, ack only", base, None))

        def record(name: str, latencies: list[float], drained: float | None) -> None:
            if drained is None:
                rows.append(summary(name, latencies, base))
                return
            rate = round(args.requests / drained, 1)
            rows.append({**summary(name, latencies, base), "all_work_done_s": round(drained, 1), "events_per_s": rate})

        queued = f"helpdesk, queue + {args.workers} worker processes"
        if not args.only_queue:
            with tempfile.TemporaryDirectory() as tmp:
                record(
                    "helpdesk, SQLite",
                    *helpdesk(fake, f"sqlite:///{tmp}/bench.db", fresh(fake, args), args.concurrency),
                )
        with tempfile.TemporaryDirectory() as tmp:
            record(
                "queue front only (no worker running), SQLite",
                *helpdesk_queue(
                    fake,
                    f"sqlite:///{tmp}/bench.db",
                    fresh(fake, args),
                    args.concurrency,
                    args.workers,
                    Path(tmp),
                    front_only=True,
                ),
            )
        with tempfile.TemporaryDirectory() as tmp:
            record(
                f"{queued}, SQLite",
                *helpdesk_queue(
                    fake, f"sqlite:///{tmp}/bench.db", fresh(fake, args), args.concurrency, args.workers, Path(tmp)
                ),
            )
        if args.postgres:
            if not args.only_queue:
                url, drop = postgres_schema(args.postgres)
                try:
                    record("helpdesk, PostgreSQL", *helpdesk(fake, url, fresh(fake, args), args.concurrency))
                finally:
                    drop()
            url, drop = postgres_schema(args.postgres)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    record(
                        f"{queued}, PostgreSQL",
                        *helpdesk_queue(fake, url, fresh(fake, args), args.concurrency, args.workers, Path(tmp)),
                    )
            finally:
                drop()
            url, drop = postgres_schema(args.postgres)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    record(
                        "queue front only (no worker running), PostgreSQL",
                        *helpdesk_queue(
                            fake, url, fresh(fake, args), args.concurrency, args.workers, Path(tmp), front_only=True
                        ),
                    )
            finally:
                drop()
        rows.append({"load_average_after": [round(x, 1) for x in os.getloadavg()]})
    finally:
        fake.close()
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
