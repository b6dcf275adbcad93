"""Query latency of the knowledge-base matcher on synthetic knowledge bases, on one core.

Generates 1,000 / 10,000 / 100,000 articles (fr / en / nl, IT vocabulary from the bundled
lexicon mixed with a large Zipf-distributed vocabulary of pseudo-words), then measures p50 and
p99 latency of ``KnowledgeBase.search`` for chat-style messages (typos, SMS style, rambling,
off-topic), side by side with a naive ``rapidfuzz.process.extract`` (WRatio) over every
article's text; plus the index build time, the time to read the same index back from a
``[knowledge] index_cache`` folder (``bot.knowledge.cache``, content hash included) and the memory
the index takes. Latencies and build
times are given as wall-clock time and as CPU time of the measuring thread: on a shared machine
the CPU time is the one that says what the code costs, the wall time what a user would see.

With ``--baseline REV`` the same measurements run, in the same run, on the ``bot`` package of git
revision REV (exported with ``git archive``, imported in a fresh process through ``PYTHONPATH``),
alternating with this checkout; ``--naive-queries 0`` skips the naive scan.

Cold start (fresh processes, medians): a bare interpreter, the bundled knowledge base loaded and
searched once, ``helpdesk-bot kb search``, and the knowledge base's share of ``helpdesk-bot chat``
(the import of ``bot.knowledge`` and the load and index build, inside a piped chat on a migrated
database).

    python benchmarks/kb_latency.py [--sizes 1000,10000,100000] [--queries 400] [--baseline REV]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
# ``--code DIR`` (used by --baseline) measures the ``bot`` package found in DIR instead of this checkout
sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv else str(ROOT))

from bot.knowledge import Article, KnowledgeBase, Lexicon  # noqa: E402  (after the sys.path choice)

MESSAGES = [
    "mon mot de pase est perimé",
    "jarrive pas a me co au vpn depuis la maison",
    "l'imprimente fait un bourage papier au 2e",
    "Your password has expired and must be changed",
    "mijn wachtwoord is verlopen en ik kan niet inloggen",
    "laptop doesn't see the wireless network anymore",
    "bonjour",
    "merci beaucoup !",
    "la machine à café est en panne",
    "Bonjour, depuis ce matin mon écran reste noir quand je branche le portable sur la station "
    "d'accueil, j'ai tout débranché et rebranché mais rien ne change, pouvez-vous m'aider ?",
    "fortyclient bloqué à 98% en télétravail",
    "Outlook dit que ma boîte aux lettres est pleine 😩",
    "scan vers e-mail n'arrive pas",
    "de eID-lezer herkent mijn identiteitskaart niet",
    "how do I report a suspicious email with an attachment",
]


def machine() -> str:
    """CPU model and core count."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, nproc={os.cpu_count()}, Python {platform.python_version()}"


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError):
        return float("nan")


