"""From a resolved ticket to a knowledge-base article: draft, review, publish.

:func:`draft_from_ticket` prefills an article (title, symptoms, error message, resolution)
with personal data left out (:func:`scrub`); :func:`save_draft` writes it as Markdown in the
article format under ``<knowledge>/drafts/`` (the loader ignores sub-folders), where a
technician reviews it; :func:`publish_draft` validates it with
:func:`~bot.knowledge.check_directory` and moves it into the knowledge folder, where the
running bot picks it up (see :class:`bot.kb_lifecycle.feedback.FeedbackRankedKnowledge`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import phonenumbers
import yaml

from bot.db.models import Ticket, TicketEvent
from bot.errors import KnowledgeBaseError
from bot.i18n import N_, translator
from bot.knowledge import check_directory
from bot.knowledge.articles import article_files
from bot.knowledge.text import ALL_STOP_WORDS, strip_accents, tokenise

DRAFTS_FOLDER = "drafts"

NAME = N_("[name]")
EMAIL = N_("[email]")
PHONE = N_("[phone]")
PERSONAL_ID = N_("[personal id]")
ACCOUNT = N_("[bank account]")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Belgian national register number: YY.MM.DD-XXX.CC, with or without separators.
_NATIONAL_ID = re.compile(r"(?<!\d)\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[.\s]?\d{2}(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_PHONE_FALLBACK = re.compile(r"(?<![\w.])(?:\+|00)\d[\d\s./-]{7,}\d(?![\w])")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>|(?<![\w.])@[A-Za-z][\w.-]{1,}")
_HONORIFIC = re.compile(
    r"\b(?:M\.|Mme|Mlle|Mr\.?|Mrs\.?|Ms\.?|Madame|Monsieur|Mademoiselle|Dhr\.?|Mevr\.?|Mevrouw|Meneer)"
    r"\s+[A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+)?"
)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class DraftArticle:
    """A draft article, ready to be written in the article format."""

    id: str
    title: str
    lang: str
    tags: tuple[str, ...]
    category: str
    body: str
    questions: tuple[str, ...] = ()
    """The requester's own wording (scrubbed): published, the matcher reads it like the title."""

    def to_markdown(self) -> str:
        """The article file: YAML front matter (id, title, lang, tags, category, questions), then the body."""
        meta: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "lang": self.lang,
            "tags": list(self.tags),
            "category": self.category,
        }
        if self.questions:
            meta["questions"] = list(self.questions)
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
        return f"---\n{front}---\n{self.body.strip()}\n"


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """``text`` with personal data replaced by placeholders.

    Removes e-mail addresses, phone numbers (any country, Belgian by default), Belgian national
    register numbers, bank accounts (IBAN), @mentions, people addressed with a title
    (``Mme Dupont``) and every word of the ``names`` given (the requester, contact,
    technicians), whole words only and ignoring case and accents.
    """
    text = _EMAIL.sub(EMAIL, text)
    text = _IBAN.sub(ACCOUNT, text)
    text = _NATIONAL_ID.sub(PERSONAL_ID, text)
    matches = list(phonenumbers.PhoneNumberMatcher(text, "BE"))
    for match in reversed(matches):
        text = text[: match.start] + PHONE + text[match.end :]
    text = _PHONE_FALLBACK.sub(PHONE, text)
    text = _MENTION.sub(NAME, text)
    text = _HONORIFIC.sub(NAME, text)
    parts = sorted(
        {
            p
            for name in names
            for p in re.split(r"[\s.,_:;/]+", name)
            if len(p) >= 2 and not p.isdigit() and p.lower() not in ALL_STOP_WORDS
        },
        key=len,
        reverse=True,
    )
    if parts:
        folded = {strip_accents(p).lower() for p in parts}
        pattern = re.compile(r"[\w'-]+")
        text = pattern.sub(lambda m: NAME if strip_accents(m.group(0)).lower() in folded else m.group(0), text)
    return re.sub(rf"(?:{re.escape(NAME)}\s*){{2,}}", NAME + " ", text).replace(NAME + " ,", NAME + ",")


def personal_names(ticket: Ticket, events: Sequence[TicketEvent] = ()) -> list[str]:
    """Names and user ids that appear on a ticket: requester, contact, assignee, everyone in its history."""
    names = [ticket.requester_name, ticket.contact_name, ticket.assignee_name or ""]
    keys = [ticket.requester_key, ticket.assignee_key or ""]
    for event in events:
        names.append(event.actor_name)
        keys.append(event.actor_key)
    names += [key.partition(":")[2] for key in keys if ":" in key]
    return [name for name in names if name and name != "helpdesk-bot"]


def slugify(text: str) -> str:
    """An article id from a title: lower-case ASCII words joined by ``-`` (at most 60 characters)."""
    slug = _SLUG.sub("-", strip_accents(text).lower()).strip("-")
    return slug[:60].rstrip("-")


