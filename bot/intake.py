"""The structured intake: a conversation that turns a problem into a complete ticket.

Steps, in order (each saved to the database before the bot answers, so a restart
loses nothing)::

    title → description → error → url → started → impact → urgency → contact → summary

* ``skip``, ``back`` and ``cancel`` (typed in any supported language, or as buttons)
  work at every step; optional steps can be skipped.
* A value that does not pass validation is kept in the draft (``rejected``) and shown
  back with what is expected, so nothing typed is lost.
* From the summary any field can be edited; the edit returns to the summary.
* Files sent at any step (screenshots) are attached to the ticket.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from bot.clock import Clock
from bot.conversation import INTAKE_STEPS, IntakeData, IntakeStep, parse_intake_step
from bot.conversation import ConversationState as ConversationState  # re-exported: the flows' state
from bot.errors import ValidationFailed
from bot.i18n import N_, Translator
from bot.port import Attachment, Button, OutgoingMessage, Place, User
from bot.presenters import (
    CATEGORY_LABELS,
    IMPACT_LABELS,
    TYPE_LABELS,
    URGENCY_LABELS,
    started_text,
    started_value,
    ticket_ref,
)
from bot.tickets import TicketDraft, TicketService
from bot.validation import TITLE_MAX, clean_email, clean_phone, clean_text, clean_title, clean_url

STEPS: tuple[IntakeStep, ...] = INTAKE_STEPS[: INTAKE_STEPS.index("summary") + 1]
"""The intake's questions, in order (the contact sub-steps are asked from ``contact``)."""
OPTIONAL = frozenset({"description", "error", "url", "started"})
CONTACT_FIELDS = ("contact_name", "contact_phone", "contact_email")
_CONTACT_STEPS: dict[str, IntakeStep] = {"name": "contact_name", "phone": "contact_phone", "email": "contact_email"}
CONTROL_WORDS = {
    "skip": {"skip", "passer", "overslaan", "suivant", "volgende"},
    "back": {"back", "retour", "terug", "précédent", "precedent", "vorige"},
    "cancel": {"cancel", "annuler", "annuleren", "stop", "abandonner"},
}
STARTED_CHOICES = {
    "now": N_("just now"),
    "today": N_("today"),
    "yesterday": N_("yesterday"),
    "days": N_("several days ago"),
}


CategoryGuesser = Callable[[str], str]


def propose_title(text: str) -> str:
    """A title proposal from a first message: its first sentence, at most 80 characters."""
    flat = " ".join(text.split())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0].strip(" .!?")
    if len(first) > 80:
        first = first[:80].rsplit(" ", 1)[0] + "…"
    return first[:1].upper() + first[1:] if first else flat[:80]


@dataclass(frozen=True)
class Caller:
    """Who phoned, for a call a technician logs (``/call``): the ticket's requester."""

    platform: str
    """Where they are told of their ticket's updates: a chat platform, ``email``, or ``phone`` (nowhere)."""
    user_id: str
    chat_id: str
    name: str
    language: str
    email: str = ""
    phone: str = ""


