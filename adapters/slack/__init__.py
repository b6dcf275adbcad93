"""Slack adapter: requesters and technicians use the helpdesk from Slack.

Exposes :data:`ADAPTER` for ``helpdesk-bot run`` (entry point ``helpdesk_bot.adapters``):
the ``[slack]`` section is validated with :class:`SlackConfig` and
:func:`build_slack_adapter` creates the running adapter (Socket Mode or HTTP mode).
The Slack app itself is created from ``manifest.yaml`` in this package.
"""

from __future__ import annotations

from adapters.slack.app import SlackAdapter, build_slack_adapter
from adapters.slack.config import SlackConfig
from adapters.slack.messenger import SlackMessenger
from bot.plugins import AdapterSpec

ADAPTER = AdapterSpec(name="slack", config_model=SlackConfig, build=build_slack_adapter)

__all__ = ["ADAPTER", "SlackAdapter", "SlackConfig", "SlackMessenger", "build_slack_adapter"]
