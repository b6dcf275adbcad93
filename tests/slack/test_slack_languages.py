"""Slack through the real core and the real slack-bolt/slack_sdk against the fake Web API: each person reads
the bot in their language (Slack locale or /lang) in their DMs and cards, commands are written
``/helpdesk …`` in queued notices, and edited messages are applied while the answer is unused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fake_slack import FakeSlack
from slack_harness import TECHNICIAN, slack_config
from slack_payloads import JSON, dm_message, event_body, view_submission
from test_slack_end_to_end import PRINTER_DETAIL, PRINTER_PROBLEM, REQUESTER_DM, TRIAGE, Journey, buttons_of

from adapters.slack.app import build_slack_adapter
from bot.bootstrap import bootstrap
from bot.config import Config
from bot.port import Place
from bot.rendering import later


def _config(tmp_path: Path) -> Config:
    return Config.model_validate({"database": {"url": f"sqlite:///{tmp_path}/t.db"}})


@pytest.fixture
def journey(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Journey]:
    app = bootstrap(_config(tmp_path))
    adapter = build_slack_adapter(app, slack_config(fake_slack))
    adapter.start()
    yield Journey(app, adapter, fake_slack)
    adapter.stop()
    app.close()


def _edit(journey: Journey, ts: str, old: str, new: str, *, edit_ts: str, user: str = "U111") -> None:
    """A ``message_changed`` event, shaped as Slack sends it for an edit in a DM."""
    original = dm_message(old, user=user, channel=REQUESTER_DM, ts=ts)
    changed = {**original, "text": new, "edited": {"user": user, "ts": edit_ts}}
    event = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": REQUESTER_DM,
        "channel_type": "im",
        "ts": edit_ts,
        "event_ts": edit_ts,
        "message": changed,
        "previous_message": original,
    }
    assert journey._post(event_body(event, event_id=f"Ev-edit-{edit_ts}"), JSON) == 200


def _dm(journey: Journey, text: str, ts: str) -> None:
    event = dm_message(text, user="U111", channel=REQUESTER_DM, ts=ts)
    assert journey._post(event_body(event, event_id=f"Ev-{ts}"), JSON) == 200


def _dm_texts(fake: FakeSlack) -> list[str]:
    return [str(c.args["text"]) for c in fake.calls_to("chat.postMessage") if c.args["channel"] == REQUESTER_DM]


def test_an_edit_is_applied_while_the_answer_is_unused_else_the_user_is_told(
    journey: Journey, fake_slack: FakeSlack
) -> None:
    _dm(journey, "bonjour", "1600000001.000001")
    before = len(_dm_texts(fake_slack))
    # A link preview Slack adds is a message_changed with the same words: nothing to answer.
    _edit(journey, "1600000001.000001", "bonjour", "bonjour", edit_ts="1600000001.000002")
    assert len(_dm_texts(fake_slack)) == before
    _edit(journey, "1600000001.000001", "bonjour", "bonsoir", edit_ts="1600000001.000003")
    assert _dm_texts(fake_slack)[-1] == (
        "Les messages modifiés ne sont pas pris en compte\u202f: veuillez envoyer un nouveau message."
    )

    # In the intake: the description just typed is corrected by editing it, and the question is asked again.
    _dm(journey, "L'imprimante du 3e étage affiche une erreur de bourrage papier", "1600000002.000001")
    for _ in range(10):
        post = journey.last_dm_post()
        values = buttons_of(post["blocks"])
        if "escription" in post["text"]:
            break
        journey.press(next(v for prefix in ("kb:notsolved", "intake:accept") for v in values if v.startswith(prefix)))
    else:
        pytest.fail("the intake never asked for the description")
    _dm(journey, "Le bac 1 est bloqué", "1600000003.000001")
    _edit(journey, "1600000003.000001", "Le bac 1 est bloqué", "Le bac 2 est bloqué", edit_ts="1600000003.000009")
    texts = _dm_texts(fake_slack)
    assert "Votre correction est prise en compte." in texts[-2]
    with journey.app.uow() as uow:
        row = uow.conversations.get("slack", REQUESTER_DM, "U111")
        assert row is not None
        assert "Le bac 2 est bloqué" in row.data["description"] and "bac 1" not in row.data["description"]
    # The same edit delivered again (a Slack retry) is not applied twice.
    count = len(texts)
    _edit(journey, "1600000003.000001", "Le bac 1 est bloqué", "Le bac 2 est bloqué", edit_ts="1600000003.000009")
    assert len(_dm_texts(fake_slack)) == count
    # The first message was used to start the intake: its edit is not taken into account.
    _edit(journey, "1600000002.000001", "L'imprimante…", "Le scanner…", edit_ts="1600000003.000010")
    assert _dm_texts(fake_slack)[-2] == (
        "Un message modifié n'est plus pris en compte une fois utilisé\u202f: envoyez un nouveau message."
    )


def test_dms_and_cards_are_written_in_the_slack_users_language(
    tmp_path: Path, journey: Journey, fake_slack: FakeSlack
) -> None:
    """U111's Slack locale is fr-BE; after /helpdesk lang en her ticket's confirmation and card are in English.
    A notice queued for a DM without naming its reader is written in that DM's user's language, also by a
    process that never saw the user (it asks conversations.info whose DM it is)."""
    journey.command("lang en", user="U111", channel=REQUESTER_DM)
    form = {
        "title": "Scanner of the 2nd floor",
        "description": "Scan to e-mail fails.",
        "error_message": "",
        "url": "",
        "started": "",
        "impact": "team",
        "urgency": "medium",
        "contact_name": "Anne Dupont",
        "contact_phone": "",
        "contact_email": "anne.dupont@example.be",
    }
    assert journey._post(view_submission(form), "application/x-www-form-urlencoded") == 200
    journey.app.dispatch_pending()
    confirmation = journey.last_dm_post()
    assert confirmation["text"].startswith("Your ticket #1 is open")
    shown = json.dumps(confirmation["blocks"], ensure_ascii=False)
    assert "Status\\nnew" in shown and "Statut" not in shown

    fake_slack.add_user("U222", real_name="Piet Peeters", locale="nl-BE")
    journey.dm("hallo", user="U222")
    journey.adapter.stop()
    journey.app.close()
    second = bootstrap(_config(tmp_path))
    adapter = build_slack_adapter(second, slack_config(fake_slack))
    try:
        with second.uow() as uow:
            second.notifier.direct(uow, Place("slack", "D222"), [later("Problem P{id} is open.", id=7)])
            uow.commit()
        assert second.dispatch_pending() == 1
        [notice] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == "D222"][-1:]
        assert notice.args["text"] == "Probleem P7 is geopend."
        assert [c.args["channel"] for c in fake_slack.calls_to("conversations.info")] == ["D222"]
    finally:
        adapter.stop()
        second.close()


def _next_visit_slot(app: Any) -> datetime:
    """A moment in next week's working hours (the visit must be in the future and within them)."""
    service = app.service_levels
    tz = ZoneInfo("Europe/Brussels")
    day = datetime.now(UTC).astimezone(tz).date() + timedelta(days=7)
    for offset in range(14):
        at = datetime.combine(day + timedelta(days=offset), datetime.min.time(), tz).replace(hour=10)
        if service.calendar.is_within_working_hours(at.astimezone(UTC), timedelta(minutes=60)):
            return at
    raise AssertionError("no working day in the next two weeks")


