"""Statistics on a hand-made data set: every expected figure below is worked out by hand.

The desk works Monday–Friday 08:30–17:00 Europe/Brussels (UTC+1 in early March 2026, no
holiday). The period is Monday 2 – Friday 13 March 2026; "now" is Saturday 14 March 10:00 UTC.

Tickets (times are local; ``R`` = response due, ``D`` = resolution due):

=== ========= ======== == ======== =====================================================================
#   category  type     P  platform life
=== ========= ======== == ======== =====================================================================
1   helpdesk  incident P3 slack    Mon 2 09:00; Bob claims 10:00; resolves 12:00; closed Tue 10.
                                   R 11:00 D 17:00
2   helpline  request  P2 telegram Mon 2 16:00; Tom claims Tue 09:00; waits 10:00-14:00; resolves Wed 11:00.
                                   R Mon 16:30 (breached) D Wed 17:00 (met)
3   helpdesk  incident P1 slack    Wed 4 09:00; Bob claims 09:30; assigns Tom 10:00; resolves Thu 09:00;
                                   requester reopens Fri 10:00; Tom resolves Fri 12:00. R 10:00 D Wed 13:00
4   helpdesk  complnt  P4 console  Thu 5 15:00; nobody answers. R Fri 6 15:00 (breached) D Fri 20 (pending)
5   helpline  incident P3 slack    Mon 9 09:00; Bob claims 09:00; waits from 09:30 on. R 10:00 D 13:00
6   helpdesk  incident P3 slack    Fri 13 16:30; cancelled 16:45.
7   helpdesk  incident P3 slack    Fri 27 Feb (before the period); Bob claims; resolved Sat 14 09:00 UTC
8   helpdesk  incident P3 slack    Tue 10 09:00; Bob resolves at once 10:00. R 09:30 (breached) D 17:00
9   helpdesk  incident P3 slack    Wed 11 10:00; new, no due times.
10  helpline  request  P4 telegram Fri 13 22:00; new. R Mon 16 09:30 (pending) D Fri 20 (pending)
=== ========= ======== == ======== =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import Satisfaction, SuggestionLog, Ticket, TicketEvent
from bot.port import Place, SlashCommand, User
from bot.reports import build_report, calendar_of
from bot.reports.render import stats_dict
from bot.reports.stats import (
    Durations,
    Period,
    Stats,
    cluster_titles,
    compute_stats,
    parse_period,
    period_between,
)

BXL = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 3, 14, 10, 0, tzinfo=UTC)
BOB = ("console:bob", "Bob Tech")
TOM = ("console:tom", "Tom Tech")
LEAD = User("console", "lead", "Lea Lead", "en")
PERIOD = period_between(datetime(2026, 3, 2).date(), datetime(2026, 3, 13).date(), BXL)


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A Brussels wall-clock time in 2026 as an aware datetime."""
    return datetime(2026, month, day, hour, minute, tzinfo=BXL)


