"""Regenerate ``bot/knowledge/common_words.txt``: everyday words of French, English and Dutch.

Source: the ``wordfreq`` package's "small" word lists (data under CC BY-SA 4.0, see
https://github.com/rspeer/wordfreq), words whose Zipf frequency is at least ``--zipf`` in their
language, normalised like the matcher's tokens (lower case, no accents). Run by hand when the
threshold changes; the bot itself never imports wordfreq.

    pip install wordfreq && python benchmarks/build_common_words.py [--zipf 4.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.knowledge.text import normalise

TARGET = Path(__file__).resolve().parent.parent / "bot" / "knowledge" / "common_words.txt"


def main() -> None:
    """Write the list."""
    from wordfreq import get_frequency_dict, zipf_frequency

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zipf", type=float, default=4.5)
    args = parser.parse_args()
    words: set[str] = set()
    for lang in ("fr", "en", "nl"):
        for word in get_frequency_dict(lang, wordlist="small"):
            if zipf_frequency(word, lang, wordlist="small") < args.zipf:
                continue
            for token in normalise(word).split():
                if token.isalpha() and len(token) > 1:
                    words.add(token)
    header = (
        f"# Everyday words of fr / en / nl (Zipf frequency >= {args.zipf} in their language), normalised.\n"
        "# Derived from the wordfreq package's word lists (https://github.com/rspeer/wordfreq, data CC BY-SA 4.0)\n"
        "# by benchmarks/build_common_words.py. A message word listed here weighs little unless the knowledge\n"
        "# base puts it forward (an article title, tag or question) or the lexicon knows it.\n"
    )
    TARGET.write_text(header + "\n".join(sorted(words)) + "\n", encoding="utf-8")
    print(f"{len(words)} words written to {TARGET}")


if __name__ == "__main__":
    main()
