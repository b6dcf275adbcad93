"""Per-message cost of duplicate-report detection, against the previous implementation, same run.

Each new problem a requester describes is recorded and compared with the recent reports (major
incidents) and the recent open tickets (the "Same problem as #N?" offer). The previous code
re-read every report of the window as ORM objects and recomputed each report's signature from its
text, and purged old reports on every message; the current one stores each report's signature with
the report, reads only the columns it compares, and purges on a timer.

The database is seeded with ``--reports`` reports inside the major-incident window (other people,
varied IT problems) and ``--tickets`` open tickets; then ``--messages`` new problems are handled by
each implementation in alternation (so both see the same, slowly growing, history), timing
:meth:`DuplicateDesk.on_new_problem` end to end (database included).

Usage::

    python benchmarks/duplicates.py                     # SQLite file
    python benchmarks/duplicates.py --postgres URL      # also PostgreSQL
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import HelpdeskApp, bootstrap  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.db.models import IncidentReport, Ticket  # noqa: E402
from bot.db.uow import FollowerRepository, IncidentReportRepository, UnitOfWork  # noqa: E402
from bot.i18n import translator  # noqa: E402
from bot.incidents.duplicates import REPORT_RETENTION, DuplicateDesk  # noqa: E402
from bot.incidents.similarity import Signature, signature  # noqa: E402
from bot.intake import ConversationState  # noqa: E402
from bot.port import Place, TextMessage, User  # noqa: E402

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
SUBJECTS = [
    "l'imprimante du deuxième étage",
    "le VPN",
    "mon deuxième écran",
    "le lecteur de badges de la salle du conseil",
    "l'application des permis d'urbanisme",
    "le dossier partagé du service population",
    "le scanner du guichet 3",
    "la messagerie Outlook",
    "le wifi de la salle des mariages",
    "le téléphone IP du secrétariat",
    "Teams",
    "le portail des marchés publics",
]
SYMPTOMS = [
    "ne répond plus depuis ce matin",
    "affiche une page blanche",
    "refuse mon mot de passe",
    "est très lent depuis la mise à jour",
    "se ferme tout seul après deux minutes",
    "n'envoie plus les documents",
    "affiche l'erreur 809 au démarrage",
    "ne se connecte pas en télétravail",
]


def problem_text(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(SYMPTOMS)}, {rng.choice(SYMPTOMS)} aussi"


def previous_matched(a: Signature, b: Signature) -> int:
    """The word matching as it was: every word of ``a`` against every word of ``b``."""
    count = 0
    for word, stems in zip(a.words, a.stems, strict=True):
        for other, other_stems in zip(b.words, b.stems, strict=True):
            if stems & other_stems or (min(len(word), len(other)) >= 5 and fuzz.ratio(word, other) >= 85.0):
                count += 1
                break
    return count


def previous_similarity(a: Signature, b: Signature) -> float:
    """:func:`bot.incidents.similarity.similarity` as it was (same formula, previous matching)."""
    if not a or not b:
        return 0.0
    in_a, in_b = previous_matched(a, b), previous_matched(b, a)
    dice = (in_a + in_b) / (len(a.words) + len(b.words))
    shorter = in_a / len(a.words) if len(a.words) <= len(b.words) else in_b / len(b.words)
    return (dice + shorter) / 2


class PreviousDuplicateDesk(DuplicateDesk):
    """The detection as it was before signatures were stored (the baseline, copied unchanged)."""

    def _candidate(self, uow: UnitOfWork, user_key: str, sig: Signature) -> Ticket | None:
        since = self._clock.now() - timedelta(hours=self._settings.duplicate_hours)
        followers = FollowerRepository(uow.session)
        followed = set(followers.followed_by(user_key))
        best: tuple[float, Ticket] | None = None
        for ticket in followers.open_since(since):
            if ticket.requester_key == user_key or ticket.id in followed:
                continue
            score = max(
                previous_similarity(sig, signature(ticket.title)),
                previous_similarity(sig, signature(ticket.description[:500])),
            )
            if score >= self._settings.similarity and (best is None or score > best[0]):
                best = (score, ticket)
        return best[1] if best else None

    def _record(self, uow: UnitOfWork, user_key: str, text: str, sig: Signature, candidate: Ticket | None) -> int:
        now = self._clock.now()
        reports = IncidentReportRepository(uow.session)
        reports.purge(now - REPORT_RETENTION)
        report_id = reports.add(
            IncidentReport(at=now, user_key=user_key, text=text[:2000], ticket_id=None, signature=sig.as_data())
        )  # stored (unused here) so that the current desk finds every report signed, as in production
        window = now - timedelta(minutes=self._settings.major_minutes)
        people = {user_key}
        for report in reports.since(window):
            if report.id == report_id or report.user_key in people:
                continue
            same_ticket = candidate is not None and report.ticket_id == candidate.id
            if same_ticket or previous_similarity(sig, signature(report.text)) >= self._settings.similarity:
                people.add(report.user_key)
        if len(people) >= self._settings.major_reports:
            self._flag(uow, text, sig, candidate, len(people))
        return report_id


def seed(app: HelpdeskApp, reports: int, tickets: int, rng: random.Random) -> None:
    report_rows = []
    for i in range(reports):
        body = problem_text(rng)
        report_rows.append(
            {
                "at": NOW - timedelta(minutes=rng.uniform(0, 29)),
                "user_key": f"bench:u{i}",
                "text": body,
                "ticket_id": None,
                "signature": signature(body).as_data(),
            }
        )
    ticket_rows = [
        {
            "title": problem_text(rng)[:80],
            "description": problem_text(rng),
            "status": "new",
            "requester_key": f"bench:t{i}",
            "origin_platform": "bench",
            "origin_chat_id": f"dm-t{i}",
            "created_at": NOW - timedelta(hours=rng.uniform(0, 3.5)),
            "updated_at": NOW,
        }
        for i in range(tickets)
    ]
    with app.uow() as uow:
        uow.session.execute(insert(Ticket), ticket_rows)
        uow.session.execute(insert(IncidentReport), report_rows)
        uow.commit()


def measure(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    clock = FrozenClock(NOW)
    config = parse_config(
        {"database": {"url": url}, "bot": {"language": "fr"}, "incidents": {"major_reports": 10_000}}, environ={}
    )
    app = bootstrap(config, clock=clock)
    try:
        rng = random.Random(7)
        seed(app, args.reports, args.tickets, rng)
        desks = {
            "previous": PreviousDuplicateDesk(config, app.uow, clock, app.notifier, app.technician_places, app.core),
            "current": DuplicateDesk(config, app.uow, clock, app.notifier, app.technician_places, app.core),
        }
        t = translator("fr")
        times: dict[str, list[float]] = {name: [] for name in desks}
        for i in range(args.messages):
            for name, desk in desks.items():
                user = User("bench", f"n{name}{i}", "Bench")
                event = TextMessage(user, Place("bench", f"dm-n{name}{i}"), problem_text(rng))
                start = time.perf_counter()
                desk.on_new_problem(event, ConversationState(), t)
                times[name].append(time.perf_counter() - start)
        return times
    finally:
        app.close()


def report(label: str, times: dict[str, list[float]]) -> None:
    previous = statistics.median(times["previous"]) * 1000
    current = statistics.median(times["current"]) * 1000
    p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000 for name, values in times.items()}
    print(
        f"{label}: median per message previous {previous:.1f} ms, current {current:.1f} ms "
        f"(×{previous / current:.1f} faster); p90 {p90['previous']:.1f} → {p90['current']:.1f} ms"
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL (a schema is created and dropped)")
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.reports} reports in the window, {args.tickets} open tickets, {args.messages} messages each")
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", measure(f"sqlite:///{folder}/dup.db", args))
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        engine = create_engine(args.postgres)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            separator = "&" if "?" in args.postgres else "?"
            report("PostgreSQL", measure(f"{args.postgres}{separator}options=-csearch_path%3D{schema}", args))
        finally:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()


if __name__ == "__main__":
    main()
