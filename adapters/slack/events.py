"""Slack payloads → core events: the ONE place where Slack's payload shapes are read.

Nothing here calls Slack: the functions take the JSON bodies Slack sends (Events API,
slash commands, block actions, view submissions) plus the sender's profile, and return
the port's :class:`~bot.port.TextMessage`, :class:`~bot.port.SlashCommand` or
:class:`~bot.port.ButtonPress`, or the intake form of the "Report a problem" modal.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from adapters.slack.render import (
    CALL_FIELDS,
    CALLER_FIELDS,
    IMPACT_CODES,
    INTAKE_FIELDS,
    PROMPT_FIELD,
    URGENCY_CODES,
    text_for,
)
from bot.port import Attachment, ButtonPress, Place, SlashCommand, TextMessage, User

PLATFORM = "slack"

Payload = Mapping[str, Any]

ACCEPTED_MESSAGE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Message subtypes typed by a person; deletions, joins and bot posts are ignored, and edits
(``message_changed``) are read apart (:func:`edited_message`)."""

_ANGLE = re.compile(r"<([^<>]*)>")


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_text_to_plain(text: str, *, mentions_as_ids: bool = False) -> str:
    """Slack's wire format (``<@U1|bob>``, ``<https://x|label>``, ``&amp;``) → the plain text the user saw.

    With ``mentions_as_ids`` a user mention becomes the bare id (``U1``), as command
    arguments need (``/helpdesk assign 42 @bob`` → ``assign 42 U1``); otherwise ``@bob``.
    """

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            if mentions_as_ids:
                return target[1:]
            return f"@{label or target[1:]}"
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("!"):
            keyword = target[1:].split("^")[0]
            return label if label else f"@{keyword}"
        if target.startswith("mailto:"):
            return label or target[len("mailto:") :]
        if label and label != target:
            return f"{label} ({target})"
        return target

    return _unescape(_ANGLE.sub(replace, text))


def strip_leading_mention(text: str, bot_user_id: str | None) -> str:
    """``"<@B1> my printer"`` → ``"my printer"`` (only the bot's own mention at the start)."""
    if bot_user_id:
        text = re.sub(rf"^\s*<@{re.escape(bot_user_id)}(\|[^>]*)?>[\s,:]*", "", text)
    return text.strip()


def user_from_profile(user_id: str, info: Payload | None) -> User:
    """A port :class:`User` from a ``users.info`` ``user`` object (``None``: only the id is known)."""
    if not info:
        return User(PLATFORM, user_id)
    profile: Payload = info.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or info.get("real_name") or info.get("name") or ""
    return User(
        platform=PLATFORM,
        id=user_id,
        display_name=str(name),
        locale=info.get("locale") or None,
        email=profile.get("email") or None,
        phone=profile.get("phone") or None,
    )


def contact_prefill(info: Payload | None, user: User) -> dict[str, str]:
    """The intake modal's contact fields, from the profile (real name rather than display name)."""
    profile: Payload = (info or {}).get("profile") or {}
    return {
        "contact_name": str(profile.get("real_name") or (info or {}).get("real_name") or user.display_name),
        "contact_phone": user.phone or "",
        "contact_email": user.email or "",
    }


def is_person_message(event: Payload, bot_user_id: str | None = None) -> bool:
    """True for a message typed by a person (not a bot, not an edit or a deletion)."""
    if event.get("type") != "message" or event.get("bot_id") or event.get("hidden"):
        return False
    if event.get("subtype") not in ACCEPTED_MESSAGE_SUBTYPES:
        return False
    user = event.get("user")
    return bool(user) and user != bot_user_id


def is_direct_message(event: Payload) -> bool:
    """True for a message in a DM with the bot (``channel_type`` ``im``)."""
    return event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D")


def attachments_from_files(files: Any) -> tuple[Attachment, ...]:
    """Shared files → attachment references (file id and permalink, never the bytes)."""
    if not isinstance(files, list):
        return ()
    result = []
    for item in files:
        if not isinstance(item, Mapping) or not item.get("id"):
            continue
        mime = str(item.get("mimetype") or "")
        result.append(
            Attachment(
                kind="image" if mime.startswith("image/") else "file",
                ref=str(item["id"]),
                name=str(item.get("name") or item.get("title") or ""),
                url=str(item.get("permalink") or item.get("url_private") or ""),
                mime_type=mime,
            )
        )
    return tuple(result)


def message_place(event: Payload) -> Place:
    """Where a message lives: its channel, and its thread when it is a reply in one."""
    return Place(PLATFORM, str(event.get("channel", "")), event.get("thread_ts") or None)