def _tags(title: str, limit: int = 5) -> tuple[str, ...]:
    tags: list[str] = []
    for token in tokenise(title):
        if token in ALL_STOP_WORDS or len(token) < 3 or token.isdigit() or token in tags:
            continue
        if token in ("name", "email", "phone", "personal", "id", "bank", "account"):
            continue
        tags.append(token)
    return tuple(tags[:limit])


def draft_from_ticket(
    ticket: Ticket, events: Sequence[TicketEvent] = (), *, article_id: str | None = None
) -> DraftArticle:
    """A draft article from a resolved ticket, in the requester's language, personal data left out."""
    t = translator(ticket.requester_locale)
    names = personal_names(ticket, events)

    def clean(text: str) -> str:
        scrubbed = scrub(text, names)
        for placeholder in (NAME, EMAIL, PHONE, PERSONAL_ID, ACCOUNT):
            scrubbed = scrubbed.replace(placeholder, t(placeholder))
        return scrubbed

    title = clean(ticket.title).strip() or t("Problem of ticket {ref}", ref=f"#{ticket.id}")
    symptoms, error_heading, solution = t("Symptoms"), t("Error message"), t("Solution")
    sections = ["**" + symptoms + "**", "", clean(ticket.description).strip() or title]
    if ticket.error_message.strip():
        error = clean(ticket.error_message).strip().replace("```", "'''")
        sections += ["", "**" + error_heading + "**", "", "```", error, "```"]
    sections += ["", "**" + solution + "**", "", clean(ticket.resolution).strip() or t("(to be written)")]
    return DraftArticle(
        id=article_id or slugify(title) or f"ticket-{ticket.id}",
        title=title[:200],
        lang=ticket.requester_locale if ticket.requester_locale in ("fr", "en", "nl") else "fr",
        tags=_tags(title),
        category=ticket.category if ticket.category in ("helpline", "helpdesk") else "helpdesk",
        body="\n".join(sections),
        questions=tuple(q for q in (" ".join(clean(ticket.description).split())[:500],) if q),
    )


def drafts_dir(knowledge_dir: Path) -> Path:
    """Where drafts live: ``<knowledge>/drafts/``."""
    return Path(knowledge_dir) / DRAFTS_FOLDER


def _taken_ids(knowledge_dir: Path) -> set[str]:
    taken = set()
    for folder in (knowledge_dir, drafts_dir(knowledge_dir)):
        if folder.is_dir():
            for path in article_files(folder):
                taken.add(path.stem)
                try:
                    taken.add(str(frontmatter.load(str(path)).metadata.get("id", path.stem)))
                except (yaml.YAMLError, ValueError, UnicodeDecodeError):
                    continue
    return taken


def save_draft(knowledge_dir: Path, draft: DraftArticle) -> tuple[DraftArticle, Path]:
    """Write ``draft`` under ``<knowledge>/drafts/``; its id gets ``-2``, ``-3``… when already taken."""
    folder = drafts_dir(knowledge_dir)
    folder.mkdir(parents=True, exist_ok=True)
    taken = _taken_ids(Path(knowledge_dir))
    article_id, n = draft.id, 1
    while article_id in taken:
        n += 1
        article_id = f"{draft.id}-{n}"
    if article_id != draft.id:
        draft = DraftArticle(article_id, draft.title, draft.lang, draft.tags, draft.category, draft.body)
    path = folder / f"{article_id}.md"
    path.write_text(draft.to_markdown(), encoding="utf-8")
    return draft, path


def find_draft(knowledge_dir: Path, draft_id: str) -> Path:
    """The draft file with that id (file name or front-matter id); :class:`KnowledgeBaseError` if none."""
    folder = drafts_dir(knowledge_dir)
    direct = folder / f"{draft_id}.md"
    if direct.is_file():
        return direct
    if folder.is_dir():
        for path in article_files(folder):
            try:
                if frontmatter.load(str(path)).metadata.get("id") == draft_id:
                    return path
            except (yaml.YAMLError, ValueError, UnicodeDecodeError):
                continue
    raise KnowledgeBaseError(detail=f"no draft {draft_id!r} in {folder}")


def publish_draft(knowledge_dir: Path, draft_id: str) -> Path:
    """Validate the draft and move it into the knowledge folder; returns the article's new path.

    Raises :class:`KnowledgeBaseError` (nothing moved) when the draft is invalid, its file name
    or id is already used by an article, or the folder would not load afterwards.
    """
    knowledge_dir = Path(knowledge_dir)
    source = find_draft(knowledge_dir, draft_id)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy2(source, Path(tmp) / source.name)
        problems = check_directory(Path(tmp))
    if problems:
        raise KnowledgeBaseError(detail="; ".join(f"{source.name}: {p.message}" for p in problems))
    target = knowledge_dir / source.name
    if target.exists():
        raise KnowledgeBaseError(detail=f"{target} already exists: rename the draft or remove the old article")
    os.replace(source, target)
    problems = check_directory(knowledge_dir)
    if problems:
        os.replace(target, source)
        raise KnowledgeBaseError(detail="; ".join(str(p) for p in problems))
    return target