def synthetic_articles(n: int, seed: int = 7) -> list[Article]:
    """``n`` articles mixing lexicon terms and a Zipf vocabulary of pseudo-words."""
    rng = random.Random(seed)
    lexicon_terms = [t for terms in Lexicon.default().groups.values() for t in terms]
    syllables = ["ba", "ko", "ri", "tam", "vel", "dor", "si", "mu", "pra", "len", "gi", "cor", "ex", "ul", "fa"]
    vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(60_000)})
    weights = [1 / (i + 1) for i in range(len(vocab))]
    langs = ["fr"] * 6 + ["en"] * 3 + ["nl"]
    articles = []
    for i in range(n):
        topic = rng.sample(lexicon_terms, 3)
        words = rng.choices(vocab, weights=weights, k=120)
        body_terms = rng.sample(lexicon_terms, 6)
        body = " ".join(words[:60]) + " " + " ".join(body_terms) + ". " + " ".join(words[60:]) + "."
        articles.append(
            Article(
                id=f"article-{i}",
                title=f"{topic[0]} {rng.choice(vocab)} {topic[1]}",
                lang=rng.choice(langs),
                tags=(topic[0], topic[2], rng.choice(vocab)),
                category=rng.choice(["helpline", "helpdesk"]),
                body=body,
                path=Path(f"/synthetic/article-{i}.md"),
            )
        )
    return articles


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def bench(size: int, n_queries: int, naive_queries: int) -> dict[str, float]:
    """Build, measure and return the figures of one size."""
    articles = synthetic_articles(size)
    rng = random.Random(size)
    queries = [rng.choice(MESSAGES) + ("" if i % 3 else f" {rng.choice(articles).title}") for i in range(n_queries)]
    Lexicon.default()  # the bundled lexicon is parsed once per process, not per index
    gc.collect()
    before = rss_mb()
    start, start_cpu = time.perf_counter(), time.process_time()
    kb = KnowledgeBase(articles)
    build, build_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    for q in MESSAGES:  # warm the typo-correction caches, as a running bot has
        kb.search(q)
    gc.collect()
    memory = rss_mb() - before
    wall, cpu = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.thread_time()
        kb.search(q)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    p50, p99 = percentiles(wall)
    c50, c99 = percentiles(cpu)
    figures = {"size": size, "p50": p50, "p99": p99, "cpu_p50": c50, "cpu_p99": c99, "build": build}
    figures |= {"build_cpu": build_cpu, "memory": memory, "keys": getattr(kb._index, "vocabulary_size", 0)}
    try:  # the persisted index (absent from older code): written once, then read back in a timed load
        from bot.knowledge.cache import load_or_build
    except ImportError:
        pass
    else:
        with tempfile.TemporaryDirectory() as store:
            load_or_build(articles, kb.lexicon, Path(store))
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            load_or_build(articles, kb.lexicon, Path(store))
            figures["cached"], figures["cached_cpu"] = time.perf_counter() - start, time.process_time() - start_cpu
    if naive_queries:
        texts = [f"{a.title} {' '.join(a.tags)} {a.body}" for a in articles]
        naive = []
        for q in queries[:naive_queries]:
            t0 = time.perf_counter()
            process.extract(q, texts, scorer=fuzz.WRatio, limit=3)
            naive.append(time.perf_counter() - t0)
        figures["naive_p50"], figures["naive_p99"] = percentiles(naive)
    return figures


def row(name: str, f: dict[str, float]) -> str:
    """One table row."""
    naive = f"{f['naive_p50']:,.0f} / {f['naive_p99']:,.0f}" if "naive_p50" in f else "-"
    cached = f"{f['cached']:.2f} / {f['cached_cpu']:.2f} s" if "cached" in f else "-"
    return (
        f"| {name} | {f['size']:,.0f} | {f['p50']:.2f} / {f['p99']:.2f} | {f['cpu_p50']:.2f} / {f['cpu_p99']:.2f} | "
        f"{naive} | {f['build']:.2f} s | {f['build_cpu']:.2f} s | {cached} | {f['memory']:.0f} MB | {f['keys']:,.0f} |"
    )


