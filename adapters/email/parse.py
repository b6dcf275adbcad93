"""Reading one incoming mail: who sent it, what it is about, and whether a person wrote it.

:func:`parse_mail` turns the raw bytes fetched from IMAP into an :class:`InboundMail`:

* the body as plain text — the ``text/plain`` part, else the ``text/html`` part converted to
  text (inscriptis) — with the quoted history and the signature removed (mail-parser-reply,
  French, English and Dutch rules);
* attachments as references (part number, file name, type), never their bytes: the mail itself
  stays in the processed folder, where technicians open them;
* its :attr:`InboundMail.kind`: ``person`` for a mail a human wrote, else ``auto_reply``
  (RFC 3834 ``Auto-Submitted``, out-of-office headers and subjects), ``bounce`` (a
  delivery-status report, RFC 3464) or ``bulk`` (mailing lists, newsletters, ``Precedence``) —
  those are never answered nor turned into tickets.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from typing import Literal

from inscriptis import get_text
from mailparser_reply import EmailReplyParser

from bot.text import clean_input, clean_name

MailKind = Literal["person", "auto_reply", "bounce", "bulk"]

REPLY_LANGUAGES = ["fr", "en", "nl"]
_REPLY_PARSER = EmailReplyParser(languages=REPLY_LANGUAGES)
_TICKET_IN_SUBJECT = re.compile(r"\[#(\d{1,9})\]")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|tr|aw|wg|antw|doorst)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|absent|absence|"
    r"réponse automatique|reponse automatique|automatisch antwoord|afwezig|niet aanwezig|"
    r"delivery status notification|undeliverable|undelivered mail|mail delivery failed|non remis|"
    r"onbestelbaar)",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
MESSAGE_ID_MAX = 120
"""Longest identifier stored as is (the ``message_refs`` column); longer ones are stored as a hash."""


@dataclass(frozen=True)
class MailAttachment:
    """A file attached to a mail: where it is in the mail, never its bytes."""

    part: int
    name: str
    mime_type: str
    size: int


@dataclass(frozen=True)
class InboundMail:
    """One incoming mail, read and classified."""

    message_id: str
    """The sender's ``Message-ID`` without angle brackets (a hash of the mail when it has none)."""
    sender: str
    """The sender's address, lower case (``From``)."""
    sender_name: str
    subject: str
    body: str
    """What the person wrote: plain text, without quoted history nor signature."""
    full_text: str
    """The whole text part (with the quoted history), for keywords typed in odd places."""
    in_reply_to: tuple[str, ...] = ()
    """``In-Reply-To`` then ``References`` identifiers, most recent first, without brackets."""
    attachments: tuple[MailAttachment, ...] = ()
    kind: MailKind = "person"
    kind_reason: str = ""
    """Why the mail is not from a person (the header or subject that told), for the log."""
    language: str | None = None
    """``Content-Language`` (of the mail or of its text part), else ``Accept-Language``, when set."""
    size: int = 0
    bounced_recipients: tuple[str, ...] = ()
    """For a bounce: the addresses that could not be reached (``Final-Recipient``)."""
    bounced_message_ids: tuple[str, ...] = field(default=())
    """For a bounce: the ``Message-ID`` of the mail that did not arrive (the bot's own mail)."""
    calendars: tuple[bytes, ...] = ()
    """The iCalendar parts (``text/calendar``, ``.ics``): a calendar's answer to a visit invitation."""

    @property
    def ticket_number(self) -> int | None:
        """The ticket number quoted in the subject (``[#1042]``), if any."""
        match = _TICKET_IN_SUBJECT.search(self.subject)
        return int(match.group(1)) if match else None

    @property
    def title(self) -> str:
        """The subject without ``Re:``/``Fwd:``/``TR:`` prefixes nor the ticket number."""
        cleaned = _SUBJECT_PREFIX.sub("", self.subject)
        cleaned = _TICKET_IN_SUBJECT.sub("", cleaned)
        return " ".join(cleaned.split())


def stored_id(message_id: str) -> str:
    """A Message-ID as stored in ``message_refs`` (a stable hash when it is too long)."""
    if len(message_id) <= MESSAGE_ID_MAX:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    return [match.strip() for match in re.findall(r"<([^<>\s]+)>", str(value))]


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return str(value).strip() if value is not None else ""


