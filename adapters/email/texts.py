"""The sentences only mail needs, in French, English and Dutch.

Everything the core says (confirmation, claims, questions, resolutions) arrives already
translated in the requester's language; these are the mail-specific additions: the questions
to answer by reply, the knowledge-base offer, and the keywords a reply may start with.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "questions_intro": {
        "en": "To help the technician, please answer by replying to this mail (skip what you do not know):",
        "fr": "Pour aider le technicien, répondez à ce mail (passez ce que vous ne savez pas)\u202f:",
        "nl": "Om de technicus te helpen, antwoord op deze mail (sla over wat u niet weet):",
    },
    "q_error": {
        "en": "The full text of the error message, if there is one.",
        "fr": "Le texte complet du message d'erreur, s'il y en a un.",
        "nl": "De volledige tekst van de foutmelding, als die er is.",
    },
    "q_url": {
        "en": "The address (URL) of the application or site concerned.",
        "fr": "L'adresse (URL) de l'application ou du site concerné.",
        "nl": "Het adres (URL) van de betrokken toepassing of site.",
    },
    "q_started": {
        "en": "When it started.",
        "fr": "Depuis quand le problème se produit.",
        "nl": "Sinds wanneer het probleem zich voordoet.",
    },
    "q_impact": {
        "en": "Who is affected: only you, your team, or the whole site?",
        "fr": "Qui est touché\u202f: vous seul, votre équipe, ou tout le site\u202f?",
        "nl": "Wie is getroffen: alleen u, uw team, of de hele site?",
    },
    "q_phone": {
        "en": "A phone number where a technician can reach you.",
        "fr": "Un numéro de téléphone où un technicien peut vous joindre.",
        "nl": "Een telefoonnummer waarop een technicus u kan bereiken.",
    },
    "kb_intro": {
        "en": "This might already help — from the knowledge base:",
        "fr": "Ceci pourrait déjà vous aider — extrait de la base de connaissances\u202f:",
        "nl": "Dit kan al helpen — uit de kennisbank:",
    },
    "kb_solved": {
        "en": "Reply SOLVED if this fixed it: the ticket will be closed.",
        "fr": "Répondez RÉSOLU si cela a réglé le problème\u202f: le ticket sera clôturé.",
        "nl": "Antwoord OPGELOST als dit het probleem verhielp: het ticket wordt dan afgesloten.",
    },
    "reply_solved": {
        "en": "Reply SOLVED to confirm the fix and close the ticket.",
        "fr": "Répondez RÉSOLU pour confirmer la solution et clôturer le ticket.",
        "nl": "Antwoord OPGELOST om de oplossing te bevestigen en het ticket af te sluiten.",
    },
    "reply_still_broken": {
        "en": "Reply STILL BROKEN to reopen the ticket.",
        "fr": "Répondez TOUJOURS EN PANNE pour rouvrir le ticket.",
        "nl": "Antwoord NOG STEEDS KAPOT om het ticket te heropenen.",
    },
    "reply_score": {
        "en": "Reply with a score from 1 to 5 on the first line, followed by a comment if you like.",
        "fr": "Répondez par une note de 1 à 5 sur la première ligne, suivie d'un commentaire si vous le souhaitez.",
        "nl": "Antwoord met een score van 1 tot 5 op de eerste regel, eventueel gevolgd door een opmerking.",
    },
    "reply_visit": {
        "en": (
            "Accept or decline the invitation in your calendar, or reply OK to accept, "
            "or reply with another date and time (for example {example})."
        ),
        "fr": (
            "Acceptez ou refusez l'invitation dans votre agenda, ou répondez OK pour accepter, "
            "ou répondez avec une autre date et heure (par exemple {example})."
        ),
        "nl": (
            "Aanvaard of weiger de uitnodiging in uw agenda, of antwoord OK om te aanvaarden, "
            "of antwoord met een andere datum en tijd (bijvoorbeeld {example})."
        ),
    },
    "visit_summary": {
        "en": "[#{number}] On-site visit: {title}",
        "fr": "[#{number}] Visite sur place\u202f: {title}",
        "nl": "[#{number}] Bezoek ter plaatse: {title}",
    },
    "reply_hint": {
        "en": "Reply to this mail to add information; keep [#{number}] in the subject.",
        "fr": "Répondez à ce mail pour ajouter des informations\u202f; gardez [#{number}] dans l'objet.",
        "nl": "Beantwoord deze mail om informatie toe te voegen; laat [#{number}] in het onderwerp staan.",
    },
    "too_large": {
        "en": (
            "Your mail is too large for the service desk ({size}, at most {limit}), so no ticket was opened. "
            "Please send it again without the largest attachments, or describe them in a few words."
        ),
        "fr": (
            "Votre mail est trop volumineux pour le service desk ({size}, au plus {limit})\u202f: aucun ticket "
            "n'a été ouvert. Renvoyez-le sans les plus grosses pièces jointes, ou décrivez-les en quelques mots."
        ),
        "nl": (
            "Uw mail is te groot voor de servicedesk ({size}, hoogstens {limit}): er is geen ticket geopend. "
            "Stuur hem opnieuw zonder de grootste bijlagen, of beschrijf ze in een paar woorden."
        ),
    },
    "truncated": {
        "en": "(The rest of the mail is kept in the service desk's mailbox.)",
        "fr": "(La suite du mail est conservée dans la boîte du service desk.)",
        "nl": "(De rest van de mail wordt bewaard in de mailbox van de servicedesk.)",
    },
    "no_subject": {
        "en": "Request by mail",
        "fr": "Demande par mail",
        "nl": "Aanvraag per mail",
    },
    "bounce_note": {
        "en": (
            "{ref}: mail to the requester ({address}) could not be delivered — the address is marked unreachable. "
            "Please phone them."
        ),
        "fr": (
            "{ref}\u202f: le mail au demandeur ({address}) n'a pas pu être remis — l'adresse est marquée injoignable. "
            "Merci de l'appeler."
        ),
        "nl": (
            "{ref}: mail aan de aanvrager ({address}) kon niet worden bezorgd — het adres is als onbereikbaar "
            "gemarkeerd. Bel hem of haar."
        ),
    },
}

OK_WORDS = frozenset({"ok", "okay", "oui", "yes", "ja", "d'accord", "akkoord", "accepté", "accepted", "goed"})
"""A first line that accepts a proposed visit."""
SOLVED_WORDS = frozenset({"solved", "résolu", "resolu", "résolue", "opgelost", "fixed", "réglé", "regle"})
STILL_BROKEN_WORDS = frozenset(
    {"still broken", "toujours en panne", "toujours cassé", "nog steeds kapot", "still not working", "nog kapot"}
)


def text(key: str, language: str, **params: object) -> str:
    """The sentence ``key`` in ``language`` (English when the language is not supported)."""
    variants = TEXTS[key]
    template = variants.get(language) or variants["en"]
    return template.format(**params) if params else template


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