class Seeder:
    """Writes tickets, events, suggestions and answers with explicit timestamps."""

    def __init__(self, app: HelpdeskApp) -> None:
        self.app = app
        self.rows: list[Any] = []

    def ticket(
        self,
        number: int,
        created: datetime,
        *,
        category: str = "helpdesk",
        type: str = "incident",
        priority: str = "P3",
        platform: str = "slack",
        title: str = "",
        requester: str = "",
        status: str = "new",
        response_due: datetime | None = None,
        resolution_due: datetime | None = None,
        **extra: Any,
    ) -> Ticket:
        ticket = Ticket(
            id=number,
            title=title or f"Ticket {number}",
            description=f"Details of ticket {number}",
            type=type,
            category=category,
            priority=priority,
            status=status,
            requester_key=requester or f"{platform}:user{number}",
            requester_name=f"User {number}",
            origin_platform=platform,
            origin_chat_id=f"chat{number}",
            channel=extra.pop("channel", platform),
            created_at=created,
            updated_at=created,
            response_due_at=response_due,
            resolution_due_at=resolution_due,
            contact_name=f"User {number}",
            contact_email=f"user{number}@example.be",
            contact_phone="+32 2 000 00 00",
            **extra,
        )
        self.rows.append(ticket)
        self.rows.append(
            TicketEvent(
                ticket_id=number,
                at=created,
                actor_key=ticket.requester_key,
                actor_name=ticket.requester_name,
                kind="created",
                to_value="new",
                text=ticket.title,
            )
        )
        return ticket

    def status(self, number: int, at: datetime, old: str, new: str, who: tuple[str, str] = BOB) -> None:
        self.rows.append(
            TicketEvent(
                ticket_id=number,
                at=at,
                actor_key=who[0],
                actor_name=who[1],
                kind="status",
                from_value=old,
                to_value=new,
            )
        )

    def assign(self, number: int, at: datetime, to: tuple[str, str], by: tuple[str, str] = BOB) -> None:
        self.rows.append(
            TicketEvent(ticket_id=number, at=at, actor_key=by[0], actor_name=by[1], kind="assignee", to_value=to[1])
        )

    def comment(self, number: int, at: datetime, who: tuple[str, str], text: str) -> None:
        self.rows.append(
            TicketEvent(ticket_id=number, at=at, actor_key=who[0], actor_name=who[1], kind="comment", text=text)
        )

    def suggestion(self, user: str, at: datetime, outcome: str, ticket_id: int | None = None) -> None:
        self.rows.append(
            SuggestionLog(
                at=at,
                user_key=user,
                platform=user.split(":")[0],
                query=f"help {user}",
                article_ids={"ids": ["vpn"], "scores": [0.9]},
                outcome=outcome,
                ticket_id=ticket_id,
            )
        )

    def satisfaction(self, number: int, at: datetime, score: int) -> None:
        self.rows.append(Satisfaction(ticket_id=number, score=score, comment="merci", at=at))

    def commit(self) -> None:
        with self.app.uow() as uow:
            tickets = [r for r in self.rows if isinstance(r, Ticket)]
            uow.session.add_all(tickets)
            uow.session.flush()
            uow.session.add_all([r for r in self.rows if not isinstance(r, Ticket)])
            uow.commit()


