"""A bot process for the multi-process tests: the real core and the Slack adapter in HTTP mode.

Run as ``python slack_process.py DATABASE_URL SLACK_API_URL KNOWLEDGE_DIR``. It prints
``ready <port>`` once it listens, then obeys one command per line on stdin, answering on
stdout when done (the test's synchronisation — no sleeps):

* ``idle``: wait until every acknowledged request was processed → ``idle``;
* ``dispatch``: deliver every due outbox entry → ``dispatched <n>``;
* ``quit``: stop and exit.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from slack_harness import slack_config

from adapters.slack.app import build_slack_adapter
from bot.bootstrap import bootstrap
from bot.config import Config


def main(database_url: str, api_url: str, knowledge_dir: str) -> None:
    # stdout carries the handshake only; anything else the process prints goes to stderr
    protocol, sys.stdout = sys.stdout, sys.stderr
    config = Config.model_validate(
        {"database": {"url": database_url}, "bot": {"language": "en"}, "knowledge": {"directory": knowledge_dir}}
    )
    app = bootstrap(config)
    slack = slack_config(api_url)
    adapter = build_slack_adapter(app, slack)
    adapter.start()
    print(f"ready {adapter.http_port}", file=protocol, flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "idle":
                adapter.wait_idle(30)
                print("idle", file=protocol, flush=True)
            elif command == "dispatch":
                print(f"dispatched {app.dispatch_pending()}", file=protocol, flush=True)
            elif command == "quit":
                break
    finally:
        adapter.stop()
        app.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
