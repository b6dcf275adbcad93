"""The platform-neutral core never imports an adapter: adapters plug in through the entry points
``helpdesk_bot.adapters`` (the adapter itself) and ``helpdesk_bot.commands`` (CLI commands such as
``chat``), so ``bot/`` runs, and is tested, without any platform library."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"


def test_no_module_under_bot_imports_an_adapter() -> None:
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(BOT.parent)}: {name}" for name in names if name.split(".")[0] == "adapters"
            ]
    assert offenders == []