def seed(app: HelpdeskApp) -> None:
    """The data set of the module docstring."""
    s = Seeder(app)
    t1 = s.ticket(
        1,
        local(2, 9),
        title="VPN ne se connecte pas",
        status="closed",
        response_due=local(2, 11),
        resolution_due=local(2, 17),
        first_response_at=local(2, 10),
        resolved_at=local(2, 12),
        closed_at=local(10, 10),
        assignee_key=BOB[0],
        assignee_name=BOB[1],
    )
    s.status(1, local(2, 10), "new", "in_progress")
    s.assign(1, local(2, 10), BOB)
    s.comment(1, local(2, 12), BOB, "Reinstalled the VPN client for Mrs User 1")
    s.status(1, local(2, 12), "in_progress", "resolved")
    s.status(1, local(10, 10), "resolved", "closed", ("system", "helpdesk-bot"))
    s.satisfaction(1, local(10, 10, 5), 5)
    assert t1.id == 1

    s.ticket(
        2,
        local(2, 16),
        category="helpline",
        type="request",
        priority="P2",
        platform="telegram",
        title="Mot de passe expiré",
        requester="telegram:TB",
        status="resolved",
        response_due=local(2, 16, 30),
        resolution_due=local(4, 17),
        first_response_at=local(3, 9),
        resolved_at=local(4, 11),
        assignee_key=TOM[0],
        assignee_name=TOM[1],
    )
    s.status(2, local(3, 9), "new", "in_progress", TOM)
    s.assign(2, local(3, 9), TOM, TOM)
    s.status(2, local(3, 10), "in_progress", "waiting", TOM)
    s.status(2, local(3, 14), "waiting", "in_progress", ("telegram:TB", "User 2"))
    s.status(2, local(4, 11), "in_progress", "resolved", TOM)
    s.satisfaction(2, local(5, 9), 3)

    s.ticket(
        3,
        local(4, 9),
        priority="P1",
        title="Le VPN ne se connecte plus",
        status="resolved",
        response_due=local(4, 10),
        resolution_due=local(4, 13),
        first_response_at=local(4, 9, 30),
        resolved_at=local(6, 12),
        assignee_key=TOM[0],
        assignee_name=TOM[1],
    )
    s.status(3, local(4, 9, 30), "new", "in_progress")
    s.assign(3, local(4, 9, 30), BOB)
    s.assign(3, local(4, 10), TOM)
    s.status(3, local(5, 9), "in_progress", "resolved", TOM)
    s.status(3, local(6, 10), "resolved", "in_progress", ("slack:user3", "User 3"))
    s.status(3, local(6, 12), "in_progress", "resolved", TOM)

    s.ticket(
        4,
        local(5, 15),
        type="complaint",
        priority="P4",
        platform="console",
        title="Imprimante bloquée",
        requester="console:g",
        response_due=local(6, 15),
        resolution_due=local(20, 15),
    )

    s.ticket(
        5,
        local(9, 9),
        category="helpline",
        title="VPN ne se connecte pas depuis ce matin",
        status="waiting",
        response_due=local(9, 10),
        resolution_due=local(9, 13),
        first_response_at=local(9, 9),
        assignee_key=BOB[0],
        assignee_name=BOB[1],
    )
    s.status(5, local(9, 9), "new", "in_progress")
    s.assign(5, local(9, 9), BOB)
    s.status(5, local(9, 9, 30), "in_progress", "waiting")

    s.ticket(6, local(13, 16, 30), title="Écran noir", status="cancelled", response_due=local(16, 9))
    s.status(6, local(13, 16, 45), "new", "cancelled", ("slack:user6", "User 6"))

    s.ticket(
        7,
        local(27, 10, month=2),
        title="Teams plante",
        status="resolved",
        first_response_at=local(27, 11, month=2),
        resolved_at=datetime(2026, 3, 14, 9, tzinfo=UTC),
        assignee_key=BOB[0],
        assignee_name=BOB[1],
    )
    s.status(7, local(27, 11, month=2), "new", "in_progress")
    s.assign(7, local(27, 11, month=2), BOB)
    s.status(7, datetime(2026, 3, 14, 9, tzinfo=UTC), "in_progress", "resolved")
    s.satisfaction(7, datetime(2026, 3, 14, 9, 30, tzinfo=UTC), 1)

    s.ticket(
        8,
        local(10, 9),
        title="Teams plante au démarrage",
        status="resolved",
        response_due=local(10, 9, 30),
        resolution_due=local(10, 17),
        first_response_at=local(10, 10),
        resolved_at=local(10, 10),
        assignee_key=BOB[0],
        assignee_name=BOB[1],
    )
    s.status(8, local(10, 10), "new", "resolved")
    s.assign(8, local(10, 10), BOB)

    s.ticket(9, local(11, 10), title="Teams plante", requester="slack:E", channel="phone")  # a call logged

    s.ticket(
        10,
        local(13, 22),
        category="helpline",
        type="request",
        priority="P4",
        platform="telegram",
        title="Accès au dossier partagé",
        response_due=local(16, 9, 30),
        resolution_due=local(20, 9),
    )

    s.suggestion("slack:A", local(2, 8), "solved")  # confirmed
    s.suggestion("telegram:TB", local(2, 15, 30), "shown")  # ticket #2 half an hour later: none
    s.suggestion("slack:C", local(4, 10), "ignored")  # no ticket ever: potential
    s.suggestion("slack:D", local(5, 10), "not_solved")  # said it did not help: none
    s.suggestion("console:g", local(5, 14, 55), "shown", ticket_id=4)  # led to ticket #4: none
    s.suggestion("slack:E", local(10, 11), "shown")  # ticket #9 23 hours later: none
    s.suggestion("slack:F", local(13, 18), "shown")  # the day is not over at NOW: pending
    s.suggestion("slack:H", local(28, 10, month=2), "solved")  # before the period: not counted
    s.commit()


