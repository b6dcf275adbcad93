"""Data protection: retention job, export and erasure (service functions and ``helpdesk-bot gdpr``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.bootstrap import HelpdeskApp
from bot.cli import main
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.db.models import (
    Conversation,
    MessageRef,
    OutboxEntry,
    PrivacyAudit,
    Satisfaction,
    SuggestionLog,
    Ticket,
    TicketAttachment,
    TicketEvent,
    UserPreference,
)
from bot.errors import ConfigError
from bot.privacy.service import (
    OpenTicketsRemain,
    anonymise_expired,
    erase_user,
    export_user,
    months_before,
)

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
ALICE = "slack:UALICE"
BOB = ("slack:UBOB", "Bob Tech")
PERSONAL = (
    "Alice Martin",
    "alice.martin@example.be",
    "+32 470 12 34 56",
    "ALICE",
    "my badge 4711",
    "https://intranet.example.be/alice",
    "F-ALICE-1",
    "screenshot-alice.png",
    "J'ai tout essayé, Alice",
)


def add_ticket(
    app: HelpdeskApp,
    number: int,
    *,
    requester: str = ALICE,
    status: str = "closed",
    created: datetime,
    ended: datetime | None = None,
) -> None:
    """A ticket full of personal data: comments, an attachment, an answer, notifications, a suggestion."""
    closed_at = ended if status == "closed" else None
    with app.uow() as uow:
        uow.session.add(
            Ticket(
                id=number,
                title=f"Imprimante en panne {number}",
                description="Alice Martin, bureau 3.12, my badge 4711",
                status=status,
                requester_key=requester,
                requester_name="Alice Martin",
                contact_name="Alice Martin",
                contact_email="alice.martin@example.be",
                contact_phone="+32 470 12 34 56",
                error_message="Error for user ALICE",
                url="https://intranet.example.be/alice",
                started="hier",
                resolution="Called Alice Martin",
                origin_platform="slack",
                origin_chat_id="DALICE",
                thread_id="171.2",
                created_at=created,
                updated_at=ended or created,
                first_response_at=created + timedelta(hours=1),
                resolved_at=closed_at,
                closed_at=closed_at,
                assignee_key=BOB[0],
                assignee_name=BOB[1],
            )
        )
        uow.session.flush()
        session = uow.session
        session.add_all(
            [
                TicketEvent(
                    ticket_id=number,
                    at=created,
                    actor_key=requester,
                    actor_name="Alice Martin",
                    kind="created",
                    to_value="new",
                    text=f"Imprimante en panne {number}",
                ),
                TicketEvent(
                    ticket_id=number,
                    at=created + timedelta(hours=1),
                    actor_key=BOB[0],
                    actor_name=BOB[1],
                    kind="status",
                    from_value="new",
                    to_value="in_progress",
                ),
                TicketEvent(
                    ticket_id=number,
                    at=created + timedelta(hours=1),
                    actor_key=BOB[0],
                    actor_name=BOB[1],
                    kind="assignee",
                    to_value=BOB[1],
                ),
                TicketEvent(
                    ticket_id=number,
                    at=created + timedelta(hours=2),
                    actor_key=requester,
                    actor_name="Alice Martin",
                    kind="comment",
                    text="J'ai tout essayé, Alice",
                ),
                TicketEvent(
                    ticket_id=number,
                    at=created + timedelta(hours=2),
                    actor_key=BOB[0],
                    actor_name=BOB[1],
                    kind="note",
                    text="Alice Martin sits in 3.12",
                ),
                TicketEvent(
                    ticket_id=number,
                    at=created + timedelta(hours=2),
                    actor_key=requester,
                    actor_name="Alice Martin",
                    kind="attachment",
                    text="screenshot-alice.png",
                ),
                TicketAttachment(
                    ticket_id=number,
                    platform="slack",
                    kind="image",
                    ref="F-ALICE-1",
                    name="screenshot-alice.png",
                    url="https://files/alice",
                    added_by=requester,
                    added_at=created,
                ),
                OutboxEntry(
                    created_at=created,
                    ticket_id=number,
                    platform="slack",
                    chat_id="DALICE",
                    purpose="update",
                    payload={"text": "Hello Alice Martin"},
                    status="sent",
                    next_attempt_at=created,
                ),
                MessageRef(
                    ticket_id=number,
                    platform="slack",
                    chat_id="DALICE",
                    message_id=f"m{number}",
                    purpose="anchor",
                ),
                SuggestionLog(
                    at=created - timedelta(minutes=10),
                    user_key=requester,
                    platform="slack",
                    query="imprimante alice bureau 3.12",
                    article_ids={"ids": ["printer"]},
                    outcome="shown",
                ),
            ]
        )
        if status == "closed":
            session.add(
                TicketEvent(
                    ticket_id=number,
                    at=closed_at,
                    actor_key=BOB[0],
                    actor_name=BOB[1],
                    kind="status",
                    from_value="in_progress",
                    to_value="closed",
                )
            )
            session.add(Satisfaction(ticket_id=number, score=4, comment="Merci, Alice", at=closed_at))
        uow.commit()


def personal_data_left(app: HelpdeskApp, number: int) -> list[str]:
    """Every personal value still found in the rows of ticket ``number`` (empty when anonymised)."""
    with app.uow() as uow:
        s = uow.session
        ticket = s.get(Ticket, number)
        assert ticket is not None
        values: list[Any] = [
            ticket.description,
            ticket.contact_name,
            ticket.contact_email,
            ticket.contact_phone,
            ticket.error_message,
            ticket.url,
            ticket.started,
            ticket.resolution,
            ticket.requester_key,
            ticket.requester_name,
            ticket.origin_chat_id,
            ticket.thread_id,
        ]
        values += [
            (e.text, e.actor_key, e.actor_name)
            for e in s.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.kind != "created")
            )
        ]
        values += [
            (a.ref, a.name, a.url, a.added_by)
            for a in s.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == number))
        ]
        values += [a.comment for a in s.scalars(select(Satisfaction).where(Satisfaction.ticket_id == number))]
        values += [o.payload for o in s.scalars(select(OutboxEntry).where(OutboxEntry.ticket_id == number))]
        values += [m.chat_id for m in s.scalars(select(MessageRef).where(MessageRef.ticket_id == number))]
        values += [
            (x.query, x.user_key) for x in s.scalars(select(SuggestionLog).where(SuggestionLog.ticket_id == number))
        ]
    text = json.dumps(values, ensure_ascii=False, default=str)
    return [p for p in (*PERSONAL, ALICE, "DALICE") if p in text]


@pytest.fixture
def gdpr_app(make_app: Callable[..., HelpdeskApp]) -> HelpdeskApp:
    return make_app(clock=FrozenClock(NOW), privacy={"retention_months": 24})


# -- retention ----------------------------------------------------------------------------------


def test_months_before_clamps_the_day() -> None:
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 16, 12, tzinfo=UTC), 24) == datetime(2024, 3, 16, 12, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 10, tzinfo=UTC), 13) == datetime(2024, 12, 10, tzinfo=UTC)


def test_retention_anonymises_only_what_ended_before_the_cutoff(gdpr_app: HelpdeskApp) -> None:
    old = NOW - timedelta(days=800)
    add_ticket(gdpr_app, 1, created=old, ended=old + timedelta(days=2))  # closed 26 months ago
    add_ticket(gdpr_app, 2, created=NOW - timedelta(days=400), ended=NOW - timedelta(days=399))  # 13 months
    add_ticket(gdpr_app, 3, status="in_progress", created=old)  # old but still open
    add_ticket(gdpr_app, 4, status="cancelled", created=old, ended=old)  # cancelled long ago
    with gdpr_app.uow() as uow:
        uow.session.add(
            Conversation(
                platform="slack",
                chat_id="DALICE",
                user_id="UALICE",
                state="intake",
                data={"title": "Alice"},
                updated_at=old,
            )
        )
        uow.session.add(
            Conversation(platform="slack", chat_id="DALICE2", user_id="UALICE", state="intake", data={}, updated_at=NOW)
        )
        uow.commit()

    assert anonymise_expired(gdpr_app, NOW) == 2
    assert personal_data_left(gdpr_app, 1) == [] and personal_data_left(gdpr_app, 4) == []
    assert "Alice Martin" in personal_data_left(gdpr_app, 2)
    assert "Alice Martin" in personal_data_left(gdpr_app, 3)
    with gdpr_app.uow() as uow:
        s = uow.session
        ticket = s.get(Ticket, 1)
        assert ticket is not None
        # What statistics need stays.
        assert (ticket.title, ticket.status, ticket.assignee_name, ticket.closed_at) == (
            "Imprimante en panne 1",
            "closed",
            "Bob Tech",
            old + timedelta(days=2),
        )
        assert ticket.requester_key.startswith("anonymous:")
        assert s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == 1)) == 7
        assert s.scalar(select(Satisfaction.score).where(Satisfaction.ticket_id == 1)) == 4
        # The suggestion shown ten minutes before ticket #1 is linked to it, then anonymised.
        log = s.scalar(select(SuggestionLog).where(SuggestionLog.ticket_id == 1))
        assert log is not None and log.query == "" and log.user_key == ticket.requester_key
        assert [c.chat_id for c in s.scalars(select(Conversation))] == ["DALICE2"]
        audit = list(s.scalars(select(PrivacyAudit)))
    assert [(a.action, a.actor, a.tickets) for a in audit] == [("anonymise", "scheduler", 2)]
    assert audit[0].details["tickets"] == 2 and audit[0].details["conversations"] == 1
    assert not any(p in json.dumps(audit[0].details) for p in (*PERSONAL, ALICE))
    # Idempotent: nothing left to do, no second audit entry.
    assert anonymise_expired(gdpr_app, NOW) == 0
    with gdpr_app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(PrivacyAudit)) == 1


def test_retention_processes_in_batches(make_app: Callable[..., HelpdeskApp]) -> None:
    app = make_app(clock=FrozenClock(NOW), privacy={"retention_months": 1, "batch_size": 2})
    for number in range(1, 6):
        add_ticket(app, number, created=NOW - timedelta(days=90), ended=NOW - timedelta(days=80))
    assert anonymise_expired(app, NOW) == 5
    assert all(personal_data_left(app, n) == [] for n in range(1, 6))


def test_retention_can_be_switched_off(make_app: Callable[..., HelpdeskApp]) -> None:
    app = make_app(clock=FrozenClock(NOW), privacy={"retention_months": 1, "enabled": False})
    add_ticket(app, 1, created=NOW - timedelta(days=90), ended=NOW - timedelta(days=80))
    assert anonymise_expired(app, NOW) == 0
    assert "Alice Martin" in personal_data_left(app, 1)


def test_privacy_section_is_validated() -> None:
    assert parse_config({"privacy": {"retention_months": 36}}, environ={}).privacy.retention_months == 36
    assert parse_config({}, environ={}).privacy.retention_months == 24
    with pytest.raises(ConfigError, match="retention_months"):
        parse_config({"privacy": {"retention_months": 0}}, environ={})
    with pytest.raises(ConfigError, match="retention"):
        parse_config({"privacy": {"retention": 12}}, environ={})


# -- export and erasure -------------------------------------------------------------------------


def test_export_holds_everything_about_the_person(gdpr_app: HelpdeskApp) -> None:
    add_ticket(gdpr_app, 1, created=NOW - timedelta(days=10), ended=NOW - timedelta(days=9))
    add_ticket(gdpr_app, 2, requester="slack:UCAROL", created=NOW - timedelta(days=5), ended=NOW)
    with gdpr_app.uow() as uow:
        uow.session.add(
            TicketEvent(
                ticket_id=2,
                at=NOW,
                actor_key=ALICE,
                actor_name="Alice Martin",
                kind="comment",
                text="Same here (Alice)",
            )
        )
        uow.session.add(UserPreference(user_key=ALICE, language="nl", detected_language="fr", updated_at=NOW))
        uow.session.add(
            Conversation(
                platform="slack",
                chat_id="DALICE",
                user_id="UALICE",
                state="intake",
                data={"title": "Wi-Fi"},
                updated_at=NOW,
            )
        )
        uow.commit()
    data = export_user(gdpr_app.uow, ALICE, NOW)
    assert data["user"] == ALICE and data["preferences"]["language"] == "nl"
    assert data["preferences"]["detected_language"] == "fr"  # what her platform reported, kept too
    [ticket] = data["tickets_requested"]
    assert ticket["number"] == 1 and ticket["contact"]["email"] == "alice.martin@example.be"
    assert [e["kind"] for e in ticket["events"]] == [
        "created",
        "status",
        "assignee",
        "comment",
        "note",
        "attachment",
        "status",
    ]
    assert ticket["attachments"][0]["ref"] == "F-ALICE-1" and ticket["satisfaction"]["comment"] == "Merci, Alice"
    assert [e["text"] for e in data["events_authored"]] == ["Same here (Alice)"]
    assert [s["query"] for s in data["suggestions"]] == ["imprimante alice bureau 3.12"]
    assert data["conversations"][0]["data"] == {"title": "Wi-Fi"}
    bob = export_user(gdpr_app.uow, BOB[0], NOW)
    assert bob["tickets_requested"] == [] and bob["tickets_assigned"] == [1, 2]


def test_erase_refuses_while_a_ticket_is_worked_on(gdpr_app: HelpdeskApp) -> None:
    add_ticket(gdpr_app, 1, status="waiting", created=NOW - timedelta(days=3))
    with pytest.raises(OpenTicketsRemain) as caught:
        erase_user(gdpr_app.uow, ALICE, NOW)
    assert caught.value.numbers == (1,)
    assert "Alice Martin" in personal_data_left(gdpr_app, 1)


def test_erase_keeps_anonymised_tickets_and_an_audit_entry(gdpr_app: HelpdeskApp) -> None:
    add_ticket(gdpr_app, 1, created=NOW - timedelta(days=10), ended=NOW - timedelta(days=9))
    add_ticket(gdpr_app, 2, requester="slack:UCAROL", created=NOW - timedelta(days=5), ended=NOW)
    with gdpr_app.uow() as uow:
        uow.session.add(
            TicketEvent(
                ticket_id=2,
                at=NOW,
                actor_key=ALICE,
                actor_name="Alice Martin",
                kind="comment",
                text="Same here",
            )
        )
        uow.session.add(UserPreference(user_key=ALICE, language="nl", updated_at=NOW))
        uow.commit()
    counts = erase_user(gdpr_app.uow, ALICE, NOW)
    assert counts["tickets"] == 1 and counts["preferences"] == 1 and counts["events"] == 1
    assert personal_data_left(gdpr_app, 1) == []
    assert "Alice Martin" in personal_data_left(gdpr_app, 2)  # Carol's own ticket keeps Carol's data
    after = export_user(gdpr_app.uow, ALICE, NOW)
    assert (
        after["tickets_requested"],
        after["events_authored"],
        after["suggestions"],
        after["preferences"],
    ) == ([], [], [], None)
    with gdpr_app.uow() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2
        erased = s.get(Ticket, 1)
        assert erased is not None and erased.requester_key.startswith("erased:")
        # The comment on Carol's ticket keeps its text but no longer names its author.
        comment = s.scalar(select(TicketEvent).where(TicketEvent.ticket_id == 2, TicketEvent.text == "Same here"))
        assert comment is not None and comment.actor_key == erased.requester_key and comment.actor_name == ""
        [audit] = s.scalars(select(PrivacyAudit))
    assert (audit.action, audit.actor, audit.tickets) == ("erase", "cli", 1)
    assert not any(p in json.dumps(audit.details) for p in (*PERSONAL, ALICE, "UALICE"))


def test_technician_erasure_removes_their_name(gdpr_app: HelpdeskApp) -> None:
    add_ticket(gdpr_app, 1, created=NOW - timedelta(days=10), ended=NOW - timedelta(days=9))
    erase_user(gdpr_app.uow, BOB[0], NOW)
    with gdpr_app.uow() as uow:
        s = uow.session
        names = [(e.actor_name, e.to_value) for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == 1))]
        ticket = s.get(Ticket, 1)
        assert ticket is not None
        assert ticket.assignee_name == "" and ticket.assignee_key is not None
        assert ticket.assignee_key.startswith("erased:")
    assert not any("Bob" in (a or "") or "Bob" in (b or "") for a, b in names)
    assert "Alice Martin" in personal_data_left(gdpr_app, 1)  # the requester's data is not touched


# -- command line ---------------------------------------------------------------------------------


@pytest.fixture
def cli_config(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[privacy]\nretention_months = 12\n', encoding="utf-8")
    return path


def test_cli_export_erase_and_anonymise(gdpr_app: HelpdeskApp, cli_config: Path) -> None:
    long_ago = datetime(2020, 1, 6, 9, tzinfo=UTC)
    add_ticket(gdpr_app, 1, created=long_ago, ended=long_ago + timedelta(days=1))
    add_ticket(gdpr_app, 2, requester="slack:UCAROL", created=NOW - timedelta(days=3), ended=NOW)
    runner = CliRunner()
    exported = runner.invoke(main, ["--config", str(cli_config), "gdpr", "export", "slack:UCAROL"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["tickets_requested"][0]["number"] == 2

    bad = runner.invoke(main, ["--config", str(cli_config), "gdpr", "export", "carol"])
    assert bad.exit_code == 2 and "platform:id" in bad.output

    declined = runner.invoke(main, ["--config", str(cli_config), "gdpr", "erase", "slack:UCAROL"], input="n\n")
    assert declined.exit_code == 1 and "1 ticket(s) to anonymise" in declined.output
    assert "Alice Martin" in personal_data_left(gdpr_app, 2)
    confirmed = runner.invoke(main, ["--config", str(cli_config), "gdpr", "erase", "slack:UCAROL"], input="y\n")
    assert confirmed.exit_code == 0 and "audit entry" in confirmed.output
    assert personal_data_left(gdpr_app, 2) == []
    again = runner.invoke(main, ["--config", str(cli_config), "gdpr", "erase", "slack:UCAROL", "--yes"])
    assert again.output.strip() == "nothing is held about slack:UCAROL"

    anonymised = runner.invoke(main, ["--config", str(cli_config), "gdpr", "anonymise"])
    assert anonymised.exit_code == 0 and anonymised.output.startswith("1 ticket(s) finished before")
    assert personal_data_left(gdpr_app, 1) == []


def test_running_bot_schedules_the_retention_job_daily(make_app: Callable[..., HelpdeskApp]) -> None:
    from bot.scheduler import start_scheduler

    app = make_app(clock=FrozenClock(NOW), privacy={"retention_months": 1})
    add_ticket(app, 1, created=NOW - timedelta(days=90), ended=NOW - timedelta(days=80))
    scheduler = start_scheduler(app)
    try:
        job = scheduler.get_job("privacy-retention")
        assert job is not None and job.trigger.interval == timedelta(days=1)
        job.func()  # what the scheduler runs each day
    finally:
        scheduler.shutdown(wait=True)
    assert personal_data_left(app, 1) == []

    quiet = make_app(clock=FrozenClock(NOW), privacy={"enabled": False})
    scheduler = start_scheduler(quiet)
    try:
        assert scheduler.get_job("privacy-retention") is None
        assert scheduler.get_job("service-levels") is not None
    finally:
        scheduler.shutdown(wait=True)
