"""End to end: the real core (bootstrap, SQLite, outbox) behind the Slack adapter in HTTP mode.

Requests are signed and sent over a real socket to the adapter's HTTP server; Slack's Web
API is the local fake. The journey: DM → knowledge-base suggestion → not solved → intake →
ticket → triage card → a requester cannot claim → claim by button → update in the
requester's thread → reply in the thread → resolve by slash command → resolution in the thread.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_slack import FakeSlack, iter_mrkdwn_text
from slack_harness import TECHNICIAN, slack_config
from slack_payloads import (
    FORM,
    JSON,
    block_actions,
    dm_message,
    event_body,
    signed_headers,
    slash_command,
    view_submission,
)

from adapters.slack import ADAPTER
from adapters.slack.app import SlackAdapter, build_slack_adapter

bootstrap_module = pytest.importorskip("bot.bootstrap")
from bot.config import Config  # noqa: E402

REQUESTER_DM = "D111"
TRIAGE = "CTRIAGE1"

PREFERRED = (
    "kb:notsolved",
    "intake:accept",
    "intake:started:",
    "intake:impact:team",
    "intake:urgency:high",
    "intake:type:incident",
    "intake:contact:ok",
    "intake:confirm",
)
ANSWERS = {"intake:skip": "skip"}


class Journey:
    """Drives the adapter like Slack would, over HTTP."""

    def __init__(self, app: Any, adapter: SlackAdapter, fake: FakeSlack) -> None:
        self.app = app
        self.adapter = adapter
        self.fake = fake
        self._events = 0

    def _post(self, body: str, content_type: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.adapter.http_port}/slack/events",
            data=body.encode(),
            headers=signed_headers(body, content_type),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            status = int(response.status)
        assert self.adapter.wait_idle(60)  # a bound, not a sleep: the machine may be busy
        return status

    def dm(self, text: str, *, thread_ts: str | None = None, user: str = "U111") -> None:
        self._events += 1
        ts = f"1600000000.{self._events:06d}"
        event = dm_message(text, user=user, channel=REQUESTER_DM, ts=ts, thread_ts=thread_ts)
        assert self._post(event_body(event, event_id=f"Ev{self._events}"), JSON) == 200

    def press(self, value: str, *, user: str = "U111", channel: str = REQUESTER_DM, message_ts: str = "1.1") -> None:
        body = block_actions(
            value, response_url=self.fake.response_url(), user=user, channel=channel, message_ts=message_ts
        )
        assert self._post(body, FORM) == 200

    def command(self, text: str, *, user: str = TECHNICIAN, channel: str = TRIAGE) -> None:
        assert (
            self._post(slash_command(text, response_url=self.fake.response_url(), user=user, channel=channel), FORM)
            == 200
        )

    def last_dm_post(self) -> dict[str, Any]:
        posts = [c for c in self.fake.calls_to("chat.postMessage") if c.args["channel"] == REQUESTER_DM]
        return {"text": posts[-1].args["text"], "blocks": posts[-1].blocks(), "args": posts[-1].args}

    def open_ticket(self, problem: str, detail: str) -> None:
        """The requester writes ``problem`` and answers the intake (buttons as :data:`PREFERRED`, ``detail``
        when a text is asked) until "Open the ticket"."""
        self.dm(problem)
        for _ in range(25):
            post = self.last_dm_post()
            values = buttons_of(post["blocks"])
            if any(v.startswith("intake:confirm") for v in values):
                self.press(next(v for v in values if v.startswith("intake:confirm")))
                return
            choice = next((v for prefix in PREFERRED for v in values if v.startswith(prefix)), None)
            if choice is not None:
                self.press(choice)
            elif "intake:skip" in values and "escription" not in post["text"]:
                self.press("intake:skip")
            else:
                self.dm(detail)
        pytest.fail("the intake never reached its summary")


def buttons_of(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


@pytest.fixture
def journey(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Journey]:
    config = Config.model_validate({"database": {"url": f"sqlite:///{tmp_path}/t.db"}})
    app = bootstrap_module.bootstrap(config)
    adapter = build_slack_adapter(app, slack_config(fake_slack))
    assert ADAPTER.build is build_slack_adapter and ADAPTER.name == "slack"
    adapter.start()
    yield Journey(app, adapter, fake_slack)
    adapter.stop()
    app.close()


PRINTER_PROBLEM = "Bonjour, l'imprimante du 3e étage affiche une erreur de bourrage papier et n'imprime plus"
PRINTER_DETAIL = "Le voyant rouge clignote et le bac 2 est bloqué depuis ce matin."


def test_requester_and_technician_journey(journey: Journey, fake_slack: FakeSlack) -> None:
    journey.open_ticket(PRINTER_PROBLEM, PRINTER_DETAIL)

    journey.app.dispatch_pending()  # the event delivered its confirmation and card already: nothing left
    confirmation = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == REQUESTER_DM][-1]
    number = int(re.search(r"#(\d+)", confirmation.args["text"]).group(1))  # type: ignore[union-attr]
    [card] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == TRIAGE]
    assert f"claim:{number}" in buttons_of(card.blocks())
    assert "thread_ts" not in confirmation.args  # the confirmation anchors the ticket's thread

    # A requester pressing Claim is refused, privately, and nothing changes.
    before = len(fake_slack.calls_to("chat.update"))
    journey.press(f"claim:{number}", user="U111", channel=TRIAGE)
    refusal = fake_slack.calls_to("respond")[-1]
    assert refusal.args["response_type"] == "ephemeral"
    journey.app.dispatch_pending()
    assert len(fake_slack.calls_to("chat.update")) == before

    # The technician claims by button: the card is updated in place, the requester told in the thread.
    journey.press(f"claim:{number}", user=TECHNICIAN, channel=TRIAGE)
    journey.app.dispatch_pending()
    updates = fake_slack.calls_to("chat.update")
    assert updates and updates[-1].args["channel"] == TRIAGE
    in_thread = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if c.args["channel"] == REQUESTER_DM and c.args.get("thread_ts")
    ]
    assert in_thread, "the status update should be a reply in the ticket's thread"
    anchor = in_thread[-1].args["thread_ts"]

    # The requester answers in that thread: it becomes a comment.
    journey.dm("Merci, je suis à mon bureau jusqu'à 17 h.", thread_ts=anchor)
    assert f"#{number}" in journey.last_dm_post()["text"]

    # The technician resolves by slash command; the requester sees the resolution in the thread.
    journey.command(f"resolve {number} Bac 2 débloqué, rouleau remplacé")
    journey.app.dispatch_pending()
    resolution = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if c.args["channel"] == REQUESTER_DM and c.args.get("thread_ts") == anchor
    ]
    assert any("Bac 2 débloqué" in c.args["text"] for c in resolution)


def test_wait_button_asks_the_question_in_a_modal(journey: Journey, fake_slack: FakeSlack) -> None:
    journey.dm("Mon écran reste noir au démarrage du PC portable Dell depuis la mise à jour")
    for _ in range(25):
        values = buttons_of(journey.last_dm_post()["blocks"])
        if "intake:confirm" in values:
            journey.press("intake:confirm")
            break
        choice = next((v for prefix in PREFERRED for v in values if v.startswith(prefix)), None)
        if choice is None and "intake:skip" in values:
            choice = "intake:skip"
        if choice is not None:
            journey.press(choice)
        else:
            journey.dm("Il faut le redémarrer trois fois.")
    journey.app.dispatch_pending()
    [card] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == TRIAGE]
    wait_value = next(v for v in buttons_of(card.blocks()) if v.startswith("wait:"))

    journey.press(wait_value, user=TECHNICIAN, channel=TRIAGE)

    [opened] = fake_slack.calls_to("views.open")
    view = opened.view()
    assert view["callback_id"] == "hd_prompt"
    submission = view_submission(
        {},
        user=TECHNICIAN,
        callback_id="hd_prompt",
        private_metadata=view["private_metadata"],
        view_id="VPROMPT",
    )
    payload = json.loads(urllib.parse.unquote(submission.removeprefix("payload=")))
    payload["view"]["state"] = {
        "values": {"answer": {"answer": {"type": "plain_text_input", "value": "Quel est le modèle exact ?"}}}
    }
    journey._post("payload=" + urllib.parse.quote(json.dumps(payload)), FORM)
    journey.app.dispatch_pending()

    question = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if c.args["channel"] == REQUESTER_DM and "Quel est le modèle exact ?" in c.args["text"]
    ]
    assert question and question[-1].args.get("thread_ts")


def test_modal_intake_opens_a_real_ticket(journey: Journey, fake_slack: FakeSlack) -> None:
    form = {
        "title": "Scanner du 2e <!channel>",
        "description": "Le scan vers e-mail échoue.",
        "error_message": "",
        "url": "",
        "started": "hier",
        "impact": "team",
        "urgency": "medium",
        "contact_name": "Anne Dupont",
        "contact_phone": "+32 2 123 45 67",
        "contact_email": "anne.dupont@example.be",
    }
    status = journey._post(view_submission(form), FORM)
    assert status == 200
    # The confirmation left at once, right after the commit (it is in the requester's DM);
    # the technicians' card is left to the dispatcher.
    assert journey.app.dispatch_pending() >= 1

    confirmation = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == REQUESTER_DM]
    assert confirmation and re.search(r"#\d+", confirmation[-1].args["text"])
    assert "&lt;!channel&gt;" in confirmation[-1].args["text"]
    [card] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == TRIAGE]
    # The title is plain text on the card: shown as typed, never a mention.
    assert "<!channel>" in json.dumps(card.blocks(), ensure_ascii=False)
    assert not any("<!channel>" in text for text in iter_mrkdwn_text(card.blocks()))
    [done] = fake_slack.calls_to("views.update")
    assert done.view()["type"] == "modal" and "callback_id" not in done.view()


# -- /helpdesk stats: the report's text, then its charts uploaded with files_upload_v2 ------------

LEAD = "ULEAD001"
LEADS_CHANNEL = "CLEADS01"


@pytest.fixture
def lead_journey(make_app: Callable[..., Any], fake_slack: FakeSlack) -> Iterator[Journey]:
    """The real core on the hand-made data set of tests/test_reports.py, a team lead configured in Slack."""
    from test_reports import NOW, seed

    from bot.clock import FrozenClock

    app = make_app(clock=FrozenClock(NOW))
    seed(app)
    fake_slack.add_user(LEAD, real_name="Lea Lead", locale="en-US")
    adapter = build_slack_adapter(app, slack_config(fake_slack, team_leads=[LEAD]))
    adapter.start()
    yield Journey(app, adapter, fake_slack)
    adapter.stop()


def test_stats_posts_the_report_then_uploads_its_three_charts(lead_journey: Journey, fake_slack: FakeSlack) -> None:
    lead_journey.command("stats 30d", user=LEAD, channel=LEADS_CHANNEL)

    [post] = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == LEADS_CHANNEL]
    assert "Service desk statistics" in post.args["text"] and "Tickets opened: 10" in post.args["text"]
    # The text first, then the three steps of files_upload_v2: one URL and one POST per file, one completion.
    methods = [m for m in fake_slack.methods() if m == "chat.postMessage" or m.startswith("files.") or m == "upload"]
    assert methods == [
        "chat.postMessage",
        *["files.getUploadURLExternal"] * 3,
        *["upload"] * 3,
        "files.completeUploadExternal",
    ]
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == LEADS_CHANNEL and "thread_ts" not in complete.args
    assert [item["title"] for item in json.loads(complete.args["files"])] == [
        "Tickets opened per week, by category",
        "SLA compliance per week (%)",
        "Backlog by age (4 open)",
    ]
    shared = fake_slack.shared_files()
    assert [f.filename for f in shared] == [f"{kind}-30d.png" for kind in ("volume", "sla", "backlog")]
    for uploaded in shared:
        assert uploaded.channel == LEADS_CHANNEL and uploaded.thread_ts is None
        assert uploaded.data is not None and uploaded.data.startswith(b"\x89PNG\r\n\x1a\n")
        assert uploaded.length == len(uploaded.data) > 5_000
        assert uploaded.alt_txt == uploaded.title
    # Someone who is not a team lead gets the polite refusal and no file.
    fake_slack.clear()
    lead_journey.command("stats 30d", user="U111", channel=LEADS_CHANNEL)
    [refusal] = fake_slack.calls_to("respond")
    assert refusal.args["response_type"] == "ephemeral"
    assert refusal.args["text"] == "Seuls les chefs d'équipe peuvent consulter les statistiques."  # U111: fr-BE
    assert not [m for m in fake_slack.methods() if m.startswith("files.") or m == "upload"]
