"""A visit's date changes, the requester's calendar follows: one entry per ticket, updated, then cancelled.

The requester answers the invitation with another date, the technician accepts it: the next mail carries
the same UID with SEQUENCE 1 and the new time (METHOD:REQUEST). The technician plans again: SEQUENCE 2.
Accepted from the calendar, the answer is for that latest proposal. The technician cancels: METHOD:CANCEL,
SEQUENCE 3. Every calendar is read with the icalendar library from the mails the SMTP sink received.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from mail_servers import Mailbox, SmtpSink
from test_mail_replies import JEAN, MailDesk, _reply_to, _text
from test_mail_visits import _calendar_reply, _propose, _visit_status

from adapters.console.chat import ConsoleChat
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp


@pytest.fixture
def desk(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink, tech: ConsoleChat
) -> MailDesk:
    return MailDesk(app, email_adapter, mailbox, smtp_sink, tech)


def _calendars(mail: EmailMessage) -> list[Calendar]:
    """The inline text/calendar parts of a mail, parsed (their method parameter checked against the body)."""
    found = []
    for part in mail.walk():
        if part.get_content_type() != "text/calendar":
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        calendar = Calendar.from_ical(payload)
        assert part.get_param("method") == str(calendar.get("method"))
        found.append(calendar)
    return found


def _entry(mail: EmailMessage, method: str) -> Any:
    """The one VEVENT of the mail's one calendar, whose METHOD must be ``method``."""
    (calendar,) = _calendars(mail)
    assert str(calendar.get("method")) == method
    assert [part.get_filename() for part in mail.walk() if part.get_filename()] == ["invite.ics"]
    (event,) = calendar.walk("VEVENT")
    return event


def test_the_invitation_follows_the_counter_proposal_the_new_plan_and_the_cancellation(desk: MailDesk) -> None:
    number, _ack = desk.open()
    first = _entry(_propose(desk, number), "REQUEST")
    uid = str(first.get("uid"))
    assert int(first.get("sequence")) == 0
    assert first.decoded("dtstart").isoformat() == "2026-12-03T09:00:00+00:00"

    # Jean answers with another date: nothing changes in his calendar while the technician decides.
    proposal = desk.smtp.messages[-1]
    assert desk.send(_reply_to(proposal, "Plutôt le 04/12/2026 à 14h30, je suis en réunion le 3.")) == {"visit": 1}
    receipt = desk.next_mail()
    assert "J'ai proposé" in _text(receipt) and _calendars(receipt) == []
    assert any("proposes another date" in line for line in desk.tech.poll())

    # Bob accepts Jean's date (the OK button of the counter-proposal): the same entry moves.
    desk.tech_says("1")
    confirmed = desk.next_mail()
    assert "confirme la visite" in _text(confirmed)
    moved = _entry(confirmed, "REQUEST")
    assert (str(moved.get("uid")), int(moved.get("sequence"))) == (uid, 1)
    assert moved.decoded("dtstart").isoformat() == "2026-12-04T13:30:00+00:00"  # 14:30 in Brussels
    assert moved.get("attendee").params["PARTSTAT"] == "ACCEPTED"  # his own date: nothing to answer
    assert str(moved.get("status")) == "CONFIRMED"

    # Bob has to plan again: same entry, next sequence, a question for Jean again.
    replan = _propose(desk, number, "2026-12-07 09:00")
    replanned = _entry(replan, "REQUEST")
    assert (str(replanned.get("uid")), int(replanned.get("sequence"))) == (uid, 2)
    assert replanned.decoded("dtstart").isoformat() == "2026-12-07T08:00:00+00:00"
    assert replanned.get("attendee").params["PARTSTAT"] == "NEEDS-ACTION"

    # Accepting the updated invitation in his calendar answers that latest proposal.
    assert desk.send(_calendar_reply(_calendars(replan)[0], "ACCEPTED")) == {"visit": 1}
    assert _visit_status(desk.app, number)[-1] == ("accepted", "technician")
    answer = desk.next_mail()
    assert "est confirmée" in _text(answer)
    assert _calendars(answer) == []  # the calendar already shows that date

    # Bob cancels: the entry is removed from Jean's calendar.
    shown = desk.tech_says(f"/visit {number} cancel")
    assert any("is cancelled; the requester is told" in line for line in shown)
    cancelled = desk.next_mail()
    assert "est annulée" in _text(cancelled)
    gone = _entry(cancelled, "CANCEL")
    assert (str(gone.get("uid")), int(gone.get("sequence"))) == (uid, 3)
    assert str(gone.get("status")) == "CANCELLED"
    assert gone.decoded("dtstart").isoformat() == "2026-12-07T08:00:00+00:00"
    assert str(gone.get("attendee")) == f"mailto:{JEAN}"
    assert _visit_status(desk.app, number)[-1] == ("cancelled", "technician")

    # Later mail of the ticket carries no calendar any more.
    desk.tech_says(f"/reply {number} Nous repasserons vers vous.")
    assert _calendars(desk.next_mail()) == []


def test_cancelling_needs_a_visit_ahead_and_a_technician(desk: MailDesk) -> None:
    number, _ack = desk.open()
    assert any("No visit is planned for ticket" in line for line in desk.tech_says(f"/visit {number} cancel"))
    desk.no_new_mail()


def test_a_ticket_withdrawn_by_mail_cancels_its_accepted_visit(desk: MailDesk) -> None:
    number, _ack = desk.open()
    proposal = _propose(desk, number)
    uid = str(_entry(proposal, "REQUEST").get("uid"))
    assert desk.send(_calendar_reply(_calendars(proposal)[0], "ACCEPTED")) == {"visit": 1}
    desk.next_mail()  # "the visit is confirmed"
    desk.tech.poll()

    # Jean found the fix himself: SOLVED withdraws the open ticket, and the visit goes with it.
    assert desk.send(_reply_to(proposal, "RÉSOLU\n\nC'était le câble réseau.")) == {"solved": 1}
    assert desk.status(number) == "cancelled"
    assert _visit_status(desk.app, number) == [("cancelled", "technician")]
    withdrawn = desk.next_mail()
    assert "est annulé" in _text(withdrawn)
    gone = _entry(withdrawn, "CANCEL")
    assert (str(gone.get("uid")), int(gone.get("sequence"))) == (uid, 1)
    assert any(f"#{number} is cancelled: the visit on" in line for line in desk.tech.poll())
