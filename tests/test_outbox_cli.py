"""Dead letters are visible and actionable: ``helpdesk-bot outbox list [--failed]``, ``outbox retry ID``,
``outbox discard ID`` (click's CliRunner on the database a bot process delivers from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from bot.bootstrap import HelpdeskApp, bootstrap
from bot.cli import main
from bot.config import parse_config
from bot.knowledge import KnowledgeBase
from bot.port import Place, User
from bot.tickets import TicketDraft

URSULA = User("fake", "u1", "Ursula User", "en")
TECH = User("fake", "t1", "Theo Tech", "en")


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), "outbox", *args], catch_exceptions=False)


def desk(tmp_path: Path, messenger: Any) -> tuple[HelpdeskApp, Path]:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    config_path = tmp_path / "bot.toml"
    config_path.write_text(f'[bot]\nlanguage = "en"\n\n[database]\nurl = "{url}"\n', encoding="utf-8")
    app = bootstrap(
        parse_config({"database": {"url": url}, "bot": {"language": "en"}}, environ={}), knowledge=KnowledgeBase([])
    )
    app.register_messenger(messenger)
    app.add_technician_place(Place("fake", "techs"))
    app.roles.grant(TECH.key, "technician")
    return app, config_path


def test_a_dead_letter_is_listed_retried_and_delivered(tmp_path: Path, messenger: Any) -> None:
    app, config = desk(tmp_path, messenger)
    try:
        number = app.tickets.open(URSULA, Place("fake", "dm-u1"), TicketDraft(title="Printer jams"), "en").id
        messenger.fail_next(permanent=True)  # the requester's chat refuses the confirmation
        app.dispatch_pending()
        app.tickets.claim(TECH, number)
        app.dispatch_pending()
        assert "update" in messenger.purposes()  # the dead letter does not hold back its thread

        listed = run(config, "list", "--failed")
        assert listed.exit_code == 0
        assert listed.output.splitlines()[0].split()[:4] == ["1", f"#{number}", "confirmation", "fake:dm-u1"]
        assert "last error: platform is down" in listed.output
        assert f"“confirmation #{number}”" in listed.output  # written for its requester when delivered
        assert "card #" not in listed.output  # delivered entries are not listed
        everything = run(config, "list").output
        assert "failed, 1 attempt(s)" in everything and "pending" not in everything  # the rest was delivered

        assert run(config, "retry", "1").output.strip() == "outbox entry 1 is queued again"
        assert "pending, next attempt" in run(config, "list").output
        app.dispatch_pending()
        assert messenger.purposes().count("confirmation") == 1
        assert run(config, "list", "--failed").output.strip() == "no dead letters"
        refused = run(config, "retry", "1")
        assert refused.exit_code == 1 and "already delivered" in refused.output
    finally:
        app.close()


def test_a_dead_letter_can_be_discarded(tmp_path: Path, messenger: Any) -> None:
    app, config = desk(tmp_path, messenger)
    try:
        app.tickets.open(URSULA, Place("fake", "dm-u1"), TicketDraft(title="Printer jams"), "en")
        messenger.fail_next(permanent=True)
        app.dispatch_pending()
        assert run(config, "discard", "1").output.strip() == "outbox entry 1 is discarded"
        assert run(config, "list", "--failed").output.strip() == "no dead letters"
        assert run(config, "retry", "1").exit_code == 1
        assert run(config, "discard", "999").exit_code == 1
    finally:
        app.close()
