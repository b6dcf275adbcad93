"""A local fake of the Telegram Bot API, on 127.0.0.1, for offline end-to-end tests.

It answers the methods the adapter uses (getMe, getUpdates with offsets and long
polling, sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery,
setMyCommands, createForumTopic, getChat, getFile and file downloads, deleteWebhook,
setWebhook, sendPhoto and sendMediaGroup with multipart uploads), records every call with
its decoded parameters and the files uploaded with it, and can be told to fail a method
(429 with ``retry_after``, 403, 400 chat not found, chat migrated).
Waiting is event-driven: :meth:`FakeTelegram.wait_until` wakes on every new call.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123:ABC"
BOT_ID = 123
BOT_USERNAME = "HelpdeskTestBot"

# Parameters that PTB sends as plain strings (everything else is JSON-encoded).
_STRING_PARAMS = {
    "text",
    "name",
    "callback_query_id",
    "url",
    "secret_token",
    "parse_mode",
    "language_code",
    "file_id",
    "caption",
    "icon_custom_emoji_id",
}
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request: its form field, file name, content type and bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class SentPhoto:
    """A photo the bot sent (sendPhoto, or one item of sendMediaGroup)."""

    chat_id: int
    filename: str
    caption: str | None
    parse_mode: str | None
    data: bytes
    message_thread_id: int | None = None
    reply_to: int | None = None


@dataclass
class Call:
    """One request the bot made (``files``: the multipart file parts, by form field)."""

    method: str
    params: dict[str, Any]
    result: Any = None
    files: dict[str, Upload] = field(default_factory=dict)


@dataclass
class Failure:
    """A canned error answer for the next ``times`` calls of a method."""

    status: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    times: int = 1


class FakeTelegram:
    """The fake Bot API server; ``base_url`` goes into ``telegram.base_url``."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.forums: set[int] = set()
        self.files: dict[str, bytes] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._failures: dict[str, deque[Failure]] = {}
        self._next_message_id = 1000
        self._next_topic_id = 500
        self._changed = asyncio.Event()
        self._updates_changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------ control

    @property
    def base_url(self) -> str:
        """Root URL of the fake server (without ``/bot``)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Wake pending long polls and shut the server down."""
        self._closing.set()
        self._updates_changed.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        self._updates.append(update)
        self._updates_changed.set()

    def fail(self, method: str, status: int, description: str, *, times: int = 1, **parameters: Any) -> None:
        """Answer the next ``times`` calls of ``method`` with an error."""
        self._failures.setdefault(method, deque()).append(Failure(status, description, parameters, times))

    def clear_failures(self) -> None:
        """Answer every method normally again."""
        self._failures.clear()

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of one method, in order."""
        return [call for call in self.calls if call.method == method]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (event-driven) until ``predicate()`` holds after some call; fail after ``timeout``."""

        async def waiter() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(waiter(), timeout)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times; return those calls."""
        await self.wait_until(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    def sent_photos(self, chat_id: int | None = None) -> list[SentPhoto]:
        """Every photo sent (sendPhoto and album items, in order), with its uploaded bytes."""
        photos: list[SentPhoto] = []
        for call in self.calls:
            if call.method not in ("sendPhoto", "sendMediaGroup") or call.result is None:
                continue
            chat = int(call.params["chat_id"])
            if chat_id is not None and chat != chat_id:
                continue
            items = (
                call.params["media"]
                if call.method == "sendMediaGroup"
                else [
                    {
                        "media": "attach://photo",
                        "caption": call.params.get("caption"),
                        "parse_mode": call.params.get("parse_mode"),
                    }
                ]
            )
            reply = call.params.get("reply_parameters") or {}
            for item in items:
                upload = call.files[str(item["media"]).removeprefix("attach://")]
                photos.append(
                    SentPhoto(
                        chat_id=chat,
                        filename=upload.filename,
                        caption=item.get("caption"),
                        parse_mode=item.get("parse_mode"),
                        data=upload.data,
                        message_thread_id=call.params.get("message_thread_id"),
                        reply_to=reply.get("message_id"),
                    )
                )
        return photos

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Texts (HTML as sent) of every sendMessage, optionally to one chat."""
        return [
            call.params["text"]
            for call in self.calls_to("sendMessage")
            if chat_id is None or call.params["chat_id"] == chat_id
        ]

    # ------------------------------------------------------------ server

    @staticmethod
    def _decode(raw: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def _record(self, method: str, params: dict[str, Any], files: dict[str, Upload] | None = None) -> Call:
        call = Call(method, params, files=files or {})
        self.calls.append(call)
        self._changed.set()
        return call

    async def next_call(
        self,
        method: str,
        after: int,
        predicate: Callable[[Call], bool] = lambda call: True,
        timeout: float = 10.0,
    ) -> Call:
        """The first answered ``method`` call at index ``>= after`` in ``calls_to(method)`` that matches."""

        def found() -> Call | None:
            for call in self.calls_to(method)[after:]:
                if call.result is not None and predicate(call):
                    return call
            return None

        await self.wait_until(lambda: found() is not None, timeout)
        match = found()
        assert match is not None
        return match

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        form = await request.post()
        files = {
            key: Upload(key, value.filename, value.content_type, value.file.read())
            for key, value in form.items()
            if isinstance(value, web.FileField)
        }
        params = self._decode({key: str(value) for key, value in form.items() if key not in files})
        if request.content_type == "application/json":
            params = await request.json()
        call = self._record(method, params, files)
        queued = self._failures.get(method)
        if queued:
            failure = queued[0]
            failure.times -= 1
            if failure.times <= 0:
                queued.popleft()
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.parameters:
                body["parameters"] = failure.parameters
            return web.json_response(body, status=failure.status)
        uploader = getattr(self, f"_u_{method}", None)
        handler = getattr(self, f"_m_{method}", None)
        if uploader is not None:
            try:
                result = uploader(params, files)
            except LookupError as missing:
                body = {"ok": False, "error_code": 400, "description": f"Bad Request: {missing}"}
                return web.json_response(body, status=400)
        elif handler is not None:
            result = await handler(params)
        else:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        call.result = result
        self._changed.set()
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        file_id = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if file_id not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[file_id])

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        chat: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": "Technicians"}
        if chat_id in self.forums:
            chat["is_forum"] = True
        return chat

    def _message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        if message_id is None:
            self._next_message_id += 1
            message_id = self._next_message_id
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Helpdesk", "username": BOT_USERNAME},
            "text": html.unescape(_TAG.sub("", str(params.get("text", "")))),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        return message

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Helpdesk",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()  # confirmed by the offset
        if not self._updates and not self._closing.is_set():
            self._updates_changed.clear()
            timeout = float(params.get("timeout") or 0)
            try:
                await asyncio.wait_for(self._updates_changed.wait(), timeout)
            except TimeoutError:
                return []
        return [update for update in self._updates if update["update_id"] >= offset]

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params)

    async def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, int(params["message_id"]))

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, int(params["message_id"]))

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(int(params["chat_id"]))
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        return chat

    async def _m_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        self._next_topic_id += 1
        return {"message_thread_id": self._next_topic_id, "name": params["name"], "icon_color": 7322096}

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id[-8:]}",
            "file_size": len(self.files.get(file_id, b"")),
            "file_path": f"photos/{file_id}.jpg",
        }

    # ------------------------------------------------------------ uploads (multipart)

    def _photo_message(self, params: dict[str, Any], upload: Upload, caption: Any) -> dict[str, Any]:
        """A photo message; the bytes become downloadable through getFile, like Telegram's."""
        message = self._message(params)
        del message["text"]
        file_id = f"AgAC{len(self.files) + 1:06d}"
        self.files[file_id] = upload.data
        message["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 800,
                "height": 400,
                "file_size": len(upload.data),
            }
        ]
        if caption:
            message["caption"] = html.unescape(_TAG.sub("", str(caption)))
        return message

    def _u_sendPhoto(self, params: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        if "photo" not in files:
            raise LookupError("there is no photo in the request")
        return self._photo_message(params, files["photo"], params.get("caption"))

    def _u_sendMediaGroup(self, params: dict[str, Any], files: dict[str, Upload]) -> list[dict[str, Any]]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise LookupError("wrong number of media in the group")
        messages = []
        group = f"{int(time.time())}{self._next_message_id}"
        for item in media:
            name = str(item.get("media", "")).removeprefix("attach://")
            if item.get("type") != "photo" or name not in files:
                raise LookupError(f"wrong file identifier/HTTP URL specified: {name}")
            message = self._photo_message(params, files[name], item.get("caption"))
            message["media_group_id"] = group
            messages.append(message)
        return messages
