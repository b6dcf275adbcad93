"""The ``helpdesk-bot`` command line (click).

* ``helpdesk-bot init DIR`` — create a desk folder: ``bot.toml``, an editable copy of the
  starter knowledge base and its drafts folder;
* ``helpdesk-bot chat`` — talk to the bot in this terminal (the embedded default:
  SQLite in the working directory, bundled knowledge base);
* ``helpdesk-bot run`` — start every adapter enabled in ``bot.toml`` (Slack, Telegram)
  plus the outbox dispatcher, in one process;
* ``helpdesk-bot db upgrade`` — apply the database migrations;
* ``helpdesk-bot kb …`` — search, list, show and check knowledge-base articles;
* ``helpdesk-bot outbox list [--failed] | retry ID | discard ID`` — pending notifications and dead letters.

``--config FILE`` is accepted before the command and after it (``helpdesk-bot run --config bot.toml``);
without it ``HELPDESK_CONFIG``, then ``./bot.toml``, then the embedded default is used. Sub-commands
are imported only when they run (:class:`LazyGroup`), so that ``helpdesk-bot chat`` starts quickly.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from importlib import import_module
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from bot.errors import ConfigError, HelpdeskError

if TYPE_CHECKING:
    from bot.config import Config

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


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message`` (and ``exception``)."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "slack_sdk.web.base_client", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _use_json_logs() -> None:
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())


def database_problem(url: str, error: BaseException) -> str | None:
    """One readable line for a database that cannot be reached or opened; ``None`` if ``error`` is another."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(error, OperationalError | DBAPIError):
        return None
    parsed = make_url(url)
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else ""
    if parsed.get_backend_name() == "sqlite":
        return (
            f"cannot open the SQLite database {parsed.database}: {reason} "
            "(does its folder exist, and may this user write there?)"
        )
    safe = parsed.render_as_string(hide_password=True)
    return f"cannot reach the database {safe}: {reason}"


def bootstrap_app(config: Config) -> Any:
    """:func:`bot.bootstrap.bootstrap`, with an unreachable database answered in one line (for commands,
    the adapters' included)."""
    from bot.bootstrap import bootstrap

    try:
        return bootstrap(config)
    except Exception as error:
        line = database_problem(config.database.url, error)
        if line is None:
            raise
        raise click.ClickException(line) from None


def _load(config_path: Path | None) -> Config:
    from bot.config import apply_secret_files, load_config

    apply_secret_files()  # NAME_FILE → NAME for adapters reading their own variables; problems reported below
    models = _AdapterModels()
    if config_path is None and Path("bot.toml").exists():
        config_path = Path("bot.toml")
    return load_config(config_path, adapter_names=set(models), adapter_models=models)


class _AdapterModels(Mapping[str, Any]):
    """Each registered adapter's configuration model, its package imported only when its section is
    validated: ``helpdesk-bot chat`` does not import Slack's or Telegram's libraries for nothing."""

    def __init__(self) -> None:
        from importlib.metadata import entry_points

        self._entry_points = {ep.name: ep for ep in entry_points(group="helpdesk_bot.adapters")}

    def __getitem__(self, name: str) -> Any:
        return self._entry_points[name].load().config_model

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry_points)

    def __len__(self) -> int:
        return len(self._entry_points)


_CONFIG_HELP = "bot.toml to use (default: $HELPDESK_CONFIG, else ./bot.toml if present, else the embedded default)."


