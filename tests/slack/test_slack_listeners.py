"""The Slack listeners, through the real slack-bolt App, a recording core and the fake Web API."""

from __future__ import annotations

import json
import threading

import pytest
from fake_slack import BOT_USER_ID, FakeSlack, Scripted, iter_blocks_text, iter_mrkdwn_text
from slack_bolt import BoltRequest
from slack_harness import TECHNICIAN, RecordingCore, dispatch, dispatch_form, slack_config
from slack_payloads import (
    FORM,
    JSON,
    app_mention,
    block_actions,
    dm_message,
    event_body,
    shortcut,
    signed_headers,
    slash_command,
    view_submission,
)

from adapters.slack.app import SlackAdapter
from bot.errors import ValidationFailed
from bot.port import (
    Button,
    ButtonPress,
    Event,
    Image,
    OutgoingMessage,
    Place,
    Reply,
    SlashCommand,
    TextMessage,
    TicketCard,
)

# --- direct messages ------------------------------------------------------------------------


def test_dm_becomes_a_text_message_with_the_slack_profile(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    response = dispatch(adapter, event_body(dm_message("Mon imprimante &amp; le scanner &lt;3")))

    assert response.status == 200
    [event] = core.events
    assert isinstance(event, TextMessage)
    assert event.text == "Mon imprimante & le scanner <3"
    assert event.place == Place("slack", "D111", None)
    assert event.user.key == "slack:U111"
    assert (event.user.display_name, event.user.locale) == ("anne", "fr-BE")
    assert (event.user.email, event.user.phone) == ("anne.dupont@example.be", "+32 2 123 45 67")
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "D111"
    assert "thread_ts" not in post.args


def test_reply_in_a_dm_thread_keeps_the_thread(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    dispatch(adapter, event_body(dm_message("more info", thread_ts="1700000000.000001")))

    assert core.events[0].place == Place("slack", "D111", "1700000000.000001")
    assert fake_slack.calls_to("chat.postMessage")[0].args["thread_ts"] == "1700000000.000001"


def test_bot_messages_edits_and_joins_are_ignored(adapter: SlackAdapter, core: RecordingCore) -> None:
    dispatch(adapter, event_body(dm_message("from a bot", bot_id="B222"), event_id="Ev1"))
    dispatch(adapter, event_body(dm_message("edited", subtype="message_changed", ts="2.0"), event_id="Ev2"))
    dispatch(adapter, event_body(dm_message("joined", subtype="channel_join", ts="3.0"), event_id="Ev3"))
    dispatch(adapter, event_body(dm_message("myself", user=BOT_USER_ID, ts="4.0"), event_id="Ev4"))
    dispatch(
        adapter,
        event_body({**dm_message("channel", ts="5.0", channel="C999"), "channel_type": "channel"}, event_id="Ev5"),
    )

    assert core.events == []


def test_shared_file_becomes_an_attachment(adapter: SlackAdapter, core: RecordingCore) -> None:
    files = [
        {
            "id": "F0123ABC",
            "name": "erreur.png",
            "mimetype": "image/png",
            "permalink": "https://fake.slack.com/files/U111/F0123ABC/erreur.png",
        }
    ]
    dispatch(adapter, event_body(dm_message("voici l'erreur", subtype="file_share", files=files)))

    [event] = core.events
    assert isinstance(event, TextMessage)
    [attachment] = event.attachments
    assert (attachment.kind, attachment.ref, attachment.name) == ("image", "F0123ABC", "erreur.png")
    assert attachment.url.endswith("/F0123ABC/erreur.png")


def test_retried_or_duplicated_event_reaches_the_core_with_one_identity(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    """The adapter does not deduplicate: the core's pipeline does, in the database (see
    tests/test_pipeline.py); what the adapter owes it is a stable identity per message."""
    body = event_body(dm_message("VPN en panne"), event_id="EvDup")
    first = dispatch(adapter, body)
    retry = dispatch(adapter, body, **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    # Same message delivered under another event id (Slack can do that too).
    again = dispatch(adapter, event_body(dm_message("VPN en panne"), event_id="EvOther"))
    other = dispatch(adapter, event_body(dm_message("Autre chose", ts="1596183881.000100"), event_id="EvNew"))

    assert (first.status, retry.status, again.status, other.status) == (200, 200, 200, 200)
    assert [event.event_id for event in core.events] == [
        "message:D111:1596183880.004200",
        "message:D111:1596183880.004200",
        "message:D111:1596183880.004200",
        "message:D111:1596183881.000100",
    ]


def test_events_are_acknowledged_before_the_core_runs(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.gate = threading.Event()
    body = event_body(dm_message("slow database"))
    response = adapter.bolt.dispatch(BoltRequest(body=body, headers=dict(signed_headers(body, JSON).items())))

    assert response.status == 200
    assert core.events == []  # the core is still blocked: Slack got its answer first
    core.gate.set()
    assert adapter.wait_idle(5)
    assert len(core.events) == 1


def test_commands_and_buttons_are_acknowledged_while_every_worker_is_busy(
    fake_slack: FakeSlack, core: RecordingCore
) -> None:
    slack = SlackAdapter(core, slack_config(fake_slack, workers=1))
    try:
        core.gate = threading.Event()
        body = event_body(dm_message("slow database"))
        event = slack.bolt.dispatch(BoltRequest(body=body, headers=dict(signed_headers(body, JSON).items())))
        assert event.status == 200
        # The only worker is now blocked in the core; a slash command still gets its answer at once,
        # not bolt's "unhandled request" after the 3-second acknowledgement wait.
        command = slash_command("queue", response_url=fake_slack.response_url(), user=TECHNICIAN)
        response = slack.bolt.dispatch(BoltRequest(body=command, headers=dict(signed_headers(command, FORM).items())))
        press = block_actions("claim:7", response_url=fake_slack.response_url(), user=TECHNICIAN)
        pressed = slack.bolt.dispatch(BoltRequest(body=press, headers=dict(signed_headers(press, FORM).items())))
        assert (response.status, pressed.status) == (200, 200)
        assert core.events == []
        core.gate.set()
        assert slack.wait_idle(5)
        kinds = [type(event).__name__ for event in core.events]
        # The command's and the button's listeners hand their work over after their acknowledgements,
        # each in its own listener thread: either may reach the worker first.
        assert kinds[0] == "TextMessage" and sorted(kinds[1:]) == ["ButtonPress", "SlashCommand"]
    finally:
        core.gate = None
        slack.stop()


def test_mention_in_a_channel_moves_the_conversation_to_the_dm(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    dispatch(adapter, event_body(app_mention(f"<@{BOT_USER_ID}> Outlook plante au démarrage")))

    [event] = core.events
    assert isinstance(event, TextMessage)
    assert event.text == "Outlook plante au démarrage"
    assert event.place == Place("slack", "D111", None)
    [note] = fake_slack.calls_to("chat.postEphemeral")
    assert (note.args["channel"], note.args["user"]) == ("C111", "U111")
    assert "message privé" in note.args["text"]
    assert fake_slack.calls_to("chat.postMessage")[0].args["channel"] == "D111"


def test_user_text_is_escaped_so_it_never_pings(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.answer = lambda event: [
        Reply(
            event.place,
            OutgoingMessage(
                text=f"You wrote: {getattr(event, 'text', '')}",
                card=TicketCard(7, "<!channel> help", (("Requester", "<@U999> & <https://evil.example|bank>"),)),
            ),
        )
    ]
    dispatch(adapter, event_body(dm_message("&lt;!channel&gt; &lt;!here&gt; &lt;@U999&gt;")))

    [post] = fake_slack.calls_to("chat.postMessage")
    # What Slack interprets (the fallback text, mrkdwn objects) has the mentions and links escaped;
    # the body and the card are plain text, shown as typed.
    interpreted = "\n".join([post.args["text"], *iter_mrkdwn_text(post.blocks())])
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U999&gt;" in post.args["text"]
    assert "<!" not in interpreted and "<@" not in interpreted and "<http" not in interpreted
    shown = "\n".join(iter_blocks_text(post.blocks()))
    assert "<!channel> help" in shown and "<@U999> & <https://evil.example|bank>" in shown


# --- slash command ----------------------------------------------------------------------------


def test_slash_subcommand_becomes_a_slash_command(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    response = dispatch_form(adapter, slash_command("claim 42", response_url=fake_slack.response_url()))

    assert response.status == 200
    [event] = core.events
    assert isinstance(event, SlashCommand)
    assert (event.name, event.args) == ("claim", "42")
    assert event.place == Place("slack", "C111", None)


def test_bare_slash_command_is_help_and_mentions_become_ids(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    dispatch_form(adapter, slash_command("", response_url=fake_slack.response_url()))
    dispatch_form(adapter, slash_command("ASSIGN 42 <@UTECH001|tom>", response_url=fake_slack.response_url()))
    dispatch_form(adapter, slash_command("note 42 user says &lt;it works&gt;", response_url=fake_slack.response_url()))

    commands = [(e.name, e.args) for e in core.events if isinstance(e, SlashCommand)]
    assert commands == [("help", ""), ("assign", "42 UTECH001"), ("note", "42 user says <it works>")]


def test_ephemeral_reply_to_a_command_goes_to_the_response_url(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.answer = lambda event: [Reply(event.place, OutgoingMessage("Only technicians can do that.", ephemeral=True))]
    dispatch_form(adapter, slash_command("claim 42", response_url=fake_slack.response_url("cmd")))

    [respond] = fake_slack.calls_to("respond")
    assert respond.args["response_url_name"] == "cmd"
    assert respond.args["response_type"] == "ephemeral"
    assert respond.args["text"] == "Only technicians can do that."
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_technicians_confirmation_in_the_triage_channel_is_for_them_only(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.answer = lambda event: [Reply(event.place, OutgoingMessage("Vous avez pris en charge le ticket #2."))]
    dispatch_form(adapter, slash_command("claim 2", response_url=fake_slack.response_url("cmd")))
    dispatch_form(
        adapter,
        block_actions("claim:2", response_url=fake_slack.response_url("btn"), channel="CTRIAGE1", user=TECHNICIAN),
    )

    assert fake_slack.calls_to("chat.postMessage") == []
    responds = fake_slack.calls_to("respond")
    assert [r.args["response_url_name"] for r in responds] == ["cmd", "btn"]
    assert all(r.args["response_type"] == "ephemeral" for r in responds)
    assert all(r.args["text"] == "Vous avez pris en charge le ticket #2." for r in responds)


def test_a_report_with_charts_in_a_channel_without_the_bot_falls_back_to_the_user(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    chart = Image("volume.png", b"\x89PNG", "Volume")
    core.answer = lambda event: [Reply(event.place, OutgoingMessage("Statistics", images=(chart,)))]
    fake_slack.fail("chat.postMessage", "not_in_channel")
    dispatch_form(adapter, slash_command("stats", response_url=fake_slack.response_url()))

    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    [respond] = fake_slack.calls_to("respond")
    assert respond.args["response_type"] == "ephemeral"


def test_helpdesk_new_opens_the_prefilled_intake_modal(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    dispatch_form(adapter, slash_command("new", response_url=fake_slack.response_url()))

    assert core.events == []
    [opened] = fake_slack.calls_to("views.open")
    view = opened.view()
    assert view["callback_id"] == "hd_intake"
    assert view["title"]["text"] == "Signaler un problème"  # fr-BE profile
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert initial["contact_name"] == "Anne Dupont"
    assert initial["contact_email"] == "anne.dupont@example.be"
    assert initial["contact_phone"] == "+32 2 123 45 67"
    assert json.loads(view["private_metadata"]) == {"locale": "fr", "channel": "C111"}


def test_report_problem_shortcut_opens_the_modal(adapter: SlackAdapter, fake_slack: FakeSlack) -> None:
    response = dispatch_form(adapter, shortcut("report_problem"))

    assert response.status == 200
    assert fake_slack.calls_to("views.open")[0].args["trigger_id"] == "111.222.xxx"


# --- buttons ----------------------------------------------------------------------------------


def test_button_press_carries_the_button_value(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    response = dispatch_form(
        adapter,
        block_actions(
            "claim:42",
            response_url=fake_slack.response_url(),
            channel="CTRIAGE1",
            message_ts="1700000000.000009",
            user=TECHNICIAN,
        ),
    )

    assert response.status == 200
    [event] = core.events
    assert isinstance(event, ButtonPress)
    assert event.value == "claim:42"
    assert event.message_id == "1700000000.000009"
    assert event.place == Place("slack", "CTRIAGE1", None)
    assert event.user.key == f"slack:{TECHNICIAN}"


def test_core_buttons_are_rendered_as_block_kit_buttons(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.answer = lambda event: [
        Reply(
            event.place,
            OutgoingMessage(
                "Did one of these help?",
                buttons=(Button("This solved it", "kb:solved", "primary"), Button("Not solved", "kb:open")),
            ),
        )
    ]
    dispatch(adapter, event_body(dm_message("vpn")))

    [post] = fake_slack.calls_to("chat.postMessage")
    [actions] = [b for b in post.blocks() if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        ("hd_btn_0", "kb:solved"),
        ("hd_btn_1", "kb:open"),
    ]
    assert actions["elements"][0]["style"] == "primary"

    # Pressing the rendered button reaches the core with its value.
    dispatch_form(
        adapter,
        block_actions("kb:open", action_id="hd_btn_1", response_url=fake_slack.response_url(), channel="D111"),
    )
    assert isinstance(core.events[-1], ButtonPress) and core.events[-1].value == "kb:open"


# --- intake modal -----------------------------------------------------------------------------

VALID_FORM = {
    "title": "Imprimante du 3e en panne",
    "description": "Elle affiche E-42 depuis ce matin.",
    "error_message": "E-42 paper jam",
    "url": "https://intranet.example.be/print",
    "started": "ce matin",
    "impact": "team",
    "urgency": "high",
    "contact_name": "Anne Dupont",
    "contact_phone": "+32 2 123 45 67",
    "contact_email": "anne.dupont@example.be",
}


def test_modal_errors_are_shown_on_the_fields(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    bad = {**VALID_FORM, "title": "  ", "contact_email": "anne@", "url": "intranet/print"}
    response = dispatch_form(adapter, view_submission(bad))

    assert response.status == 200
    answer = json.loads(response.body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"title", "contact_email", "url"}
    assert answer["errors"]["title"] == "Please give a title."  # en-US in private_metadata
    assert core.forms == []


def test_valid_modal_opens_a_ticket_in_the_dm(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    response = dispatch_form(adapter, view_submission(VALID_FORM))

    answer = json.loads(response.body)
    assert answer["response_action"] == "update"
    [(user, place, fields)] = core.forms
    assert fields == VALID_FORM
    assert user.key == "slack:U111"
    assert place == Place("slack", "D111", None)
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.args["channel"] == "D111"
    assert "Ticket #7 is open" in post.args["text"]
    [update] = fake_slack.calls_to("views.update")
    assert update.args["view_id"] == "V111"
    assert "Ticket #7 is open" in json.dumps(update.view())


def test_core_validation_error_reopens_the_form_with_everything_typed(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.form_error = ValidationFailed("The phone number {value} is not valid.", field="contact_phone", value="12")
    dispatch_form(adapter, view_submission(VALID_FORM))

    [update] = fake_slack.calls_to("views.update")
    view = update.view()
    assert view["callback_id"] == "hd_intake"
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert initial["title"] == VALID_FORM["title"]
    assert initial["description"] == VALID_FORM["description"]
    assert "The phone number 12 is not valid." in json.dumps(view)
    assert fake_slack.calls_to("chat.postMessage") == []


# --- App Home ---------------------------------------------------------------------------------


def test_app_home_lists_open_tickets(adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack) -> None:
    core.cards = [OutgoingMessage("#7", card=TicketCard(7, "Imprimante <!here>", (("Statut", "en cours"),)))]
    event = {"type": "app_home_opened", "user": "U111", "channel": "D111", "tab": "home", "event_ts": "1.2"}
    dispatch(adapter, event_body(event, event_id="EvHome"))

    [publish] = fake_slack.calls_to("views.publish")
    assert publish.args["user_id"] == "U111"
    view = publish.view()
    assert view["type"] == "home"
    text = "\n".join(iter_blocks_text(view["blocks"]))
    assert "#7 — Imprimante <!here>" in text
    assert not any("<!here>" in mrkdwn for mrkdwn in iter_mrkdwn_text(view["blocks"]))
    assert "Vos tickets ouverts" in text


# --- images (the charts of /stats) ----------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # not text: the upload must carry raw bytes


def with_charts(event: Event, *, ephemeral: bool = False) -> list[Reply]:
    images = (Image("volume-7d.png", PNG, "Tickets <per> week"), Image("sla-7d.png", PNG[::-1], "SLA & co"))
    return [Reply(event.place, OutgoingMessage("Statistics", ephemeral=ephemeral, images=images))]


def test_images_are_uploaded_in_the_reply_thread_after_the_text(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.answer = with_charts
    dispatch(adapter, event_body(dm_message("stats please", thread_ts="1700000000.000001")))

    assert fake_slack.methods().index("chat.postMessage") < fake_slack.methods().index("files.getUploadURLExternal")
    urls = fake_slack.calls_to("files.getUploadURLExternal")
    assert [(c.args["filename"], c.args["length"]) for c in urls] == [("volume-7d.png", "1032"), ("sla-7d.png", "1032")]
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1
    shared = fake_slack.shared_files()
    assert [(f.filename, f.title, f.data) for f in shared] == [
        ("volume-7d.png", "Tickets <per> week", PNG),  # file titles are plain text: not escaped
        ("sla-7d.png", "SLA & co", PNG[::-1]),
    ]
    assert {(f.channel, f.thread_ts) for f in shared} == {("D111", "1700000000.000001")}


def test_a_failed_upload_is_logged_and_the_text_still_arrives(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    core.answer = with_charts
    fake_slack.script("upload", Scripted(500, {"ok": False, "error": "fatal_error"}))
    dispatch(adapter, event_body(dm_message("stats please")))

    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert fake_slack.calls_to("files.completeUploadExternal") == [] and fake_slack.shared_files() == []
    [record] = [r for r in caplog.records if "not uploaded" in r.getMessage()]
    assert record.levelname == "ERROR"
    assert "U111" in record.getMessage() and "D111" in record.getMessage() and "volume-7d.png" in record.getMessage()

    # The next reply is not affected; a refused completion is logged the same way.
    caplog.clear()
    fake_slack.fail("files.completeUploadExternal", "channel_not_found")
    dispatch(adapter, event_body(dm_message("again", ts="1596183881.000100"), event_id="Ev222"))
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert any("channel_not_found" in r.getMessage() for r in caplog.records if "not uploaded" in r.getMessage())


def test_an_ephemeral_reply_leaves_its_images_out(
    adapter: SlackAdapter, core: RecordingCore, fake_slack: FakeSlack
) -> None:
    core.answer = lambda event: with_charts(event, ephemeral=True)
    dispatch_form(adapter, slash_command("stats", response_url=fake_slack.response_url("cmd")))

    assert len(fake_slack.calls_to("respond")) == 1
    assert not [m for m in fake_slack.methods() if m.startswith("files.") or m == "upload"]
