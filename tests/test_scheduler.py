"""The service-level scheduler: every reminder, warning, breach and auto-close fires once, in working time,
with one process or two on the same database, and catches up once after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sla_support import FRIDAY_1630, Desk, action_count, actions, count_texts, make_app

from bot.clock import FrozenClock


def test_friday_afternoon_ticket_is_recalled_warned_and_escalated_once(tmp_path: Path) -> None:
    clock = FrozenClock(FRIDAY_1630)
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open(impact="site", urgency="high")  # P1: pick-up 1 h, resolution 4 h

    clock.set(datetime(2026, 11, 27, 15, 40, tzinfo=UTC))  # 16:40: 10 working minutes
    assert desk.tick() == 0
    clock.set(datetime(2026, 11, 27, 15, 45, tzinfo=UTC))  # 16:45: 15 working minutes
    assert desk.tick() == 1
    assert "Reminder: #1 “Printer down” (P1) is still waiting for a technician." in desk.bob.poll()

    clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # Saturday: the clock does not run
    assert desk.tick() == 0
    clock.set(datetime(2026, 11, 30, 7, 45, tzinfo=UTC))  # Monday 08:45 = 75 % of the pick-up hour
    assert desk.tick() == 1
    assert any("Warning: 75 % of the pick-up time of #1" in line for line in desk.bob.poll())
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00: breached
    assert desk.tick() == 1
    lead_lines = desk.lea.poll()
    assert any("Service level breached: the pick-up time of #1" in line for line in lead_lines)
    assert any("escalated from L1 to L2" in line for line in desk.carol.poll())
    for _ in range(3):
        assert desk.tick() == 0
    assert count_texts(desk.app, "still waiting for a technician") == 1
    assert count_texts(desk.app, "Service level breached") == 1
    with desk.app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.support_level == 2
        levels = [e for e in uow.events.for_ticket(number) if e.kind == "level"]
    assert [(e.from_value, e.to_value, e.actor_key) for e in levels] == [("L1", "L2", "system")]


def test_claimed_ticket_gets_no_pickup_reminder_but_a_resolution_warning(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open(impact="team", urgency="high")  # P2: 2 h / 8 h
    desk.bob.say(f"/claim {number}")
    clock.set(datetime(2026, 11, 30, 13, 59, tzinfo=UTC))
    assert desk.tick() == 0
    clock.set(datetime(2026, 11, 30, 14, 0, tzinfo=UTC))  # 15:00: 6 of the 8 working hours used
    assert desk.tick() == 1
    assert actions(desk.app, number) == {"resolution_warning": "done"}
    assert any("Assigned to: Bob Tech" in line for line in desk.bob.poll())
    clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 17:00: breached, L2 takes over
    assert desk.tick() == 1
    assert actions(desk.app, number) == {"resolution_warning": "done", "resolution_breach": "done"}


def test_two_processes_on_one_database_send_each_reminder_once(tmp_path: Path) -> None:
    clock = FrozenClock(FRIDAY_1630)
    first = Desk(make_app(tmp_path / "h.db", clock))
    second = Desk(make_app(tmp_path / "h.db", clock))
    for index in range(5):
        first.open(title=f"Problem {index}", impact="site", urgency="high")
    clock.set(datetime(2026, 11, 30, 8, 30, tzinfo=UTC))  # Monday 09:30
    ran = first.tick() + second.tick() + second.tick() + first.tick()
    assert ran == 10  # per ticket: the unclaimed reminder and the breach
    assert count_texts(first.app, "still waiting for a technician") == 5
    assert count_texts(first.app, "Service level breached") == 5


def test_a_claimed_action_is_not_run_by_the_other_process_until_its_lease_expires(tmp_path: Path) -> None:
    clock = FrozenClock(FRIDAY_1630)
    first = Desk(make_app(tmp_path / "h.db", clock, claim_seconds=120))
    second = Desk(make_app(tmp_path / "h.db", clock, claim_seconds=120))
    number = first.open()
    clock.set(datetime(2026, 11, 27, 15, 50, tzinfo=UTC))
    service = first.app.service_levels
    assert service is not None
    service._plan(clock.now())  # the first process found the reminder due...
    with first.app.uow() as uow:
        [action_id] = uow.sla_actions.due(clock.now())
        assert uow.sla_actions.claim(action_id, clock.now(), clock.now() + timedelta(seconds=120))
        uow.commit()  # ...claimed it, and crashed before sending it
    assert second.tick() == 0
    clock.advance(timedelta(seconds=121))
    assert second.tick() == 1
    assert first.tick() == 0
    assert count_texts(first.app, "still waiting for a technician") == 1
    assert actions(first.app, number) == {"unclaimed": "done"}


def test_waiting_on_the_requester_reminds_twice_then_closes(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday 10:00
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open()
    desk.bob.say(f"/wait {number} Which printer is it?")
    desk.poll_all()
    clock.set(datetime(2026, 12, 2, 8, 59, tzinfo=UTC))  # Wednesday 09:59: not yet 2 working days
    assert desk.tick() == 0
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert desk.tick() == 1
    assert any("Reminder: #1 is waiting for your answer" in line for line in desk.alice.poll())
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # Monday: 5 working days
    assert desk.tick() == 1
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))  # Wednesday: 7 working days
    assert desk.tick() == 1
    lines = desk.alice.poll()
    assert any("#1 is closed: it waited 7 working days for your answer" in line for line in lines)
    assert desk.tick() == 1  # the satisfaction question follows the close
    assert desk.tick() == 0
    assert actions(desk.app, number) == {
        "waiting_reminder_1": "done",
        "waiting_reminder_2": "done",
        "waiting_close": "done",
        "satisfaction": "done",
    }
    assert count_texts(desk.app, "is waiting for your answer since") == 2
    with desk.app.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "closed"


def test_an_answer_stops_the_waiting_reminders_and_a_new_wait_starts_a_new_clock(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open()
    desk.bob.say(f"/wait {number} Which printer?")
    desk.poll_all()
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    assert desk.tick() == 1
    desk.alice.say(f"/comment {number} PRT-204")
    desk.bob.say(f"/wait {number} Which floor?")
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))  # 1 working day into the second wait
    assert desk.tick() == 0
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # 2 working days into the second wait
    assert desk.tick() == 1
    assert count_texts(desk.app, "is waiting for your answer since") == 2


def test_downtime_catches_up_once_with_only_the_last_action_of_a_chain(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    db = tmp_path / "h.db"
    desk = Desk(make_app(db, clock))
    number = desk.open()
    desk.bob.say(f"/wait {number} Which printer?")
    desk.app.close()
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=UTC))  # two weeks of downtime
    restarted = Desk(make_app(db, clock))
    assert restarted.tick() == 1
    assert actions(restarted.app, number) == {
        "waiting_reminder_1": "skipped",
        "waiting_reminder_2": "skipped",
        "waiting_close": "done",
    }
    assert count_texts(restarted.app, "is waiting for your answer since") == 0
    assert count_texts(restarted.app, "it waited 7 working days") == 1
    rows = action_count(restarted.app)
    assert restarted.tick() == 1  # satisfaction question
    assert restarted.tick() == 0
    assert action_count(restarted.app) == rows + 1


def test_resolved_ticket_closes_after_seven_working_days_and_asks_for_satisfaction(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 12, 23, 9, 0, tzinfo=UTC))  # Wednesday before Christmas
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open()
    desk.bob.say(f"/resolve {number} Paper jam removed.")
    desk.poll_all()
    # 7 working days skip Christmas (25/12), the weekends and New Year's Day: Tuesday 5 January.
    clock.set(datetime(2027, 1, 5, 8, 59, tzinfo=UTC))
    assert desk.tick() == 0
    clock.set(datetime(2027, 1, 5, 9, 0, tzinfo=UTC))
    assert desk.tick() == 1
    assert any("#1 is closed: 7 working days passed since it was resolved" in line for line in desk.alice.poll())
    assert desk.tick() == 1
    lines = desk.alice.poll()
    assert any("How satisfied are you with how #1 was handled?" in line for line in lines)
    assert lines[-1].endswith("[1] 1  [2] 2  [3] 3  [4] 4  [5] 5")
    assert desk.alice.say("4") == ["Thank you! Anything to add? Send /feedback 1 and your comment."]
    assert desk.alice.say("/feedback 1 Quick and friendly") == ["Thank you for your feedback on #1."]
    with desk.app.uow() as uow:
        answer = uow.satisfaction.get(number)
        assert answer is not None and (answer.score, answer.comment) == (4, "Quick and friendly")
    assert desk.tick() == 0


def test_confirmed_resolution_gets_the_question_and_a_reopen_cancels_the_auto_close(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    desk = Desk(make_app(tmp_path / "h.db", clock))
    first = desk.open(title="First")
    second = desk.open(title="Second")
    for number in (first, second):
        desk.bob.say(f"/resolve {number} Fixed.")
    desk.poll_all()
    desk.app.tickets.confirm_resolution(desk.alice.user, first)
    desk.app.tickets.reopen(desk.alice.user, second, "Still broken")
    assert desk.tick() == 1
    assert count_texts(desk.app, "How satisfied are you with how #1") == 1
    clock.set(datetime(2026, 12, 30, 9, 0, tzinfo=UTC))
    desk.tick()
    assert "resolved_close" not in actions(desk.app, second)
    assert count_texts(desk.app, "How satisfied are you with how #2") == 0