@pytest.fixture
def seeded(make_app: Callable[..., HelpdeskApp]) -> HelpdeskApp:
    app = make_app(clock=FrozenClock(NOW), roles={"team_leads": [LEAD.key], "technicians": [BOB[0], TOM[0]]})
    seed(app)
    return app


@pytest.fixture
def stats(seeded: HelpdeskApp) -> Stats:
    return compute_stats(seeded.uow, calendar_of(seeded), PERIOD, NOW)


# -- the figures --------------------------------------------------------------------------------


def test_period_boundaries_are_local_midnights() -> None:
    assert PERIOD.start == datetime(2026, 3, 1, 23, tzinfo=UTC)
    assert PERIOD.end == datetime(2026, 3, 13, 23, tzinfo=UTC)
    march = parse_period("2026-03", NOW, BXL)
    # 1 March is CET (UTC+1), 1 April is CEST (UTC+2).
    assert (march.start, march.end) == (
        datetime(2026, 2, 28, 23, tzinfo=UTC),
        datetime(2026, 3, 31, 22, tzinfo=UTC),
    )
    assert parse_period("7d", NOW, BXL) == Period(NOW - timedelta(days=7), NOW, "7d")
    assert parse_period("", NOW, BXL).label == "7d"
    for bad in ("2026-13", "yesterday", "0d", "12"):
        with pytest.raises(ValueError):
            parse_period(bad, NOW, BXL)


def test_counts_by_category_type_priority_and_platform(stats: Stats) -> None:
    assert stats.opened == 9  # #7 was opened before the period
    assert stats.by_category == {"helpdesk": 6, "helpline": 3}
    assert stats.by_type == {"incident": 6, "request": 2, "complaint": 1}
    assert stats.by_priority == {"P3": 5, "P4": 2, "P1": 1, "P2": 1}
    assert stats.by_platform == {"slack": 6, "telegram": 2, "console": 1}
    assert stats.by_channel == {"slack": 5, "telegram": 2, "console": 1, "phone": 1}


def test_first_response_in_working_hours(stats: Stats) -> None:
    # #1 1 h, #2 Mon 16:00-17:00 + Tue 08:30-09:00 = 1.5 h, #3 0.5 h, #5 0 h, #8 1 h.
    assert stats.first_response == Durations(5, 1.0, 1.5)


def test_resolution_time_and_shares_within_8_and_24_working_hours(stats: Stats) -> None:
    # #1 3 h; #2 1 + 8.5 + 2.5 = 12 h; #3 (last resolution Fri 12:00) 8 + 8.5 + 3.5 = 20 h; #8 1 h.
    # #7 is resolved after the period: not counted.
    assert stats.resolved == 4
    assert stats.resolution == Durations(4, 7.5, 20.0)
    assert (stats.within_8h.part, stats.within_8h.whole) == (2, 4)
    assert (stats.within_24h.part, stats.within_24h.whole) == (4, 4)


def test_sla_compliance(stats: Stats) -> None:
    # Response: met #1 #3 #5; breached #2 (late), #4 (no answer, due past), #8 (late);
    # #10 pending (due Monday), #6 cancelled, #9 without due time.
    assert (stats.sla.response.part, stats.sla.response.whole, stats.sla.response_pending) == (3, 6, 1)
    # Resolution: met #1 #2 #8; breached #3; pending #4 (not due), #5 (waiting: clock paused), #10.
    assert (stats.sla.resolution.part, stats.sla.resolution.whole, stats.sla.resolution_pending) == (3, 4, 3)
    week1, week2 = local(2, 0).date(), local(9, 0).date()
    assert list(stats.weekly_sla) == [week1, week2]
    assert (stats.weekly_sla[week1].response.part, stats.weekly_sla[week1].response.whole) == (2, 4)
    assert (stats.weekly_sla[week1].resolution.part, stats.weekly_sla[week1].resolution.whole) == (2, 3)
    assert (stats.weekly_sla[week2].response.part, stats.weekly_sla[week2].response.whole) == (1, 2)
    assert (stats.weekly_sla[week2].resolution.part, stats.weekly_sla[week2].resolution.whole) == (1, 1)


