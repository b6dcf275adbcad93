"""Duplicate-report detection stores each report's signature with the report and purges old reports
on a timer: the comparison gives the same answers as recomputing everything, with less work."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from rapidfuzz import fuzz
from sqlalchemy import insert, select

from bot.bootstrap import HelpdeskApp
from bot.clock import FrozenClock
from bot.db.models import IncidentReport, OutboxEntry
from bot.i18n import translator
from bot.incidents.duplicates import REPORT_PURGE_EVERY, REPORT_RETENTION, DuplicateDesk
from bot.incidents.similarity import Signature, signature, similarity
from bot.intake import ConversationState
from bot.port import Place, TextMessage, User
from bot.rendering import payload_text

WORDS = [
    "imprimante",
    "imprimnte",
    "deuxième",
    "étage",
    "bloquée",
    "bloque",
    "VPN",
    "connexion",
    "connecter",
    "écran",
    "noir",
    "lecteur",
    "badges",
    "salle",
    "conseil",
    "application",
    "permis",
    "urbanisme",
    "page",
    "blanche",
    "dossier",
    "partagé",
    "service",
    "population",
    "scanner",
    "guichet",
    "documents",
    "messagerie",
    "Outlook",
    "wifi",
    "téléphone",
    "secrétariat",
    "Teams",
    "portail",
    "marchés",
    "lent",
    "erreur",
    "809",
    "printer",
    "stuck",
    "screen",
    "black",
    "mailbox",
    "full",
    "wachtwoord",
    "verlopen",
    "verbinding",
    "netwerk",
    "schijf",
    "traag",
]


def _reference_similarity(a: Signature, b: Signature) -> float:
    """The formula with the original word-by-word matching (every word against every word)."""

    def matched(x: Signature, y: Signature) -> int:
        count = 0
        for word, stems in zip(x.words, x.stems, strict=True):
            for other, other_stems in zip(y.words, y.stems, strict=True):
                if stems & other_stems or (min(len(word), len(other)) >= 5 and fuzz.ratio(word, other) >= 85.0):
                    count += 1
                    break
        return count

    if not a or not b:
        return 0.0
    in_a, in_b = matched(a, b), matched(b, a)
    dice = (in_a + in_b) / (len(a.words) + len(b.words))
    shorter = in_a / len(a.words) if len(a.words) <= len(b.words) else in_b / len(b.words)
    return (dice + shorter) / 2


def test_the_faster_matching_gives_exactly_the_same_similarities() -> None:
    rng = random.Random(11)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    signatures = [signature(text) for text in texts]
    for a, b in zip(signatures, reversed(signatures), strict=True):
        assert similarity(a, b) == _reference_similarity(a, b)


def test_a_signature_survives_its_stored_form() -> None:
    sig = signature("L'imprimante du deuxième étage est bloquée depuis ce matin")
    again = Signature.from_data(sig.as_data())
    assert again == sig and again.every_stem == sig.every_stem and again.long_words == sig.long_words


def _desk(app: HelpdeskApp) -> DuplicateDesk:
    assert app.notifier is not None
    return DuplicateDesk(app.config, app.uow, app.clock, app.notifier, app.technician_places, app.core)


def _report(desk: DuplicateDesk, who: str, text: str) -> None:
    user = User("console", who, who.title(), "fr")
    desk.on_new_problem(TextMessage(user, Place("console", f"dm:{who}"), text), ConversationState(), translator("fr"))


def _rows(app: HelpdeskApp) -> list[IncidentReport]:
    with app.uow() as uow:
        return list(uow.session.scalars(select(IncidentReport).order_by(IncidentReport.id)))


def test_each_report_is_stored_with_its_signature(app: HelpdeskApp) -> None:
    text = "Le VPN ne se connecte pas depuis ce matin"
    _report(_desk(app), "anna", text)
    [row] = _rows(app)
    assert row.signature == signature(text).as_data()


def test_reports_stored_without_a_signature_still_count_towards_a_major_incident(
    make_app: Callable[..., HelpdeskApp], clock: FrozenClock
) -> None:
    app = make_app(incidents={"major_reports": 3})
    with app.uow() as uow:  # two reports made before signatures were stored
        uow.session.execute(
            insert(IncidentReport),
            [
                {"at": clock.now(), "user_key": f"console:{who}", "text": "le VPN ne marche plus", "signature": None}
                for who in ("ben", "chloe")
            ],
        )
        uow.commit()
    app.add_technician_place(Place("console", "techs"))

    _report(_desk(app), "anna", "Le VPN ne se connecte pas ce matin")

    with app.uow() as uow:
        texts = [payload_text(entry.payload, "en") for entry in uow.session.scalars(select(OutboxEntry))]
    assert any("3 people reported a similar problem" in text for text in texts)


def test_old_reports_are_purged_on_a_timer_not_on_every_message(app: HelpdeskApp, clock: FrozenClock) -> None:
    desk = _desk(app)
    _report(desk, "anna", "Le scanner du guichet 3 n'envoie plus les documents")
    clock.advance(REPORT_RETENTION + timedelta(minutes=1))
    _report(desk, "ben", "Outlook refuse mon mot de passe")  # the purge is due: anna's report goes
    assert [r.user_key for r in _rows(app)] == ["console:ben"]
    with app.uow() as uow:  # a report past its retention appears (another process, a clock step…)
        uow.session.add(
            IncidentReport(at=clock.now() - REPORT_RETENTION - timedelta(hours=1), user_key="console:old", text="x")
        )
        uow.commit()

    clock.advance(REPORT_PURGE_EVERY / 2)
    _report(desk, "chloe", "Teams se ferme tout seul")
    assert [r.user_key for r in _rows(app)] == ["console:ben", "console:old", "console:chloe"]  # not due yet

    clock.advance(REPORT_PURGE_EVERY / 2)
    _report(desk, "dirk", "Le wifi de la salle des mariages est lent")
    assert [r.user_key for r in _rows(app)] == ["console:ben", "console:chloe", "console:dirk"]
