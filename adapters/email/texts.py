"""The sentences only mail needs (translated in the catalogs like the core's), and the words a reply may start with.

Everything the core says (confirmation, claims, questions, resolutions) arrives already
translated in the requester's language; these are the mail-specific additions: the questions
to answer by reply, the knowledge-base offer, and the keywords a reply may start with.
"""

from __future__ import annotations

from bot.i18n import N_, translator

MESSAGES: dict[str, str] = {
    "questions_intro": N_(
        "To help the technician, please answer by replying to this mail (skip what you do not know):"
    ),
    "q_error": N_("The full text of the error message, if there is one."),
    "q_url": N_("The address (URL) of the application or site concerned."),
    "q_started": N_("When it started."),
    "q_impact": N_("Who is affected: only you, your team, or the whole site?"),
    "q_phone": N_("A phone number where a technician can reach you."),
    "kb_intro": N_("This might already help — from the knowledge base:"),
    "kb_solved": N_("Reply SOLVED if this fixed it: the ticket will be closed."),
    "reply_solved": N_("Reply SOLVED to confirm the fix and close the ticket."),
    "reply_still_broken": N_("Reply STILL BROKEN to reopen the ticket."),
    "reply_score": N_("Reply with a score from 1 to 5 on the first line, followed by a comment if you like."),
    "reply_visit": N_(
        "Accept or decline the invitation in your calendar, or reply OK "
        "to accept, or reply with another date and time (for example {example})."
    ),
    "visit_summary": N_("[#{number}] On-site visit: {title}"),
    "reply_hint": N_("Reply to this mail to add information; keep [#{number}] in the subject."),
    "too_large": N_(
        "Your mail is too large for the service desk ({size}, at most {limit}), so no ticket "
        "was opened. Please send it again without the largest attachments, or describe them in a few words."
    ),
    "truncated": N_("(The rest of the mail is kept in the service desk's mailbox.)"),
    "no_subject": N_("Request by mail"),
    "bounce_note": N_(
        "{ref}: mail to the requester ({address}) could not be "
        "delivered — the address is marked unreachable. Please phone them."
    ),
}
"""The sentences only mail needs, by key; translated in the catalogs (``bot/locales``) like the core's."""

OK_WORDS = frozenset({"ok", "okay", "oui", "yes", "ja", "d'accord", "akkoord", "accepté", "accepted", "goed"})
"""A first line that accepts a proposed visit."""
SOLVED_WORDS = frozenset({"solved", "résolu", "resolu", "résolue", "opgelost", "fixed", "réglé", "regle"})
STILL_BROKEN_WORDS = frozenset(
    {"still broken", "toujours en panne", "toujours cassé", "nog steeds kapot", "still not working", "nog kapot"}
)


def text(key: str, language: str, **params: object) -> str:
    """The sentence ``key`` in ``language`` (English when the language is not supported)."""
    return translator(language)(MESSAGES[key], **params)


def keyword(body: str) -> str | None:
    """``"solved"`` or ``"still_broken"`` when the reply's first line is one of the keywords."""
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    word = " ".join(first.lower().strip(" .!:;,").split())
    if word in SOLVED_WORDS:
        return "solved"
    if word in STILL_BROKEN_WORDS:
        return "still_broken"
    return None


def score_of(body: str) -> tuple[int, str] | None:
    """``(score, comment)`` when the reply starts with a satisfaction score from 1 to 5 (``4``, ``4/5``, ``4 - ok``)."""
    stripped = body.strip()
    if not stripped or stripped[0] not in "12345" or (len(stripped) > 1 and stripped[1].isdigit()):
        return None
    rest = stripped[1:]
    if rest.startswith("/5"):
        rest = rest[2:]
    return int(stripped[0]), rest.strip(" \n.:-–—,")


def size_text(size: int, language: str) -> str:
    """A mail size as people read it: ``850 kB``, ``1.5 MB`` (``ko``/``Mo`` in French, decimal comma in fr/nl)."""
    kilo, mega = ("ko", "Mo") if language == "fr" else ("kB", "MB")
    space = "\u202f" if language == "fr" else "\u00a0"  # a number never parts from its unit
    if size < 1_000_000:
        return f"{max(1, round(size / 1000))}{space}{kilo}"
    value = f"{size / 1_000_000:.1f}".removesuffix(".0")
    return f"{value.replace('.', ',') if language in ('fr', 'nl') else value}{space}{mega}"


def accepts(body: str) -> bool:
    """Whether the reply's first line accepts (``OK``, ``oui``, ``ja`` …)."""
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    return " ".join(first.lower().strip(" .!:;,").split()) in OK_WORDS
