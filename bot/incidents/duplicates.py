"""Duplicate reports and major incidents.

When someone describes a new problem, :class:`DuplicateDesk` (a problem hook of the core,
run before the knowledge base and the intake):

* records the report with its signature (kept one day) and, when ``major_reports`` similar reports from
  different people arrive within ``major_minutes``, flags a major incident to the
  technicians' places and opens a problem record linked to the ticket they resemble;
* offers "Same problem as #N? Follow it" when the report resembles a ticket opened less
  than ``duplicate_hours`` ago that is still open: following adds the person to the ticket
  as affected, and from then on they receive its status updates in their own chat
  (:meth:`DuplicateDesk.ticket_update`, a :class:`~bot.notifications.TicketWatcher`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.config import Config
from bot.db.models import IncidentReport, Problem, Ticket, TicketEvent, TicketFollower
from bot.db.uow import (
    FollowerRepository,
    IncidentReportRepository,
    ProblemRepository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.errors import InvalidCommand
from bot.i18n import N_, Translator, translator
from bot.incidents.similarity import Signature, cached_signature, signature, similarity
from bot.intake import ConversationState, propose_title
from bot.notifications import Notifier
from bot.port import Attachment, Button, ButtonPress, OutgoingMessage, Place, SlashCommand, TextMessage
from bot.presenters import CATEGORY_NAMES, age_text, ticket_ref
from bot.rendering import Line, Phrase, later, later_plural
from bot.validation import parse_ticket_number

logger = logging.getLogger(__name__)

OFFER_STATE = "dup:offer"
FOLLOW_NOTE = "follow"
"""``to_value`` of the internal note that says someone follows the ticket: each history reader gets it in
their language (:func:`bot.presenters.history_lines`); the stored text, in ``[bot] language``, is for exports."""
FOLLOW_NOTE_TEXT = N_("Also affected: follows this ticket instead of opening a new one.")
REPORT_RETENTION = timedelta(days=1)
"""Reports hold people's own words: they are only kept as long as detection needs them."""
SIGNATURE_CACHE = 5000
"""Stored report signatures kept decoded in memory: those of the reports in the detection window, at most
this many (the most recent)."""
REPORT_PURGE_EVERY = timedelta(minutes=10)
"""Older reports are deleted at most this often per process (not on every message): a report
lives at most ``REPORT_RETENTION`` plus this long; detection itself only reads its own window."""
MAJOR_DEDUP = timedelta(hours=24)
"""An open major-incident problem younger than this absorbs further similar reports."""


class ProblemContinuation(Protocol):
    """What carries on with a report once the offer is declined (:class:`bot.core.HelpdeskCore`)."""

    def continue_problem(self, event: TextMessage, t: Translator) -> list[OutgoingMessage]:
        """Knowledge-base suggestions, then the intake."""
        ...


@dataclass(frozen=True)
class MajorIncident:
    """What the detector flagged: the problem record, how many people reported, the ticket they resemble."""

    problem_id: int
    reports: int
    ticket_id: int | None
    new: bool


