"""Every command, as console transcripts: requester and technician commands, permissions,
malformed commands, internal notes hidden from requesters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.port import SlashCommand, TextMessage, User

Dialog = Sequence[tuple[str, Sequence[str]]]
AssertDialog = Callable[[ConsoleChat, Dialog], list[list[str]]]
OpenTicket = Callable[..., int]

NOT_FOUND = "I cannot find ticket #{n}. Check the number"
TECH_ONLY = "Only technicians can do that."


@pytest.fixture
def ticket(requester: ConsoleChat, technician: ConsoleChat, open_ticket: OpenTicket) -> int:
    """Alice's ticket, with the technician's terminal up to date."""
    number = open_ticket(requester, "My screen stays black after the update")
    technician.poll()
    return number


def test_help_lists_requester_commands_and_technician_commands_only_for_technicians(
    requester: ConsoleChat, technician: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    shown = assert_dialog(
        requester,
        [
            (
                "/help",
                [
                    "/new",
                    "/mytickets",
                    "/ticket N",
                    "/cancel N",
                    "/kb",
                    "/lang",
                    "/complaint",
                    "/feedback N",
                    "/unfollow N",
                ],
            )
        ],
    )
    for technician_only in ("/claim", "/escalate", "/visit", "/problem", "/link", "/kbdraft", "/stats"):
        assert technician_only not in "\n".join(shown[0])
    shown = assert_dialog(
        technician,
        [
            (
                "/help",
                [
                    "/queue",
                    "/claim N",
                    "/assign N USER",
                    "/note N",
                    "/reply N",
                    "/wait N",
                    "/resolve N",
                    "/reopen N",
                    "/priority N",
                    "/escalate N",
                    "/visit N",
                    "/visits",
                    "/category N",
                    "/problem",
                    "/link N P",
                    "/kbdraft N",
                ],
            )
        ],
    )
    assert "/stats" not in "\n".join(shown[0])


def test_help_shows_team_leads_the_statistics(
    app: HelpdeskApp, technician: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    app.roles.grant(technician.user.key, "team_lead")
    assert_dialog(technician, [("/help", ["Team lead commands:", "/stats [7d|30d|YYYY-MM]"])])


@pytest.mark.parametrize(
    "command",
    [
        "/claim {n}",
        "/assign {n} bob",
        "/note {n} hello",
        "/reply {n} hello",
        "/wait {n} why?",
        "/resolve {n} done",
        "/reopen {n}",
        "/priority {n} P1",
        "/queue",
        "/mine",
    ],
)
def test_requesters_cannot_run_technician_commands(
    requester: ConsoleChat, ticket: int, assert_dialog: AssertDialog, app: HelpdeskApp, command: str
) -> None:
    assert_dialog(requester, [(command.format(n=ticket), [TECH_ONLY])])
    assert app.tickets.view(requester.user, ticket).ticket.status == "new"


@pytest.mark.parametrize("command", ["/ticket {n}", "/cancel {n}", "/comment {n} me too"])
def test_someone_elses_ticket_looks_exactly_like_an_unknown_one(
    other_requester: ConsoleChat, ticket: int, assert_dialog: AssertDialog, app: HelpdeskApp, command: str
) -> None:
    foreign = other_requester.say(command.format(n=ticket))
    unknown = other_requester.say(command.format(n=ticket + 1000))
    assert foreign == [line.replace(f"#{ticket + 1000}", f"#{ticket}") for line in unknown]
    assert NOT_FOUND.format(n=ticket) in "\n".join(foreign)
    with app.uow() as uow:
        stored = uow.tickets.get(ticket)
        assert stored is not None
        assert stored.status == "new"
        assert [e.kind for e in uow.events.for_ticket(ticket)] == ["created"]
    shown = "\n".join(other_requester.say("/mytickets"))
    assert f"#{ticket}" not in shown


def test_requester_cannot_cancel_someone_elses_ticket(
    other_requester: ConsoleChat, technician: ConsoleChat, ticket: int, assert_dialog: AssertDialog
) -> None:
    assert_dialog(other_requester, [(f"/cancel {ticket}", [NOT_FOUND.format(n=ticket)])])
    assert_dialog(
        technician,
        [
            (f"/cancel {ticket}", [f"Only the person who opened ticket #{ticket} can cancel it"]),
            (f"/ticket {ticket}", ["Status: new"]),
        ],
    )


def test_requester_sees_own_ticket_without_internal_notes(
    requester: ConsoleChat, technician: ConsoleChat, ticket: int, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        technician,
        [
            (f"/note {ticket} Suspect the docking station, do not tell", [f"Internal note added to #{ticket}"]),
            (f"/reply {ticket} Please restart your PC", [f"Sent to the requester of #{ticket}"]),
            (f"/ticket {ticket}", ["internal note: Suspect the docking station", "Please restart your PC"]),
        ],
    )
    shown = assert_dialog(
        requester,
        [
            (
                f"/ticket {ticket}",
                [
                    f"#{ticket} · My screen stays black after the update",
                    "History:",
                    "opened the ticket",
                    "Please restart your PC",
                ],
            )
        ],
    )
    screen = "\n".join(shown[0])
    assert "docking station" not in screen
    assert "internal note" not in screen
    # Nor did the note reach Alice's terminal as a notification.
    assert "docking station" not in "\n".join(requester.poll())


def test_requester_lists_and_cancels_own_tickets(
    requester: ConsoleChat, technician: ConsoleChat, open_ticket: OpenTicket, assert_dialog: AssertDialog
) -> None:
    assert_dialog(requester, [("/mytickets", ["You have no open ticket"])])
    first = open_ticket(requester, "My screen stays black after the update")
    second = open_ticket(requester, "The keyboard types the wrong letters")
    assert_dialog(
        requester,
        [
            ("/mytickets", [f"#{first} [P4] new — My screen stays black", f"#{second} [P4] new — The keyboard"]),
            (f"/cancel #{first}", [f"#{first} is cancelled."]),
            ("/mytickets", [f"#{second}"]),
            (f"/cancel {first}", [f"Ticket #{first} is cancelled: it cannot be cancelled."]),
        ],
    )
    assert f"#{first} " not in "\n".join(requester.say("/mytickets"))
    assert_dialog(technician, [("/queue", [f"#{second}"])])
    assert f"#{first} " not in "\n".join(technician.say("/queue"))


def test_technician_commands_change_the_ticket_and_answer_politely(
    requester: ConsoleChat, technician: ConsoleChat, ticket: int, assert_dialog: AssertDialog, app: HelpdeskApp
) -> None:
    app.roles.grant("console:tom", "technician")
    n = ticket
    assert_dialog(
        technician,
        [
            ("/queue", ["Open tickets, by priority and age:", f"#{n} [P4] new — My screen stays black"]),
            (f"/claim {n}", [f"You took #{n}.", "Status: in progress", "Assigned to: Bob Tech"]),
            ("/mine", ["Assigned to you:", f"#{n}"]),
            (f"/priority {n} p2", [f"#{n} has priority P2.", "Priority: P2"]),
            (f"/assign {n} @tom", [f"#{n} is assigned to tom."]),
            (f"/wait {n} Which monitor model?", [f"#{n} now waits for the requester's answer."]),
            (f"/resolve {n} Driver rolled back", [f"#{n} is resolved; the requester is told.", "Status: resolved"]),
            (f"/reopen {n}", [f"#{n} is reopened."]),
            ("/mine", ["No open ticket is assigned to you."]),
        ],
    )
    tom = ConsoleChat(app, User("console", "tom", "Tom Tech", "en"), technician=True)
    assert_dialog(tom, [("/mine", [f"#{n}"])])
    assert_dialog(
        requester,
        [
            (
                f"/ticket {n}",
                [
                    "status new → in progress",
                    "priority P4 → P2",
                    "assigned to tom",
                    "Which monitor model?",
                    "Driver rolled back",
                    "status resolved → in progress",
                ],
            )
        ],
    )


@pytest.mark.parametrize(
    ("line", "usage"),
    [
        ("/ticket", "/ticket N"),
        ("/ticket abc", "/ticket N"),
        ("/ticket #abc", "/ticket N"),
        ("/claim", "/claim N"),
        ("/claim #abc", "/claim N"),
        ("/assign 1", "/assign N USER"),
        ("/note 1", "/note N text"),
        ("/note", "/note N text"),
        ("/reply 1", "/reply N text"),
        ("/wait 1", "/wait N question"),
        ("/resolve 1", "/resolve N text"),
        ("/reopen x", "/reopen N"),
        ("/priority 1 P9", "/priority N P1|P2|P3|P4"),
        ("/priority 1", "/priority N P1|P2|P3|P4"),
        ("/comment 1", "/comment N text"),
        ("/kb", "/kb words"),
        ("/cancel", "/cancel N"),
    ],
)
def test_malformed_commands_get_their_usage(
    technician: ConsoleChat, ticket: int, assert_dialog: AssertDialog, line: str, usage: str
) -> None:
    assert_dialog(technician, [(line, [f"I did not understand that command. Usage: {usage}"])])


@pytest.mark.parametrize("line", ["/frobnicate", "/frobnicate 12 now", "/CLAIMS 3"])
def test_unknown_commands_point_to_help(requester: ConsoleChat, assert_dialog: AssertDialog, line: str) -> None:
    name = line[1:].split(" ")[0].lower()
    assert_dialog(requester, [(line, [f"I do not know the command /{name}. Type /help"])])


@pytest.mark.parametrize("command", ["/ticket 999", "/claim 999", "/note 999 x", "/resolve 999 x", "/reopen 999"])
def test_unknown_ticket_numbers(technician: ConsoleChat, assert_dialog: AssertDialog, command: str) -> None:
    assert_dialog(technician, [(command, [NOT_FOUND.format(n=999)])])


def test_illegal_transitions_are_explained_in_the_chat(
    technician: ConsoleChat, ticket: int, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        technician,
        [
            (f"/reopen {ticket}", [f"Ticket #{ticket} is new: it cannot be reopened."]),
            (f"/resolve {ticket} fixed", [f"#{ticket} is resolved"]),
            (f"/claim {ticket}", [f"Ticket #{ticket} is resolved: it cannot be claimed."]),
            (f"/wait {ticket} why?", [f"Ticket #{ticket} is resolved: it cannot be put on hold for the requester."]),
            (f"/priority {ticket} P1", [f"Ticket #{ticket} is resolved: its priority can no longer change."]),
        ],
    )


def test_commands_typed_as_text_and_slack_style_names_work(app: HelpdeskApp, requester: ConsoleChat) -> None:
    # Telegram sends "/help@helpdesk_bot"; a TextMessage starting with "/" is a command too.
    replies = app.handle(TextMessage(requester.user, requester.place, "/help@helpdesk_bot"))
    assert "/mytickets" in replies[0].message.text
    replies = app.handle(SlashCommand(requester.user, requester.place, "HELP"))
    assert "/mytickets" in replies[0].message.text


def test_comment_command_adds_to_own_ticket_and_notifies_technicians(
    requester: ConsoleChat, technician: ConsoleChat, ticket: int, assert_dialog: AssertDialog
) -> None:
    assert_dialog(requester, [(f"/comment {ticket} It flickers too", [f"Added to #{ticket}"])])
    assert "It flickers too" in "\n".join(technician.poll())


def test_lang_command_offers_buttons_and_remembers_the_choice(
    requester: ConsoleChat, assert_dialog: AssertDialog, app: HelpdeskApp
) -> None:
    shown = assert_dialog(requester, [("/lang", ["[1] Français  [2] English  [3] Nederlands"])])
    assert shown
    requester.say("1")
    assert app.core.language_of(requester.user) == "fr"
    requester.say("/lang en")
    assert app.core.language_of(requester.user) == "en"
    requester.say("/lang de")  # not supported: the choice is offered again, nothing changes
    assert app.core.language_of(requester.user) == "en"


def test_kb_command_searches_the_knowledge_base(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    assert_dialog(
        requester,
        [
            (
                "/kb paper jam",
                [
                    "Articles for “paper jam”:",
                    "1. Paper jam in the printer or copier",
                    "[1] Read: Paper jam in the printer or copier",
                ],
            ),
            ("1", ["Pull the sheet out slowly"]),
            ("/kb quantum entanglement", ["No article matches “quantum entanglement”"]),
        ],
    )


def test_built_in_buttons_are_registered_like_the_features_and_a_prefix_has_one_handler(app: HelpdeskApp) -> None:
    """A feature cannot silently take over a built-in button (nor another feature's): registering it again fails."""
    for prefix in ("claim", "intake", "kb", "visit"):
        with pytest.raises(ValueError, match=prefix):
            app.core.register_button(prefix, lambda event, rest, t: [])
