"""``helpdesk-bot kb``: search, list, show and check knowledge-base articles; publish drafts; learned
phrasings; report."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.errors import HelpdeskError, KnowledgeBaseError
from bot.knowledge import KnowledgeBase, Suggestion, check_directory, default_knowledge_dir

if TYPE_CHECKING:
    from bot.config import Config

# Only the knowledge package is imported up front: `kb search`, `kb check` and `kb list` never load
# the configuration model (pydantic), the database layer or the plugins.

_KNOWLEDGE_OPTION = click.option(
    "--knowledge",
    "knowledge",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Knowledge folder (default: [knowledge] directory of the configuration, else the bundled one).",
)


def _load(knowledge: Path | None, threshold: float | None = None) -> KnowledgeBase:
    try:
        return KnowledgeBase.from_directory(_knowledge_dir(knowledge), threshold=threshold)
    except KnowledgeBaseError as exc:
        raise click.ClickException(str(exc)) from exc


def _as_json(suggestions: list[Suggestion], explain: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for s in suggestions:
        item: dict[str, Any] = {
            "id": s.article.id,
            "title": s.article.title,
            "score": round(s.score, 4),
            "lang": s.article.lang,
            "category": s.article.category,
        }
        if explain and s.explanation is not None:
            item["explanation"] = s.explanation.to_dict()
        items.append(item)
    return items


@click.group(name="kb")
def kb() -> None:
    """Search and maintain the knowledge base."""


@kb.command("search")
@click.argument("query")
@_KNOWLEDGE_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=3, show_default=True, help="At most N suggestions.")
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help=f"Confidence needed to suggest an article (default {KnowledgeBase.DEFAULT_THRESHOLD}).",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en", "nl"]),
    default=None,
    help="Rank for a user of this language: one article per translation group, in this language when it exists "
    "(default: the configured [bot] language, else fr).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (JSON Lines when QUERY is '-').")
@click.option(
    "--explain",
    is_flag=True,
    help="Show why each article matched, and why the best candidates that are not suggested were held back.",
)
def search(
    query: str,
    knowledge: Path | None,
    limit: int,
    threshold: float | None,
    lang: str | None,
    as_json: bool,
    explain: bool,
) -> None:
    """Print the articles the bot would suggest for QUERY ('-' reads one query per line from stdin)."""
    base = _load(knowledge, threshold)
    lang = lang or _configured_language()
    if query == "-":
        for line in sys.stdin:
            text = line.rstrip("\n")
            found = base.search(text, limit=limit, explain=explain, lang=lang) if text.strip() else []
            if as_json:
                click.echo(json.dumps(_as_json(found, explain), ensure_ascii=False))
            else:
                click.echo(f"> {text}")
                _print_table(found, explain)
                if explain and text.strip():
                    _print_held_back(base, text, found, limit, lang)
        return
    found = base.search(query, limit=limit, explain=explain, lang=lang)
    if as_json:
        click.echo(json.dumps(_as_json(found, explain), ensure_ascii=False, indent=2))
    else:
        _print_table(found, explain)
        if explain:
            _print_held_back(base, query, found, limit, lang)


def _print_held_back(base: KnowledgeBase, query: str, found: list[Suggestion], limit: int, lang: str | None) -> None:
    """The best candidates that are not suggested, with the reason (threshold or topic reach)."""
    shown = {s.article.group_key for s in found}
    held = [s for s in base.considered(query, limit=limit, lang=lang) if s.article.group_key not in shown]
    if not held:
        return
    click.echo("Not suggested:")
    for s in held:
        click.echo(f"{s.score:5.2f}  {s.article.id}  [{s.article.lang}] {s.article.title}")
        if s.explanation is not None:
            click.echo(str(s.explanation))
            click.echo("")


def _config_path() -> Path | None:
    """The configuration file in use: ``--config`` (or ``$HELPDESK_CONFIG``), else ./bot.toml if present."""
    root = click.get_current_context().find_root()
    path = root.obj.get("config_path") if isinstance(root.obj, dict) else None
    if path is None and Path("bot.toml").exists():
        path = Path("bot.toml")
    return Path(path) if path is not None else None


def _config_value(section: str, key: str) -> tuple[Path | None, object]:
    """``[section] key`` of the configuration, read without validating the whole file (fast start):
    ``HELPDESK_<SECTION>__<KEY>`` wins over the file. Returns the file and the value (None if unset);
    raises :class:`ValueError` when the file cannot be read or parsed."""
    import os
    import tomllib

    path = _config_path()
    variable = f"HELPDESK_{section}__{key}".upper()
    from_environment = next((v for k, v in os.environ.items() if k.upper() == variable), None)
    if path is None:
        return None, from_environment
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    if from_environment is not None:
        return path, from_environment
    table = data.get(section, {})
    return path, table.get(key) if isinstance(table, dict) else None


def _configured_language() -> str:
    """``[bot] language`` of the configuration file, read without validating the whole file (fast start)."""
    try:
        _, language = _config_value("bot", "language")
    except ValueError:
        return "fr"
    return language if isinstance(language, str) and language in ("fr", "en", "nl") else "fr"


def _print_table(found: list[Suggestion], explain: bool) -> None:
    if not found:
        click.echo("No article is confident enough to suggest.")
        return
    width = max(len(s.article.id) for s in found)
    click.echo(f"{'score':>5}  {'id':<{width}}  title")
    for s in found:
        click.echo(f"{s.score:5.2f}  {s.article.id:<{width}}  [{s.article.lang}] {s.article.title}")
        if explain and s.explanation is not None:
            click.echo(str(s.explanation))
            click.echo("")


@kb.command("list")
@_KNOWLEDGE_OPTION
def list_articles(knowledge: Path | None) -> None:
    """List the articles: id, language, category and title."""
    base = _load(knowledge)
    for a in base.articles:
        click.echo(f"{a.id}\t{a.lang}\t{a.category}\t{a.title}")
    click.echo(f"{len(base.articles)} article(s)")


@kb.command("show")
@click.argument("article_id")
@_KNOWLEDGE_OPTION
def show(article_id: str, knowledge: Path | None) -> None:
    """Print one article."""
    article = _load(knowledge).get(article_id)
    if article is None:
        raise click.ClickException(f"no article with id {article_id!r} (see 'kb list')")
    click.echo(f"# {article.title}")
    click.echo(f"id: {article.id} | lang: {article.lang} | category: {article.category}")
    click.echo(f"tags: {', '.join(article.tags)}")
    click.echo(f"file: {article.path}\n")
    click.echo(article.body)


@kb.command("check")
@click.argument("directory", type=click.Path(path_type=Path))
def check(directory: Path) -> None:
    """Validate the articles of DIRECTORY: one line per problem, exit 1 if any."""
    problems = check_directory(directory)
    if problems:
        for p in problems:
            click.echo(f"{p.path}: {p.message}")
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    try:
        base = KnowledgeBase.from_directory(directory)
    except KnowledgeBaseError as exc:  # e.g. a malformed lexicon.yaml
        click.echo(str(exc))
        sys.exit(1)
    click.echo(f"{len(base.articles)} article(s) OK in {directory}")


def _root_config() -> Config:
    """The configuration the ``helpdesk-bot --config`` option (or ./bot.toml) points to."""
    from bot.config import load_config
    from bot.plugins import discover_adapters

    root = click.get_current_context().find_root()
    path = root.obj.get("config_path") if isinstance(root.obj, dict) else None
    if path is None and Path("bot.toml").exists():
        path = Path("bot.toml")
    try:
        return load_config(path, adapter_names=set(discover_adapters()))
    except HelpdeskError as exc:
        raise click.ClickException(str(exc)) from exc


def _knowledge_dir(knowledge: Path | None) -> Path:
    """``--knowledge``, else ``[knowledge] directory`` of the configuration (relative to its file), else the
    bundled knowledge base. The configuration is read without loading its model (a second or more
    with the adapters' sections) unless the file cannot be read: then the full load reports why."""
    if knowledge is not None:
        return knowledge
    try:
        source, directory = _config_value("knowledge", "directory")
    except ValueError:
        return _root_config().knowledge.directory or default_knowledge_dir()
    if directory is None:
        return default_knowledge_dir()
    if not isinstance(directory, str) or not directory.strip():
        return _root_config().knowledge.directory or default_knowledge_dir()
    folder = Path(directory)
    if source is not None and not folder.is_absolute():
        folder = source.parent / folder
    return folder


@kb.command("publish")
@click.argument("draft_id")
@_KNOWLEDGE_OPTION
def publish(draft_id: str, knowledge: Path | None) -> None:
    """Validate draft DRAFT_ID (in <knowledge>/drafts/) and move it into the knowledge folder.

    The running bot picks the new article up by itself within a minute.
    """
    from bot.kb_lifecycle import publish_draft

    directory = knowledge or _root_config().knowledge.directory
    if directory is None:
        raise click.ClickException(
            "the bundled starter knowledge base stays as installed: publish into the desk's own knowledge "
            "folder (helpdesk-bot init DIR, then [knowledge] directory in bot.toml, or --knowledge DIR)"
        )
    try:
        target = publish_draft(directory, draft_id)
    except KnowledgeBaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"published {draft_id} as {target}")


