"""Two bot processes migrating one empty PostgreSQL database at the same moment both succeed:
the upgrade runs under an advisory lock, so the second waits and then finds nothing to do."""

from __future__ import annotations

import multiprocessing
import uuid
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db.engine import create_db_engine, upgrade_database

ROUNDS = 5


def _upgrade_each(urls: list[str], barrier: Barrier, results: Any) -> None:
    """Runs in its own process: for each round, wait for the other process, then upgrade."""
    for url in urls:
        barrier.wait(60)
        engine = create_db_engine(url)
        try:
            upgrade_database(engine)
            results.put(("ok", url))
        except Exception as error:  # reported to the test
            results.put((f"{type(error).__name__}: {error}", url))
        finally:
            engine.dispose()


def _in_schema(base_url: str, schema: str) -> str:
    url = make_url(base_url)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def test_two_processes_upgrading_an_empty_database_at_once_both_succeed(pg_url: str) -> None:
    """5 rounds, each on an empty schema of its own; without the lock one process crashes (UniqueViolation)."""
    base = make_url(pg_url).difference_update_query(["options"]).render_as_string(hide_password=False)
    names = [f"mig_{uuid.uuid4().hex[:10]}" for _ in range(ROUNDS)]
    admin = create_engine(base)
    with admin.begin() as connection:
        for name in names:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        urls = [_in_schema(base, name) for name in names]
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(2)
        results = context.Queue()
        workers = [context.Process(target=_upgrade_each, args=(urls, barrier, results)) for _ in range(2)]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0
        assert [outcome for outcome, _ in outcomes] == ["ok"] * (2 * ROUNDS), outcomes
        for url in urls:
            engine = create_engine(url)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            engine.dispose()
    finally:
        with admin.begin() as connection:
            for name in names:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()
