"""Problem records: one root cause, many tickets (technician commands).

* ``/problem`` — the open problems;
* ``/problem new TITLE`` — open a problem record;
* ``/problem P`` — show it: its tickets, their status, how many people are affected;
* ``/link N P`` — link ticket N to problem P;
* ``/problem resolve P TEXT`` — resolve every open linked ticket with TEXT: each requester
  is told in their ticket's thread and each follower in their own chat.
"""

from __future__ import annotations

import re

from bot.clock import Clock
from bot.db.models import Problem
from bot.db.uow import FollowerRepository, ProblemRepository, UnitOfWorkFactory
from bot.errors import HelpdeskError, InvalidCommand, TicketNotFound
from bot.i18n import Translator
from bot.lifecycle import OPEN, TECHNICIAN_STATUS_LABELS
from bot.port import OutgoingMessage, SlashCommand
from bot.presenters import ticket_ref
from bot.roles import RoleDirectory
from bot.tickets import TicketService
from bot.validation import TICKET_NUMBER_MAX, parse_ticket_number

_PROBLEM = re.compile(r"[Pp]?([0-9]{1,10})")
USAGE = "/problem [new TITLE | P | resolve P TEXT]"


def parse_problem(text: str, usage: str) -> int:
    """``P3`` or ``3`` → 3; a polite error otherwise."""
    match = _PROBLEM.fullmatch(text.strip())
    number = int(match.group(1)) if match else 0
    if not 1 <= number <= TICKET_NUMBER_MAX:
        raise InvalidCommand(usage=usage)
    return number


def problem_ref(problem_id: int) -> str:
    """How a problem is written everywhere: ``P3``."""
    return f"P{problem_id}"


