"""The command menus registered with ``setMyCommands``, per language.

Telegram shows these in the client's "/" menu, in the user's app language
(``language_code``), falling back to the default list (French, the service desks'
first language). Requesters see theirs everywhere; the technicians' commands are
registered only for the technicians' chat (``BotCommandScopeChat``).
These short descriptions exist only in Telegram's menu, so they live with the adapter.
"""

from __future__ import annotations

from telegram import BotCommand

DEFAULT_LANGUAGE = "fr"
LANGUAGES = ("fr", "en", "nl")

_REQUESTER: dict[str, dict[str, str]] = {
    "start": {
        "fr": "Commencer et découvrir le bot",
        "en": "Start and see what the bot does",
        "nl": "Beginnen en zien wat de bot doet",
    },
    "help": {"fr": "Aide", "en": "Help", "nl": "Hulp"},
    "mytickets": {"fr": "Mes tickets", "en": "My tickets", "nl": "Mijn tickets"},
    "ticket": {
        "fr": "Voir un ticket : /ticket N",
        "en": "Show a ticket: /ticket N",
        "nl": "Een ticket bekijken: /ticket N",
    },
    "cancel": {
        "fr": "Annuler un ticket : /cancel N",
        "en": "Cancel a ticket: /cancel N",
        "nl": "Een ticket annuleren: /cancel N",
    },
    "kb": {
        "fr": "Chercher dans la base de connaissances",
        "en": "Search the knowledge base",
        "nl": "Zoeken in de kennisbank",
    },
    "lang": {"fr": "Langue : /lang fr|en|nl", "en": "Language: /lang fr|en|nl", "nl": "Taal: /lang fr|en|nl"},
    "complaint": {
        "fr": "Adresser une plainte aux responsables",
        "en": "Make a complaint to the team leads",
        "nl": "Een klacht indienen bij de teamleiders",
    },
    "feedback": {
        "fr": "Évaluer un ticket : /feedback N 1-5",
        "en": "Rate a ticket: /feedback N 1-5",
        "nl": "Een ticket beoordelen: /feedback N 1-5",
    },
}

_TECHNICIAN: dict[str, dict[str, str]] = {
    "queue": {
        "fr": "Tickets ouverts par priorité",
        "en": "Open tickets by priority",
        "nl": "Open tickets volgens prioriteit",
    },
    "ticket": {
        "fr": "Voir un ticket : /ticket N",
        "en": "Show a ticket: /ticket N",
        "nl": "Een ticket bekijken: /ticket N",
    },
    "claim": {
        "fr": "Prendre un ticket : /claim N",
        "en": "Claim a ticket: /claim N",
        "nl": "Een ticket opnemen: /claim N",
    },
    "assign": {
        "fr": "Assigner : /assign N utilisateur",
        "en": "Assign: /assign N user",
        "nl": "Toewijzen: /assign N gebruiker",
    },
    "note": {
        "fr": "Note interne : /note N texte",
        "en": "Internal note: /note N text",
        "nl": "Interne notitie: /note N tekst",
    },
    "reply": {
        "fr": "Répondre au demandeur : /reply N texte",
        "en": "Reply to the requester: /reply N text",
        "nl": "De aanvrager antwoorden: /reply N tekst",
    },
    "wait": {
        "fr": "Attendre le demandeur : /wait N question",
        "en": "Wait on the requester: /wait N question",
        "nl": "Wachten op de aanvrager: /wait N vraag",
    },
    "resolve": {
        "fr": "Résoudre : /resolve N texte",
        "en": "Resolve: /resolve N text",
        "nl": "Oplossen: /resolve N tekst",
    },
    "reopen": {"fr": "Rouvrir : /reopen N", "en": "Reopen: /reopen N", "nl": "Heropenen: /reopen N"},
    "priority": {
        "fr": "Priorité : /priority N P1..P4",
        "en": "Priority: /priority N P1..P4",
        "nl": "Prioriteit: /priority N P1..P4",
    },
    "escalate": {
        "fr": "Escalader : /escalate N L2|L3 motif",
        "en": "Escalate: /escalate N L2|L3 reason",
        "nl": "Escaleren: /escalate N L2|L3 reden",
    },
    "visit": {
        "fr": "Planifier un passage : /visit N AAAA-MM-JJ HH:MM",
        "en": "Plan a visit: /visit N YYYY-MM-DD HH:MM",
        "nl": "Bezoek plannen: /visit N JJJJ-MM-DD UU:MM",
    },
    "visits": {"fr": "Mes prochains passages", "en": "My upcoming visits", "nl": "Mijn komende bezoeken"},
    "category": {
        "fr": "Changer d'équipe : /category N helpline|helpdesk",
        "en": "Change team: /category N helpline|helpdesk",
        "nl": "Ander team: /category N helpline|helpdesk",
    },
    "problem": {"fr": "Fiches de problème", "en": "Problem records", "nl": "Probleemdossiers"},
    "link": {
        "fr": "Relier à un problème : /link N P",
        "en": "Link to a problem: /link N P",
        "nl": "Aan een probleem koppelen: /link N P",
    },
    "kbdraft": {
        "fr": "Brouillon d'article : /kbdraft N",
        "en": "Draft an article: /kbdraft N",
        "nl": "Conceptartikel: /kbdraft N",
    },
    "stats": {
        "fr": "Statistiques (responsables)",
        "en": "Statistics (team leads)",
        "nl": "Statistieken (teamleiders)",
    },
    "kb": {
        "fr": "Chercher dans la base de connaissances",
        "en": "Search the knowledge base",
        "nl": "Zoeken in de kennisbank",
    },
    "help": {"fr": "Aide", "en": "Help", "nl": "Hulp"},
}


def _menu(table: dict[str, dict[str, str]], language: str) -> list[BotCommand]:
    return [BotCommand(name, texts[language]) for name, texts in table.items()]


def requester_commands(language: str) -> list[BotCommand]:
    """The requesters' menu in ``language`` (fr, en or nl)."""
    return _menu(_REQUESTER, language)


def technician_commands(language: str) -> list[BotCommand]:
    """The technicians' menu in ``language`` (fr, en or nl)."""
    return _menu(_TECHNICIAN, language)
