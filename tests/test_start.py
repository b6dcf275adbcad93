"""A fast start: ``helpdesk-bot chat`` on a migrated database imports neither alembic nor the Slack,
Telegram or e-mail libraries, nor the holidays of every country (the configured country is checked
against the package's registry); the schema check is one query against ``alembic_version``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from bot.db.engine import create_db_engine, packaged_heads, schema_is_current, upgrade_database

KB_DIR = Path(__file__).resolve().parent / "kb_core_fixtures"
PROBE = (
    "import sys\n"
    "sys.argv = ['helpdesk-bot', 'chat', '--user', 'probe', '--lang', 'en']\n"
    "from bot.cli import entry\n"
    "try:\n"
    "    entry()\n"
    "finally:\n"
    "    heavy = ('alembic', 'slack_bolt', 'telegram', 'imapclient', 'matplotlib', 'holidays.countries')\n"
    "    print('IMPORTED', sorted(name for name in heavy if name in sys.modules), file=sys.stderr)\n"
)


def test_the_schema_check_needs_no_alembic(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'check.db'}")
    try:
        assert not schema_is_current(engine)  # no alembic_version table yet
        upgrade_database(engine)
        assert schema_is_current(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        assert not schema_is_current(engine)
    finally:
        engine.dispose()
    assert len(packaged_heads()) == 1


def test_chat_on_a_migrated_database_skips_alembic_the_platform_libraries_and_the_holidays(tmp_path: Path) -> None:
    database = tmp_path / "fast.db"
    engine = create_db_engine(f"sqlite:///{database}")
    upgrade_database(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env |= {"HELPDESK_DATABASE_URL": f"sqlite:///{database}", "HELPDESK_KNOWLEDGE__DIRECTORY": str(KB_DIR)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=env, input="/help\n", capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "/mytickets" in done.stdout
    assert "IMPORTED []" in done.stderr, done.stderr
