"""One sanitising step where text enters (bot/text.py, applied by the core's pipeline) and
terminal-safe output where it leaves the console: nothing a requester types or puts in their
name can clear, retitle or recolour a technician's terminal, or make text read backwards."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.console.chat import ConsoleChat, PromptScreen, render
from adapters.slack.render import render_message
from bot.bootstrap import HelpdeskApp
from bot.port import OutgoingMessage, TicketCard, User
from bot.text import clean_input, clean_name, terminal_safe

CLEAR_AND_RETITLE = "\x1b[2J\x1b[H\x1b]0;pwned\x07"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (CLEAR_AND_RETITLE + "Printer broken", "Printer broken"),
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("link \x1b]8;;http://evil.example\x1b\\here\x1b]8;;\x1b\\", "link here"),
        ("8-bit \x9b2J CSI", "8-bit  CSI"),
        ("a\x00b\x07c\x7fd\x85e", "abcde"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("\u2066isolated\u2069 \ufeffbom", "isolated bom"),
        ("e\u0301cran", "écran"),
        ("line 1\r\nline 2\rline 3\u2028line 4", "line 1\nline 2\nline 3\nline 4"),
        ("keeps\ttabs\nand newlines", "keeps\ttabs\nand newlines"),
        ("emoji 👩‍💻 and 🇧🇪 stay", "emoji 👩‍💻 and 🇧🇪 stay"),
        ("", ""),
    ],
)
def test_clean_input(typed: str, kept: str) -> None:
    assert clean_input(typed) == kept


def test_names_are_one_line_and_bounded() -> None:
    assert clean_name("\x1b[31mMal\nlory\u202e ") == "Mal lory"
    long = clean_name("x" * 500)
    assert len(long) == 100 and long.endswith("…")


def test_terminal_output_never_carries_an_escape_sequence() -> None:
    card = TicketCard(3, CLEAR_AND_RETITLE + "Title", (("Requester", "\x1b[5mEve\x1b[0m"),))
    lines = render(OutgoingMessage("Text\x1b[2J\tend\nsecond\x1b]0;x\x07", card=card))
    assert lines == ["┌ Title", "│ Requester: Eve", "Text    end", "second"]
    assert terminal_safe("a\x1b[0mb\x1b") == "ab"


def test_escape_sequences_typed_by_a_requester_never_reach_the_technician(
    app: HelpdeskApp, technician: ConsoleChat
) -> None:
    mallory = ConsoleChat(app, User("console", "mallory", "\x1b]0;root\x07Mallory\x1b[2J", "en", email="m@example.be"))
    mallory.say("/new")
    mallory.say(CLEAR_AND_RETITLE + "My printer prints blank pages")
    for line in ["\x1b[31mIt started after\x1b[0m the toner change", "1", "1", "5", "1", "2", "1"]:
        mallory.say(line)
    shown = mallory.say("1")
    assert any(line.startswith("Your ticket #") for line in shown), shown
    screen = technician.poll()
    assert any("My printer prints blank pages" in line for line in screen), screen
    assert not any("\x1b" in line or "\x07" in line for line in screen)
    with app.uow() as uow:
        [ticket] = uow.tickets.queue()
        assert ticket.title == "My printer prints blank pages"
        assert ticket.requester_name == "Mallory"
        assert "\x1b" not in ticket.description and "It started after the toner change" in ticket.description


def test_a_requesters_mrkdwn_is_shown_as_typed_in_slack() -> None:
    card = TicketCard(4, "*URGENT* <!channel>", (("Description", "_please_ ~now~ `rm` <@U1>"),))
    rendered = render_message(OutgoingMessage("You wrote: *bold* <!here>", card=card))
    interpreted = [
        block["text"] for block in rendered.blocks if block["type"] == "section" and isinstance(block.get("text"), dict)
    ] + [field for block in rendered.blocks for field in block.get("fields", [])]
    assert interpreted and all(item["type"] == "plain_text" for item in interpreted)
    header = [block for block in rendered.blocks if block["type"] == "header"]
    assert header[0]["text"]["type"] == "plain_text" and "*URGENT* <!channel>" in header[0]["text"]["text"]
    assert "&lt;!here&gt;" in rendered.text and "<!" not in rendered.text


def test_a_piped_chat_survives_escape_sequences_odd_digits_and_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'[bot]\nlanguage = "en"\n\n[database]\nurl = "sqlite:///{tmp_path}/chat.db"\n')
    lines = [
        b"\x1b[2J\x1b]0;pwned\x07hello",
        b"My printer prints blank pages since this morning",
        "²".encode(),
        b"0" * 5000,
        b"caf\xe9 \xff\xfe broken bytes",
        b"/unfollow 99999999999999999999",
    ]
    env = {**os.environ, "HELPDESK_CONFIG": str(config)}
    code = "import sys; sys.argv = ['helpdesk-bot', 'chat', '--user', 'mallory']; from bot.cli import entry; entry()"
    done = subprocess.run(
        [sys.executable, "-c", code], input=b"\n".join(lines) + b"\n", env=env, cwd=tmp_path, capture_output=True
    )
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert "mallory> hello" in out and "caf\ufffd" in out
    assert "Sorry, something went wrong" not in out and "Traceback" not in done.stderr.decode()
    assert "Usage: /unfollow N" in out


def test_a_notice_arriving_while_typing_is_printed_above_the_typed_line() -> None:
    out = io.StringIO()
    screen = PromptScreen(out, "alice> ", lambda: "my printer is bro")
    screen.write("bot> before the prompt\n")
    screen.reading = True
    screen.write("bot> [#1] #1: Bob is taking care of your ticket.\n")
    assert out.getvalue() == (
        "bot> before the prompt\n\r\x1b[2Kbot> [#1] #1: Bob is taking care of your ticket.\nalice> my printer is bro"
    )