class IntakeFlow:
    """Runs the intake steps for one conversation at a time."""

    def __init__(self, tickets: TicketService, guess_category: CategoryGuesser, max_chars: int, clock: Clock) -> None:
        self._tickets = tickets
        self._clock = clock
        self._guess_category = guess_category
        self._max_chars = max_chars

    # -- entry points -----------------------------------------------------------------------

    def start(
        self,
        conv: ConversationState,
        user: User,
        first_message: str,
        t: Translator,
        attachments: tuple[Attachment, ...] = (),
        *,
        ticket_type: str = "incident",
        caller: Caller | None = None,
    ) -> list[OutgoingMessage]:
        """Begin an intake from the user's first message (may be empty: ``/new``).

        With ``caller``, a technician logs a phone call: the same questions are asked of them, and
        the ticket is the caller's (channel ``phone``), with the caller's contact details.
        """
        conv.to_intake("title")
        draft: IntakeData = {
            "first_message": first_message,
            "title": propose_title(first_message) if first_message else "",
            "description": first_message,
            "type": ticket_type,
            "category": self._guess_category(first_message) if first_message else "helpdesk",
            "contact_name": user.display_name,
            "contact_phone": "",
            "contact_email": user.email or "",
            "attachments": [],
            "history": [],
            "rejected": {},
        }
        conv.data = dict(draft)
        phone = caller.phone if caller is not None else user.phone
        if caller is not None:
            conv.intake.update(
                {
                    "caller": asdict(caller),
                    "channel": "phone",
                    "contact_name": caller.name,
                    "contact_email": caller.email,
                }
            )
        if phone:
            try:
                conv.intake["contact_phone"] = clean_phone(phone)
            except ValidationFailed:
                conv.intake["contact_phone"] = ""
        self._add_attachments(conv, attachments)
        if caller is not None:
            intro = t("A call from {name}: let's record it as a ticket. Type “cancel” at any time.", name=caller.name)
            return [OutgoingMessage(intro), self.prompt(conv, t)]
        if first_message:
            intro = t(
                "I found no article that fixes this, so let's open a ticket together. "
                "You can type “cancel” at any time."
            )
        else:
            intro = t("Let's open a ticket together. You can type “cancel” at any time.")
        return [OutgoingMessage(intro), self.prompt(conv, t)]

    def on_text(
        self,
        conv: ConversationState,
        user: User,
        place: Place,
        text: str,
        t: Translator,
        attachments: tuple[Attachment, ...] = (),
        *,
        message_id: str | None = None,
    ) -> list[OutgoingMessage]:
        """A typed answer (or a control word) at the current step.

        An accepted answer is remembered with the platform's ``message_id``, so that an edit of
        that message can replace it (:meth:`on_edit`) until the ticket is opened.
        """
        self._add_attachments(conv, attachments)
        word = text.strip().lower()
        for control, words in CONTROL_WORDS.items():
            if word in words:
                return self._control(conv, user, place, control, t)
        step = self.step(conv)
        if not text.strip():
            if attachments and step == "error":
                conv.intake["error_message"] = conv.intake.get("error_message") or t("(see the attached screenshot)")
                return self._advance(conv, t)
            if attachments:
                return [OutgoingMessage(t("File received; it will be attached to the ticket.")), self.prompt(conv, t)]
            return [self.prompt(conv, t)]
        try:
            self._accept(conv, step, text, t)
        except ValidationFailed as problem:
            conv.intake.setdefault("rejected", {})[step] = text
            return [OutgoingMessage(t(problem.msgid, **problem.params)), self.prompt(conv, t)]
        conv.intake.get("rejected", {}).pop(step, None)
        if message_id:
            conv.intake.setdefault("answers", {})[message_id] = [step, text]
        if step == "contact":
            return [self.prompt(conv, t)]
        return self._advance(conv, t)

    def on_edit(
        self, conv: ConversationState, message_id: str, text: str, t: Translator
    ) -> list[OutgoingMessage] | None:
        """A new version of an answer given earlier in this intake: it replaces that answer and the
        current question is asked again; ``None`` when ``message_id`` was not an answer of this intake."""
        answers: dict[str, list[str]] = conv.intake.get("answers", {})
        if message_id not in answers:
            return None
        step, previous = answers[message_id]
        edited = ConversationState(conv.state, copy.deepcopy(conv.data))
        if step == "description":
            # Answers are appended to the description: replace this one where it stands.
            old = edited.intake.get("description", "")
            edited.intake["description"] = old.replace(previous, "").strip() if previous in old else old
        try:
            self._accept(edited, step, text, t)
        except ValidationFailed as problem:
            return [OutgoingMessage(t(problem.msgid, **problem.params)), self.prompt(conv, t)]
        edited.intake["answers"][message_id] = [step, text]
        conv.data = edited.data
        return [OutgoingMessage(t("Your correction is taken into account.")), self.prompt(conv, t)]

    def on_button(
        self, conv: ConversationState, user: User, place: Place, value: str, t: Translator
    ) -> list[OutgoingMessage]:
        """A button of the intake (``intake:...``)."""
        _, _, action = value.partition(":")
        verb, _, arg = action.partition(":")
        step = self.step(conv)
        if verb in ("skip", "back", "cancel"):
            return self._control(conv, user, place, verb, t)
        if verb == "accept" and step == "title" and conv.intake.get("title"):
            return self._advance(conv, t)
        if verb == "started" and arg in STARTED_CHOICES and step == "started":
            conv.intake["started"] = started_value(arg, self._clock.now())
            return self._advance(conv, t)
        if verb == "impact" and arg in IMPACT_LABELS and step == "impact":
            conv.intake["impact"] = arg
            return self._advance(conv, t)
        if verb == "urgency" and arg in URGENCY_LABELS and step == "urgency":
            conv.intake["urgency"] = arg
            return self._advance(conv, t)
        if verb == "type" and arg in ("incident", "request") and step == "type":
            conv.intake["type"] = arg
            return self._go(conv, "summary", t)
        if verb == "contact" and step == "contact":
            if arg == "ok":
                if not (conv.intake.get("contact_phone") or conv.intake.get("contact_email")):
                    return [
                        OutgoingMessage(
                            t("Please give a phone number or an email address so that a technician can reach you.")
                        ),
                        self._go_prompt(conv, "contact_phone", t),
                    ]
                if not conv.intake.get("contact_name"):
                    return [self._go_prompt(conv, "contact_name", t)]
                return self._advance(conv, t)
            detail = _CONTACT_STEPS.get(arg)
            if detail is not None:
                return [self._go_prompt(conv, detail, t)]
        edit = parse_intake_step(arg)
        if verb == "edit" and step == "summary" and edit is not None and edit in (*STEPS, "type"):
            conv.intake["return_to_summary"] = True
            return [self._go_prompt(conv, edit, t)]
        if verb == "confirm" and step == "summary":
            return self._open_ticket(conv, user, place, t)
        # A button from an older message: answer with the current question.
        return [OutgoingMessage(t("That button belongs to an earlier question.")), self.prompt(conv, t)]

    def draft_from_form(self, user: User, fields: dict[str, str], t: Translator) -> TicketDraft:
        """Validate a whole intake form at once (platform modals); ``ValidationFailed(field=…)`` on the first
        bad field."""

        def check(name: str, clean: Callable[[str], str]) -> str:
            value = (fields.get(name) or "").strip()
            if not value:
                return ""
            try:
                return clean(value)
            except ValidationFailed as problem:
                raise ValidationFailed(problem.msgid, field=name, **problem.params) from None

        title = (fields.get("title") or "").strip()
        try:
            title = clean_title(title)
        except ValidationFailed as problem:
            raise ValidationFailed(problem.msgid, field="title", **problem.params) from None
        description = check("description", lambda v: clean_text(v, self._max_chars))
        phone = check("contact_phone", clean_phone)
        email = check("contact_email", clean_email)
        if not (phone or email):
            raise ValidationFailed(
                "Please give a phone number or an email address so that a technician can reach you.",
                field="contact_email",
            )
        impact = fields.get("impact") or "me"
        urgency = fields.get("urgency") or "medium"
        if impact not in IMPACT_LABELS:
            raise ValidationFailed("Please choose one of the buttons.", field="impact")
        if urgency not in URGENCY_LABELS:
            raise ValidationFailed("Please choose one of the buttons.", field="urgency")
        return TicketDraft(
            title=title,
            description=description,
            type=fields["type"] if fields.get("type") in ("incident", "request") else "incident",
            category=self._guess_category(f"{title}. {description}"),
            impact=impact,
            urgency=urgency,
            error_message=check("error_message", lambda v: clean_text(v, self._max_chars)),
            url=check("url", clean_url),
            started=check("started", lambda v: clean_text(v, 200)),
            contact_name=check("contact_name", lambda v: clean_text(v, 200)) or user.display_name,
            contact_phone=phone,
            contact_email=email,
        )

    # -- steps ------------------------------------------------------------------------------

    @staticmethod
    def step(conv: ConversationState) -> IntakeStep:
        """The current step (``title``, ``contact_phone``, ``summary`` …); ``title`` outside the intake."""
        return conv.intake_step or "title"

    def prompt(self, conv: ConversationState, t: Translator) -> OutgoingMessage:
        """The question of the current step, with its buttons."""
        step = self.step(conv)
        data = conv.intake
        nav = [Button(t("Back"), "intake:back"), Button(t("Cancel"), "intake:cancel", "danger")]
        rejected = data.get("rejected", {}).get(step)
        kept = ("\n" + t("You typed: “{value}”", value=rejected[:500])) if rejected else ""
        if step == "title":
            if data.get("title"):
                return OutgoingMessage(
                    t(
                        "Proposed title: “{title}”\nKeep it, or type a better one (at most {limit} characters).",
                        title=data["title"],
                        limit=TITLE_MAX,
                    )
                    + kept,
                    buttons=(Button(t("Keep this title"), "intake:accept", "primary"), nav[1]),
                    expects_text=True,
                )
            return OutgoingMessage(
                t("In a few words, what is the problem? (this becomes the ticket's title)") + kept,
                buttons=(nav[1],),
                expects_text=True,
            )
        if step == "description":
            text = t(
                "Describe the problem: what were you doing, what happens, what did you expect? "
                "Add anything useful, or skip."
            )
            if data.get("description"):
                text = t(
                    "Your description so far:\n“{description}”\nAdd details (they are appended), or skip.",
                    description=_clip(data["description"], 600),
                )
            return OutgoingMessage(text + kept, buttons=(Button(t("Skip"), "intake:skip"), *nav), expects_text=True)
        if step == "error":
            return OutgoingMessage(
                t("Is there an error message? Paste its full text or send a screenshot, or skip.") + kept,
                buttons=(Button(t("No error message"), "intake:skip"), *nav),
                expects_text=True,
            )
        if step == "url":
            return OutgoingMessage(
                t("Which web address (URL) is concerned, if any?") + kept,
                buttons=(Button(t("No URL"), "intake:skip"), *nav),
                expects_text=True,
            )
        if step == "started":
            return OutgoingMessage(
                t("When did it start? Choose, or type it (e.g. “Monday around 10:00”).") + kept,
                buttons=(
                    *(Button(t(label), f"intake:started:{key}") for key, label in STARTED_CHOICES.items()),
                    Button(t("Skip"), "intake:skip"),
                    *nav,
                ),
                expects_text=True,
            )
        if step == "impact":
            return OutgoingMessage(
                t("Who is affected?"),
                buttons=(*(Button(t(label), f"intake:impact:{key}") for key, label in IMPACT_LABELS.items()), *nav),
            )
        if step == "urgency":
            return OutgoingMessage(
                t("Can you keep working?"),
                buttons=(*(Button(t(label), f"intake:urgency:{key}") for key, label in URGENCY_LABELS.items()), *nav),
            )
        if step == "type":
            return OutgoingMessage(
                t("Is it an incident (something is broken) or a request (you need something)?"),
                buttons=(
                    Button(t(TYPE_LABELS["incident"]), "intake:type:incident"),
                    Button(t(TYPE_LABELS["request"]), "intake:type:request"),
                    *nav,
                ),
            )
        if step == "contact":
            return OutgoingMessage(
                t(
                    "How can a technician reach you?\nName: {name}\nPhone: {phone}\nEmail: {email}\nIs this correct?",
                    name=data.get("contact_name") or "—",
                    phone=data.get("contact_phone") or "—",
                    email=data.get("contact_email") or "—",
                ),
                buttons=(
                    Button(t("Correct"), "intake:contact:ok", "primary"),
                    Button(t("Change name"), "intake:contact:name"),
                    Button(t("Change phone"), "intake:contact:phone"),
                    Button(t("Change email"), "intake:contact:email"),
                    *nav,
                ),
            )
        if step == "contact_name":
            return OutgoingMessage(t("Your name?") + kept, buttons=tuple(nav), expects_text=True)
        if step in ("contact_phone", "contact_email") and not _reachable(data):
            # Nothing to keep: skipping would only come back here.
            return OutgoingMessage(
                t("Your phone number or email address?") + kept, buttons=tuple(nav), expects_text=True
            )
        if step == "contact_phone":
            return OutgoingMessage(
                t("Your phone number or internal extension?") + kept,
                buttons=(Button(t("Skip"), "intake:skip"), *nav),
                expects_text=True,
            )
        if step == "contact_email":
            return OutgoingMessage(
                t("Your email address?") + kept, buttons=(Button(t("Skip"), "intake:skip"), *nav), expects_text=True
            )
        return self._summary(conv, t)

    def _summary(self, conv: ConversationState, t: Translator) -> OutgoingMessage:
        data = conv.intake
        none = "—"
        lines = [
            t("Here is your ticket. Check it, then open it:"),
            t("Title: {value}", value=data.get("title") or none),
            t("Type: {value}", value=t(TYPE_LABELS.get(data.get("type", "incident"), "incident"))),
            t("Category: {value}", value=t(CATEGORY_LABELS.get(data.get("category", "helpdesk"), "helpdesk"))),
            t("Description: {value}", value=_clip(data.get("description") or none, 800)),
            t("Error message: {value}", value=_clip(data.get("error_message") or none, 400)),
            t("URL: {value}", value=data.get("url") or none),
            t("Started: {value}", value=started_text(t, data.get("started", ""), self._clock.now()) or none),
            t("Affected: {value}", value=t(IMPACT_LABELS.get(data.get("impact", ""), none))),
            t("Urgency: {value}", value=t(URGENCY_LABELS.get(data.get("urgency", ""), none))),
            t(
                "Contact: {value}",
                value=" · ".join(
                    v for v in (data.get("contact_name"), data.get("contact_phone"), data.get("contact_email")) if v
                )
                or none,
            ),
        ]
        if data.get("attachments"):
            lines.append(t("Attachments: {value}", value=len(data["attachments"])))
        edits = [
            ("title", t("Title")),
            ("description", t("Description")),
            ("error", t("Error message")),
            ("url", t("URL")),
            ("started", t("Start")),
            ("impact", t("Affected")),
            ("urgency", t("Urgency")),
            ("contact", t("Contact")),
            ("type", t("Type")),
        ]
        buttons = (
            Button(t("Open the ticket"), "intake:confirm", "primary"),
            *(Button(t("Edit: {field}", field=label), f"intake:edit:{key}") for key, label in edits),
            Button(t("Cancel"), "intake:cancel", "danger"),
        )
        return OutgoingMessage("\n".join(lines), buttons=buttons)

    def _accept(self, conv: ConversationState, step: str, text: str, t: Translator) -> None:
        data = conv.intake
        if step == "title":
            data["title"] = clean_title(text)
        elif step == "description":
            extra = clean_text(text, self._max_chars)
            previous = data.get("description", "")
            data["description"] = f"{previous}\n\n{extra}" if previous and extra not in previous else extra
        elif step == "error":
            data["error_message"] = clean_text(text, self._max_chars)
        elif step == "url":
            data["url"] = clean_url(text)
        elif step == "started":
            data["started"] = clean_text(text, 200)
        elif step in ("impact", "urgency", "type"):
            raise ValidationFailed("Please choose one of the buttons.")
        elif step == "contact":
            # A phone number or an e-mail address typed instead of pressing "Change …" is taken as such.
            try:
                _accept_contact(data, text)
            except ValidationFailed:
                raise ValidationFailed(
                    "Please choose one of the buttons: confirm your contact details or change one."
                ) from None
        elif step == "contact_name":
            data["contact_name"] = clean_text(text, 200) or data.get("contact_name", "")
        elif step in ("contact_phone", "contact_email"):
            _accept_contact(data, text, prefer=step)
        elif step == "summary":
            raise ValidationFailed("Please use the buttons: open the ticket, or edit a field.")

    def _advance(self, conv: ConversationState, t: Translator) -> list[OutgoingMessage]:
        step = self.step(conv)
        if step.startswith("contact_"):
            return self._go(conv, "contact", t, remember=False)
        if conv.intake.get("return_to_summary"):
            return self._go(conv, "summary", t, remember=False)
        return self._go(conv, STEPS[STEPS.index(step) + 1], t)

    def _go(
        self, conv: ConversationState, step: IntakeStep, t: Translator, *, remember: bool = True
    ) -> list[OutgoingMessage]:
        return [self._go_prompt(conv, step, t, remember=remember)]

    def _go_prompt(
        self, conv: ConversationState, step: IntakeStep, t: Translator, *, remember: bool = True
    ) -> OutgoingMessage:
        current = conv.intake_step
        if remember and current is not None and current != step and current in STEPS:
            conv.intake.setdefault("history", []).append(current)
        if step == "summary":
            conv.intake.pop("return_to_summary", None)
        conv.to_intake(step)
        return self.prompt(conv, t)

    def _control(
        self, conv: ConversationState, user: User, place: Place, control: str, t: Translator
    ) -> list[OutgoingMessage]:
        step = self.step(conv)
        if control == "cancel":
            conv.reset()
            return [OutgoingMessage(t("Cancelled: no ticket was opened. Write to me whenever you need help."))]
        if control == "back":
            history = conv.intake.setdefault("history", [])
            earlier = parse_intake_step(history.pop()) if history and not step.startswith("contact_") else None
            if step.startswith("contact_"):
                conv.to_intake("contact")
            elif earlier is not None:
                conv.to_intake(earlier)
            else:
                return [OutgoingMessage(t("This is the first question.")), self.prompt(conv, t)]
            return [self.prompt(conv, t)]
        # skip
        if step in ("contact_phone", "contact_email") and not _reachable(conv.intake):
            return [
                OutgoingMessage(
                    t(
                        "This question cannot be skipped: a technician needs a phone number or an email address "
                        "to reach you."
                    )
                ),
                self.prompt(conv, t),
            ]
        if step in OPTIONAL or step in ("contact_phone", "contact_email"):
            conv.intake.get("rejected", {}).pop(step, None)
            return self._advance(conv, t)
        return [OutgoingMessage(t("This question cannot be skipped.")), self.prompt(conv, t)]

    def _open_ticket(self, conv: ConversationState, user: User, place: Place, t: Translator) -> list[OutgoingMessage]:
        data = conv.intake
        draft = TicketDraft(
            title=data.get("title") or propose_title(data.get("first_message", "")) or t("Problem"),
            description=data.get("description", ""),
            type=data.get("type", "incident"),
            category=data.get("category", "helpdesk"),
            impact=data.get("impact", "me"),
            urgency=data.get("urgency", "medium"),
            error_message=data.get("error_message", ""),
            url=data.get("url", ""),
            started=data.get("started", ""),
            contact_name=data.get("contact_name", ""),
            contact_phone=data.get("contact_phone", ""),
            contact_email=data.get("contact_email", ""),
            attachments=[Attachment(**a) for a in data.get("attachments", [])],
            channel=data.get("channel", ""),
        )
        caller = Caller(**data["caller"]) if isinstance(data.get("caller"), dict) else None
        if caller is None:
            ticket = self._tickets.open(user, place.in_thread(None), draft, t.language)
            conv.reset()
            conv.data["opened_ticket"] = ticket.id  # idle again, the new ticket remembered for the caller
            return []
        text = self.open_call(caller, draft, t)
        conv.reset()
        return [OutgoingMessage(text)]

    def open_call(self, caller: Caller, draft: TicketDraft, t: Translator) -> str:
        """Open the ticket of a phone call for ``caller`` (inside the caller's unit of work).

        Returns the technician's acknowledgement: the number, and whether the caller is told.
        """
        requester = User(caller.platform, caller.user_id, caller.name, caller.language, email=caller.email or None)
        ticket = self._tickets.open(requester, Place(caller.platform, caller.chat_id), draft, caller.language)
        told = t("They are told on their platform.") if caller.platform != "phone" else t("Tell them the number.")
        return t("{ref} is open for {name} (phone call).", ref=ticket_ref(ticket.id), name=caller.name) + " " + told

    @staticmethod
    def _add_attachments(conv: ConversationState, attachments: tuple[Attachment, ...]) -> None:
        for item in attachments:
            conv.intake.setdefault("attachments", []).append(
                {"kind": item.kind, "ref": item.ref, "name": item.name, "url": item.url, "mime_type": item.mime_type}
            )


def _reachable(data: IntakeData) -> bool:
    """The draft has a phone number or an e-mail address."""
    return bool(data.get("contact_phone") or data.get("contact_email"))


def _accept_contact(data: IntakeData, text: str, *, prefer: str = "contact_phone") -> None:
    """A phone number or an e-mail address (whichever ``text`` is) into the draft's contact.

    An ``@`` makes it an e-mail address; otherwise it is read as a phone number. The error is the
    one of the kind asked for (``prefer``) when ``text`` is neither.
    """
    if "@" in text or (prefer == "contact_email" and not any(ch.isdigit() for ch in text)):
        data["contact_email"] = clean_email(text)
    else:
        data["contact_phone"] = clean_phone(text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
