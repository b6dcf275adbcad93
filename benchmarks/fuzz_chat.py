"""Fuzz the console: pipe random and adversarial lines into ``helpdesk-bot chat`` and count the
generic apologies, tracebacks and unexpected errors, for this checkout and a baseline revision,
with the same lines, side by side in the same run.

    python benchmarks/fuzz_chat.py [--baseline REV] [--runs N] [--lines N] [--seed S]

Each run is one fresh ``helpdesk-bot chat`` process on a fresh SQLite database (alternately a
requester and a technician, in French, English or Dutch) fed ``--lines`` lines: control characters
and terminal escape sequences, bidi overrides, huge lines, markup (mrkdwn, HTML, format strings),
odd Unicode, web addresses with brackets, commands with huge, negative or non-ASCII numbers,
button numbers and the intake's control words, mixed with ordinary problems so that the intake,
the knowledge-base suggestions and the technician commands are reached. The baseline is exported
and the measured revision (``HEAD`` by default) are exported with ``git archive`` and imported from
there (``PYTHONPATH``) with the same interpreter, so the figures are those of committed code.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support import COMMANDS, NASTY  # noqa: E402 - the property tests' pieces, shared

CHAT = "import sys; sys.argv = ['helpdesk-bot', *sys.argv[1:]]; from bot.cli import entry; entry()"
APOLOGIES = (
    "Sorry, something went wrong on my side",
    "Désolé, un problème est survenu de mon côté",
    "Sorry, er ging bij mij iets mis",
)
PROBLEMS = (
    "My screen stays black when I put the laptop on the docking station",
    "l'imprimante du 2e étage imprime des pages blanches",
    "VPN verbindt niet meer sinds de update",
    "Outlook asks for my password every five minutes",
    "The Leave Planner application is unreachable, error 503",
)


def export(revision: str, target: Path) -> Path:
    """The files of ``revision`` in ``target`` (``git archive``)."""
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, check=True, capture_output=True).stdout
    target.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def random_text(rng: random.Random, size: int) -> str:
    """Printable and unprintable characters from many scripts, with nasty pieces mixed in."""
    parts = []
    while sum(map(len, parts)) < size:
        pick = rng.random()
        if pick < 0.3:
            parts.append(rng.choice(NASTY))
        elif pick < 0.6:
            parts.append("".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randint(1, 12))))
        else:
            ranges = [(0x00, 0x20), (0xA0, 0x250), (0x400, 0x4FF), (0x590, 0x6FF), (0x4E00, 0x4FFF), (0x1F300, 0x1F6FF)]
            low, high = rng.choice(ranges)
            parts.append("".join(chr(rng.randrange(low, high)) for _ in range(rng.randint(1, 8))))
    return "".join(parts)[:size]


def fuzz_line(rng: random.Random) -> str:
    """One line of input: a command, a button number, a control word, a problem or noise."""
    pick = rng.random()
    if pick < 0.25:
        name = rng.choice(COMMANDS)
        args = rng.choice(["", rng.choice(NASTY), str(rng.randint(-5, 40)), random_text(rng, rng.randint(1, 60))])
        extra = rng.choice(["", " " + random_text(rng, rng.randint(1, 80)), " L2 " + rng.choice(NASTY)])
        return f"/{name} {args}{extra}"
    if pick < 0.45:
        return str(rng.randint(0, 12))
    if pick < 0.5:
        return rng.choice(["skip", "back", "cancel", "passer", "retour", "annuler", "overslaan", "terug"])
    if pick < 0.6:
        return rng.choice(NASTY) + rng.choice(PROBLEMS) + rng.choice(NASTY)
    if pick < 0.63:
        return random_text(rng, rng.randint(5_000, 60_000))
    if pick < 0.7:
        return f"#{rng.randint(1, 4)} " + random_text(rng, rng.randint(1, 200))
    return random_text(rng, rng.randint(1, 300))


@dataclass
class Tally:
    """What the runs of one source showed."""

    lines: int = 0
    apologies: int = 0
    runs_with_apology: int = 0
    tracebacks: int = 0
    unexpected_logged: int = 0
    failed_processes: int = 0
    samples: list[str] = field(default_factory=list)
    """The first few tracebacks (or failed processes' last lines), to see what broke."""


def run_chat(source: Path, work: Path, run: int, lines: list[str], tally: Tally) -> None:
    """One ``helpdesk-bot chat`` process fed ``lines``."""
    folder = work / f"run{run}"
    folder.mkdir()
    (folder / "bot.toml").write_text(f'[database]\nurl = "sqlite:///{folder}/helpdesk.db"\n')
    role = "technician" if run % 2 else "requester"
    lang = ("fr", "en", "nl")[run % 3]
    env = {**os.environ, "PYTHONPATH": str(source), "HELPDESK_CONFIG": str(folder / "bot.toml")}
    command = [sys.executable, "-c", CHAT, "chat", "--user", f"fuzz{run}", "--as", role, "--lang", lang]
    payload = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
    done = subprocess.run(
        command, cwd=folder, env=env, input=payload.encode("utf-8", "surrogatepass"), capture_output=True
    )
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    apologies = sum(out.count(text) for text in APOLOGIES)
    tally.lines += len(lines)
    tally.apologies += apologies
    tally.runs_with_apology += apologies > 0
    tally.tracebacks += err.count("Traceback (most recent call last)")
    tally.unexpected_logged += err.count("unexpected error")
    tally.failed_processes += done.returncode != 0
    if (apologies or done.returncode) and len(tally.samples) < 3:
        tail = err.strip().splitlines()[-12:]
        tally.samples.append(f"run {run} (exit {done.returncode}):\n  " + "\n  ".join(tail))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="3c1d603", help="git revision to compare with (default: 3c1d603)")
    parser.add_argument("--current", default="HEAD", help="git revision measured against it (default: HEAD)")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--lines", type=int, default=100, help="lines per run")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--show", action="store_true", help="print the end of the first failures' logs")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    rng = random.Random(args.seed)
    batches = []
    for _ in range(args.runs):
        batch = [rng.choice(PROBLEMS)] + [fuzz_line(rng) for _ in range(args.lines - 1)]
        batches.append(batch)
    with tempfile.TemporaryDirectory() as tmp:
        sources = {
            f"baseline {args.baseline}": export(args.baseline, Path(tmp) / "baseline"),
            f"current {args.current}": export(args.current, Path(tmp) / "current"),
        }
        tallies = {name: Tally() for name in sources}
        for run, batch in enumerate(batches):
            for name, source in sources.items():
                work = Path(tmp) / name.replace(" ", "-")
                work.mkdir(exist_ok=True)
                run_chat(source, work, run, batch, tallies[name])
    print(f"{args.runs} runs x {args.lines} lines (seed {args.seed}), the same lines for both")
    print(f"{'':20} {'lines':>7} {'apologies':>10} {'runs with one':>14} {'tracebacks':>11} {'exit != 0':>10}")
    for name, tally in tallies.items():
        print(
            f"{name:20} {tally.lines:>7} {tally.apologies:>10} {tally.runs_with_apology:>14} "
            f"{tally.tracebacks:>11} {tally.failed_processes:>10}"
        )
    if args.show:
        for name, tally in tallies.items():
            for sample in tally.samples:
                print(f"--- {name}, {sample}")


if __name__ == "__main__":
    main()