class DuplicateDesk:
    """The duplicate offer, the follow/unfollow actions, follower updates and major-incident detection."""

    def __init__(
        self,
        config: Config,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notifier: Notifier,
        technician_places: Sequence[Place],
        core: ProblemContinuation,
    ) -> None:
        self._core = core
        self._settings = config.incidents
        self._tech_language = config.bot.language
        self._uow = uow
        self._clock = clock
        self._notifier = notifier
        self._places = technician_places
        self._next_purge: datetime | None = None
        self._signatures: OrderedDict[int, Signature] = OrderedDict()

    # -- the problem hook -------------------------------------------------------------------

    def on_new_problem(
        self, event: TextMessage, conv: ConversationState, t: Translator
    ) -> list[OutgoingMessage] | None:
        """Record the report; offer to follow a similar open ticket, or let the problem through (None)."""
        if conv.state.startswith("dup:"):
            conv.reset()
        text = event.text.strip()
        sig = signature(text)
        if not sig:
            return None
        now = self._clock.now()
        with self._uow() as uow:
            candidate = self._candidate(uow, event.user.key, sig) if self._settings.duplicate_hours > 0 else None
            report_id = self._record(uow, event.user.key, text, sig, candidate)
            uow.commit()
        if candidate is None:
            return None
        conv.state = OFFER_STATE
        conv.data = {
            "ticket": candidate.id,
            "query": event.text,
            "report": report_id,
            "attachments": [
                {"kind": a.kind, "ref": a.ref, "name": a.name, "url": a.url, "mime_type": a.mime_type}
                for a in event.attachments
            ],
        }
        ref = ticket_ref(candidate.id)
        # Another person's ticket: only facts that say nothing about them (no title, no description).
        text_out = t(
            "A similar problem (category {category}) was reported {age} ago and is still open: {ref}. If it is "
            "the same problem, follow {ref}: you will get its updates here instead of opening a new ticket.",
            ref=ref,
            category=t(CATEGORY_NAMES.get(candidate.category, CATEGORY_NAMES["helpdesk"])),
            age=age_text(t, candidate.created_at, now),
        )
        return [
            OutgoingMessage(
                text_out,
                buttons=(
                    Button(t("Same problem as {ref}? Follow it", ref=ref), f"dup:follow:{candidate.id}", "primary"),
                    Button(t("No, it's different"), f"dup:different:{candidate.id}"),
                ),
            )
        ]

    def _candidate(self, uow: UnitOfWork, user_key: str, sig: Signature) -> Ticket | None:
        since = self._clock.now() - timedelta(hours=self._settings.duplicate_hours)
        followers = FollowerRepository(uow.session)
        followed = set(followers.followed_by(user_key))
        best: tuple[float, int] | None = None
        for number, requester_key, title, description in followers.open_summaries_since(since):
            if requester_key == user_key or number in followed:
                continue
            score = max(similarity(sig, cached_signature(title)), similarity(sig, cached_signature(description[:500])))
            if score >= self._settings.similarity and (best is None or score > best[0]):
                best = (score, number)
        return uow.tickets.get(best[1]) if best else None

    # -- buttons and commands ---------------------------------------------------------------

    def on_button(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        """``dup:follow:N`` or ``dup:different:N``."""
        action, _, number_text = rest.partition(":")
        with self._uow() as uow:
            row = uow.conversations.get(event.place.platform, event.place.chat_id, event.user.id)
            data: dict[str, Any] = dict(row.data) if row is not None and row.state == OFFER_STATE else {}
        if str(data.get("ticket", "")) != number_text or action not in ("follow", "different"):
            return [OutgoingMessage(t("That question is over. Write to me to start a new one."), ephemeral=True)]
        number = int(number_text)
        message = TextMessage(
            event.user,
            event.place,
            str(data.get("query", "")),
            tuple(Attachment(**a) for a in data.get("attachments", [])),
        )
        if action == "different":
            return self._continue(message, t)
        now = self._clock.now()
        with self._uow() as uow:
            ticket = uow.tickets.get(number, for_update=True)
            if ticket is None or ticket.status not in ("new", "in_progress", "waiting"):
                closed = True
            else:
                closed = False
                added = FollowerRepository(uow.session).add(
                    TicketFollower(
                        ticket_id=number,
                        user_key=event.user.key,
                        user_name=event.user.display_name or event.user.id,
                        platform=event.place.platform,
                        chat_id=event.place.chat_id,
                        language=t.language,
                        created_at=now,
                    )
                )
                if added:
                    tt = translator(self._tech_language)
                    uow.events.add(
                        TicketEvent(
                            ticket_id=number,
                            at=now,
                            actor_key=event.user.key,
                            actor_name=event.user.display_name or event.user.id,
                            kind="note",
                            to_value=FOLLOW_NOTE,
                            text=tt(FOLLOW_NOTE_TEXT),
                        )
                    )
                report = IncidentReportRepository(uow.session).get(int(data.get("report", 0)))
                if report is not None:
                    report.ticket_id = number
                uow.conversations.delete(event.place.platform, event.place.chat_id, event.user.id)
                uow.commit()
        if closed:
            return [
                OutgoingMessage(t("{ref} was closed in the meantime.", ref=ticket_ref(number))),
                *self._continue(message, t),
            ]
        return [
            OutgoingMessage(
                t(
                    "You now follow {ref}. I will post its updates here. Type /unfollow {number} to stop.",
                    ref=ticket_ref(number),
                    number=number,
                )
            )
        ]

    def _continue(self, message: TextMessage, t: Translator) -> list[OutgoingMessage]:
        return self._core.continue_problem(message, t)

    def cmd_unfollow(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/unfollow N``: stop receiving a followed ticket's updates."""
        number = parse_ticket_number(event.args)
        if number is None:
            raise InvalidCommand(usage="/unfollow N")
        with self._uow() as uow:
            removed = FollowerRepository(uow.session).remove(number, event.user.key)
            uow.commit()
        if not removed:
            return [OutgoingMessage(t("You do not follow {ref}.", ref=ticket_ref(number)), ephemeral=True)]
        return [OutgoingMessage(t("You no longer follow {ref}.", ref=ticket_ref(number)))]

    # -- follower updates -------------------------------------------------------------------

    def ticket_update(self, uow: UnitOfWork, ticket: Ticket, action: str, detail: str) -> None:
        """Tell every follower of ``ticket`` what changed, in their own chat, written in their language when
        it is delivered. What was written for the requester (a ticket's resolution note, the reason of an
        automatic close) is not passed on: a follower is another requester, and may read nothing personal;
        ``detail`` is only what was written for everyone affected (a problem's resolution)."""
        lines = follower_lines(ticket, action, detail)
        if not lines:
            return
        for follower in FollowerRepository(uow.session).for_ticket(ticket.id):
            if follower.user_key == ticket.requester_key:
                continue
            self._notifier.direct(
                uow,
                Place(follower.platform, follower.chat_id),
                lines,
                ticket,
                reader=follower.user_key,
                language=follower.language,
            )

    # -- major incidents --------------------------------------------------------------------

    def _record(self, uow: UnitOfWork, user_key: str, text: str, sig: Signature, candidate: Ticket | None) -> int:
        now = self._clock.now()
        reports = IncidentReportRepository(uow.session)
        if self._next_purge is None or now >= self._next_purge:
            reports.purge(now - REPORT_RETENTION)
            self._next_purge = now + REPORT_PURGE_EVERY
        report_id = reports.add(
            IncidentReport(at=now, user_key=user_key, text=text[:2000], ticket_id=None, signature=sig.as_data())
        )
        window = now - timedelta(minutes=self._settings.major_minutes)
        people = {user_key}
        recent = reports.signatures_since(window)
        # A report that left the window is never compared again: its signature leaves the cache with it, so
        # the cache holds the window's reports, not the last SIGNATURE_CACHE ever made.
        oldest = min((row[0] for row in recent), default=report_id)
        for stale in [known for known in self._signatures if known < oldest]:
            del self._signatures[stale]
        for other_id, other_user, other_ticket, stored, other_text in recent:
            if other_id == report_id or other_user in people:
                continue
            same_ticket = candidate is not None and other_ticket == candidate.id
            if same_ticket:
                people.add(other_user)
                continue
            if similarity(sig, self._report_signature(other_id, stored, other_text)) >= self._settings.similarity:
                people.add(other_user)
        if len(people) >= self._settings.major_reports:
            self._flag(uow, text, sig, candidate, len(people))
        return report_id

    def _report_signature(self, report_id: int, stored: dict[str, Any] | None, text: str) -> Signature:
        """A stored report's signature, kept per report id (a report never changes once made)."""
        found = self._signatures.get(report_id)
        if found is None:
            # Reports made before signatures were stored are signed from their text.
            found = Signature.from_data(stored) if stored else signature(text)
            self._signatures[report_id] = found
            while len(self._signatures) > SIGNATURE_CACHE:
                self._signatures.popitem(last=False)
        return found

    def _flag(self, uow: UnitOfWork, text: str, sig: Signature, candidate: Ticket | None, count: int) -> MajorIncident:
        now = self._clock.now()
        problems = ProblemRepository(uow.session)
        for problem in problems.open_since(now - MAJOR_DEDUP):
            if problem.source != "major":
                continue
            linked = {ticket.id for ticket in problems.tickets(problem.id)}
            if (candidate is not None and candidate.id in linked) or similarity(
                sig, signature(problem.title)
            ) >= self._settings.similarity:
                problem.reports = max(problem.reports, count)
                if candidate is not None:
                    problems.link(problem.id, candidate.id, now)
                return MajorIncident(problem.id, problem.reports, candidate.id if candidate else None, new=False)
        title = candidate.title if candidate is not None else propose_title(text)
        problem = problems.add(
            Problem(
                title=title[:200],
                status="open",
                source="major",
                reports=count,
                created_by="system",
                created_at=now,
                resolution="",
            )
        )
        if candidate is not None:
            problems.link(problem.id, candidate.id, now)
        lines: list[Line] = [
            later(
                "Major incident: {reports} within {period}: “{title}”.",
                reports=later_plural(
                    "{count} person reported a similar problem", "{count} people reported a similar problem", count
                ),
                period=later_plural("{count} minute", "{count} minutes", self._settings.major_minutes),
                title=title,
            ),
            later("Problem P{id} is open.", id=problem.id),
        ]
        if candidate is not None:
            lines.append(
                later(
                    "Ticket {ref} is linked; people who report it again are offered to follow it.",
                    ref=ticket_ref(candidate.id),
                )
            )
        lines.append(
            later(
                "/problem P{id} shows it, /link N P{id} adds tickets, /problem resolve P{id} text "
                "resolves them all and tells everyone.",
                id=problem.id,
            )
        )
        places = self._notifier.technician_places(candidate) if candidate is not None else self._places
        for place in places:
            # Written in each place's language when delivered, with the commands as its platform writes them.
            self._notifier.direct(uow, place, lines, candidate)
        logger.warning("major incident flagged: problem P%s (%d reports)", problem.id, count)
        return MajorIncident(problem.id, count, candidate.id if candidate else None, new=True)


def follower_lines(ticket: Ticket, action: str, shared: str = "") -> list[Line]:
    """What a follower of ``ticket`` is told about ``action`` (nothing: an empty list), to translate on delivery.

    Never what was written for the requester (a resolution note may name them, their desk or their phone);
    ``shared`` is a resolution written for everyone affected (a problem's), passed on as it is.
    """
    ref = ticket_ref(ticket.id)
    if action in ("claim", "assign"):
        return [later("{ref}, which you follow: a technician is working on it.", ref=ref)]
    if action == "reopen":
        return [later("{ref}, which you follow, is reopened: a technician is looking at it again.", ref=ref)]
    if action == "cancel":
        return [
            later(
                "{ref}, which you follow, was withdrawn by the person who reported it. If the problem is still "
                "there for you, describe it to me again.",
                ref=ref,
            )
        ]
    if action in ("close", "auto_close"):
        return [later("{ref}, which you follow, is closed.", ref=ref)]
    if action == "resolve" and shared:
        return [
            later("{ref}, which you follow, is resolved:", ref=ref),
            shared,
            later("If it still does not work for you, describe the problem to me again."),
        ]
    if action == "resolve":
        return [
            later("{ref}, which you follow, is resolved.", ref=ref),
            later("If it still does not work for you, describe the problem to me again."),
        ]
    if action == "escalate":
        return [later("{ref}, which you follow, is handed over to a specialised team.", ref=ref)]
    return []


def follower_text(t: Translator, ticket: Ticket, action: str, shared: str = "") -> str:
    """:func:`follower_lines` in ``t``'s language ("" for nothing)."""
    lines = follower_lines(ticket, action, shared)
    return "\n".join(line.render(t) if isinstance(line, Phrase) else line for line in lines)
