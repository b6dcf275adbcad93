"""A persisted knowledge-base index, kept between starts and keyed by the content it was built from.

Building the index of a large knowledge base takes seconds (about 3-5 s of CPU at 10,000 articles,
``benchmarks/kb_latency.py``); reading it back takes a fraction of that. With ``[knowledge]
index_cache`` set to a folder, the bot writes the built index there as
``index-<key>.pickle`` and, at the next start or reload, reads it instead of building when the
*key* is the same. The key is a SHA-256 of everything the index is computed from:

* every article's id, title, language, tags, example questions, category, group and body;
* the lexicon in use (the bundled one merged with the folder's ``lexicon.yaml``);
* the matcher's own code and data (the source of ``bot/knowledge/*.py`` and ``common_words.txt``)
  and :data:`CACHE_FORMAT`.

So changing, adding or removing an article, editing the lexicon or upgrading the bot gives another
key: the stale file is not read, a new one is written and the others of the folder are deleted.
A file that cannot be read (truncated, another Python) is ignored and replaced.

The files are Python pickles, which run code when read: the folder is created private to the bot's
user (mode 0700), files are written 0600 and atomically, and a file that is not owned by the bot's
user or that others may write is never read. Point the option at a folder only the bot writes to.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.knowledge.articles import Article
from bot.knowledge.index import Index
from bot.knowledge.lexicon import Lexicon

logger = logging.getLogger(__name__)

CACHE_FORMAT = "kb-index-1"
"""Bumped when the cached state changes shape (the code hash covers most changes anyway)."""
_PREFIX = "index-"
_SUFFIX = ".pickle"
_CODE_DIR = Path(__file__).resolve().parent


def _code_digest() -> bytes:
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for path in sorted([*_CODE_DIR.glob("*.py"), _CODE_DIR / "common_words.txt"]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.digest()


def content_key(articles: Sequence[Article], lexicon: Lexicon) -> str:
    """The cache key of an index over ``articles`` with ``lexicon`` (hex SHA-256)."""
    digest = hashlib.sha256(_code_digest())
    lexicon_data = {
        "groups": {name: list(terms) for name, terms in lexicon.groups.items()},
        "weak": sorted(lexicon.weak),
        "context": sorted(lexicon.context),
    }
    digest.update(json.dumps(lexicon_data, sort_keys=True, ensure_ascii=False).encode())
    for a in articles:
        record = [a.id, a.title, a.lang, list(a.tags), list(a.questions), a.category, a.group, a.body]
        digest.update(json.dumps(record, ensure_ascii=False).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _trusted(path: Path) -> bool:
    """A file the bot's own user owns and nobody else may write."""
    try:
        st = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def load_or_build(articles: Sequence[Article], lexicon: Lexicon, cache_dir: Path | None) -> Index:
    """The index over ``articles``: read from ``cache_dir`` when it holds one built from the same
    content, else built (and written there). Without ``cache_dir``, simply built."""
    if cache_dir is None:
        return Index(articles, lexicon)
    cache_dir = Path(cache_dir)
    key = content_key(articles, lexicon)
    path = cache_dir / f"{_PREFIX}{key}{_SUFFIX}"
    if _trusted(path):
        try:
            with path.open("rb") as f:
                state = pickle.load(f)  # a private file of the bot's own user (see the module doc)
            return Index.from_state(state, articles, lexicon)
        except Exception as exc:  # any unreadable cache is rebuilt
            logger.warning("knowledge index cache %s unreadable (%s): rebuilding it", path, exc)
    index = Index(articles, lexicon)
    try:
        _write(cache_dir, path, index)
    except OSError as exc:
        logger.warning("knowledge index cache not written to %s: %s", cache_dir, exc)
    return index


def _write(cache_dir: Path, path: Path, index: Index) -> None:
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".tmp", dir=cache_dir)  # created 0600
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(index.state(), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for other in cache_dir.glob(f"{_PREFIX}*{_SUFFIX}"):
        if other != path:
            other.unlink(missing_ok=True)  # an index of content that is no longer the knowledge base's
