"""Phone calls logged by technicians (``/call``): the caller's ticket, channel ``phone``, the same intake.

Console transcripts: Bob the technician logs the call, answering the intake's questions himself;
the caller — a chat user, a mail address, or a name and a number — is the ticket's requester and is
told on their platform or by mail.
"""

from __future__ import annotations

from sqlalchemy import select

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.db.models import OutboxEntry, Ticket

INTAKE = ["Mon écran reste noir", "1", "1", "1", "1", "1", "2"]
"""Problem, no description, no error, no URL, just now, just me, slowed down."""


def _log_call(technician: ConsoleChat, who: str, *, contact: str | None = None) -> list[str]:
    shown = technician.say(f"/call {who}")
    assert shown[0].startswith("A call from ")
    for line in INTAKE:
        shown = technician.say(line)
    shown = technician.say("1")  # the contact card is right
    if contact is not None:
        technician.say(contact)  # asked because the caller left no phone nor address
        technician.say("1")  # the completed contact card is right
    return technician.say("1")  # open the ticket from the summary


def _only_ticket(app: HelpdeskApp) -> Ticket:
    with app.uow() as uow:
        (ticket,) = uow.session.scalars(select(Ticket)).all()
        return ticket


def test_a_call_from_a_chat_user_is_their_ticket_and_they_are_told(
    app: HelpdeskApp, technician: ConsoleChat, requester: ConsoleChat
) -> None:
    requester.say("/mytickets")  # Alice has talked to the bot: her chat is known
    shown = _log_call(technician, f"{requester.user.key} Alice Martin", contact="+32 470 12 34 56")
    ticket = _only_ticket(app)
    assert any(f"#{ticket.id} is open for Alice Martin (phone call)" in line for line in shown)
    assert (ticket.requester_key, ticket.channel, ticket.origin_platform) == (requester.user.key, "phone", "console")
    assert ticket.title == "Mon écran reste noir"
    assert ticket.contact_phone.replace(" ", "") == "+32470123456"
    assert any(f"Your ticket #{ticket.id} is open" in line for line in requester.poll())


def test_a_call_from_a_mail_address_is_answered_by_mail(app: HelpdeskApp, technician: ConsoleChat) -> None:
    _log_call(technician, "jean.dupont@commune.example Jean Dupont")
    ticket = _only_ticket(app)
    assert (ticket.requester_key, ticket.channel, ticket.contact_email) == (
        "email:jean.dupont@commune.example",
        "phone",
        "jean.dupont@commune.example",
    )
    with app.uow() as uow:
        platforms = {
            (e.platform, e.chat_id) for e in uow.session.scalars(select(OutboxEntry)) if e.purpose == "confirmation"
        }
    assert platforms == {("email", "jean.dupont@commune.example")}


def test_a_call_from_a_name_and_number_writes_to_nobody(app: HelpdeskApp, technician: ConsoleChat) -> None:
    shown = _log_call(technician, "Marc Leroy +32 470 98 76 54")
    ticket = _only_ticket(app)
    assert any("Tell them the number" in line for line in shown)
    assert (ticket.requester_name, ticket.channel, ticket.origin_platform) == ("Marc Leroy", "phone", "phone")
    assert ticket.contact_phone.replace(" ", "") == "+32470987654"
    with app.uow() as uow:
        requester_entries = [e for e in uow.session.scalars(select(OutboxEntry)) if e.platform == "phone"]
    assert requester_entries == []


def test_only_technicians_log_calls_and_a_caller_is_required(technician: ConsoleChat, requester: ConsoleChat) -> None:
    assert "technician" in " ".join(requester.say("/call Marc Leroy +32 470 98 76 54")).lower()
    assert "/call USER | ADDRESS | NAME NUMBER" in " ".join(technician.say("/call"))
    assert "/call USER | ADDRESS | NAME NUMBER" in " ".join(technician.say("/call Marc Leroy"))
