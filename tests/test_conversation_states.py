"""Explicit conversation states (bot/conversation.py), stored compatibly: rows written in the text form of
earlier releases (``intake:<step>``, ``tech:<action>``, ``suggested``) load and continue, the form written
is still that one, and a state naming no known step is not mistaken for an intake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.conversation import INTAKE_STEPS, ConversationState
from bot.db.models import Conversation
from bot.intake import STEPS

OpenTicket = Callable[..., int]

# A draft as an earlier release stored it: none of the keys added since (answers, rejected, suggestion_log …).
EARLIER_DRAFT: dict[str, Any] = {
    "first_message": "The badge reader at the back door refuses my badge",
    "title": "Badge reader refuses my badge",
    "description": "The badge reader at the back door refuses my badge",
    "type": "incident",
    "category": "helpdesk",
    "contact_name": "Alice Dupont",
    "contact_phone": "",
    "contact_email": "alice.dupont@example.be",
    "attachments": [],
    "history": ["title", "description", "error", "url", "started", "impact"],
    "impact": "me",
}


def store(app: HelpdeskApp, chat: ConsoleChat, state: str, data: dict[str, Any]) -> None:
    """Write the row with a plain INSERT, the way another release's process would have left it."""
    with app.uow() as uow:
        uow.session.execute(
            insert(Conversation).values(
                platform="console",
                chat_id=chat.place.chat_id,
                user_id=chat.user.id,
                state=state,
                data=data,
                updated_at=app.clock.now() - timedelta(minutes=1),
            )
        )
        uow.commit()


def stored(app: HelpdeskApp, chat: ConsoleChat) -> tuple[str, dict[str, Any]]:
    with app.uow() as uow:
        row = uow.conversations.get("console", chat.place.chat_id, chat.user.id)
        assert row is not None
        return row.state, dict(row.data)


def test_an_intake_stored_by_an_earlier_release_continues_to_its_ticket(
    app: HelpdeskApp, requester: ConsoleChat
) -> None:
    store(app, requester, "intake:urgency", EARLIER_DRAFT)
    assert "Can you keep working?" in "\n".join(requester.resume())
    assert "How can a technician reach you?" in "\n".join(requester.say("2"))
    assert stored(app, requester)[0] == "intake:contact"
    assert "Here is your ticket" in "\n".join(requester.say("1"))
    confirmation = "\n".join(requester.say("1"))
    assert "Your ticket #" in confirmation
    with app.uow() as uow:
        [ticket] = uow.tickets.queue()
    assert (ticket.title, ticket.urgency, ticket.impact) == ("Badge reader refuses my badge", "medium", "me")
    assert stored(app, requester)[0] == "idle"


def test_back_from_an_earlier_release_draft_follows_its_stored_history(
    app: HelpdeskApp, requester: ConsoleChat
) -> None:
    store(app, requester, "intake:urgency", EARLIER_DRAFT)
    assert "Who is affected?" in "\n".join(requester.say("back"))
    assert stored(app, requester)[0] == "intake:impact"


def test_a_technicians_pending_question_stored_as_text_is_answered(
    app: HelpdeskApp, requester: ConsoleChat, technician: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester)
    technician.say(f"/claim {number}")
    with app.uow() as uow:
        uow.conversations.purge_idle(app.clock.now() + timedelta(days=1))
        uow.commit()
    store(app, technician, "tech:wait", {"number": number})
    assert f"#{number} now waits for the requester's answer." in "\n".join(technician.say("Which door exactly?"))
    with app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "waiting"


def test_the_states_written_keep_the_stored_text_form(app: HelpdeskApp, requester: ConsoleChat) -> None:
    requester.say("My screen stays black after the update")
    assert stored(app, requester)[0] == "intake:title"
    requester.say("1")
    state, data = stored(app, requester)
    assert state == "intake:description"
    assert data["title"] == "My screen stays black after the update" and data["history"] == ["title"]


@pytest.mark.parametrize("state", ["intake:colour", "tech:dance"])
def test_a_state_naming_no_known_step_is_not_taken_for_one(
    app: HelpdeskApp, requester: ConsoleChat, state: str
) -> None:
    store(app, requester, state, {"number": 1, "title": "left by a later release"})
    assert ConversationState(state).intake_step is None and ConversationState(state).technician_action is None
    shown = "\n".join(requester.say("My printer prints blank pages"))
    assert "Sorry, something went wrong" not in shown
    # Taken as a new problem: the knowledge base is searched first (articles offered, or the intake starts).
    assert "This might help" in shown or "Proposed title" in shown
    assert stored(app, requester)[0] in ("suggested", "intake:title")


def test_every_step_of_the_intake_is_a_declared_state() -> None:
    assert set(STEPS) <= set(INTAKE_STEPS)
    assert ConversationState("intake:contact_phone").intake_step == "contact_phone"
    assert ConversationState.for_technician("thread", {"number": 3, "text": "hi"}).state == "tech:thread"
