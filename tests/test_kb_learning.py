"""Learning from the desk's traffic: "This solved it", /kblink and "Not solved" become learned
phrasings (scrubbed), visible and removable with ``kb phrasings``; example questions in front matter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.cli.kb import kb
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.kb_lifecycle import FeedbackRankedKnowledge, LearnedPhrasingRepository
from bot.knowledge import KnowledgeBase
from bot.port import Place, User
from bot.tickets import TicketDraft

ARTICLES = {
    "vpn-does-not-connect": ("The VPN does not connect", "[vpn, forticlient]", "Restart FortiClient, then sign in."),
    "printer-paper-jam": ("Paper jam in the printer", "[printer, jam]", "Open the front door and pull the sheet."),
    "outlook-signature": ("Change my Outlook signature", "[outlook, signature]", "File > Options > Mail."),
}
ALICE = User("console", "alice", "Alice Dupont", "en", email="alice.dupont@example.be")
BOB = User("console", "bob", "Bob Tech", "en")
PARAPHRASE = "the little shield icon next to the clock stays red all morning"


def write_kb(directory: Path, questions: dict[str, list[str]] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for article_id, (title, tags, body) in ARTICLES.items():
        extra = ""
        if questions and article_id in questions:
            extra = f"questions: {json.dumps(questions[article_id])}\n"
        (directory / f"{article_id}.md").write_text(
            f"---\nid: {article_id}\ntitle: {title}\nlang: en\ntags: {tags}\ncategory: helpdesk\n{extra}---\n{body}\n",
            encoding="utf-8",
        )
    return directory


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    return write_kb(tmp_path / "knowledge")


@pytest.fixture
def kb_app(db_url: str, clock: FrozenClock, kb_dir: Path) -> Iterator[HelpdeskApp]:
    config = parse_config(
        {
            "database": {"url": db_url},
            "bot": {"language": "en"},
            "knowledge": {"directory": str(kb_dir)},
            "roles": {"technicians": ["console:bob"]},
        },
        environ={},
    )
    app = bootstrap(config, clock=clock, knowledge=KnowledgeBase.from_directory(kb_dir))
    yield app
    app.close()


def ids(base: KnowledgeBase, text: str) -> list[str]:
    return [s.article.id for s in base.search(text)]


def test_front_matter_questions_are_matched_like_the_title(kb_dir: Path, tmp_path: Path) -> None:
    assert ids(KnowledgeBase.from_directory(kb_dir), PARAPHRASE) == []
    with_questions = write_kb(tmp_path / "other", {"vpn-does-not-connect": ["the shield icon near the clock is red"]})
    assert ids(KnowledgeBase.from_directory(with_questions), PARAPHRASE) == ["vpn-does-not-connect"]


def test_learned_phrasings_are_matched_and_not_solved_lowers_similar_messages(kb_dir: Path) -> None:
    base = KnowledgeBase.from_directory(kb_dir)
    assert ids(base, PARAPHRASE) == []
    assert base.set_learned({"vpn-does-not-connect": ["shield icon next to the clock is red"]}, {})
    assert ids(base, PARAPHRASE) == ["vpn-does-not-connect"]
    assert not base.set_learned({"vpn-does-not-connect": ["shield icon next to the clock is red"]}, {})
    before = base.search("paper jam in the big printer")[0]
    base.set_learned({}, {"printer-paper-jam": ["paper jam in the printer on floor 2"]})
    after = base.search("paper jam in the big printer", limit=3)
    assert [s.score for s in after if s.article.id == "printer-paper-jam"] in ([], [before.score * 0.5])
    # a different message about the article is not lowered
    assert base.search("the printer has a jam")[0].article.id == "printer-paper-jam"


def test_explain_says_when_a_learned_phrasing_or_a_not_solved_decided(kb_dir: Path) -> None:
    base = KnowledgeBase.from_directory(kb_dir)
    base.set_learned(
        {"vpn-does-not-connect": ["shield icon next to the clock is red"]},
        {"printer-paper-jam": ["paper jam in the printer on floor 2"]},
    )
    [learned] = base.search(PARAPHRASE, explain=True)
    assert learned.explanation is not None
    assert learned.explanation.decision.startswith("suggested: the message shares")
    low = KnowledgeBase.from_directory(kb_dir, threshold=0.01)  # so that the lowered article stays shown
    low.set_learned({}, {"printer-paper-jam": ["paper jam in the printer on floor 2"]})
    [lowered] = [
        s for s in low.search("paper jam in the big printer", explain=True) if s.article.id == "printer-paper-jam"
    ]
    assert lowered.explanation is not None
    assert lowered.explanation.decision.startswith("suggested; confidence lowered to")
    assert lowered.explanation.decision.endswith("a similar message was not solved by it")


def settle(app: HelpdeskApp, clock: FrozenClock) -> None:
    clock.advance(timedelta(minutes=2))
    knowledge = app.core._knowledge()
    assert isinstance(knowledge, FeedbackRankedKnowledge)
    knowledge.maintain(force=True)


def test_a_confirmed_solution_teaches_the_message_scrubbed(
    kb_app: HelpdeskApp, clock: FrozenClock, kb_dir: Path, db_url: str
) -> None:
    chat = ConsoleChat(kb_app, ALICE)
    chat.say("paper jam in the printer again, alice.dupont@example.be 0471 23 45 67")
    assert "glad it is fixed" in "\n".join(chat.say("2"))  # [1] Read  [2] This solved it
    settle(kb_app, clock)
    with kb_app.uow() as uow:
        [learned] = LearnedPhrasingRepository(uow.session).all()
    assert (learned.article_id, learned.kind) == ("printer-paper-jam", "solved")
    assert "paper jam in the printer again" in learned.text
    assert "0471" not in learned.text and "example.be" not in learned.text
    knowledge = kb_app.core._knowledge()
    assert isinstance(knowledge, FeedbackRankedKnowledge) and isinstance(knowledge.inner, KnowledgeBase)
    assert knowledge.inner.learned == {"printer-paper-jam": (learned.text,)}
    # visible, then removable, from the command line
    args = ["phrasings", "printer-paper-jam", "--database", db_url, "--knowledge", str(kb_dir)]
    result = CliRunner().invoke(kb, args)
    assert result.exit_code == 0, result.output
    assert f"#{learned.id}" in result.output and "solved" in result.output
    assert "paper jam in the printer again" in result.output
    result = CliRunner().invoke(kb, [*args, "--remove", str(learned.id)])
    assert result.exit_code == 0, result.output
    with kb_app.uow() as uow:
        assert LearnedPhrasingRepository(uow.session).all() == []
    assert CliRunner().invoke(kb, [*args, "--remove", str(learned.id)]).exit_code == 1


def test_not_solved_records_a_negative_phrasing_for_each_article_shown(kb_app: HelpdeskApp, clock: FrozenClock) -> None:
    chat = ConsoleChat(kb_app, ALICE)
    chat.say("paper jam in the printer")
    chat.say("3")  # [1] Read  [2] This solved it  [3] Not solved
    settle(kb_app, clock)
    with kb_app.uow() as uow:
        learned = LearnedPhrasingRepository(uow.session).all()
    assert [(p.article_id, p.kind, p.text) for p in learned] == [
        ("printer-paper-jam", "not_solved", "paper jam in the printer")
    ]


def test_kblink_teaches_a_resolved_tickets_wording(kb_app: HelpdeskApp, clock: FrozenClock) -> None:
    technician = ConsoleChat(kb_app, BOB, technician=True)
    ticket = kb_app.tickets.open(
        ALICE,
        Place("console", "dm:alice"),
        TicketDraft(title="Shield icon red", description="Hi, I am Alice Dupont, the shield icon by the clock is red"),
        "en",
    )
    refused = "\n".join(technician.say(f"/kblink {ticket.id} vpn-does-not-connect"))
    assert "only a resolved ticket can be linked" in refused
    technician.say(f"/resolve {ticket.id} restarted forticlient")
    assert "No article has the id" in "\n".join(technician.say(f"/kblink {ticket.id} no-such-article"))
    done = "\n".join(technician.say(f"/kblink {ticket.id} vpn-does-not-connect"))
    assert "learned phrasing" in done
    technician.say(f"/kblink {ticket.id} vpn-does-not-connect")  # twice: learned once
    with kb_app.uow() as uow:
        [learned] = LearnedPhrasingRepository(uow.session).all()
    assert (learned.article_id, learned.kind, learned.source) == ("vpn-does-not-connect", "link", f"ticket:{ticket.id}")
    assert "shield icon" in learned.text and "Alice" not in learned.text and "Dupont" not in learned.text
    requester = ConsoleChat(kb_app, User("console", "carl", "Carl", "en"))
    assert "/kblink" not in "\n".join(requester.say("/help"))
    settle(kb_app, clock)
    assert ids_of(requester.say(PARAPHRASE)) == ["The VPN does not connect"]


def ids_of(screen: list[str]) -> list[str]:
    return [line[3:] for line in screen if line[:3] in ("1. ", "2. ", "3. ")]
