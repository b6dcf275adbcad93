"""The translation catalogs: complete for French and Dutch, placeholders intact, wired to ``bot.i18n``."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import errors
from bot.i18n import DEFAULT_LANGUAGE, language_from_locale, translator

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "bot" / "locales"
TRANSLATED = ("fr", "nl")
ALL_LANGUAGES = ("fr", "nl", "en")
# The keywords of the documented `pybabel extract` command (README, "Translations").
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    **dict.fromkeys(
        (
            "t",
            "tt",
            "rt",
            "N_",
            "HelpdeskError",
            "InvalidCommand",
            "PermissionDenied",
            "ValidationFailed",
            "IllegalTransition",
            "TicketNotFound",
            "UnknownCommand",
        )
    ),
    "plural": (1, 2),
    "later": None,
    "later_plural": (1, 2),
}
COUNT_FIELDS = frozenset({"count", "n", "days", "minutes"})
"""Placeholders that hold a number of things: the ``{count}`` of a plural message (``t.plural``), never of a plain one.
(``{length}`` and ``{limit}`` are excluded: they only appear when a text is over a limit of many characters.)"""


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _catalog(language: str) -> Catalog:
    return _read(LOCALES / language / "LC_MESSAGES" / "messages.po", language)


def _msgid(message: Message) -> str:
    """The singular msgid (the catalog key) of a plain or plural message."""
    return str(message.id[0]) if isinstance(message.id, (list, tuple)) else str(message.id)


def _strings(message: Message) -> list[str]:
    """The translation's forms: one for a plain message, one per plural form for a plural one."""
    if isinstance(message.string, (list, tuple)):
        return [str(form) for form in message.string]
    return [str(message.string)] if message.string else []


def _template_ids() -> list[str]:
    return [_msgid(message) for message in _read(LOCALES / "messages.pot") if message.id]


