"""How tickets look in chat: cards, one-line summaries and histories, in one language.

Everything here returns plain text or :class:`~bot.port.TicketCard`; adapters add the
platform's markup (and escape user text) when they render it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton

from bot.db.models import Ticket, TicketEvent
from bot.errors import TicketTaken
from bot.i18n import N_, Translator, label_separator
from bot.lifecycle import STATUS_LABELS, TECHNICIAN_STATUS_LABELS
from bot.port import Button, TicketCard

IMPACT_LABELS = {"me": N_("just me"), "team": N_("my team"), "site": N_("the whole site")}
URGENCY_LABELS = {
    "high": N_("I am blocked"),
    "medium": N_("I can work, but slowed down"),
    "low": N_("it can wait"),
}
TYPE_LABELS = {"incident": N_("incident"), "request": N_("request"), "complaint": N_("complaint")}
CATEGORY_LABELS = {
    "helpline": N_("helpline (applications, accounts, passwords)"),
    "helpdesk": N_("helpdesk (hardware, network, printers)"),
}

CATEGORY_NAMES = {"helpline": N_("helpline"), "helpdesk": N_("helpdesk")}
"""The short names of the categories, for one-line histories."""
STARTED_PREFIX = "@"
"""Marks a stored "when did it start" value that is a point in time rather than the requester's words."""
_display_tz: list[tzinfo] = [ZoneInfo("Europe/Brussels")]


def set_display_timezone(tz: tzinfo) -> None:
    """Show due times in the service desk's zone (``[sla.calendar] timezone``; set by bootstrap)."""
    _display_tz[0] = tz


def when_text(t: Translator, moment: datetime, now: datetime, *, tz: tzinfo | None = None) -> str:
    """A moment as the reader's locale says it, in the service desk's zone, the year only when it is not
    ``now``'s: ``mar. 24 novembre à 10:00``, ``Tue 24 November at 10:00``, ``di 24 november om 10:00``."""
    zone = tz or _display_tz[0]
    local = moment.astimezone(zone)
    skeleton = "MMMMEd" if local.year == now.astimezone(zone).year else "yMMMMEd"
    day = format_skeleton(skeleton, local, locale=t.locale)
    time = format_skeleton("Hm", local, locale=t.locale)
    return t("{day} at {time}", day=day, time=time)


def weekday_text(t: Translator, moment: datetime, *, tz: tzinfo | None = None) -> str:
    """The day of the week of ``moment`` in the reader's language (``mardi``), in the service desk's zone."""
    return format_date(moment.astimezone(tz or _display_tz[0]), "EEEE", locale=t.locale)


def display_timezone() -> tzinfo:
    """The service desk's time zone, in which dates are shown."""
    return _display_tz[0]


def started_value(choice: str, now: datetime) -> str:
    """The language-neutral stored form of a "when did it start" button.

    ``now`` → ``@2026-03-02T09:00+00:00`` (a moment), ``today``/``yesterday`` → ``@2026-03-02``
    (a day), ``days`` → ``@before:2026-03-02`` (several days before that day). Each reader sees it
    in their own language (:func:`started_text`); anything the requester typed is kept as typed.
    """
    today = now.astimezone(_display_tz[0]).date()
    if choice == "now":
        return STARTED_PREFIX + now.astimezone(UTC).isoformat(timespec="minutes")
    if choice == "yesterday":
        return STARTED_PREFIX + (today - timedelta(days=1)).isoformat()
    if choice == "days":
        return f"{STARTED_PREFIX}before:{today.isoformat()}"
    return STARTED_PREFIX + today.isoformat()


def started_text(t: Translator, value: str, now: datetime) -> str:
    """A stored "when did it start" value in the reader's language, relative to ``now`` when close."""
    if not value.startswith(STARTED_PREFIX):
        return value
    body = value[len(STARTED_PREFIX) :]
    try:
        if body.startswith("before:"):
            return t("several days before {date}", date=date_text(t, date.fromisoformat(body[7:]), now))
        if "T" in body:
            moment = datetime.fromisoformat(body)
            local = moment.astimezone(_display_tz[0])
            day = _relative_day(t, local.date(), now) or date_text(t, local.date(), now)
            return t("{day} at {time}", day=day, time=format_skeleton("Hm", local, locale=t.locale))
        day_value = date.fromisoformat(body)
    except ValueError:
        return value
    return _relative_day(t, day_value, now) or date_text(t, day_value, now)


def _relative_day(t: Translator, day: date, now: datetime) -> str:
    today = now.astimezone(_display_tz[0]).date()
    if day == today:
        return t("today")
    if day == today - timedelta(days=1):
        return t("yesterday")
    return ""


