"""Knowledge-base articles: Markdown files with YAML front matter, loaded and validated.

An article file looks like::

    ---
    id: vpn-ne-se-connecte-pas
    title: Le VPN ne se connecte pas
    lang: fr
    tags: [vpn, connexion, télétravail]
    category: helpdesk
    group: vpn                     # optional: articles sharing a group are translations of each other
    questions:                     # optional: example questions the article answers
      - le vpn tourne en boucle
      - forticlient bloque à 98 %
    ---
    Markdown body with the fix steps.

``group`` declares translations: the bot shows one article per group, in the user's language
when the group has one (see :meth:`bot.knowledge.KnowledgeBase.search`). ``kb check`` reports a
group with two articles in the same language. ``questions`` are matched like the title.

``id`` defaults to the file name without ``.md``. ``README.md``, files whose name starts with ``_``,
files that are not ``.md`` and anything in sub-folders (``drafts/``...) are not articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

import bot
from bot.errors import KnowledgeBaseError
from bot.knowledge.lexicon import SAFE_LOADER

LANGUAGES: frozenset[str] = frozenset({"fr", "en", "nl"})
CATEGORIES: frozenset[str] = frozenset({"helpline", "helpdesk"})
ALLOWED_KEYS: frozenset[str] = frozenset({"id", "title", "lang", "tags", "category", "group", "questions"})


class _FastYAMLHandler(YAMLHandler):
    """Front matter read with libyaml's safe loader when available."""

    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=SAFE_LOADER)


_FRONT_MATTER = _FastYAMLHandler()
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Article:
    """One knowledge-base article."""

    id: str
    title: str
    lang: str
    tags: tuple[str, ...]
    category: str
    body: str
    path: Path
    group: str | None = None
    questions: tuple[str, ...] = ()

    @property
    def group_key(self) -> str:
        """The translation group this article belongs to (its own id when it declares none)."""
        return self.group or self.id


@dataclass(frozen=True)
class ArticleProblem:
    """Something wrong with one article file; ``message`` says what to fix."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def default_knowledge_dir() -> Path:
    """The bundled starter knowledge folder.

    An installed wheel carries it as ``bot/starter_knowledge/``; a checkout has it as ``knowledge/`` at
    the project root (see setup.py). ``helpdesk-bot init`` copies it into a desk folder to edit.
    """
    package = Path(bot.__file__).resolve().parent
    installed = package / "starter_knowledge"
    return installed if installed.is_dir() else package.parent / "knowledge"


def article_files(directory: Path) -> list[Path]:
    """The article files of ``directory`` (``*.md`` not starting with ``_``, no sub-folders), sorted."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.suffix == ".md" and not p.name.startswith("_") and p.name.lower() != "readme.md"
    )


def _parse(path: Path) -> tuple[Article | None, list[str]]:
    """Parse one file; return the article (None if unusable) and the problems found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"cannot be read as UTF-8 text ({exc})"]
    if not text.lstrip("\ufeff").startswith("---"):
        return None, ["missing front matter: the file must start with a '---' line, the fields, then '---'"]
    try:
        post = frontmatter.loads(text, handler=_FRONT_MATTER)
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, [f"the front matter is not valid YAML ({first})"]
    meta: dict[str, Any] = dict(post.metadata)
    if not meta:
        return None, ["missing front matter: add id, title, lang, tags and category between '---' lines"]
    problems: list[str] = []
    unknown = sorted(set(meta) - ALLOWED_KEYS)
    if unknown:
        allowed = ", ".join(sorted(ALLOWED_KEYS))
        problems.append(f"unknown front-matter key(s) {', '.join(unknown)}: allowed are {allowed}")
    article_id = meta.get("id", path.stem)
    if not isinstance(article_id, str) or not _ID_PATTERN.match(article_id):
        problems.append(f"invalid id {article_id!r}: use letters, digits, '-', '_' or '.'")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("missing title: add 'title: ...' to the front matter")
    lang = meta.get("lang")
    if lang not in LANGUAGES:
        problems.append(f"lang must be one of fr, en, nl (found {lang!r})")
    category = meta.get("category")
    if category not in CATEGORIES:
        problems.append(f"category must be helpline or helpdesk (found {category!r})")
    tags_raw = meta.get("tags", [])
    if tags_raw is None:
        tags_raw = []
    if not isinstance(tags_raw, list) or not all(isinstance(t, str | int | float) for t in tags_raw):
        problems.append("tags must be a list of words, e.g. tags: [vpn, connexion]")
        tags_raw = []
    group = meta.get("group")
    if group is not None and (not isinstance(group, str | int) or not _ID_PATTERN.match(str(group))):
        problems.append(f"invalid group {group!r}: use letters, digits, '-', '_' or '.' (the same in each translation)")
    questions_raw = meta.get("questions", []) or []
    if isinstance(questions_raw, str):
        questions_raw = [questions_raw]
    if not isinstance(questions_raw, list) or not all(isinstance(q, str) and q.strip() for q in questions_raw):
        problems.append('questions must be a list of example questions, e.g. questions: ["le vpn ne démarre pas"]')
        questions_raw = []
    body = post.content.strip()
    if not body:
        problems.append("empty body: write the fix steps below the front matter")
    if problems:
        return None, problems
    article = Article(
        id=str(article_id),
        title=str(title).strip(),
        lang=str(lang),
        tags=tuple(str(t).strip() for t in tags_raw if str(t).strip()),
        category=str(category),
        body=body,
        path=path,
        group=str(group) if group is not None else None,
        questions=tuple(q.strip() for q in questions_raw),
    )
    return article, []


def _scan(directory: Path) -> tuple[list[Article], list[ArticleProblem]]:
    if not directory.is_dir():
        return [], [ArticleProblem(directory, "not a folder: point to the folder that holds the .md articles")]
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    seen: dict[str, Path] = {}
    for path in article_files(directory):
        article, messages = _parse(path)
        problems.extend(ArticleProblem(path, m) for m in messages)
        if article is None:
            continue
        if article.id in seen:
            problems.append(
                ArticleProblem(path, f"duplicate id {article.id!r}, already used by {seen[article.id].name}")
            )
            continue
        seen[article.id] = path
        articles.append(article)
    problems.extend(_group_problems(articles))
    return articles, problems


def _group_problems(articles: list[Article]) -> list[ArticleProblem]:
    """A translation group holds at most one article per language."""
    problems: list[ArticleProblem] = []
    by_group: dict[tuple[str, str], Article] = {}
    for article in articles:
        if article.group is None:
            continue
        first = by_group.setdefault((article.group, article.lang), article)
        if first is not article:
            problems.append(
                ArticleProblem(
                    article.path,
                    f"group {article.group!r} already has a {article.lang} article ({first.path.name}): "
                    "a group holds one translation per language",
                )
            )
    return problems


def check_directory(directory: Path) -> list[ArticleProblem]:
    """Every problem in the articles of ``directory``; ``[]`` when all are fine."""
    return _scan(directory)[1]


def load_articles(directory: Path) -> list[Article]:
    """Load the articles of ``directory``, sorted by file name.

    Raises :class:`bot.errors.KnowledgeBaseError` listing every bad file when any is invalid.
    """
    articles, problems = _scan(directory)
    if problems:
        detail = "; ".join(str(p) for p in problems)
        raise KnowledgeBaseError(detail=f"{len(problems)} problem(s) in {directory}: {detail}")
    return articles
