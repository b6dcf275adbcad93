"""Translations (front-matter ``group``), language-aware search, and one "This solved it" per article shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.console.chat import ConsoleChat
from bot.bootstrap import HelpdeskApp, bootstrap
from bot.cli.kb import kb
from bot.clock import FrozenClock
from bot.config import parse_config
from bot.db.models import SuggestionLog
from bot.knowledge import KnowledgeBase, check_directory
from bot.port import User

VPN = {
    "vpn-fr": ("fr", "Le VPN ne se connecte pas", "[vpn, forticlient, connexion]", "Redémarrez FortiClient."),
    "vpn-en": ("en", "The VPN does not connect", "[vpn, forticlient, connection]", "Restart FortiClient."),
    "vpn-nl": ("nl", "De VPN maakt geen verbinding", "[vpn, forticlient, verbinding]", "Herstart FortiClient."),
}
PRINTER = {
    "printer-jam": ("en", "Paper jam in the printer", "[printer, jam, paper]", "Open the front door, pull the sheet."),
    "printer-toner": ("en", "The printer is out of toner", "[printer, toner]", "Order a toner cartridge."),
}


def write(directory: Path, articles: dict[str, tuple[str, str, str, str]], group: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for article_id, (lang, title, tags, body) in articles.items():
        group_line = f"group: {group}\n" if group else ""
        (directory / f"{article_id}.md").write_text(
            f"---\nid: {article_id}\ntitle: {title}\nlang: {lang}\ntags: {tags}\ncategory: helpdesk\n"
            f"{group_line}---\n{body}\n",
            encoding="utf-8",
        )
    return directory


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    directory = write(tmp_path / "knowledge", VPN, group="vpn")
    return write(directory, PRINTER)


def make_app(db_url: str, clock: FrozenClock, kb_dir: Path) -> HelpdeskApp:
    config = parse_config(
        {"database": {"url": db_url}, "bot": {"language": "en"}, "knowledge": {"directory": str(kb_dir)}}, environ={}
    )
    return bootstrap(config, clock=clock, knowledge=KnowledgeBase.from_directory(kb_dir))


@pytest.fixture
def kb_app(db_url: str, clock: FrozenClock, kb_dir: Path) -> Iterator[HelpdeskApp]:
    app = make_app(db_url, clock, kb_dir)
    yield app
    app.close()


def test_one_article_per_group_in_the_users_language(kb_dir: Path) -> None:
    base = KnowledgeBase.from_directory(kb_dir)
    for lang in ("fr", "en", "nl"):
        found = base.search("vpn forticlient", lang=lang)
        assert [s.article.id for s in found] == [f"vpn-{lang}"]
    # a Dutch message from a French user: the French translation, with the group's score
    dutch = base.search("de vpn maakt geen verbinding", lang="fr")
    assert [s.article.id for s in dutch] == ["vpn-fr"]
    assert dutch[0].score == base.search("de vpn maakt geen verbinding", lang="nl")[0].score
    # without a language: the best-matching translation only
    assert [s.article.id for s in base.search("de vpn maakt geen verbinding")] == ["vpn-nl"]


def test_a_group_without_the_users_language_shows_the_best_one_labelled(
    db_url: str, clock: FrozenClock, kb_dir: Path
) -> None:
    (kb_dir / "vpn-en.md").unlink()
    app = make_app(db_url, clock, kb_dir)
    chat = ConsoleChat(app, User("console", "jan", "Jan", "en"))
    screen = chat.say("/kb le vpn ne se connecte pas")
    app.close()
    numbered = [line for line in screen if line[:2] in ("1.", "2.")]
    assert numbered == ["1. Le VPN ne se connecte pas (FR)"]


def test_kb_command_lists_the_french_article_for_a_french_user(kb_app: HelpdeskApp) -> None:
    chat = ConsoleChat(kb_app, User("console", "marie", "Marie", "fr"))
    screen = chat.say("/kb vpn")
    numbered = [line for line in screen if line[:2] in ("1.", "2.", "3.")]
    assert numbered == ["1. Le VPN ne se connecte pas"]


def test_kb_check_reports_two_articles_of_a_group_in_one_language(kb_dir: Path) -> None:
    write(kb_dir, {"vpn-fr2": ("fr", "Le VPN coupe", "[vpn]", "Réinstallez FortiClient.")}, group="vpn")
    problems = check_directory(kb_dir)
    assert [(p.path.name, "already has a fr article" in p.message) for p in problems] == [("vpn-fr2.md", True)]
    result = CliRunner().invoke(kb, ["check", str(kb_dir)])
    assert result.exit_code == 1 and "group 'vpn' already has a fr article (vpn-fr.md)" in result.output


def test_kb_search_lang_option_ranks_for_that_language_and_json_has_lang(kb_dir: Path) -> None:
    for lang in ("fr", "en", "nl"):
        result = CliRunner().invoke(kb, ["search", "vpn", "--knowledge", str(kb_dir), "--lang", lang, "--json"])
        assert result.exit_code == 0, result.output
        items = json.loads(result.output)
        assert [(i["id"], i["lang"]) for i in items] == [(f"vpn-{lang}", lang)]


def test_several_suggestions_get_one_solved_button_each(kb_app: HelpdeskApp) -> None:
    chat = ConsoleChat(kb_app, User("console", "alice", "Alice", "en"))
    screen = chat.say("the printer has a paper jam and is out of toner")
    buttons = screen[-1]
    assert "Solved by: Paper jam in the printer" in buttons
    assert "Solved by: The printer is out of toner" in buttons
    labels = [part.split("] ", 1)[1] for part in buttons.split("  ")]
    second = labels.index("Solved by: " + ("The printer is out of toner"))
    assert "glad it is fixed" in "\n".join(chat.say(str(second + 1)))
    with kb_app.uow() as uow:
        [log] = uow.session.query(SuggestionLog).all()
    assert (log.outcome, log.solved_by) == ("solved", "printer-toner")


def test_a_forged_solved_button_cannot_name_an_article_not_shown(kb_app: HelpdeskApp) -> None:
    from bot.port import ButtonPress, Place

    user = User("console", "alice", "Alice", "en")
    chat = ConsoleChat(kb_app, user)
    chat.say("paper jam in the printer")
    with kb_app.uow() as uow:
        [log] = uow.session.query(SuggestionLog).all()
        log_id = log.id
    kb_app.core.handle(ButtonPress(user, Place("console", chat.place.chat_id), f"kb:solved:{log_id}:vpn-fr"))
    with kb_app.uow() as uow:
        [log] = uow.session.query(SuggestionLog).all()
    assert log.outcome == "solved" and log.solved_by == log.article_ids["ids"][0] != "vpn-fr"
