"""Visits by mail: the proposal carries an iCalendar invitation (METHOD:REQUEST); the requester accepts or
declines it from their calendar (an iTIP REPLY), or answers OK or another date by reply.

Real Dovecot in, real aiosmtpd out; the calendar's answers are built with the icalendar library, as a
calendar client writes them.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest
from icalendar import Calendar, Event, vCalAddress, vText
from mail_servers import DESK, Mailbox, SmtpSink, make_mail
from test_mail_replies import JEAN, MailDesk, _reply_to, _text

from adapters.console.chat import ConsoleChat
from adapters.email.adapter import EmailAdapter
from bot.bootstrap import HelpdeskApp


@pytest.fixture
def desk(
    app: HelpdeskApp, email_adapter: EmailAdapter, mailbox: Mailbox, smtp_sink: SmtpSink, tech: ConsoleChat
) -> MailDesk:
    return MailDesk(app, email_adapter, mailbox, smtp_sink, tech)


def _invitation(mail: EmailMessage) -> Calendar:
    """The inline text/calendar part of a mail (the one calendar clients act on)."""
    parts = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert parts[0].get_param("method") == "REQUEST"
    attachments = [part for part in mail.walk() if part.get_filename() == "invite.ics"]
    assert len(attachments) == 1
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


def _calendar_reply(invitation: Calendar, partstat: str, attendee: str = JEAN) -> EmailMessage:
    """What a calendar client sends when its user presses Accept or Decline (RFC 5546 REPLY)."""
    (requested,) = invitation.walk("VEVENT")
    reply = Calendar()
    reply.add("prodid", "-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN")
    reply.add("version", "2.0")
    reply.add("method", "REPLY")
    event = Event()
    for name in ("uid", "dtstart", "dtend", "summary", "sequence", "organizer"):
        event.add(name, requested.decoded(name) if name in ("dtstart", "dtend") else requested.get(name))
    event.add("dtstamp", requested.decoded("dtstamp"))
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["partstat"] = vText(partstat)
    event.add("attendee", guest)
    reply.add_component(event)
    verb = {"ACCEPTED": "Accepté", "DECLINED": "Refusé"}[partstat]
    mail = make_mail(f"{verb} : {requested.get('summary')}", f"Jean Dupont a {verb.lower()} cette invitation.")
    mail.add_alternative(reply.to_ical(), maintype="text", subtype="calendar", params={"method": "REPLY"})
    return mail


def _propose(desk: MailDesk, number: int, when: str = "2026-12-03 10:00") -> EmailMessage:
    desk.tech_says(f"/visit {number} {when} Bureau 2.14")
    proposal = desk.next_mail()
    assert "visite sur place" in _text(proposal)
    assert "Acceptez ou refusez l'invitation dans votre agenda" in _text(proposal)
    return proposal


def _visit_status(app: HelpdeskApp, number: int) -> list[tuple[str, str]]:
    with app.uow() as uow:
        return [(visit.status, visit.proposed_by) for visit in uow.visits.for_ticket(number)]


def test_the_proposal_is_an_invitation_accepted_from_the_calendar(desk: MailDesk) -> None:
    number, _ack = desk.open()
    desk.tech_says(f"/claim {number}")
    desk.next_mail()
    proposal = _propose(desk, number)
    invitation = _invitation(proposal)
    assert invitation.get("method") == "REQUEST"
    (event,) = invitation.walk("VEVENT")
    assert str(event.get("summary")) == f"[#{number}] Visite sur place\u202f: VPN : connexion impossible"
    assert str(event.get("location")) == "Bureau 2.14"
    assert str(event.get("organizer")) == f"mailto:{DESK}"
    assert str(event.get("attendee")) == f"mailto:{JEAN}"
    assert event.get("attendee").params["RSVP"] == "TRUE"
    assert event.decoded("dtstart").isoformat() == "2026-12-03T09:00:00+00:00"  # 10:00 in Brussels
    assert event.decoded("dtend").isoformat() == "2026-12-03T10:00:00+00:00"

    assert desk.send(_calendar_reply(invitation, "ACCEPTED")) == {"visit": 1}
    assert _visit_status(desk.app, number) == [("accepted", "technician")]
    assert any(f"#{number}" in line and "accepts the visit" in line for line in desk.tech.poll())


def test_declined_from_the_calendar_the_technician_is_asked_for_another_date(desk: MailDesk) -> None:
    number, _ack = desk.open()
    invitation = _invitation(_propose(desk, number))
    assert desk.send(_calendar_reply(invitation, "DECLINED")) == {"visit": 1}
    assert _visit_status(desk.app, number) == [("declined", "technician")]
    assert any("asks for another date" in line for line in desk.tech.poll())


def test_someone_else_answering_the_invitation_changes_nothing(desk: MailDesk) -> None:
    number, _ack = desk.open()
    invitation = _invitation(_propose(desk, number))
    forged = _calendar_reply(invitation, "ACCEPTED", attendee="eve@ailleurs.example")
    del forged["From"]
    forged["From"] = "Eve <eve@ailleurs.example>"
    assert desk.send(forged) == {"ignored": 1}
    assert _visit_status(desk.app, number) == [("proposed", "technician")]


def test_replying_ok_accepts_and_replying_a_date_proposes_another(desk: MailDesk) -> None:
    number, _ack = desk.open()
    proposal = _propose(desk, number)
    assert desk.send(_reply_to(proposal, "Plutôt le 04/12/2026 à 14h30, je suis en réunion le 3.")) == {"visit": 1}
    assert _visit_status(desk.app, number) == [("declined", "technician"), ("proposed", "requester")]
    told = desk.tech.poll()
    assert any("proposes another date" in line and "14:30" in line for line in told)
    receipt = _text(desk.next_mail())
    assert "J'ai proposé le ven. 4 décembre à 14:30 à Bob Tech" in receipt

    proposal = _propose(desk, number, "2026-12-07 09:00")
    assert desk.send(_reply_to(proposal, "OK")) == {"visit": 1}
    assert _visit_status(desk.app, number)[-1] == ("accepted", "technician")


def test_a_mail_with_an_unrelated_calendar_is_a_normal_request(desk: MailDesk) -> None:
    other = Calendar()
    other.add("prodid", "-//Example//EN")
    other.add("version", "2.0")
    other.add("method", "REPLY")
    event = Event()
    event.add("uid", f"{uuid.uuid4().hex}@elsewhere.example")
    other.add_component(event)
    mail = make_mail("Agenda partagé", "Mon agenda partagé ne se synchronise plus.")
    mail.add_attachment(other.to_ical(), maintype="text", subtype="calendar", filename="agenda.ics")
    assert desk.send(mail) == {"ticket": 1}
