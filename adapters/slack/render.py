"""Core replies → Slack Block Kit and mrkdwn: the ONE place where Slack markup is produced.

Message bodies, which carry what people typed, are ``rich_text`` blocks: their ``text`` elements are
literal — Slack never interprets them, so a requester's ``*bold*``, ``<!channel>``, ``<@U123>`` or
``<https://evil|bank>`` shows up as typed and never formats, pings or links — and the web addresses
in them (``http://``, ``https://``) become ``link`` elements, clickable, showing the address itself
(:func:`rich_text`). Ticket cards are ``plain_text`` fields, except a field that is one web address
(the URL concerned), a mrkdwn link to it whose label and address are escaped. Every other
string that lands in a mrkdwn field (the fallback text of notifications, modal notices) goes
through :func:`escape`, which makes mentions and links inert. Block Kit limits (characters per block, fields per
section, elements per actions block, blocks per message or view) are enforced here by
truncation, so a long ticket never turns into an ``invalid_blocks`` API error.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import language_from_locale
from bot.port import Button, Image, OutgoingMessage, TicketCard
from bot.sla.priority import IMPACTS, URGENCIES

logger = logging.getLogger(__name__)

Block = dict[str, Any]

# Slack's documented limits (https://docs.slack.dev/reference/block-kit).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_FIELDS_PER_SECTION = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 3000
MAX_VIEW_TITLE = 24
MAX_INPUT_VALUE = 3000
MAX_PRIVATE_METADATA = 3000
MAX_FILE_TITLE = 250
MAX_ALT_TEXT = 1000
BUTTONS_PER_ROW = 5
"""An actions block may hold 25 elements; five per row keeps them readable on a phone."""

BUTTON_ACTION_PREFIX = "hd_btn_"
"""``action_id`` of core buttons: ``hd_btn_<n>``, unique inside one message."""
OPEN_INTAKE_ACTION = "hd_open_intake"
INTAKE_CALLBACK_ID = "hd_intake"
PROMPT_CALLBACK_ID = "hd_prompt"
CALL_CALLBACK_ID = "hd_call"
PROMPT_FIELD = "answer"

INTAKE_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "error_message",
    "url",
    "started",
    "impact",
    "urgency",
    "contact_name",
    "contact_phone",
    "contact_email",
)
"""Field names of the intake modal: each is the ``block_id`` and ``action_id`` of its input."""

CALLER_FIELDS: tuple[str, ...] = ("caller_user", "caller_email", "caller_name", "caller_phone")
"""Who called, in the call modal: a Slack user (``users_select``), else an address, else a name and number."""
CALL_FIELDS: tuple[str, ...] = (*CALLER_FIELDS, *INTAKE_FIELDS[:7])
"""Every field of the call modal: the caller, then the intake's questions (the contact is the caller)."""

IMPACT_CODES: tuple[str, ...] = IMPACTS
URGENCY_CODES: tuple[str, ...] = URGENCIES

