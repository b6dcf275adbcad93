"""What several test folders (and the console fuzzer in ``benchmarks/``) share, imported rather than copied.

* PostgreSQL schemas of their own (:class:`PostgresSchema`, :func:`migrated_postgres_schema`);
* :class:`ChildProcess`: a bot process driven over its stdin/stdout handshake (the multi-process tests);
* :func:`http_get`: the status and text of a GET, an HTTP error included (``/readyz``, ``/metrics`` …);
* the adversarial inputs of the property tests and of ``benchmarks/fuzz_chat.py`` (:data:`NASTY`,
  :data:`COMMANDS`).

``tests/`` is on ``sys.path`` when pytest runs (the root ``conftest.py`` lives there); the fuzzer adds it.
"""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "HELPDESK_TEST_DATABASE_URL"
PG_URL = os.environ.get(PG_ENV, "")


# -- databases ---------------------------------------------------------------------------------


def postgres_schema_url(base_url: str, schema: str) -> str:
    """``base_url`` whose connections use ``schema`` (``options=-csearch_path=...``)."""
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


class PostgresSchema:
    """A throw-away schema on the test server: created on enter, dropped with everything on exit."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.url = postgres_schema_url(base_url, self.name)

    def __enter__(self) -> PostgresSchema:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base_url)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.name}"'))
        engine.dispose()
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base_url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        engine.dispose()


@contextmanager
def migrated_postgres_schema(base_url: str = PG_URL) -> Iterator[str]:
    """The URL of a fresh schema on the test server, migrated once (before bot processes start on it)."""
    from bot.db.engine import create_db_engine, upgrade_database

    with PostgresSchema(base_url) as schema:
        engine = create_db_engine(schema.url)
        upgrade_database(engine)
        engine.dispose()
        yield schema.url


# -- processes and HTTP ------------------------------------------------------------------------


class ChildProcess:
    """A helper process that answers one line on stdout for each command line written to its stdin.

    The multi-process tests' synchronisation: each command is answered when the process has done it,
    so nothing waits on a timer. :meth:`stop` sends ``quit``, waits for the exit and closes the pipes.
    """

    def __init__(self, arguments: Sequence[str], cwd: Path = ROOT) -> None:
        self.process = subprocess.Popen(
            list(arguments), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=cwd
        )

    def read(self) -> str:
        """The next line the process printed (stripped); fails when it died."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the bot process died"
        return line.strip()

    def ask(self, command: str) -> str:
        """Write ``command`` and return the process's answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def stop(self) -> None:
        """Ask the process to quit (if it runs), wait for it, close the pipes."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(30)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """The status and body of ``GET url``; an HTTP error status is an answer too (``503``, ``404``)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as refused:
        return int(refused.code), refused.read().decode()


# -- adversarial input -------------------------------------------------------------------------

NASTY: tuple[str, ...] = (
    "\x1b[2J\x1b[H",
    "\x1b]0;pwned\x07",
    "\x1b[31m",
    "\x9b2J",
    "\x00",
    "\x07",
    "\x7f",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\u2028",
    "\ud800",
    "*bold*",
    "<!channel>",
    "<@U123>",
    "<b>x</b>",
    "&amp;",
    "{ref}",
    "{0}",
    "%s",
    "[x](javascript:alert(1))",
    "http://[x",
    "https://a]b.be",
    "[",
    "]",
    "#",
    "99999999999999999999",
    "-1",
    "²",
    "١٢",
    "😀",
    "👩\u200d💻",
    "e\u0301",
    "𝕳𝖊𝖑𝖕",
    "ß",
    "İ",
)
"""Pieces that broke or could break a chat bot: terminal escapes, control and bidi characters, a lone
surrogate, markup of every platform, format strings, bracketed addresses, huge or odd numbers, odd
Unicode. The fuzzer draws from them in this order (its seeded runs depend on it)."""

COMMANDS: tuple[str, ...] = (
    "help",
    "new",
    "ticket",
    "mytickets",
    "cancel",
    "kb",
    "lang",
    "comment",
    "claim",
    "assign",
    "note",
    "reply",
    "wait",
    "resolve",
    "reopen",
    "priority",
    "queue",
    "mine",
    "unfollow",
    "feedback",
    "escalate",
    "visit",
    "visits",
    "category",
    "problem",
    "link",
    "kbdraft",
    "kblink",
    "stats",
    "complaint",
)
"""Command names given arbitrary arguments by the property tests and the fuzzer."""
