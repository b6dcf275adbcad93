"""Checks of what users type during the intake. Each returns the cleaned value or raises
:class:`~bot.errors.ValidationFailed` with a message that says what is expected."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from bot.errors import ValidationFailed

TITLE_MIN, TITLE_MAX = 3, 120
URL_MAX = 2000
TICKET_NUMBER_MAX = 2**31 - 1
"""The largest ticket (or problem) number: the database's integer column."""
_EXTENSION = re.compile(r"^\d{3,6}$")
_TICKET_NUMBER = re.compile(r"#?([0-9]{1,10})")
_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_NOT_A_URL = "“{value}” is not a web address. Type it like https://intranet.example.be/page, or skip."


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
    """An http(s) address; ``www.example.be/x`` becomes ``https://www.example.be/x``.

    The host must be an IP address or a host name whose labels are valid once IDNA-encoded
    (``bücher.example.be`` is kept as typed); spaces, control and format characters, brackets
    outside an IPv6 literal and impossible ports are refused with the polite answer.
    """
    typed = text.strip()
    candidate = typed.strip("<>")
    refused = ValidationFailed(_NOT_A_URL, value=shown_value(typed, 200))
    if not candidate or len(candidate) > URL_MAX or any(_invisible(ch) for ch in candidate):
        raise refused
    if "://" not in candidate:
        candidate = "https://" + candidate
    try:
        parts = urlsplit(candidate)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - reading it validates it (ValueError when out of range or not a number)
    except ValueError:
        raise refused from None
    if parts.scheme not in ("http", "https") or not _valid_host(host):
        raise refused
    if "." not in host and ":" not in host and "://" not in typed:
        raise refused
    return candidate


def _invisible(ch: str) -> bool:
    """Whitespace, control, format (bidi), surrogate, private-use or unassigned characters."""
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def shown_value(text: str, limit: int) -> str:
    """What the user typed, as shown back in an error message: invisible characters removed, clipped."""
    visible = "".join(ch if not _invisible(ch) or ch == " " else " " for ch in text)
    return " ".join(visible.split())[:limit]


def parse_ticket_number(text: str) -> int | None:
    """``"12"`` or ``"#12"`` → 12; None for anything else, zero, or a number beyond the database's range.

    Only ASCII digits count (``"²"`` or Arabic-Indic digits are not ticket numbers).
    """
    match = _TICKET_NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number if 1 <= number <= TICKET_NUMBER_MAX else None


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
            value=shown_value(value, 60),
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clean_email(text: str) -> str:
    """An email address, normalised."""
    value = text.strip()
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise ValidationFailed(
            "“{value}” is not an email address. Type it like firstname.lastname@example.be.",
            value=shown_value(value, 120),
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
