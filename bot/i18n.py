"""Translations: every user-facing string goes through a gettext catalog (Babel).

Messages are written in English in the code (``t("Ticket #{number} is resolved.", number=42)``)
and translated in ``bot/locales/<lang>/LC_MESSAGES/messages.po``; a number of things goes through the
plural forms of the language (``t.plural("{count} ticket", "{count} tickets", n)``). The ``.po`` files are
compiled in memory when first needed, so the repository holds no binary ``.mo`` file.
Extract new strings with::

    pybabel extract -k t -k plural:1,2 -k N_ -o bot/locales/messages.pot bot
    pybabel update -i bot/locales/messages.pot -d bot/locales

French is the default language; English and Dutch are complete too.
"""

from __future__ import annotations

import io
import logging
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations
from babel.units import format_unit

from bot.config import SUPPORTED_LANGUAGES

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "fr"
BABEL_LOCALES = {"fr": "fr_BE", "en": "en_GB", "nl": "nl_BE"}
"""The CLDR locale each language's dates and numbers are formatted with (Belgian French and Dutch)."""


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now."""
    return msgid


@cache
def _translations(language: str) -> NullTranslations:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


class Translator:
    """Translates and formats messages for one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE
        self.locale = Locale.parse(BABEL_LOCALES[self.language])
        """The Babel locale dates, times and numbers are formatted with."""
        translations = _translations(self.language)
        self._gettext = translations.gettext
        self._ngettext = translations.ngettext

    def __call__(self, msgid: str, /, **params: Any) -> str:
        """The translation of ``msgid`` with ``params`` filled in."""
        return self._format(msgid, self._gettext(msgid), params)

    def plural(self, singular: str, plural: str, count: int, /, **params: Any) -> str:
        """The plural form of the language for ``count`` (``{count}`` is filled in too)."""
        text = self._ngettext(singular, plural, count)
        return self._format(singular, text, {"count": count, **params})

    def unit(self, value: float, unit: str, *, digits: int = 0) -> str:
        """``value`` with a CLDR unit (``duration-hour``…) in the short form of the language (plural included),
        with ``digits`` decimals (``7,5 h`` in French)."""
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        text = format_unit(value, unit, length="short", format=pattern, locale=self.locale)
        return typographic(text, self.language)

    def number(self, value: float, digits: int = 1) -> str:
        """A decimal number as the language writes it (``3,5`` in French and Dutch)."""
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return typographic(format_decimal(value, format=pattern, locale=self.locale), self.language)

    def percent(self, share: float) -> str:
        """A share (0.5) as a percentage in the language's way (``50 %`` in French, ``50%`` in English)."""
        return typographic(format_percent(share, locale=self.locale), self.language)

    def _format(self, msgid: str, text: str, params: dict[str, Any]) -> str:
        if not params:
            return text
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            logger.exception("broken translation of %r in %s", msgid, self.language)
            return msgid.format(**params)


@lru_cache(maxsize=8)
def translator(language: str) -> Translator:
    """The (cached) translator for ``language``; unknown languages fall back to French."""
    return Translator(language)


NARROW_NBSP = "\u202f"
"""The no-break space of French typography (espace fine insécable), used before ``: ; ! ?``, inside
« » and in numbers and units. One character everywhere, so that French output is consistent."""


def label_separator(language: str) -> str:
    """What separates a label from its value: ``": "``, and ``"\u202f: "`` in French."""
    return NARROW_NBSP + ": " if language == "fr" else ": "


def typographic(text: str, language: str) -> str:
    """``text`` with the no-break spaces of ``language``: in French, CLDR's U+00A0 becomes U+202F."""
    return text.replace("\xa0", NARROW_NBSP) if language == "fr" else text


def language_from_locale(locale: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """``"fr-BE"``, ``"nl_BE"``, ``"en"`` → ``fr``/``nl``/``en``; anything else → ``default``."""
    if not locale:
        return default
    language = locale.replace("_", "-").split("-")[0].lower()
    return language if language in SUPPORTED_LANGUAGES else default
