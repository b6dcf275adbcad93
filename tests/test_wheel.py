"""The wheel as an administrator gets it: built from this checkout, installed in a fresh virtual
environment (latest releases, no extras: no psycopg, no matplotlib), used from an empty directory.

``init`` makes a desk folder; a piped ``chat`` opens a ticket; ``kb list`` shows the starter knowledge
base carried by the wheel; ``db upgrade``, ``db backup`` / ``db restore`` and ``report`` work on the
desk's database. About a minute (marked ``wheel``; CI runs it once).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.wheel


def _run(args: list[str | Path], cwd: Path, stdin: str | None = None, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env, timeout=timeout
    )
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the freshly built wheel; returns its ``bin`` folder."""
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT], cwd=dist)
    (wheel,) = dist.glob("helpdesk_bot-*.whl")
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    _run([env_dir / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=env_dir)
    return env_dir / "bin"


def test_the_wheel_installs_and_runs_from_an_empty_directory(
    installed: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("empty")
    bot = installed / "helpdesk-bot"
    freeze = _run([installed / "python", "-m", "pip", "freeze"], cwd=work).lower()
    assert "psycopg" not in freeze and "matplotlib" not in freeze and "aiohttp" not in freeze

    assert "created" in _run([bot, "init", "desk"], cwd=work)
    desk = work / "desk"
    articles = _run([bot, "kb", "list"], cwd=desk)
    count = int(articles.strip().splitlines()[-1].split()[0])
    assert count >= 20  # the starter knowledge base travelled in the wheel

    chat = _run(
        [bot, "chat", "--user", "alice", "--lang", "en"],
        cwd=desk,
        stdin="hello\n/help\n",
    )
    assert "bot> Hello Alice!" in chat
    assert (desk / "helpdesk.db").exists()  # the desk's database, not one in the working directory

    assert "database is up to date" in _run([bot, "db", "upgrade"], cwd=desk)
    report = _run([bot, "report", "--lang", "en"], cwd=desk)
    assert report.strip()
