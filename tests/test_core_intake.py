"""The conversational intake: title proposal, skip/back/cancel (typed in fr/en/nl and as
buttons) at every step, validation that keeps what was typed, summary edits, attachments,
and a restart of the bot in the middle of an intake."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.port import Attachment, ButtonPress, TextMessage, User

Dialog = Sequence[tuple[str, Sequence[str]]]
AssertDialog = Callable[[ConsoleChat, Dialog], list[list[str]]]
AppFactory = Callable[..., HelpdeskApp]
Labels = Callable[[Sequence[str]], list[str]]

PROBLEM = "My screen stays black after the update"
# (step, a fragment of its question), in order.
STEPS = [
    ("title", "Proposed title"),
    ("description", "Your description so far"),
    ("error", "Is there an error message?"),
    ("url", "Which web address (URL) is concerned"),
    ("started", "When did it start?"),
    ("impact", "Who is affected?"),
    ("urgency", "Can you keep working?"),
    ("contact", "How can a technician reach you?"),
    ("summary", "Here is your ticket. Check it, then open it:"),
]
# The button that moves from STEPS[i] to STEPS[i + 1].
FORWARD = ["1", "1", "1", "1", "5", "1", "2", "1"]
OPTIONAL = {"description", "error", "url", "started"}
WORDS = {
    "en": {"skip": "skip", "back": "back", "cancel": "cancel"},
    "fr": {"skip": "passer", "back": "retour", "cancel": "annuler"},
    "nl": {"skip": "overslaan", "back": "terug", "cancel": "annuleren"},
}
CANCELLED = "Cancelled: no ticket was opened."


def reach(chat: ConsoleChat, step: int, problem: str = PROBLEM) -> list[str]:
    """Start an intake and walk to STEPS[step]; returns the last screen."""
    shown = chat.say(problem)
    for press in FORWARD[:step]:
        shown = chat.say(press)
    assert STEPS[step][1] in "\n".join(shown), "\n".join(shown)
    return shown


def conversation_state(app: HelpdeskApp, chat: ConsoleChat) -> str | None:
    with app.uow() as uow:
        row = uow.conversations.get("console", chat.place.chat_id, chat.user.id)
        # An idle conversation keeps its row (the pipeline locks it on every event).
        return row.state if row and row.state != "idle" else None


def ticket_count(app: HelpdeskApp) -> int:
    with app.uow() as uow:
        return len(uow.tickets.queue())


def test_title_is_proposed_from_the_first_message_and_can_be_kept(
    requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            (
                "My screen stays black after the update. It worked yesterday.",
                [
                    "I found no article that fixes this",
                    "Proposed title: “My screen stays black after the update”",
                    "[1] Keep this title  [2] Cancel",
                ],
            ),
            ("1", ["Your description so far:", "My screen stays black after the update. It worked yesterday."]),
        ],
    )


def test_title_can_be_replaced_and_the_description_appended(
    requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    reach(requester, 0)
    assert_dialog(
        requester,
        [
            ("Black screen on the second monitor", ["Your description so far:"]),
            ("Only with the docking station", ["Is there an error message?"]),
            ("back", ["Your description so far:", "Only with the docking station"]),
            ("1", []),
            ("1", []),
            ("1", []),
            ("5", []),
            ("1", []),
            ("2", []),
            (
                "1",
                [
                    "Title: Black screen on the second monitor",
                    f"Description: {PROBLEM}",
                    "Only with the docking station",
                ],
            ),
        ],
    )


def test_title_validation_keeps_what_was_typed(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    long_title = "Screen " * 30
    reach(requester, 0)
    assert_dialog(
        requester,
        [
            (
                long_title,
                [
                    "The title is limited to 120 characters (yours has 209)",
                    f"You typed: “{long_title.strip()}",
                    "Proposed title:",
                ],
            ),
            ("ab", ["The title is too short", "You typed: “ab”"]),
            ("Black screen", ["Your description so far:"]),
        ],
    )


def test_new_command_starts_an_empty_intake_whose_title_cannot_be_skipped(
    requester: ConsoleChat, assert_dialog: AssertDialog
) -> None:
    assert_dialog(
        requester,
        [
            ("/new", ["Let's open a ticket together", "In a few words, what is the problem?", "[1] Cancel"]),
            ("skip", ["This question cannot be skipped.", "In a few words, what is the problem?"]),
            ("Need a second monitor", ["Describe the problem:"]),
        ],
    )


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
@pytest.mark.parametrize("index", range(len(STEPS)), ids=[name for name, _ in STEPS])
def test_typed_back_skip_and_cancel_work_at_every_step(
    app: HelpdeskApp, requester: ConsoleChat, index: int, language: str
) -> None:
    name, question = STEPS[index]
    words = WORDS[language]
    reach(requester, index)

    screen = "\n".join(requester.say(words["back"]))
    if index == 0:
        assert "This is the first question." in screen and question in screen
    else:
        assert STEPS[index - 1][1] in screen
        requester.say(FORWARD[index - 1])

    screen = "\n".join(requester.say(words["skip"]))
    if name in OPTIONAL:
        assert STEPS[index + 1][1] in screen
        assert question in "\n".join(requester.say(words["back"]))
    else:
        assert "This question cannot be skipped." in screen and question in screen

    assert CANCELLED in "\n".join(requester.say(words["cancel"].upper()))
    assert conversation_state(app, requester) is None
    assert ticket_count(app) == 0
    # The conversation is over: the next message is a new problem, not an answer.
    assert "Proposed title: “The keyboard is dead”" in "\n".join(requester.say("The keyboard is dead"))


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[name for name, _ in STEPS])
def test_back_skip_and_cancel_buttons_at_every_step(
    app: HelpdeskApp, requester: ConsoleChat, button_labels: Labels, index: int
) -> None:
    name, question = STEPS[index]
    labels = button_labels(reach(requester, index))
    assert "Cancel" in labels
    if name == "summary":
        # The summary offers "Edit: …" buttons instead of "Back"; typing "back" works there too.
        assert "Back" not in labels and "Edit: Contact" in labels
    elif index > 0:
        screen = "\n".join(requester.say(str(labels.index("Back") + 1)))
        assert STEPS[index - 1][1] in screen
        shown = requester.say(FORWARD[index - 1])
        assert question in "\n".join(shown)
        labels = button_labels(shown)
    else:
        assert "Back" not in labels
    if name in OPTIONAL:
        skip = next(label for label in labels if label in ("Skip", "No error message", "No URL"))
        screen = "\n".join(requester.say(str(labels.index(skip) + 1)))
        assert STEPS[index + 1][1] in screen
        shown = requester.say("back")
        assert question in "\n".join(shown)
        labels = button_labels(shown)
    screen = "\n".join(requester.say(str(labels.index("Cancel") + 1)))
    assert CANCELLED in screen
    assert conversation_state(app, requester) is None
    assert ticket_count(app) == 0


def test_bad_url_is_re_asked_with_the_typed_value(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 3)
    assert_dialog(
        requester,
        [
            (
                "not a url at all",
                [
                    "“not a url at all” is not a web address",
                    "You typed: “not a url at all”",
                    "Which web address (URL) is concerned",
                ],
            ),
            ("intranet", ["“intranet” is not a web address"]),
            ("intranet.example.be/app?id=3", ["When did it start?"]),
            ("5", []),
            ("1", []),
            ("2", []),
            ("1", ["URL: https://intranet.example.be/app?id=3"]),
        ],
    )


def test_contact_details_are_prefilled_and_validated(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 7)
    assert_dialog(
        requester,
        [
            ("3", ["Your phone number or internal extension?"]),
            ("12", ["“12” is not a phone number", "You typed: “12”"]),
            ("0470 12 34 56", ["Phone: +32 470 12 34 56", "Email: alice.dupont@example.be"]),
            ("4", ["Your email address?"]),
            ("alice@", ["“alice@” is not an email address", "You typed: “alice@”"]),
            ("alice.d@example.be", ["Email: alice.d@example.be"]),
            ("2", ["Your name?"]),
            ("Alice D.", ["Name: Alice D."]),
            ("1", ["Contact: Alice D. · +32 470 12 34 56 · alice.d@example.be"]),
        ],
    )


def test_internal_extension_is_a_valid_phone(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 7)
    assert_dialog(requester, [("3", []), ("4321", ["Phone: 4321"])])


def test_contact_needs_a_phone_or_an_email(app: HelpdeskApp, assert_dialog: AssertDialog) -> None:
    nobody = ConsoleChat(app, User("console", "dan", "Dan", "en"))
    reach(nobody, 7)
    assert_dialog(
        nobody,
        [
            ("1", ["Please give a phone number or an email address", "Your phone number or email address?"]),
            ("02 123 45 67", ["Phone: +32 2 123 45 67"]),
            ("1", ["Here is your ticket."]),
        ],
    )


def test_profile_phone_prefills_the_contact(app: HelpdeskApp) -> None:
    user = User("console", "eve", "Eve", "en", phone="+3224445566")
    chat = ConsoleChat(app, user)
    assert "Phone: +32 2 444 55 66" in "\n".join(reach(chat, 7))


def test_summary_edits_return_to_the_summary(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 8)
    assert_dialog(
        requester,
        [
            ("hello there", ["Please use the buttons: open the ticket, or edit a field."]),
            ("2", ["Proposed title:"]),
            ("Black screen after Windows update", ["Here is your ticket.", "Title: Black screen after Windows update"]),
            ("5", ["Which web address (URL) is concerned"]),
            ("portal.example.be", ["Here is your ticket.", "URL: https://portal.example.be"]),
            ("7", ["Who is affected?"]),
            ("3", ["Here is your ticket.", "Affected: the whole site"]),
            ("10", ["Is it an incident (something is broken) or a request"]),
            ("2", ["Here is your ticket.", "Type: request"]),
            ("9", ["How can a technician reach you?"]),
            ("1", ["Here is your ticket."]),
            ("1", ["Your ticket #1 is open: “Black screen after Windows update” (priority P2)."]),
        ],
    )


def test_impact_and_urgency_need_a_button(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 5)
    assert_dialog(
        requester,
        [
            ("everyone", ["Please choose one of the buttons.", "Who is affected?"]),
            ("3", ["Can you keep working?"]),
            ("blocked", ["Please choose one of the buttons.", "Can you keep working?"]),
            ("1", ["How can a technician reach you?"]),
            ("fine", ["Please choose one of the buttons: confirm your contact details or change one."]),
        ],
    )


def test_started_accepts_free_text_but_not_too_much(requester: ConsoleChat, assert_dialog: AssertDialog) -> None:
    reach(requester, 4)
    assert_dialog(
        requester,
        [
            ("x" * 201, ["That text is too long (201 characters, at most 200)"]),
            ("Monday around 10:00", ["Who is affected?"]),
            ("1", []),
            ("2", []),
            ("1", ["Started: Monday around 10:00"]),
        ],
    )


def test_whole_intake_opens_a_complete_ticket(app: HelpdeskApp, requester: ConsoleChat) -> None:
    for line in [
        PROBLEM,
        "1",
        "Since the update of Monday",
        "0xC0000005 in display.dll",
        "intranet.example.be",
        "3",
        "2",
        "1",
        "1",
    ]:
        requester.say(line)
    screen = "\n".join(requester.say("1"))
    assert "Your ticket #1 is open: “My screen stays black after the update” (priority P2)." in screen
    ticket = app.tickets.view(requester.user, 1).ticket
    assert (ticket.title, ticket.status, ticket.priority, ticket.impact, ticket.urgency) == (
        PROBLEM,
        "new",
        "P2",
        "team",
        "high",
    )
    assert ticket.description == f"{PROBLEM}\n\nSince the update of Monday"
    assert ticket.error_message == "0xC0000005 in display.dll"
    assert ticket.url == "https://intranet.example.be"
    assert ticket.started == "@2026-03-01"
    assert (ticket.contact_name, ticket.contact_email) == ("Alice Dupont", "alice.dupont@example.be")
    assert ticket.requester_key == "console:alice"
    assert (ticket.origin_platform, ticket.origin_chat_id) == ("console", "dm:alice")
    assert ticket.category == "helpdesk"
    assert conversation_state(app, requester) in (None, "idle")


def test_attachments_sent_during_the_intake_are_attached(app: HelpdeskApp, requester: ConsoleChat) -> None:
    user, place = requester.user, requester.place
    shot = Attachment("image", "F-SCREEN", "screen.png", "https://files.example/screen.png", "image/png")
    log = Attachment("file", "F-LOG", "install.log")
    app.handle(TextMessage(user, place, PROBLEM, (log,)))
    # Typed answers: this terminal did not render the replies above, so it has no buttons to press.
    requester.say("Black screen")  # the title
    requester.say("skip")  # the description
    replies = app.handle(TextMessage(user, place, "", (shot,)))  # the error step: a screenshot only
    assert "Which web address" in replies[-1].message.text
    for line in ["skip", "5", "1", "2"]:
        requester.say(line)
    summary = "\n".join(requester.say("1"))
    assert "Attachments: 2" in summary
    assert "Error message: (see the attached screenshot)" in summary
    requester.say("1")
    ticket = app.tickets.view(user, 1).ticket
    assert [(a.ref, a.name, a.kind, a.url) for a in ticket.attachments] == [
        ("F-LOG", "install.log", "file", ""),
        ("F-SCREEN", "screen.png", "image", "https://files.example/screen.png"),
    ]
    with app.uow() as uow:
        kinds = [e.kind for e in uow.events.for_ticket(1)]
    assert kinds == ["created", "attachment", "attachment"]


def test_a_file_alone_outside_the_intake_asks_for_words(app: HelpdeskApp, requester: ConsoleChat) -> None:
    replies = app.handle(TextMessage(requester.user, requester.place, "", (Attachment("image", "F1"),)))
    assert "I received your file" in replies[0].message.text


def test_buttons_of_an_earlier_question_are_refused_politely(app: HelpdeskApp, requester: ConsoleChat) -> None:
    reach(requester, 0)
    replies = app.handle(ButtonPress(requester.user, requester.place, "intake:impact:site"))
    assert "That button belongs to an earlier question." in replies[0].message.text
    assert "Proposed title" in replies[1].message.text
    requester.say("cancel")
    replies = app.handle(ButtonPress(requester.user, requester.place, "intake:confirm"))
    assert "That conversation is over." in replies[0].message.text
    assert ticket_count(app) == 0


@pytest.mark.parametrize("index", [1, 3, 5, 7, 8], ids=["description", "url", "impact", "contact", "summary"])
def test_restart_mid_intake_continues_where_it_was(make_app: AppFactory, requester: ConsoleChat, index: int) -> None:
    reach(requester, index)
    requester.app.close()  # the process dies

    restarted = make_app()  # a new process on the same database
    chat = ConsoleChat(restarted, requester.user)
    # The new terminal has no buttons on screen yet: typed words work at every step.
    screen = "\n".join(chat.say("back"))
    assert STEPS[index - 1][1] in screen
    labels = [line for line in screen.splitlines() if "[1]" in line]
    assert labels, screen
    screen = "\n".join(chat.say(FORWARD[index - 1]))
    assert STEPS[index][1] in screen
    for press in FORWARD[index:]:
        chat.say(press)
    screen = "\n".join(chat.say("1"))
    assert "Your ticket #1 is open: “My screen stays black after the update”" in screen


@pytest.mark.parametrize("index", [1, 5, 7, 8], ids=["description", "impact", "contact", "summary"])
def test_a_restarted_terminal_repeats_the_pending_question_and_its_buttons(
    make_app: AppFactory, requester: ConsoleChat, index: int
) -> None:
    before = reach(requester, index)
    requester.app.close()

    chat = ConsoleChat(make_app(), requester.user)
    shown = chat.resume()
    assert shown == before[-len(shown) :] and STEPS[index][1] in "\n".join(shown)
    # Numbers are button presses again: the first button moves on as it did before the restart.
    following = "\n".join(chat.say(FORWARD[index] if index < len(FORWARD) else "1"))
    assert (STEPS[index + 1][1] if index + 1 < len(STEPS) else "Your ticket #1 is open") in following


def test_a_terminal_with_nothing_pending_shows_nothing_on_start(requester: ConsoleChat) -> None:
    assert requester.resume() == []


def test_restart_keeps_typed_values_and_rejected_input(make_app: AppFactory, requester: ConsoleChat) -> None:
    reach(requester, 3)
    requester.say("not a url")
    requester.app.close()

    chat = ConsoleChat(make_app(), requester.user)
    screen = "\n".join(chat.say("skip"))
    assert "When did it start?" in screen
    screen = "\n".join(chat.say("back"))
    # The rejected value is gone once the step is skipped; the question is asked afresh.
    assert "Which web address" in screen and "You typed" not in screen
    chat.say("intranet.example.be")
    for press in ["5", "1", "2"]:
        chat.say(press)
    screen = "\n".join(chat.say("1"))
    assert "URL: https://intranet.example.be" in screen
    assert f"Description: {PROBLEM}" in screen
