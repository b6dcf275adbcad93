"""Slack request payloads for the tests, built on real shapes and signed like Slack signs them.

The shapes are copied from Slack's own SDK test suites (slackapi/bolt-python
``tests/scenario_tests``: ``message_body``, ``app_mention_event_body``, ``slash_command_body``,
``block_actions`` ``body``, ``view_submission`` ``body``; MIT, Slack Technologies, LLC),
with the values the tests need substituted in.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "secret"

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def signed_headers(
    body: str, content_type: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Headers of a request signed with ``secret`` (v0 HMAC-SHA256), as bolt-python's tests build them."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = str(SignatureVerifier(secret).generate_signature(body=body, timestamp=ts))
    return {"content-type": content_type, "x-slack-signature": signature, "x-slack-request-timestamp": ts}


def event_body(event: dict[str, Any], *, event_id: str = "Ev111") -> str:
    """An ``event_callback`` envelope (shape of bolt-python's ``message_body``)."""
    return json.dumps(
        {
            "token": "verification_token",
            "team_id": "T111",
            "enterprise_id": "E111",
            "api_app_id": "A111",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1596183880,
            "authed_users": ["W111"],
        }
    )


def dm_message(
    text: str,
    *,
    user: str = "U111",
    channel: str = "D111",
    ts: str = "1596183880.004200",
    thread_ts: str | None = None,
    subtype: str | None = None,
    files: list[dict[str, Any]] | None = None,
    bot_id: str | None = None,
) -> dict[str, Any]:
    """A ``message`` event in a DM (``channel_type: im``), with rich_text blocks like Slack sends."""
    event: dict[str, Any] = {
        "client_msg_id": f"msg-{ts}",
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": "T111",
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "ezJ",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ],
        "channel": channel,
        "event_ts": ts,
        "channel_type": "im",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if subtype:
        event["subtype"] = subtype
    if files is not None:
        event["files"] = files
    if bot_id:
        event["bot_id"] = bot_id
    return event


def app_mention(
    text: str, *, user: str = "U111", channel: str = "C111", ts: str = "1595926230.009600"
) -> dict[str, Any]:
    """An ``app_mention`` event (shape of bolt-python's ``app_mention_event_body``)."""
    return {
        "client_msg_id": "9cbd4c5b-7ddf-4ede-b479-ad21fca66d63",
        "type": "app_mention",
        "text": text,
        "user": user,
        "ts": ts,
        "team": "T111",
        "channel": channel,
        "event_ts": ts,
    }


def fresh_trigger_id() -> str:
    """A trigger id like Slack's, different for every interaction (the core's event identity uses it)."""
    return f"{next(_TRIGGERS)}.111.{uuid.uuid4().hex[:12]}"


_TRIGGERS = itertools.count(1000)


def slash_command(
    text: str,
    *,
    response_url: str,
    user: str = "U111",
    channel: str = "C111",
    command: str = "/helpdesk",
    trigger_id: str | None = None,
) -> str:
    """The form-encoded body of a slash command (fields of bolt-python's ``slash_command_body``)."""
    return urlencode(
        {
            "token": "verification_token",
            "team_id": "T111",
            "team_domain": "test-domain",
            "channel_id": channel,
            "channel_name": "random",
            "user_id": user,
            "user_name": "primary-owner",
            "command": command,
            "text": text,
            "enterprise_id": "E111",
            "enterprise_name": "Org Name",
            "response_url": response_url,
            "trigger_id": trigger_id or fresh_trigger_id(),
        }
    )


def block_actions(
    value: str,
    *,
    response_url: str,
    action_id: str = "hd_btn_0",
    user: str = "U111",
    channel: str = "C111",
    message_ts: str = "111.222",
    thread_ts: str | None = None,
    trigger_id: str | None = None,
) -> str:
    """``payload=<json>`` of a button press (shape of bolt-python's ``block_actions`` body)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "primary-owner", "name": "primary-owner", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or fresh_trigger_id(),
        "team": {
            "id": "T111",
            "domain": "workspace-domain",
            "enterprise_id": "E111",
            "enterprise_name": "Sandbox Org",
        },
        "channel": {"id": channel, "name": "test-channel"},
        "message": {"type": "message", "ts": message_ts, "text": "card"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "hd_actions_0",
                "text": {"type": "plain_text", "text": "Button", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": "1596530385.194939",
            }
        ],
    }
    if thread_ts:
        payload["container"]["thread_ts"] = thread_ts
        payload["message"]["thread_ts"] = thread_ts
    return "payload=" + quote(json.dumps(payload))


def shortcut(callback_id: str = "report_problem", *, user: str = "U111") -> str:
    """``payload=<json>`` of a global shortcut (shape of the bolt-python Socket Mode shortcut payload)."""
    payload = {
        "type": "shortcut",
        "token": "xxx",
        "action_ts": "1610198080.300836",
        "team": {"id": "T111", "domain": "seratch"},
        "user": {"id": user, "username": "seratch", "team_id": "T111"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": "111.222.xxx",
    }
    return "payload=" + quote(json.dumps(payload))


def state_values(fields: dict[str, str]) -> dict[str, Any]:
    """``view.state.values`` for the intake and call modals (selects for impact and urgency, a users_select
    for the caller, text inputs otherwise)."""
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name in ("impact", "urgency"):
            option = {"text": {"type": "plain_text", "text": value}, "value": value} if value else None
            values[name] = {name: {"type": "static_select", "selected_option": option}}
        elif name == "caller_user":
            values[name] = {name: {"type": "users_select", "selected_user": value or None}}
        else:
            values[name] = {name: {"type": "plain_text_input", "value": value or None}}
    return values


def view_submission(
    fields: dict[str, str],
    *,
    user: str = "U111",
    callback_id: str = "hd_intake",
    private_metadata: str = '{"locale": "en-US", "channel": "C111"}',
    view_id: str = "V111",
    view_hash: str | None = None,
) -> str:
    """``payload=<json>`` of a modal submission (shape of bolt-python's ``view_submission`` body).

    Slack gives every state of a view a new ``hash``: by default each submission gets its own.
    """
    payload = {
        "type": "view_submission",
        "team": {
            "id": "T111",
            "domain": "workspace-domain",
            "enterprise_id": "E111",
            "enterprise_name": "Sandbox Org",
        },
        "user": {"id": user, "username": "primary-owner", "name": "primary-owner", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "verification_token",
        "trigger_id": fresh_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": "T111",
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state_values(fields)},
            "hash": view_hash or f"1596530361.{uuid.uuid4().hex[:8]}",
            "title": {"type": "plain_text", "text": "My App"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": "A111",
            "external_id": "",
            "app_installed_team_id": "T111",
            "bot_id": "B111",
        },
        "response_urls": [],
    }
    return "payload=" + quote(json.dumps(payload))


def url_verification() -> str:
    """The Events API URL check (bolt-python's ``test_events_url_verification``)."""
    return json.dumps(
        {
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
