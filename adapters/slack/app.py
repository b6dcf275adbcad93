"""The Slack adapter: a slack-bolt :class:`~slack_bolt.App`, its listeners, Socket Mode and HTTP mode.

Every listener acknowledges Slack first and works after the acknowledgement: bolt
returns the HTTP response (or the Socket Mode ack) as soon as ``ack()`` is called,
while the listener goes on in the adapter's worker pool to call the core and the Web
API. Events are acknowledged by bolt before the listener even starts. The only work
done before ``ack()`` is pure and fast: the intake modal's field checks, whose errors
must travel in the acknowledgement itself (``response_action: "errors"``).

Payloads are read in :mod:`adapters.slack.events`; everything shown in Slack is built in
:mod:`adapters.slack.render`. This module only wires them to the core.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack import events as ev
from adapters.slack.config import SlackConfig
from adapters.slack.messenger import SlackMessenger, make_web_client
from adapters.slack.render import (
    BUTTON_ACTION_PREFIX,
    CALL_CALLBACK_ID,
    INTAKE_CALLBACK_ID,
    OPEN_INTAKE_ACTION,
    PROMPT_CALLBACK_ID,
    RenderedMessage,
    call_modal,
    home_view,
    intake_modal,
    notice_modal,
    prompt_modal,
    render_message,
    text_for,
)
from bot.db.inbound import InboundQueue
from bot.error_policy import explain_for_locale, log_unexpected
from bot.errors import ConfigError, HelpdeskError, ValidationFailed
from bot.i18n import language_from_locale
from bot.port import (
    AdapterHost,
    ButtonPress,
    Event,
    HelpdeskPort,
    Messenger,
    Place,
    Reply,
    Role,
    SlashCommand,
    TextMessage,
    User,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from adapters.slack.queue import QueueFront, WorkerProcesses
    from bot.config import Config

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000


def direct_reply(event: Event, reply: Reply) -> bool:
    """The Slack :data:`~bot.port.DirectPolicy`: which replies the adapter shows itself.

    Every other reply is written to the outbox in the event's transaction and delivered (and
    retried through an outage) by the dispatcher. Kept here, because Slack offers them only
    during the interaction, and delivered once, best effort, after the commit:

    * ephemeral replies — only the sender sees them (``response_url`` of the command or button,
      else ``chat.postEphemeral``); Slack does not keep them either;
    * answers to a command or a button outside a DM — shown to the sender only (ephemeral), unless
      they carry images; a question becomes a prompt modal opened with the interaction's
      ``trigger_id`` (valid 3 seconds).
    """
    if reply.message.ephemeral:
        return True
    outside_dm = not reply.place.chat_id.startswith("D")
    return outside_dm and isinstance(event, SlashCommand | ButtonPress)


class WorkerPool(ThreadPoolExecutor):
    """The thread pool bolt runs listeners in, able to tell when all submitted work is done.

    :meth:`wait_idle` is what tests (and a graceful stop) wait on instead of sleeping.
    """

    def __init__(self, max_workers: int, name: str = "slack-worker") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn`` in the pool, counting it until it finishes."""
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future[Any] | None) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no work is pending; False if ``timeout`` elapsed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