def test_backlog_by_age_at_the_end_of_the_period(stats: Stats) -> None:
    # Open on Fri 13 24:00: #10 (2 h old), #9 (2.6 days), #5 (4.6 days, waiting), #4 (8.4 days) and #7
    # (15 days; resolved on Saturday, after the period, so it still counts).
    assert stats.backlog_as_of == PERIOD.end
    assert stats.backlog == {"<1d": 1, "1-3d": 1, "3-7d": 1, "7-30d": 2, ">30d": 0}
    assert stats.backlog_total == 5


def test_deflection_never_counts_silence_as_success(stats: Stats) -> None:
    d = stats.deflection
    assert (d.shown, d.confirmed, d.potential, d.none, d.pending) == (7, 1, 1, 4, 1)
    assert d.decided == 6


def test_first_contact_resolution_and_reopen_rate(stats: Stats) -> None:
    # FCR: #1 and #8. Not #2 (waited), not #3 (reassigned, reopened). Reopened within 7 days: #3.
    assert (stats.first_contact.part, stats.first_contact.whole) == (2, 4)
    assert (stats.reopened.part, stats.reopened.whole) == (1, 4)


def test_satisfaction_in_the_period(stats: Stats) -> None:
    # Scores 5 (#1) and 3 (#2); the 1 for #7 was given after the period.
    assert (stats.satisfaction.count, stats.satisfaction.average) == (2, 4.0)


def test_load_per_technician(stats: Stats) -> None:
    loads = [(x.name, x.resolved, x.open) for x in stats.technicians]
    # Bob resolved #1 and #8 and holds #5 (waiting); Tom resolved #2 and #3. The system's closing of #1 is no
    # resolution; #7 was resolved after the period and is no longer open.
    assert loads == [("Bob Tech", 2, 1), ("Tom Tech", 2, 0)]


def test_top_recurring_issues(stats: Stats) -> None:
    assert [(c.title, c.count, c.tickets) for c in stats.top_issues] == [
        ("VPN ne se connecte pas", 3, (1, 3, 5)),
        ("Teams plante au démarrage", 2, (8, 9)),
    ]


def test_weekly_volume_by_category(stats: Stats) -> None:
    assert stats.weekly_volume == {
        local(2, 0).date(): {"helpdesk": 3, "helpline": 1},
        local(9, 0).date(): {"helpline": 2, "helpdesk": 3},
    }


def test_clustering_is_greedy_and_keeps_singletons_out() -> None:
    clusters = cluster_titles(
        [
            (1, "Imprimante en panne"),
            (2, "Outlook ne démarre pas"),
            (3, "L'imprimante est en panne"),
            (4, "outlook ne démarre plus"),
            (5, "Imprimante en panne au 2e étage"),
            (6, "Bonjour"),
        ]
    )
    assert [(c.count, c.tickets) for c in clusters] == [(3, (1, 3, 5)), (2, (2, 4))]


def test_empty_period_has_no_figures(seeded: HelpdeskApp) -> None:
    empty = period_between(datetime(2025, 1, 6).date(), datetime(2025, 1, 10).date(), BXL)
    stats = compute_stats(seeded.uow, calendar_of(seeded), empty, NOW)
    assert stats.opened == 0 and stats.resolved == 0
    assert stats.first_response == Durations(0, None, None)
    assert stats.within_8h.share is None
    assert stats.satisfaction.average is None
    assert stats.backlog_total == 0


