"""Visits by mail: an iCalendar invitation (iTIP ``METHOD:REQUEST``) and the calendar's answer (``METHOD:REPLY``).

A visit a technician proposes on a mail ticket reaches the requester as a mail with the invitation
inline (``text/calendar; method=REQUEST``, which Outlook, Thunderbird, Apple Mail and Gmail show with
Accept / Decline buttons) and as ``invite.ics``. Their calendar answers with an iTIP ``REPLY`` whose
``ATTENDEE;PARTSTAT`` is ``ACCEPTED`` or ``DECLINED``; the event's ``UID`` (``visit-<id>@<desk domain>``)
names the visit. Built and read with the icalendar library (RFC 5545 / RFC 5546).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//helpdesk-bot//visits//EN"


@dataclass(frozen=True)
class VisitInvite:
    """What the invitation of one proposed visit says."""

    visit_id: int
    ticket_number: int
    title: str
    starts: datetime
    minutes: int
    place: str
    technician: str
    created: datetime


@dataclass(frozen=True)
class CalendarAnswer:
    """An iTIP REPLY: who answered which visit, and how."""

    visit_id: int
    attendee: str
    accepted: bool


def uid_of(visit_id: int, domain: str) -> str:
    """The event's UID: stable for the visit, so a calendar updates the same entry."""
    return f"visit-{visit_id}@{domain}"


def invitation(invite: VisitInvite, summary: str, organizer: str, organizer_name: str, attendee: str) -> bytes:
    """The ``METHOD:REQUEST`` calendar of ``invite`` for ``attendee`` (RFC 5546)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid_of(invite.visit_id, organizer.rpartition("@")[2]))
    event.add("dtstamp", invite.created.astimezone(UTC))
    event.add("dtstart", invite.starts.astimezone(UTC))
    event.add("dtend", (invite.starts + timedelta(minutes=max(invite.minutes, 15))).astimezone(UTC))
    event.add("summary", summary)
    if invite.place:
        event.add("location", invite.place)
    event.add("description", f"#{invite.ticket_number} — {invite.title} ({invite.technician})")
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    lead = vCalAddress(f"mailto:{organizer}")
    lead.params["cn"] = vText(organizer_name)
    lead.params["role"] = vText("CHAIR")
    event.add("organizer", lead)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["partstat"] = vText("NEEDS-ACTION")
    guest.params["rsvp"] = vText("TRUE")
    event.add("attendee", guest)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


_UID = re.compile(r"^visit-(\d{1,9})@(.+)$")


def read_answer(data: bytes, domain: str) -> CalendarAnswer | None:
    """The answer in an iTIP ``REPLY`` to one of the desk's invitations, or ``None``."""
    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if str(calendar.get("method", "")).upper() != "REPLY":
        return None
    for event in calendar.walk("VEVENT"):
        match = _UID.match(str(event.get("uid", "")))
        if match is None or match.group(2).lower() != domain.lower():
            continue
        attendees = event.get("attendee")
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            if attendee is None:
                continue
            status = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
            address = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()
            if status in ("ACCEPTED", "DECLINED", "TENTATIVE"):
                return CalendarAnswer(int(match.group(1)), address, status == "ACCEPTED")
    return None


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T,]+(?:(?:à|om|at)\s+)?(\d{1,2})\s*[:hHu.]\s*(\d{2})?")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})[ ,]+(?:(?:à|om|at)\s+)?(\d{1,2})\s*[:hHu.]\s*(\d{2})?")


def proposed_date(text: str) -> tuple[str, str] | None:
    """The first date and time written in ``text`` as ``(YYYY-MM-DD, HH:MM)`` (ISO, or day/month/year)."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    for pattern, order in ((_ISO, (0, 1, 2)), (_DMY, (2, 1, 0))):
        match = pattern.search(first)
        if match is None:
            continue
        parts = match.groups()
        year, month, day = (int(parts[i]) for i in order)
        hour, minute = int(parts[3]), int(parts[4] or 0)
        try:
            date(year, month, day)
        except ValueError:
            return None
        if hour > 23 or minute > 59:
            return None
        return f"{year:04d}-{month:02d}-{day:02d}", f"{hour:02d}:{minute:02d}"
    return None
