"""HTTP mode with worker processes (``[slack] queue_workers = N``).

The processing of a request is CPU-bound Python (the core, the knowledge-base search, the
rendering): in the process that serves ``/slack/events`` it takes the interpreter from the
threads that must acknowledge the next requests within Slack's 3 seconds. With workers:

* the **front** (:class:`QueueFront`, in ``helpdesk-bot run``) checks the request's signature,
  records the raw request in ``inbound_events`` (committed) and answers 200 — nothing else;
* **workers** (``helpdesk-bot slack-worker``, started and restarted by the front's
  :class:`WorkerProcesses`, or run by hand on other machines on the same database) claim the
  recorded requests (:class:`bot.db.inbound.InboundQueue`: in order per Slack user, ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL) and run them through the same bolt listeners, with the signature
  check left out (the front did it) and the work done inline (:class:`QueueWorker`).

What the front keeps for itself, because its answer travels in the HTTP response or must happen
within seconds: ``url_verification`` and ``ssl_check``, modal submissions (field errors are part
of the acknowledgement), ``/helpdesk new``, the *Report a problem* shortcut and the App Home button
(they open a modal with a ``trigger_id`` valid 3 seconds), and events without a user (the bot's
own messages, edits, user-group changes). Messages, mentions, App Home visits, the other
``/helpdesk`` commands and the bot's buttons go to the workers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from adapters.slack.events import PLATFORM
from adapters.slack.render import BUTTON_ACTION_PREFIX
from bot.db.inbound import InboundItem, InboundQueue

if TYPE_CHECKING:
    from adapters.slack.app import SlackAdapter

logger = logging.getLogger(__name__)

QUEUED_EVENTS = frozenset({"message", "app_mention", "app_home_opened"})
_BUTTON = re.compile(f"^{BUTTON_ACTION_PREFIX}\\d+$")


def queued_conversation(body: str, content_type: str, command: str = "/helpdesk") -> str | None:
    """The ordering key (``team:user``) of a request the workers handle, ``None`` for one the front
    answers itself (see the module documentation)."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/json":
            data = json.loads(body)
            if not isinstance(data, dict) or data.get("type") != "event_callback":
                return None
            event = data.get("event")
            if not isinstance(event, dict) or event.get("type") not in QUEUED_EVENTS or event.get("bot_id"):
                return None
            user = event.get("user")
            return f"{data.get('team_id') or ''}:{user}" if isinstance(user, str) and user else None
        form = parse_qs(body)
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            if not isinstance(payload, dict) or payload.get("type") != "block_actions":
                return None
            actions = payload.get("actions") or []
            if not actions or not all(_BUTTON.match(str(action.get("action_id") or "")) for action in actions):
                return None
            team = (payload.get("team") or {}).get("id") or ""
            user = (payload.get("user") or {}).get("id")
            return f"{team}:{user}" if user else None
        if form.get("command", [""])[0] == command:
            words = form.get("text", [""])[0].split()
            if words and words[0].lower() == "new":
                return None
            user = form.get("user_id", [""])[0]
            return f"{form.get('team_id', [''])[0]}:{user}" if user else None
    except (ValueError, AttributeError, TypeError):
        return None
    return None


def _header(headers: Mapping[str, Sequence[str]], name: str) -> str:
    values = headers.get(name) or []
    return str(values[0]) if values else ""


