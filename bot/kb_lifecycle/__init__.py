"""The knowledge base's life cycle: drafts from resolved tickets, publishing, feedback, report.

* ``/kbdraft N`` (technicians) turns resolved ticket N into a draft article under
  ``<knowledge>/drafts/``, personal data left out (:mod:`bot.kb_lifecycle.drafts`);
  ``helpdesk-bot kb publish ID`` moves it into the knowledge folder.
* The running bot reloads new or changed articles without a restart and ranks suggestions
  with the "solved it" / "not solved" answers per article (:mod:`bot.kb_lifecycle.feedback`).
* Confirmed "This solved it" answers, ``/kblink N ARTICLE`` and ``/kbdraft`` teach the matcher the
  users' wording (:mod:`bot.kb_lifecycle.phrasings`); ``helpdesk-bot kb phrasings ID`` shows them.
* ``helpdesk-bot kb report`` lists articles that never help and frequent ticket topics with no
  article (:mod:`bot.kb_lifecycle.report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.core import parse_number
from bot.errors import InvalidCommand, TicketNotFound
from bot.i18n import N_, Translator
from bot.kb_lifecycle.drafts import (
    DraftArticle,
    draft_from_ticket,
    drafts_dir,
    find_draft,
    personal_names,
    publish_draft,
    save_draft,
    scrub,
)
from bot.kb_lifecycle.feedback import (
    ArticleFeedback,
    FeedbackRankedKnowledge,
    adjustment,
    fold_feedback,
    load_feedback,
)
from bot.kb_lifecycle.phrasings import LearnedPhrasingRepository, Phrasing, clean_phrasing, learned_by_article
from bot.kb_lifecycle.report import KbReport, MissingTopic, UnhelpfulArticle, build_report, cluster_titles
from bot.lifecycle import TECHNICIAN_STATUS_LABELS
from bot.port import OutgoingMessage, SlashCommand
from bot.presenters import ticket_ref

if TYPE_CHECKING:
    from bot.features import FeatureContext

__all__ = [
    "ArticleFeedback",
    "DraftArticle",
    "FeedbackRankedKnowledge",
    "KbReport",
    "LearnedPhrasingRepository",
    "MissingTopic",
    "Phrasing",
    "UnhelpfulArticle",
    "adjustment",
    "build_report",
    "cluster_titles",
    "draft_from_ticket",
    "drafts_dir",
    "find_draft",
    "fold_feedback",
    "install",
    "learned_by_article",
    "load_feedback",
    "publish_draft",
    "save_draft",
    "scrub",
]


class DraftCommand:
    """``/kbdraft N``: a draft article from a resolved ticket."""

    def __init__(self, ctx: FeatureContext, knowledge_dir: Path | None) -> None:
        """``knowledge_dir``: the desk's own knowledge folder; ``None`` when the bot reads the bundled
        starter knowledge base, which is never written to (it lives inside the installed package)."""
        self._ctx = ctx
        self.knowledge_dir = knowledge_dir

    def __call__(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """Write the draft and show it with the command that publishes it."""
        self._ctx.roles.require_technician(event.user.key)
        number, _ = parse_number(event.args, "/kbdraft N")
        if self.knowledge_dir is None:
            raise InvalidCommand(
                "The bot reads the bundled starter knowledge base, which stays as installed: drafts need "
                "the desk's own knowledge folder. Create one with helpdesk-bot init DIR, then set "
                "[knowledge] directory in bot.toml."
            )
        with self._ctx.uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None:
                raise TicketNotFound(number=number)
            events = uow.events.for_ticket(number)
        if ticket.status not in ("resolved", "closed"):
            raise InvalidCommand(
                "Ticket #{number} is {status}: only a resolved ticket can become an article.",
                number=number,
                status=TECHNICIAN_STATUS_LABELS.get(ticket.status, ticket.status),
            )
        draft, path = save_draft(self.knowledge_dir, draft_from_ticket(ticket, events))
        text = t(
            "Draft article “{id}” from {ref} saved as {path}. Review it, then publish it with: "
            "helpdesk-bot kb publish {id}",
            id=draft.id,
            ref=ticket_ref(number),
            path=str(path),
        )
        return [OutgoingMessage(f"{text}\n\n{draft.to_markdown()}")]


class LinkCommand:
    """``/kblink N ARTICLE``: resolved ticket N was solved by ARTICLE; its wording becomes a learned phrasing."""

    def __init__(self, ctx: FeatureContext) -> None:
        self._ctx = ctx

    def __call__(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """Learn the ticket's title and description for the article."""
        self._ctx.roles.require_technician(event.user.key)
        usage = "/kblink N ARTICLE"
        number, rest = parse_number(event.args, usage)
        article_id = rest.strip()
        if not article_id or " " in article_id:
            raise InvalidCommand(usage=usage)
        if self._ctx.knowledge.get(article_id) is None:
            raise InvalidCommand("No article has the id “{id}” (see helpdesk-bot kb list).", id=article_id)
        with self._ctx.uow() as uow:
            ticket = uow.tickets.get(number)
            if ticket is None:
                raise TicketNotFound(number=number)
            if ticket.status not in ("resolved", "closed"):
                raise InvalidCommand(
                    "Ticket #{number} is {status}: only a resolved ticket can be linked to an article.",
                    number=number,
                    status=TECHNICIAN_STATUS_LABELS.get(ticket.status, ticket.status),
                )
            events = uow.events.for_ticket(number)
            text = clean_phrasing(f"{ticket.title}. {ticket.description}", personal_names(ticket, events))
            LearnedPhrasingRepository(uow.session).add(
                article_id, "link", text, f"ticket:{number}", self._ctx.clock.now()
            )
            uow.commit()
        return [
            OutgoingMessage(
                t(
                    "The wording of {ref} is now a learned phrasing of “{id}” (see helpdesk-bot kb phrasings {id}).",
                    ref=ticket_ref(number),
                    id=article_id,
                )
            )
        ]


def install(ctx: FeatureContext) -> None:
    """Rank suggestions with feedback, reload changed articles, and add ``/kbdraft``."""
    ranked = FeedbackRankedKnowledge(ctx.knowledge, ctx.uow, ctx.clock)
    ctx.registry.use_knowledge(lambda: ranked)
    directory = ctx.config.knowledge.directory
    ctx.registry.register_command(
        "kbdraft",
        DraftCommand(ctx, Path(directory) if directory is not None else None),
        audience="technician",
        usage=N_("N"),
        summary=N_("draft a knowledge-base article from resolved ticket N"),
    )
    ctx.registry.register_command(
        "kblink",
        LinkCommand(ctx),
        audience="technician",
        usage=N_("N ARTICLE"),
        summary=N_("resolved ticket N was solved by ARTICLE: learn its wording"),
    )