@kb.command("phrasings")
@click.argument("article_id")
@_KNOWLEDGE_OPTION
@click.option("--database", "database_url", default=None, help="Database URL (default: the configured one).")
@click.option("--remove", "remove_id", type=int, default=None, help="Forget the learned phrasing with this number.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def phrasings(
    article_id: str, knowledge: Path | None, database_url: str | None, remove_id: int | None, as_json: bool
) -> None:
    """Show how users describe ARTICLE_ID: its front-matter questions and the phrasings learned from
    "This solved it", /kblink and "Not solved" (which lowers it for similar messages); --remove N forgets one."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db.engine import create_db_engine
    from bot.db.uow import unit_of_work_factory
    from bot.kb_lifecycle.phrasings import LearnedPhrasingRepository

    config = _root_config()
    base = _load(knowledge or config.knowledge.directory, config.knowledge.threshold)
    article = base.get(article_id)
    engine = create_db_engine(database_url or config.database.url)
    try:
        with unit_of_work_factory(engine)() as uow:
            repository = LearnedPhrasingRepository(uow.session)
            if remove_id is not None:
                found = [p for p in repository.for_article(article_id) if p.id == remove_id]
                if not found:
                    raise click.ClickException(f"{article_id} has no learned phrasing number {remove_id}")
                repository.remove(remove_id)
                uow.commit()
                click.echo(f"forgot phrasing {remove_id} of {article_id}: {found[0].text}")
                return
            learned = repository.for_article(article_id)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the database ({type(exc).__name__}); is it migrated? (helpdesk-bot db upgrade)"
        ) from exc
    finally:
        engine.dispose()
    if article is None and not learned:
        raise click.ClickException(f"no article with id {article_id!r} (see 'kb list')")
    questions = list(article.questions) if article is not None else []
    if as_json:
        data = {
            "id": article_id,
            "questions": questions,
            "learned": [
                {"number": p.id, "kind": p.kind, "text": p.text, "source": p.source, "at": p.created_at.isoformat()}
                for p in learned
            ],
        }
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"{article_id}: {len(questions)} question(s) in the article, {len(learned)} learned phrasing(s)")
    for question in questions:
        click.echo(f"  question       {question}")
    for p in learned:
        click.echo(f"  #{p.id:<5} {p.kind:<10} {p.text}  ({p.source}, {p.created_at:%Y-%m-%d})")


@kb.command("report")
@_KNOWLEDGE_OPTION
@click.option("--database", "database_url", default=None, help="Database URL (default: the configured one).")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First day of the period (default: 30 days before --until).",
)
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Day after the period (default: tomorrow)."
)
@click.option(
    "--min-shown",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="List articles shown at least N times that never solved anything.",
)
@click.option(
    "--min-tickets",
    type=click.IntRange(min=2),
    default=2,
    show_default=True,
    help="List ticket topics without an article that have at least N tickets.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def report(
    knowledge: Path | None,
    database_url: str | None,
    since: datetime | None,
    until: datetime | None,
    min_shown: int,
    min_tickets: int,
    as_json: bool,
) -> None:
    """Articles shown but never helping, and frequent ticket topics that have no article."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db.engine import create_db_engine
    from bot.db.uow import unit_of_work_factory
    from bot.kb_lifecycle import build_report

    config = _root_config()
    now = datetime.now(UTC)
    end = (
        until.replace(tzinfo=UTC)
        if until
        else (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    start = since.replace(tzinfo=UTC) if since else end - timedelta(days=30)
    if start >= end:
        raise click.ClickException("--since must be before --until")
    base = _load(knowledge or config.knowledge.directory, config.knowledge.threshold)
    engine = create_db_engine(database_url or config.database.url)
    try:
        result = build_report(
            unit_of_work_factory(engine),
            base,
            start,
            end,
            now,
            min_shown=min_shown,
            min_tickets=min_tickets,
            similarity_threshold=config.incidents.similarity,
        )
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the database ({type(exc).__name__}); is it migrated? (helpdesk-bot db upgrade)"
        ) from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.to_text())
