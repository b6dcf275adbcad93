"""Whole conversations in the console, the way people use it: a requester and a technician
in two terminals (two bot processes) on one database."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from adapters.console.chat import ConsoleChat, render
from bot.bootstrap import HelpdeskApp
from bot.i18n import LOCALES_DIR
from bot.port import Button, Image, OutgoingMessage, TicketCard, User

Dialog = Sequence[tuple[str, Sequence[str]]]
AssertDialog = Callable[[ConsoleChat, Dialog], list[list[str]]]
AppFactory = Callable[..., HelpdeskApp]
OpenTicket = Callable[..., int]
Labels = Callable[[Sequence[str]], list[str]]

ALICE = User("console", "alice", "Alice Dupont", "en", email="alice.dupont@example.be")
BOB = User("console", "bob", "Bob Tech", "en")


@pytest.fixture
def two_terminals(make_app: AppFactory) -> tuple[ConsoleChat, ConsoleChat]:
    """Alice and Bob, each in a terminal of their own process, on one database."""
    return ConsoleChat(make_app(), ALICE), ConsoleChat(make_app(), BOB, technician=True)


def test_render_numbers_buttons_and_draws_cards() -> None:
    message = OutgoingMessage(
        "Pick one",
        buttons=(Button("Yes", "y"), Button("No", "n")),
        card=TicketCard(7, "#7 · Printer", (("Status", "new"), ("Notes", "a\nb"))),
    )
    assert render(message, thread="#7") == [
        "[#7] ┌ #7 · Printer",
        "[#7] │ Status: new",
        "[#7] │ Notes: a",
        "[#7] │   b",
        "[#7] Pick one",
        "[#7] [1] Yes  [2] No",
    ]


def test_render_lists_images_after_the_text_and_before_the_buttons() -> None:
    message = OutgoingMessage(
        "Report",
        buttons=(Button("Again", "a"),),
        images=(
            Image("volume-7d.png", b"\x89PNG" + bytes(23_496), "Tickets per week"),
            Image("tiny.png", b"\x89PNG", ""),
        ),
    )
    assert render(message) == [
        "Report",
        "[PNG] Tickets per week — volume-7d.png (24 kB)",
        "[PNG] tiny.png (4 B)",
        "[1] Again",
    ]


def test_team_lead_sees_the_report_and_its_three_charts(make_app: AppFactory) -> None:
    from test_reports import LEAD, NOW, seed

    from bot.clock import FrozenClock

    app = make_app(clock=FrozenClock(NOW), roles={"team_leads": [LEAD.key]})
    seed(app)
    lead, requester = ConsoleChat(app, LEAD), ConsoleChat(app, ALICE)
    screen = lead.say("/stats 2026-03")
    assert screen[0].startswith("Service desk statistics 2026-03") and "Tickets opened: 9" in screen
    charts = [line for line in screen if line.startswith("[PNG] ")]
    assert [line.rsplit(" (", 1)[0] for line in charts] == [
        "[PNG] Tickets opened per week, by category — volume-2026-03.png",
        "[PNG] SLA compliance per week (%) — sla-2026-03.png",
        "[PNG] Backlog by age (4 open) — backlog-2026-03.png",
    ]
    assert all(line.endswith(" kB)") for line in charts) and screen[-3:] == charts
    assert requester.say("/stats") == ["Only team leads can see the statistics."]


def test_scripted_conversation_from_first_message_to_resolved_ticket(
    two_terminals: tuple[ConsoleChat, ConsoleChat], assert_dialog: AssertDialog
) -> None:
    alice, bob = two_terminals
    assert_dialog(
        alice,
        [
            ("Hello", ["Hello Alice!"]),
            ("The printer says paper jam", ["This might help", "Paper jam in the printer or copier"]),
            ("3", ["Proposed title: “The printer says paper jam”"]),
            ("Paper jam on the 2nd floor copier", ["Your description so far:"]),
            ("It jams on every page, tray 2", ["Is there an error message?"]),
            ("Error J-0412", ["Which web address"]),
            ("skip", ["When did it start?"]),
            ("2", ["Who is affected?"]),
            ("2", ["Can you keep working?"]),
            ("1", ["How can a technician reach you?", "Email: alice.dupont@example.be"]),
            (
                "1",
                [
                    "Here is your ticket.",
                    "Title: Paper jam on the 2nd floor copier",
                    "Error message: Error J-0412",
                    "Started: today",
                    "Affected: my team",
                    "Urgency: I am blocked",
                ],
            ),
            ("1", ["Your ticket #1 is open: “Paper jam on the 2nd floor copier” (priority P2).", "Quote #1"]),
        ],
    )
    # Bob's terminal (another process) shows the new card when it polls.
    card = "\n".join(bob.poll())
    assert "#1 · Paper jam on the 2nd floor copier" in card
    assert "Error message: Error J-0412" in card and "[1] Claim" in card
    assert_dialog(
        bob,
        [
            ("/queue", ["#1 [P2] new — Paper jam on the 2nd floor copier"]),
            ("1", ["You took #1.", "Status: in progress"]),  # the card's Claim button
            ("/wait 1 Which copier number is it?", ["#1 now waits for the requester's answer."]),
        ],
    )
    assert_dialog(alice, [])
    update = "\n".join(alice.poll())
    assert "[#1] #1: Bob Tech is taking care of your ticket." in update
    assert "[#1] Which copier number is it?" in update
    assert_dialog(alice, [("#1 It is COP-204", ["Added to #1. The technician is notified."])])
    assert "It is COP-204" in "\n".join(bob.poll())
    assert_dialog(
        bob,
        [
            ("/ticket 1", ["Status: in progress", "status waiting for the requester → in progress"]),
            ("/resolve 1 Fuser unit replaced, prints fine again", ["#1 is resolved; the requester is told."]),
        ],
    )
    resolved = "\n".join(alice.poll())
    assert "#1 is resolved:" in resolved and "Fuser unit replaced" in resolved
    assert "[1] Solved, thanks  [2] Still broken" in resolved
    assert_dialog(
        alice,
        [
            ("1", ["Thank you! #1 is closed."]),
            ("/ticket 1", ["Status: closed", "status resolved → closed"]),
            ("/mytickets", ["You have no open ticket."]),
        ],
    )
    assert "Status: closed" in "\n".join(bob.poll())


def test_still_broken_reopens_the_ticket(
    two_terminals: tuple[ConsoleChat, ConsoleChat], open_ticket: OpenTicket, assert_dialog: AssertDialog
) -> None:
    alice, bob = two_terminals
    number = open_ticket(alice)
    bob.poll()
    bob.say(f"/resolve {number} Cable replaced")
    alice.poll()
    assert_dialog(alice, [("2", [f"#{number} is reopened; a technician will look at it again."])])
    assert_dialog(
        bob, [(f"/ticket {number}", ["Status: in progress", "The requester says the problem is still there."])]
    )


def test_technician_card_buttons_ask_for_the_text_and_apply_it(
    app: HelpdeskApp,
    requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
    button_labels: Labels,
    assert_dialog: AssertDialog,
) -> None:
    number = open_ticket(requester)
    labels = button_labels(technician.poll())
    assert labels == ["Claim", "Waiting on requester", "Resolve"]
    assert_dialog(
        technician,
        [
            ("3", [f"Type the resolution note for #{number} (the requester receives it):"]),
            ("Restarted the docking station", [f"#{number} is resolved; the requester is told."]),
        ],
    )
    assert app.tickets.view(technician.user, number).ticket.status == "resolved"


def test_technician_reply_in_a_ticket_thread_asks_public_or_internal(
    app: HelpdeskApp,
    requester: ConsoleChat,
    technician: ConsoleChat,
    open_ticket: OpenTicket,
    assert_dialog: AssertDialog,
) -> None:
    number = open_ticket(requester)
    technician.poll()
    assert_dialog(
        technician,
        [
            (
                f"#{number} Is the screen connected by HDMI?",
                [
                    f"Send this to the requester of #{number}, or keep it as an internal note?",
                    "[1] Send to the requester  [2] Internal note  [3] Cancel",
                ],
            ),
            ("1", [f"Sent to the requester of #{number}."]),
            (f"#{number} probably the cable", ["keep it as an internal note?"]),
            ("2", [f"Internal note added to #{number}."]),
            (f"#{number} never mind", ["keep it as an internal note?"]),
            ("3", ["Nothing was sent."]),
        ],
    )
    seen = "\n".join(requester.poll())
    assert "Is the screen connected by HDMI?" in seen
    assert "probably the cable" not in seen and "never mind" not in seen


def test_someone_elses_thread_reveals_nothing(
    app: HelpdeskApp, requester: ConsoleChat, other_requester: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester)
    other_requester.say(f"#{number} let me in")
    with app.uow() as uow:
        assert [e.kind for e in uow.events.for_ticket(number)] == ["created"]


def test_french_requester_gets_the_same_ticket_number_and_buttons(make_app: AppFactory, button_labels: Labels) -> None:
    app = make_app(bot={"language": "fr"})
    marie = ConsoleChat(app, User("console", "marie", "Marie Lambert", "fr-BE", email="marie@example.be"))
    english = ConsoleChat(app, User("console", "john", "John", "en", email="john@example.be"))
    screens = {}
    for chat, problem in (
        (marie, "Mon écran reste noir depuis la mise à jour"),
        (english, "The keyboard types the wrong letters"),
    ):
        shown = chat.say(problem)
        labels = button_labels(shown)
        assert len(labels) == 2  # keep the title / cancel
        for press in ["1", "1", "1", "1", "5", "1", "2"]:
            shown = chat.say(press)
        assert len(button_labels(shown)) == 6  # contact: correct, name, phone, email, back, cancel
        summary = chat.say("1")
        assert len(button_labels(summary)) == 11  # open, nine edits, cancel
        screens[chat.user.id] = "\n".join(chat.say("1"))
    assert "#1 · Mon écran reste noir depuis la mise à jour" in screens["marie"]
    assert "#2 · The keyboard types the wrong letters" in screens["john"]
    assert "Your ticket #2 is open" in screens["john"]
    assert app.core.language_of(marie.user) == "fr"
    if (LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po").exists():
        assert "Your ticket" not in screens["marie"]
        assert "#1" in screens["marie"] and "Mon écran reste noir" in screens["marie"]


@pytest.mark.skipif(
    not (LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po").exists(), reason="the French catalog is not written yet"
)
def test_every_intake_button_is_translated_in_french(make_app: AppFactory, button_labels: Labels) -> None:
    app = make_app(bot={"language": "fr"})
    marie = ConsoleChat(app, User("console", "marie", "Marie Lambert", "fr-BE", email="marie@example.be"))
    english = ConsoleChat(app, User("console", "john", "John", "en", email="john@example.be"))
    for press in ["Mon écran reste noir depuis la mise à jour", "1", "1", "1", "1"]:
        french_screen = marie.say(press)
    for press in ["The keyboard types the wrong letters", "1", "1", "1", "1"]:
        english_screen = english.say(press)
    # The "when did it start?" step: no French button may keep its English label.
    assert set(button_labels(french_screen)).isdisjoint(button_labels(english_screen))
