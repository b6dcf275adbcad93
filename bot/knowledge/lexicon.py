"""The IT-domain synonym lexicon: groups of equivalent terms across French, English and Dutch.

The bundled ``lexicon.yaml`` (next to this module) holds generic service-desk vocabulary.
A service desk extends it by putting its own ``lexicon.yaml`` in its knowledge folder,
in the same format::

    groups:
      printer: [printer, imprimante, afdrukapparaat, "grosse machine du 1er"]
      gis: [gis, sig, cartographie, geoloket]       # a new group
    weak: [souci, bug]                               # words that say "problem" but not which

Groups with the same name are merged (terms added); new names add groups. Each term is
a word or a phrase; it matches a text when its words match consecutive words of the text,
word by word, after normalisation and up to a Snowball stem in any of the three languages
("imprimantes" matches "imprimante"). A matched term adds the group's *concept* to the
text, which is how "mdp" in a question finds "mot de passe" in an article, and
"wachtwoord" finds "password".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.errors import KnowledgeBaseError
from bot.knowledge.text import all_stems, tokenise

DEFAULT_LEXICON_PATH = Path(__file__).resolve().parent / "lexicon.yaml"
LEXICON_FILE_NAME = "lexicon.yaml"
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (10x faster), else the pure-Python one."""
CONCEPT_PREFIX = "@"


@lru_cache(maxsize=200_000)
def token_forms(token: str) -> frozenset[str]:
    """The token itself and its stems in fr / en / nl: two tokens "match" when these sets meet."""
    return frozenset((token, *all_stems(token)))


_Entry = tuple[tuple[frozenset[str], ...], str, str, tuple[str, ...]]
"""A compiled lexicon term: the forms of each of its words, its concept, the term, its words."""


@dataclass(frozen=True)
class ConceptMatch:
    """One lexicon term found in a token sequence: tokens ``start``..``end`` (exclusive)."""

    start: int
    end: int
    concepts: tuple[str, ...]
    term: str


