"""Knowledge base: Markdown articles, an fr/en/nl synonym lexicon and a calibrated matcher.

Typical use from the core::

    kb = KnowledgeBase.from_directory(default_knowledge_dir())
    for suggestion in kb.search("mot de pase expiré"):
        print(suggestion.article.title, suggestion.score)
"""

from bot.knowledge.articles import (
    Article,
    ArticleProblem,
    check_directory,
    default_knowledge_dir,
    load_articles,
)
from bot.knowledge.base import KnowledgeBase, Suggestion
from bot.knowledge.index import Explanation
from bot.knowledge.lexicon import Lexicon

__all__ = [
    "Article",
    "ArticleProblem",
    "Explanation",
    "KnowledgeBase",
    "Lexicon",
    "Suggestion",
    "check_directory",
    "default_knowledge_dir",
    "load_articles",
]
