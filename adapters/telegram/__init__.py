"""Telegram adapter: the helpdesk in Telegram, via python-telegram-bot v22.

``ADAPTER`` is what ``helpdesk-bot run`` discovers (see :mod:`bot.plugins`): it
validates the ``[telegram]`` section with :class:`TelegramConfig` and builds a
:class:`TelegramAdapter` that grants the configured technicians and team leads their
roles, registers the technicians' chat for new-ticket cards and registers the
adapter's :class:`~bot.port.Messenger` with the outbox. Long button values
(:class:`~bot.db.callbacks.CallbackDataStore`), the ticket → forum topic map and the ForceReply prompts
(:class:`~.messenger.ChatFacts`) are kept in the database, shared by every bot process and kept across restarts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.db.callbacks import CallbackDataStore
from bot.plugins import AdapterSpec
from bot.port import Place

from .app import TelegramAdapter, direct_reply
from .config import TelegramConfig
from .events import PLATFORM
from .messenger import ChatFacts

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

__all__ = ["ADAPTER", "TelegramAdapter", "TelegramConfig", "build_telegram_adapter"]


def build_telegram_adapter(app: HelpdeskApp, config: TelegramConfig) -> TelegramAdapter:
    """Wire a Telegram adapter into a bootstrapped application (not started yet).

    Events go through ``app.handle`` (the core, then a wake-up of the outbox dispatcher,
    so the notifications an event caused leave at once).
    """
    for user_id in config.technicians:
        app.grant_role(f"{PLATFORM}:{user_id}", "technician")
    for user_id in config.team_leads:
        app.grant_role(f"{PLATFORM}:{user_id}", "team_lead")
    adapter = TelegramAdapter(config, app, callback_store=CallbackDataStore(app.uow, app.clock))
    adapter.registry.attach(ChatFacts(app.uow, app.clock))  # topics and prompts survive restarts
    if config.technicians_chat is not None:
        app.add_technician_place(Place(PLATFORM, str(config.technicians_chat)))
    app.register_messenger(adapter.messenger)
    app.deliver_directly(PLATFORM, direct_reply)
    return adapter


ADAPTER = AdapterSpec(name=PLATFORM, config_model=TelegramConfig, build=build_telegram_adapter)