def classify(message: Message) -> tuple[MailKind, str]:
    """Whether a person wrote ``message``: ``(kind, reason)`` — see :data:`MailKind`."""
    content_type = message.get_content_type()
    if content_type == "multipart/report" and message.get_param("report-type") == "delivery-status":
        return "bounce", "multipart/report; report-type=delivery-status"
    sender = parseaddr(clean_input(_header(message, "From")))[1]
    return_path = _header(message, "Return-Path")
    if _BOUNCE_SENDERS.match(sender) or return_path == "<>":
        return "bounce", f"sender {sender or return_path}"
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return "auto_reply", f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(message, name):
            return "auto_reply", name
    suppress = _header(message, "X-Auto-Response-Suppress").lower()
    if (
        suppress
        and any(word in suppress for word in ("oof", "autoreply", "all"))
        and _AUTO_SUBJECT.match(_header(message, "Subject"))
    ):
        return "auto_reply", "X-Auto-Response-Suppress with an automatic subject"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("auto_reply", "auto-reply"):
        return "auto_reply", f"Precedence: {precedence}"
    if precedence in ("bulk", "list", "junk"):
        return "bulk", f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post", "X-Mailing-List"):
        if _header(message, name):
            return "bulk", name
    if _AUTO_SUBJECT.match(_header(message, "Subject")):
        return "auto_reply", "automatic subject"
    return "person", ""


def _bounce_details(message: Message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(failed recipients, Message-IDs of the mail that bounced)`` from a delivery-status report."""
    recipients: list[str] = []
    original_ids: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            for block in blocks:
                if not isinstance(block, Message):
                    continue
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
                if recipient and action in ("", "failed"):
                    address = recipient.split(";", 1)[-1].strip().lower()
                    if address and address not in recipients:
                        recipients.append(address)
        elif content_type in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                original_ids += _ids(str(payload[0].get("Message-ID", "")))
            elif isinstance(payload, str):
                found = re.search(r"^Message-ID:\s*(<[^>]+>)", payload, re.IGNORECASE | re.MULTILINE)
                if found:
                    original_ids += _ids(found.group(1))
    return tuple(recipients), tuple(original_ids)


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    text = str(content)
    if part.get_content_type() == "text/html":
        text = get_text(text)
    return text.replace("\r\n", "\n").strip()


def strip_history(text: str) -> str:
    """What the person wrote above the quoted history, without the signature (fr, en, nl)."""
    if not text.strip():
        return ""
    try:
        replies = _REPLY_PARSER.read(text).replies
    except Exception:  # a parser bug must not lose the mail: keep the whole text
        return text.strip()
    body = replies[0].body.strip() if replies else ""
    return body or text.strip()


def _attachments(message: EmailMessage) -> tuple[MailAttachment, ...]:
    found = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        name = part.get_filename()
        if disposition == "attachment" or (name and disposition == "inline"):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            found.append(MailAttachment(index, name or f"part-{index}", part.get_content_type(), size))
    return tuple(found)


def _calendars(message: EmailMessage) -> tuple[bytes, ...]:
    found = []
    for part in message.walk():
        name = (part.get_filename() or "").lower()
        if part.get_content_type() in ("text/calendar", "application/ics") or name.endswith(".ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                found.append(payload)
    return tuple(found)


def parse_mail(raw: bytes) -> InboundMail:
    """Read one mail as fetched from IMAP (``RFC822`` bytes)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    kind, reason = classify(message)
    name, address = parseaddr(clean_input(_header(message, "From")))
    reply_to = getaddresses([_header(message, "Reply-To")]) if _header(message, "Reply-To") else []
    own_ids = _ids(_header(message, "Message-ID"))
    message_id = own_ids[0] if own_ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    references = _ids(_header(message, "In-Reply-To")) + list(reversed(_ids(_header(message, "References"))))
    thread = tuple(dict.fromkeys(ref for ref in references if ref != message_id))
    full_text = _text_of(message)
    recipients: tuple[str, ...] = ()
    bounced_ids: tuple[str, ...] = ()
    if kind == "bounce":
        recipients, bounced_ids = _bounce_details(message)
    body_part = message.get_body(preferencelist=("plain", "html"))
    language = (
        _header(message, "Content-Language")
        or (_header(body_part, "Content-Language") if body_part is not None else "")
        or _header(message, "Accept-Language")
    ).split(",")[0]
    sender = (address or (reply_to[0][1] if reply_to else "")).strip().lower()
    # What the sender wrote enters the bot here: cleaned like every chat message (bot.text).
    full_text = clean_input(full_text)
    return InboundMail(
        message_id=message_id,
        sender=sender,
        sender_name=clean_name(name),
        subject=" ".join(clean_input(_header(message, "Subject")).split()),
        body=strip_history(full_text) if kind == "person" else full_text,
        full_text=full_text,
        in_reply_to=thread,
        attachments=_attachments(message) if kind == "person" else (),
        kind=kind,
        kind_reason=reason,
        language=language.strip() or None,
        size=len(raw),
        bounced_recipients=recipients,
        bounced_message_ids=bounced_ids,
        calendars=_calendars(message) if kind == "person" else (),
    )
