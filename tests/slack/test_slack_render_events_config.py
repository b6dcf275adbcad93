"""Pure parts of the adapter: rendering limits and escaping, payload parsing, configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.slack.config import SlackConfig
from adapters.slack.events import (
    intake_fields,
    is_person_message,
    parse_command_text,
    slack_text_to_plain,
    validate_intake,
)
from adapters.slack.render import (
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    escape,
    home_view,
    intake_modal,
    mrkdwn,
    render_message,
)
from bot.port import Button, Image, OutgoingMessage, TicketCard


def test_escape_neutralises_mentions_and_links() -> None:
    assert escape("<!channel> & <@U1> <https://x|y>") == "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://x|y&gt;"


def test_mrkdwn_truncation_never_splits_an_entity() -> None:
    text = mrkdwn("a" * 5 + "<" * 10, 12)
    assert len(text) <= 12 and text.endswith("…")
    assert text == "aaaaa&lt;…"


def test_buttons_are_chunked_in_rows_of_five_with_unique_action_ids() -> None:
    buttons = tuple(Button(f"Choice {i} " + "x" * 100, f"v:{i}") for i in range(12))
    rendered = render_message(OutgoingMessage("Pick one", buttons=buttons))
    rows = [b for b in rendered.blocks if b["type"] == "actions"]
    assert [len(r["elements"]) for r in rows] == [5, 5, 2]
    ids = [e["action_id"] for r in rows for e in r["elements"]]
    assert len(set(ids)) == 12
    assert all(len(e["text"]["text"]) <= 75 for r in rows for e in r["elements"])
    assert len({r["block_id"] for r in rows}) == 3


def test_images_become_file_uploads_with_plain_titles() -> None:
    images = (Image("volume.png", b"\x89PNG1", "Tickets <per> week & more"), Image("x.png", b"\x89PNG2", "T" * 300))
    rendered = render_message(OutgoingMessage("Stats", images=images))
    assert rendered.file_uploads[0] == {
        "file": b"\x89PNG1",
        "filename": "volume.png",
        "title": "Tickets <per> week & more",
        "alt_txt": "Tickets <per> week & more",
    }
    assert len(rendered.file_uploads[1]["title"]) == 250 and rendered.file_uploads[1]["title"].endswith("…")
    assert render_message(OutgoingMessage("Stats")).file_uploads == []


def test_a_button_value_slack_cannot_carry_is_dropped_not_sent() -> None:
    rendered = render_message(OutgoingMessage("x", buttons=(Button("ok", "a"), Button("too long", "v" * 2001))))
    assert [e["value"] for b in rendered.blocks if b["type"] == "actions" for e in b["elements"]] == ["a"]


def test_huge_text_respects_block_kit_limits() -> None:
    text = "\n".join("<ligne> " + "é" * 500 for _ in range(400))
    card = TicketCard(1, "t", tuple((f"f{i}", "v" * 3000) for i in range(25)))
    rendered = render_message(OutgoingMessage(text, buttons=(Button("a", "a"),), card=card))
    assert len(rendered.blocks) <= MAX_MESSAGE_BLOCKS
    assert rendered.blocks[-1]["type"] == "actions"  # buttons always survive
    for block in rendered.blocks:
        if "text" in block and block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        assert len(block.get("fields", [])) <= 10
        assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
    assert len(rendered.text) <= 3000


def test_home_view_and_modal_in_three_languages() -> None:
    assert home_view("nl-BE", [])["blocks"][0]["text"]["text"] == "Uw open tickets"
    assert intake_modal("en-GB", {})["title"]["text"] == "Report a problem"
    assert intake_modal(None, {})["title"]["text"] == "Signaler un problème"
    many = [OutgoingMessage(str(i), card=TicketCard(i, "t", (("a", "b"),))) for i in range(60)]
    assert len(home_view("fr", many)["blocks"]) <= 100


def test_slack_wire_text_to_plain() -> None:
    assert slack_text_to_plain("Hi <@U1|anne>, see <https://a.be/x|the doc> &amp; <#C1|general> <!here>") == (
        "Hi @anne, see the doc (https://a.be/x) & #general @here"
    )
    assert slack_text_to_plain("<mailto:a@b.be|a@b.be> 1 &lt; 2") == "a@b.be 1 < 2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", ("help", "")), ("  Claim   42 ", ("claim", "42")), ("kb mot de passe", ("kb", "mot de passe"))],
)
def test_parse_command_text(text: str, expected: tuple[str, str]) -> None:
    assert parse_command_text(text) == expected


def test_person_message_filter() -> None:
    base = {"type": "message", "user": "U1", "text": "x", "ts": "1.0"}
    assert is_person_message(base)
    assert is_person_message({**base, "subtype": "file_share"})
    assert not is_person_message({**base, "subtype": "message_changed"})
    assert not is_person_message({**base, "bot_id": "B1"})
    assert not is_person_message(base, bot_user_id="U1")


def test_intake_validation_messages() -> None:
    view = {
        "state": {
            "values": {
                "title": {"title": {"type": "plain_text_input", "value": " Wi-Fi "}},
                "contact_phone": {"contact_phone": {"type": "plain_text_input", "value": "abc"}},
                "impact": {"impact": {"type": "static_select", "selected_option": {"value": "site"}}},
            }
        }
    }
    fields = intake_fields(view)
    assert fields["title"] == "Wi-Fi" and fields["impact"] == "site" and fields["url"] == ""
    assert validate_intake(fields, "nl") == {"contact_phone": "Dit telefoonnummer is niet geldig."}
    assert validate_intake({**fields, "contact_phone": "+32 2 123 45 67", "url": "https://a.be"}, "fr") == {}


def test_config_reads_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-from-env")
    config = SlackConfig.model_validate({"enabled": True})
    assert config.secret("bot_token") == "xoxb-from-env"
    assert "xoxb-from-env" not in repr(config) and "xapp-from-env" not in str(config.model_dump())


def test_config_errors_are_explicit(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="app-level token"):
        SlackConfig.model_validate({"enabled": True, "bot_token": "xoxb-1", "app_token": "xoxb-wrong"})
    with pytest.raises(ValidationError, match="signing_secret"):
        SlackConfig.model_validate({"enabled": True, "mode": "http", "bot_token": "xoxb-1"})
    with pytest.raises(ValidationError, match="not a Slack user id"):
        SlackConfig.model_validate({"technicians": ["tom"]})
    with pytest.raises(ValidationError, match="not a channel id"):
        SlackConfig.model_validate({"triage_channel": "#triage"})
    assert SlackConfig.model_validate({}).enabled is False
