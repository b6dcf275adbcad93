"""Checks of what users type during the intake. Each returns the cleaned value or raises
:class:`~bot.errors.ValidationFailed` with a message that says what is expected."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.errors import ValidationFailed

TITLE_MIN, TITLE_MAX = 3, 120
_EXTENSION = re.compile(r"^\d{3,6}$")


def clean_title(text: str) -> str:
    """A ticket title: 3 to 120 characters on one line."""
    title = " ".join(text.split())
    if len(title) < TITLE_MIN:
        raise ValidationFailed("The title is too short: give a few words that describe the problem.")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(
            "The title is limited to {limit} characters (yours has {length}). Please type a shorter title.",
            limit=TITLE_MAX,
            length=len(title),
        )
    return title


def clean_url(text: str) -> str:
    """An http(s) address; ``www.example.be/x`` becomes ``https://www.example.be/x``."""
    candidate = text.strip().strip("<>")
    if "://" not in candidate:
        candidate = "https://" + candidate
    parts = urlsplit(candidate)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or " " in candidate:
        raise ValidationFailed(
            "“{value}” is not a web address. Type it like https://intranet.example.be/page, or skip.",
            value=text.strip()[:200],
        )
    if "." not in host and "://" not in text:
        raise ValidationFailed(
            "“{value}” is not a web address. Type it like https://intranet.example.be/page, or skip.",
            value=text.strip()[:200],
        )
    return candidate


def clean_phone(text: str, region: str = "BE") -> str:
    """A phone number (international format) or an internal extension of 3 to 6 digits."""
    value = text.strip()
    compact = re.sub(r"[\s./-]", "", value)
    if _EXTENSION.match(compact):
        return compact
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise ValidationFailed(
            "“{value}” is not a phone number. Type it like 0470 12 34 56, +32 2 123 45 67 or an extension like 4321.",
            value=value[:60],
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clean_email(text: str) -> str:
    """An email address, normalised."""
    value = text.strip()
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise ValidationFailed(
            "“{value}” is not an email address. Type it like firstname.lastname@example.be.", value=value[:120]
        ) from None


def clean_text(text: str, limit: int) -> str:
    """Free text up to ``limit`` characters."""
    value = text.strip()
    if len(value) > limit:
        raise ValidationFailed(
            "That text is too long ({length} characters, at most {limit}). Send the rest in a second message "
            "or as a file.",
            length=len(value),
            limit=limit,
        )
    return value