def date_text(t: Translator, day: date, now: datetime) -> str:
    """A day as the reader's locale writes it (``2 mars``, ``2 maart``), with the year only when it is not this one."""
    this_year = now.astimezone(_display_tz[0]).year
    return format_skeleton("MMMMd" if day.year == this_year else "yMMMMd", day, locale=t.locale)


def ticket_ref(number: int) -> str:
    """How a ticket number is written everywhere: ``#1042``."""
    return f"#{number}"


def age_text(t: Translator, since: datetime, now: datetime) -> str:
    """A short, human age in the reader's locale (CLDR units): ``5 min``, ``3 h``, ``2 j`` / ``2 days``."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return t.unit(minutes, "duration-minute")
    if minutes < 48 * 60:
        return t.unit(minutes // 60, "duration-hour")
    return t.unit(minutes // (24 * 60), "duration-day")


def ticket_card(t: Translator, ticket: Ticket, now: datetime, *, for_technicians: bool) -> TicketCard:
    """The ticket as a card: headline plus labelled fields."""
    fields: list[tuple[str, str]] = [
        (t("Status"), status_text(t, ticket.status, for_technicians=for_technicians)),
        (t("Priority"), ticket.priority),
        (t("Category"), t(CATEGORY_LABELS.get(ticket.category, ticket.category))),
    ]
    if ticket.type != "incident":
        fields.append((t("Type"), t(TYPE_LABELS.get(ticket.type, ticket.type))))
    fields.append((t("Assigned to"), ticket.assignee_name or t("nobody yet")))
    if ticket.status in ("new", "in_progress", "waiting"):
        if ticket.response_due_at is not None and ticket.first_response_at is None:
            fields.append((t("Pick-up expected by"), when_text(t, ticket.response_due_at, now)))
        if ticket.status == "waiting" and ticket.waiting_since is not None:
            fields.append((t("Resolution expected by"), t("paused while waiting for the requester")))
        elif ticket.resolution_due_at is not None:
            fields.append((t("Resolution expected by"), when_text(t, ticket.resolution_due_at, now)))
    if for_technicians:
        fields.append((t("Level"), f"L{ticket.support_level}"))
        fields.append((t("Requester"), ticket.requester_name or ticket.requester_key))
        contact = " · ".join(v for v in (ticket.contact_name, ticket.contact_phone, ticket.contact_email) if v)
        if contact:
            fields.append((t("Contact"), contact))
        fields.append((t("Impact"), t(IMPACT_LABELS.get(ticket.impact, ticket.impact))))
        fields.append((t("Urgency"), t(URGENCY_LABELS.get(ticket.urgency, ticket.urgency))))
        if ticket.started:
            fields.append((t("Since"), started_text(t, ticket.started, now)))
        if ticket.url:
            fields.append((t("URL"), ticket.url))
        if ticket.error_message:
            fields.append((t("Error message"), _clip(ticket.error_message, 500)))
        if ticket.description:
            fields.append((t("Description"), _clip(ticket.description, 800)))
        if ticket.attachments:
            fields.append((t("Attachments"), str(len(ticket.attachments))))
    fields.append((t("Age"), age_text(t, ticket.created_at, now)))
    return TicketCard(
        number=ticket.id,
        headline=f"{ticket_ref(ticket.id)} · {ticket.title}",
        fields=tuple(fields),
        separator=label_separator(t.language),
    )


def status_text(t: Translator, status: str, *, for_technicians: bool) -> str:
    """A status as its reader says it ("waiting for your answer" to the requester, "… for the requester" to staff)."""
    labels = TECHNICIAN_STATUS_LABELS if for_technicians else STATUS_LABELS
    return t(labels.get(status, status))


def technician_buttons(t: Translator, ticket: Ticket) -> tuple[Button, ...]:
    """The buttons a technician card offers for the ticket's current status."""
    number = ticket.id
    if ticket.status in ("new", "in_progress", "waiting"):
        buttons = [Button(t("Claim"), f"claim:{number}", "primary")] if ticket.status != "in_progress" else []
        if ticket.status != "waiting":
            buttons.append(Button(t("Waiting on requester"), f"wait:{number}"))
        buttons.append(Button(t("Resolve"), f"resolve:{number}"))
        return tuple(buttons)
    if ticket.status == "resolved":
        return (Button(t("Reopen"), f"reopen:{number}"),)
    return ()


def take_over_button(t: Translator, taken: TicketTaken) -> Button:
    """The confirmed take-over offered to a technician who lost a claim.

    Its value names the holder the technician was shown, so that pressing it takes the
    ticket only if it is still theirs (see :meth:`bot.tickets.TicketService.take_over`).
    """
    return Button(t("Take over from {name}", name=taken.holder_name), f"takeover:{taken.number}:{taken.holder}")