def _fields(text: str) -> set[str]:
    """The ``str.format`` field names used in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _source_ids() -> set[str]:
    """Every msgid the code marks today, extracted the way the documented command does."""
    found: set[str] = set()
    for folder in ("bot", "adapters"):
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, [("**.py", "python")], keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def _python_files() -> Iterator[tuple[Path, ast.Module]]:
    for folder in ("bot", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_template_is_not_empty() -> None:
    assert len(_template_ids()) > 50


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_template_message_is_translated(language: str) -> None:
    catalog = _catalog(language)
    problems = []
    for msgid in _template_ids():
        message = catalog.get(msgid)
        if message is None or not _strings(message) or not all(_strings(message)):
            problems.append(f"untranslated: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
    assert not problems, f"{language}: run pybabel update and translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_marked_in_the_code_is_translated(language: str) -> None:
    catalog = _catalog(language)
    missing = sorted(msgid for msgid in _source_ids() if not (catalog.get(msgid) and all(_strings(catalog[msgid]))))
    assert not missing, f"{language}: extract, update and translate these new strings: {missing}"


def test_translator_variables_use_an_extraction_keyword() -> None:
    """``xx = translator(...)`` then ``xx("...")``: Babel only sees ``xx`` if it is a keyword."""
    unknown = []
    for path, tree in _python_files():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "translator"
            ):
                unknown += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {target.id}"
                    for target in node.targets
                    if isinstance(target, ast.Name) and target.id not in KEYWORDS
                ]
    assert not unknown, f"name the translator t, tt or rt (or add a -k keyword everywhere): {unknown}"


def test_no_translation_call_hides_inside_an_f_string() -> None:
    """On Python 3.11 Babel cannot see ``f"{t('Solution')}"``: such strings would stay in English."""
    hidden = []
    for path, tree in _python_files():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                hidden += [
                    f"{path.relative_to(ROOT)}:{call.lineno} {ast.unparse(call)}"
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id in KEYWORDS
                    and call.args
                    and isinstance(call.args[0], ast.Constant)
                ]
    assert not hidden, f"compute these outside the f-string: {hidden}"


@pytest.mark.parametrize("language", ALL_LANGUAGES)
def test_placeholders_are_kept_exactly(language: str) -> None:
    broken = []
    for message in _catalog(language):
        if not message.id or not _strings(message):
            continue
        msgid = _msgid(message)
        names = _fields(msgid)
        if isinstance(message.id, (list, tuple)):
            names |= _fields(str(message.id[1]))
        for msgstr in _strings(message):
            if msgstr and _fields(msgstr) != names:
                broken.append(f"{msgid!r} → {msgstr!r}")
                continue
            # Named fields only: the translation must format with the very arguments the code passes.
            assert "" not in names, f"positional field in {msgid!r}"
            msgstr.format(**dict.fromkeys(names, "x"))
    assert not broken, f"{language}: placeholders differ:\n" + "\n".join(broken)


def test_the_english_catalog_exists_for_every_template_message() -> None:
    catalog = _catalog("en")
    assert [msgid for msgid in _template_ids() if catalog.get(msgid) is None] == []


@pytest.mark.parametrize("error_class", [errors.HelpdeskError, *errors.HelpdeskError.__subclasses__()])
def test_default_error_messages_are_in_the_catalogs(error_class: type[errors.HelpdeskError]) -> None:
    for language in TRANSLATED:
        message = _catalog(language).get(error_class.msgid)
        assert message is not None and message.string, (language, error_class.__name__)


def test_french_translations() -> None:
    t = translator("fr")
    assert t("Cancel") == "Annuler"
    assert t("{ref} is cancelled.", ref="#12") == "Le ticket #12 est annulé."
    assert t("Your tickets:") == "Vos tickets\u202f:"
    assert t("Status") == "Statut"


def test_status_labels_read_well_inside_sentences() -> None:
    t = translator("fr")
    text = t("Ticket #{number} is {status}: it cannot be {action}.", number=7, status=t("closed"), action=t("reopened"))
    assert text == "Le ticket #7 est clôturé\u202f: il ne peut pas être rouvert."
    assert t("status {old} → {new}", old=t("new"), new=t("in progress")) == "statut nouveau → en cours"
    nl = translator("nl")
    assert (
        nl("Ticket #{number} is {status}: it cannot be {action}.", number=7, status=nl("closed"), action=nl("reopened"))
        == "Ticket #7 is afgesloten: het kan niet heropend worden."
    )


def test_dutch_and_english_translations() -> None:
    assert translator("nl")("Cancel") == "Annuleren"
    assert translator("nl")("{ref} is cancelled.", ref="#12") == "Ticket #12 is geannuleerd."
    assert translator("en")("{ref} is cancelled.", ref="#12") == "#12 is cancelled."


@pytest.mark.parametrize("language", ["de", "", "xx"])
def test_unknown_language_falls_back_to_french(language: str) -> None:
    t = translator(language)
    assert t.language == DEFAULT_LANGUAGE == "fr"
    assert t("Cancel") == "Annuler"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-BE", "fr"),
        ("fr", "fr"),
        ("nl_BE", "nl"),
        ("NL-be", "nl"),
        ("en-US", "en"),
        ("en", "en"),
        (None, "fr"),
        ("", "fr"),
        ("de", "fr"),
        ("de-BE", "fr"),
    ],
)
def test_language_from_locale(locale: str | None, expected: str) -> None:
    assert language_from_locale(locale) == expected


def test_language_from_locale_uses_the_given_default() -> None:
    assert language_from_locale("de", default="nl") == "nl"
    assert language_from_locale(None, default="en") == "en"
    assert language_from_locale("fr-BE", default="nl") == "fr"


_COUNTED = re.compile(r"\{(\w+)\}\s+[^\W\d_]|\(s\)")


def test_a_count_followed_by_a_noun_has_plural_forms() -> None:
    """ "1 tickets", "1 résolus", "file(s)": a number of things needs ``t.plural`` (gettext plural forms)."""
    plain = []
    for message in _read(LOCALES / "messages.pot"):
        if not message.id or isinstance(message.id, (list, tuple)):
            continue
        for match in _COUNTED.finditer(str(message.id)):
            if match.group(0) == "(s)" or match.group(1) in COUNT_FIELDS:
                plain.append(str(message.id))
    assert not plain, "use t.plural(singular, plural, count) for:\n" + "\n".join(plain)


def test_no_count_is_passed_to_a_plain_translation() -> None:
    """``t("{count} tickets", count=n)`` reads "1 tickets": counts go through ``t.plural``."""
    found = []
    for path, tree in _python_files():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("t", "tt", "rt", "later")
                and any(keyword.arg in COUNT_FIELDS for keyword in node.keywords)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, f"pass counts to t.plural: {found}"


@pytest.mark.parametrize("language", ALL_LANGUAGES)
def test_plural_messages_have_every_form_of_the_language(language: str) -> None:
    catalog = _catalog(language)
    wrong = []
    for message in catalog:
        if not message.id or not isinstance(message.id, (list, tuple)):
            continue
        forms = _strings(message)
        if language == "en" and not any(forms):
            continue  # English falls back on the msgid and msgid_plural
        if len(forms) != catalog.num_plurals or not all(forms):
            wrong.append(f"{message.id[0]!r}: {len([f for f in forms if f])} of {catalog.num_plurals} forms")
        elif "{count}" in str(message.id[0]) and not all("{count}" in form for form in forms):
            wrong.append(f"{message.id[0]!r}: a form lost {{count}}")
    assert not wrong, f"{language}: " + "\n".join(wrong)


@pytest.mark.parametrize(
    ("language", "one", "two", "zero"),
    [
        ("fr", "(1 fichier joint)", "(2 fichiers joints)", "(0 fichier joint)"),
        ("en", "(1 file attached)", "(2 files attached)", "(0 files attached)"),
        ("nl", "(1 bestand bijgevoegd)", "(2 bestanden bijgevoegd)", "(0 bestanden bijgevoegd)"),
    ],
)
def test_plural_forms_follow_the_rules_of_each_language(language: str, one: str, two: str, zero: str) -> None:
    t = translator(language)
    assert [t.plural("({count} file attached)", "({count} files attached)", n) for n in (1, 2, 0)] == [one, two, zero]


# -- French typography -----------------------------------------------------------------------------

NNBSP = "\u202f"
SAME_IN_FRENCH = frozenset(
    {
        *("Description", "URL", "Type", "Contact", "Solution", "incident", "Impact", "Tickets", "helpline", "helpdesk"),
        *("{count} minute", "{count} minutes", "{count} ticket", "{count} tickets"),
        *("{count} suggestion", "{count} suggestions"),
        *("N ARTICLE", "N helpline|helpdesk", "N question"),
    }
)
"""Messages French writes exactly like English (words borrowed or shared, and numbers of them)."""
ENGLISH_WORDS = re.compile(r"\b(the|and|your|you|please|with|is|are|this|that|of|to|from|which|will)\b")


def _french_forms() -> Iterator[tuple[str, str]]:
    for message in _catalog("fr"):
        if message.id:
            ids = list(message.id) if isinstance(message.id, (list, tuple)) else [str(message.id)]
            for index, form in enumerate(_strings(message)):
                yield str(ids[min(index, len(ids) - 1)]), form


def _prose(text: str) -> str:
    """``text`` without placeholders, commands, addresses, times and quoted examples."""
    text = re.sub(r"\{\w+\}|/\w[\w|. -]*|https?://\S+|\d+[:.]\d+|\w+@\w[\w.]*", " ", text)
    return re.sub(r"helpdesk-bot [\w -]+|pip install '[^']*'|\[[\w,]+\]", " ", text)


def test_french_has_a_narrow_no_break_space_before_double_punctuation_and_inside_guillemets() -> None:
    """French typography: U+202F before ``: ; ! ?`` and inside « » (never a plain space, never U+00A0)."""
    wrong = []
    for msgid, form in _french_forms():
        prose = _prose(form)
        missing = re.search(r"[^\u202f][:;!?](\s|$)", prose) or re.search(r"«[^\u202f]|[^\u202f]»", prose)
        if missing or "\xa0" in form or re.search(r" [:;!?]", form):
            wrong.append(f"{msgid!r} → {form!r}")
    assert not wrong, "French typography:\n" + "\n".join(wrong)


def test_french_uses_one_apostrophe() -> None:
    """The typewriter apostrophe, as people type it (searching and copying work), never ’."""
    assert [form for _, form in _french_forms() if "\u2019" in form] == []


def test_no_english_is_left_in_the_french_catalog() -> None:
    left = []
    for msgid, form in _french_forms():
        untranslated = form == msgid and form not in SAME_IN_FRENCH and re.search(r"[A-Za-z]{3}", _prose(form))
        if untranslated or ENGLISH_WORDS.search(_prose(form)):
            left.append(form)
    assert not left, "English in the French catalog:\n" + "\n".join(left)


def test_numbers_units_and_dates_follow_the_french_locale() -> None:
    from datetime import UTC, datetime

    from bot.presenters import when_text

    t = translator("fr")
    assert t.number(4.0, 1) == "4,0"
    assert t.unit(7.5, "duration-hour", digits=1) == f"7,5{NNBSP}h"
    assert t.unit(2, "duration-day") == f"2{NNBSP}j"
    assert t.percent(0.5) == f"50{NNBSP}%"
    moment = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert when_text(t, moment, moment) == "lun. 7 décembre à 10:00"
    assert when_text(t, moment, datetime(2027, 1, 4, tzinfo=UTC)) == "lun. 7 décembre 2026 à 10:00"
    assert when_text(translator("nl"), moment, moment) == "ma 7 december om 10:00"
    assert when_text(translator("en"), moment, moment) == "Mon 7 December at 10:00"


@pytest.mark.parametrize(
    "catalog",
    ["messages.pot", "en/LC_MESSAGES/messages.po", "fr/LC_MESSAGES/messages.po", "nl/LC_MESSAGES/messages.po"],
)
def test_every_catalog_is_a_well_formed_po_file(catalog: str) -> None:
    """A msgid without its msgstr (a merge gone wrong) would be printed as a warning at start-up."""
    from babel.messages.pofile import read_po

    with (LOCALES / catalog).open(encoding="utf-8") as handle:
        read_po(handle, abort_invalid=True)