def test_a_queued_notice_names_the_command_the_way_slack_writes_it(journey: Journey, fake_slack: FakeSlack) -> None:
    """The technician proposes a visit, the requester asks for another date: the notice in the triage channel
    says /helpdesk visit, which Slack accepts, never /visit."""
    journey.open_ticket(PRINTER_PROBLEM, PRINTER_DETAIL)
    journey.app.dispatch_pending()
    at = _next_visit_slot(journey.app)
    journey.command(f"visit 1 {at:%Y-%m-%d %H:%M}", user=TECHNICIAN, channel=TRIAGE)
    journey.app.dispatch_pending()
    proposal = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == REQUESTER_DM][-1]
    other = next(v for v in buttons_of(proposal.blocks()) if v.startswith("visit:other:"))
    journey.press(other)
    journey.app.dispatch_pending()
    notices = [str(c.args["text"]) for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == TRIAGE]
    [answer] = [text for text in notices if "/helpdesk visit 1 YYYY-MM-DD HH:MM" in text]
    assert " /visit" not in answer


def test_app_home_and_the_report_form_follow_the_lang_choice(journey: Journey, fake_slack: FakeSlack) -> None:
    """U111's Slack locale is fr-BE; after /helpdesk lang nl the adapter's own views are in Dutch too, like the
    cards App Home shows."""
    journey.command("lang nl", user="U111", channel=REQUESTER_DM)
    event = {"type": "app_home_opened", "user": "U111", "channel": REQUESTER_DM, "tab": "home", "event_ts": "1.2"}
    assert journey._post(event_body(event, event_id="EvHome"), JSON) == 200
    [home] = fake_slack.calls_to("views.publish")
    assert home.view()["blocks"][0]["text"]["text"] == "Uw open tickets"
    journey.command("new", user="U111", channel=REQUESTER_DM)
    [form] = fake_slack.calls_to("views.open")
    assert form.view()["title"]["text"] == "Een probleem melden"
    assert json.loads(form.view()["private_metadata"])["locale"] == "nl"
