"""The pipeline's unit tests, on the in-memory unit of work (tests/in_memory_uow.py): no database at all.

What they pin down is the pipeline's contract with its unit of work (bot/unit_of_work.py): one commit per
event, a duplicate delivery commits and answers nothing, a domain error keeps the event recorded but none of
its changes, an unexpected error records nothing (a redelivery runs afresh), replies go to the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from in_memory_uow import InMemoryUnitOfWorkFactory

from bot.clock import FrozenClock
from bot.config import BotSection, Config
from bot.core import HelpdeskCore
from bot.notifications import Notifier
from bot.port import Place, Reply, SlashCommand, TextMessage, User
from bot.roles import RoleDirectory
from bot.tickets import TicketService

ANNA = User("console", "anna", "Anna", "en")
DM = Place("console", "dm:anna")
PROBLEM = "My screen stays black after the update"


class NoKnowledge:
    """A knowledge base without articles."""

    def search(self, query: str, *, limit: int = 3, explain: bool = False, lang: str | None = None) -> list[Any]:
        return []

    def rank(self, query: str, *, limit: int = 3) -> list[Any]:
        return []

    def get(self, article_id: str) -> object | None:
        return None


@pytest.fixture
def uow() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def core(uow: InMemoryUnitOfWorkFactory) -> HelpdeskCore:
    clock = FrozenClock(datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    config = Config(bot=BotSection(language="en"))
    roles = RoleDirectory()
    tickets = TicketService(uow, clock, roles, Notifier(clock, lambda ticket: [], "en"))
    knowledge = NoKnowledge()
    return HelpdeskCore(config=config, uow=uow, clock=clock, roles=roles, tickets=tickets, knowledge=lambda: knowledge)


def to_outbox(event: object, reply: Reply) -> bool:
    return False


def test_a_message_is_one_commit_and_its_replies_are_queued(core: HelpdeskCore, uow: InMemoryUnitOfWorkFactory) -> None:
    outcome = core.process(TextMessage(ANNA, DM, PROBLEM, event_id="line:1"), to_outbox)
    [event] = uow.events
    assert event.commits == 1
    assert outcome.direct == () and len(outcome.queued) == 2  # the intake's introduction and first question
    stored = uow.committed
    assert [entry.payload["text"] for entry in stored.outbox][1].startswith("Proposed title")
    assert stored.conversations[("console", "dm:anna", "anna")].state == "intake:title"
    assert ("console", "line:1") in stored.processed


def test_a_duplicate_delivery_commits_and_answers_nothing(core: HelpdeskCore, uow: InMemoryUnitOfWorkFactory) -> None:
    event = TextMessage(ANNA, DM, PROBLEM, event_id="line:2")
    core.process(event, to_outbox)
    again = core.process(event, to_outbox)
    assert again.duplicate and again.queued == () and again.direct == ()
    assert uow.events[-1].commits == 0
    assert len(uow.committed.outbox) == 2


def test_a_domain_error_keeps_the_event_recorded_and_none_of_its_changes(
    core: HelpdeskCore, uow: InMemoryUnitOfWorkFactory
) -> None:
    core.handle(TextMessage(ANNA, DM, PROBLEM, event_id="line:3"))
    [reply] = core.handle(SlashCommand(ANNA, DM, "ticket", "nothing", event_id="line:4"))[:1]
    assert "Usage: /ticket N" in reply.message.text
    assert ("console", "line:4") in uow.committed.processed
    assert uow.committed.conversations[("console", "dm:anna", "anna")].state == "intake:title"
    assert core.handle(SlashCommand(ANNA, DM, "ticket", "nothing", event_id="line:4")) == []


def test_an_unexpected_error_records_nothing_so_a_redelivery_runs_afresh(
    core: HelpdeskCore, uow: InMemoryUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise KeyError("boom")

    event = TextMessage(ANNA, DM, PROBLEM, event_id="line:5")
    monkeypatch.setattr(core, "_text", broken)
    [apology] = core.handle(event)
    assert apology.message.text.startswith("Sorry, something went wrong on my side.")
    assert ("console", "line:5") not in uow.committed.processed
    row = uow.committed.conversations.get(("console", "dm:anna", "anna"))
    assert row is None or row.state == "idle"
    monkeypatch.undo()
    assert any("Proposed title" in reply.message.text for reply in core.handle(event))


def test_the_language_chosen_with_lang_answers_the_next_event(core: HelpdeskCore) -> None:
    core.handle(SlashCommand(ANNA, DM, "lang", "nl", event_id="line:6"))
    [answer] = core.handle(SlashCommand(ANNA, DM, "help", "", event_id="line:7"))
    assert answer.message.text.startswith("Ik ben de assistent van de IT-servicedesk.")