def export(revision: str, target: Path) -> Path:
    """The files of git ``revision`` in ``target``."""
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def measured_elsewhere(code: Path, size: int, args: argparse.Namespace) -> dict[str, float]:
    """:func:`bench` run in a fresh process on the ``bot`` package of ``code``."""
    command = [sys.executable, __file__, "--code", str(code), "--one", str(size), "--queries", str(args.queries)]
    command += ["--naive-queries", str(args.naive_queries)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


KB_SHARE_OF_CHAT = """
import sys, time
started = time.perf_counter()
import bot.knowledge
from bot.knowledge import base
imported = time.perf_counter() - started
load = base.KnowledgeBase.from_directory.__func__
spent = [0.0]
def timed_load(cls, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        return load(cls, *args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - t0
base.KnowledgeBase.from_directory = classmethod(timed_load)
sys.argv = ["helpdesk-bot", "chat", "--user", "bench"]
from bot.cli import entry
try:
    entry()
except SystemExit:
    pass
print(imported, spent[0], time.perf_counter() - started, file=sys.stderr)
"""


def cold_start(runs: int, sources: dict[str, Path]) -> None:
    """Cold starts in fresh processes, side by side with a bare interpreter start (median of ``runs``)."""
    python = sys.executable
    search = (
        "from bot.knowledge import KnowledgeBase, default_knowledge_dir;"
        "KnowledgeBase.from_directory(default_knowledge_dir()).search('le vpn ne se connecte pas')"
    )
    cli = (
        "import sys; sys.argv = ['helpdesk-bot', 'kb', 'search', 'le vpn ne se connecte pas'];"
        "from bot.cli import entry; entry()"
    )
    commands = {
        "python -c pass (baseline)": "pass",
        "bundled KB: load + one search (bot.knowledge)": search,
        "helpdesk-bot kb search (whole CLI)": cli,
    }
    print("\n| cold start, fresh process | code | median s | ratio to bare python |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        base = 0.0
        for name, code in commands.items():
            for label, source in sources.items():
                env = {**os.environ, "PYTHONPATH": str(source)}
                env.pop("HELPDESK_CONFIG", None)
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    subprocess.run([python, "-c", code], cwd=tmp, env=env, check=True, capture_output=True)
                    times.append(time.perf_counter() - t0)
                median = statistics.median(times)
                base = base or median
                print(f"| {name} | {label} | {median:.2f} | {median / base:.1f}x |", flush=True)
                if code == "pass":
                    break
        print(
            "\n| `helpdesk-bot chat` start (piped, migrated SQLite) | code | import bot.knowledge s "
            "| KB load + index s | whole chat s | KB share |"
        )
        print("|---|---|---:|---:|---:|---:|")
        for label, source in sources.items():
            env = {**os.environ, "PYTHONPATH": str(source)}
            env.pop("HELPDESK_CONFIG", None)
            work = Path(tmp) / label.replace(" ", "-")
            work.mkdir()
            subprocess.run(
                [python, "-c", KB_SHARE_OF_CHAT],
                cwd=work,
                env=env,
                input="\n",
                capture_output=True,
                text=True,
                check=True,
            )
            samples = []
            for _ in range(runs):
                done = subprocess.run(
                    [python, "-c", KB_SHARE_OF_CHAT], cwd=work, env=env, input="\n", capture_output=True, text=True
                )
                samples.append([float(v) for v in done.stderr.strip().splitlines()[-1].split()])
            imported, load, whole = (statistics.median(s[i] for s in samples) for i in range(3))
            print(f"| chat | {label} | {imported:.2f} | {load:.2f} | {whole:.2f} | {(imported + load) / whole:.0%} |")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=400, help="queries per size for the matcher")
    parser.add_argument(
        "--naive-queries", type=int, default=20_000, help="naive-scan budget: N // size queries (0: none)"
    )
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes per cold-start measurement")
    parser.add_argument("--baseline", default=None, help="git revision measured side by side, in the same run")
    parser.add_argument("--code", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    if args.one is not None:  # one size, in this process, as JSON (for --baseline)
        print(json.dumps(bench(args.one, args.queries, args.naive_queries and max(2, args.naive_queries // args.one))))
        return
    print(f"machine: {machine()}; pinned to one core; load average {os.getloadavg()[0]:.1f} at the start")
    print(
        "| code | articles | p50 / p99 ms (wall) | p50 / p99 ms (CPU) | naive p50 / p99 ms | build (wall) "
        "| build (CPU) | load from index_cache (wall / CPU) | index memory (RSS) | index keys |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"this checkout": ROOT}
        if args.baseline:
            sources = {f"baseline {args.baseline}": export(args.baseline, Path(tmp) / "baseline"), **sources}
        for size in (int(s) for s in args.sizes.split(",")):
            for label, source in sources.items():
                print(row(label, measured_elsewhere(source, size, args)), flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        if args.cold_runs:
            cold_start(args.cold_runs, sources)


if __name__ == "__main__":
    main()
