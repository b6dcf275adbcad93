"""Start time: ``import bot.cli`` and ``helpdesk-bot chat`` on a migrated database, this checkout
against a baseline revision, side by side in the same run.

    python benchmarks/start_time.py [--baseline REV] [--runs N]

The baseline is exported with ``git archive`` into a temporary folder and imported from there
(``PYTHONPATH``), with the same interpreter and installed libraries. Each figure is the median of N
fresh processes, alternating baseline and current; a bare interpreter (``python -c pass``) is timed
in the same rounds, as the floor of any start. "chat" is a piped ``helpdesk-bot chat`` with one
empty line on a SQLite database migrated beforehand: the whole start (configuration, adapters'
discovery, migrations check, knowledge base) until the first input line is read, plus the exit.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
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


CPU: dict[str, list[float]] = {}
"""CPU seconds (user + system) of each timed child, per code and source: on a loaded machine the wall
time mostly measures the wait for a core, the CPU time what the start itself costs."""


def timed(code: str, source: Path, cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    env.pop("HELPDESK_CONFIG", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, input="\n", capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    CPU.setdefault(f"{source}|{code}", []).append(used)
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
        bare: list[float] = []
        for _ in range(args.runs):
            bare.append(timed("pass", ROOT, work["current"])[0])
            for name, source in sources.items():
                results[name]["import bot.cli"].append(timed(IMPORT, source, work[name])[0])
                results[name]["chat"].append(timed(CHAT, source, work[name])[0])
        for name, source in sources.items():
            notes[name] = timed(ALEMBIC, source, work[name])[1]
        print(f"{'':24} {'import bot.cli':>16} {'chat (migrated)':>16}   alembic on a migrated start")
        for name in sources:
            cells = [f"{statistics.median(results[name][k]):>14.3f} s" for k in ("import bot.cli", "chat")]
            print(f"{name:24} {cells[0]} {cells[1]}   {notes[name]}")
        print(f"{'bare interpreter':24} {statistics.median(bare):>14.3f} s")
        print("CPU time (user + system), medians:")
        bare_cpu = statistics.median(CPU[f"{ROOT}|pass"])
        for name, source in sources.items():
            cells = [f"{statistics.median(CPU[f'{source}|{code}']):>14.3f} s" for code in (IMPORT, CHAT)]
            print(f"{name:24} {cells[0]} {cells[1]}")
        print(f"{'bare interpreter':24} {bare_cpu:>14.3f} s")
        first, current = list(sources)
        for key in ("import bot.cli", "chat"):
            ratio = statistics.median(results[current][key]) / statistics.median(results[first][key])
            floor = statistics.median(results[current][key]) / statistics.median(bare)
            print(f"{key}: current / baseline = {ratio:.2f}; current / bare interpreter = {floor:.1f}")
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
