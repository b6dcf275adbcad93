"""The index build's fast paths give what the plain definitions give."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from bot.knowledge import Article, KnowledgeBase, Lexicon
from bot.knowledge.index import POSTING_MIN
from bot.knowledge.lexicon import token_forms
from bot.knowledge.text import _COMBINING, LANGS, stem, stem_many, strip_accents, tokenise


def _reference_strip(text: str) -> str:
    """Decompose, drop the combining marks, spell out the ligatures."""
    stripped = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return stripped.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")


def test_accents_are_stripped_like_a_unicode_decomposition() -> None:
    letters = "".join(chr(c) for c in range(0x00C0, 0x0250))
    assert strip_accents(letters) == _reference_strip(letters)
    assert strip_accents("Réseau coupé à l'hôtel, ça bloque 🙁") == "Reseau coupe a l'hotel, ca bloque 🙁"
    assert strip_accents("œuvre Straße") == "oeuvre Strasse"


@pytest.mark.parametrize("lang", LANGS)
def test_stemming_many_words_at_once_is_stemming_each(lang: str) -> None:
    words = tokenise("bloquée bloquees expirée 2fa ab imprimantes wachtwoorden passwords réinitialiser ee 12")
    assert stem_many(words, lang) == [stem(w, lang) for w in words]


def test_lexicon_matches_with_precomputed_forms_are_the_plain_ones() -> None:
    lexicon = Lexicon.default()
    tokens = tokenise("mon mot de passe a expiré et le vpn forticlient ne se connecte pas depuis la maison")
    plain = lexicon.find(tokens)
    forms = {t: token_forms(t) for t in tokens}
    starts = [i for i, t in enumerate(tokens) if not lexicon.first_forms.isdisjoint(forms[t])]
    assert lexicon.find(tokens, forms, starts) == plain
    assert [m.concepts for m in plain][:1] == [("@password",)]


def _article(i: int, title: str, body: str) -> Article:
    return Article(
        id=f"a{i:04d}",
        title=title,
        lang="fr",
        tags=("poste",),
        category="helpdesk",
        body=body,
        path=Path(f"/x/a{i}.md"),
    )


def test_a_common_word_reads_its_best_articles_first_on_a_large_knowledge_base() -> None:
    """Postings longer than POSTING_MIN are read by weight: where the word is the subject (its title)
    comes before where it is mentioned once in a long body."""
    filler = " ".join(f"mot{i}" for i in range(80))
    articles = [_article(i, f"Sujet {i}", f"{filler} imprimante") for i in range(POSTING_MIN * 3)]
    articles.append(_article(9999, "Imprimante hors ligne", "Redémarrer l'imprimante. Vérifier le câble."))
    kb = KnowledgeBase(articles)
    ranked = kb.rank("imprimante hors ligne", limit=3)
    assert ranked[0].article.id == "a9999"
    explanation = kb.explain("imprimante hors ligne", "a9999")
    assert explanation is not None and explanation.field_scores["title"] > 0
    assert sum(explanation.field_scores.values()) == pytest.approx(explanation.lexical_score, rel=1e-3)


FIXTURES = Path(__file__).parent / "kb_fixtures"


def test_a_compound_of_two_known_words_is_read_as_both() -> None:
    kb = KnowledgeBase.from_directory(FIXTURES)
    compound = kb.search("mijn wifiverbinding valt steeds weg", explain=True)
    apart = kb.search("mijn wifi verbinding valt steeds weg")
    assert compound and compound[0].article.id == "wifi-verbinding" == apart[0].article.id
    assert compound[0].score == pytest.approx(apart[0].score)
    explanation = compound[0].explanation
    assert explanation is not None and ("wifiverbinding", "wifi verbinding") in explanation.corrections
    # known words and words without two known parts stay whole
    assert kb._index.parse("verbinding draadloos").corrections == ()
    assert kb._index.parse("wifiblabla").corrections == ()


def test_chat_abbreviations_are_written_out_before_matching() -> None:
    from bot.knowledge import default_knowledge_dir
    from bot.knowledge.text import expand_abbreviations

    assert expand_abbreviations(tokenise("bjr jsp pk mon ordi doesnt start")) == tokenise(
        "bonjour je sais pas pourquoi mon ordinateur does not start"
    )
    kb = KnowledgeBase.from_directory(default_knowledge_dir())
    short = [(s.article.id, s.score) for s in kb.search("bjr, mon ordi est super lent")]
    written = [(s.article.id, s.score) for s in kb.search("bonjour, mon ordinateur est super lent")]
    assert short and short == written
    explained = kb.search("bjr, mon ordi est super lent", explain=True)[0].explanation
    assert explained is not None and ("ordi", "ordinateur") in explained.corrections


def test_lexicon_matches_remembered_across_articles_are_the_matches_found_afresh() -> None:
    lexicon = Lexicon.default()
    texts = [
        "mon mot de passe a expiré, le mot de passe du vpn aussi",
        "mot de passe",  # a run cut short by the end of the text
        "mot de",
        "the wireless keyboard and the wireless network, then the network drive",
        "mijn wachtwoord is verlopen en de netwerkschijf is weg; wachtwoord",
        "écran noir sur la station d'accueil, écran noir encore",
    ]
    memo: dict[tuple[str, ...], tuple[int, tuple[str, ...], str]] = {}
    for _ in range(2):  # the second round is answered from the memo
        for text in texts:
            tokens = tokenise(text)
            assert lexicon.find(tokens, memo=memo) == lexicon.find(tokens)
    assert memo
