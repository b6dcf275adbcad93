"""The translation catalogs: complete for French and Dutch, placeholders intact, wired to ``bot.i18n``."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import errors
from bot.i18n import DEFAULT_LANGUAGE, language_from_locale, translator

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "bot" / "locales"
TRANSLATED = ("fr", "nl")
ALL_LANGUAGES = ("fr", "nl", "en")
# The keywords of the documented `pybabel extract` command (README, "Translations").
KEYWORDS: dict[str, None] = dict.fromkeys(
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
)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _catalog(language: str) -> Catalog:
    return _read(LOCALES / language / "LC_MESSAGES" / "messages.po", language)


def _template_ids() -> list[str]:
    return [str(message.id) for message in _read(LOCALES / "messages.pot") if message.id]


def _fields(text: str) -> set[str]:
    """The ``str.format`` field names used in ``text``."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _source_ids() -> set[str]:
    """Every msgid the code marks today, extracted the way the documented command does."""
    found: set[str] = set()
    for folder in ("bot", "adapters"):
        for _, _, message, _, _ in extract_from_dir(ROOT / folder, [("**.py", "python")], keywords=KEYWORDS):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
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
        if message is None or not message.string:
            problems.append(f"untranslated: {msgid!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
    assert not problems, f"{language}: run pybabel update and translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_marked_in_the_code_is_translated(language: str) -> None:
    catalog = _catalog(language)
    missing = sorted(msgid for msgid in _source_ids() if not (catalog.get(msgid) and catalog[msgid].string))
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
        if not message.id or not message.string:
            continue
        msgid, msgstr = str(message.id), str(message.string)
        names = _fields(msgid)
        if _fields(msgstr) != names:
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
    assert t("Your tickets:") == "Vos tickets :"
    assert t("Status") == "Statut"


def test_status_labels_read_well_inside_sentences() -> None:
    t = translator("fr")
    text = t("Ticket #{number} is {status}: it cannot be {action}.", number=7, status=t("closed"), action=t("reopened"))
    assert text == "Le ticket #7 est clôturé : il ne peut pas être rouvert."
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
