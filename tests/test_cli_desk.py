"""``helpdesk-bot init``, ``--config`` before or after the command, ``HELPDESK_CONFIG``, and every
command honouring ``[knowledge] directory``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli.desk import example_config_path
from bot.config import load_config
from bot.knowledge import default_knowledge_dir
from bot.knowledge.articles import article_files

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("HELPDESK_DATABASE_URL", "HELPDESK_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def small_kb_config(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "small.db"}"\n[knowledge]\ndirectory = "{KB_DIR}"\n',
        encoding="utf-8",
    )
    return path


def test_init_creates_a_desk_folder_that_every_command_uses(tmp_path: Path) -> None:
    result = run("init", "desk")
    assert result.exit_code == 0, result.output
    desk = tmp_path / "desk"
    config = load_config(desk / "bot.toml")
    assert config.database.url == f"sqlite:///{desk / 'helpdesk.db'}"
    assert config.knowledge.directory == desk / "knowledge"
    assert (desk / "knowledge" / "drafts").is_dir()
    starter = {p.name for p in article_files(default_knowledge_dir())}
    assert starter and {p.name for p in article_files(desk / "knowledge")} == starter
    # the generated file is the documented example with two lines changed
    example = tomllib.loads(example_config_path().read_text(encoding="utf-8"))
    generated = tomllib.loads((desk / "bot.toml").read_text(encoding="utf-8"))
    assert generated.keys() == example.keys()

    # an article added to the desk's copy is what kb list shows
    (desk / "knowledge" / "only-here.md").write_text(
        "---\nid: only-here\ntitle: Seulement ici\nlang: fr\ncategory: helpdesk\ntags: [test]\n---\nCorps.\n",
        encoding="utf-8",
    )
    listed = run("--config", str(desk / "bot.toml"), "kb", "list")
    assert listed.exit_code == 0, listed.output
    assert "only-here\tfr" in listed.output
    assert f"{len(starter) + 1} article(s)" in listed.output


def test_init_refuses_a_folder_that_already_holds_a_desk(tmp_path: Path) -> None:
    assert run("init", "desk").exit_code == 0
    again = CliRunner().invoke(main, ["init", "desk"])
    assert again.exit_code == 1
    assert "bot.toml already exists" in again.output


@pytest.mark.parametrize("where", ["before", "after", "environment"])
def test_config_before_or_after_the_command_or_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    config = small_kb_config(tmp_path)
    args = {
        "before": ["--config", str(config), "kb", "list"],
        "after": ["kb", "list", "--config", str(config)],
        "environment": ["kb", "list"],
    }[where]
    if where == "environment":
        monkeypatch.setenv("HELPDESK_CONFIG", str(config))
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"{len(article_files(KB_DIR))} article(s)" in result.output


def test_config_after_run_is_read(tmp_path: Path) -> None:
    """The README's start command: ``helpdesk-bot run --config bot.toml``."""
    config = small_kb_config(tmp_path)
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert "No such option" not in result.output
    assert "no adapter is enabled" in result.output


def test_config_after_the_command_wins_over_the_one_before(tmp_path: Path) -> None:
    config = small_kb_config(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("[bot\n", encoding="utf-8")
    result = run("--config", str(broken), "kb", "list", "--config", str(config))
    assert result.exit_code == 0, result.output


def test_chat_uses_the_configured_knowledge_folder(tmp_path: Path) -> None:
    config = small_kb_config(tmp_path)
    result = run("chat", "--config", str(config), "--user", "alice", "--lang", "en", stdin="/help\n")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "small.db").exists()