class SlackDirectory:
    """Profiles (``users.info``) and DM channels (``conversations.open``), cached."""

    def __init__(
        self,
        client: WebClient,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        on_dm: Callable[[str, str], None] | None = None,
    ) -> None:
        self._client = client
        self._on_dm = on_dm
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._profiles: dict[str, tuple[float, Mapping[str, Any] | None]] = {}
        self._dms: dict[str, str] = {}
        self._lock = threading.Lock()

    def profile(self, user_id: str) -> Mapping[str, Any] | None:
        """The ``users.info`` user object (with locale), or ``None`` if Slack would not say."""
        now = self._monotonic()
        with self._lock:
            cached = self._profiles.get(user_id)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        info: Mapping[str, Any] | None
        try:
            info = self._client.users_info(user=user_id, include_locale=True).get("user")
        except (SlackClientError, OSError) as error:
            logger.warning("users.info failed for %s: %s", user_id, error)
            return cached[1] if cached else None
        with self._lock:
            self._profiles[user_id] = (now, info)
        return info

    def cached_locale(self, user_id: str) -> str | None:
        """The locale from the cache only (no API call): for work that must not wait."""
        with self._lock:
            cached = self._profiles.get(user_id)
        return str(cached[1].get("locale") or "") or None if cached and cached[1] else None

    def user(self, user_id: str) -> User:
        """The port's user for a Slack user id."""
        return ev.user_from_profile(user_id, self.profile(user_id))

    def dm_place(self, user_id: str) -> Place:
        """The bot's direct-message channel with ``user_id``."""
        with self._lock:
            channel = self._dms.get(user_id)
        if channel is None:
            channel = str(self._client.conversations_open(users=user_id)["channel"]["id"])
            with self._lock:
                self._dms[user_id] = channel
            if self._on_dm is not None:
                self._on_dm(channel, user_id)
        return Place(ev.PLATFORM, channel)


@dataclass(frozen=True)
class Origin:
    """Where an event came from, to answer it: the sender, the place, and bolt's ``respond``."""

    user_id: str
    place: Place
    respond: Respond | None = None
    trigger_id: str | None = None
    """Set for button presses: a question that expects text can then open a modal."""