# -- rendering, charts, chat command ------------------------------------------------------------


def test_report_text_json_csv_and_charts(seeded: HelpdeskApp) -> None:
    report = build_report(seeded, PERIOD, language="en")
    assert "Tickets opened: 9" in report.text
    assert "First response (working hours): median 1.0 hr · p90 1.5 hrs (5 tickets)" in report.text
    assert "SLA compliance: response 50% (3/6) · resolution 75% (3/4)" in report.text
    assert "confirmed 17% (1/6) · potential 17% (1/6) · none 67% (4/6) · pending 1" in report.text
    assert "Bob Tech: 2 resolved, 1 open" in report.text
    assert "VPN ne se connecte pas ×3 (#1, #3, #5)" in report.text
    assert "by channel: slack 5 · telegram 2 · console 1 · phone 1" in report.text
    data = stats_dict(report.stats)
    assert data["deflection"]["confirmed"] == 1
    assert data["resolution_hours"] == {"count": 4, "median_hours": 7.5, "p90_hours": 20.0}
    import json

    assert json.loads(report.json)["backlog"]["by_age"]["7-30d"] == 2
    assert "first_contact_resolution.part,2\n" in report.csv
    names = [name for name, _ in report.charts]
    assert names == [f"volume-{PERIOD.label}.png", f"sla-{PERIOD.label}.png", f"backlog-{PERIOD.label}.png"]
    for _, png in report.charts:
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_counts_in_the_french_report_agree_with_their_number(seeded: HelpdeskApp) -> None:
    text = build_report(seeded, PERIOD, language="fr").text.replace("\u202f", " ")
    assert "Bob Tech : 2 résolus, 1 ouvert" in text
    assert "Tom Tech : 2 résolus, 0 ouvert" in text
    assert "(2 réponses)" in text and "1 tickets" not in text
    # Decimal comma, French units and buckets, no English left.
    assert "Satisfaction : 4,0 / 5" in text
    assert "médiane 7,5 h · p90 20,0 h (4 tickets)" in text
    assert "< 1 j 1 · 1–3 j 1 · 3–7 j 1 · 7–30 j 2 · > 30 j 0" in text
    assert "<1d" not in text and "incident 6 · demande 2" in text
    assert "par canal : slack 5 · telegram 2 · console 1 · téléphone 1" in text


def test_stats_command_for_team_leads_only(seeded: HelpdeskApp) -> None:
    place = Place("console", "lead-dm")
    [reply] = seeded.handle(SlashCommand(LEAD, place, "stats", "2026-03"))
    text = reply.message.text
    assert "2026-03" in text and "Tickets opened: 9" in text  # the whole of March: #7 was opened in February
    # The three charts come with the text, titled like the charts themselves.
    assert reply.place == place and not reply.message.ephemeral
    images = reply.message.images
    assert [(i.filename, i.title) for i in images] == [
        ("volume-2026-03.png", "Tickets opened per week, by category"),
        ("sla-2026-03.png", "SLA compliance per week (%)"),
        ("backlog-2026-03.png", "Backlog by age (4 open)"),
    ]
    assert all(i.data.startswith(b"\x89PNG\r\n\x1a\n") and len(i.data) > 5_000 for i in images)
    technician = User("console", "bob", "Bob Tech", "en")
    denied = seeded.handle(SlashCommand(technician, place, "stats", ""))
    assert [(r.message.text, r.message.images) for r in denied] == [("Only team leads can see the statistics.", ())]
    requester = User("console", "alice", "Alice Dupont", "fr")
    [refused] = seeded.handle(SlashCommand(requester, place, "stats", "30d"))
    assert refused.message.text == "Seuls les chefs d'équipe peuvent consulter les statistiques."
    assert refused.message.images == () and refused.message.ephemeral
    bad = seeded.handle(SlashCommand(LEAD, place, "stats", "last-year"))
    assert "/stats [7d|30d|YYYY-MM]" in bad[0].message.text and bad[0].message.images == ()


