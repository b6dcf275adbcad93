"""Learned phrasings: how the desk's users describe the problems an article solves.

Sources, each scrubbed of personal data like drafts are (:func:`bot.kb_lifecycle.drafts.scrub`):

* a confirmed "This solved it": the user's message, for the article that solved it;
* ``/kblink N ARTICLE`` (technicians) on a resolved ticket: the ticket's title and description;
* ``/kbdraft N``: the ticket's description becomes a front-matter ``questions`` entry of the draft,
  so the published article carries it.

A message that shares at least half of its informative terms with a phrasing learned for an
article is suggested that article (:meth:`bot.knowledge.KnowledgeBase.set_learned`): learning
adds near-duplicates of confirmed wordings, it does not widen what an article matches. A "Not
solved" answer records the message as a ``not_solved`` phrasing of every article shown: similar
messages then rank those articles lower.
``helpdesk-bot kb phrasings ID`` lists them and removes one.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.phrasings import KINDS as KINDS  # re-exported
from bot.db.phrasings import LearnedPhrasingRepository as LearnedPhrasingRepository  # re-exported
from bot.db.phrasings import Phrasing as Phrasing  # re-exported
from bot.kb_lifecycle.drafts import scrub

MAX_CHARS = 500
"""A learned phrasing keeps at most this many characters of the message."""


def clean_phrasing(text: str, names: Sequence[str] = ()) -> str:
    """The message as it is learned: personal data replaced by placeholders, one line, clipped."""
    return " ".join(scrub(text, names).split())[:MAX_CHARS]


def learned_by_article(phrasings: Sequence[Phrasing]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(positive, negative) phrasings per article id: ``solved`` and ``link`` are positive."""
    positive: dict[str, list[str]] = {}
    negative: dict[str, list[str]] = {}
    for p in phrasings:
        target = negative if p.kind == "not_solved" else positive
        target.setdefault(p.article_id, []).append(p.text)
    return positive, negative
