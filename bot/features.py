"""Feature modules that plug extra commands, buttons and scheduled work into the core.

Each feature exposes ``install(app: HelpdeskApp) -> None``; :func:`bot.bootstrap.bootstrap`
calls every installer listed in :data:`INSTALLERS`, in order. A feature registers its
commands with ``app.core.register_command`` and its buttons with ``app.core.register_button``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp

INSTALLERS: list[str] = [
    # "module.path:function" — add one line per feature.
    "bot.kb_lifecycle:install",
    "bot.incidents:install",
    "bot.sla.service:install",
    "bot.reports.feature:install",
]


def install_features(app: HelpdeskApp) -> None:
    """Run every feature installer on ``app``."""
    for target in INSTALLERS:
        module_name, _, function = target.partition(":")
        installer: Callable[[HelpdeskApp], None] = getattr(import_module(module_name), function)
        installer(app)
