"""Start time: ``import bot.cli`` and ``helpdesk-bot chat`` on a migrated database, this checkout
against a baseline revision, side by side in the same run.

    python benchmarks/start_time.py [--baseline REV] [--runs N]

The baseline is exported with ``git archive`` into a temporary folder and imported from there
(``PYTHONPATH``), with the same interpreter and installed libraries. Each figure is the median of N
fresh processes, alternating baseline and current. "chat" is a piped ``helpdesk-bot chat`` with one
empty line on a SQLite database migrated beforehand: the whole start (configuration, adapters'
discovery, migrations check, knowledge base) until the first input line is read, plus the exit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAT = "import sys; sys.argv = ['helpdesk-bot', 'chat', '--user', 'bench']; from bot.cli import entry; entry()"
IMPORT = "import bot.cli"
ALEMBIC = (
    "import sys; sys.argv = ['helpdesk-bot', 'chat', '--user', 'bench']; from bot.cli import entry\n"
    "try:\n    entry()\nfinally:\n"
    "    print('alembic imported' if 'alembic' in sys.modules else 'no alembic', file=sys.stderr)"
)


def export(revision: str, target: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def timed(code: str, source: Path, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    env.pop("HELPDESK_CONFIG", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, input="\n", capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed in {source}:\n{done.stderr}")
    return elapsed, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="5f69ec3", help="git revision to compare with (default: 5f69ec3)")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.baseline, Path(tmp) / "baseline")
        sources = {f"baseline {args.baseline}": base, "current": ROOT}
        work = {name: Path(tmp) / name.replace(" ", "-") for name in sources}
        for name, source in sources.items():
            work[name].mkdir()
            timed(CHAT, source, work[name])  # creates and migrates helpdesk.db, warms the file cache
        results: dict[str, dict[str, list[float]]] = {name: {"import bot.cli": [], "chat": []} for name in sources}
        notes: dict[str, str] = {}
        for _ in range(args.runs):
            for name, source in sources.items():
                results[name]["import bot.cli"].append(timed(IMPORT, source, work[name])[0])
                results[name]["chat"].append(timed(CHAT, source, work[name])[0])
        for name, source in sources.items():
            notes[name] = timed(ALEMBIC, source, work[name])[1]
        print(f"{'':24} {'import bot.cli':>16} {'chat (migrated)':>16}   alembic on a migrated start")
        for name in sources:
            cells = [f"{statistics.median(results[name][k]):>14.3f} s" for k in ("import bot.cli", "chat")]
            print(f"{name:24} {cells[0]} {cells[1]}   {notes[name]}")
        first, current = list(sources)
        for key in ("import bot.cli", "chat"):
            ratio = statistics.median(results[current][key]) / statistics.median(results[first][key])
            print(f"{key}: current / baseline = {ratio:.2f}")


if __name__ == "__main__":
    main()