@dataclass
class Lexicon:
    """Synonym groups (concept name -> terms), the weak "something is wrong" words, and the
    ``context`` groups: situations (working from home, travelling) rather than problems, which
    make a message neither more nor less about an article when no article mentions them."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    weak: set[str] = field(default_factory=set)
    context: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._compiled: dict[str, list[_Entry]] | None = None
        self._surface: frozenset[str] | None = None
        self._single: frozenset[str] | None = None
        self._first: frozenset[str] | None = None
        self._starting: dict[frozenset[str], list[_Entry]] = {}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str) -> Lexicon:
        """Build a lexicon from parsed YAML; raise :class:`KnowledgeBaseError` on a malformed file."""
        groups_raw = data.get("groups", {}) or {}
        weak_raw = data.get("weak", []) or []
        context_raw = data.get("context", []) or []
        unknown = set(data) - {"groups", "weak", "context"}
        if unknown:
            raise KnowledgeBaseError(
                detail=f"{source}: unknown keys {sorted(unknown)} (use 'groups', 'weak' and 'context')"
            )
        if not isinstance(groups_raw, dict):
            raise KnowledgeBaseError(detail=f"{source}: 'groups' must map a group name to a list of terms")
        groups: dict[str, list[str]] = {}
        for name, terms in groups_raw.items():
            if not isinstance(terms, list) or not all(isinstance(t, str | int | float) for t in terms):
                raise KnowledgeBaseError(detail=f"{source}: group {name!r} must be a list of words or phrases")
            groups[str(name)] = [str(t) for t in terms if str(t).strip()]
        if not isinstance(weak_raw, list):
            raise KnowledgeBaseError(detail=f"{source}: 'weak' must be a list of words")
        weak = {tok for w in weak_raw for tok in tokenise(str(w))}
        if not isinstance(context_raw, list):
            raise KnowledgeBaseError(detail=f"{source}: 'context' must be a list of group names")
        return cls(groups=groups, weak=weak, context={str(name) for name in context_raw})

    @classmethod
    def from_file(cls, path: Path) -> Lexicon:
        """Read one lexicon YAML file."""
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeBaseError(detail=f"{path}: cannot read the lexicon ({exc})") from exc
        if not isinstance(data, dict):
            raise KnowledgeBaseError(detail=f"{path}: a lexicon is a mapping with 'groups' (and 'weak')")
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def default(cls) -> Lexicon:
        """The bundled generic IT lexicon, parsed once per process: shared, so treat it as read-only
        (:meth:`merged` returns a new lexicon)."""
        return _default_lexicon()

    def merged(self, other: Lexicon) -> Lexicon:
        """A new lexicon with ``other``'s groups and weak words added to this one's."""
        groups = {name: list(terms) for name, terms in self.groups.items()}
        for name, terms in other.groups.items():
            existing = groups.setdefault(name, [])
            existing.extend(t for t in terms if t not in existing)
        return Lexicon(groups=groups, weak=self.weak | other.weak, context=self.context | other.context)

    def _compile(self) -> dict[str, list[_Entry]]:
        if self._compiled is None:
            compiled: dict[str, list[_Entry]] = {}
            for name, terms in self.groups.items():
                for term in terms:
                    tokens = tokenise(term)
                    if not tokens:
                        continue
                    forms = tuple(token_forms(t) for t in tokens)
                    for key in forms[0]:
                        compiled.setdefault(key, []).append((forms, CONCEPT_PREFIX + name, term, tuple(tokens)))
            for entries in compiled.values():
                entries.sort(key=lambda e: -len(e[0]))
            self._compiled = compiled
        return self._compiled

    @property
    def surface_words(self) -> frozenset[str]:
        """Every normalised word that appears in a term (targets for typo correction)."""
        if self._surface is None:
            self._surface = frozenset(t for terms in self.groups.values() for term in terms for t in tokenise(term))
        return self._surface

    @property
    def single_word_forms(self) -> frozenset[str]:
        """The forms (word and stems) of every one-word term: what a lone word can match."""
        if self._single is None:
            self._single = frozenset(
                form
                for terms in self.groups.values()
                for term in terms
                if len(tokens := tokenise(term)) == 1
                for form in token_forms(tokens[0])
            )
        return self._single

    @property
    def phrases(self) -> list[str]:
        """Every multi-word term, normalised (targets for typo correction across a whole phrase)."""
        return sorted({" ".join(tokenise(t)) for terms in self.groups.values() for t in terms if len(tokenise(t)) > 1})

    def _starting_with(self, forms: frozenset[str]) -> list[_Entry]:
        """The terms whose first word a token with these forms matches, longest first."""
        compiled = self._compile()
        entries = list({id(e): e for key in forms for e in compiled.get(key, ())}.values())
        entries.sort(key=lambda e: -len(e[0]))
        return entries

    @property
    def first_forms(self) -> frozenset[str]:
        """The forms a term's first word can take: a token without any of them starts no match."""
        if self._first is None:
            self._first = frozenset(self._compile())
        return self._first

    def find(
        self,
        tokens: Iterable[str],
        form_of: Mapping[str, frozenset[str]] | None = None,
        starts: Iterable[int] | None = None,
        memo: dict[tuple[str, ...], tuple[int, tuple[str, ...], str]] | None = None,
    ) -> list[ConceptMatch]:
        """Matches of the lexicon's terms in ``tokens``: the longest term at each start position.

        Nested matches are kept ("espace disque" yields the disk-space concept, and "disque"
        inside it the disk concept); :func:`outermost` selects the non-overlapping outer ones.
        Where terms of the same length match, those spelt exactly like the text win over those
        that only share a stem ("receiver" is the wireless receiver, not "received").
        ``form_of`` maps each token to its :func:`token_forms` when the caller has them already,
        ``starts`` are the positions where a term may start (whose forms meet :attr:`first_forms`).
        ``memo`` (an index build's, where ``form_of`` is the same for every article) keeps the match at
        each run of words that a term could cover, so that a run seen in an earlier article is not
        matched again.
        """
        starting = self._starting
        toks = list(tokens)
        if form_of is None:
            form_of = {t: token_forms(t) for t in toks}
        if starts is None:
            first = self.first_forms
            starts = [i for i, t in enumerate(toks) if not first.isdisjoint(form_of[t])]
        matches: list[ConceptMatch] = []
        total = len(toks)
        for i in starts:
            forms = form_of[toks[i]]
            entries = starting.get(forms)
            if entries is None:
                entries = starting[forms] = self._starting_with(forms)
            window: tuple[str, ...] = ()
            if memo is not None and entries:
                # the match here depends only on the words a term starting here could cover
                window = tuple(toks[i : i + len(entries[0][0])])
                known = memo.get(window)
                if known is not None:
                    if known[0]:
                        matches.append(ConceptMatch(i, i + known[0], known[1], known[2]))
                    continue
            best = (0, False)
            found: dict[str, str] = {}
            # entries are sorted longest first: stop at the first one shorter than the best match
            for term_forms, concept, term, term_tokens in entries:
                n = len(term_forms)
                if n < best[0]:
                    break
                if i + n > total:
                    continue
                for j in range(1, n):
                    if form_of[toks[i + j]].isdisjoint(term_forms[j]):
                        break
                else:
                    rank = (n, term_tokens == tuple(toks[i : i + n]))
                    if rank < best:
                        continue
                    if rank > best:
                        best, found = rank, {}
                    found.setdefault(concept, term)
            concepts, term = tuple(sorted(found)), next(iter(found.values()), "")
            if best[0]:
                matches.append(ConceptMatch(i, i + best[0], concepts, term))
            if window and memo is not None:
                memo[window] = (best[0], concepts, term)
        return matches


@lru_cache(maxsize=1)
def _default_lexicon() -> Lexicon:
    return Lexicon.from_file(DEFAULT_LEXICON_PATH)


def outermost(matches: list[ConceptMatch]) -> list[tuple[ConceptMatch, list[ConceptMatch]]]:
    """Group matches into outer ones (not inside an earlier, longer match) with their nested matches."""
    groups: list[tuple[ConceptMatch, list[ConceptMatch]]] = []
    for m in matches:
        if groups and m.end <= groups[-1][0].end:
            groups[-1][1].append(m)
        elif groups and m.start < groups[-1][0].end:
            # overlapping but longer to the right: keep it as its own unit
            groups.append((m, []))
        else:
            groups.append((m, []))
    return groups
