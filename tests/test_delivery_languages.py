"""Notices written for their reader when they are delivered, not in the bot's language when queued.

A confirmation, a service-level notice, a visit notice, a follower's update or a major incident waits in
the outbox language-neutral; the dispatcher writes it in the language its reader has then (their ``/lang``
choice, else the language their platform reported last, kept in the database), with the commands as the
platform it reaches writes them (``/helpdesk visit`` in Slack).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sla_support import FRIDAY_1630, Desk
from sla_support import make_app as sla_app

from adapters.console.chat import ConsoleChat
from bot.clock import FrozenClock
from bot.port import ButtonPress, Place, SlashCommand, TextMessage, User
from bot.tickets import TicketDraft

if TYPE_CHECKING:
    # several conftest.py files live side by side: at run time the fixtures hand these out
    from conftest import AppFactory, FakeMessenger

ANNE = User("fake", "anne", "Anne Leroy", "fr")
ANNE_CHAT = Place("fake", "anne-chat")
DRAFT = TicketDraft(title="Écran noir", description="Depuis ce matin", contact_email="anne@example.be")


def _set_language(app: object, user_key: str, language: str) -> None:
    with app.uow() as uow:  # type: ignore[attr-defined]
        uow.preferences.set_language(user_key, language, app.clock.now())  # type: ignore[attr-defined]
        uow.commit()


def test_the_confirmation_and_its_card_are_written_when_delivered(
    make_app: AppFactory, make_messenger: Callable[..., object]
) -> None:
    """Anne opened her ticket in French and chose Dutch before the confirmation reached her: she reads it,
    and her card, in Dutch."""
    app = make_app()
    ticket = app.tickets.open(ANNE, ANNE_CHAT, DRAFT, "fr")
    _set_language(app, ANNE.key, "nl")
    fake = make_messenger("fake")
    app.register_messenger(fake)  # type: ignore[arg-type]
    app.dispatch_pending()
    [confirmation] = [n for n in fake.sent if n.purpose == "confirmation"]  # type: ignore[attr-defined]
    message = confirmation.message
    assert message.text.startswith(f"Uw ticket #{ticket.id} is geopend: “Écran noir”")
    assert message.card is not None and ("Status", "nieuw") in message.card.fields
    assert "ouvert" not in message.text


def test_visit_notices_reach_each_person_in_their_language_with_the_platforms_commands(
    make_app: AppFactory, make_messenger: Callable[..., object]
) -> None:
    """The requester reads the proposal in the language she chose after opening the ticket; the technician
    reads her answer in his, with the command written as Slack writes it."""
    tom = User("slack", "UTOM", "Tom Tech", "fr")
    triage = Place("slack", "CTRIAGE")
    anne = User("slack", "UANNE", "Anne Leroy", "fr")
    dm = Place("slack", "DANNE")
    app = make_app(roles={"technicians": [tom.key]})
    fake = make_messenger("slack")
    app.register_messenger(fake)  # type: ignore[arg-type]
    ticket = app.tickets.open(anne, dm, DRAFT, "fr")
    app.handle(TextMessage(anne, dm, "bonjour"))  # her Slack locale is French
    _set_language(app, anne.key, "nl")
    _set_language(app, tom.key, "en")
    app.handle(SlashCommand(tom, triage, "visit", f"{ticket.id} 2026-03-04 10:00 Lokaal 2.14"))
    app.dispatch_pending()
    [proposal] = [n for n in fake.sent if "bezoek" in n.message.text]  # type: ignore[attr-defined]
    assert proposal.place.chat_id == "DANNE"
    proposed = f"#{ticket.id}: Tom Tech stelt een bezoek ter plaatse voor op wo 4 maart om 10:00 (Lokaal 2.14)"
    assert proposed in proposal.message.text
    assert [b.label for b in proposal.message.buttons] == ["OK", "Een andere datum, graag"]
    other = next(b.value for b in proposal.message.buttons if b.value.startswith("visit:other:"))
    app.handle(ButtonPress(anne, dm, other))
    app.dispatch_pending()
    [answer] = [n for n in fake.sent if n.place.chat_id == "CTRIAGE" and "another date" in n.message.text]  # type: ignore[attr-defined]
    assert f"Propose one with /helpdesk visit {ticket.id} YYYY-MM-DD HH:MM." in answer.message.text
    assert "Wed 4 March at 10:00" in answer.message.text


def test_a_language_the_platform_reported_outlives_the_process(make_app: AppFactory) -> None:
    """Telegram's language_code (or a Slack locale) of a user's last message is kept in the database: a
    notice queued for them by another process, after a restart, is written in it."""
    first = make_app()
    piet = User("telegram", "4242", "Piet", "nl-BE")
    first.handle(SlashCommand(piet, Place("telegram", "4242"), "help", ""))
    first.close()
    second = make_app()
    with second.uow() as uow:
        assert second.notifier.reader_language(uow, piet.key) == "nl"
    # Without a locale in the event (an edited message, a button), the user is still answered in Dutch.
    [reply] = second.handle(SlashCommand(User("telegram", "4242", "Piet"), Place("telegram", "4242"), "mytickets", ""))
    assert reply.message.text.startswith("U hebt geen openstaand ticket.")


def test_followers_get_the_news_in_their_language_and_never_the_requesters_resolution_note(
    make_app: AppFactory,
) -> None:
    """A follower is another requester: told that the ticket is resolved, in the language they read now,
    without the note written for its requester (it may name her, her desk, her phone)."""
    app = make_app()
    alice = ConsoleChat(app, User("console", "alice", "Alice Dupont", "en", email="alice@example.be"))
    bob = ConsoleChat(app, User("console", "bob", "Bob Tech", "en"), technician=True)
    carol = ConsoleChat(app, User("console", "carol", "Carol Peeters", "en"))
    for line in ("/new", "The VPN refuses every connection since this morning", "skip", "skip", "skip"):
        alice.say(line)
    for line in ("2", "1", "2", "1", "1"):
        alice.say(line)
    bob.poll()
    offer = "\n".join(carol.say("The VPN refuses every connection since this morning"))
    assert "Same problem as #1? Follow it" in offer
    carol.say("1")
    carol.say("/lang fr")
    bob.say("/resolve 1 Alice, your laptop's certificate was renewed; call me on 0470 12 34 56 if not.")
    alice_screen = "\n".join(alice.poll())
    assert "your laptop's certificate was renewed" in alice_screen
    carol_screen = "\n".join(carol.poll())
    assert "Le ticket #1, que vous suivez, est résolu." in carol_screen
    assert "certificate" not in carol_screen and "0470" not in carol_screen


def test_a_major_incident_is_written_in_each_technicians_language(make_app: AppFactory) -> None:
    """The major-incident notice waits language-neutral: the Dutch technician's terminal reads it in Dutch."""
    app = make_app(incidents={"major_reports": 2})
    piet = ConsoleChat(app, User("console", "piet", "Piet Peeters", "nl"), technician=True)
    piet.poll()
    for name in ("ann", "ben"):
        ConsoleChat(app, User("console", name, name.title(), "en")).say(
            "The intranet answers error 502 on every page since this morning"
        )
    screen = "\n".join(piet.poll())
    assert "Groot incident: 2 personen meldden een gelijkaardig probleem binnen 30 minuten" in screen
    assert "Major incident" not in screen


