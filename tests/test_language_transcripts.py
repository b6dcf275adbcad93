"""The same journey in French, English and Dutch, as the requester and the technician read it.

Two terminals (two bot processes on one database): a requester opens a ticket with ``/new``, the
technician claims it from the card, asks a question, reads the answer and the history, resolves
it; the requester confirms and looks at the ticket. Everything each of them reads — cards, buttons,
questions, notifications, histories, dates — must be in their own language: no word that only
another of the three languages uses, and in French no plain space before ``: ; ! ?``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp
from bot.port import User

AppFactory = Callable[..., HelpdeskApp]

TYPED = {
    "fr": ("Imprimante bloquée au 2e étage", "Quel est le modèle ?", "C'est la HP 4050", "Rouleau remplacé"),
    "en": ("Printer jammed on floor 2", "Which model is it?", "It is the HP 4050", "Feed roller replaced"),
    "nl": ("Printer vastgelopen op verdieping 2", "Welk model is het?", "Het is de HP 4050", "Invoerrol vervangen"),
}
"""What the two people type, each in their language: title, question, answer, resolution."""

ONLY_IN = {
    "en": re.compile(r"\b(the|your|you|with|will|please|has|this|what|who|when|here|waiting)\b", re.I),
    "fr": re.compile(r"\b(votre|vous|les|est|avec|pour|une|sur|été|ouvert|attente|demandeur|aucun)\b", re.I),
    "nl": re.compile(r"\b(uw|het|een|wordt|voor|niet|naar|heeft|geopend|aanvrager|wacht|nog)\b", re.I),
}
"""Words that belong to one of the three languages only (none is a word of the other two)."""


def _journey(make_app: AppFactory, language: str) -> tuple[str, str]:
    title, question, answer, resolution = TYPED[language]
    requester = ConsoleChat(make_app(), User("console", "alice", "Alice Dupont", language, email="alice@example.be"))
    technician = ConsoleChat(make_app(), User("console", "bob", "Bob Tech", language), technician=True)
    seen_by_requester: list[str] = []
    seen_by_technician: list[str] = []
    for line in ("/help", "/new", title, "skip", "skip", "skip", "2", "1", "2", "1", "1"):
        seen_by_requester += requester.say(line)
    seen_by_technician += technician.poll()
    seen_by_technician += technician.say("1")  # the card's first button: claim
    seen_by_technician += technician.say(f"/wait 1 {question}")
    seen_by_requester += requester.poll()
    seen_by_requester += requester.say(f"#1 {answer}")
    seen_by_technician += technician.poll()
    seen_by_technician += technician.say("/ticket 1")
    seen_by_technician += technician.say(f"/resolve 1 {resolution}")
    seen_by_technician += technician.say("/queue") + technician.say("/help")
    seen_by_requester += requester.poll()
    seen_by_requester += requester.say("1")  # "Solved, thanks"
    seen_by_requester += requester.say("/ticket 1") + requester.say("/mytickets")
    seen_by_technician += technician.poll()
    return "\n".join(seen_by_requester), "\n".join(seen_by_technician)


def _bot_words(screen: str, language: str) -> str:
    """What the bot wrote: the screen without what the people typed and their names."""
    for typed in (*TYPED[language], "Alice Dupont", "Bob Tech", "alice@example.be"):
        screen = screen.replace(typed, " ")
    return screen


@pytest.mark.parametrize("language", ["fr", "en", "nl"])
def test_the_whole_journey_reads_in_the_readers_language(make_app: AppFactory, language: str) -> None:
    requester, technician = _journey(make_app, language)
    # The journey happened: the ticket was opened, claimed, questioned, answered and resolved.
    assert "#1" in requester and requester.count("\n") > 40 and technician.count("\n") > 60
    for reader, screen in (("requester", requester), ("technician", technician)):
        text = _bot_words(screen, language)
        for other, words in ONLY_IN.items():
            if other != language:
                found = sorted({m.group(0).lower() for m in words.finditer(text)})
                assert not found, f"{language} {reader} reads {other} words {found}:\n{screen}"
        if language == "fr":
            assert not re.search(r" [:;!?](\s|$)", text), f"a plain space before double punctuation:\n{screen}"
            assert not re.search(r"[^\s\u202f\d][:;!?](\s|$)", text), f"a missing no-break space:\n{screen}"


@pytest.mark.parametrize(
    ("language", "requester_lines", "technician_lines"),
    [
        (
            "fr",
            ["Statut\u202f: clôturé", "[1] Résolu, merci"],
            ["Statut\u202f: en attente du demandeur", "Prise en charge prévue\u202f: mar. 3 mars à 09:30"],
        ),
        (
            "en",
            ["Status: closed", "[1] Solved, thanks"],
            ["Status: waiting for the requester", "Pick-up expected by: Tue 3 March at 09:30"],
        ),
        (
            "nl",
            ["Status: afgesloten", "[1] Opgelost, bedankt"],
            ["Status: wacht op de aanvrager", "di 3 maart om 09:30"],
        ),
    ],
)
def test_the_journey_shows_statuses_buttons_and_dates_in_the_readers_words(
    make_app: AppFactory, language: str, requester_lines: list[str], technician_lines: list[str]
) -> None:
    requester, technician = _journey(make_app, language)
    for line in requester_lines:
        assert line in requester, f"{line!r} not shown to the {language} requester:\n{requester}"
    for line in technician_lines:
        assert line in technician, f"{line!r} not shown to the {language} technician:\n{technician}"
