"""``helpdesk-bot chat``: the console adapter's command, declared under the ``helpdesk_bot.commands``
entry points so that the core's CLI (``bot/cli``) never imports an adapter.

In a terminal it shows a prompt (``alice> ``) with readline editing and history, and prints other
people's notices without breaking the line being typed; piped input is read one line per message and
echoed, which makes transcripts.
"""

from __future__ import annotations

import getpass
import io
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

import click

logger = logging.getLogger(__name__)


@click.command()
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
    from bot.cli import bootstrap_app, context_config
    from bot.port import User
    from bot.text import terminal_safe

    from . import ConsoleConfig
    from .chat import ConsoleChat, PromptScreen

    config = context_config(ctx)
    console = ConsoleConfig(**config.adapters.get("console", {}))
    app = bootstrap_app(config)
    name = user_name or getpass.getuser()
    user = User("console", name, display_name=name.replace(".", " ").title(), locale=lang)
    interactive = sys.stdin.isatty()
    screen: PromptScreen | None = None
    if interactive:
        import readline

        screen = PromptScreen(sys.stdout, f"{name}> ", readline.get_line_buffer)
    session = ConsoleChat(
        app, user, technician=role == "technician", out=screen or sys.stdout, triage_chat=console.triage_chat
    )
    if isinstance(sys.stdin, io.TextIOWrapper):
        # Bytes that are not UTF-8 become U+FFFD instead of ending the chat with a UnicodeDecodeError.
        sys.stdin.reconfigure(errors="replace")
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
        session.resume()
        session.poll()
        for line in _typed_lines(screen):
            if not line.strip():
                continue
            if not interactive:
                click.echo(f"{name}> {terminal_safe(line.rstrip())}")
            session.say(line)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        app.close()


def _typed_lines(screen: Any) -> Iterator[str]:
    """The lines of the chat: read at the prompt of ``screen`` in a terminal, else from the pipe."""
    if screen is None:
        yield from sys.stdin
        return
    while True:
        try:
            yield screen.read_line()
        except EOFError:
            return
