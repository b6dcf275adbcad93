"""The persisted index (``[knowledge] index_cache``): read back for the same content, rebuilt otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import bot.knowledge.cache as cache
from bot.config import load_config
from bot.knowledge import KnowledgeBase
from bot.knowledge.index import Index

FIXTURES = Path(__file__).parent / "kb_fixtures"
QUESTIONS = [
    "l'imprimente a un bourage",
    "mijn wachtwoord is verlopen",
    "mon scan n'arrive jamais dans ma boîte mail",
    "je ne trouve pas ma fiche de paie",
    "geen wifi op mijn laptop",
]


class CountingIndex(Index):
    """Index that counts its builds."""

    builds = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        type(self).builds += 1
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[CountingIndex]:
    CountingIndex.builds = 0
    monkeypatch.setattr(cache, "Index", CountingIndex)
    return CountingIndex


def outcome(kb: KnowledgeBase) -> list[list[tuple[str, float, bool]]]:
    return [[(s.article.id, s.score, s.withheld) for s in kb.considered(q, limit=5)] for q in QUESTIONS]


def test_same_content_is_read_back_without_a_build(folder: Path, tmp_path: Path, counting: type[CountingIndex]) -> None:
    store = tmp_path / "cache"
    built = KnowledgeBase.from_directory(folder, index_cache=store)
    assert counting.builds == 1
    [saved] = store.glob("index-*.pickle")
    assert saved.stat().st_mode & 0o077 == 0 and store.stat().st_mode & 0o077 == 0
    again = KnowledgeBase.from_directory(folder, index_cache=store)
    assert counting.builds == 1  # read from the file
    assert outcome(again) == outcome(built) == outcome(KnowledgeBase.from_directory(folder))
    assert again._index.vocabulary_size == built._index.vocabulary_size


def test_a_changed_article_or_lexicon_is_rebuilt_and_the_stale_file_removed(
    folder: Path, tmp_path: Path, counting: type[CountingIndex]
) -> None:
    store = tmp_path / "cache"
    KnowledgeBase.from_directory(folder, index_cache=store)
    [first] = store.glob("index-*.pickle")
    article = folder / "vpn-connection.md"
    article.write_text(article.read_text(encoding="utf-8") + "\nLe boîtier Fortigate clignote en orange.\n", "utf-8")
    changed = KnowledgeBase.from_directory(folder, index_cache=store)
    assert counting.builds == 2
    [second] = store.glob("index-*.pickle")
    assert second != first
    assert changed.search("fortigate clignote orange")[0].article.id == "vpn-connection"
    (folder / "lexicon.yaml").write_text("groups:\n  vpn: [tunnelbak]\n", encoding="utf-8")
    with_lexicon = KnowledgeBase.from_directory(folder, index_cache=store)
    assert counting.builds == 3 and len(list(store.glob("index-*.pickle"))) == 1
    assert with_lexicon.search("mijn tunnelbak werkt niet")[0].article.id == "vpn-connection"


def test_reload_uses_the_cache_too(folder: Path, tmp_path: Path, counting: type[CountingIndex]) -> None:
    store = tmp_path / "cache"
    kb = KnowledgeBase.from_directory(folder, index_cache=store)
    (folder / "extra.md").write_text(
        "---\nid: coffee\ntitle: Machine à café en panne\nlang: fr\ntags: [café]\ncategory: helpline\n---\n"
        "Appelez le service logistique.\n",
        encoding="utf-8",
    )
    assert kb.reload_if_changed() and counting.builds == 2
    assert kb.search("la machine à café est en panne")[0].article.id == "coffee"
    KnowledgeBase.from_directory(folder, index_cache=store)
    assert counting.builds == 2  # the reloaded content's index was kept


def test_an_unreadable_or_foreign_file_is_not_used(folder: Path, tmp_path: Path, counting: type[CountingIndex]) -> None:
    store = tmp_path / "cache"
    KnowledgeBase.from_directory(folder, index_cache=store)
    [saved] = store.glob("index-*.pickle")
    saved.write_bytes(b"not a pickle")
    assert KnowledgeBase.from_directory(folder, index_cache=store).search("l'imprimente a un bourage")
    assert counting.builds == 2
    saved.chmod(0o666)  # others may write it: never read
    KnowledgeBase.from_directory(folder, index_cache=store)
    assert counting.builds == 3


def test_index_cache_option_is_relative_to_the_configuration_file(tmp_path: Path) -> None:
    config_file = tmp_path / "bot.toml"
    config_file.write_text('[knowledge]\ndirectory = "knowledge"\nindex_cache = "cache/kb"\n', encoding="utf-8")
    config = load_config(config_file)
    assert config.knowledge.index_cache == tmp_path / "cache" / "kb"
    assert config.knowledge.directory == tmp_path / "knowledge"
