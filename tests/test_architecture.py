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


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The modules under ``bot/`` that ``path`` imports, ``if TYPE_CHECKING:`` imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            candidates = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in candidates if name in modules}
    return found


def _bot_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def test_no_import_cycle_under_bot() -> None:
    """Not even through ``TYPE_CHECKING`` imports: features get a narrow context (``bot.features.FeatureContext``),
    never the composition root, and no two core modules lean on each other."""
    modules = _bot_modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        for target in sorted(graph[name]):
            if target in trail:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in done:
                visit(target, [*trail, target])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name])
    assert cycles == []


def test_features_plug_in_without_the_application() -> None:
    """A feature module never imports ``bot.bootstrap`` (only the composition side does: the CLI, the
    scheduler, the ops listener and the adapter plugins)."""
    composition = {"bot.bootstrap", "bot.cli", "bot.scheduler", "bot.plugins", "bot.ops.metrics"}
    modules = _bot_modules()
    offenders = [
        name
        for name, path in modules.items()
        if name not in composition
        and not name.startswith("bot.cli.")
        and "bot.bootstrap" in _imports(path, set(modules))
    ]
    assert offenders == []


SQL_HOMES = ("bot.db", "bot.migrations", "bot.reports")
"""Where SQL is written: the repositories, the migrations, and the reports' read-only query module."""
NOT_MOVED_YET: tuple[str, ...] = ()
"""SQL still outside ``bot/db`` (none: the Slack request queue moved to ``bot/db/inbound.py``)."""


def test_sql_is_written_only_in_the_repositories() -> None:
    """Outside ``bot/db`` (and the migrations, and the reports' read-only queries) nothing builds a
    statement: engine-level imports (``Engine``, ``make_url``, ``sqlalchemy.exc``) are all it may use."""
    allowed = {"Engine", "make_url", "DBAPIError", "OperationalError", "SQLAlchemyError"}
    offenders = []
    for name, path in _bot_modules().items():
        if name.startswith(SQL_HOMES) or name in NOT_MOVED_YET:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
                offenders += [
                    f"{name}: {node.module}.{alias.name}" for alias in node.names if alias.name not in allowed
                ]
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{name}: {alias.name}" for alias in node.names if alias.name.split(".")[0] == "sqlalchemy"
                ]
    assert offenders == []
