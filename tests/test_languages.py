"""Every message in its reader's language and role: /lang, histories, "when did it start", statuses."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta

import pytest

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.i18n import translator
from bot.port import User
from bot.presenters import started_text, started_value, ticket_card

AppFactory = Callable[..., HelpdeskApp]
OpenTicket = Callable[..., int]

ANNE = User("console", "anne", "Anne Leroy", "fr", email="anne.leroy@example.be")
BOB = User("console", "bob", "Bob Tech", "en")


@pytest.mark.parametrize(
    ("choice", "answer"),
    [
        ("fr", "Je vous parlerai désormais en français."),
        ("en", "I will speak English with you from now on."),
        ("nl", "Ik spreek voortaan Nederlands met u."),
    ],
)
def test_lang_answers_in_the_language_chosen(app: HelpdeskApp, choice: str, answer: str) -> None:
    assert ConsoleChat(app, ANNE).say(f"/lang {choice}") == [answer]


def test_the_history_names_every_kind_of_change(
    app: HelpdeskApp, requester: ConsoleChat, open_ticket: OpenTicket
) -> None:
    bob = ConsoleChat(app, BOB, technician=True)
    number = open_ticket(requester, "The printer does not print")
    bob.say(f"/category {number} helpline")
    history = "\n".join(bob.say(f"/ticket {number}"))
    assert "Bob Tech: category helpdesk → helpline" in history
    assert "Bob Tech: category\n" not in history + "\n"


def _walk_to_started(chat: ConsoleChat) -> None:
    for line in ("Mon écran reste noir", "1", "1", "1", "1"):
        chat.say(line)


def test_when_it_started_is_stored_neutral_and_shown_in_each_readers_language(
    make_app: AppFactory, clock: FrozenClock
) -> None:
    app = make_app()
    anne = ConsoleChat(app, ANNE)
    _walk_to_started(anne)
    anne.say("3")  # « hier »
    summary = "\n".join(anne.say("1") + anne.say("2") + anne.say("1"))
    assert "Depuis : hier" in summary.replace("\u202f", " ")
    confirmation = "\n".join(anne.say("1"))
    number = int(confirmation.split("Votre ticket #")[1].split(" ")[0])
    ticket = app.tickets.view(anne.user, number).ticket
    assert ticket.started != "hier" and "hier" not in ticket.started
    now = clock.now()
    fields = {
        lang: dict(ticket_card(translator(lang), ticket, now, for_technicians=True).fields)
        for lang in ["en", "fr", "nl"]
    }
    assert fields["en"]["Since"] == "yesterday"
    assert fields["nl"]["Sinds"] == "gisteren"
    # A week later the day is written out, in the reader's words.
    later = now + timedelta(days=7)
    assert started_text(translator("en"), ticket.started, later) == "1 March"
    assert started_text(translator("fr"), ticket.started, later) == "1 mars"
    assert started_text(translator("nl"), ticket.started, later) == "1 maart"


def test_when_it_started_choices_and_typed_words(clock: FrozenClock) -> None:
    now = clock.now()  # Monday 2 March 2026, 10:00 in Brussels
    en, fr = translator("en"), translator("fr")
    assert started_text(en, started_value("now", now), now) == "today at 10:00"
    assert started_text(fr, started_value("today", now), now) == "aujourd'hui"
    assert started_text(en, started_value("days", now), now) == "several days before 2 March"
    assert (
        started_text(fr, started_value("days", now), now + timedelta(days=365)) == "quelques jours avant le 2 mars 2026"
    )
    assert started_text(en, "lundi vers 10 h", now) == "lundi vers 10 h"


def _lines(screens: Sequence[str]) -> str:
    return "\n".join(screens)


def test_a_waiting_ticket_reads_right_for_the_technician_and_for_the_requester(
    app: HelpdeskApp, requester: ConsoleChat, technician: ConsoleChat, open_ticket: OpenTicket
) -> None:
    number = open_ticket(requester)
    technician.poll()
    technician.say(f"/claim {number}")
    tech_card = _lines(technician.say(f"/wait {number} Which model is it?") + technician.poll())
    assert "Status: waiting for the requester" in tech_card
    assert "waiting for your answer" not in tech_card
    assert "waiting for your answer" not in _lines(technician.say(f"/ticket {number}"))
    assert f"#{number} [P4] waiting for the requester" in _lines(technician.say("/mine"))
    requester.poll()
    assert "Status: waiting for your answer" in _lines(requester.say(f"/ticket {number}"))


def test_the_technician_reads_cards_buttons_and_notices_in_their_own_language(make_app: AppFactory) -> None:
    """Cards and technicians' notices are queued language-neutral and rendered for the terminal that shows them,
    whatever the language of the requester whose change caused them, and at delivery time."""
    requester = ConsoleChat(make_app(), User("console", "alice", "Alice Dupont", "fr", email="alice@example.be"))
    piet = ConsoleChat(make_app(), User("console", "piet", "Piet Peeters", "nl"), technician=True)
    for line in ("L'imprimante du 2e étage est bloquée", "3", "1", "1", "1", "1", "5", "1", "2", "1"):
        requester.say(line)
    requester.say("1")
    dutch = "\n".join(piet.poll())
    assert "Status: nieuw" in dutch and "Urgentie:" in dutch
    assert "[1] In behandeling nemen" in dutch and "Statut" not in dutch
    requester.say("#1 C'est la HP du local 2.14")
    assert "#1 — Alice Dupont (aanvrager) schrijft:" in "\n".join(piet.poll())
    # Switching language changes the next card: it is rendered when delivered, not when queued.
    piet.say("/lang en")
    english = "\n".join(piet.say("/claim 1") + piet.poll())
    assert "Status: in progress" in english and "[1] Waiting on requester" in english


def test_slack_help_and_errors_name_its_single_slash_command(app: HelpdeskApp) -> None:
    from bot.port import Place, SlashCommand

    user = User("slack", "U0A1", "Anne Leroy", "en")
    place = Place("slack", "D0A1")
    [help_reply] = app.handle(SlashCommand(user, place, "help", ""))
    text = help_reply.message.text
    assert "/helpdesk mytickets — your open tickets" in text and "/helpdesk unfollow N —" in text
    assert set(re.findall(r"(?<![\w/])/\w+", text)) == {"/helpdesk"}
    [usage] = app.handle(SlashCommand(user, place, "ticket", ""))
    assert "/helpdesk ticket N" in usage.message.text and " /ticket" not in usage.message.text
    # The console writes them as they are typed there.
    console_help = "\n".join(ConsoleChat(app, ANNE).say("/help"))
    assert "/mytickets — vos tickets ouverts" in console_help and "/helpdesk" not in console_help


def test_one_registry_feeds_help_and_menus(app: HelpdeskApp) -> None:
    from bot.i18n import N_

    app.core.register_command("ping", lambda event, t: [], usage=N_("N"), summary=N_("take ticket N"))
    assert "/ping N — take ticket N" in "\n".join(ConsoleChat(app, User("console", "x", "X", "en")).say("/help"))
    requesters = dict(app.core.command_menu("everyone", "nl"))
    technicians = dict(app.core.command_menu("technician", "nl"))
    assert {"new", "comment", "unfollow", "ping"} <= set(requesters) and "claim" not in requesters
    assert {"mine", "claim", "new", "stats"} <= set(technicians)
    assert requesters["ping"] == "Ticket N in behandeling nemen — /ping N"


def test_the_requesters_updates_are_rendered_in_their_language_when_delivered(make_app: AppFactory) -> None:
    """A status update waits in the outbox language-neutral: a requester who switches language before it
    reaches them reads it, and its buttons, in the new language."""
    requester = ConsoleChat(make_app(), User("console", "anne", "Anne Leroy", "fr", email="anne@example.be"))
    technician = ConsoleChat(make_app(), BOB, technician=True)
    for line in ("/new", "Écran noir", "skip", "skip", "skip", "2", "1", "2", "1", "1"):
        requester.say(line)
    technician.poll()
    technician.say("/resolve 1 Câble remplacé")
    screen = "\n".join(requester.say("/lang nl"))
    assert "Ik spreek voortaan Nederlands met u." in screen
    assert "[#1] Ticket #1 is opgelost:" in screen and "[#1] [1] Opgelost, bedankt  [2] Nog steeds defect" in screen
    assert "résolu" not in screen