def test_stats_chart_titles_are_in_the_team_leads_language(seeded: HelpdeskApp) -> None:
    lead_nl = User("console", "lead", "Lea Lead", "nl")
    [reply] = seeded.handle(SlashCommand(lead_nl, Place("console", "lead-dm"), "stats", "7d"))
    from bot.i18n import translator

    t = translator("nl")
    assert [i.title for i in reply.message.images] == [
        t("Tickets opened per week, by category"),
        t("SLA compliance per week (%)"),
        t.plural("Backlog by age ({count} open)", "Backlog by age ({count} open)", 4),
    ]
    assert reply.message.images[0].title != "Tickets opened per week, by category"


def test_matplotlib_is_loaded_only_when_charts_are_drawn() -> None:
    import subprocess
    import sys

    script = (
        "import sys, bot.bootstrap, bot.reports, bot.reports.feature, adapters.console.chat\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported at start-up'\n"
        "import bot.reports.charts, matplotlib\n"
        "assert matplotlib.get_backend().lower() == 'agg', matplotlib.get_backend()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_stats_command_last_days(seeded: HelpdeskApp) -> None:
    text = seeded.handle(SlashCommand(LEAD, Place("console", "lead-dm"), "stats", "7d"))[0].message.text
    # Since Sat 7 March 10:00 UTC: #5, #6, #8, #9, #10.
    assert "Tickets opened: 5" in text


# -- statistics survive anonymisation; the command line -----------------------------------------


def test_figures_are_unchanged_once_personal_data_is_anonymised(seeded: HelpdeskApp) -> None:
    from bot.privacy.service import anonymise_before

    before = stats_dict(compute_stats(seeded.uow, calendar_of(seeded), PERIOD, NOW))
    # Everything finished is anonymised (#1 closed, #6 cancelled), and every suggestion.
    assert anonymise_before(seeded.uow, NOW + timedelta(days=1), NOW) == 2
    with seeded.uow() as uow:
        first = uow.session.get(Ticket, 1)
        assert first is not None and first.requester_key.startswith("anonymous:") and first.description == ""
        assert all(log.query == "" for log in uow.session.scalars(select(SuggestionLog)))
    after = stats_dict(compute_stats(seeded.uow, calendar_of(seeded), PERIOD, NOW))
    assert after == before


@pytest.fixture
def cli_config(seeded: HelpdeskApp, db_url: str, tmp_path: Any) -> Any:
    path = tmp_path / "bot.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return path


def test_cli_report_formats(cli_config: Any, tmp_path: Any) -> None:
    import json

    from click.testing import CliRunner

    from bot.cli import main

    base = ["--config", str(cli_config), "report", "--since", "2026-03-02", "--until", "2026-03-13"]
    runner = CliRunner()
    text = runner.invoke(main, base)
    assert text.exit_code == 0, text.output
    assert "Service desk statistics 2026-03-02_2026-03-13" in text.output and "Tickets opened: 9" in text.output
    as_json = runner.invoke(main, [*base, "--format", "json"])
    data = json.loads(as_json.output)
    assert data["opened"] == 9 and data["by_category"] == {"helpdesk": 6, "helpline": 3}
    target = tmp_path / "out" / "report.csv"
    as_csv = runner.invoke(main, [*base, "--format", "csv", "--output", str(target)])
    assert as_csv.exit_code == 0
    assert "opened,9\n" in target.read_text(encoding="utf-8")
    charts = runner.invoke(main, [*base, "--format", "png", "--output", str(tmp_path / "charts")])
    assert charts.exit_code == 0
    written = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert written == [f"backlog-{PERIOD.label}.png", f"sla-{PERIOD.label}.png", f"volume-{PERIOD.label}.png"]
    backwards = runner.invoke(
        main, ["--config", str(cli_config), "report", "--since", "2026-03-13", "--until", "2026-03-02"]
    )
    assert backwards.exit_code == 2 and "--until is before --since" in backwards.output
