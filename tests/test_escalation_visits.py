"""Escalation L1 → L3 with handover notes, and on-site visits planned in working hours with reminders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sla_support import Desk, actions, count_texts, make_app

from bot.clock import FrozenClock

MONDAY_0900 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_escalation_needs_a_note_goes_up_only_and_reaches_the_level_team(tmp_path: Path) -> None:
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(MONDAY_0900)))
    number = desk.open()
    assert desk.bob.say(f"/escalate {number} L2") == [
        "A handover note is required: /escalate 1 L2 what was tried and why."
    ]
    assert desk.alice.say(f"/escalate {number} L2 please")[0].startswith("Only technicians can do that.")
    assert desk.bob.say(f"/escalate {number} L2 Driver reinstalled, still offline")[0] == (
        "#1 is escalated to L2; that team has the card and your note."
    )
    carol = desk.carol.poll()
    assert "│ Level: L2" in carol
    assert "[#1] Driver reinstalled, still offline" in carol
    assert any("handed over to a specialised team (level 2)" in line for line in desk.alice.poll())
    assert desk.bob.say(f"/escalate {number} L2 again") == ["Ticket #1 is at level L2: it can only go up, to L2 or L3."]
    assert desk.carol.say(f"/escalate {number} Needs the vendor")[0] == (
        "#1 is escalated to L3; that team has the card and your note."
    )
    history = desk.bob.say(f"/ticket {number}")
    assert any("Bob Tech: escalated L1 → L2: Driver reinstalled, still offline" in line for line in history)
    assert any("Carol Second: escalated L2 → L3: Needs the vendor" in line for line in history)
    assert desk.bob.say(f"/escalate {number} L4 more")[0].startswith("Ticket #1 is at level L3")


def test_a_visit_outside_working_hours_or_in_the_past_is_refused(tmp_path: Path) -> None:
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(MONDAY_0900)))
    number = desk.open()
    assert desk.bob.say(f"/visit {number} 2026-12-05 10:00") == [
        "Sat 5 December at 10:00 is outside the working hours (closed on Saturday). Choose another time."
    ]
    assert desk.bob.say(f"/visit {number} 2026-12-01 16:30") == [
        "Tue 1 December at 16:30 is outside the working hours (08:30–17:00 on Tuesday). Choose another time."
    ]
    assert desk.bob.say(f"/visit {number} 2026-12-25 10:00")[0].startswith(
        "Fri 25 December at 10:00 is outside the working hours (closed: Noël on Friday)"
    )
    assert desk.bob.say(f"/visit {number} 2026-11-27 10:00") == [
        "Fri 27 November at 10:00 is in the past. Choose a date to come."
    ]
    assert desk.bob.say(f"/visit {number} tomorrow")[0].startswith("I did not understand that command.")


def test_visit_is_accepted_and_both_are_reminded_once_the_working_day_before(tmp_path: Path) -> None:
    clock = FrozenClock(MONDAY_0900)
    desk = Desk(make_app(tmp_path / "h.db", clock))
    number = desk.open()
    assert desk.bob.say(f"/visit {number} 2026-12-07 10:00 Room 2.14") == [
        "Visit for #1 proposed for Mon 7 December at 10:00; I will tell you the answer here."
    ]
    alice = desk.alice.poll()
    assert (
        "[#1] #1: Bob Tech proposes an on-site visit on Mon 7 December at 10:00 (Room 2.14). Does it suit you?" in alice
    )
    assert alice[-1] == "[#1] [1] OK  [2] Another date, please"
    assert desk.bob.say("/visits") == [
        "Your upcoming visits:",
        "Mon 7 December at 10:00 · #1 Printer down · Room 2.14 · proposed",
    ]
    assert desk.alice.say("1") == [
        "The visit on Mon 7 December at 10:00 is confirmed. A reminder comes the working day before."
    ]
    assert "#1: Alice Dupont accepts the visit on Mon 7 December at 10:00." in desk.bob.poll()
    clock.set(datetime(2026, 12, 4, 7, 29, tzinfo=UTC))  # Friday 08:29: not yet open
    desk.tick()  # (the ticket's own pick-up and resolution deadlines passed meanwhile)
    desk.poll_all()
    assert "visit_reminder" not in actions(desk.app, number)
    clock.set(datetime(2026, 12, 4, 7, 30, tzinfo=UTC))  # Friday 08:30, the working day before Monday
    assert desk.tick() == 1
    assert "[#1] Reminder: Bob Tech comes for #1 on Mon 7 December at 10:00 (Room 2.14)." in desk.alice.poll()
    bob = desk.bob.poll()
    assert any(line.startswith("Reminder: visit for #1 “Printer down” on Mon 7 December at 10:00") for line in bob)
    assert desk.tick() == 0
    assert count_texts(desk.app, "Reminder: Bob Tech comes for #1") == 1


def test_the_requester_asks_for_another_date_and_the_technician_accepts_it(tmp_path: Path) -> None:
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(MONDAY_0900)))
    number = desk.open()
    desk.bob.say(f"/visit {number} 2026-12-01 10:00")
    desk.alice.poll()
    assert desk.alice.say("2") == [
        "Which date suits you? Send it as /visit 1 YYYY-MM-DD HH:MM (working hours: 08:30–17:00)."
    ]
    assert any("asks for another date than Tue 1 December at 10:00" in line for line in desk.bob.poll())
    assert desk.alice.say(f"/visit {number} 2026-12-02 14:00") == [
        "I proposed Wed 2 December at 14:00 to Bob Tech; the answer will come here."
    ]
    bob = desk.bob.poll()
    assert "#1: Alice Dupont proposes another date for the visit: Wed 2 December at 14:00." in bob
    # A second counter-proposal replaces the first one, which can no longer be accepted.
    assert desk.alice.say(f"/visit {number} 2026-12-02 15:00")[0] == (
        "I proposed Wed 2 December at 15:00 to Bob Tech; the answer will come here."
    )
    desk.bob.poll()
    assert desk.bob.say("1")[0] == (
        "The visit on Wed 2 December at 15:00 is confirmed. A reminder comes the working day before."
    )
    assert any("Bob Tech confirms the visit on Wed 2 December at 15:00" in line for line in desk.alice.poll())
    with desk.app.uow() as uow:
        statuses = [(v.proposed_by, v.status) for v in uow.visits.for_ticket(number)]
    assert statuses == [("technician", "declined"), ("requester", "declined"), ("requester", "accepted")]
    assert desk.bob.say("/visits") == ["Your upcoming visits:", "Wed 2 December at 15:00 · #1 Printer down · confirmed"]
    assert desk.alice.say("/visits")[0].startswith("Only technicians can do that.")


def test_the_history_note_of_a_proposed_visit_is_written_for_each_reader(tmp_path: Path) -> None:
    """Bob proposed the visit in English; read in French, the note and its moment are French, in the local time."""
    desk = Desk(make_app(tmp_path / "h.db", FrozenClock(MONDAY_0900)))
    number = desk.open()
    desk.bob.say(f"/visit {number} 2026-12-07 10:00 Room 2.14")
    history = desk.bob.say(f"/ticket {number}")
    assert any("Bob Tech: internal note: visit proposed for 7 Dec 10:00" in line for line in history), history
    desk.bob.say("/lang fr")
    history = desk.bob.say(f"/ticket {number}")
    assert any(
        "Bob Tech\u202f: note interne\u202f: visite proposée pour le 7 déc. 10:00" in line for line in history
    ), history
    desk.bob.say(f"/visit {number} cancel")
    desk.bob.say("/lang nl")
    history = desk.bob.say(f"/ticket {number}")
    assert any("Bob Tech: interne nota: bezoek voorgesteld op 7 dec 10:00" in line for line in history), history
    assert any("Bob Tech: interne nota: bezoek van 7 dec 10:00 geannuleerd" in line for line in history), history