_CATALOG: dict[str, dict[str, str]] = {
    "fr": {
        "modal_title": "Signaler un problème",
        "submit": "Envoyer",
        "close": "Annuler",
        "intro": "Décrivez le problème\u202f: un technicien vous répondra dans votre conversation avec le bot.",
        "title": "Titre",
        "title_hint": "En une phrase\u202f: ce qui ne fonctionne pas",
        "description": "Description",
        "description_hint": "Ce que vous faisiez, ce qui s'est passé, ce que vous avez déjà essayé",
        "error_message": "Message d'erreur complet",
        "url": "Adresse (URL) concernée",
        "started": "Depuis quand\u202f?",
        "started_hint": "Par exemple\u202f: ce matin vers 9 h",
        "impact": "Qui est touché\u202f?",
        "impact.me": "Moi seul·e",
        "impact.team": "Mon équipe",
        "impact.site": "Tout le site",
        "urgency": "Urgence",
        "urgency.low": "Cela peut attendre",
        "urgency.medium": "Je peux travailler, mais au ralenti",
        "urgency.high": "Je suis bloqué·e",
        "contact_name": "Nom du contact",
        "contact_phone": "Téléphone",
        "contact_email": "E-mail",
        "err.title_required": "Indiquez un titre.",
        "err.too_long": "Ce texte est trop long ({limit} caractères au maximum).",
        "err.email": "Cette adresse e-mail n'est pas valide.",
        "err.url": "Indiquez une adresse web complète, commençant par http:// ou https://.",
        "err.phone": "Ce numéro de téléphone n'est pas valide.",
        "err.choice": "Choisissez une des options proposées.",
        "pending": "Création de votre ticket…",
        "created_title": "Ticket créé",
        "failed": "Désolé, votre ticket n'a pas pu être créé. Réessayez dans un instant.",
        "home_header": "Vos tickets ouverts",
        "home_empty": "Vous n'avez aucun ticket ouvert.",
        "home_more": "… et {count} autres\u202f: tapez /helpdesk mytickets.",
        "report": "Signaler un problème",
        "moved_to_dm": "Je vous réponds en message privé.",
        "prompt_title": "Votre réponse",
        "prompt_label": "Texte",
        "err.answer_required": "Tapez un texte.",
        "truncated": "… (texte raccourci)",
        "call_title": "Appel téléphonique",
        "call_intro": "Qui a appelé\u202f? Un utilisateur Slack, ou une adresse e-mail, ou un nom et un numéro. "
        "Puis le problème, tel que l'appelant le décrit\u202f: il sera prévenu sur sa plateforme ou par e-mail.",
        "caller_user": "Utilisateur Slack",
        "caller_email": "Adresse e-mail de l'appelant",
        "caller_name": "Nom de l'appelant",
        "caller_phone": "Numéro de l'appelant",
        "caller_hint": "Obligatoire sans utilisateur ni adresse e-mail",
        "err.caller": "Indiquez qui a appelé\u202f: un utilisateur, une adresse e-mail, ou un nom et un numéro.",
        "err.caller_name": "Indiquez aussi le nom de l'appelant.",
        "err.caller_phone": "Indiquez aussi le numéro de l'appelant.",
        "call_pending": "Enregistrement de l'appel…",
        "call_done_title": "Appel enregistré",
        "call_failed": "Désolé, l'appel n'a pas pu être enregistré. Réessayez dans un instant.",
    },
    "en": {
        "modal_title": "Report a problem",
        "submit": "Send",
        "close": "Cancel",
        "intro": "Describe the problem: a technician will answer you in your conversation with the bot.",
        "title": "Title",
        "title_hint": "In one sentence: what does not work",
        "description": "Description",
        "description_hint": "What you were doing, what happened, what you already tried",
        "error_message": "Full error message",
        "url": "Web address (URL) concerned",
        "started": "Since when?",
        "started_hint": "For example: this morning around 9",
        "impact": "Who is affected?",
        "impact.me": "Just me",
        "impact.team": "My team",
        "impact.site": "The whole site",
        "urgency": "Urgency",
        "urgency.low": "It can wait",
        "urgency.medium": "I can work, but slowed down",
        "urgency.high": "I am blocked",
        "contact_name": "Contact name",
        "contact_phone": "Phone",
        "contact_email": "Email",
        "err.title_required": "Please give a title.",
        "err.too_long": "This text is too long ({limit} characters at most).",
        "err.email": "This email address is not valid.",
        "err.url": "Give a complete web address, starting with http:// or https://.",
        "err.phone": "This phone number is not valid.",
        "err.choice": "Pick one of the options.",
        "pending": "Creating your ticket…",
        "created_title": "Ticket created",
        "failed": "Sorry, your ticket could not be created. Try again in a moment.",
        "home_header": "Your open tickets",
        "home_empty": "You have no open ticket.",
        "home_more": "… and {count} more: type /helpdesk mytickets.",
        "report": "Report a problem",
        "moved_to_dm": "I am answering you in a direct message.",
        "prompt_title": "Your answer",
        "prompt_label": "Text",
        "err.answer_required": "Please type some text.",
        "truncated": "… (text shortened)",
        "call_title": "Phone call",
        "call_intro": "Who called? A Slack user, or an e-mail address, or a name and a number. "
        "Then the problem, as the caller describes it: they are told on their platform or by e-mail.",
        "caller_user": "Slack user",
        "caller_email": "Caller's e-mail address",
        "caller_name": "Caller's name",
        "caller_phone": "Caller's number",
        "caller_hint": "Required without a user or an e-mail address",
        "err.caller": "Say who called: a user, an e-mail address, or a name and a number.",
        "err.caller_name": "Give the caller's name too.",
        "err.caller_phone": "Give the caller's number too.",
        "call_pending": "Logging the call…",
        "call_done_title": "Call logged",
        "call_failed": "Sorry, the call could not be logged. Try again in a moment.",
    },
    "nl": {
        "modal_title": "Een probleem melden",
        "submit": "Versturen",
        "close": "Annuleren",
        "intro": "Beschrijf het probleem: een technicus antwoordt u in uw gesprek met de bot.",
        "title": "Titel",
        "title_hint": "In één zin: wat werkt er niet",
        "description": "Beschrijving",
        "description_hint": "Wat u aan het doen was, wat er gebeurde, wat u al geprobeerd hebt",
        "error_message": "Volledige foutmelding",
        "url": "Betrokken webadres (URL)",
        "started": "Sinds wanneer?",
        "started_hint": "Bijvoorbeeld: vanochtend rond 9 uur",
        "impact": "Wie wordt getroffen?",
        "impact.me": "Alleen ik",
        "impact.team": "Mijn team",
        "impact.site": "De hele site",
        "urgency": "Dringendheid",
        "urgency.low": "Het kan wachten",
        "urgency.medium": "Ik kan werken, maar trager",
        "urgency.high": "Ik zit vast",
        "contact_name": "Naam contactpersoon",
        "contact_phone": "Telefoon",
        "contact_email": "E-mail",
        "err.title_required": "Geef een titel op.",
        "err.too_long": "Deze tekst is te lang (maximaal {limit} tekens).",
        "err.email": "Dit e-mailadres is niet geldig.",
        "err.url": "Geef een volledig webadres op, beginnend met http:// of https://.",
        "err.phone": "Dit telefoonnummer is niet geldig.",
        "err.choice": "Kies een van de opties.",
        "pending": "Uw ticket wordt aangemaakt…",
        "created_title": "Ticket aangemaakt",
        "failed": "Sorry, uw ticket kon niet worden aangemaakt. Probeer het zo opnieuw.",
        "home_header": "Uw open tickets",
        "home_empty": "U hebt geen open tickets.",
        "home_more": "… en nog {count}: typ /helpdesk mytickets.",
        "report": "Een probleem melden",
        "moved_to_dm": "Ik antwoord u in een privébericht.",
        "prompt_title": "Uw antwoord",
        "prompt_label": "Tekst",
        "err.answer_required": "Typ een tekst.",
        "truncated": "… (tekst ingekort)",
        "call_title": "Telefoonoproep",
        "call_intro": "Wie belde er? Een Slack-gebruiker, of een e-mailadres, of een naam en een nummer. "
        "Dan het probleem, zoals de beller het beschrijft: die wordt op zijn platform of per e-mail verwittigd.",
        "caller_user": "Slack-gebruiker",
        "caller_email": "E-mailadres van de beller",
        "caller_name": "Naam van de beller",
        "caller_phone": "Nummer van de beller",
        "caller_hint": "Verplicht zonder gebruiker of e-mailadres",
        "err.caller": "Geef aan wie er belde: een gebruiker, een e-mailadres, of een naam en een nummer.",
        "err.caller_name": "Geef ook de naam van de beller.",
        "err.caller_phone": "Geef ook het nummer van de beller.",
        "call_pending": "De oproep wordt geregistreerd…",
        "call_done_title": "Oproep geregistreerd",
        "call_failed": "Sorry, de oproep kon niet worden geregistreerd. Probeer het zo opnieuw.",
    },
}