def test_an_events_notices_to_a_one_person_chat_are_written_for_that_person(
    make_app: AppFactory, make_messenger: Callable[..., FakeMessenger]
) -> None:
    """Delivered right after the event that queued them (not by a later dispatcher round), the card and the
    notice that reach a technician's direct chat are written in that technician's language."""
    app = make_app()
    fake = make_messenger("fake")
    # a platform whose direct chats are read by one person each (like a Slack DM or a Telegram private chat)
    fake.reader_of = {"piet-dm": "fake:piet"}.get  # type: ignore[attr-defined]
    app.register_messenger(fake)
    app.add_technician_place(Place("fake", "piet-dm"))
    _set_language(app, "fake:piet", "nl")
    ticket = app.tickets.open(ANNE, ANNE_CHAT, DRAFT, "fr")
    app.dispatch_pending()
    fake.sent.clear()
    app.handle(SlashCommand(ANNE, ANNE_CHAT, "comment", f"{ticket.id} C'est la HP du local 2.14"))
    to_piet = [n for n in fake.sent if n.place.chat_id == "piet-dm"]
    assert {n.purpose for n in to_piet} == {"card", "tech_update"}
    [notice] = [n for n in to_piet if n.purpose == "tech_update"]
    assert notice.message.text.startswith(f"#{ticket.id} — Anne Leroy (aanvrager) schrijft:")
    [card] = [n for n in to_piet if n.purpose == "card"]
    assert card.message.card is not None and ("Status", "nieuw") in card.message.card.fields


