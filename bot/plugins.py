"""How platform adapters plug into ``helpdesk-bot run``.

Each adapter package (``adapters.console``, ``adapters.slack``, ``adapters.telegram``)
exposes an :class:`AdapterSpec` named ``ADAPTER`` and is registered under the
``helpdesk_bot.adapters`` entry-point group in ``pyproject.toml``. The CLI discovers
the specs, validates each adapter's own section of ``bot.toml`` with the adapter's
pydantic model (so one bad file gives one readable error at start-up), builds the
enabled adapters with the application from :func:`bot.bootstrap.bootstrap` and
starts them. The core never imports an adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from bot.port import Messenger

if TYPE_CHECKING:
    from bot.bootstrap import HelpdeskApp


class PlatformAdapter(Protocol):
    """A running connection to one chat platform."""

    name: str
    messenger: Messenger

    def start(self) -> None:
        """Start receiving events (in background threads or an event loop); return at once."""
        ...

    def stop(self) -> None:
        """Stop receiving events and release the connection; idempotent."""
        ...


@dataclass(frozen=True)
class AdapterSpec:
    """What an adapter package declares about itself.

    ``config_model`` validates the adapter's ``[name]`` section of ``bot.toml``;
    ``build`` creates the adapter for a bootstrapped application (it registers the
    adapter's roles and technician places on ``app`` and returns the adapter). The adapter
    runs when its section says ``enabled = true``.
    """

    name: str
    config_model: type[BaseModel]
    build: Callable[[HelpdeskApp, Any], PlatformAdapter] | None
    """``None`` for adapters that ``helpdesk-bot run`` does not start (the console)."""


def discover_adapters() -> dict[str, AdapterSpec]:
    """Load every adapter registered under the ``helpdesk_bot.adapters`` entry points."""
    specs: dict[str, AdapterSpec] = {}
    for ep in entry_points(group="helpdesk_bot.adapters"):
        spec = ep.load()
        if isinstance(spec, AdapterSpec):
            specs[spec.name] = spec
    return specs
