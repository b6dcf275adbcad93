"""Engines and migrations. Nothing here runs at import time: :func:`bot.bootstrap.bootstrap` calls it."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url`` with sensible per-backend settings.

    SQLite gets WAL journaling, foreign keys and a busy timeout, so that two console
    terminals (two processes) can share one file; ``sqlite://`` (memory) is shared
    across threads for tests.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() != "sqlite":
        _ping_when_idle(engine)
    else:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if parsed.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


IDLE_PING_SECONDS = 10.0
"""A pooled connection unused for longer than this is pinged before it is handed out."""


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection with a round trip only when it sat idle for :data:`IDLE_PING_SECONDS`.

    ``pool_pre_ping`` pings on every checkout, one round trip per unit of work. A connection in
    use moments ago is alive; one idle for a while may have been closed by the server, a proxy or
    a restart: that one is pinged, and a dead one is replaced (the pool retries the checkout with a
    fresh connection). A connection that breaks in the middle of a unit of work raises as before.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            # psycopg begins a transaction for the ping; end it so the checkout starts clean.
            dbapi_connection.rollback()
        except Exception as error:
            logger.info(
                "a pooled database connection idle for %.0f s is gone; reconnecting", time.monotonic() - idle_since
            )
            raise exc.DisconnectionError() from error


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration that migrates ``engine`` with the bundled scripts."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


MIGRATION_LOCK_KEY = 0x6865_6C70_6465_736B  # "helpdesk" in ASCII, as a bigint
"""The PostgreSQL advisory lock that serialises schema upgrades across processes."""


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=(.*)$", re.MULTILINE)


def packaged_heads() -> frozenset[str]:
    """The head revision(s) of the bundled migrations, read from the scripts' text without importing
    alembic (empty when a script cannot be read that way)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(script.read_text(encoding="utf-8")))
        ids = re.findall(r"[\"']([^\"']+)[\"']", found.get("revision", ""))
        if len(ids) != 1:
            return frozenset()
        revisions.add(ids[0])
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", found.get("down_revision", "")))
    return frozenset(revisions - parents)


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's ``alembic_version`` holds exactly the packaged head(s): one cheap query,
    no alembic import. ``False`` when the table is missing or unreadable."""
    heads = packaged_heads()
    if not heads:
        return False
    try:
        with engine.connect() as connection:
            stored = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:
        return False
    return stored == heads


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent, safe to run from several processes at once).

    On PostgreSQL the upgrade runs under a transaction-level advisory lock
    (``pg_advisory_xact_lock``): a second process starting at the same moment (two bots
    migrating on start, ``helpdesk-bot db upgrade`` during a ``run``) waits for the first
    to commit, then finds the schema current and has nothing to do. The lock is released
    with the transaction, also when the process dies. SQLite serialises writers itself.
    A database already at the packaged head is recognised by :func:`schema_is_current` without
    importing alembic (a faster start).
    """
    if revision == "head" and schema_is_current(engine):
        logger.info("database schema is current (%s)", ", ".join(sorted(packaged_heads())))
        return
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    logger.info("database schema is at %s", revision)
