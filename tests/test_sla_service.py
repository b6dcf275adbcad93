"""Due times on open, the estimate told to the requester, pauses while waiting, configuration and routing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sla_support import FRIDAY_1630, Desk, make_app, outbox_texts

from bot.clock import FrozenClock
from bot.config import parse_config
from bot.errors import ConfigError


def test_friday_afternoon_p1_is_due_monday_and_the_requester_is_told(tmp_path: Path) -> None:
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(FRIDAY_1630)))
    number = desk.open(impact="site", urgency="high")
    with desk.app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.priority == "P1"
        assert ticket.response_due_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 Brussels
        assert ticket.resolution_due_at == datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # Monday 12:00
    [confirmation] = [t for t in outbox_texts(desk.app, "dm:alice") if t.startswith("Your ticket #1 is open")]
    assert "A technician will pick this up by Mon 30 November at 09:00 (working hours: 08:30–17:00)." in confirmation
    lines = desk.alice.say(f"/ticket {number}")
    assert "│ Pick-up expected by: Mon 30 November at 09:00" in lines
    assert "│ Resolution expected by: Mon 30 November at 12:00" in lines


def test_configured_matrix_targets_and_late_thursday_set_the_due_times(tmp_path: Path) -> None:
    thursday_1800 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    app = make_app(
        tmp_path / "h.db",
        FrozenClock(thursday_1800),
        calendar={"hours": {"thu": "08:30-19:00"}},
        priority={"matrix": {"me": {"high": "P2"}}, "targets": {"P2": {"response": "90m"}}},
    )
    desk = Desk(app)
    number = desk.open(impact="me", urgency="high")
    with app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.priority == "P2"
        # One working hour left on Thursday, 30 minutes on Friday morning.
        assert ticket.response_due_at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_waiting_on_the_requester_pauses_the_resolution_clock(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open(impact="team", urgency="high")  # P2: resolution Monday 17:00
    desk.bob.say(f"/wait {number} Which printer?")
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    lines = desk.alice.say(f"/ticket {number}")
    assert "│ Resolution expected by: paused while waiting for the requester" in lines
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # answered Tuesday 09:00: 8.5 working hours later
    desk.alice.say(f"/comment {number} PRT-204")
    with desk.app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "in_progress" and ticket.waiting_since is None
        assert ticket.paused_seconds == 8.5 * 3600
        assert ticket.resolution_due_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # Tuesday 17:00


def test_priority_change_moves_the_due_times(tmp_path: Path) -> None:
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))))
    number = desk.open(impact="me", urgency="low")  # P4: pick-up within 8 h
    desk.bob.say(f"/priority {number} P1")
    with desk.app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.response_due_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_bad_sla_section_is_one_readable_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "sla": {
                    "warning_fraction": 1.5,
                    "levels": {"L4": {}},
                    "team_leads": {"places": ["leads-without-platform"]},
                    "calendar": {"hours": {"thu": "19:00-08:30"}},
                }
            }
        )
    message = str(caught.value)
    assert "4 problem(s)" in message
    for fragment in ("sla.warning_fraction", "sla.levels.L4", "sla.team_leads.places", "thu:"):
        assert fragment in message


def test_waiting_reminders_must_come_before_the_close() -> None:
    with pytest.raises(ConfigError, match="must come before waiting_close_days"):
        parse_config({"sla": {"waiting_reminder_days": [2, 8], "waiting_close_days": 7}})


def test_categories_route_cards_to_their_own_places(tmp_path: Path) -> None:
    app = make_app(
        tmp_path / "h.db",
        FrozenClock(FRIDAY_1630),
        categories={"helpline": {"technicians": ["console:hank"], "places": ["console:helpline"]}},
    )
    desk = Desk(app)
    helpline = desk.open(title="Password expired", category="helpline")
    hardware = desk.open(title="Screen broken", category="helpdesk")
    assert any(f"#{helpline} · Password expired" in t for t in outbox_texts(app, "helpline"))
    assert not any("Password expired" in t for t in outbox_texts(app, "triage"))
    assert any(f"#{hardware} · Screen broken" in t for t in outbox_texts(app, "triage"))
    assert app.roles.is_technician("console:hank")
    desk.bob.say(f"/category {hardware} helpline")
    assert any(f"#{hardware} · Screen broken" in t for t in outbox_texts(app, "helpline"))


def test_complaint_intake_reaches_the_team_leads_only(tmp_path: Path) -> None:
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(FRIDAY_1630)))
    lines = desk.alice.say("/complaint Nobody answered my calls for a week")
    assert lines[0] == "Your complaint goes to the team leads only. Let's describe it."
    assert "Proposed title: “Nobody answered my calls for a week”" in lines[1]
    # keep title, skip description, error, URL and start, then impact, urgency, contact, open
    for choice in ("1", "1", "1", "1", "5", "1", "3"):
        desk.alice.say(choice)
    assert "Type: complaint" in desk.alice.say("1")  # the summary
    assert "│ Type: complaint" in desk.alice.say("1")  # open: the confirmation card
    desk.poll_all()
    with desk.app.uow() as uow:
        [ticket] = uow.tickets.for_requester("console:alice")
        assert ticket.type == "complaint"
    leads = outbox_texts(desk.app, "leads")
    assert any("Nobody answered my calls" in t for t in leads)
    assert not any("Nobody answered my calls" in t for t in outbox_texts(desk.app, "triage"))
    assert not any("Nobody answered my calls" in t for t in outbox_texts(desk.app, "l2"))
