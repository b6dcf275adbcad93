"""Loading and validating knowledge-base folders, lexicon extension and reloading."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import bot
from bot.errors import KnowledgeBaseError
from bot.knowledge import KnowledgeBase, check_directory, default_knowledge_dir, load_articles

FIXTURES = Path(__file__).parent / "kb_fixtures"

GOOD = """---
id: {id}
title: {title}
lang: fr
tags: [test]
category: helpdesk
---
{body}
"""


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(FIXTURES, target)
    return target


def test_loads_articles_but_not_drafts_underscore_or_other_files(kb_dir: Path) -> None:
    (kb_dir / "README.txt").write_text("not an article", encoding="utf-8")
    articles = load_articles(kb_dir)
    ids = {a.id for a in articles}
    assert "password-expired" in ids and "wifi-verbinding" in ids
    assert "draft-topic" not in ids
    assert len(articles) == 11
    wifi = next(a for a in articles if a.id == "wifi-verbinding")
    assert wifi.lang == "nl" and wifi.category == "helpdesk"
    assert wifi.tags == ("wifi", "draadloos", "netwerk")
    assert wifi.body.startswith("Dienstlaptops") and wifi.path.name == "wifi-verbinding.md"


def test_id_defaults_to_file_name(tmp_path: Path) -> None:
    (tmp_path / "sans-id.md").write_text(
        "---\ntitle: Titre\nlang: en\ncategory: helpline\n---\nBody text.\n", encoding="utf-8"
    )
    [article] = load_articles(tmp_path)
    assert article.id == "sans-id" and article.tags == ()


def test_check_reports_each_problem_per_file(tmp_path: Path) -> None:
    (tmp_path / "no-front.md").write_text("Just text\n", encoding="utf-8")
    (tmp_path / "no-title.md").write_text("---\nlang: fr\ncategory: helpdesk\n---\nBody\n", encoding="utf-8")
    (tmp_path / "bad-lang.md").write_text(
        "---\ntitle: T\nlang: de\ncategory: support\nauthor: me\n---\nBody\n", encoding="utf-8"
    )
    (tmp_path / "empty.md").write_text("---\ntitle: T\nlang: fr\ncategory: helpdesk\n---\n\n", encoding="utf-8")
    (tmp_path / "a.md").write_text(GOOD.format(id="same", title="A", body="x"), encoding="utf-8")
    (tmp_path / "b.md").write_text(GOOD.format(id="same", title="B", body="y"), encoding="utf-8")
    problems = check_directory(tmp_path)
    by_file: dict[str, list[str]] = {}
    for p in problems:
        by_file.setdefault(p.path.name, []).append(p.message)
    assert "missing front matter" in by_file["no-front.md"][0]
    assert any("missing title" in m for m in by_file["no-title.md"])
    bad = " | ".join(by_file["bad-lang.md"])
    assert "lang must be one of fr, en, nl" in bad and "category must be helpline or helpdesk" in bad
    assert "unknown front-matter key(s) author" in bad
    assert any("empty body" in m for m in by_file["empty.md"])
    assert by_file["b.md"] == ["duplicate id 'same', already used by a.md"]
    assert "a.md" not in by_file
    with pytest.raises(KnowledgeBaseError) as err:
        load_articles(tmp_path)
    assert "no-front.md" in str(err.value) and "b.md" in str(err.value)


def test_check_is_empty_for_a_good_folder_and_reports_a_missing_one(tmp_path: Path) -> None:
    assert check_directory(FIXTURES) == []
    [problem] = check_directory(tmp_path / "nope")
    assert "not a folder" in problem.message


def test_default_knowledge_dir_is_the_project_folder() -> None:
    assert default_knowledge_dir() == Path(bot.__file__).resolve().parent.parent / "knowledge"


def test_lexicon_extension_in_the_knowledge_folder(kb_dir: Path) -> None:
    (kb_dir / "gis.md").write_text(
        GOOD.format(id="gis-cartes", title="Le géoportail n'affiche pas les cartes", body="Videz le cache."),
        encoding="utf-8",
    )
    query = "le SIG communal est vide"
    assert KnowledgeBase.from_directory(kb_dir).search(query) == []
    (kb_dir / "lexicon.yaml").write_text("groups:\n  gis: [géoportail, sig, geoloket]\n", encoding="utf-8")
    kb = KnowledgeBase.from_directory(kb_dir)
    assert [s.article.id for s in kb.search(query)][:1] == ["gis-cartes"]
    assert "gis" in kb.lexicon.groups and "password" in kb.lexicon.groups


def test_malformed_lexicon_extension_is_a_clear_error(kb_dir: Path) -> None:
    (kb_dir / "lexicon.yaml").write_text("groups:\n  gis: géoportail\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="group 'gis' must be a list"):
        KnowledgeBase.from_directory(kb_dir)


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def test_reload_if_changed(kb_dir: Path) -> None:
    kb = KnowledgeBase.from_directory(kb_dir)
    assert kb.reload_if_changed() is False
    (kb_dir / "ups.md").write_text(
        GOOD.format(id="ups-beeps", title="L'onduleur sonne", body="Coupure de courant: enregistrez."),
        encoding="utf-8",
    )
    assert kb.reload_if_changed() is True
    assert kb.get("ups-beeps") is not None
    assert kb.reload_if_changed() is False
    target = kb_dir / "ups.md"
    target.write_text(GOOD.format(id="ups-beeps", title="UPS qui bipe", body="Autre texte."), encoding="utf-8")
    _touch_later(target)
    assert kb.reload_if_changed() is True
    article = kb.get("ups-beeps")
    assert article is not None and article.title == "UPS qui bipe"
    target.unlink()
    assert kb.reload_if_changed() is True
    assert kb.get("ups-beeps") is None


def test_reload_keeps_the_old_index_when_the_folder_becomes_invalid(kb_dir: Path) -> None:
    kb = KnowledgeBase.from_directory(kb_dir)
    (kb_dir / "broken.md").write_text("no front matter", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        kb.reload_if_changed()
    assert kb.get("password-expired") is not None


def test_threshold_is_configurable_and_validated(kb_dir: Path) -> None:
    assert KnowledgeBase.from_directory(kb_dir).threshold == KnowledgeBase.DEFAULT_THRESHOLD
    assert KnowledgeBase.from_directory(kb_dir, threshold=0.9).threshold == 0.9
    with pytest.raises(ValueError):
        KnowledgeBase.from_directory(kb_dir, threshold=1.5)