def text_for(locale: str | None, key: str, **params: Any) -> str:
    """The adapter's own wording (modal, App Home) in the user's language; French by default."""
    table = _CATALOG[language_from_locale(locale)]
    text = table[key]
    return text.format(**params) if params else text


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for mrkdwn: mentions, ``<!channel>`` and links become inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``ellipsis`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))] + ellipsis


def _fitting(text: str, limit: int) -> int:
    """Length of the longest prefix of ``text`` whose escaped form has at most ``limit`` characters."""
    size = 0
    for index, char in enumerate(text):
        size += len(escape(char))
        if size > limit:
            return index
    return len(text)


def mrkdwn(text: str, limit: int) -> str:
    """Escaped ``text`` of at most ``limit`` characters; a cut never splits an ``&amp;`` entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return escape(text[: _fitting(text, limit - 1)]) + "…"


def plain(text: str, limit: int) -> dict[str, Any]:
    """A ``plain_text`` object (never interpreted as mrkdwn, so no escaping), cut to ``limit``."""
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


@dataclass(frozen=True)
class RenderedMessage:
    """The arguments of chat.postMessage / chat.update / chat.postEphemeral for one message."""

    text: str
    """Fallback text (notifications, screen readers): escaped mrkdwn."""
    blocks: list[Block]
    file_uploads: list[dict[str, Any]] = field(default_factory=list)
    """The ``file_uploads`` argument of ``files_upload_v2`` for the message's images (uploaded after the text)."""


def _split_text(text: str, limit: int) -> list[str]:
    """Split long text into chunks of at most ``limit`` escaped characters, at line breaks when possible."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(escape(candidate)) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while len(escape(line)) > limit:
            cut = _fitting(line, limit)
            chunks.append(line[:cut])
            line = line[cut:]
        current = line
    if current or not chunks:
        chunks.append(current)
    return chunks


_URL = re.compile(r"https?://[^\s<>\"«»“”]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?'’)]}"
"""Punctuation that ends a sentence rather than the address it follows (``see https://x.be/a.``)."""


def rich_text(text: str) -> list[Block]:
    """The ``rich_text_section`` elements of ``text``: literal ``text`` elements (never interpreted: no
    formatting, mention or link injection), and a ``link`` element for each web address, shown as typed."""
    elements: list[Block] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TAIL)
        if len(url) <= len("https://") or "." not in url.split("://", 1)[1]:
            continue
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "link", "url": url, "text": url})
        position = match.start() + len(url)
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    return elements


def _text_blocks(text: str) -> list[Block]:
    if not text.strip():
        return []
    return [
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": rich_text(chunk)}]}
        for chunk in _split_text(text, MAX_SECTION_TEXT)
    ]


def _card_field(label: str, value: str) -> Block:
    """One card field: plain text, or — when the value is one web address — a mrkdwn link to it (label and
    address escaped, ``|`` percent-encoded so that the address cannot carry a label of its own)."""
    value = value.strip()
    match = _URL.fullmatch(value)
    if match and len(value) <= MAX_FIELD_TEXT - 210:
        target = escape(value.replace("|", "%7C"))
        return {"type": "mrkdwn", "text": f"{mrkdwn(truncate(label, 200), 600)}\n<{target}>", "verbatim": True}
    return plain(f"{truncate(label, 200)}\n{truncate(value, MAX_FIELD_TEXT - 210) or '—'}", MAX_FIELD_TEXT)


def card_blocks(card: TicketCard) -> list[Block]:
    """A ticket card: its headline as a header, then its ``(label, value)`` pairs as section fields.

    Plain text, the headline and the values being what the requester typed; a value that is one web address
    is a link (:func:`_card_field`).
    """
    blocks: list[Block] = [
        {
            "type": "header",
            "block_id": f"hd_card_{card.number}",
            "text": plain(f"#{card.number} — {card.headline}", MAX_HEADER_TEXT),
        }
    ]
    fields = [_card_field(label, value) for label, value in card.fields]
    for start in range(0, len(fields), MAX_FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS_PER_SECTION]})
    return blocks


def button_element(button: Button, index: int) -> Block:
    """One Block Kit button; ``action_id`` ``hd_btn_<index>``, ``value`` the core's opaque value."""
    element: Block = {
        "type": "button",
        "action_id": f"{BUTTON_ACTION_PREFIX}{index}",
        "text": plain(button.label, MAX_BUTTON_TEXT),
        "value": button.value,
    }
    if button.style:
        element["style"] = button.style
    return element


def action_blocks(buttons: Sequence[Button]) -> list[Block]:
    """Buttons in rows of :data:`BUTTONS_PER_ROW`; a value longer than Slack accepts is left out (logged)."""
    elements = []
    for index, button in enumerate(buttons):
        if len(button.value) > MAX_BUTTON_VALUE:
            logger.error("button %r dropped: its value is longer than %d characters", button.label, MAX_BUTTON_VALUE)
            continue
        elements.append(button_element(button, index))
    return [
        {
            "type": "actions",
            "block_id": f"hd_actions_{row}",
            "elements": elements[start : start + BUTTONS_PER_ROW],
        }
        for row, start in enumerate(range(0, len(elements), BUTTONS_PER_ROW))
    ]


def file_uploads(images: Sequence[Image]) -> list[dict[str, Any]]:
    """Images as ``files_upload_v2(file_uploads=...)`` items: bytes, file name, title and alt text.

    Titles and alt texts are plain text for Slack (never mrkdwn), so they are only cut, not escaped.
    """
    return [
        {
            "file": image.data,
            "filename": image.filename,
            "title": truncate(image.title or image.filename, MAX_FILE_TITLE),
            "alt_txt": truncate(image.title or image.filename, MAX_ALT_TEXT),
        }
        for image in images
    ]


def render_message(message: OutgoingMessage) -> RenderedMessage:
    """Render a core message; at most :data:`MAX_MESSAGE_BLOCKS` blocks (long text is shortened)."""
    actions = action_blocks(message.buttons)
    card = card_blocks(message.card) if message.card else []
    text = _text_blocks(message.text)
    budget = MAX_MESSAGE_BLOCKS - len(actions)
    if len(card) > budget:
        card = card[:budget]
    budget -= len(card)
    if len(text) > budget:
        text = text[: max(0, budget - 1)]
        text.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "…"}]})
        text = text[:budget]
    fallback_source = message.text or (f"#{message.card.number} — {message.card.headline}" if message.card else "")
    return RenderedMessage(
        text=mrkdwn(fallback_source, MAX_FALLBACK_TEXT) or " ",
        blocks=text + card + actions,
        file_uploads=file_uploads(message.images),
    )


# --- Views: intake modal, progress, App Home --------------------------------------------


def _input(field: str, locale: str | None, element: Block, *, optional: bool, hint: str | None = None) -> Block:
    block: Block = {
        "type": "input",
        "block_id": field,
        "optional": optional,
        "label": plain(text_for(locale, field), 150),
        "element": {**element, "action_id": field},
    }
    if hint:
        block["hint"] = plain(text_for(locale, hint), 150)
    return block


def _text_input(initial: str | None, *, multiline: bool = False, max_length: int = MAX_INPUT_VALUE) -> Block:
    element: Block = {"type": "plain_text_input", "multiline": multiline, "max_length": max_length}
    if initial:
        element["initial_value"] = truncate(initial, max_length)
    return element


def _select(field: str, codes: Sequence[str], initial: str | None, locale: str | None) -> Block:
    options = [{"text": plain(text_for(locale, f"{field}.{code}"), 75), "value": code} for code in codes]
    element: Block = {"type": "static_select", "options": options}
    chosen = [option for option in options if option["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return element


def _problem_inputs(locale: str | None, prefill: Mapping[str, str]) -> list[Block]:
    """The intake's questions about the problem (title to urgency), shared by the intake and call modals."""
    get = prefill.get
    return [
        _input("title", locale, _text_input(get("title"), max_length=200), optional=False, hint="title_hint"),
        _input(
            "description",
            locale,
            _text_input(get("description"), multiline=True),
            optional=False,
            hint="description_hint",
        ),
        _input("error_message", locale, _text_input(get("error_message"), multiline=True), optional=True),
        _input("url", locale, _text_input(get("url"), max_length=2000), optional=True),
        _input("started", locale, _text_input(get("started"), max_length=200), optional=True, hint="started_hint"),
        _input("impact", locale, _select("impact", IMPACT_CODES, get("impact") or "me", locale), optional=False),
        _input(
            "urgency",
            locale,
            _select("urgency", URGENCY_CODES, get("urgency") or "medium", locale),
            optional=False,
        ),
    ]


def intake_modal(
    locale: str | None,
    prefill: Mapping[str, str],
    *,
    private_metadata: Mapping[str, str] | None = None,
    problem: str | None = None,
) -> Block:
    """The "Report a problem" modal with every intake field; ``prefill`` gives initial values.

    ``problem`` (already translated) is shown at the top when the core refused a value
    after the modal was submitted, so the user can fix it without retyping anything.
    """
    get = prefill.get
    blocks: list[Block] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(text_for(locale, "intro"))}]}
    ]
    if problem:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {mrkdwn(problem, 2900)}"}})
    blocks += [
        *_problem_inputs(locale, prefill),
        _input("contact_name", locale, _text_input(get("contact_name"), max_length=200), optional=False),
        _input("contact_phone", locale, _text_input(get("contact_phone"), max_length=50), optional=True),
        _input("contact_email", locale, _text_input(get("contact_email"), max_length=254), optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": INTAKE_CALLBACK_ID,
        "title": plain(text_for(locale, "modal_title"), MAX_VIEW_TITLE),
        "submit": plain(text_for(locale, "submit"), MAX_VIEW_TITLE),
        "close": plain(text_for(locale, "close"), MAX_VIEW_TITLE),
        "private_metadata": truncate(json.dumps(dict(private_metadata or {})), MAX_PRIVATE_METADATA, ""),
        "blocks": blocks,
    }


def call_modal(
    locale: str | None,
    prefill: Mapping[str, str],
    *,
    private_metadata: Mapping[str, str] | None = None,
    problem: str | None = None,
) -> Block:
    """The "Phone call" modal a technician fills while on the phone: who called, then the intake's questions.

    Who called is a Slack user (``caller_user``, a ``users_select``), else an e-mail address, else a name
    and a number; the name, number and address also complete a Slack user's contact details.
    ``problem`` (already translated) is shown at the top when the core refused a value.
    """
    get = prefill.get
    blocks: list[Block] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(text_for(locale, "call_intro"))}]}
    ]
    if problem:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":warning: {mrkdwn(problem, 2900)}"}})
    user: Block = {"type": "users_select"}
    if get("caller_user"):
        user["initial_user"] = get("caller_user")
    blocks += [
        _input("caller_user", locale, user, optional=True),
        _input("caller_email", locale, _text_input(get("caller_email"), max_length=254), optional=True),
        _input("caller_name", locale, _text_input(get("caller_name"), max_length=200), optional=True),
        _input(
            "caller_phone",
            locale,
            _text_input(get("caller_phone"), max_length=50),
            optional=True,
            hint="caller_hint",
        ),
        {"type": "divider"},
        *_problem_inputs(locale, prefill),
    ]
    return {
        "type": "modal",
        "callback_id": CALL_CALLBACK_ID,
        "title": plain(text_for(locale, "call_title"), MAX_VIEW_TITLE),
        "submit": plain(text_for(locale, "submit"), MAX_VIEW_TITLE),
        "close": plain(text_for(locale, "close"), MAX_VIEW_TITLE),
        "private_metadata": truncate(json.dumps(dict(private_metadata or {})), MAX_PRIVATE_METADATA, ""),
        "blocks": blocks,
    }


def notice_modal(locale: str | None, body: str, *, title_key: str = "modal_title") -> Block:
    """A modal that only shows ``body`` (plain text from the core or the adapter, escaped)."""
    return {
        "type": "modal",
        "title": plain(text_for(locale, title_key), MAX_VIEW_TITLE),
        "close": plain("OK", MAX_VIEW_TITLE),
        "blocks": _text_blocks(body)[:MAX_VIEW_BLOCKS]
        or [{"type": "section", "text": {"type": "mrkdwn", "text": " "}}],
    }


def prompt_modal(locale: str | None, question: str, private_metadata: Mapping[str, str]) -> Block:
    """A modal asking one free-text answer (a resolution note, a question for the requester)."""
    return {
        "type": "modal",
        "callback_id": PROMPT_CALLBACK_ID,
        "title": plain(text_for(locale, "prompt_title"), MAX_VIEW_TITLE),
        "submit": plain(text_for(locale, "submit"), MAX_VIEW_TITLE),
        "close": plain(text_for(locale, "close"), MAX_VIEW_TITLE),
        "private_metadata": truncate(json.dumps(dict(private_metadata)), MAX_PRIVATE_METADATA, ""),
        "blocks": [
            *_text_blocks(question)[:5],
            {
                "type": "input",
                "block_id": PROMPT_FIELD,
                "label": plain(text_for(locale, "prompt_label"), 150),
                "element": {**_text_input(None, multiline=True), "action_id": PROMPT_FIELD},
            },
        ],
    }


MAX_HOME_TICKETS = 20


def home_view(locale: str | None, tickets: Sequence[OutgoingMessage]) -> Block:
    """App Home: a "Report a problem" button and the user's open tickets (their cards, else their text)."""
    blocks: list[Block] = [
        {"type": "header", "text": plain(text_for(locale, "home_header"), 150)},
        {
            "type": "actions",
            "block_id": "hd_home_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": OPEN_INTAKE_ACTION,
                    "style": "primary",
                    "text": plain(text_for(locale, "report"), MAX_BUTTON_TEXT),
                    "value": "open_intake",
                }
            ],
        },
    ]
    if not tickets:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(text_for(locale, "home_empty"))}})
    for ticket in tickets[:MAX_HOME_TICKETS]:
        blocks.append({"type": "divider"})
        blocks.extend(card_blocks(ticket.card) if ticket.card else _text_blocks(ticket.text)[:3])
    if len(tickets) > MAX_HOME_TICKETS:
        more = text_for(locale, "home_more", count=len(tickets) - MAX_HOME_TICKETS)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(more)}]})
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