def one_line(t: Translator, ticket: Ticket, now: datetime, *, for_technicians: bool = False) -> str:
    """``#12 [P2] in progress — Printer offline (3 h)``."""
    status = status_text(t, ticket.status, for_technicians=for_technicians)
    age = age_text(t, ticket.created_at, now)
    return f"{ticket_ref(ticket.id)} [{ticket.priority}] {status} — {ticket.title} ({age})"


VISIT_NOTE_PREFIX = "visit:"
VISIT_CANCELLED_PREFIX = "visit-cancelled:"
VISIT_NOTES = {
    VISIT_NOTE_PREFIX: N_("visit proposed for {when}"),
    VISIT_CANCELLED_PREFIX: N_("visit cancelled for {when}"),
}
"""``to_value`` prefixes of the notes that a visit was proposed or cancelled, each followed by the visit's moment
(ISO 8601), and their messages: :func:`history_lines` writes them for each reader; the stored text, in the
language of the person who acted, is for exports."""


def history_lines(
    t: Translator,
    events: Sequence[TicketEvent],
    now: datetime,
    *,
    for_technicians: bool = False,
    tz: tzinfo | None = None,
) -> list[str]:
    """A ticket's history as readable lines, oldest first, dated in the reader's locale in the service desk's
    time zone (``2 mars 10:05``; the year only when it is not ``now``'s).

    Requesters' histories (``for_technicians=False``) never show handover notes; internal notes
    are left out of their events by :meth:`bot.tickets.TicketService.view`.
    """
    zone = tz or _display_tz[0]
    this_year = now.astimezone(zone).year

    def moment(at: datetime) -> str:
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite keeps naive UTC
        local = at.astimezone(zone)
        day = format_skeleton("MMMd" if local.year == this_year else "yMMMd", local, locale=t.locale)
        return f"{day} {format_skeleton('Hm', local, locale=t.locale)}"

    lines = []
    for event in events:
        when = moment(event.at)
        who = event.actor_name or event.actor_key
        if event.kind == "created":
            what = t("opened the ticket")
        elif event.kind == "status":
            what = t(
                "status {old} → {new}",
                old=status_text(t, event.from_value or "", for_technicians=for_technicians),
                new=status_text(t, event.to_value or "", for_technicians=for_technicians),
            )
        elif event.kind == "assignee":
            what = t("assigned to {name}", name=event.to_value or "")
        elif event.kind == "priority":
            what = t("priority {old} → {new}", old=event.from_value or "", new=event.to_value or "")
        elif event.kind == "comment":
            what = t("“{text}”", text=_clip(event.text, 300))
        elif event.kind == "note" and event.to_value == "follow":
            # Written by the bot, not typed: each reader gets it in their language.
            what = t(
                "internal note: {text}", text=t("Also affected: follows this ticket instead of opening a new one.")
            )
        elif event.kind == "note" and (visit_note := _visit_note(event.to_value)) is not None:
            # Written by the bot: each reader gets the visit's moment in their language and locale.
            msgid, at = visit_note
            what = t("internal note: {text}", text=t(msgid, when=moment(at)))
        elif event.kind == "note":
            what = t("internal note: {text}", text=_clip(event.text, 300))
        elif event.kind == "level" and not for_technicians:
            # The handover note is written for the next level's technicians: never shown to requesters.
            what = t("escalated {old} → {new}", old=event.from_value or "", new=event.to_value or "")
        elif event.kind == "level":
            what = t(
                "escalated {old} → {new}: {text}",
                old=event.from_value or "",
                new=event.to_value or "",
                text=_clip(event.text, 300),
            )
        elif event.kind == "attachment":
            what = t("attached {name}", name=event.text)
        elif event.kind == "category":
            what = t(
                "category {old} → {new}",
                old=t(CATEGORY_NAMES.get(event.from_value or "", event.from_value or "")),
                new=t(CATEGORY_NAMES.get(event.to_value or "", event.to_value or "")),
            )
        else:
            what = t("updated the ticket")
        lines.append(t("{when} · {who}: {what}", when=when, who=who, what=what))
    return lines


def _visit_note(marker: str | None) -> tuple[str, datetime] | None:
    """The message and moment of a visit note's ``to_value`` (see :data:`VISIT_NOTES`), else ``None``."""
    for prefix, msgid in VISIT_NOTES.items():
        if marker and marker.startswith(prefix):
            return msgid, datetime.fromisoformat(marker.removeprefix(prefix))
    return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
