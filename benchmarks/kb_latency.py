"""Query latency of the knowledge-base matcher on synthetic knowledge bases, on one core.

Generates 1,000 / 10,000 / 100,000 articles (fr / en / nl, IT vocabulary from the bundled
lexicon mixed with a large Zipf-distributed vocabulary of pseudo-words), then measures p50 and
p99 latency of ``KnowledgeBase.search`` for chat-style messages (typos, SMS style, rambling,
off-topic), side by side with a naive ``rapidfuzz.process.extract`` (WRatio) over every
article's text; plus the index build time and the memory the index takes.

    python benchmarks/kb_latency.py [--sizes 1000,10000,100000] [--queries 400]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge import Article, KnowledgeBase, Lexicon

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


def bench(size: int, n_queries: int, naive_queries: int) -> None:
    """Build, measure and print one size."""
    articles = synthetic_articles(size)
    rng = random.Random(size)
    queries = [rng.choice(MESSAGES) + ("" if i % 3 else f" {rng.choice(articles).title}") for i in range(n_queries)]
    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    kb = KnowledgeBase(articles)
    build = time.perf_counter() - start
    for q in MESSAGES:  # warm the typo-correction caches, as a running bot has
        kb.search(q)
    gc.collect()
    memory = rss_mb() - before
    samples = []
    for q in queries:
        t0 = time.perf_counter()
        kb.search(q)
        samples.append(time.perf_counter() - t0)
    p50, p99 = percentiles(samples)
    texts = [f"{a.title} {' '.join(a.tags)} {a.body}" for a in articles]
    naive = []
    for q in queries[:naive_queries]:
        t0 = time.perf_counter()
        process.extract(q, texts, scorer=fuzz.WRatio, limit=3)
        naive.append(time.perf_counter() - t0)
    n50, n99 = percentiles(naive)
    print(
        f"| {size:>7,} | {p50:6.2f} | {p99:6.2f} | {n50:9.1f} | {n99:9.1f} | {build:7.1f} s | "
        f"{memory:7.0f} MB | {kb._index.vocabulary_size:>9,} |",
        flush=True,
    )


def cold_start(runs: int = 5) -> None:
    """Cold ``kb search`` in fresh processes, side by side with a bare interpreter start (median of ``runs``)."""
    import subprocess

    python = sys.executable
    root = Path(__file__).resolve().parent.parent
    search = (
        "from bot.knowledge import KnowledgeBase, default_knowledge_dir;"
        "KnowledgeBase.from_directory(default_knowledge_dir()).search('le vpn ne se connecte pas')"
    )
    cli = Path(python).with_name("helpdesk-bot")
    commands = {
        "python -c pass (baseline)": [python, "-c", "pass"],
        "bundled KB: load + one search (bot.knowledge)": [python, "-c", search],
        "helpdesk-bot kb search (whole CLI)": [str(cli), "kb", "search", "le vpn ne se connecte pas"],
    }
    print("\n| cold start, fresh process | median s | ratio to bare python |")
    print("|---|---:|---:|")
    base = 0.0
    for name, command in commands.items():
        if not Path(command[0]).exists():
            continue
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(command, cwd=root, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        base = base or median
        print(f"| {name} | {median:.2f} | {median / base:.1f}x |", flush=True)


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=400, help="queries per size for the matcher")
    parser.add_argument(
        "--naive-queries", type=int, default=20_000, help="naive-scan query budget: N // size queries (at least 2)"
    )
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes per cold-start measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(f"machine: {machine()}; pinned to one core")
    print("| articles | p50 ms | p99 ms | naive p50 ms | naive p99 ms | build | index memory (RSS) | index keys |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        bench(size, args.queries, max(2, args.naive_queries // size))
    if args.cold_runs:
        cold_start(args.cold_runs)


if __name__ == "__main__":
    main()
