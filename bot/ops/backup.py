"""``helpdesk-bot db backup`` and ``db restore`` for SQLite; the PostgreSQL recipe uses pg_dump.

A SQLite backup goes through SQLite's online backup API (:meth:`sqlite3.Connection.backup`): it copies
a consistent snapshot page by page while the bot keeps writing (copying the ``.db`` file of a WAL-mode
database can miss the commits still in ``-wal``). A restore copies a backup over the configured
database the same way; it refuses a database that already holds tickets unless forced.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

PG_DUMP_RECIPE = (
    "PostgreSQL is backed up with its own tools, safe while the bot runs:\n"
    "  pg_dump --format=custom --file=helpdesk.dump 'postgresql://USER@HOST/DB'\n"
    "and restored into an empty database (bot stopped) with:\n"
    "  pg_restore --clean --if-exists --no-owner --dbname='postgresql://USER@HOST/DB' helpdesk.dump"
)
_DATA_TABLES = ("tickets", "ticket_events", "conversations", "outbox")


class BackupError(Exception):
    """The backup or restore cannot be made (with the reason in one sentence)."""


def sqlite_path(url: str) -> Path:
    """The database file of a ``sqlite:///`` URL; :class:`BackupError` for anything else."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(f"db backup and db restore handle SQLite; for {parsed.get_backend_name()}: {PG_DUMP_RECIPE}")
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(parsed.database)


def backup_sqlite(url: str, target: Path) -> int:
    """Copy the database of ``url`` into the new file ``target``; returns the number of tickets copied."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"{source_path} does not exist: nothing to back up")
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
        return _ticket_count(destination)
    finally:
        destination.close()
        source.close()


def _ticket_count(connection: sqlite3.Connection) -> int:
    try:
        return int(connection.execute("SELECT count(*) FROM tickets").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _holds_data(connection: sqlite3.Connection) -> bool:
    for table in _DATA_TABLES:
        try:
            if connection.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
                return True
        except sqlite3.OperationalError:
            continue
    return False


def restore_sqlite(url: str, backup: Path, *, force: bool = False) -> int:
    """Copy ``backup`` over the database of ``url``; returns the number of tickets restored.

    Refuses (:class:`BackupError`) a target that already holds tickets, conversations or
    notifications unless ``force``; stop the bot first.
    """
    target_path = sqlite_path(url)
    if not backup.is_file():
        raise BackupError(f"{backup} does not exist")
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        try:
            source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{backup} is not a SQLite backup ({error})") from None
        target_path.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(target_path, timeout=30)
        try:
            if _holds_data(destination) and not force:
                raise BackupError(
                    f"{target_path} already holds tickets: restore into an empty database, or add --force to replace it"
                )
            source.backup(destination)
            return _ticket_count(destination)
        finally:
            destination.close()
    finally:
        source.close()