class ProblemDesk:
    """The ``/problem`` and ``/link`` commands."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, roles: RoleDirectory, tickets: TicketService) -> None:
        self._uow = uow
        self._clock = clock
        self._roles = roles
        self._tickets = tickets

    def cmd_problem(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """Dispatch ``/problem`` by its first word."""
        self._roles.require_technician(event.user.key)
        head, _, rest = event.args.strip().partition(" ")
        if not head:
            return self._list(t)
        if head.lower() == "new":
            return self._new(event, rest.strip(), t)
        if head.lower() == "resolve":
            number_text, _, text = rest.strip().partition(" ")
            if not text.strip():
                raise InvalidCommand(usage="/problem resolve P TEXT")
            return self._resolve(event, parse_problem(number_text, "/problem resolve P TEXT"), text.strip(), t)
        return self._show(parse_problem(head, USAGE), t)

    def cmd_link(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/link N P``: link ticket N to problem P."""
        self._roles.require_technician(event.user.key)
        parts = event.args.split()
        number = parse_ticket_number(parts[0]) if len(parts) == 2 else None
        if number is None:
            raise InvalidCommand(usage="/link N P")
        problem_id = parse_problem(parts[1], "/link N P")
        with self._uow() as uow:
            problems = ProblemRepository(uow.session)
            problem = self._get(problems, problem_id)
            if uow.tickets.get(number) is None:
                raise TicketNotFound(number=number)
            added = problems.link(problem_id, number, self._clock.now())
            count = len(problems.tickets(problem_id))
            uow.commit()
        if not added:
            return [
                OutgoingMessage(
                    t("{ref} is already linked to {problem}.", ref=ticket_ref(number), problem=problem_ref(problem.id))
                )
            ]
        return [
            OutgoingMessage(
                t.plural(
                    "{ref} is linked to {problem} ({count} ticket).",
                    "{ref} is linked to {problem} ({count} tickets).",
                    count,
                    ref=ticket_ref(number),
                    problem=problem_ref(problem.id),
                )
            )
        ]

    # -- sub-commands -------------------------------------------------------------------------

    def _list(self, t: Translator) -> list[OutgoingMessage]:
        with self._uow() as uow:
            problems = ProblemRepository(uow.session)
            rows = [(p, len(problems.tickets(p.id))) for p in problems.open_since(None)]
        if not rows:
            return [OutgoingMessage(t("No open problem. Open one with /problem new TITLE."))]
        lines = [t("Open problems:")]
        lines += [
            t.plural(
                "{problem} “{title}” — {count} ticket",
                "{problem} “{title}” — {count} tickets",
                n,
                problem=problem_ref(p.id),
                title=p.title,
            )
            for p, n in rows
        ]
        return [OutgoingMessage("\n".join(lines))]

    def _new(self, event: SlashCommand, title: str, t: Translator) -> list[OutgoingMessage]:
        if not title:
            raise InvalidCommand(usage="/problem new TITLE")
        if len(title) > 200:
            raise InvalidCommand(
                "That text is too long ({length} characters, at most {limit}).", length=len(title), limit=200
            )
        with self._uow() as uow:
            problem = ProblemRepository(uow.session).add(
                Problem(
                    title=title,
                    status="open",
                    source="manual",
                    reports=0,
                    created_by=event.user.key,
                    created_at=self._clock.now(),
                    resolution="",
                )
            )
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "Problem {problem} “{title}” is open. Link tickets with /link N {problem}.",
                    problem=problem_ref(problem.id),
                    title=title,
                )
            )
        ]

    def _show(self, problem_id: int, t: Translator) -> list[OutgoingMessage]:
        with self._uow() as uow:
            problems = ProblemRepository(uow.session)
            problem = self._get(problems, problem_id)
            followers = FollowerRepository(uow.session)
            tickets = [(ticket, followers.count(ticket.id)) for ticket in problems.tickets(problem_id)]
        status = t("resolved") if problem.status == "resolved" else t("open")
        people = sum(1 + n for _, n in tickets)
        lines = [
            t(
                "Problem {problem} “{title}” ({status})",
                problem=problem_ref(problem.id),
                title=problem.title,
                status=status,
            )
        ]
        if problem.source == "major":
            lines.append(
                t.plural(
                    "Flagged as a major incident: {count} similar report.",
                    "Flagged as a major incident: {count} similar reports.",
                    problem.reports,
                )
            )
        lines.append(
            t(
                "{tickets}, {people}.",
                tickets=t.plural("{count} ticket", "{count} tickets", len(tickets)),
                people=t.plural("{count} person affected", "{count} people affected", people),
            )
        )
        for ticket, count in tickets:
            lines.append(
                t.plural(
                    "{ref} “{title}” — {status}, {count} follower",
                    "{ref} “{title}” — {status}, {count} followers",
                    count,
                    ref=ticket_ref(ticket.id),
                    title=ticket.title,
                    status=t(TECHNICIAN_STATUS_LABELS.get(ticket.status, ticket.status)),
                )
            )
        if problem.resolution:
            lines += [t("Resolution:"), problem.resolution]
        return [OutgoingMessage("\n".join(lines))]

    def _resolve(self, event: SlashCommand, problem_id: int, text: str, t: Translator) -> list[OutgoingMessage]:
        with self._uow() as uow:
            problem = self._get(ProblemRepository(uow.session), problem_id)
            if problem.status == "resolved":
                return [OutgoingMessage(t("{problem} is already resolved.", problem=problem_ref(problem_id)))]
            numbers = [
                ticket.id for ticket in ProblemRepository(uow.session).tickets(problem_id) if ticket.status in OPEN
            ]
        resolved: list[int] = []
        people = 0
        for number in numbers:
            # One transaction per ticket: its requester and followers are told with its own change.
            try:
                self._tickets.resolve(event.user, number, text, for_followers=True)
            except HelpdeskError:
                continue  # changed meanwhile (resolved or cancelled by someone else)
            resolved.append(number)
            with self._uow() as uow:
                people += 1 + FollowerRepository(uow.session).count(number)
        with self._uow() as uow:
            problem = self._get(ProblemRepository(uow.session), problem_id, for_update=True)
            problem.status = "resolved"
            problem.resolution = text
            problem.resolved_at = self._clock.now()
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "{problem} is resolved: {tickets}, {people}.",
                    problem=problem_ref(problem_id),
                    tickets=t.plural("{count} ticket resolved", "{count} tickets resolved", len(resolved)),
                    people=t.plural("{count} person notified", "{count} people notified", people),
                )
            )
        ]

    @staticmethod
    def _get(problems: ProblemRepository, problem_id: int, *, for_update: bool = False) -> Problem:
        problem = problems.get(problem_id, for_update=for_update)
        if problem is None:
            raise InvalidCommand(
                "There is no problem {problem}. Type /problem to list the open ones.", problem=problem_ref(problem_id)
            )
        return problem