class GroupCommit:
    """Records requests for the workers, many in one commit: each caller waits for the commit that
    holds its request. Under a burst the requests that arrive while one commit runs share the next,
    so a durable commit per request does not become the acknowledgements' bottleneck."""

    def __init__(self, queue: InboundQueue, *, timeout: float = 2.0) -> None:
        self.queue = queue
        self.timeout = timeout
        self._pending: list[tuple[tuple[str, str, str, str], _Waiter]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._write, name="slack-inbound", daemon=True)
        self._writer.start()

    def put(self, conversation: str, body: str, content_type: str) -> bool:
        """Record one request; True once committed, False if that failed or took longer than ``timeout``."""
        waiter = _Waiter()
        with self._changed:
            if self._closed:
                return False
            self._pending.append(((PLATFORM, conversation, body, content_type), waiter))
            self._changed.notify()
        return waiter.done.wait(self.timeout) and waiter.ok

    def _write(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending) or self._closed)
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            try:
                self.queue.put_many([request for request, _ in batch])
                ok = True
            except Exception:
                logger.exception("cannot record %d Slack request(s) for the workers", len(batch))
                ok = False
            for _, waiter in batch:
                waiter.ok = ok
                waiter.done.set()

    def close(self) -> None:
        """Write what is pending, then stop the writer thread."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._writer.join()


class _Waiter:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False


class QueueFront:
    """What the HTTP server asks first: record the request for the workers (and answer 200), or not.

    Called with the raw body and the request's headers (lower-case names). Returns the status
    to answer, or ``None`` to let bolt handle the request in this process — also for a request
    whose signature does not verify, which bolt then refuses with 401.
    """

    def __init__(self, queue: InboundQueue, signing_secret: str, command: str = "/helpdesk") -> None:
        self.queue = queue
        self._writer = GroupCommit(queue)
        self._verifier = SignatureVerifier(signing_secret)
        self._command = command

    def __call__(self, body: str, headers: Mapping[str, Sequence[str]]) -> int | None:
        """Record ``body`` and return 200, or return ``None`` (bolt answers); 503 if it cannot be recorded."""
        content_type = _header(headers, "content-type")
        key = queued_conversation(body, content_type, self._command)
        if key is None:
            return None
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return None
        if not self._writer.put(key, body, content_type):
            # Not acknowledged: Slack retries the event (and shows the user an error for a command).
            return 503
        return 200

    def close(self) -> None:
        """Finish recording what was received (the HTTP server is stopped first)."""
        self._writer.close()


class QueueWorker:
    """A worker's loop: claim recorded requests, run each through the adapter's listeners, remove it.

    Up to ``threads`` requests (of different conversations: the queue never hands out two of one
    conversation at once) are handled at the same time, so that one waiting for the Web API or
    a commit does not hold the others up. One thread claims; it looks again every
    ``poll_seconds`` while the queue is empty.
    """

    def __init__(
        self,
        adapter: SlackAdapter,
        queue: InboundQueue,
        *,
        name: str | None = None,
        threads: int = 4,
        poll_seconds: float = 0.05,
    ) -> None:
        self.adapter = adapter
        self.queue = queue
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.threads = threads
        self.poll_seconds = poll_seconds

    def run_once(self) -> int:
        """Claim and handle (in this thread) as many requests as there are threads; how many it held."""
        items = self.queue.claim(PLATFORM, self.name, self.threads)
        for item in items:
            self.handle(item)
        return len(items)

    def handle(self, item: InboundItem) -> None:
        """Run one request (or drop one that was claimed too often), then remove it from the queue."""
        if item.attempts > self.queue.max_attempts:
            logger.error(
                "dropping Slack request %d of %s: claimed %d times without being handled",
                item.id,
                item.conversation,
                item.attempts,
            )
        else:
            try:
                self.adapter.handle_recorded(item.body, item.content_type)
            except Exception:
                logger.exception("Slack request %d failed", item.id)
        if not self.queue.done(item, self.name):
            logger.warning("Slack request %d was handled after its lease expired (another worker had it)", item.id)

    def run_forever(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then finish the requests in hand."""
        slots = threading.Semaphore(self.threads)

        def work(item: InboundItem) -> None:
            try:
                self.handle(item)
            finally:
                slots.release()

        with ThreadPoolExecutor(self.threads, thread_name_prefix="slack-queue") as pool:
            while not stop.is_set():
                if not slots.acquire(timeout=self.poll_seconds):
                    continue  # every thread busy
                free = 1
                while free < self.threads and slots.acquire(blocking=False):
                    free += 1
                try:
                    items = self.queue.claim(PLATFORM, self.name, free)
                except Exception:
                    logger.exception("the Slack worker cannot reach the queue")
                    items = []
                    stop.wait(1.0)
                for _ in range(free - len(items)):
                    slots.release()
                for item in items:
                    pool.submit(work, item)
                if not items:
                    stop.wait(self.poll_seconds)


class WorkerProcesses:
    """The ``helpdesk-bot slack-worker`` children of the front: started, restarted when one exits, stopped."""

    def __init__(self, command: Sequence[str], count: int, *, restart_seconds: float = 1.0) -> None:
        self.command = list(command)
        self.count = count
        self.restart_seconds = restart_seconds
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the workers and a thread that replaces any that exits."""
        with self._lock:
            self.processes = [self._spawn() for _ in range(self.count)]
        self._watcher = threading.Thread(target=self._watch, name="slack-workers", daemon=True)
        self._watcher.start()

    def pids(self) -> list[int]:
        """The running workers' process ids."""
        with self._lock:
            return [process.pid for process in self.processes if process.poll() is None]

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, stdin=subprocess.DEVNULL)

    def _watch(self) -> None:
        while not self._stop.wait(self.restart_seconds):
            with self._lock:
                for index, process in enumerate(self.processes):
                    code = process.poll()
                    if code is not None and not self._stop.is_set():
                        logger.warning("Slack worker %d exited with %s; starting another", process.pid, code)
                        self.processes[index] = self._spawn()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to finish its request and exit (SIGTERM); kill those still running after ``timeout``."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        with self._lock:
            for process in self.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in self.processes:
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
