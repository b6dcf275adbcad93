"""A local fake of Slack's Web API, for tests: stdlib ``http.server`` on 127.0.0.1, port 0.

Like bolt-python's ``tests/mock_web_api_server``, it records every request it receives
and answers the way Slack does (``{"ok": true, ...}``; ``ok: false`` with an error code;
HTTP 429 with ``Retry-After``; 500). Tests point a ``WebClient`` at :attr:`FakeSlack.api_url`
and the ``response_url`` of payloads at :meth:`FakeSlack.response_url`.

File uploads follow the three steps ``WebClient.files_upload_v2`` performs (slack_sdk
``web/client.py``): ``files.getUploadURLExternal`` (filename, length) answers an ``upload_url``
on this server and a ``file_id``; the SDK POSTs the raw bytes there (no token, recorded as
method ``upload``); ``files.completeUploadExternal`` (``files=[{"id", "title"}]`` as JSON,
``channel_id``, ``thread_ts``) shares them. :meth:`FakeSlack.shared_files` lists what was shared.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

VALID_TOKEN = "xoxb-valid"
BOT_USER_ID = "UBOT0001"


@dataclass
class Call:
    """One request the fake received: the API method (or ``respond`` for a response_url) and its arguments."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    """When the request arrived (``time.monotonic``): benchmarks measure windows from it."""

    def blocks(self) -> list[dict[str, Any]]:
        """The ``blocks`` argument, decoded (the SDK may send it as a JSON string)."""
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def view(self) -> dict[str, Any]:
        """The ``view`` argument, decoded."""
        view = self.args.get("view") or {}
        return json.loads(view) if isinstance(view, str) else dict(view)


@dataclass
class UploadedFile:
    """A file going through the external upload flow; ``channel`` is set once it is shared."""

    id: str
    filename: str
    length: int
    alt_txt: str = ""
    data: bytes | None = None
    title: str = ""
    channel: str | None = None
    thread_ts: str | None = None


@dataclass
class Hold:
    """A request the fake keeps unanswered until :meth:`release`: a send in flight.

    With ``accept`` Slack has already taken the message (it is in the history) and only the
    answer is held back — what a crash after posting leaves; without, nothing is posted yet.
    """

    method: str
    accept: bool
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Let the held request be answered (or give up on it: its client may be dead)."""
        self.released.set()


