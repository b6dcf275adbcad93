"""Engines and migrations. Nothing here runs at import time: :func:`bot.bootstrap.bootstrap` calls it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

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
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":

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


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration that migrates ``engine`` with the bundled scripts."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


MIGRATION_LOCK_KEY = 0x6865_6C70_6465_736B  # "helpdesk" in ASCII, as a bigint
"""The PostgreSQL advisory lock that serialises schema upgrades across processes."""


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent, safe to run from several processes at once).

    On PostgreSQL the upgrade runs under a transaction-level advisory lock
    (``pg_advisory_xact_lock``): a second process starting at the same moment (two bots
    migrating on start, ``helpdesk-bot db upgrade`` during a ``run``) waits for the first
    to commit, then finds the schema current and has nothing to do. The lock is released
    with the transaction, also when the process dies. SQLite serialises writers itself.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    logger.info("database schema is at %s", revision)