def event_identity(body: Payload, event: Payload) -> str:
    """The identity of an Events API delivery of a message.

    A message is identified by its channel and ``ts`` (``message:<channel>:<ts>``): the same on
    every retry (``X-Slack-Retry-Num``), and also when Slack delivers one message under two
    event ids (a ``message.im`` and an ``app_mention`` of the same DM). Without a ``ts`` the
    ``event_id`` identifies it (``event:<event_id>``).
    """
    if event.get("ts") and event.get("channel"):
        return f"message:{event.get('channel')}:{event.get('ts')}"
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    return ""


def view_identity(view: Payload) -> str:
    """The identity of a modal submission: ``view:<view id>:<hash>``."""
    return f"view:{view.get('id')}:{view.get('hash')}" if view.get("id") else ""


def text_message(
    event: Payload,
    user: User,
    place: Place | None = None,
    *,
    bot_user_id: str | None = None,
    event_id: str = "",
) -> TextMessage:
    """A ``message`` or ``app_mention`` event → :class:`TextMessage` (the bot's own mention removed)."""
    raw = strip_leading_mention(str(event.get("text") or ""), bot_user_id)
    return TextMessage(
        user=user,
        place=place or message_place(event),
        text=slack_text_to_plain(raw).strip(),
        attachments=attachments_from_files(event.get("files")),
        event_id=event_id,
        message_id=str(event.get("ts") or "") or None,
    )


def edited_message(event: Payload, bot_user_id: str | None = None) -> Payload | None:
    """The new version of a person's message from a ``message_changed`` event, with its channel; ``None``
    when there is nothing a person changed: a bot's message, a link preview Slack added (same text), a
    deletion, an event without the message."""
    if event.get("type") != "message" or event.get("subtype") != "message_changed":
        return None
    inner = event.get("message")
    if not isinstance(inner, Mapping):
        return None
    user = inner.get("user")
    if not user or user == bot_user_id or inner.get("bot_id") or inner.get("subtype") not in ACCEPTED_MESSAGE_SUBTYPES:
        return None
    previous = event.get("previous_message")
    if isinstance(previous, Mapping) and previous.get("text") == inner.get("text"):
        return None  # an unfurl or an attachment change: the words are the same
    return {**inner, "channel": event.get("channel"), "channel_type": event.get("channel_type")}


def edit_identity(event: Payload, edited: Payload) -> str:
    """The identity of one edit (``edit:<channel>:<ts>:<edit ts>``): the same on every redelivery, different
    for the next edit of the same message."""
    when = (edited.get("edited") or {}).get("ts") or event.get("event_ts") or event.get("ts") or ""
    return f"edit:{edited.get('channel')}:{edited.get('ts')}:{when}"


def edited_text_message(
    edited: Payload, user: User, *, bot_user_id: str | None = None, event_id: str = ""
) -> TextMessage:
    """An edited message (from :func:`edited_message`) → a :class:`TextMessage` marked ``edited`` that names
    the original message (its ``ts``): the core applies it while the answer is unused, else says so."""
    message = text_message(edited, user, bot_user_id=bot_user_id, event_id=event_id)
    return dataclasses.replace(message, edited=True)


def parse_command_text(text: str) -> tuple[str, str]:
    """``"claim 42"`` → ``("claim", "42")``; empty → ``("help", "")``; the name is lower-cased."""
    words = text.strip().split(maxsplit=1)
    if not words:
        return "help", ""
    name = words[0].lower().lstrip("/")
    args = words[1].strip() if len(words) > 1 else ""
    return name, args


def slash_command_name(body: Payload) -> str:
    """The subcommand of a slash command body (``/helpdesk claim 42`` → ``"claim"``), without a user lookup."""
    return parse_command_text(slack_text_to_plain(str(body.get("text") or ""), mentions_as_ids=True))[0]


def slash_command(body: Payload, user: User) -> SlashCommand:
    """``/helpdesk assign 42 <@U2|eve>`` → ``SlashCommand(name="assign", args="42 U2")``."""
    name, args = parse_command_text(slack_text_to_plain(str(body.get("text") or ""), mentions_as_ids=True))
    trigger = str(body.get("trigger_id") or "")
    return SlashCommand(
        user=user,
        place=Place(PLATFORM, str(body.get("channel_id") or "")),
        name=name,
        args=args,
        event_id=f"command:{trigger}" if trigger else "",
    )


def button_press(body: Payload, action: Payload, user: User) -> ButtonPress:
    """A ``block_actions`` press on a core button → :class:`ButtonPress` with the button's value."""
    container: Payload = body.get("container") or {}
    message: Payload = body.get("message") or {}
    channel: Payload = body.get("channel") or {}
    chat_id = str(channel.get("id") or container.get("channel_id") or "")
    thread = container.get("thread_ts") or message.get("thread_ts") or None
    trigger = str(body.get("trigger_id") or "")
    if trigger:
        identity = f"action:{trigger}"
    elif action.get("action_ts"):
        identity = f"action:{chat_id}:{action.get('action_id')}:{action.get('action_ts')}"
    else:
        identity = ""
    return ButtonPress(
        user=user,
        place=Place(PLATFORM, chat_id, thread),
        value=str(action.get("value") or ""),
        message_id=container.get("message_ts") or message.get("ts") or None,
        event_id=identity,
    )


