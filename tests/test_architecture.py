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


ADAPTERS = BOT.parent / "adapters"


def test_adapters_use_the_port_protocol_not_their_own() -> None:
    """The calls an adapter makes on the core are typed once, by ``bot.port.HelpdeskPort``/``AdapterHost``:
    no Protocol under ``adapters/`` declares one of their methods again."""
    from bot.port import AdapterHost

    port_methods = {name for name in dir(AdapterHost) if not name.startswith("_")}
    redeclared = []
    for path in sorted(ADAPTERS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases}
            if "Protocol" not in bases:
                continue
            redeclared += [
                f"{path.relative_to(BOT.parent)}: {node.name}.{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef) and item.name in port_methods
            ]
    assert redeclared == []
