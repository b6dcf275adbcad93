"""Knowledge-base life cycle: drafts without personal data, publish + reload, feedback ranking, report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import frontmatter
import pytest
from click.testing import CliRunner

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.cli.kb import kb
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.kb_lifecycle import ArticleFeedback, adjustment, scrub
from bot.knowledge import KnowledgeBase, check_directory
from bot.port import Place, User
from bot.tickets import TicketDraft

ARTICLES = {
    "outlook-restart": (
        "Outlook mail is not working, restart it",
        "[outlook, mail]",
        "Close Outlook, wait one minute and open it again.",
    ),
    "outlook-offline": (
        "Outlook mail is not working, check offline mode",
        "[outlook, offline, mail]",
        "In the Send / Receive tab, make sure Work Offline is not selected.",
    ),
    "vpn-does-not-connect": (
        "The VPN does not connect",
        "[vpn, remote, connection]",
        "Check your internet connection, then restart the VPN client.",
    ),
}
ALICE = User("console", "alice", "Alice Dupont", "en", email="alice.dupont@example.be")
BOB = User("console", "bob", "Bob Tech", "en")


def write_kb(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for article_id, (title, tags, body) in ARTICLES.items():
        (directory / f"{article_id}.md").write_text(
            f"---\nid: {article_id}\ntitle: {title}\nlang: en\ntags: {tags}\ncategory: helpdesk\n---\n{body}\n",
            encoding="utf-8",
        )
    return directory


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    return write_kb(tmp_path / "knowledge")


@pytest.fixture
def kb_app(db_url: str, clock: FrozenClock, kb_dir: Path) -> Iterator[HelpdeskApp]:
    config = parse_config(
        {"database": {"url": db_url}, "bot": {"language": "en"}, "knowledge": {"directory": str(kb_dir)}}, environ={}
    )
    app = bootstrap(config, clock=clock, knowledge=KnowledgeBase.from_directory(kb_dir))
    yield app
    app.close()


def resolved_ticket(app: HelpdeskApp, technician: ConsoleChat) -> int:
    ticket = app.tickets.open(
        ALICE,
        Place("console", "dm:alice"),
        TicketDraft(
            title="Outlook crashes when Alice Dupont opens the shared mailbox",
            description=(
                "Hello, I am Alice Dupont (alice.dupont@example.be, +32 471 23 45 67). Outlook crashes "
                "when I open the shared mailbox of Mme Janssens. My national number is 85.07.30-033.61."
            ),
            error_message="Exception 0x80070005 in olmapi32.dll",
            contact_name="Alice Dupont",
            contact_phone="+32471234567",
            contact_email="alice.dupont@example.be",
        ),
        "en",
    )
    technician.say(
        f"/resolve {ticket.id} Bob Tech rebuilt the corrupted OST file of alice; call 02 555 12 34 if it comes back."
    )
    return ticket.id


# -- personal data ------------------------------------------------------------------------------


def test_scrub_removes_personal_data_and_keeps_the_technical_facts() -> None:
    text = (
        "Je suis Alice Dupont (alice.dupont@example.be, 0471 23 45 67), RN 85073003361, compte "
        "BE68 5390 0754 7034, voir M. Peeters et <@U024BE7LH|bob>. Erreur 0x80070005 sur PRT-204 le 12/03."
    )
    clean = scrub(text, ["Alice Dupont"])
    for personal in ("Alice", "Dupont", "alice.dupont", "0471", "85073003361", "BE68", "Peeters", "U024BE7LH"):
        assert personal not in clean
    for kept in ("0x80070005", "PRT-204", "12/03", "[email]", "[phone]", "[personal id]", "[name]"):
        assert kept in clean


def test_kbdraft_writes_a_valid_draft_without_personal_data(kb_app: HelpdeskApp, kb_dir: Path) -> None:
    technician = ConsoleChat(kb_app, BOB, technician=True)
    number = resolved_ticket(kb_app, technician)
    shown = "\n".join(technician.say(f"/kbdraft {number}"))
    assert "helpdesk-bot kb publish outlook-crashes-when-name-opens-the-shared-mailbox" in shown
    drafts = kb_dir / "drafts"
    assert check_directory(drafts) == []
    [path] = drafts.glob("*.md")
    text = path.read_text(encoding="utf-8")
    for personal in ("Alice", "Dupont", "alice", "example.be", "471", "Janssens", "85.07.30", "Bob", "555 12 34"):
        assert personal not in text, personal
    post = frontmatter.loads(text)
    # the requester's own wording, scrubbed, becomes the draft's example question (a learned phrasing)
    [question] = post.metadata.pop("questions")
    assert "Outlook crashes when I open the shared mailbox of [name]" in question
    assert post.metadata == {
        "id": path.stem,
        "title": "Outlook crashes when [name] opens the shared mailbox",
        "lang": "en",
        "tags": ["outlook", "crashes", "opens", "shared", "mailbox"],
        "category": "helpdesk",
    }
    assert "**Symptoms**" in post.content and "Outlook crashes when I open the shared mailbox" in post.content
    assert "Exception 0x80070005 in olmapi32.dll" in post.content
    assert "**Solution**" in post.content and "rebuilt the corrupted OST file" in post.content
    # A second draft of the same ticket gets its own id; the knowledge folder itself is untouched.
    technician.say(f"/kbdraft {number}")
    assert sorted(p.stem for p in drafts.glob("*.md")) == [path.stem, f"{path.stem}-2"]
    assert len(KnowledgeBase.from_directory(kb_dir).articles) == len(ARTICLES)


def test_kbdraft_needs_a_technician_and_a_resolved_ticket(kb_app: HelpdeskApp) -> None:
    technician = ConsoleChat(kb_app, BOB, technician=True)
    requester = ConsoleChat(kb_app, ALICE)
    number = kb_app.tickets.open(ALICE, requester.place, TicketDraft(title="Screen black"), "en").id
    assert "only a resolved ticket can become an article" in "\n".join(technician.say(f"/kbdraft {number}"))
    assert "Only technicians" in "\n".join(requester.say(f"/kbdraft {number}"))
    assert "I cannot find ticket #77" in "\n".join(technician.say("/kbdraft 77"))


def test_the_bundled_starter_knowledge_base_is_never_written_to(
    db_url: str, clock: FrozenClock, kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config({"database": {"url": db_url}, "bot": {"language": "en"}}, environ={})
    app = bootstrap(config, clock=clock, knowledge=KnowledgeBase.from_directory(kb_dir))
    try:
        technician = ConsoleChat(app, BOB, technician=True)
        number = resolved_ticket(app, technician)
        answer = "\n".join(technician.say(f"/kbdraft {number}"))
    finally:
        app.close()
    assert "drafts need the desk's own knowledge folder" in answer and "helpdesk-bot init DIR" in answer
    assert not (kb_dir / "drafts").exists()

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELPDESK_CONFIG", raising=False)
    result = CliRunner().invoke(kb, ["publish", "some-draft"])
    assert result.exit_code != 0 and "the bundled starter knowledge base stays as installed" in result.output


# -- publish and reload --------------------------------------------------------------------------


def test_published_draft_is_found_by_the_running_bot_without_restart(
    kb_app: HelpdeskApp,
    kb_dir: Path,
    clock: FrozenClock,
) -> None:
    technician = ConsoleChat(kb_app, BOB, technician=True)
    number = resolved_ticket(kb_app, technician)
    technician.say(f"/kbdraft {number}")
    [draft] = (kb_dir / "drafts").glob("*.md")
    query = "/kb outlook crashes shared mailbox"
    assert "Outlook crashes when" not in "\n".join(technician.say(query))

    result = CliRunner().invoke(kb, ["publish", draft.stem, "--knowledge", str(kb_dir)])
    assert result.exit_code == 0, result.output
    assert (kb_dir / draft.name).is_file() and not draft.exists()
    assert "Outlook crashes when" not in "\n".join(technician.say(query))  # reloads at most every 30 s
    clock.advance(timedelta(seconds=31))
    assert "Outlook crashes when [name] opens the shared mailbox" in "\n".join(technician.say(query))


def test_publish_refuses_an_invalid_or_unknown_draft(kb_dir: Path) -> None:
    drafts = kb_dir / "drafts"
    drafts.mkdir()
    bad = drafts / "no-title.md"
    bad.write_text("---\nid: no-title\nlang: en\ncategory: helpdesk\n---\nBody.\n", encoding="utf-8")
    result = CliRunner().invoke(kb, ["publish", "no-title", "--knowledge", str(kb_dir)])
    assert result.exit_code == 1 and "missing title" in result.output
    assert bad.exists() and not (kb_dir / "no-title.md").exists()
    result = CliRunner().invoke(kb, ["publish", "nothing-here", "--knowledge", str(kb_dir)])
    assert result.exit_code == 1 and "no draft 'nothing-here'" in result.output
    (drafts / "vpn-does-not-connect.md").write_text(
        "---\nid: vpn-does-not-connect\ntitle: VPN\nlang: en\ncategory: helpdesk\n---\nBody.\n", encoding="utf-8"
    )
    result = CliRunner().invoke(kb, ["publish", "vpn-does-not-connect", "--knowledge", str(kb_dir)])
    assert result.exit_code == 1 and "already exists" in result.output


# -- feedback ------------------------------------------------------------------------------------


def test_adjustment_is_small_and_bounded() -> None:
    assert adjustment(ArticleFeedback(), 0.1) == 0.0
    assert adjustment(ArticleFeedback(shown=9, solved=0, not_solved=1), 0.1) == pytest.approx(-0.1 / 3)
    assert -0.1 < adjustment(ArticleFeedback(shown=1000, solved=0, not_solved=1000), 0.1) < -0.099
    assert 0.099 < adjustment(ArticleFeedback(shown=1000, solved=1000), 0.1) < 0.1


def first_suggestion(chat: ConsoleChat, text: str) -> str:
    screen = chat.say(text)
    assert screen[0] == "This might help — from the knowledge base:", screen
    return screen[1]


def test_feedback_changes_the_ranking(kb_app: HelpdeskApp, clock: FrozenClock) -> None:
    query = "Outlook mail not working"
    assert first_suggestion(ConsoleChat(kb_app, User("console", "u0", "U0", "en")), query).endswith("restart it")
    for i in range(1, 3):  # read the second article, which solved it
        chat = ConsoleChat(kb_app, User("console", f"u{i}", f"U{i}", "en"))
        chat.say(query)
        chat.say("2")  # Read: Outlook mail is not working, check offline mode
        assert "glad it is fixed" in "\n".join(chat.say("1"))
    for i in range(3, 5):  # neither helped
        chat = ConsoleChat(kb_app, User("console", f"u{i}", f"U{i}", "en"))
        chat.say(query)
        assert "let's open a ticket together" in "\n".join(chat.say("5"))  # read, read, solved, solved, not
        chat.say("/cancel")
    clock.advance(timedelta(seconds=30))
    assert first_suggestion(ConsoleChat(kb_app, User("console", "u5", "U5", "en")), query).endswith(
        "restart it"
    )  # the feedback is refreshed at most every minute
    clock.advance(timedelta(seconds=31))
    assert first_suggestion(ConsoleChat(kb_app, User("console", "u6", "U6", "en")), query).endswith(
        "check offline mode"
    )


# -- report --------------------------------------------------------------------------------------


def test_kb_report_lists_unhelpful_articles_and_missing_topics(
    kb_app: HelpdeskApp,
    kb_dir: Path,
    db_url: str,
    clock: FrozenClock,
) -> None:
    for i in range(3):  # the restart article is shown three times and never helps
        chat = ConsoleChat(kb_app, User("console", f"u{i}", f"U{i}", "en"))
        chat.say("Outlook mail not working")
        chat.say("2" if i == 0 else "5")  # read the second, or "Not solved"
        if i == 0:
            chat.say("1")  # the offline article solved it once
        chat.say("/cancel")
    place = Place("console", "dm:alice")
    for title in (
        "Badge reader at the entrance refuses my badge",
        "My badge is refused at the entrance",
        "entrance badge reader refuses badge",
        "Coffee machine on floor 3 is broken",
        "The VPN does not connect from home",
    ):
        clock.advance(timedelta(minutes=5))
        kb_app.tickets.open(ALICE, place, TicketDraft(title=title, description=title), "en")
    start = clock.now().date()
    result = CliRunner().invoke(
        kb,
        [
            "report",
            "--database",
            db_url,
            "--knowledge",
            str(kb_dir),
            "--json",
            "--since",
            f"{start}",
            "--until",
            f"{start + timedelta(days=1)}",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["unhelpful_articles"] == [
        {"id": "outlook-restart", "title": "Outlook mail is not working, restart it", "shown": 3, "not_solved": 2}
    ]
    assert report["tickets_examined"] == 5 and report["tickets_without_article"] == 4
    assert report["missing_topics"] == [
        {"title": "Badge reader at the entrance refuses my badge", "count": 3, "tickets": [1, 2, 3]}
    ]
    text = (
        CliRunner()
        .invoke(
            kb,
            [
                "report",
                "--database",
                db_url,
                "--knowledge",
                str(kb_dir),
                "--since",
                f"{start}",
                "--until",
                f"{start + timedelta(days=1)}",
            ],
        )
        .output
    )
    assert "outlook-restart — shown 3×, not solved 2×" in text
    assert "3 tickets — Badge reader at the entrance refuses my badge (#1, #2, #3)" in text
