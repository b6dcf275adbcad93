"""A bot process for the multi-process tests: the real core and the Telegram adapter in webhook mode.

Run as ``python telegram_process.py DATABASE_URL BOT_API_URL KNOWLEDGE_DIR WEBHOOK_PORT SECRET``. It
prints ``ready`` once python-telegram-bot's webhook server listens, then obeys one command per line
on stdin, answering on stdout when done (the test's synchronisation — no sleeps):

* ``handled N``: wait until the core has finished N events since the start → ``handled``;
* ``quit``: stop and exit.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_telegram import TOKEN

from adapters.telegram import ADAPTER
from adapters.telegram.config import TelegramConfig
from bot.bootstrap import bootstrap
from bot.config import Config

TECH_CHAT = -1001847508954


def main(database_url: str, api_url: str, knowledge_dir: str, port: str, secret: str) -> None:
    # stdout carries the handshake only; anything else the process prints goes to stderr
    protocol, sys.stdout = sys.stdout, sys.stderr
    config = Config.model_validate(
        {"database": {"url": database_url}, "bot": {"language": "en"}, "knowledge": {"directory": knowledge_dir}}
    )
    app = bootstrap(config)
    finished = threading.Condition()
    count = [0]
    handle = app.handle

    def counted(event: Any) -> Any:
        try:
            return handle(event)
        finally:
            with finished:
                count[0] += 1
                finished.notify_all()

    app.handle = counted  # type: ignore[method-assign]
    telegram = TelegramConfig.model_validate(
        {
            "enabled": True,
            "token": TOKEN,
            "base_url": api_url,
            "mode": "webhook",
            "webhook_url": f"http://127.0.0.1:{port}/telegram",
            "webhook_host": "127.0.0.1",
            "webhook_port": int(port),
            "webhook_path": "telegram",
            "webhook_secret": secret,
            "technicians_chat": TECH_CHAT,
            "technicians_forum": False,
            "request_timeout": 10,
        }
    )
    assert ADAPTER.build is not None
    adapter = ADAPTER.build(app, telegram)
    adapter.start()
    print("ready", file=protocol, flush=True)
    try:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "handled":
                wanted = int(argument)
                with finished:
                    done = finished.wait_for(lambda wanted=wanted: count[0] >= wanted, timeout=60)
                print("handled" if done else "timeout", file=protocol, flush=True)
            elif command == "quit":
                break
    finally:
        adapter.stop()
        app.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])
