"""Visits by mail: an iCalendar invitation (iTIP ``METHOD:REQUEST``) and the calendar's answer (``METHOD:REPLY``).

A visit a technician proposes on a mail ticket reaches the requester as a mail with the invitation
inline (``text/calendar; method=REQUEST``, which Outlook, Thunderbird, Apple Mail and Gmail show with
Accept / Decline buttons) and as ``invite.ics``. Their calendar answers with an iTIP ``REPLY`` whose
``ATTENDEE;PARTSTAT`` is ``ACCEPTED`` or ``DECLINED``; the event's ``UID`` (``visit-<id>@<desk domain>``)
names the visit. Built and read with the icalendar library (RFC 5545 / RFC 5546).

One ticket's visit is one calendar entry: when the date changes — the technician accepts the
requester's counter-proposal, or plans again — the requester receives the same ``UID`` again with
``SEQUENCE`` incremented and the new time (``METHOD:REQUEST``), so their calendar moves the entry
instead of adding another; a cancelled visit is ``METHOD:CANCEL`` (``STATUS:CANCELLED``).
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
    method: str = "REQUEST"
    """``REQUEST`` (a proposal, or an update of the date) or ``CANCEL``."""
    entry_id: int = 0
    """The visit whose id names the calendar entry (the ticket's first invitation); 0: ``visit_id``."""
    sequence: int = 0
    """RFC 5545 ``SEQUENCE``: 0 for the first invitation, one more for each update sent."""
    accepted: bool = False
    """The date the requester proposed and the technician accepted: nothing left for them to answer."""

    @property
    def state(self) -> str:
        """What the requester's calendar should show, as a short key (sent again only when it changes)."""
        return f"{self.method}|{self.starts.astimezone(UTC).isoformat()}|{self.place}"


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
    """The ``METHOD:REQUEST`` or ``METHOD:CANCEL`` calendar of ``invite`` for ``attendee`` (RFC 5546)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", invite.method)
    event = Event()
    event.add("uid", uid_of(invite.entry_id or invite.visit_id, organizer.rpartition("@")[2]))
    event.add("dtstamp", invite.created.astimezone(UTC))
    event.add("dtstart", invite.starts.astimezone(UTC))
    event.add("dtend", (invite.starts + timedelta(minutes=max(invite.minutes, 15))).astimezone(UTC))
    event.add("summary", summary)
    if invite.place:
        event.add("location", invite.place)
    event.add("description", f"#{invite.ticket_number} — {invite.title} ({invite.technician})")
    event.add("sequence", invite.sequence)
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    lead = vCalAddress(f"mailto:{organizer}")
    lead.params["cn"] = vText(organizer_name)
    lead.params["role"] = vText("CHAIR")
    event.add("organizer", lead)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["role"] = vText("REQ-PARTICIPANT")
    if invite.method == "REQUEST":
        guest.params["partstat"] = vText("ACCEPTED" if invite.accepted else "NEEDS-ACTION")
        guest.params["rsvp"] = vText("FALSE" if invite.accepted else "TRUE")
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