def _store_config_path(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    """``--config`` given after a sub-command: it wins over the one before it."""
    if value is not None:
        root = ctx.find_root()
        root.ensure_object(dict)
        root.obj["config_path"] = value


def _with_config_option(command: click.Command) -> click.Command:
    """Give ``command`` (and every command of a group) its own ``--config`` option."""
    if not any(param.name == "config_path_after" for param in command.params):
        command.params.append(
            click.Option(
                ["--config", "config_path_after"],
                type=click.Path(path_type=Path, dir_okay=False),
                expose_value=False,
                callback=_store_config_path,
                help=_CONFIG_HELP,
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_config_option(sub)
    return command


class LazyGroup(click.Group):
    """The root group: built-in commands plus sub-commands imported from ``LAZY_COMMANDS`` on first use.

    Every command, eager or lazy, accepts ``--config`` after its name as well.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self._plugins_listed = False

    def _plugin_commands(self) -> None:
        """Add the commands adapters declare under the ``helpdesk_bot.commands`` entry points
        (``chat`` comes from the console adapter), still imported only when used."""
        if self._plugins_listed:
            return
        self._plugins_listed = True
        from importlib.metadata import entry_points

        for point in entry_points(group="helpdesk_bot.commands"):
            self.lazy_commands.setdefault(point.name, point.value)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(_with_config_option(cmd), name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plugin_commands()
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name not in self.lazy_commands:
            self._plugin_commands()
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            module_name, _, attribute = self.lazy_commands[cmd_name].partition(":")
            command = getattr(import_module(module_name), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


LAZY_COMMANDS: dict[str, str] = {
    # name: "module:click command" — imported only when the command runs (or for --help).
    "kb": "bot.cli.kb:kb",
    "report": "bot.cli.report:report",
    "gdpr": "bot.cli.gdpr:gdpr",
    "outbox": "bot.cli.outbox:outbox",
}


@click.group(
    cls=LazyGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="HELPDESK_CONFIG",
    help=_CONFIG_HELP,
)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="helpdesk-bot")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Chat-ops helpdesk bot for IT service desks."""
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


def context_config(ctx: click.Context) -> Config:
    """The configuration a command runs with (``--config``, ``HELPDESK_CONFIG``, ``./bot.toml`` or the
    embedded default), its problems answered in one readable message."""
    try:
        return _load(ctx.find_root().obj.get("config_path"))
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
def init(directory: Path) -> None:
    """Create a desk folder DIRECTORY: bot.toml, an editable knowledge base and its drafts folder."""
    from bot.cli.desk import DeskExistsError, create_desk

    try:
        desk = create_desk(directory)
    except DeskExistsError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {desk.config} (database {desk.database}, knowledge {desk.knowledge})")
    click.echo(f"next: cd {directory} && helpdesk-bot chat    (or edit bot.toml, then helpdesk-bot run)")


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Start every adapter enabled in the configuration, plus the outbox dispatcher and the ops listener.

    Logs one start line (version, configuration file, adapters, ops listener) and one shutdown line.
    On SIGTERM or Ctrl-C the adapters stop receiving, in-flight deliveries get at most
    ``[ops] shutdown_seconds`` to finish, then the process exits.
    """
    import time
    from importlib.metadata import version

    from bot.config import adapter_section
    from bot.ops import metrics
    from bot.plugins import discover_adapters

    config = context_config(ctx)
    if config.ops.log_format == "json":
        _use_json_logs()
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
    app = bootstrap_app(config)
    metrics.instrument_app(app)
    adapters = []
    for name, section in enabled:
        spec = specs[name]
        assert spec.build is not None
        adapter = spec.build(app, section)
        app.register_messenger(metrics.CountingMessenger(adapter.messenger))
        adapters.append(adapter)
    ops_server = _start_ops_listener(config, app, adapters)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        app.dispatcher.wake()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    for adapter in adapters:
        adapter.start()
    from bot.scheduler import start_scheduler

    scheduler = start_scheduler(app) if app.service_levels is not None else None
    bot_version = version("helpdesk-bot")
    metrics.set_build_info(bot_version, str(config.source or "embedded default"))
    start_line = (
        f"helpdesk-bot {bot_version} started: config {config.source or 'embedded default'}, "
        f"adapters {', '.join(adapter.name for adapter in adapters)}, "
        f"ops listener {ops_server.url if ops_server else 'off ([ops] port)'}"
    )
    logger.warning(start_line)
    click.echo(start_line)
    outbox = threading.Thread(target=app.dispatcher.run_forever, args=(stop,), name="outbox", daemon=True)
    outbox.start()
    try:
        while not stop.wait(1.0):
            if not outbox.is_alive():
                logger.error("the outbox dispatcher stopped unexpectedly; shutting down")
                break
    finally:
        stop.set()
        app.dispatcher.wake()
        stopping = time.monotonic()
        for adapter in adapters:
            adapter.stop()
        outbox.join(timeout=config.ops.shutdown_seconds)
        unfinished = outbox.is_alive()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        if ops_server is not None:
            ops_server.stop()
        app.close()
        end_line = f"helpdesk-bot stopped in {time.monotonic() - stopping:.1f} s" + (
            f" (a delivery still running after {config.ops.shutdown_seconds:g} s is retried on the next start)"
            if unfinished
            else ""
        )
        logger.warning(end_line)
        click.echo(end_line)


def _start_ops_listener(config: Config, app: Any, adapters: list[Any]) -> Any:
    """Start ``/healthz``, ``/readyz`` and ``/metrics`` when ``[ops] port`` is set (``None`` otherwise)."""
    if config.ops.port is None:
        return None
    from bot.ops.health import Readiness
    from bot.ops.server import OpsServer

    readiness = Readiness(
        app.engine,
        adapters,
        max_outbox_backlog=config.ops.max_outbox_backlog,
        max_outbox_due_seconds=config.ops.max_outbox_due_seconds,
    )
    try:
        server = OpsServer(config.ops.host, config.ops.port, readiness)
    except OSError as error:
        app.close()
        raise click.ClickException(
            f"the ops listener cannot listen on {config.ops.host}:{config.ops.port}: {error.strerror}"
        ) from None
    server.start()
    return server


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending migration to the configured database."""
    from bot.db.engine import create_db_engine, upgrade_database

    config = context_config(ctx)
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine)
    except Exception as error:
        line = database_problem(config.database.url, error)
        raise click.ClickException(f"migration failed: {line or error}") from None
    finally:
        engine.dispose()
    click.echo("database is up to date")


@db.command("backup")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def db_backup(ctx: click.Context, path: Path) -> None:
    """Copy the SQLite database into the new file PATH, safely while the bot runs (PostgreSQL: pg_dump)."""
    from bot.ops.backup import BackupError, backup_sqlite

    config = context_config(ctx)
    try:
        tickets = backup_sqlite(config.database.url, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backed up {tickets} ticket(s) to {path}")


@db.command("restore")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--force", is_flag=True, help="Replace a database that already holds tickets.")
@click.pass_context
def db_restore(ctx: click.Context, path: Path, force: bool) -> None:
    """Copy the backup PATH into the configured SQLite database (stop the bot first)."""
    from bot.ops.backup import BackupError, restore_sqlite

    config = context_config(ctx)
    try:
        tickets = restore_sqlite(config.database.url, path, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {tickets} ticket(s) from {path}")


def entry() -> None:
    """Console-script entry point with the one error policy: readable errors, no tracebacks."""
    try:
        main(standalone_mode=True)
    except HelpdeskError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except Exception as error:
        if "sqlalchemy" not in sys.modules:
            raise
        from sqlalchemy.exc import DBAPIError

        if not isinstance(error, DBAPIError):
            raise
        click.echo(f"error: the database failed: {str(error.orig or error).strip().splitlines()[0]}", err=True)
        sys.exit(1)
