"""How tickets look in chat: cards, one-line summaries and histories, in one language.

Everything here returns plain text or :class:`~bot.port.TicketCard`; adapters add the
platform's markup (and escape user text) when they render it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from bot.db.models import Ticket, TicketEvent
from bot.errors import TicketTaken
from bot.i18n import N_, Translator
from bot.lifecycle import STATUS_LABELS
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


WEEKDAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
_display_tz: list[tzinfo] = [ZoneInfo("Europe/Brussels")]


def set_display_timezone(tz: tzinfo) -> None:
    """Show due times in the service desk's zone (``[sla.calendar] timezone``; set by bootstrap)."""
    _display_tz[0] = tz


def when_text(t: Translator, moment: datetime, *, tz: tzinfo | None = None) -> str:
    """A due time as people say it: ``Tuesday 24/11 10:00`` in the service desk's zone."""
    local = moment.astimezone(tz or _display_tz[0])
    return f"{t(WEEKDAY_NAMES[local.weekday()])} {local:%d/%m %H:%M}"


def ticket_ref(number: int) -> str:
    """How a ticket number is written everywhere: ``#1042``."""
    return f"#{number}"


def age_text(t: Translator, since: datetime, now: datetime) -> str:
    """A short, human age: ``5 min``, ``3 h``, ``2 d``."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return t("{n} min", n=minutes)
    if minutes < 48 * 60:
        return t("{n} h", n=minutes // 60)
    return t("{n} d", n=minutes // (24 * 60))


def ticket_card(t: Translator, ticket: Ticket, now: datetime, *, for_technicians: bool) -> TicketCard:
    """The ticket as a card: headline plus labelled fields."""
    fields: list[tuple[str, str]] = [
        (t("Status"), t(STATUS_LABELS.get(ticket.status, ticket.status))),
        (t("Priority"), ticket.priority),
        (t("Category"), t(CATEGORY_LABELS.get(ticket.category, ticket.category))),
    ]
    if ticket.type != "incident":
        fields.append((t("Type"), t(TYPE_LABELS.get(ticket.type, ticket.type))))
    fields.append((t("Assigned to"), ticket.assignee_name or t("nobody yet")))
    if ticket.status in ("new", "in_progress", "waiting"):
        if ticket.response_due_at is not None and ticket.first_response_at is None:
            fields.append((t("Pick-up expected by"), when_text(t, ticket.response_due_at)))
        if ticket.status == "waiting" and ticket.waiting_since is not None:
            fields.append((t("Resolution expected by"), t("paused while waiting for the requester")))
        elif ticket.resolution_due_at is not None:
            fields.append((t("Resolution expected by"), when_text(t, ticket.resolution_due_at)))
    if for_technicians:
        fields.append((t("Level"), f"L{ticket.support_level}"))
        fields.append((t("Requester"), ticket.requester_name or ticket.requester_key))
        contact = " · ".join(v for v in (ticket.contact_name, ticket.contact_phone, ticket.contact_email) if v)
        if contact:
            fields.append((t("Contact"), contact))
        fields.append((t("Impact"), t(IMPACT_LABELS.get(ticket.impact, ticket.impact))))
        fields.append((t("Urgency"), t(URGENCY_LABELS.get(ticket.urgency, ticket.urgency))))
        if ticket.started:
            fields.append((t("Since"), ticket.started))
        if ticket.url:
            fields.append((t("URL"), ticket.url))
        if ticket.error_message:
            fields.append((t("Error message"), _clip(ticket.error_message, 500)))
        if ticket.description:
            fields.append((t("Description"), _clip(ticket.description, 800)))
        if ticket.attachments:
            fields.append((t("Attachments"), str(len(ticket.attachments))))
    fields.append((t("Age"), age_text(t, ticket.created_at, now)))
    return TicketCard(number=ticket.id, headline=f"{ticket_ref(ticket.id)} · {ticket.title}", fields=tuple(fields))


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


def one_line(t: Translator, ticket: Ticket, now: datetime) -> str:
    """``#12 [P2] in progress — Printer offline (3 h)``."""
    status = t(STATUS_LABELS.get(ticket.status, ticket.status))
    age = age_text(t, ticket.created_at, now)
    return f"{ticket_ref(ticket.id)} [{ticket.priority}] {status} — {ticket.title} ({age})"


def history_lines(t: Translator, events: Sequence[TicketEvent], *, tz: tzinfo | None = None) -> list[str]:
    """A ticket's history as readable lines, oldest first, in the service desk's time zone."""
    lines = []
    for event in events:
        at = event.at if event.at.tzinfo is not None else event.at.replace(tzinfo=UTC)  # SQLite keeps naive UTC
        when = at.astimezone(tz or _display_tz[0]).strftime("%Y-%m-%d %H:%M")
        who = event.actor_name or event.actor_key
        if event.kind == "created":
            what = t("opened the ticket")
        elif event.kind == "status":
            what = t(
                "status {old} → {new}",
                old=t(STATUS_LABELS.get(event.from_value or "", event.from_value or "")),
                new=t(STATUS_LABELS.get(event.to_value or "", event.to_value or "")),
            )
        elif event.kind == "assignee":
            what = t("assigned to {name}", name=event.to_value or "")
        elif event.kind == "priority":
            what = t("priority {old} → {new}", old=event.from_value or "", new=event.to_value or "")
        elif event.kind == "comment":
            what = f"« {_clip(event.text, 300)} »"
        elif event.kind == "note":
            what = t("internal note: {text}", text=_clip(event.text, 300))
        elif event.kind == "level":
            what = t(
                "escalated {old} → {new}: {text}",
                old=event.from_value or "",
                new=event.to_value or "",
                text=_clip(event.text, 300),
            )
        elif event.kind == "attachment":
            what = t("attached {name}", name=event.text)
        else:
            what = event.kind
        lines.append(f"{when} · {who}: {what}")
    return lines


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