@dataclass
class Scripted:
    """A canned answer used once before the default behaviour resumes."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """The fake server. Use as a context manager; it stops on exit."""

    def __init__(self, *, epoch: int = 1700000000) -> None:
        """``epoch``: the seconds part of every ``ts`` the fake hands out (a real clock's, for lookups by time)."""
        self.epoch = epoch
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._scripts: dict[str, deque[Scripted]] = {}
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.files: dict[str, UploadedFile] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        """Messages posted with chat.postMessage, by channel, oldest first (read by conversations.*)."""
        self.socket_mode_url: Callable[[], str] | None = None
        """When set, ``apps.connections.open`` (with an ``xapp-`` token) answers the URL it returns."""
        self._holds: dict[str, deque[Hold]] = {}
        self._every_hold: list[Hold] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(), bind_and_activate=False)
        self._server.request_queue_size = 256
        self._server.server_bind()
        self._server.server_activate()
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    # -- life cycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for hold in self._every_hold:
            hold.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL to give to ``WebClient(base_url=...)``."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A ``response_url`` that lands on this server (recorded as method ``respond``)."""
        return f"{self.base_url}/respond/{name}"

    # -- scripting and inspection --------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        real_name: str = "",
        display_name: str = "",
        email: str = "",
        phone: str = "",
        locale: str = "fr-FR",
        is_bot: bool = False,
    ) -> None:
        """Make ``users.info`` know a user."""
        self.users[user_id] = {
            "id": user_id,
            "name": (display_name or real_name or user_id).lower().replace(" ", "."),
            "real_name": real_name,
            "locale": locale,
            "is_bot": is_bot,
            "profile": {"real_name": real_name, "display_name": display_name, "email": email, "phone": phone},
        }

    def script(self, method: str, *answers: Scripted) -> None:
        """Answer the next calls of ``method`` with ``answers``, in order."""
        self._scripts.setdefault(method, deque()).extend(answers)

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self.script(method, *[Scripted(200, {"ok": False, "error": error})] * times)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After``."""
        answer = Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
        self.script(method, *[answer] * times)

    def server_error(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 500."""
        self.script(method, *[Scripted(500, {"ok": False, "error": "fatal_error"})] * times)

    def unavailable(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 503 (an outage)."""
        self.script(method, *[Scripted(503, {"ok": False, "error": "service_unavailable"})] * times)

    def recover(self, method: str) -> None:
        """Forget the canned answers left for ``method``: the outage is over."""
        self._scripts.pop(method, None)

    def hold(self, method: str, *, accept: bool = True) -> Hold:
        """Keep the next call of ``method`` unanswered until the returned hold is released."""
        hold = Hold(method, accept)
        with self._changed:
            self._holds.setdefault(method, deque()).append(hold)
            self._every_hold.append(hold)
        return hold

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages that Slack holds (posted), in one channel or all, oldest first."""
        with self._changed:
            if channel is not None:
                return list(self.messages.get(channel, []))
            return [message for messages in self.messages.values() for message in messages]

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of ``method``, oldest first."""
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def methods(self) -> list[str]:
        """The methods called, in order (``auth.test`` included)."""
        with self._changed:
            return [call.method for call in self.calls]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``method`` was called ``count`` times (a condition, not a sleep)."""
        with self._changed:
            self._changed.wait_for(lambda: len([c for c in self.calls if c.method == method]) >= count, timeout)
            return [call for call in self.calls if call.method == method]

    def shared_files(self) -> list[UploadedFile]:
        """Files whose upload was completed (shared in a channel), in the order they were announced."""
        with self._changed:
            return [f for f in self.files.values() if f.channel is not None]

    def clear(self) -> None:
        """Forget the recorded calls."""
        with self._changed:
            self.calls.clear()

    # -- answers ---------------------------------------------------------------------------------

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> Scripted:
        queue = self._scripts.get(method)
        if queue:
            return queue.popleft()
        if method == "respond":
            return Scripted(200, {})
        if method == "apps.connections.open" and self.socket_mode_url is not None:
            if not headers.get("authorization", "").startswith("Bearer xapp-"):
                return Scripted(200, {"ok": False, "error": "not_allowed_token_type"})
            return Scripted(200, {"ok": True, "url": self.socket_mode_url()})
        if headers.get("authorization") != f"Bearer {VALID_TOKEN}":
            return Scripted(200, {"ok": False, "error": "invalid_auth"})
        return Scripted(200, self._default(method, args))

    def _default(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "helpdesk",
                "team_id": "T111",
                "user_id": BOT_USER_ID,
                "bot_id": "B111",
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") if method == "chat.update" else f"{self.epoch}.{next(self._ts):06d}"
            channel = str(args.get("channel", ""))
            if channel.startswith(("U", "W")):
                channel = "D" + channel[1:]
            if method == "chat.postMessage":
                self._store(channel, str(ts), args)
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text", "")}}
        if method == "conversations.history":
            return self._history(args, lambda message: True)
        if method == "conversations.replies":
            parent = str(args.get("ts") or "")
            return self._history(args, lambda m: m["ts"] == parent or m.get("thread_ts") == parent)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{self.epoch}.{next(self._ts):06d}"}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.info":
            channel = str(args.get("channel") or "")
            if channel.startswith("D"):
                return {"ok": True, "channel": {"id": channel, "is_im": True, "user": "U" + channel[1:]}}
            if channel.startswith(("C", "G")):
                return {"ok": True, "channel": {"id": channel, "is_im": False}}
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.open":
            users = str(args.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users[1:]}}
        if method in ("views.open", "views.update", "views.publish"):
            return {"ok": True, "view": {"id": args.get("view_id") or f"V{next(self._views):04d}"}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(str(args.get("usergroup")), [])}
        if method == "files.getUploadURLExternal":
            return self._upload_url(args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        return {"ok": True}

    def _store(self, channel: str, ts: str, args: dict[str, Any]) -> None:
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message: dict[str, Any] = {"type": "message", "ts": ts, "text": args.get("text", ""), "user": BOT_USER_ID}
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        if metadata:
            message["metadata"] = metadata
        with self._changed:
            self.messages.setdefault(channel, []).append(message)
            self._changed.notify_all()

    def _history(self, args: dict[str, Any], keep: Any) -> dict[str, Any]:
        """conversations.history / replies: one page, newest first for history (as Slack), with cursors."""
        channel = str(args.get("channel") or "")
        if channel not in self.messages and not channel.startswith(("C", "D", "G")):
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._changed:
            found = [dict(m) for m in self.messages.get(channel, []) if keep(m) and float(m["ts"]) >= oldest]
        if args.get("ts") is None:
            found.reverse()
        for message in found:
            if not with_metadata:
                message.pop("metadata", None)
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 1: a file id and an upload URL on this server (Slack's is on files.slack.com)."""
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        with self._changed:
            file_id = f"F{next(self._file_ids):08d}"
            self.files[file_id] = UploadedFile(file_id, filename, int(length), str(args.get("alt_txt") or ""))
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _receive_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        """Step 2: the bytes, POSTed raw; Slack answers ``OK - <length>`` in plain text."""
        queue = self._scripts.get("upload")
        if queue:
            answer = queue.popleft()
            return answer.status, json.dumps(answer.body)
        with self._changed:
            pending = self.files.get(file_id)
            if pending is None or pending.data is not None:
                return 404, "file_not_found"
            if len(data) != pending.length:
                return 400, "length_mismatch"
            pending.data = data
        return 200, f"OK - {len(data)}"

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 3: share the uploaded files (with their titles) in ``channel_id``, in ``thread_ts``."""
        try:
            items = json.loads(str(args.get("files") or ""))
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(items, list) or not items:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "") or None
        with self._changed:
            known = [self.files.get(str(item.get("id"))) for item in items]
            if any(f is None or f.data is None or f.channel is not None for f in known):
                return {"ok": False, "error": "file_not_found"}
            shared = []
            for item, uploaded in zip(items, known, strict=True):
                assert uploaded is not None
                uploaded.title = str(item.get("title") or uploaded.filename)
                uploaded.channel = channel or ""
                uploaded.thread_ts = str(args.get("thread_ts") or "") or None
                shared.append(
                    {
                        "id": uploaded.id,
                        "name": uploaded.filename,
                        "title": uploaded.title,
                        "mimetype": "image/png" if uploaded.filename.endswith(".png") else "application/octet-stream",
                        "size": uploaded.length,
                        "channels": [channel] if channel else [],
                    }
                )
        return {"ok": True, "files": shared}

    def _take_hold(self, method: str) -> Hold | None:
        with self._changed:
            holds = self._holds.get(method)
            return holds.popleft() if holds else None

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                if url.path.startswith("/upload/v1/"):
                    self._upload(url.path[len("/upload/v1/") :], self.rfile.read(length))
                    return
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                args: dict[str, Any] = dict(parse_qsl(url.query))
                content_type = self.headers.get("content-type") or ""
                if raw and "json" in content_type:
                    args.update(json.loads(raw))
                elif raw:
                    args.update(parse_qsl(raw))
                if url.path.startswith("/api/"):
                    method = url.path[len("/api/") :]
                elif url.path.startswith("/respond/"):
                    method = "respond"
                    args["response_url_name"] = url.path[len("/respond/") :]
                else:
                    method = url.path
                headers = {key.lower(): value for key, value in self.headers.items()}
                # Recorded before answering: once the client has its answer, the call is visible.
                fake._record(Call(method, args, headers))
                hold = fake._take_hold(method)
                if hold is not None and not hold.accept:
                    hold.arrived.set()
                    hold.released.wait()
                answer = fake._answer(method, args, headers)
                if hold is not None and hold.accept:
                    hold.arrived.set()
                    hold.released.wait()
                data = json.dumps(answer.body).encode("utf-8") if method != "respond" else b"ok"
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json" if method != "respond" else "text/plain")
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client died while its request was held

            def _upload(self, file_id: str, data: bytes) -> None:
                headers = {key.lower(): value for key, value in self.headers.items()}
                fake._record(Call("upload", {"file_id": file_id, "size": len(data)}, headers))
                status, text = fake._receive_upload(file_id, data)
                body = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def iter_blocks_text(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every text string inside ``blocks`` (rich text, sections, fields, context, buttons)."""
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            yield str(text.get("text", ""))
        for item in block.get("fields") or []:
            yield str(item.get("text", ""))
        if block.get("type") == "rich_text":
            yield "".join(
                str(part.get("text") or part.get("url") or "")
                for section in block.get("elements") or []
                for part in section.get("elements") or []
            )
            continue
        for element in block.get("elements") or []:
            inner = element.get("text")
            yield str(inner.get("text", "") if isinstance(inner, dict) else inner or "")


def iter_mrkdwn_text(value: Any) -> Iterator[str]:
    """Every ``mrkdwn`` text object's text anywhere inside ``value`` (blocks, views): what Slack interprets."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for item in value.values():
            yield from iter_mrkdwn_text(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_mrkdwn_text(item)
