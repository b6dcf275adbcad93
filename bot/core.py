"""The helpdesk core: one entry point, :meth:`HelpdeskCore.handle`, for every platform event.

What happens to an event:

* a slash command runs the command (requester or technician, roles checked);
* a button press continues whatever offered the button (suggestions, intake,
  technician card, resolution question);
* a message in a ticket's thread becomes a comment on that ticket;
* any other message continues the user's conversation: the intake in progress, a
  technician's pending question, or — when idle — a knowledge-base search that offers
  articles first and opens the intake when none fits.

Errors follow one policy (:mod:`bot.error_policy`): a :class:`~bot.errors.HelpdeskError` becomes
one polite sentence in the user's language; anything else is logged with the event's context
and answered with one generic apology. One bad event never stops the bot.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.commands import Audience, Command, CommandRegistry
from bot.config import Config
from bot.conversation import TechnicianAction
from bot.db.models import SuggestionLog
from bot.db.uow import DueEntry, EventUnitOfWorkFactory, OutboxLease
from bot.error_policy import apology, explain, log_unexpected
from bot.errors import HelpdeskError, InvalidCommand, TicketNotFound, TicketTaken, UnknownCommand, ValidationFailed
from bot.i18n import N_, Translator, language_from_locale, translator
from bot.intake import Caller, ConversationState, IntakeFlow
from bot.outbox import outbox_entry
from bot.port import (
    Attachment,
    Button,
    ButtonPress,
    DirectPolicy,
    Event,
    OutgoingMessage,
    Place,
    Reply,
    SlashCommand,
    TextMessage,
    User,
)
from bot.presenters import history_lines, one_line, take_over_button, technician_buttons, ticket_card, ticket_ref
from bot.roles import RoleDirectory
from bot.text import clean_event, clean_fields, clean_user
from bot.tickets import Actor, TicketService
from bot.unit_of_work import PipelineUnitOfWork
from bot.validation import clean_email, clean_phone, parse_ticket_number

logger = logging.getLogger(__name__)


_GREETING_WORDS = {
    "bonjour",
    "bonsoir",
    "salut",
    "coucou",
    "hello",
    "hi",
    "hey",
    "hallo",
    "dag",
    "goedemorgen",
    "goedemiddag",
    "goeieavond",
    "goedenavond",
    "morning",
    "yo",
    "merci",
    "thanks",
    "thank",
    "you",
    "bedankt",
    "dank",
    "je",
    "u",
    "wel",
    "ok",
    "okay",
    "oké",
    "super",
    "parfait",
    "top",
    "cool",
    "great",
    "beaucoup",
    "bien",
    "a",
    "à",
    "vous",
    "tous",
    "bonne",
    "journée",
    "journee",
    "good",
    "day",
    "tout",
    "le",
    "monde",
    "ça",
    "ca",
    "va",
    "comment",
    "allez",
    "how",
    "are",
    "goed",
    "hoe",
    "gaat",
    "het",
    "mille",
    "fois",
    "many",
    "veel",
    "heel",
    "bye",
    "au",
    "revoir",
    "tot",
    "ziens",
    "doei",
    "ciao",
    "lot",
    "much",
    "so",
    "👍",
    "🙏",
    "😊",
    "🙂",
}
LANGUAGE_CHOSEN = {
    "fr": N_("I will speak French with you from now on."),
    "en": N_("I will speak English with you from now on."),
    "nl": N_("I will speak Dutch with you from now on."),
}
"""What ``/lang`` answers, in the language just chosen."""
_THANKS_WORDS = {"merci", "thanks", "thank", "bedankt", "dank", "👍", "🙏"}


class KnowledgeSearch(Protocol):
    """What the core needs from the knowledge base (see :class:`bot.knowledge.KnowledgeBase`)."""

    def search(self, query: str, *, limit: int = 3, explain: bool = False, lang: str | None = None) -> list:  # type: ignore[type-arg]
        """Suggestions above the confidence threshold, best first, one per translation group, for a ``lang`` user."""
        ...

    def rank(self, query: str, *, limit: int = 3) -> list:  # type: ignore[type-arg]
        """Best candidates regardless of the threshold."""
        ...

    def get(self, article_id: str) -> object | None:
        """An article by id."""
        ...


def always_direct(event: Event, reply: Reply) -> bool:
    """The :data:`~bot.port.DirectPolicy` that keeps every reply for the caller (the console, tests)."""
    return True


@dataclass(frozen=True)
class Outcome:
    """What the pipeline did with one event."""

    direct: tuple[Reply, ...] = ()
    """Replies the adapter shows itself (its :data:`~bot.port.DirectPolicy`, and images)."""
    queued: tuple[int, ...] = ()
    """Ids of the outbox entries the event queued (its replies and notifications): deliver them now."""
    leased: tuple[DueEntry, ...] = ()
    """Those of them written already claimed by the lease given to :meth:`HelpdeskCore.process`."""
    duplicate: bool = False
    """The event was processed before: nothing was done."""


def is_small_talk(text: str) -> bool:
    """Greetings, thanks and politeness only: no problem to look for."""
    words = re.findall(r"[\w']+|[\U0001F300-\U0001FAFF]", text.lower())
    return bool(words) and len(words) <= 8 and all(w.strip("'") in _GREETING_WORDS for w in words)


def parse_number(args: str, usage: str) -> tuple[int, str]:
    """``"#42 some text"`` → ``(42, "some text")``; the usage as a polite error when there is no
    ticket number (see :func:`~bot.validation.parse_ticket_number`: bounded, ASCII digits)."""
    parts = args.split(None, 1)
    number = parse_ticket_number(parts[0]) if parts else None
    if number is None:
        raise InvalidCommand(usage=usage)
    return number, parts[1].strip() if len(parts) > 1 else ""


class HelpdeskCore:
    """Platform-neutral behaviour of the bot."""

    def __init__(
        self,
        *,
        config: Config,
        uow: EventUnitOfWorkFactory,
        clock: Clock,
        roles: RoleDirectory,
        tickets: TicketService,
        knowledge: Callable[[], KnowledgeSearch],
    ) -> None:
        self._config = config
        self._uow = uow
        self._clock = clock
        self._roles = roles
        self._tickets = tickets
        self._knowledge = knowledge
        self._intake = IntakeFlow(tickets, self._guess_category, config.bot.max_message_chars, clock)
        self.commands = CommandRegistry()
        """Every command, built-in or from a feature: ``/help``, the platforms' menus and their spelling."""
        self._buttons: dict[str, HelpdeskCore.ButtonHandler] = {}
        builtins: list[tuple[str, HelpdeskCore.CommandHandler, Audience, str, str]] = [
            ("start", self._cmd_help, "everyone", "", N_("start and see what I can do")),
            ("help", self._cmd_help, "everyone", "", N_("what I can do")),
            ("new", self._cmd_new, "everyone", "", N_("open a ticket")),
            ("mytickets", self._cmd_mytickets, "everyone", "", N_("your open tickets")),
            ("ticket", self._cmd_ticket, "everyone", N_("N"), N_("status and history of ticket N")),
            ("comment", self._cmd_comment, "everyone", N_("N text"), N_("add information to ticket N")),
            ("cancel", self._cmd_cancel, "everyone", N_("N"), N_("cancel ticket N")),
            ("kb", self._cmd_kb, "everyone", N_("words"), N_("search the knowledge base")),
            ("lang", self._cmd_lang, "everyone", "fr|en|nl", N_("change my language")),
            ("queue", self._cmd_queue, "technician", "", N_("open tickets by priority and age")),
            ("mine", self._cmd_mine, "technician", "", N_("tickets assigned to you")),
            ("claim", self._cmd_claim, "technician", N_("N"), N_("take ticket N")),
            ("assign", self._cmd_assign, "technician", N_("N USER"), N_("give ticket N to a technician")),
            ("reply", self._cmd_reply, "technician", N_("N text"), N_("answer the requester")),
            ("note", self._cmd_note, "technician", N_("N text"), N_("internal note")),
            ("wait", self._cmd_wait, "technician", N_("N question"), N_("ask the requester and wait")),
            ("resolve", self._cmd_resolve, "technician", N_("N text"), N_("resolve with a note for the requester")),
            ("reopen", self._cmd_reopen, "technician", N_("N"), N_("reopen a resolved ticket")),
            ("priority", self._cmd_priority, "technician", N_("N P1..P4"), N_("change the priority")),
            (
                "call",
                self._cmd_call,
                "technician",
                N_("USER | ADDRESS | NAME NUMBER"),
                N_("log a phone call as a ticket for the caller"),
            ),
        ]
        for name, handler, audience, usage, summary in builtins:
            self.register_command(name, handler, audience=audience, usage=usage, summary=summary)
        # Button values are ``prefix:rest``; built-in prefixes are registered like the features' (``visit``, ``dup`` …).
        self.register_button("intake", self._intake_button)
        self.register_button("kb", self._kb_button)
        for action in ("claim", "wait", "resolve", "reopen", "confirm", "stillbroken"):
            self.register_button(action, functools.partial(self._ticket_action_button, action))
        self.register_button("takeover", self._takeover_button)
        self.register_button("thread", self._thread_choice)
        self.register_button("lang", self._lang_button)
        self.problem_hooks: list[HelpdeskCore.ProblemHook] = []
        """Features that may answer a new problem before the knowledge base and the intake (duplicates)."""

    CommandHandler = Callable[[SlashCommand, Translator], list[OutgoingMessage]]
    ButtonHandler = Callable[[ButtonPress, str, Translator], list[OutgoingMessage]]
    ProblemHook = Callable[[TextMessage, ConversationState, Translator], list[OutgoingMessage] | None]
    """Returns messages (and sets ``conv``) to answer the problem itself, or None to let it through."""

    def register_command(
        self,
        name: str,
        handler: CommandHandler,
        *,
        audience: Audience = "everyone",
        usage: str = "",
        summary: str = "",
    ) -> None:
        """Add a slash command; built-ins and feature modules (service levels …) register alike.

        ``usage`` (``N text``) and ``summary`` (msgids marked with ``N_``) list it in ``/help`` and in the
        platforms' menus for ``audience``: everyone, technicians, or team leads. Without a summary it
        runs but is listed nowhere.
        """
        self.commands.add(Command(name.lower(), handler, audience, usage, summary))

    def command_menu(self, audience: Audience, language: str) -> list[tuple[str, str]]:
        """``(name, description)`` of the commands a platform menu offers ``audience`` in ``language``:
        requesters get everyone's commands, technicians theirs and the team leads' too, and everyone's."""
        audiences: tuple[Audience, ...] = (
            ("everyone",) if audience == "everyone" else ("technician", "team_lead", "everyone")
        )
        return self.commands.menu(audiences, translator(language))

    def register_button(self, prefix: str, handler: ButtonHandler) -> None:
        """Route button values ``prefix:rest`` to ``handler(event, rest, t)``; a prefix has one handler."""
        if prefix in self._buttons:
            raise ValueError(f"buttons {prefix}:… already have a handler")
        self._buttons[prefix] = handler

    # -- the entry point ----------------------------------------------------------------------

    def process(
        self, event: Event, direct: DirectPolicy = always_direct, *, lease: OutboxLease | None = None
    ) -> Outcome:
        """The pipeline: handle one event in exactly one unit of work, committed once.

        0. clean what the user typed (:func:`bot.text.clean_event`: no escape sequence, control
           character or bidi override, NFC);
        1. record ``event.event_id`` in ``processed_events`` — a duplicate delivery (the same
           identity, from this process or another, now or after a restart) commits nothing and
           answers nothing;
        2. lock the conversation row (platform + chat + user), so that one conversation's events
           are serialised across processes;
        3. run the command, button or message (services join this unit of work);
        4. write every reply to the outbox, except those ``direct`` keeps for the adapter (and
           those carrying images);
        5. commit once.

        Never raises for an event's own failure. One error policy: a
        :class:`~bot.errors.HelpdeskError` rolls the event's changes back and answers one polite
        sentence in the user's language (the event stays recorded: a retry gets nothing more);
        anything else is logged with its context, rolled back and answered with an apology, and
        the event is not recorded, so a redelivery is processed afresh. The caller shows
        ``Outcome.direct`` and delivers the entries ``Outcome.queued``; with a ``lease`` (a dispatcher's,
        :meth:`~bot.outbox.OutboxDispatcher.lease_for_event`), those for its platforms are written already
        claimed by it (``Outcome.leased``), so delivering them needs no claim of its own.
        """
        event = clean_event(event)
        now = self._clock.now()
        platform = event.place.platform
        with self._uow.event() as uow:
            if lease is not None:
                uow.outbox.lease_new_entries(lease)
            if event.event_id and not uow.processed.record(platform, event.event_id, now):
                logger.info("%s event %s was already processed: skipped", platform, event.event_id)
                return Outcome(duplicate=True)
            uow.conversations.lock(platform, event.place.chat_id, event.user.id, now)
            messages = [self.for_platform(message, platform) for message in self._run(event, uow)]
            replies = [Reply(event.place, message) for message in messages]
            kept: list[Reply] = []
            for reply in replies:
                if reply.message.images or direct(event, reply):
                    kept.append(reply)
                    continue
                uow.outbox.add(outbox_entry(reply.place, reply.message, at=now))
            uow.commit()
            queued, leased = uow.outbox.added_entries()
        return Outcome(direct=tuple(kept), queued=tuple(entry.id for entry in queued), leased=tuple(leased))

    def for_platform(self, message: OutgoingMessage, platform: str) -> OutgoingMessage:
        """``message`` with its commands written the way ``platform`` writes them (``/helpdesk claim`` in Slack)."""
        text = self.commands.for_platform(platform, message.text)
        return message if text == message.text else dataclasses.replace(message, text=text)

    def handle(self, event: Event) -> list[Reply]:
        """The pipeline with every reply returned for the caller to show (the console, tests)."""
        return list(self.process(event).direct)

    def _run(self, event: Event, uow: PipelineUnitOfWork) -> list[OutgoingMessage]:
        """Run the event; on an error, roll back and answer per the error policy.

        After a domain error the event is recorded again in the fresh transaction; when another
        delivery of it recorded it meanwhile, nothing is answered.
        """
        t = translator(self._config.bot.language)
        try:
            t = translator(self._language(uow, event.user))
            if isinstance(event, SlashCommand):
                return self._command(event, t)
            if isinstance(event, ButtonPress):
                return self._button(event, t)
            return self._text(event, t)
        except HelpdeskError as error:
            uow.restart()
            if event.event_id and not uow.processed.record(event.place.platform, event.event_id, self._clock.now()):
                return []
            return [OutgoingMessage(explain(error, t), ephemeral=True), *self._pending_question(event, t)]
        except Exception:
            log_unexpected("handling failed", event)
            uow.restart()
            return [apology(t)]

    def follow_up_abandoned_intakes(self) -> int:
        """Remind once, then drop, the intakes their requesters left unanswered; returns how many.

        An intake untouched for ``[bot] intake_reminder_minutes`` gets one reminder with its pending
        question (and buttons) repeated; untouched ``intake_drop_minutes`` after that reminder, it is
        dropped and the requester told, with the title they had given. Each conversation is handled
        in its own unit of work with its row locked, as an event would be: an answer arriving at the
        same moment is either seen first (and nothing is sent) or waits for this to finish.
        """
        settings = self._config.bot
        if not settings.intake_reminder_minutes:
            return 0
        now = self._clock.now()
        remind_before = now - timedelta(minutes=settings.intake_reminder_minutes)
        drop_before = now - timedelta(minutes=settings.intake_drop_minutes)
        with self._uow() as uow:
            candidates = uow.conversations.abandoned_intakes(max(remind_before, drop_before))
        followed = 0
        for platform, chat_id, user_id in candidates:
            with self._uow.event() as uow:
                row = uow.conversations.lock(platform, chat_id, user_id, now)
                conv = ConversationState(row.state, copy.deepcopy(row.data))
                if not conv.in_intake:
                    continue
                reminded = "reminded_at" in conv.intake
                if row.updated_at >= (drop_before if reminded else remind_before):
                    continue
                t = translator(self._language(uow, User(platform, user_id)))
                title = str(conv.intake.get("title") or "")
                if reminded:
                    text = (
                        t(
                            "I have set aside the ticket you started (“{title}”): you had not come back to it. "
                            "Write to me whenever you want to start again.",
                            title=title,
                        )
                        if title
                        else t(
                            "I have set aside the ticket you started: you had not come back to it. "
                            "Write to me whenever you want to start again."
                        )
                    )
                    messages = [OutgoingMessage(text)]
                    conv.reset()
                else:
                    messages = [
                        OutgoingMessage(t("Shall we finish your ticket? The last question is still waiting for you:")),
                        self._intake.prompt(conv, t),
                    ]
                    conv.intake["reminded_at"] = now.isoformat()
                self._save(User(platform, user_id), Place(platform, chat_id), conv)
                for message in messages:
                    uow.outbox.add(outbox_entry(Place(platform, chat_id), message, at=now))
                uow.commit()
                followed += 1
        return followed

    def _pending_question(self, event: Event, t: Translator) -> list[OutgoingMessage]:
        """The intake question the user was answering, asked again after a refused command or button."""
        if isinstance(event, ButtonPress) or event.place.thread_id is not None:
            return []
        conv = self._load(event.user, event.place)
        return [self._intake.prompt(conv, t)] if conv.in_intake else []

    def pending_question(self, user: User, place: Place) -> OutgoingMessage | None:
        """The question a conversation is waiting on (the intake's current step, with its buttons),
        for a terminal that starts again in the middle of it; None when nothing is pending."""
        with self._uow() as uow:
            row = uow.conversations.get(place.platform, place.chat_id, user.id)
            conv = ConversationState(row.state, copy.deepcopy(row.data)) if row is not None else ConversationState()
            if not conv.in_intake:
                return None
        return self._intake.prompt(conv, translator(self.language_of(user)))

    def is_technician(self, user_key: str) -> bool:
        """Whether ``user_key`` (``platform:id``) is a technician or a team lead (may log calls, claim…)."""
        return self._roles.is_technician(user_key)

    def language_of(self, user: User) -> str:
        """The user's language: their /lang choice, else their platform locale, else the default."""
        with self._uow() as uow:
            return self._language(uow, user)

    def _language(self, uow: PipelineUnitOfWork, user: User) -> str:
        """:meth:`language_of` in a unit of work already open (the event's).

        The language the platform reports (Telegram ``language_code``, Slack locale) is kept in the
        database when it changes, so that what is queued for the user later — in this process or another,
        after a restart — is written in it too (:meth:`bot.notifications.Notifier.render`).
        """
        chosen, detected = uow.preferences.languages(user.key)
        reported = language_from_locale(user.locale, "") if user.locale else ""
        if reported and reported != detected:
            uow.preferences.set_detected_language(user.key, reported, self._clock.now())
            detected = reported
        return chosen or detected or self._config.bot.language

    def open_tickets_for(self, user: User) -> list[OutgoingMessage]:
        """The user's open tickets as cards (for App Home and similar views)."""
        t = translator(self.language_of(user))
        now = self._clock.now()
        return [
            OutgoingMessage(one_line(t, ticket, now), card=ticket_card(t, ticket, now, for_technicians=False))
            for ticket in self._tickets.mine(user)
        ]

    def open_ticket_from_form(
        self, user: User, place: Place, fields: dict[str, str], *, event_id: str = ""
    ) -> list[Reply]:
        """Open a ticket from a complete form (Slack's intake modal) instead of the conversation.

        One unit of work, like :meth:`process`: ``event_id`` (the submission's identity) is recorded
        with the ticket, so a second delivery of the same submission opens nothing and returns no
        reply. Raises :class:`~bot.errors.ValidationFailed` with ``field=<name>`` for the first bad
        field (nothing is committed, the form can be sent again); the confirmation itself reaches the
        requester through the outbox (it anchors the ticket's thread). The returned reply is the
        short acknowledgement the adapter shows in the form.
        """
        user, fields = clean_user(user), clean_fields(fields)
        now = self._clock.now()
        with self._uow.event() as uow:
            if event_id and not uow.processed.record(place.platform, event_id, now):
                logger.info("%s form %s was already processed: skipped", place.platform, event_id)
                return []
            uow.conversations.lock(place.platform, place.chat_id, user.id, now)
            t = translator(self._language(uow, user))
            draft = self._intake.draft_from_form(user, fields, t)
            ticket = self._tickets.open(user, place.in_thread(None), draft, t.language)
            uow.commit()
        return [
            Reply(
                place,
                OutgoingMessage(
                    t(
                        "Ticket {ref} is open. Quote {ref} whenever you contact the service desk about it.",
                        ref=ticket_ref(ticket.id),
                    ),
                    ephemeral=True,
                ),
            )
        ]

    # -- text -----------------------------------------------------------------------------------

    def _text(self, event: TextMessage, t: Translator) -> list[OutgoingMessage]:
        text = event.text
        limit = self._config.bot.max_message_chars
        if len(text) > limit:
            return [
                OutgoingMessage(
                    t(
                        "Your message is too long for me ({length} characters, at most {limit}). Nothing was saved: "
                        "please send it in several parts, or attach it as a file.",
                        length=len(text),
                        limit=limit,
                    )
                ),
                *self._pending_question(event, t),
            ]
        if event.unsupported or event.edited:
            return self._unusable(event, self._load(event.user, event.place.in_thread(None)), t)
        if text.startswith("/") and len(text) > 1 and not text.startswith("//"):
            name, _, args = text[1:].partition(" ")
            return self._command(
                SlashCommand(event.user, event.place, name.split("@")[0].lower(), args.strip(), event.attachments), t
            )
        if event.place.thread_id is not None:
            ticket = self._tickets.by_thread(event.place)
            if ticket is not None:
                return self._thread_message(event, ticket.id, ticket.requester_key, t)
        conv = self._load(event.user, event.place)
        if conv.in_intake:
            messages = self._intake.on_text(
                conv, event.user, event.place, text, t, event.attachments, message_id=event.message_id
            )
            self._save(event.user, event.place, conv)
            return messages
        if conv.technician_action is not None:
            return self._technician_answer(event, conv, t)
        if conv.suggested:
            self._suggestion_outcome(conv.suggestion.get("log_id"), "ignored")
            conv.reset()
        if not text.strip() and event.attachments:
            return [
                OutgoingMessage(
                    t(
                        "I received your file. Tell me in a few words what the problem is, "
                        "and I will attach it to the ticket."
                    )
                )
            ]
        if is_small_talk(text):
            self._save(event.user, event.place, conv)
            thanks = any(w in text.lower() for w in _THANKS_WORDS)
            return [
                OutgoingMessage(
                    t("You're welcome! Write to me whenever something does not work.")
                    if thanks
                    else self._greeting(t, event.user)
                )
            ]
        return self._new_problem(event, conv, t)

    def _unusable(self, event: TextMessage, conv: ConversationState, t: Translator) -> list[OutgoingMessage]:
        """A kind of message the bot cannot read, or an edit: say so, then repeat the current question.

        An edited intake answer whose ticket is not open yet replaces that answer (validated like
        the original); any other edit is not taken into account, and the user is told.
        """
        in_intake = conv.in_intake
        if event.unsupported:
            notice = t("I can read text, photos and documents, but not this kind of message. Please type it.")
        elif in_intake and event.message_id:
            messages = self._intake.on_edit(conv, event.message_id, event.text, t)
            if messages is not None:
                self._save(event.user, event.place, conv)
                return messages
            notice = t("Edited messages are not taken into account once they have been used: send a new message.")
        else:
            notice = t("Edited messages are not taken into account: please send a new message.")
        question = [self._intake.prompt(conv, t)] if in_intake else []
        return [OutgoingMessage(notice), *question]

    def continue_problem(self, event: TextMessage, t: Translator) -> list[OutgoingMessage]:
        """Go on with a new problem after a problem hook's offer was declined: suggestions, then the intake."""
        conv = self._load(event.user, event.place)
        conv.reset()
        return self._new_problem(event, conv, t, hooks=False)

    def use_knowledge(self, knowledge: Callable[[], KnowledgeSearch]) -> None:
        """Replace the knowledge source (a feature wraps it, e.g. to rank by feedback)."""
        self._knowledge = knowledge

    def _new_problem(
        self, event: TextMessage, conv: ConversationState, t: Translator, *, hooks: bool = True
    ) -> list[OutgoingMessage]:
        for hook in self.problem_hooks if hooks else ():
            offered = hook(event, conv, t)
            if offered is not None:
                self._save(event.user, event.place, conv)
                return offered
        suggestions = self._knowledge().search(
            event.text, limit=self._config.knowledge.max_suggestions, lang=t.language
        )
        if not suggestions:
            messages = self._intake.start(conv, event.user, event.text, t, event.attachments)
            self._save(event.user, event.place, conv)
            return messages
        with self._uow() as uow:
            log_id = uow.suggestions.add(
                SuggestionLog(
                    at=self._clock.now(),
                    user_key=event.user.key,
                    platform=event.place.platform,
                    query=event.text,
                    article_ids={
                        "ids": [s.article.id for s in suggestions],
                        "scores": [round(float(s.score), 4) for s in suggestions],
                    },
                )
            )
            uow.commit()
        conv.to_suggested(
            {
                "log_id": log_id,
                "query": event.text,
                "attachments": [
                    {"kind": a.kind, "ref": a.ref, "name": a.name, "url": a.url, "mime_type": a.mime_type}
                    for a in event.attachments
                ],
            }
        )
        self._save(event.user, event.place, conv)
        lines = [t("This might help — from the knowledge base:")]
        for index, suggestion in enumerate(suggestions, start=1):
            lines.append(f"{index}. {_titled(suggestion.article, t.language)}")
        top = suggestions[0].article
        lines.append("")
        lines.append(_excerpt(top.body, 700))
        buttons = [
            Button(t("Read: {title}", title=_clip(s.article.title, 40)), f"kb:read:{s.article.id}") for s in suggestions
        ]
        buttons += self._suggestion_buttons(t, log_id, [s.article for s in suggestions])
        return [OutgoingMessage("\n".join(lines), buttons=tuple(buttons))]

    @staticmethod
    def _suggestion_buttons(t: Translator, log_id: int, articles: Sequence[Any]) -> list[Button]:
        """One "This solved it" per article shown (naming it when there are several), then "Not solved"."""
        if len(articles) == 1:
            solved = [Button(t("This solved it"), f"kb:solved:{log_id}:{articles[0].id}", "primary")]
        else:
            solved = [
                Button(
                    t("Solved by: {title}", title=_clip(a.title, 40)),
                    f"kb:solved:{log_id}:{a.id}",
                    "primary" if i == 0 else None,
                )
                for i, a in enumerate(articles)
            ]
        return [*solved, Button(t("Not solved — open a ticket"), f"kb:notsolved:{log_id}")]

    def _greeting(self, t: Translator, user: User) -> str:
        name = user.display_name.split(" ")[0] if user.display_name else ""
        return (
            t(
                "Hello {name}! I am the IT service desk bot. Describe your problem in your own words and I will "
                "look for a solution, or open a ticket with you. Type /help to see everything I can do.",
                name=name,
            )
            .replace("  ", " ")
            .replace(" !", "!")
        )

    def _thread_message(
        self, event: TextMessage, number: int, requester_key: str, t: Translator
    ) -> list[OutgoingMessage]:
        user = event.user
        if user.key == requester_key:
            self._tickets.comment_from_requester(user, number, event.text, event.attachments)
            return [OutgoingMessage(t("Added to {ref}. The technician is notified.", ref=ticket_ref(number)))]
        if not self._roles.is_technician(user.key):
            raise TicketNotFound(number=number)
        conv = ConversationState.for_technician("thread", {"number": number, "text": event.text})
        self._save(user, event.place.in_thread(None), conv)
        return [
            OutgoingMessage(
                t("Send this to the requester of {ref}, or keep it as an internal note?", ref=ticket_ref(number)),
                buttons=(
                    Button(t("Send to the requester"), f"thread:public:{number}", "primary"),
                    Button(t("Internal note"), f"thread:note:{number}"),
                    Button(t("Cancel"), "thread:cancel"),
                ),
            ),
        ]

    def _technician_answer(self, event: TextMessage, conv: ConversationState, t: Translator) -> list[OutgoingMessage]:
        action = conv.technician_action
        number = int(conv.technician.get("number", 0))
        text = event.text.strip()
        if text.lower() in ("cancel", "annuler", "annuleren"):
            self._clear(event.user, event.place)
            return [OutgoingMessage(t("Cancelled."))]
        if not text:
            return [OutgoingMessage(t("Please type the text, or “cancel”."), expects_text=True)]
        if action == "wait":
            self._tickets.wait(event.user, number, text)
            done = t("{ref} now waits for the requester's answer.", ref=ticket_ref(number))
        elif action == "resolve":
            self._tickets.resolve(event.user, number, text)
            done = t("{ref} is resolved; the requester is told.", ref=ticket_ref(number))
        else:
            self._clear(event.user, event.place)
            return self._text(event, t)
        self._clear(event.user, event.place)
        return [OutgoingMessage(done)]

    # -- buttons --------------------------------------------------------------------------------

    def _button(self, event: ButtonPress, t: Translator) -> list[OutgoingMessage]:
        kind, _, rest = event.value.partition(":")
        handler = self._buttons.get(kind)
        if handler is None:
            return [OutgoingMessage(t("That button is no longer active."), ephemeral=True)]
        return handler(event, rest, t)

    def _intake_button(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        conv = self._load(event.user, event.place)
        if not conv.in_intake:
            return [OutgoingMessage(t("That conversation is over. Write to me to start a new one."))]
        messages = self._intake.on_button(conv, event.user, event.place, event.value, t)
        self._save(event.user, event.place, conv)
        return messages

    def _ticket_action_button(self, action: str, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        number, _ = parse_number(rest, "")
        return self._ticket_button(event, action, number, t)

    def _takeover_button(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        number_text, _, holder = rest.partition(":")
        number, _ = parse_number(number_text, "")
        self._tickets.take_over(event.user, number, holder)
        return [OutgoingMessage(t("You took {ref} over.", ref=ticket_ref(number)), ephemeral=True)]

    def _lang_button(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        return self._cmd_lang(SlashCommand(event.user, event.place, "lang", rest), t)

    def _kb_button(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        action, _, arg = rest.partition(":")
        conv = self._load(event.user, event.place)
        if action == "read":
            article = self._knowledge().get(arg)
            if article is None:
                return [OutgoingMessage(t("That article no longer exists."))]
            buttons: tuple[Button, ...] = ()
            if conv.suggested:
                conv.suggestion["read"] = arg
                self._save(event.user, event.place, conv)
                buttons = tuple(self._suggestion_buttons(t, int(conv.suggestion["log_id"]), [article]))
            title = getattr(article, "title", arg)
            body = getattr(article, "body", "")
            return [OutgoingMessage(f"{title}\n\n{_excerpt(body, 3500)}", buttons=buttons)]
        log_part, _, solved_id = arg.partition(":")
        log_id = parse_ticket_number(log_part) or -1
        if not conv.suggested or int(conv.suggestion.get("log_id", -2)) != log_id:
            return [OutgoingMessage(t("That question is over. Write to me to start a new one."))]
        if action == "solved":
            self._suggestion_outcome(log_id, "solved", solved_id or conv.suggestion.get("read"))
            self._clear(event.user, event.place)
            return [OutgoingMessage(t("Great, glad it is fixed! Write to me whenever you need help."))]
        if action == "notsolved":
            self._suggestion_outcome(log_id, "not_solved")
            query = str(conv.suggestion.get("query", ""))
            attachments = tuple(Attachment(**a) for a in conv.suggestion.get("attachments", []))
            messages = self._intake.start(conv, event.user, query, t, attachments)
            conv.intake["suggestion_log"] = log_id
            self._save(event.user, event.place, conv)
            return messages
        return [OutgoingMessage(t("That button is no longer active."), ephemeral=True)]

    def _ticket_button(self, event: ButtonPress, kind: str, number: int, t: Translator) -> list[OutgoingMessage]:
        user = event.user
        ref = ticket_ref(number)
        if kind == "claim":
            return self._claim(user, number, t, ephemeral=True)
        if kind in ("wait", "resolve"):
            self._roles.require_technician(user.key)
            action: TechnicianAction = "wait" if kind == "wait" else "resolve"
            self._save(user, event.place, ConversationState.for_technician(action, {"number": number}))
            question = (
                t("Type your question for the requester of {ref}:", ref=ref)
                if kind == "wait"
                else t("Type the resolution note for {ref} (the requester receives it):", ref=ref)
            )
            return [OutgoingMessage(question, expects_text=True)]
        if kind == "reopen":
            self._roles.require_technician(user.key)
            self._tickets.reopen(user, number)
            return [OutgoingMessage(t("{ref} is reopened.", ref=ref), ephemeral=True)]
        if kind == "confirm":
            self._tickets.confirm_resolution(user, number)
            return [OutgoingMessage(t("Thank you! {ref} is closed.", ref=ref))]
        # stillbroken
        self._tickets.reopen(user, number, t("The requester says the problem is still there."))
        return [
            OutgoingMessage(
                t(
                    "{ref} is reopened; a technician will look at it again. Reply to this conversation to add details.",
                    ref=ref,
                )
            )
        ]

    def _thread_choice(self, event: ButtonPress, rest: str, t: Translator) -> list[OutgoingMessage]:
        conv = self._load(event.user, event.place.in_thread(None))
        choice, _, number_text = rest.partition(":")
        if conv.technician_action != "thread" or choice == "cancel":
            self._clear(event.user, event.place.in_thread(None))
            return [OutgoingMessage(t("Nothing was sent."), ephemeral=True)]
        number = int(conv.technician["number"])
        if str(number) != number_text:
            return [OutgoingMessage(t("That button is no longer active."), ephemeral=True)]
        text = str(conv.technician["text"])
        if choice == "public":
            self._tickets.reply(event.user, number, text)
            done = t("Sent to the requester of {ref}.", ref=ticket_ref(number))
        else:
            self._tickets.note(event.user, number, text)
            done = t("Internal note added to {ref}.", ref=ticket_ref(number))
        self._clear(event.user, event.place.in_thread(None))
        return [OutgoingMessage(done, ephemeral=True)]

    # -- commands -------------------------------------------------------------------------------

    def _command(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        command = self.commands.get(event.name)
        if command is None:
            raise UnknownCommand(name=event.name[:40])
        messages: list[OutgoingMessage] = command.handler(event, t)  # type: ignore[assignment]
        return messages

    def _cmd_help(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        platform = event.place.platform
        lines = [
            t(
                "I am the IT service desk bot. Describe your problem in your own words: I look for a known fix "
                "first, and otherwise open a ticket with you."
            ),
            "",
            t("Commands:"),
            *self._help_lines("everyone", t, platform),
        ]
        if self._roles.is_technician(event.user.key):
            lines += ["", t("Technician commands:"), *self._help_lines("technician", t, platform)]
        lead_lines = self._help_lines("team_lead", t, platform)
        if lead_lines and self._roles.is_team_lead(event.user.key):
            lines += ["", t("Team lead commands:"), *lead_lines]
        return [OutgoingMessage("\n".join(lines))]

    def _help_lines(self, audience: Audience, t: Translator, platform: str) -> list[str]:
        listed = [c for c in self.commands.listed([audience]) if c.name not in ("start", "help")]
        return [self.commands.help_line(c, t, platform) for c in listed]

    def _cmd_new(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        conv = self._load(event.user, event.place)
        messages = self._intake.start(conv, event.user, event.args, t, event.attachments)
        self._save(event.user, event.place, conv)
        return messages

    def _cmd_ticket(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, _ = parse_number(event.args, "/ticket N")
        view = self._tickets.view(event.user, number)
        technician = self._roles.is_technician(event.user.key)
        card = ticket_card(t, view.ticket, self._clock.now(), for_technicians=technician)
        lines = [t("History:"), *history_lines(t, view.events, self._clock.now(), for_technicians=technician)]
        buttons = technician_buttons(t, view.ticket) if technician else ()
        return [OutgoingMessage("\n".join(lines), card=card, buttons=buttons)]

    def _cmd_mytickets(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        tickets = self._tickets.mine(event.user)
        if not tickets:
            return [OutgoingMessage(t("You have no open ticket. Describe a problem to open one."))]
        now = self._clock.now()
        return [OutgoingMessage("\n".join([t("Your tickets:"), *(one_line(t, x, now) for x in tickets)]))]

    def _cmd_cancel(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        if not event.args.strip():
            conv = self._load(event.user, event.place)
            if not conv.idle:
                self._clear(event.user, event.place)
                return [OutgoingMessage(t("Cancelled: no ticket was opened. Write to me whenever you need help."))]
            raise InvalidCommand(usage="/cancel N")
        number, _ = parse_number(event.args, "/cancel N")
        self._tickets.cancel(event.user, number)
        return [OutgoingMessage(t("{ref} is cancelled.", ref=ticket_ref(number)))]

    def _cmd_kb(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        words = event.args.strip()
        if not words:
            raise InvalidCommand(usage="/kb words")
        results = self._knowledge().search(words, limit=5, lang=t.language)
        if not results:
            return [
                OutgoingMessage(
                    t(
                        "No article matches “{words}”. Describe your problem and I will open a ticket with you.",
                        words=_clip(words, 100),
                    )
                )
            ]
        lines = [t("Articles for “{words}”:", words=_clip(words, 100))]
        lines += [f"{i}. {_titled(s.article, t.language)}" for i, s in enumerate(results, start=1)]
        buttons = tuple(
            Button(t("Read: {title}", title=_clip(s.article.title, 40)), f"kb:read:{s.article.id}") for s in results
        )
        return [OutgoingMessage("\n".join(lines), buttons=buttons)]

    def _cmd_lang(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        choice = event.args.strip().lower()
        if choice not in ("fr", "en", "nl"):
            return [
                OutgoingMessage(
                    t("Choose my language:"),
                    buttons=(
                        Button("Français", "lang:fr"),
                        Button("English", "lang:en"),
                        Button("Nederlands", "lang:nl"),
                    ),
                )
            ]
        with self._uow() as uow:
            uow.preferences.set_language(event.user.key, choice, self._clock.now())
            uow.commit()
        return [OutgoingMessage(translator(choice)(LANGUAGE_CHOSEN[choice]))]

    def _cmd_comment(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, text = parse_number(event.args, "/comment N text")
        if not text and not event.attachments:
            raise InvalidCommand(usage="/comment N text")
        ticket = self._tickets.view(event.user, number).ticket
        if ticket.requester_key != event.user.key:
            self._tickets.reply(event.user, number, text)
            return [OutgoingMessage(t("Sent to the requester of {ref}.", ref=ticket_ref(number)))]
        self._tickets.comment_from_requester(event.user, number, text, event.attachments)
        return [OutgoingMessage(t("Added to {ref}. The technician is notified.", ref=ticket_ref(number)))]

    def _cmd_claim(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, _ = parse_number(event.args, "/claim N")
        return self._claim(event.user, number, t, ephemeral=False)

    def _claim(self, user: User, number: int, t: Translator, *, ephemeral: bool) -> list[OutgoingMessage]:
        """Claim; a technician who lost to a colleague is told who holds it and offered the take-over button."""
        try:
            self._tickets.claim(user, number)
        except TicketTaken as taken:
            # Not ephemeral: a Telegram alert could not carry the button.
            return [OutgoingMessage(explain(taken, t), buttons=(take_over_button(t, taken),))]
        return [OutgoingMessage(t("You took {ref}.", ref=ticket_ref(number)), ephemeral=ephemeral)]

    CALL_USAGE = "/call USER | ADDRESS | NAME NUMBER"

    def _cmd_call(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        """``/call WHO``: a technician logs a phone call; the intake's questions are asked of them."""
        self._roles.require_technician(event.user.key)
        caller = self._caller(event.user.platform, event.args.strip())
        conv = self._load(event.user, event.place)
        messages = self._intake.start(conv, event.user, "", t, caller=caller)
        self._save(event.user, event.place, conv)
        return messages

    def _caller(self, platform: str, who: str) -> Caller:
        """Who phoned: a platform user (``platform:id``, a Slack mention), a mail address, or a name and number."""
        if not who:
            raise InvalidCommand(usage=self.CALL_USAGE)
        first, _, rest = who.partition(" ")
        if first.startswith("<@") or (":" in first and "@" not in first):
            return self._caller_of_user(self._resolve_user(platform, first), rest.strip())
        if "@" in first:
            try:
                return self._caller_of_address(first, rest.strip())
            except ValidationFailed:
                raise InvalidCommand(usage=self.CALL_USAGE) from None
        match = re.match(r"^(.*?)\s*(\+?\d[\d ./()-]{5,})$", who)
        if match is None or not match.group(1).strip():
            raise InvalidCommand(usage=self.CALL_USAGE)
        try:
            return self._caller_of_number(match.group(1), match.group(2))
        except ValidationFailed:
            raise InvalidCommand(usage=self.CALL_USAGE) from None

    def _caller_of_user(self, actor: Actor, name: str, chat: str = "") -> Caller:
        """A caller known on a platform: told in their chat with the bot (else ``chat``, the one the
        adapter opened, else their user id), in their language."""
        user_platform, _, user_id = actor.key.partition(":")
        with self._uow() as uow:
            chat = uow.conversations.chat_of(user_platform, user_id) or chat or user_id
            language = uow.preferences.language(actor.key) or self._config.bot.language
        email = user_id if user_platform == "email" else ""
        return Caller(user_platform, user_id, chat, (name or actor.name)[:200], language, email=email)

    def _caller_of_address(self, address: str, name: str) -> Caller:
        """A caller known by a mail address (raises :class:`ValidationFailed` for a bad one): told by mail."""
        address = clean_email(address).lower()
        return Caller("email", address, address, (name or address)[:200], self._config.bot.language, email=address)

    def _caller_of_number(self, name: str, number: str) -> Caller:
        """A caller known only by name and number (raises :class:`ValidationFailed` for a bad number)."""
        phone = clean_phone(number)
        digits = re.sub(r"\D", "", phone)
        return Caller("phone", digits, digits, name.strip()[:200], self._config.bot.language, phone=phone)

    def log_call_from_form(
        self,
        technician: User,
        place: Place,
        caller: dict[str, str],
        fields: dict[str, str],
        *,
        event_id: str = "",
    ) -> list[Reply]:
        """Log a phone call from a complete form (Slack's call modal): the caller's ticket, channel ``phone``.

        ``caller`` holds who phoned — ``user`` (a ``platform:id`` key, or an id on ``technician``'s
        platform; ``chat``, optional, the bot's direct chat with them), else ``email``, else ``name``
        and ``phone`` — and the form's ``fields`` are those of
        :meth:`open_ticket_from_form`, answered by the technician; the caller's name, phone and address
        fill the contact fields the technician left empty. Only technicians log calls
        (:class:`~bot.errors.PermissionDenied` otherwise). One unit of work, once per ``event_id``; raises
        :class:`~bot.errors.ValidationFailed` with ``field=caller_…`` or the intake field's name, and then
        commits nothing. The caller is told on their platform or by mail through the outbox; the returned
        reply is the technician's acknowledgement.
        """
        technician, fields = clean_user(technician), clean_fields(fields)
        caller = clean_fields(caller)
        self._roles.require_technician(technician.key)
        now = self._clock.now()
        with self._uow.event() as uow:
            if event_id and not uow.processed.record(place.platform, event_id, now):
                logger.info("%s call form %s was already processed: skipped", place.platform, event_id)
                return []
            t = translator(self._language(uow, technician))
            who = self._caller_of_form(technician.platform, caller)
            contact = {
                "contact_name": fields.get("contact_name") or who.name,
                "contact_phone": fields.get("contact_phone") or who.phone,
                "contact_email": fields.get("contact_email") or who.email,
            }
            draft = self._intake.draft_from_form(technician, {**fields, **contact}, t)
            text = self._intake.open_call(who, dataclasses.replace(draft, channel="phone"), t)
            uow.commit()
        return [Reply(place, OutgoingMessage(text, ephemeral=True))]

    def _caller_of_form(self, platform: str, caller: dict[str, str]) -> Caller:
        name = (caller.get("name") or "").strip()
        if caller.get("user"):
            return self._caller_of_user(self._resolve_user(platform, caller["user"]), name, caller.get("chat", ""))
        if caller.get("email"):
            try:
                return self._caller_of_address(caller["email"], name)
            except ValidationFailed as problem:
                raise ValidationFailed(problem.msgid, field="caller_email", **problem.params) from None
        if name and caller.get("phone"):
            try:
                return self._caller_of_number(name, caller["phone"])
            except ValidationFailed as problem:
                raise ValidationFailed(problem.msgid, field="caller_phone", **problem.params) from None
        raise ValidationFailed(
            "Say who called: a user, an e-mail address, or a name and a phone number.", field="caller_user"
        )

    def _cmd_assign(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, who = parse_number(event.args, "/assign N USER")
        if not who:
            raise InvalidCommand(usage="/assign N USER")
        assignee = self._resolve_user(event.user.platform, who)
        self._tickets.assign(event.user, number, assignee)
        return [OutgoingMessage(t("{ref} is assigned to {name}.", ref=ticket_ref(number), name=assignee.name))]

    def _cmd_note(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, text = self._number_and_text(event, "/note N text")
        self._tickets.note(event.user, number, text)
        return [OutgoingMessage(t("Internal note added to {ref}.", ref=ticket_ref(number)))]

    def _cmd_reply(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, text = self._number_and_text(event, "/reply N text")
        self._tickets.reply(event.user, number, text)
        return [OutgoingMessage(t("Sent to the requester of {ref}.", ref=ticket_ref(number)))]

    def _cmd_wait(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, text = self._number_and_text(event, "/wait N question")
        self._tickets.wait(event.user, number, text)
        return [OutgoingMessage(t("{ref} now waits for the requester's answer.", ref=ticket_ref(number)))]

    def _cmd_resolve(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, text = self._number_and_text(event, "/resolve N text")
        self._tickets.resolve(event.user, number, text)
        return [OutgoingMessage(t("{ref} is resolved; the requester is told.", ref=ticket_ref(number)))]

    def _cmd_reopen(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, reason = parse_number(event.args, "/reopen N")
        self._roles.require_technician(event.user.key)
        self._tickets.reopen(event.user, number, reason)
        return [OutgoingMessage(t("{ref} is reopened.", ref=ticket_ref(number)))]

    def _cmd_priority(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        number, priority = parse_number(event.args, "/priority N P1|P2|P3|P4")
        self._tickets.set_priority(event.user, number, priority)
        return [OutgoingMessage(t("{ref} has priority {priority}.", ref=ticket_ref(number), priority=priority.upper()))]

    def _cmd_queue(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        tickets = self._tickets.queue(event.user)
        if not tickets:
            return [OutgoingMessage(t("The queue is empty. Well done!"))]
        now = self._clock.now()
        lines = [t("Open tickets, by priority and age:")]
        lines += [
            one_line(t, x, now, for_technicians=True) + (f" · {x.assignee_name}" if x.assignee_name else "")
            for x in tickets
        ]
        return [OutgoingMessage("\n".join(lines))]

    def _cmd_mine(self, event: SlashCommand, t: Translator) -> list[OutgoingMessage]:
        tickets = self._tickets.assigned_to(event.user)
        if not tickets:
            return [OutgoingMessage(t("No open ticket is assigned to you."))]
        now = self._clock.now()
        lines = [t("Assigned to you:"), *(one_line(t, x, now, for_technicians=True) for x in tickets)]
        return [OutgoingMessage("\n".join(lines))]

    # -- helpers --------------------------------------------------------------------------------

    def _number_and_text(self, event: SlashCommand, usage: str) -> tuple[int, str]:
        number, text = parse_number(event.args, usage)
        if not text:
            raise InvalidCommand(usage=usage)
        if len(text) > self._config.bot.max_message_chars:
            raise InvalidCommand(
                "That text is too long ({length} characters, at most {limit}).",
                length=len(text),
                limit=self._config.bot.max_message_chars,
            )
        return number, text

    @staticmethod
    def _resolve_user(platform: str, who: str) -> Actor:
        """``<@U123|name>`` (Slack), ``@name``, ``12345`` or ``platform:id`` → an actor."""
        mention = re.match(r"^<@([A-Z0-9]+)(?:\|([^>]*))?>$", who.strip())
        if mention:
            return Actor(f"{platform}:{mention.group(1)}", mention.group(2) or mention.group(1))
        token = who.strip().split()[0].lstrip("@")
        key = token if ":" in token else f"{platform}:{token}"
        return Actor(key, token.split(":", 1)[-1])

    def _guess_category(self, text: str) -> str:
        ranked = self._knowledge().rank(text, limit=1)
        if ranked and float(ranked[0].score) > 0.05:
            category = getattr(ranked[0].article, "category", "helpdesk")
            return category if category in ("helpline", "helpdesk") else "helpdesk"
        return "helpdesk"

    def _suggestion_outcome(self, log_id: object, outcome: str, article_id: object = None) -> None:
        if not isinstance(log_id, int):
            return
        with self._uow() as uow:
            log = uow.suggestions.get(log_id)
            if log is not None and log.outcome == "shown":
                log.outcome = outcome
                log.decided_at = self._clock.now()
                if outcome == "solved":
                    ids = log.article_ids.get("ids", [])
                    # only an article that was shown can have solved it (button values come from the client)
                    chosen = str(article_id) if article_id else None
                    log.solved_by = chosen if chosen in ids else (ids[0] if ids else None)
                uow.commit()

    def _load(self, user: User, place: Place) -> ConversationState:
        # Inside an event the row is already in the session (locked by the pipeline): no statement.
        with self._uow() as uow:
            row = uow.conversations.get(place.platform, place.chat_id, user.id)
            # A deep copy: the flows change nested lists in place, the stored row must only change in _save.
            return ConversationState(row.state, copy.deepcopy(row.data)) if row else ConversationState()

    def _save(self, user: User, place: Place, conv: ConversationState) -> None:
        with self._uow() as uow:
            row = uow.conversations.get(place.platform, place.chat_id, user.id)
            if row is not None and row.state == conv.state and row.data == conv.data:
                return
            if row is None and conv.state == "idle" and not conv.data:
                return
            # An idle conversation keeps its row (the pipeline locks it on every event); the purge job
            # removes idle rows that stay untouched for [bot] processed_events_hours.
            uow.conversations.save(place.platform, place.chat_id, user.id, conv.state, conv.data, self._clock.now())
            uow.commit()

    def _clear(self, user: User, place: Place) -> None:
        self._save(user, place, ConversationState())


def _titled(article: Any, language: str) -> str:
    """An article's title, labelled with its language when it is not the user's ("VPN not connecting (EN)")."""
    lang = str(getattr(article, "lang", language))
    return article.title if lang == language else f"{article.title} ({lang.upper()})"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _excerpt(markdown: str, limit: int) -> str:
    """The article body as chat text: Markdown emphasis removed, clipped at a paragraph."""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", markdown).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit("\n", 1)[0]
    return cut + "\n…"
