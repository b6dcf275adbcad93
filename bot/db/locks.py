"""Locks held by one process among all those sharing the database, released when that process dies.

:class:`ProcessLock` is what lets several bot processes run side by side while only one of them does a
job that must not be done twice at the same time (reading one mailbox: two readers would both move the
same mail). Whoever takes it first holds it until it releases it or dies; the others find it taken and
try again later, so one of them takes over as soon as the holder is gone — no lease to wait out:

* **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its own,
  kept open while the lock is held. The server releases it when that connection ends, so also when the
  process is killed. :meth:`ProcessLock.try_acquire` checks that the connection still holds it (a
  restarted server or a dropped connection loses it) before saying so.
* **SQLite** (a file): an exclusive ``flock`` on a lock file next to the database file, released by the
  operating system when the process ends. An in-memory database lives in one process: always granted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text

logger = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]


class ProcessLock:
    """A named lock held by at most one process of those sharing ``engine``'s database (see the module)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self._engine = engine
        self.name = name
        digest = hashlib.sha256(name.encode()).digest()
        # The two-integer form of the advisory lock, so that pg_locks shows it as (classid, objid).
        self._keys = (int.from_bytes(digest[:4], "big", signed=True), int.from_bytes(digest[4:8], "big", signed=True))
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self._held_in_memory = False
        self._mutex = threading.Lock()

    def try_acquire(self) -> bool:
        """Take the lock if it is free, or confirm this process still holds it; never waits."""
        with self._mutex:
            backend = self._engine.dialect.name
            if backend == "postgresql":
                return self._postgres()
            if backend == "sqlite":
                return self._sqlite()
            raise ValueError(f"no process lock for {backend}")

    def release(self) -> None:
        """Let another process take the lock (idempotent)."""
        with self._mutex:
            connection, self._connection = self._connection, None
            if connection is not None:
                try:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:a, :b)"), {"a": self._keys[0], "b": self._keys[1]}
                    )
                    connection.commit()
                except Exception:
                    logger.debug("releasing lock %s: the connection is gone (and the lock with it)", self.name)
                finally:
                    connection.close()
            handle, self._file = self._file, None
            if handle is not None:
                handle.close()  # closing the file drops the flock
            self._held_in_memory = False

    def _postgres(self) -> bool:
        params = {"a": self._keys[0], "b": self._keys[1]}
        if self._connection is not None:
            try:
                held = self._connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                        " AND classid = CAST(:a AS oid) AND objid = CAST(:b AS oid) AND objsubid = 2 AND granted"
                    ),
                    {"a": self._keys[0] & 0xFFFFFFFF, "b": self._keys[1] & 0xFFFFFFFF},
                ).scalar_one()
                self._connection.commit()
                if held:
                    return True
            except Exception:
                logger.warning("lock %s: its connection failed; taking it again", self.name, exc_info=True)
            self._drop_connection()
        connection = self._engine.connect()
        try:
            taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), params).scalar_one())
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to the pool: the session may still hold the lock
            finally:
                connection.close()

    def _sqlite(self) -> bool:
        database = self._engine.url.database
        if not database or database == ":memory:" or fcntl is None:
            self._held_in_memory = True
            return True
        if self._file is not None:
            return True
        slug = hashlib.sha256(self.name.encode()).hexdigest()[:16]
        path = Path(f"{database}.{slug}.lock")
        handle = open(path, "ab")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        os.set_inheritable(handle.fileno(), False)
        self._file = handle
        return True
