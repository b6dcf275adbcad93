"""Text normalisation, tokenisation, stop words and Snowball stemming for fr / en / nl.

Everything the matcher compares goes through :func:`normalise` then :func:`tokenise`:
lower case, accents removed, typographic apostrophes unified, French elisions
(``l'``, ``j'``, ``qu'``...) and English contractions split, emoji and punctuation
dropped. A Windows drive letter (``S:``, ``C:\\``) becomes the token ``driveletter``
so the lexicon can relate it to "drive / lecteur / schijf".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import snowballstemmer

LANGS: tuple[str, ...] = ("fr", "en", "nl")
_STEMMER_NAMES = {"fr": "french", "en": "english", "nl": "dutch"}

DRIVE_TOKEN = "driveletter"

_APOSTROPHES = re.compile(r"[\u2019\u2018\u02bc\u0060\u00b4]")
_DRIVE = re.compile(r"(?<![a-z0-9])[a-z]:(?=\\|/|\s|$|[,.;!?)])")
_ELISION = re.compile(r"(?<![a-z0-9])(?:[ldjmntsc]|qu|jusqu|lorsqu|puisqu)'")
_EN_NOT = re.compile(r"n't\b")
_EN_SUFFIX = re.compile(r"'(?:s|re|ve|ll|d|m)\b")
_TOKEN = re.compile(r"[a-z0-9]+")
# combining marks left by NFKD decomposition (accents, cedillas, diaereses...)
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS: dict[str, frozenset[str]] = {
    "fr": _words(
        """a ai aie aient ait alors as au aucun aucune aussi autre aux avais avait avant avec avez avoir avons
        bah bon bonjour bonsoir c ca ce cela celle celui ces cet cette chez ci comme comment d dans de des
        deja depuis dois doit donc du elle elles en encore es est et etaient etait ete etre eu eux fait faire
        fais faut hier ici il ils j je jusqu l la le les leur leurs lui m ma mais me meme merci mes moi mon
        n ne ni nos notre nous on ont ou par parce pas peu peut peux plus pour pourquoi puis puisque qu quand
        que quel quelle quelles quels qui quoi s sa sans se ses si sien son sont sous suis sur svp t ta te
        tes toi ton tous tout toute toutes tres trop tu un une vers voici voila vos votre vous vu y salut
        coucou cordialement madame monsieur stp ceci celles ceux dont etc la-bas aujourd hui matin soir
        jai cest ya chui jsuis jsais pcq pck bcp tjs toujours jamais rien quelqu quelque chose bien ok okay
        voudrais veux voulais pouvez pourriez aurais avez-vous besoin aide aider possible impossible
        arrive arriver arrivent truc machin quelques fois apres moment deux trois quatre cinq jour jours
        semaine minutes heure heures"""
    ),
    "en": _words(
        """a about after again all am an and any are as at be been before being but by can cannot could
        did do does doing don down during each few for from further had has have having he her here hers
        him his how i if in into is it its just me more most my myself no nor not now of off on once only
        or other our out over own same she should so some such than that the their them then there these
        they this those through to too under until up very was we were what when where which while who
        whom why will with would you your yours hi hello hey thanks thank thx please pls plz regards
        dear morning afternoon evening today yesterday tomorrow ok okay get got getting anymore also
        still again keep keeps need needs im ive id s t re ve ll d m something anything thing things
        day days week time times since able way help because against between both above below ours ourselves
        yourself yourselves himself herself itself themselves theirs whom isn aren wasn weren hasn haven hadn
        doesn didn won wouldn shan shouldn couldn mustn let us may might must shall ought"""
    ),
    "nl": _words(
        """aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een
        eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in
        is ja je jij jullie kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu
        of om omdat onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren
        was wat we wel werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo zonder zou goedemorgen
        goedemiddag goedenavond hallo dag dank bedankt alvast groeten vriendelijke mvg graag even sinds
        vandaag gisteren morgen vanmorgen vanochtend weer hoe waarom waar wanneer welke welk kunt"""
    ),
}
# Everyday words that never say what the IT problem is: time expressions, frequency, intensifiers,
# politeness and "it is solved now" words, generic verbs, and the organisation itself (staff of a
# public administration name it in passing: "le centre administratif", "at the province").
# Treated like stop words.
COMMON_WORDS: frozenset[str] = _words(
    """lundi mardi mercredi jeudi vendredi samedi dimanche demain soir nuit semaine mois annee an ans
    janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre premier
    premiere deuxieme troisieme fois encore vraiment hyper super tres assez normal normale genre
    enfin quoi voila svp merci beaucoup resolu regle ca marche nickel parfait top genial cool
    dire dit disent vois voir voit  faire fais fait mis mets mettre prendre pris
    tape tapé passe passer pars partir venir vient revenu revenue aller va vais allez sais savoir
    monday tuesday wednesday thursday friday saturday sunday tomorrow tonight week weeks month months
    year years first second third next last low high really very extremely super pretty quite fine
    normal thanks thank cheers fixed solved sorted resolved great perfect awesome works worked say
    says said see seen tell told put want wanted try tried trying know think go going come came make
    made take took give gave let lets maandag dinsdag woensdag donderdag vrijdag zaterdag zondag
    week weken maand jaar eerste tweede derde volgende vorige echt heel erg zeer opgelost gelukt
    top super perfect krijg krijgen gekregen zien zie ziet zeggen zegt gezegd doe deed gedaan
    temps souvent parfois constamment often sometimes always constantly
    vaak soms constant
    administration administratif administrative administratifs administratives administratief
    administratieve administrative province provincial provinciale provinciaux provincie provinciaal
    commune communal communale gemeente gemeentelijk gemeentelijke"""
)
ALL_STOP_WORDS: frozenset[str] = frozenset().union(*STOP_WORDS.values()) | COMMON_WORDS


COMMON_WORDS_FILE = Path(__file__).resolve().parent / "common_words.txt"


@lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    """Frequent words of everyday French, English and Dutch (``common_words.txt``, from wordfreq's lists).

    Unlike stop words they can name a problem ("écran", "open"); the matcher counts them in full only
    where the knowledge base puts them forward (a title, tag or question) or the lexicon knows them.
    """
    lines = COMMON_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _accent_table() -> dict[int, str]:
    """``str.translate`` table of the accented Latin letters (U+00C0-U+024F) to their bare letters."""
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        bare = _COMBINING.sub("", unicodedata.normalize("NFKD", chr(code)))
        if bare != chr(code) and bare.isascii():
            table[code] = bare
    table.update({ord("œ"): "oe", ord("æ"): "ae", ord("ß"): "ss"})
    return table


_ACCENTS = _accent_table()
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@lru_cache(maxsize=4096)
def _bare(run: str) -> str:
    return run.translate(_ACCENTS)


def _bare_run(match: re.Match[str]) -> str:
    return _bare(match.group())


def strip_accents(text: str) -> str:
    """Remove diacritics: ``é`` -> ``e``, ``ï`` -> ``i`` (``œ`` -> ``oe``, ``ß`` -> ``ss``)."""
    if text.isascii():
        return text
    text = _NON_ASCII.sub(_bare_run, text)  # mostly ASCII text: only its accented runs are rewritten
    if text.isascii():
        return text
    stripped = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return stripped.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")


def _normalised(text: str) -> str:
    """Lower case, accents removed, apostrophes unified, elisions and contractions split (punctuation kept)."""
    if not text.isascii():
        text = strip_accents(unicodedata.normalize("NFKC", text).lower())
        text = _APOSTROPHES.sub("'", text)
    else:
        text = text.lower()
        if "`" in text:
            text = _APOSTROPHES.sub("'", text)
    # each rewrite only runs when its trigger character is there (index builds normalise whole articles)
    if ":" in text:
        text = _DRIVE.sub(f" {DRIVE_TOKEN} ", text)
    if "'" in text:
        text = text.replace("can't", "can not").replace("won't", "will not")
        text = _EN_NOT.sub(" not", text)
        text = _EN_SUFFIX.sub(" ", text)
        text = _ELISION.sub(" ", text)
    return text


def normalise(text: str) -> str:
    """Lower-case, strip accents, unify apostrophes, split elisions; keep only letters, digits, spaces."""
    return " ".join(_TOKEN.findall(_normalised(text)))


def tokenise(text: str) -> list[str]:
    """Normalised tokens of ``text`` (stop words kept: phrases such as "mot de passe" need them)."""
    return _TOKEN.findall(_normalised(text))


@lru_cache(maxsize=4)
def _stemmer(lang: str) -> snowballstemmer.stemmer:
    stemmer = snowballstemmer.stemmer(_STEMMER_NAMES[lang])
    if hasattr(stemmer, "maxCacheSize"):
        # PyStemmer's own word cache (10,000 words per language by default) duplicates the caches
        # here and stays after an index build: off
        stemmer.maxCacheSize = 0
    return stemmer


@lru_cache(maxsize=200_000)
def stem(token: str, lang: str) -> str:
    """Snowball stem of one normalised token in ``lang`` (fr, en or nl)."""
    if token.isdigit() or len(token) <= 2:
        return token
    if lang == "fr" and len(token) > 4 and token.endswith(("ee", "ees")):
        # accents are gone by now: give the stemmer back the participle it knows ("bloquee" -> "bloquée")
        token = token[: -3 if token.endswith("s") else -2] + "é"
        return strip_accents(str(_stemmer(lang).stemWord(token)))
    return str(_stemmer(lang).stemWord(token))


def stem_many(tokens: Sequence[str], lang: str) -> list[str]:
    """:func:`stem` of many tokens at once, in one call to the C stemmer (index builds)."""
    out = list(tokens)
    todo = [i for i, t in enumerate(out) if not (t.isdigit() or len(t) <= 2)]
    words = [out[i] for i in todo]
    if lang == "fr":
        words = [
            w[: -3 if w.endswith("s") else -2] + "é" if len(w) > 4 and w.endswith(("ee", "ees")) else w for w in words
        ]
    for i, stemmed in zip(todo, _stemmer(lang).stemWords(words), strict=True):
        out[i] = strip_accents(str(stemmed))
    return out


@lru_cache(maxsize=200_000)
def all_stems(token: str) -> tuple[str, ...]:
    """The distinct stems of ``token`` under the three languages, French first."""
    seen: list[str] = []
    for lang in LANGS:
        form = stem(token, lang)
        if form not in seen:
            seen.append(form)
    return tuple(seen)


# Chat and SMS abbreviations in everyday use, written out before a message is matched (articles are not
# written this way). Only unambiguous ones: "tel" (also "such"), "ac" (also AC power) or "vs" are left out.
CHAT_ABBREVIATIONS: dict[str, str] = {
    # French
    "bjr": "bonjour",
    "bsr": "bonsoir",
    "slt": "salut",
    "cc": "coucou",
    "dsl": "desole",
    "pb": "probleme",
    "pbm": "probleme",
    "pblm": "probleme",
    "prob": "probleme",
    "qqn": "quelqu un",
    "qqch": "quelque chose",
    "qq": "quelques",
    "jsp": "je sais pas",
    "tjrs": "toujours",
    "tjs": "toujours",
    "pr": "pour",
    "ds": "dans",
    "avc": "avec",
    "mtn": "maintenant",
    "auj": "aujourd hui",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "dc": "donc",
    "msg": "message",
    "ordi": "ordinateur",
    "appli": "application",
    "rdv": "rendez vous",
    "rep": "reponse",
    # English
    "thx": "thanks",
    "ty": "thank you",
    "u": "you",
    "ur": "your",
    "cant": "can not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wasnt": "was not",
    "arent": "are not",
    "wont": "will not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "havent": "have not",
    "hasnt": "has not",
    "asap": "as soon as possible",
    # Dutch
    "ff": "even",
    "mss": "misschien",
    "idd": "inderdaad",
    "wss": "waarschijnlijk",
    "nie": "niet",
}


def expand_abbreviations(tokens: list[str]) -> list[str]:
    """The tokens with chat abbreviations written out ("jsp" -> "je sais pas", "doesnt" -> "does not")."""
    if not any(t in CHAT_ABBREVIATIONS for t in tokens):
        return tokens
    out: list[str] = []
    for token in tokens:
        full = CHAT_ABBREVIATIONS.get(token)
        out.extend(full.split() if full else (token,))
    return out


_GREETINGS = _words("hi hello hey dear morning bonjour bonsoir salut coucou hallo dag goedemorgen goedemiddag beste")
_ADDRESSEES = _words(
    "team all everyone everybody guys folks equipe tous tout monde le la l helpdesk servicedesk it iedereen allemaal"
)


def drop_greeting(tokens: list[str]) -> list[str]:
    """The tokens without an opening greeting and whom it addresses ("Hi team", "Bonjour à toute l'équipe")."""
    i = 0
    while i < len(tokens) and tokens[i] in _GREETINGS:
        i += 1
    if i == 0:
        return tokens
    while i < len(tokens) and (tokens[i] in _ADDRESSEES or tokens[i] in ("a", "toute", "toutes", "the", "de")):
        i += 1
    return tokens[i:]


def is_stop_word(token: str) -> bool:
    """True for function words of any of the three languages (and one-letter tokens)."""
    return len(token) <= 1 or token in ALL_STOP_WORDS
