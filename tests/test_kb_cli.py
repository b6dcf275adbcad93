"""The ``kb`` click group: search (table, JSON, JSON Lines, explain), list, show, check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.kb import kb

FIXTURES = Path(__file__).parent / "kb_fixtures"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(kb, list(args), input=stdin)
    return result.exit_code, result.output


def test_search_json() -> None:
    code, out = run("search", "l'imprimente a un bourage", "--knowledge", str(FIXTURES), "--json")
    assert code == 0
    data = json.loads(out)
    assert data[0]["id"] == "printer-paper-jam"
    assert data[0]["title"] == "Papier coincé dans l'imprimante"
    assert 0 < data[0]["score"] <= 1 and "explanation" not in data[0]


def test_search_json_empty_when_nothing_fits() -> None:
    code, out = run("search", "bonjour", "--knowledge", str(FIXTURES), "--json")
    assert code == 0 and json.loads(out) == []


def test_search_threshold_and_limit() -> None:
    args = ["search", "mon scan n'arrive jamais dans ma boîte mail", "--knowledge", str(FIXTURES), "--json"]
    assert json.loads(run(*args, "--threshold", "1")[1]) == []
    assert len(json.loads(run(*args, "--threshold", "0", "--limit", "2")[1])) == 2


def test_search_explain_json_and_table() -> None:
    code, out = run("search", "mijn wachtwoord is verlopen", "--knowledge", str(FIXTURES), "--json", "--explain")
    assert code == 0
    explanation = json.loads(out)[0]["explanation"]
    assert explanation["article_id"] == "password-expired" and explanation["synonyms"]
    code, out = run("search", "mijn wachtwoord is verlopen", "--knowledge", str(FIXTURES), "--explain")
    assert code == 0
    assert "password-expired" in out and "synonyms:" in out and "wachtwoord -> password" in out


def test_search_table_says_when_nothing_fits() -> None:
    code, out = run("search", "merci !", "--knowledge", str(FIXTURES))
    assert code == 0 and "No article" in out


def test_search_stdin_json_lines() -> None:
    stdin = "papier coincé dans le bac\nbonjour\n\ngeen wifi op mijn laptop\n"
    code, out = run("search", "-", "--knowledge", str(FIXTURES), "--json", stdin=stdin)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4
    assert lines[0][0]["id"] == "printer-paper-jam"
    assert lines[1] == [] and lines[2] == []
    assert lines[3][0]["id"] == "wifi-verbinding"


def test_list_and_show() -> None:
    code, out = run("list", "--knowledge", str(FIXTURES))
    assert code == 0 and "vpn-connection\tfr\thelpdesk\tConnexion VPN impossible en télétravail" in out
    assert "11 article(s)" in out and "draft-topic" not in out
    code, out = run("show", "wifi-verbinding", "--knowledge", str(FIXTURES))
    assert code == 0 and "# Laptop maakt geen verbinding met wifi" in out and "vliegtuigmodus" in out
    code, out = run("show", "nope", "--knowledge", str(FIXTURES))
    assert code == 1 and "no article with id 'nope'" in out


def test_check_exit_codes(tmp_path: Path) -> None:
    code, out = run("check", str(FIXTURES))
    assert code == 0 and "11 article(s) OK" in out
    (tmp_path / "bad.md").write_text("---\ntitle: T\nlang: es\ncategory: helpdesk\n---\nBody\n", encoding="utf-8")
    (tmp_path / "worse.md").write_text("plain text\n", encoding="utf-8")
    code, out = run("check", str(tmp_path))
    assert code == 1
    lines = [line for line in out.splitlines() if line.endswith((".md", ")")) or ".md:" in line]
    assert any(line.startswith(str(tmp_path / "bad.md")) and "lang must be one of" in line for line in lines)
    assert any(line.startswith(str(tmp_path / "worse.md")) and "missing front matter" in line for line in lines)


def test_bad_knowledge_folder_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("plain\n", encoding="utf-8")
    code, out = run("search", "vpn", "--knowledge", str(tmp_path))
    assert code == 1 and "knowledge base cannot be read" in out and "bad.md" in out


def _desk(tmp_path: Path, directory: str) -> Path:
    config = tmp_path / "desk" / "bot.toml"
    config.parent.mkdir()
    config.write_text(f'[knowledge]\ndirectory = "{directory}"\n', encoding="utf-8")
    return config


def test_kb_commands_read_the_configured_folder_relative_to_the_configuration(tmp_path: Path) -> None:
    from bot.cli import main

    config = _desk(tmp_path, "articles")
    (config.parent / "articles").mkdir()
    (config.parent / "articles" / "only-here.md").write_text(
        "---\nid: only-here\ntitle: Seulement ici\nlang: fr\ncategory: helpdesk\ntags: [test]\n---\nCorps.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--config", str(config), "kb", "list"])
    assert result.exit_code == 0, result.output
    assert "only-here\tfr" in result.output and "1 article(s)" in result.output


def test_the_environment_overrides_the_configured_knowledge_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    config = _desk(tmp_path, "nowhere")
    monkeypatch.setenv("HELPDESK_KNOWLEDGE__DIRECTORY", str(FIXTURES))
    result = CliRunner().invoke(main, ["--config", str(config), "kb", "search", "imprimante bourrage", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["id"] == "printer-paper-jam"


def test_an_unreadable_configuration_is_reported_by_kb_commands(tmp_path: Path) -> None:
    from bot.cli import main

    broken = tmp_path / "broken.toml"
    broken.write_text("[knowledge\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(broken), "kb", "list"])
    assert result.exit_code == 1 and "not valid TOML" in result.output


def test_kb_search_does_not_load_the_configuration_model(tmp_path: Path) -> None:
    """`kb search` starts fast: the configuration is read as TOML, pydantic and the adapters are not imported."""
    import subprocess
    import sys

    config = _desk(tmp_path, str(FIXTURES))
    script = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main(['--config', {str(config)!r}, 'kb', 'search', 'imprimante bourrage'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('pydantic', 'sqlalchemy', 'telegram', 'slack_bolt') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "printer-paper-jam" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_search_explain_says_why_the_best_candidates_are_not_suggested() -> None:
    code, out = run("search", "mon scan n'arrive jamais dans ma boîte mail", "--knowledge", str(FIXTURES), "--explain")
    assert code == 0
    assert "decision:      suggested" in out and "topic reach:" in out
    assert "Not suggested:" in out and "decision:      not suggested: confidence under the threshold" in out
    code, out = run("search", "bonjour", "--knowledge", str(FIXTURES), "--explain")
    assert code == 0 and "No article" in out
