"""Evaluate the knowledge-base matcher on a labelled set (default: ../shared/kb-eval/dev).

hit@3 on in-scope messages (any expected id among the first 3 suggestions of ``search``),
share of out-of-scope messages (``expect: []``) that get any suggestion, per language,
side by side with two baselines: rapidfuzz WRatio over titles, and BM25 with a French stemmer.

    python benchmarks/kb_eval.py [--dataset DIR] [--threshold X] [--errors]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge import Article, KnowledgeBase, load_articles
from bot.knowledge.text import normalise, stem

DEFAULT_DATASET = Path(__file__).resolve().parent.parent.parent / "shared" / "kb-eval" / "dev"
Searcher = Callable[[str], list[str]]

# A robustness variant (not a tuning target): every message wrapped in a greeting, unrelated
# context and emotion, as long chat and e-mail messages are.
WRAPPERS = {
    "fr": "Bonjour à toute l'équipe, j'espère que vous allez bien. Je vous écris parce que je suis vraiment "
    "découragée : la journée a commencé avec les enfants malades et je dois rendre un dossier urgent à ma cheffe "
    "avant midi. {q} Merci d'avance, et désolée du dérangement, vous êtes mon dernier espoir !",
    "en": "Hi team, hope you are all doing well. I am writing because I am really stressed: the day started with "
    "my kids being sick and I have to hand in an urgent report to my manager before noon. {q} Thanks a lot in "
    "advance and sorry to bother you, you are my last hope!",
    "nl": "Dag iedereen, hopelijk gaat alles goed met jullie. Ik schrijf omdat ik echt gestrest ben: de dag begon "
    "met zieke kinderen en ik moet voor de middag een dringend dossier bij mijn diensthoofd indienen. {q} Alvast "
    "bedankt en sorry voor het storen, jullie zijn mijn laatste hoop!",
}


def wrapped(queries: list[dict[str, object]]) -> list[dict[str, object]]:
    """The messages inside a long greeting / context / emotion wrapper of their language."""
    return [{**q, "q": WRAPPERS[str(q["lang"])].format(q=str(q["q"]).rstrip(".!?") + ".")} for q in queries]


def wratio_baseline(articles: list[Article], cutoff: float = 0.0) -> Searcher:
    """Plain rapidfuzz WRatio of the message against article titles (suggests its top 3)."""
    titles = {a.id: normalise(a.title) for a in articles}

    def search(query: str) -> list[str]:
        found = process.extract(normalise(query), titles, scorer=fuzz.WRatio, limit=3, score_cutoff=cutoff)
        return [str(key) for _, _, key in found]

    return search


def bm25_baseline(articles: list[Article], min_score: float = 1.0) -> Searcher:
    """Classic BM25 (k1=1.2, b=0.75) over title+tags+body with the French Snowball stemmer."""
    docs = [
        [stem(t, "fr") for t in normalise(f"{a.title} {' '.join(a.tags)} {a.body}").split() if len(t) > 1]
        for a in articles
    ]
    n = len(docs)
    avg = sum(len(d) for d in docs) / n
    df: Counter[str] = Counter(t for d in docs for t in set(d))
    tfs = [Counter(d) for d in docs]
    idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def search(query: str) -> list[str]:
        terms = {stem(t, "fr") for t in normalise(query).split() if len(t) > 1}
        scores = []
        for a, tf, d in zip(articles, tfs, docs, strict=True):
            s = sum(idf[t] * tf[t] * 2.2 / (tf[t] + 1.2 * (0.25 + 0.75 * len(d) / avg)) for t in terms if t in tf)
            if s >= min_score:
                scores.append((s, a.id))
        scores.sort(reverse=True)
        return [i for _, i in scores[:3]]

    return search


def evaluate(name: str, search: Searcher, queries: list[dict[str, object]], errors: bool = False) -> dict[str, float]:
    """Print and return hit@3 / out-of-scope figures of one searcher."""
    hits: dict[str, list[int]] = defaultdict(list)
    oos: dict[str, list[int]] = defaultdict(list)
    start = time.perf_counter()
    for q in queries:
        text, expect, lang = str(q["q"]), list(q["expect"]), str(q["lang"])  # type: ignore[call-overload]
        got = search(text)
        if expect:
            ok = int(any(e in got for e in expect))
            hits[lang].append(ok)
            hits["all"].append(ok)
            if errors and not ok:
                print(f"  MISS [{lang}] {text!r}\n       expected {expect}, got {got}")
        else:
            fp = int(bool(got))
            oos[lang].append(fp)
            oos["all"].append(fp)
            if errors and fp:
                print(f"  FALSE POSITIVE [{lang}] {text!r} -> {got}")
    elapsed = time.perf_counter() - start

    def rate(values: list[int]) -> str:
        return f"{sum(values) / len(values):.2f} ({sum(values)}/{len(values)})" if values else "-"

    per_lang = "  ".join(f"{lang}: {rate(hits[lang])}" for lang in ("fr", "en", "nl"))
    oos_lang = "  ".join(f"{lang}: {rate(oos[lang])}" for lang in ("fr", "en", "nl"))
    print(f"{name}")
    print(f"  hit@3 in-scope      {rate(hits['all'])}   [{per_lang}]")
    print(f"  out-of-scope suggested {rate(oos['all'])}   [{oos_lang}]")
    print(f"  {1000 * elapsed / len(queries):.2f} ms/query")
    return {
        "hit@3": sum(hits["all"]) / max(1, len(hits["all"])),
        "oos": sum(oos["all"]) / max(1, len(oos["all"])),
    }


def fit_calibration(kb: KnowledgeBase, queries: list[dict[str, object]], l2: float = 1.0) -> None:
    """Fit the logistic calibration (bot.knowledge.index.CAL_*) on the labelled messages and print it.

    Examples are the 10 best candidates by lexical score of every message, labelled 1 when
    the article is expected. L2-regularised, plain gradient descent on standardised features.
    """
    index = kb._index
    rows: list[tuple[list[float], int]] = []
    for q in queries:
        parsed = index.parse(str(q["q"]))
        expect = set(q["expect"])  # type: ignore[call-overload]
        for r in index.candidates(parsed, 10):
            feats = list(index.features(parsed, r.score, list(r.matched), _anchored(index, parsed, r)))
            rows.append((feats, int(r.article.id in expect)))
    dim = len(rows[0][0])
    mean = [sum(x[i] for x, _ in rows) / len(rows) for i in range(dim)]
    std = [max(1e-6, (sum((x[i] - mean[i]) ** 2 for x, _ in rows) / len(rows)) ** 0.5) for i in range(dim)]
    xs = [[(x[i] - mean[i]) / std[i] for i in range(dim)] for x, _ in rows]
    ys = [y for _, y in rows]
    w = [0.0] * dim
    b = 0.0
    for _ in range(3000):
        gw = [l2 * wi / len(rows) for wi in w]
        gb = 0.0
        for x, y in zip(xs, ys, strict=True):
            p = 1 / (1 + math.exp(-(b + sum(wi * xi for wi, xi in zip(w, x, strict=True)))))
            for i in range(dim):
                gw[i] += (p - y) * x[i] / len(rows)
            gb += (p - y) / len(rows)
        w = [wi - 0.5 * g for wi, g in zip(w, gw, strict=True)]
        b -= 0.5 * gb
    raw_w = [w[i] / std[i] for i in range(dim)]
    raw_b = b - sum(w[i] * mean[i] / std[i] for i in range(dim))
    print(f"fitted on {len(rows)} candidates ({sum(ys)} positive):")
    print(f"CAL_BIAS = {raw_b:.3f}")
    print(f"CAL_WEIGHTS = ({', '.join(f'{v:.3f}' for v in raw_w)})")


def _anchored(index: object, parsed: object, scored: object) -> float:
    """Recompute the title/tags-matched weight of a scored article (for the calibration fit)."""
    from bot.knowledge.index import Index, ParsedQuery, ScoredArticle

    assert isinstance(index, Index) and isinstance(parsed, ParsedQuery) and isinstance(scored, ScoredArticle)
    return index.anchored_weight(parsed, scored)


def main() -> None:
    """Run the evaluation."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--errors", action="store_true", help="list misses and false positives of the matcher")
    parser.add_argument("--fit", action="store_true", help="fit the confidence calibration and print it")
    parser.add_argument("--wrapped", action="store_true", help="wrap every message in greetings, context, emotion")
    args = parser.parse_args()
    articles = load_articles(args.dataset / "articles")
    lines = (args.dataset / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    queries = [json.loads(line) for line in lines if line.strip()]
    if args.wrapped:
        queries = wrapped(queries)
    print(
        f"{len(articles)} articles, {len(queries)} messages "
        f"({sum(1 for q in queries if q['expect'])} in scope, {sum(1 for q in queries if not q['expect'])} out)\n"
    )
    evaluate("baseline: rapidfuzz WRatio over titles", wratio_baseline(articles), queries)
    evaluate("baseline: BM25 + French Snowball stemmer", bm25_baseline(articles), queries)
    kb = KnowledgeBase.from_directory(args.dataset / "articles", threshold=args.threshold)
    if args.fit:
        fit_calibration(kb, queries)
        return
    evaluate(
        f"bot.knowledge matcher (threshold {kb.threshold})",
        lambda q: [s.article.id for s in kb.search(q, limit=3)],
        queries,
        errors=args.errors,
    )


if __name__ == "__main__":
    main()