def test_service_level_notices_are_written_in_the_technicians_language(tmp_path: Path) -> None:
    """The scheduler's reminder and warning wait language-neutral: a technician who reads Dutch gets them in
    Dutch, with the due moment in his locale and the Claim button translated ([bot] language is English)."""
    clock = FrozenClock(FRIDAY_1630)
    desk = Desk(sla_app(tmp_path / "h.db", clock))
    desk.bob.say("/lang nl")
    desk.open(impact="site", urgency="high")  # P1: pick-up 1 h
    clock.set(datetime(2026, 11, 27, 15, 45, tzinfo=UTC))  # 16:45: 15 working minutes
    assert desk.tick() == 1
    reminder = "\n".join(desk.bob.poll())
    assert "Herinnering: ticket #1 “Printer down” (P1) wacht nog altijd op een technicus." in reminder
    assert "In behandeling nemen" in reminder and "Claim" not in reminder
    clock.set(datetime(2026, 11, 30, 7, 45, tzinfo=UTC))  # Monday 08:45 = 75 % of the pick-up hour
    assert desk.tick() == 1
    warning = "\n".join(desk.bob.poll())
    assert "Waarschuwing: 75 % van de termijn voor opname van ticket #1" in warning
    assert "vervalt ma 30 november om 09:00" in warning and "Warning" not in warning


def test_the_follow_note_is_read_in_each_technicians_language(make_app: AppFactory) -> None:
    """The note that someone follows a ticket is written by the bot: a Dutch technician's history shows it in
    Dutch, not in [bot] language (English here)."""
    app = make_app()
    alice = ConsoleChat(app, User("console", "alice", "Alice Dupont", "en", email="alice@example.be"))
    piet = ConsoleChat(app, User("console", "piet", "Piet Peeters", "nl"), technician=True)
    carol = ConsoleChat(app, User("console", "carol", "Carol Peeters", "en"))
    for line in ("/new", "The VPN refuses every connection since this morning", "skip", "skip", "skip"):
        alice.say(line)
    for line in ("2", "1", "2", "1", "1"):
        alice.say(line)
    assert "Same problem as #1? Follow it" in "\n".join(
        carol.say("The VPN refuses every connection since this morning")
    )
    carol.say("1")
    history = "\n".join(piet.say("/ticket 1"))
    assert "Carol Peeters: interne nota: " in history and "Also affected" not in history
    assert "Also affected" not in "\n".join(alice.say("/ticket 1"))  # an internal note: never the requester's


def test_an_automatic_escalation_reaches_the_next_level_in_its_technicians_language(tmp_path: Path) -> None:
    """The scheduler escalates a breached ticket to L2; Carol (L2) reads Dutch: the reason the bot wrote for
    the handover reaches her in Dutch, with the missed moment in her locale ([bot] language is English)."""
    clock = FrozenClock(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # Monday 09:00
    desk = Desk(sla_app(tmp_path / "h.db", clock))
    desk.carol.say("/lang nl")
    number = desk.open(impact="team", urgency="high")  # P2: 2 h / 8 h
    desk.bob.say(f"/claim {number}")
    clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 17:00: the resolution time is over, L2 takes over
    desk.tick()
    handover = "\n".join(desk.carol.poll())
    assert "Automatische escalatie: de doelstelling voor" in handover, handover
    assert "Automatic escalation" not in handover, handover
