"""Phone calls logged from Slack: ``/helpdesk call`` opens the call modal (Block Kit ``views.open``), its
``view_submission`` becomes the caller's ticket, channel ``phone``.

Through the real slack-bolt App: first against a recording core (what the modal holds, what is refused
in the acknowledgement), then end to end on the real core over HTTP against the fake Slack Web API,
and with a call logged from the console on the same database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fake_slack import FakeSlack
from slack_harness import TECHNICIAN, RecordingCore, dispatch_form, slack_config
from slack_payloads import FORM, slash_command, view_submission
from sqlalchemy import select
from test_slack_end_to_end import REQUESTER_DM, Journey

from adapters.console.chat import ConsoleChat
from adapters.slack.app import SlackAdapter, build_slack_adapter
from bot.db.models import OutboxEntry, Ticket
from bot.port import SlashCommand, User
from bot.reports import calendar_of
from bot.reports.stats import compute_stats, period_between

PROBLEM = {
    "title": "Imprimante du 2e bloquée",
    "description": "Elle affiche « bourrage » sans papier coincé.",
    "error_message": "",
    "url": "",
    "started": "ce matin",
    "impact": "team",
    "urgency": "high",
}


def call_form(**caller: str) -> dict[str, str]:
    """The call modal's state: who called (``user``, ``email``, ``name``, ``phone``), then :data:`PROBLEM`."""
    fields = {f"caller_{name}": "" for name in ("user", "email", "name", "phone")}
    fields.update({f"caller_{name}": value for name, value in caller.items()})
    return {**fields, **PROBLEM}


def submit(fields: dict[str, str], *, user: str = TECHNICIAN, metadata: str | None = None, **kw: Any) -> str:
    return view_submission(
        fields,
        user=user,
        callback_id="hd_call",
        private_metadata=metadata or json.dumps({"locale": "en-US", "channel": "CTRIAGE1"}),
        **kw,
    )


# -- through bolt, against a recording core -----------------------------------------------------


