"""The ``helpdesk-bot`` command line (click).

* ``helpdesk-bot chat`` — talk to the bot in this terminal (the embedded default:
  SQLite in the working directory, bundled knowledge base);
* ``helpdesk-bot run`` — start every adapter enabled in ``bot.toml`` (Slack, Telegram)
  plus the outbox dispatcher, in one process;
* ``helpdesk-bot db upgrade`` — apply the database migrations;
* ``helpdesk-bot kb …`` — search, list, show and check knowledge-base articles.
"""

from __future__ import annotations

import getpass
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from bot.config import Config, adapter_section, load_config
from bot.errors import ConfigError, HelpdeskError
from bot.plugins import discover_adapters

logger = logging.getLogger("bot.cli")


class _SecretFilter(logging.Filter):
    """Last line of defence: tokens never reach a log line."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            if any(secret in message for secret in self._secrets):
                for secret in self._secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "slack_sdk.web.base_client", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _load(config_path: Path | None) -> Config:
    adapters = discover_adapters()
    if config_path is None and Path("bot.toml").exists():
        config_path = Path("bot.toml")
    config = load_config(config_path, adapter_names=set(adapters))
    for name, spec in adapters.items():
        adapter_section(config, name, spec.config_model)
    return config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="bot.toml to use (default: ./bot.toml if present, else the embedded default).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="helpdesk-bot")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Chat-ops helpdesk bot for IT service desks."""
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


def _config(ctx: click.Context) -> Config:
    try:
        return _load(ctx.obj.get("config_path"))
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option("--user", "user_name", default=None, help="Who you are in this terminal (default: your login).")
@click.option(
    "--as",
    "role",
    type=click.Choice(["requester", "technician"]),
    default="requester",
    show_default=True,
    help="Try the technician commands with --as technician.",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en", "nl"]),
    default=None,
    help="Your language (default: the [bot] language, French).",
)
@click.pass_context
def chat(ctx: click.Context, user_name: str | None, role: str, lang: str | None) -> None:
    """Talk to the bot in this terminal. Piped input is read one line per message."""
    from adapters.console import ConsoleChat, ConsoleConfig
    from bot.bootstrap import bootstrap
    from bot.port import User

    config = _config(ctx)
    console = ConsoleConfig(**config.adapters.get("console", {}))
    app = bootstrap(config)
    name = user_name or getpass.getuser()
    user = User("console", name, display_name=name.replace(".", " ").title(), locale=lang)
    session = ConsoleChat(app, user, technician=role == "technician", out=sys.stdout, triage_chat=console.triage_chat)
    interactive = sys.stdin.isatty()
    stop = threading.Event()
    if interactive:
        click.echo(f"helpdesk-bot — {name} ({role}). Type your message, /help for commands, Ctrl-D to quit.")

        def _poll() -> None:
            while not stop.wait(console.poll_seconds):
                try:
                    if app.service_levels is not None:
                        app.service_levels.run_due_actions()
                    session.poll()
                except Exception:
                    logger.exception("polling for updates failed")

        threading.Thread(target=_poll, name="console-poll", daemon=True).start()
    try:
        if app.service_levels is not None:
            app.service_levels.run_due_actions()
        session.poll()
        for line in sys.stdin:
            if not line.strip():
                continue
            if not interactive:
                click.echo(f"{name}> {line.rstrip()}")
            session.say(line)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        app.close()


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Start every adapter enabled in the configuration, plus the outbox dispatcher."""
    from bot.bootstrap import bootstrap

    config = _config(ctx)
    specs = discover_adapters()
    enabled: list[tuple[str, Any]] = []
    secrets: list[str] = []
    for name, spec in specs.items():
        if spec.build is None or name not in config.adapters:
            continue
        section = adapter_section(config, name, spec.config_model)
        if getattr(section, "enabled", True):
            enabled.append((name, section))
            for value in section.__dict__.values():
                if hasattr(value, "get_secret_value"):
                    secrets.append(value.get_secret_value())
    if not enabled:
        raise click.ClickException(
            "no adapter is enabled: add a [slack] or [telegram] section with enabled = true to bot.toml "
            "(see bot.toml.example), or try the bot in this terminal with 'helpdesk-bot chat'."
        )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_SecretFilter(secrets))
    app = bootstrap(config)
    adapters = []
    for name, section in enabled:
        spec = specs[name]
        assert spec.build is not None
        adapter = spec.build(app, section)
        app.register_messenger(adapter.messenger)
        adapters.append(adapter)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        app.dispatcher.wake()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    for adapter in adapters:
        adapter.start()
        click.echo(f"{adapter.name} adapter started")
    from bot.sla.service import start_scheduler

    scheduler = start_scheduler(app) if app.service_levels is not None else None
    try:
        app.dispatcher.run_forever(stop)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for adapter in adapters:
            adapter.stop()
        app.close()


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending migration to the configured database."""
    from bot.db.engine import create_db_engine, upgrade_database

    config = _config(ctx.find_root())
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine)
    except Exception as error:
        raise click.ClickException(f"migration failed: {error}") from None
    finally:
        engine.dispose()
    click.echo("database is up to date")


def _register_kb() -> None:
    from bot.cli.kb import kb

    main.add_command(kb)


_register_kb()


def _register_reports() -> None:
    from bot.cli.gdpr import gdpr
    from bot.cli.report import report

    main.add_command(report)
    main.add_command(gdpr)


_register_reports()


def entry() -> None:
    """Console-script entry point with the one error policy: readable errors, no tracebacks."""
    try:
        main(standalone_mode=True)
    except HelpdeskError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