def intake_fields(view: Payload) -> dict[str, str]:
    """The submitted intake modal → ``{field: value}`` for each of :data:`INTAKE_FIELDS` ('' if empty)."""
    return _view_values(view, INTAKE_FIELDS)


def call_fields(view: Payload) -> tuple[dict[str, str], dict[str, str]]:
    """The submitted call modal → (who called, the intake's fields).

    Who called is ``{"user": "U…", "email": …, "name": …, "phone": …}`` ('' where empty); the
    intake's fields are those of :func:`intake_fields` without the contact ones.
    """
    values = _view_values(view, CALL_FIELDS)
    caller = {name.removeprefix("caller_"): values.pop(name) for name in CALLER_FIELDS}
    return caller, values


def _view_values(view: Payload, names: tuple[str, ...]) -> dict[str, str]:
    """``view.state.values`` → ``{block_id: value}`` for ``names``: selects give the chosen value or user."""
    values: Payload = (view.get("state") or {}).get("values") or {}
    fields = dict.fromkeys(names, "")
    for block_id, actions in values.items():
        if block_id not in fields or not isinstance(actions, Mapping):
            continue
        for state in actions.values():
            if not isinstance(state, Mapping):
                continue
            if state.get("type") == "static_select":
                option = state.get("selected_option") or {}
                fields[block_id] = str(option.get("value") or "")
            elif state.get("type") == "users_select":
                fields[block_id] = str(state.get("selected_user") or "")
            else:
                fields[block_id] = str(state.get("value") or "").strip()
    return fields


def prompt_answer(view: Payload) -> str:
    """The text typed in a prompt modal (see :func:`adapters.slack.render.prompt_modal`), stripped."""
    values: Payload = (view.get("state") or {}).get("values") or {}
    state: Payload = (values.get(PROMPT_FIELD) or {}).get(PROMPT_FIELD) or {}
    return str(state.get("value") or "").strip()


_LIMITS = {
    "title": 200,
    "description": 3000,
    "error_message": 3000,
    "url": 2000,
    "started": 200,
    "contact_name": 200,
}


def validate_intake(fields: Mapping[str, str], locale: str | None) -> dict[str, str]:
    """Slack-side checks of the intake modal: ``{block_id: message}``, empty when everything is valid.

    Slack shows each message under its field (``response_action: "errors"``); nothing typed is lost.
    """
    errors: dict[str, str] = {}
    if not fields.get("title", "").strip():
        errors["title"] = text_for(locale, "err.title_required")
    for field, limit in _LIMITS.items():
        if field not in errors and len(fields.get(field, "")) > limit:
            errors[field] = text_for(locale, "err.too_long", limit=limit)
    url = fields.get("url", "")
    if url and "url" not in errors:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in url:
            errors["url"] = text_for(locale, "err.url")
    for field in ("contact_email", "caller_email"):
        if fields.get(field) and not _valid_email(fields[field]):
            errors[field] = text_for(locale, "err.email")
    for field in ("contact_phone", "caller_phone"):
        if fields.get(field) and not _valid_phone(fields[field]):
            errors[field] = text_for(locale, "err.phone")
    if fields.get("impact") and fields["impact"] not in IMPACT_CODES:
        errors["impact"] = text_for(locale, "err.choice")
    if fields.get("urgency") and fields["urgency"] not in URGENCY_CODES:
        errors["urgency"] = text_for(locale, "err.choice")
    return errors


def validate_call(caller: Mapping[str, str], fields: Mapping[str, str], locale: str | None) -> dict[str, str]:
    """Slack-side checks of the call modal: who called (a user, else an address, else a name and a
    number), then the intake's fields as in :func:`validate_intake`; ``{block_id: message}``."""
    errors = validate_intake({**fields, **{f"caller_{k}": v for k, v in caller.items()}}, locale)
    if not (caller.get("user") or caller.get("email")):
        if caller.get("phone") and not caller.get("name"):
            errors.setdefault("caller_name", text_for(locale, "err.caller_name"))
        elif caller.get("name") and not caller.get("phone"):
            errors.setdefault("caller_phone", text_for(locale, "err.caller_phone"))
        elif not caller.get("phone"):
            errors["caller_user"] = text_for(locale, "err.caller")
    if len(caller.get("name", "")) > 200:
        errors.setdefault("caller_name", text_for(locale, "err.too_long", limit=200))
    return errors


def _valid_email(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _valid_phone(number: str) -> bool:
    try:
        return bool(phonenumbers.is_possible_number(phonenumbers.parse(number, "BE")))
    except phonenumbers.NumberParseException:
        return False