def test_call_alone_opens_the_call_modal_for_a_technician(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    response = dispatch_form(adapter, slash_command("call", response_url=fake_slack.response_url(), user=TECHNICIAN))
    assert response.status == 200
    [opened] = fake_slack.calls_to("views.open")
    view = opened.view()
    assert view["callback_id"] == "hd_call" and view["title"]["text"] == "Phone call"
    inputs = {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["caller_user"] == "users_select"
    assert list(inputs) == [
        "caller_user",
        "caller_email",
        "caller_name",
        "caller_phone",
        "title",
        "description",
        "error_message",
        "url",
        "started",
        "impact",
        "urgency",
    ]
    assert json.loads(view["private_metadata"])["channel"] == "C111"
    assert core.events == []  # the modal is the intake: nothing reached the core yet


def test_call_with_a_caller_or_from_a_requester_goes_to_the_core(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    dispatch_form(adapter, slash_command("call", response_url=fake_slack.response_url(), user="U111"))
    dispatch_form(adapter, slash_command("call Marc Leroy +32 470 98 76 54", response_url=fake_slack.response_url()))
    assert fake_slack.calls_to("views.open") == []
    commands = [e for e in core.events if isinstance(e, SlashCommand)]
    assert [(c.user.id, c.name, c.args) for c in commands] == [
        ("U111", "call", ""),  # the core answers that only technicians log calls
        ("U111", "call", "Marc Leroy +32 470 98 76 54"),
    ]


@pytest.mark.parametrize(
    ("caller", "field", "message"),
    [
        ({}, "caller_user", "Say who called"),
        ({"name": "Marc Leroy"}, "caller_phone", "number too"),
        ({"phone": "+32 470 98 76 54"}, "caller_name", "name too"),
        ({"email": "not an address"}, "caller_email", "not valid"),
        ({"name": "Marc Leroy", "phone": "12"}, "caller_phone", "not valid"),
    ],
)
def test_who_called_is_checked_in_the_acknowledgement(
    adapter: SlackAdapter, core: RecordingCore, caller: dict[str, str], field: str, message: str
) -> None:
    response = dispatch_form(adapter, submit(call_form(**caller)))
    body = json.loads(response.body)
    assert body["response_action"] == "errors"
    assert message in body["errors"][field]
    assert core.calls == []


def test_a_submission_hands_the_caller_and_the_intake_to_the_core(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    response = dispatch_form(adapter, submit(call_form(user="U111"), view_id="VCALL1", view_hash="h1"))
    assert json.loads(response.body)["response_action"] == "update"
    [(technician, place, caller, fields, event_id)] = core.calls
    assert (technician.id, place.chat_id, event_id) == (TECHNICIAN, "CTRIAGE1", "view:VCALL1:h1")
    # A Slack caller's profile completes the contact (fake profile of U111).
    assert caller == {"user": "slack:U111", "email": "", "name": "Anne Dupont", "phone": "", "chat": "D111"}
    assert (fields["contact_phone"], fields["contact_email"]) == ("+32 2 123 45 67", "anne.dupont@example.be")
    assert {k: fields[k] for k in PROBLEM} == PROBLEM
    [done] = fake_slack.calls_to("views.update")
    assert done.args["view_id"] == "VCALL1"
    assert "#8 is open for Anne Dupont (phone call)." in json.dumps(done.view())


# -- end to end: the real core ------------------------------------------------------------------


@pytest.fixture
def desk(make_app: Callable[..., Any], fake_slack: FakeSlack) -> Iterator[Journey]:
    """The real core on the test database behind the Slack adapter in HTTP mode."""
    app = make_app()
    adapter = build_slack_adapter(app, slack_config(fake_slack))
    adapter.start()
    yield Journey(app, adapter, fake_slack)
    adapter.stop()


def tickets(desk: Journey) -> list[Ticket]:
    with desk.app.uow() as uow:
        return list(uow.session.scalars(select(Ticket).order_by(Ticket.id)))


def test_a_call_from_a_slack_user_is_their_ticket_and_they_are_told_in_their_dm(
    desk: Journey, fake_slack: FakeSlack
) -> None:
    desk.command("call")
    [opened] = fake_slack.calls_to("views.open")
    metadata = opened.view()["private_metadata"]
    status = desk._post(submit(call_form(user="U111"), metadata=metadata, view_id="VCALL", view_hash="h1"), FORM)
    assert status == 200
    desk.app.dispatch_pending()

    [ticket] = tickets(desk)
    assert (ticket.requester_key, ticket.channel, ticket.origin_platform) == ("slack:U111", "phone", "slack")
    assert (ticket.title, ticket.impact, ticket.urgency) == (PROBLEM["title"], "team", "high")
    assert (ticket.contact_name, ticket.contact_email) == ("Anne Dupont", "anne.dupont@example.be")
    assert ticket.contact_phone.replace(" ", "") == "+3221234567"
    assert ticket.origin_chat_id == REQUESTER_DM  # the DM the adapter opened (conversations.open)
    told = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == REQUESTER_DM]
    assert told and f"#{ticket.id}" in told[0].args["text"]
    assert any(c.args["channel"] == "CTRIAGE1" for c in fake_slack.calls_to("chat.postMessage"))  # the card
    [done] = fake_slack.calls_to("views.update")
    assert f"#{ticket.id} is open for Anne Dupont (phone call)" in json.dumps(done.view(), ensure_ascii=False)

    # Anne answers in the confirmation's thread, in her DM: a comment on the caller's ticket.
    anchor = next(m for m in fake_slack.posted(REQUESTER_DM) if f"#{ticket.id}" in m["text"])
    desk.dm("C'est l'imprimante HP du couloir, pas celle du bureau.", thread_ts=anchor["ts"])
    with desk.app.uow() as uow:
        comments = [e.text for e in uow.events.for_ticket(ticket.id) if e.kind == "comment"]
    assert comments == ["C'est l'imprimante HP du couloir, pas celle du bureau."]

    # Slack delivers the same submission again: still one ticket, the modal left as it is.
    desk._post(submit(call_form(user="U111"), metadata=metadata, view_id="VCALL", view_hash="h1"), FORM)
    assert len(tickets(desk)) == 1 and len(fake_slack.calls_to("views.update")) == 1


def test_a_call_from_an_address_is_answered_by_mail_and_a_number_writes_to_nobody(
    desk: Journey, fake_slack: FakeSlack
) -> None:
    desk._post(submit(call_form(email="Jean.Dupont@commune.example", name="Jean Dupont")), FORM)
    desk._post(submit(call_form(name="Marc Leroy", phone="+32 470 98 76 54")), FORM)
    by_mail, by_number = tickets(desk)
    assert (by_mail.requester_key, by_mail.channel, by_mail.contact_email) == (
        "email:jean.dupont@commune.example",
        "phone",
        "jean.dupont@commune.example",
    )
    assert (by_number.requester_name, by_number.channel, by_number.origin_platform) == ("Marc Leroy", "phone", "phone")
    with desk.app.uow() as uow:
        entries = list(uow.session.scalars(select(OutboxEntry)))
    assert {(e.platform, e.chat_id) for e in entries if e.purpose == "confirmation"} == {
        ("email", "jean.dupont@commune.example")
    }
    assert [e for e in entries if e.platform == "phone"] == []
    said = [json.dumps(c.view()) for c in fake_slack.calls_to("views.update")]
    assert "They are told on their platform." in said[0] and "Tell them the number." in said[1]


def test_a_refused_value_reopens_the_modal_with_what_was_typed(desk: Journey, fake_slack: FakeSlack) -> None:
    """The core refuses what Slack's checks let through (a title of blanks only): nothing is opened."""
    form = {**call_form(name="Marc Leroy", phone="+32 470 98 76 54"), "title": "\u200b"}
    desk._post(submit(form, view_id="VBAD"), FORM)
    assert tickets(desk) == []
    [again] = fake_slack.calls_to("views.update")
    view = again.view()
    assert view["callback_id"] == "hd_call" and ":warning:" in json.dumps(view)
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert (initial["caller_name"], initial["caller_phone"]) == ("Marc Leroy", "+32 470 98 76 54")


def test_a_call_logged_from_the_console_and_one_from_slack_each_make_one_phone_ticket(
    desk: Journey, fake_slack: FakeSlack
) -> None:
    bob = ConsoleChat(desk.app, User("console", "bob", "Bob Tech", "en"), technician=True)
    for line in ["/call Marc Leroy +32 470 98 76 54", "Mon écran reste noir", "1", "1", "1", "1", "1", "2"]:
        bob.say(line)
    bob.say("1")  # the contact card is right
    shown = bob.say("1")  # open the ticket from the summary
    assert any("(phone call)" in line for line in shown)
    desk.command("call")
    desk._post(submit(call_form(user="U111")), FORM)

    console, slack = tickets(desk)
    assert (console.channel, console.origin_platform, console.requester_name) == ("phone", "phone", "Marc Leroy")
    assert (slack.channel, slack.origin_platform, slack.requester_key) == ("phone", "slack", "slack:U111")
    now = desk.app.clock.now()
    calendar = calendar_of(desk.app)
    period = period_between((now - timedelta(days=1)).date(), (now + timedelta(days=1)).date(), calendar.tz)
    assert compute_stats(desk.app.uow, calendar, period, now).by_channel == {"phone": 2}