class SlackAdapter:
    """A running Slack connection (``PlatformAdapter``): bolt app, listeners, mode-specific server."""

    name = "slack"

    def __init__(
        self,
        core: HelpdeskPort,
        config: SlackConfig,
        *,
        client: WebClient | None = None,
        grant_role: Callable[[str, Role], None] | None = None,
        queue: InboundQueue | None = None,
        worker_command: Sequence[str] | None = None,
        inline: bool = False,
    ) -> None:
        """``queue`` (HTTP mode): requests the workers handle are recorded there and acknowledged,
        and ``worker_command`` is started ``config.queue_workers`` times by :meth:`start`.
        ``inline``: a worker's adapter, which runs recorded requests (:meth:`handle_recorded`)
        without checking signatures again, doing each one's work before returning."""
        self.core = core
        self.config = config
        self.client = client or make_web_client(config.secret("bot_token"), base_url=config.api_base_url)
        self.slack_messenger = SlackMessenger(self.client)
        self.messenger: Messenger = self.slack_messenger
        self.directory = SlackDirectory(
            self.client, config.profile_cache_seconds, on_dm=self.slack_messenger.remember_reader
        )
        # Two pools: bolt runs listeners in ``listeners``, which only acknowledge and hand the work
        # over, so that a burst of messages never delays the acknowledgement of a slash command or a
        # button (Slack's 3-second limit); the database and Web API work runs in ``workers``.
        self.listeners = WorkerPool(max(32, 4 * config.workers), name="slack-listener")
        self.workers = WorkerPool(config.workers, name="slack-worker")
        self._grant_role = grant_role
        self._http: SlackHTTPServer | None = None
        self._socket: SocketModeHandler | None = None
        self.queue = queue
        self._worker_command = list(worker_command) if worker_command else None
        self.worker_processes: WorkerProcesses | None = None
        self._front: QueueFront | None = None
        self._inline = inline
        self.bolt = App(
            client=self.client,
            signing_secret=config.secret("signing_secret"),
            process_before_response=inline,
            request_verification_enabled=not inline,
            listener_executor=self.listeners,
            logger=logging.getLogger("adapters.slack.bolt"),
        )
        self._register_listeners()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (Socket Mode) or start serving ``/slack/events`` (HTTP mode); return at once."""
        if self.config.mode == "socket":
            self._socket = SocketModeHandler(self.bolt, self.config.secret("app_token"))
            self._socket.connect()  # type: ignore[no-untyped-call]
            logger.info("Slack adapter connected in Socket Mode")
        else:
            if self.queue is not None:
                from adapters.slack.queue import QueueFront

                self._front = QueueFront(self.queue, self.config.secret("signing_secret"), self.config.command)
            self._http = SlackHTTPServer(self.bolt, self.config.http_host, self.config.http_port, front=self._front)
            self._http.start()
            if self._worker_command and self.config.queue_workers:
                from adapters.slack.queue import QueueFront, WorkerProcesses

                self.worker_processes = WorkerProcesses(self._worker_command, self.config.queue_workers)
                self.worker_processes.start()
                logger.info("started %d Slack worker process(es)", self.config.queue_workers)
            logger.info(
                "Slack adapter listening on http://%s:%d%s",
                self.config.http_host,
                self._http.port,
                EVENTS_PATH,
            )

    def connected(self) -> bool:
        """Whether events can arrive (``/readyz``): the Socket Mode WebSocket is open, or the HTTP
        server is serving ``/slack/events``."""
        if self._socket is not None:
            return bool(self._socket.client.is_connected())
        return self._http is not None and self._http.serving()

    def stop(self) -> None:
        """Stop receiving, let running listeners finish, release the connection (idempotent)."""
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._front is not None:
            self._front.close()
            self._front = None
        if self.worker_processes is not None:
            self.worker_processes.stop()
            self.worker_processes = None
        if self._socket is not None:
            self._socket.close()  # type: ignore[no-untyped-call]
            self._socket = None
        self.wait_idle(timeout=10)
        self.listeners.shutdown(wait=True)
        self.workers.shutdown(wait=True)
        if self.queue is not None:
            self.queue.close()

    @property
    def http_port(self) -> int | None:
        """The port the HTTP server listens on (useful with ``http_port = 0``)."""
        return self._http.port if self._http else None

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every acknowledged event has been processed; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.listeners.wait_idle(timeout):
            return False
        # Listeners hand their work to the workers before they finish: nothing falls between the two.
        return self.workers.wait_idle(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def handle_recorded(self, body: str, content_type: str) -> None:
        """Run a request the front recorded (``inline`` adapters): bolt's listeners, and their work, now."""
        response = self.bolt.dispatch(BoltRequest(body=body, headers={"content-type": [content_type]}))
        if response.status != 200:
            logger.warning("a recorded Slack request was answered %d: %s", response.status, response.body[:200])

    def sync_usergroup(self) -> int:
        """Grant the technician role to every member of ``technician_usergroup``; return how many."""
        group = self.config.technician_usergroup
        if not group or self._grant_role is None:
            return 0
        try:
            members = self.client.usergroups_users_list(usergroup=group).get("users") or []
        except (SlackClientError, OSError) as error:
            logger.error("cannot read the members of user group %s: %s", group, error)
            return 0
        for member in members:
            self._grant_role(f"{ev.PLATFORM}:{member}", "technician")
        return len(members)

    # -- listeners ----------------------------------------------------------------------------

    def _register_listeners(self) -> None:
        app = self.bolt
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_mention)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("subteam_members_changed")(self._on_usergroup_changed)
        app.command(self.config.command)(self._on_command)
        app.action(re.compile(f"^{BUTTON_ACTION_PREFIX}\\d+$"))(self._on_button)
        app.action(OPEN_INTAKE_ACTION)(self._on_open_intake)
        app.shortcut("report_problem")(self._on_open_intake)
        app.view(INTAKE_CALLBACK_ID)(self._on_intake_submitted)
        app.view(PROMPT_CALLBACK_ID)(self._on_prompt_submitted)
        app.view(CALL_CALLBACK_ID)(self._on_call_submitted)
        app.error(self._on_error)

    def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        if not ev.is_direct_message(event):
            return
        edited = ev.edited_message(event, context.bot_user_id)
        if edited is not None:
            self._later(self._handle_edit, edited, ev.edit_identity(event, edited), context.bot_user_id)
            return
        if not ev.is_person_message(event, context.bot_user_id):
            return
        self._later(self._handle_message, event, ev.event_identity(body, event), context.bot_user_id)

    def _handle_edit(self, edited: dict[str, Any], event_id: str, bot_user_id: str | None) -> None:
        """An edited DM: the core applies it to an intake answer not used yet, else tells the user that edits
        are not taken into account (with the pending question), as on Telegram."""
        user = self.directory.user(str(edited["user"]))
        message = ev.edited_text_message(edited, user, bot_user_id=bot_user_id, event_id=event_id)
        self.slack_messenger.remember_reader(message.place.chat_id, user.id)
        self._run(message, Origin(user.id, message.place))

    def _handle_message(self, event: dict[str, Any], event_id: str, bot_user_id: str | None) -> None:
        user = self.directory.user(str(event["user"]))
        message = ev.text_message(event, user, bot_user_id=bot_user_id, event_id=event_id)
        self.slack_messenger.remember_reader(message.place.chat_id, user.id)
        self._run(message, Origin(user.id, message.place))

    def _on_mention(self, event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        """A mention in a channel: the conversation moves to the user's DM (a short note says so)."""
        if not event.get("user") or event.get("bot_id"):
            return
        self._later(self._handle_mention, event, ev.event_identity(body, event), context.bot_user_id)

    def _handle_mention(self, event: dict[str, Any], event_id: str, bot_user_id: str | None) -> None:
        user_id = str(event["user"])
        user = self.directory.user(user_id)
        channel = str(event.get("channel") or "")
        try:
            dm = self.directory.dm_place(user_id)
            if channel != dm.chat_id:
                self.client.chat_postEphemeral(
                    channel=channel,
                    user=user_id,
                    text=text_for(self._language(user), "moved_to_dm"),
                    thread_ts=event.get("thread_ts"),
                )
        except (SlackClientError, OSError) as error:
            logger.error("cannot move the conversation of %s to a DM: %s", user_id, error)
            return
        message = ev.text_message(event, user, dm, bot_user_id=bot_user_id, event_id=event_id)
        if message.text or message.attachments:
            self._run(message, Origin(user_id, dm))

    def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        self._later(self._publish_home, str(event["user"]))

    def _publish_home(self, user_id: str) -> None:
        user = self.directory.user(user_id)
        try:
            cards = self.core.open_tickets_for(user)
            self.client.views_publish(user_id=user.id, view=home_view(self._language(user), cards))
        except (SlackClientError, OSError) as error:
            logger.error("cannot publish App Home for %s: %s", user.id, error)

    def _language(self, user: User) -> str:
        """The language of the adapter's own views for ``user`` (App Home, modals): their ``/helpdesk lang``
        choice, else their Slack locale, as the core's answers and cards."""
        try:
            return self.core.language_of(user)
        except Exception:
            logger.exception("the language of %s could not be read: the Slack locale is used", user.id)
            return language_from_locale(user.locale)

    def _on_usergroup_changed(self, event: dict[str, Any]) -> None:
        if event.get("subteam_id") == self.config.technician_usergroup:
            self._later(self.sync_usergroup)

    def _on_command(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if ev.slash_command_name(body) == "new":
            # The trigger id expires 3 seconds after the command: open the form now, not after a queue.
            user = self.directory.user(str(body.get("user_id") or ""))
            self._open_intake(str(body.get("trigger_id") or ""), user, ev.slash_command(body, user).place)
            return
        if ev.slash_command_name(body) == "call" and self._open_call(body):
            return
        self._later(self._handle_command, body, respond)

    def _handle_command(self, body: dict[str, Any], respond: Respond) -> None:
        user = self.directory.user(str(body.get("user_id") or ""))
        command = ev.slash_command(body, user)
        self._run(command, Origin(user.id, command.place, respond))

    def _on_button(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        self._later(self._handle_button, body, action, respond)

    def _handle_button(self, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        user = self.directory.user(str((body.get("user") or {}).get("id") or ""))
        press = ev.button_press(body, action, user)
        self._run(press, Origin(user.id, press.place, respond, str(body.get("trigger_id") or "") or None))

    def _on_open_intake(self, ack: Ack, body: dict[str, Any]) -> None:
        """The "Report a problem" shortcut, and the App Home button."""
        ack()
        user = self.directory.user(str((body.get("user") or {}).get("id") or ""))
        channel = str((body.get("channel") or {}).get("id") or "")
        self._open_intake(str(body.get("trigger_id") or ""), user, Place(ev.PLATFORM, channel))

    def _open_intake(self, trigger_id: str, user: User, place: Place) -> None:
        profile = self.directory.profile(user.id)
        language = self._language(user)
        view = intake_modal(
            language,
            ev.contact_prefill(profile, user),
            private_metadata={"locale": language, "channel": place.chat_id},
        )
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
        except (SlackClientError, OSError) as error:
            logger.error("cannot open the intake modal for %s: %s", user.id, error)

    def _on_intake_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = str((body.get("user") or {}).get("id") or "")
        metadata = _metadata(view)
        locale = metadata.get("locale") or self.directory.cached_locale(user_id)
        fields = ev.intake_fields(view)
        errors = ev.validate_intake(fields, locale)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack(response_action="update", view=notice_modal(locale, text_for(locale, "pending")))
        self._later(self._open_ticket_from_form, user_id, view, fields, metadata, locale)

    def _open_ticket_from_form(
        self, user_id: str, view: dict[str, Any], fields: dict[str, str], metadata: dict[str, str], locale: str | None
    ) -> None:
        view_id = str(view.get("id") or "")
        try:
            user = self.directory.user(user_id)
            dm = self.directory.dm_place(user_id)
            replies = self.core.open_ticket_from_form(user, dm, fields, event_id=ev.view_identity(view))
        except ValidationFailed as error:
            problem = explain_for_locale(error, locale)
            self._update_view(view_id, intake_modal(locale, fields, private_metadata=metadata, problem=problem))
            return
        except Exception:
            log_unexpected(f"the intake modal of slack:{user_id} could not become a ticket")
            problem = text_for(locale, "failed")
            self._update_view(view_id, intake_modal(locale, fields, private_metadata=metadata, problem=problem))
            return
        if not replies:
            return  # a second delivery of a submission already turned into a ticket
        self._deliver(replies, Origin(user_id, dm))
        summary = "\n\n".join(reply.message.text for reply in replies if reply.message.text)
        self._update_view(view_id, notice_modal(locale, summary, title_key="created_title"))

    def _open_call(self, body: dict[str, Any]) -> bool:
        """``/helpdesk call`` alone, typed by a technician: open the call modal at once (the trigger id
        lasts 3 seconds). False when the core should answer instead (arguments given, not a technician)."""
        if ev.slash_command(body, User(ev.PLATFORM, "")).args:
            return False
        user_id = str(body.get("user_id") or "")
        if not self.core.is_technician(f"{ev.PLATFORM}:{user_id}"):
            return False
        locale = self._language(self.directory.user(user_id))
        metadata = {"locale": locale, "channel": str(body.get("channel_id") or "")}
        try:
            self.client.views_open(
                trigger_id=str(body.get("trigger_id") or ""),
                view=call_modal(locale, {}, private_metadata=metadata),
            )
        except (SlackClientError, OSError) as error:
            logger.error("cannot open the call modal for %s: %s", user_id, error)
        return True

    def _on_call_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = str((body.get("user") or {}).get("id") or "")
        metadata = _metadata(view)
        locale = metadata.get("locale") or self.directory.cached_locale(user_id)
        caller, fields = ev.call_fields(view)
        errors = ev.validate_call(caller, fields, locale)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack(
            response_action="update",
            view=notice_modal(locale, text_for(locale, "call_pending"), title_key="call_title"),
        )
        self._later(self._log_call, user_id, view, caller, fields, metadata, locale)

    def _log_call(
        self,
        user_id: str,
        view: dict[str, Any],
        caller: dict[str, str],
        fields: dict[str, str],
        metadata: dict[str, str],
        locale: str | None,
    ) -> None:
        """The call modal → the caller's ticket; a refused value reopens the modal with the problem shown."""
        view_id = str(view.get("id") or "")
        prefill = {**fields, **{f"caller_{k}": v for k, v in caller.items()}}
        try:
            technician = self.directory.user(user_id)
            place = Place(ev.PLATFORM, metadata.get("channel") or self.directory.dm_place(user_id).chat_id)
            who = dict(caller)
            if who.get("user"):
                # A Slack caller: their profile's number and address complete what the technician left empty.
                slack_user = self.directory.user(who["user"])
                known = ev.contact_prefill(self.directory.profile(slack_user.id), slack_user)
                who["user"] = f"{ev.PLATFORM}:{slack_user.id}"
                who["chat"] = self.directory.dm_place(slack_user.id).chat_id
                who["name"] = who.get("name") or known["contact_name"]
                fields = {
                    **fields,
                    "contact_phone": who.get("phone") or known["contact_phone"],
                    "contact_email": who.get("email") or known["contact_email"],
                }
            replies = self.core.log_call_from_form(technician, place, who, fields, event_id=ev.view_identity(view))
        except HelpdeskError as error:
            problem = explain_for_locale(error, locale)
            self._update_view(view_id, call_modal(locale, prefill, private_metadata=metadata, problem=problem))
            return
        except Exception:
            log_unexpected(f"the call modal of slack:{user_id} could not become a ticket")
            problem = text_for(locale, "call_failed")
            self._update_view(view_id, call_modal(locale, prefill, private_metadata=metadata, problem=problem))
            return
        if not replies:
            return  # a second delivery of a submission already logged
        summary = "\n\n".join(reply.message.text for reply in replies if reply.message.text)
        self._update_view(view_id, notice_modal(locale, summary, title_key="call_done_title"))

    def _on_prompt_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The answer typed in a prompt modal goes to the core as a message at the original place."""
        metadata = _metadata(view)
        answer = ev.prompt_answer(view)
        if not answer:
            ack(
                response_action="errors",
                errors={"answer": text_for(metadata.get("locale"), "err.answer_required")},
            )
            return
        ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        self._later(self._answer_prompt, user_id, metadata, answer, ev.view_identity(view))

    def _answer_prompt(self, user_id: str, metadata: dict[str, str], answer: str, event_id: str) -> None:
        user = self.directory.user(user_id)
        place = Place(ev.PLATFORM, metadata.get("channel", ""), metadata.get("thread") or None)
        self._run(TextMessage(user, place, answer, event_id=event_id), Origin(user.id, place))

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        logger.error("unhandled error in a Slack listener (%s): %r", body.get("type"), error)

    # -- helpers ------------------------------------------------------------------------------

    def _later(self, work: Callable[..., object], *args: Any) -> None:
        """Run ``work(*args)`` in the worker pool, after Slack has been acknowledged (at once, ``inline``)."""
        if self._inline:
            self._guarded(work, *args)
            return
        self.workers.submit(self._guarded, work, *args)

    @staticmethod
    def _guarded(work: Callable[..., object], *args: Any) -> None:
        try:
            work(*args)
        except Exception:
            logger.exception("Slack work %s failed", getattr(work, "__name__", work))

    def _run(self, event: Event, origin: Origin) -> None:
        """Hand ``event`` to the core and show its replies (the port never raises for an event: a
        failure comes back as a polite reply or the apology, see :mod:`bot.error_policy`)."""
        self._deliver(self.core.handle(event), origin)

    def _deliver(self, replies: Sequence[Reply], origin: Origin) -> None:
        for reply in replies:
            rendered = render_message(reply.message)
            place = reply.place
            here = place.chat_id == origin.place.chat_id
            # A question after a button in a channel (resolve, wait): the answer is typed in a modal,
            # not in the channel, where the bot does not read messages.
            in_channel = here and not place.chat_id.startswith("D")
            if reply.message.expects_text and origin.trigger_id and in_channel and self._open_prompt(reply, origin):
                continue
            # The answer to a command or a button in a shared channel (a technician's "You took #2.",
            # a requester's /ticket N) is for the sender only; a report with charts stays public,
            # as an ephemeral message cannot carry files.
            private = reply.message.ephemeral or (in_channel and not rendered.file_uploads)
            try:
                if private:
                    if rendered.file_uploads:
                        logger.warning("an ephemeral reply to %s cannot carry images: left out", origin.user_id)
                    if origin.respond is not None and here:
                        origin.respond(
                            text=rendered.text,
                            blocks=rendered.blocks,
                            response_type="ephemeral",
                            replace_original=False,
                        )
                    else:
                        self.client.chat_postEphemeral(
                            channel=place.chat_id,
                            user=origin.user_id,
                            text=rendered.text,
                            blocks=rendered.blocks,
                            thread_ts=place.thread_id,
                        )
                    continue
                try:
                    posted = self.client.chat_postMessage(
                        channel=place.chat_id,
                        text=rendered.text,
                        blocks=rendered.blocks,
                        thread_ts=place.thread_id,
                        unfurl_links=False,
                        unfurl_media=False,
                    )
                except SlackApiError as error:
                    # A slash command in a channel the bot has not joined: answer the user privately.
                    if (
                        origin.respond is None
                        or not here
                        or error.response.get("error") not in ("not_in_channel", "channel_not_found")
                    ):
                        raise
                    origin.respond(
                        text=rendered.text,
                        blocks=rendered.blocks,
                        response_type="ephemeral",
                        replace_original=False,
                    )
                    if rendered.file_uploads:
                        logger.warning(
                            "%d image(s) for %s not uploaded: the bot is not in channel %s",
                            len(rendered.file_uploads),
                            origin.user_id,
                            place.chat_id,
                        )
                    continue
            except (SlackClientError, OSError) as error:
                logger.error("a reply to %s in %s was not delivered: %s", origin.user_id, place.chat_id, error)
                continue
            if rendered.file_uploads:
                channel = str(posted.get("channel") or place.chat_id)
                self._upload(rendered, Place(place.platform, channel, place.thread_id), origin)

    def _upload(self, rendered: RenderedMessage, place: Place, origin: Origin) -> None:
        """Upload a reply's images next to its text (one files_upload_v2 call); a failure is only logged."""
        names = ", ".join(str(item["filename"]) for item in rendered.file_uploads)
        try:
            self.client.files_upload_v2(
                channel=place.chat_id, thread_ts=place.thread_id, file_uploads=rendered.file_uploads
            )
        except (SlackClientError, OSError) as error:
            logger.error(
                "images of a reply to %s were not uploaded to %s (thread %s; %s): %s",
                origin.user_id,
                place.chat_id,
                place.thread_id,
                names,
                error,
            )

    def _open_prompt(self, reply: Reply, origin: Origin) -> bool:
        locale = self.directory.cached_locale(origin.user_id)
        metadata = {
            "channel": reply.place.chat_id,
            "thread": reply.place.thread_id or "",
            "locale": locale or "",
        }
        try:
            self.client.views_open(
                trigger_id=origin.trigger_id or "", view=prompt_modal(locale, reply.message.text, metadata)
            )
        except (SlackClientError, OSError) as error:
            logger.warning("cannot open a prompt modal for %s (%s): asking in the channel", origin.user_id, error)
            return False
        return True

    def _update_view(self, view_id: str, view: dict[str, Any]) -> None:
        try:
            self.client.views_update(view_id=view_id, view=view)
        except (SlackClientError, OSError) as error:
            logger.error("cannot update view %s: %s", view_id, error)


def _metadata(view: Mapping[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class _Server(ThreadingHTTPServer):
    # The stdlib default backlog (5) resets connections under a burst of concurrent requests.
    request_queue_size = 256
    daemon_threads = True


class SlackHTTPServer:
    """HTTP mode: serves bolt on ``POST /slack/events`` (and ``GET /healthz``) with the stdlib.

    Bolt checks the signature and timestamp of every request (401 otherwise). The
    response goes out as soon as the listener acknowledges; processing continues in the
    adapter's worker pool. Several processes can run behind a load balancer.
    """

    def __init__(
        self,
        bolt: App,
        host: str,
        port: int,
        path: str = EVENTS_PATH,
        *,
        front: Callable[[str, Mapping[str, Sequence[str]]], int | None] | None = None,
    ) -> None:
        """``front`` sees each request first (body, lower-case headers): a status it returns is
        answered with an empty body, ``None`` hands the request to bolt (see :class:`QueueFront`)."""
        self._bolt = bolt
        self._path = path
        self._front = front
        self._server = _Server((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound (``http_port = 0`` picks a free one)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="slack-http", daemon=True)
        self._thread.start()

    def serving(self) -> bool:
        """Whether the serving thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        bolt, path, front = self._bolt, self._path, self._front

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if urlsplit(self.path).path == "/healthz":
                    self._reply(200, {"content-type": ["text/plain"]}, "ok")
                else:
                    self._reply(404, {}, "not found")

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                if url.path != path:
                    self._reply(404, {}, "not found")
                    return
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    self._reply(413, {}, "too large")
                    return
                body = self.rfile.read(length).decode("utf-8")
                headers: dict[str, str | Sequence[str]] = {}
                for key in self.headers:
                    headers[key.lower()] = self.headers.get_all(key) or []
                status = front(body, headers) if front is not None else None
                if status is not None:
                    self._reply(status, {}, "")
                    return
                response = bolt.dispatch(BoltRequest(body=body, query=url.query, headers=headers))
                self._reply(response.status, response.headers, response.body)

            def _reply(self, status: int, headers: Mapping[str, Sequence[str]], body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                for key, values in headers.items():
                    if key.lower() == "content-length":
                        continue
                    for value in values:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("slack http: " + format, *args)

        return Handler


@runtime_checkable
class QueueHost(Protocol):
    """What ``queue_workers`` needs beyond the port: the database (for the inbound queue) and the
    configuration file (handed to the worker processes)."""

    @property
    def engine(self) -> Engine:
        """The bot's database."""
        ...

    @property
    def config(self) -> Config:
        """The configuration the application runs with."""
        ...


def build_slack_adapter(app: AdapterHost, config: SlackConfig, *, worker: bool = False) -> SlackAdapter:
    """Create the adapter for a bootstrapped application.

    Grants the configured technicians and team leads (and the user group's members),
    declares the triage channel as the place for new-ticket cards and registers the
    messenger with the outbox. With ``queue_workers`` (HTTP mode) the adapter records requests
    in the inbound queue and starts the worker processes; ``worker`` builds a worker's adapter.
    """
    queue = None
    command = None
    if config.mode == "http" and config.queue_workers:
        if not isinstance(app, QueueHost):
            raise ConfigError(detail="[slack] queue_workers needs the bot's database and configuration file")
        queue = InboundQueue.for_database(app.engine, lease_seconds=config.queue_lease_seconds)
        if not worker:
            source = app.config.source
            if source is None:
                raise ConfigError(detail="[slack] queue_workers needs the configuration in a file (--config bot.toml)")
            command = [sys.executable, "-c", "from bot.cli import entry; entry()", "--config", str(source.resolve())]
            command.append("slack-worker")
    adapter = SlackAdapter(app, config, grant_role=app.grant_role, queue=queue, worker_command=command, inline=worker)
    for user_id in config.technicians:
        app.grant_role(f"{ev.PLATFORM}:{user_id}", "technician")
    for user_id in config.team_leads:
        app.grant_role(f"{ev.PLATFORM}:{user_id}", "team_lead")
    adapter.sync_usergroup()
    if config.triage_channel:
        app.add_technician_place(Place(ev.PLATFORM, config.triage_channel))
    app.register_messenger(adapter.messenger)
    app.deliver_directly(ev.PLATFORM, direct_reply)
    return adapter
