"""Who may do what. Roles come from the configuration (``[roles]`` and each adapter's lists)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.errors import PermissionDenied
from bot.port import Role as Role  # defined with the port; re-exported


class RoleDirectory:
    """Technicians and team leads, as ``"platform:user_id"`` keys.

    Team leads can do everything technicians can.
    """

    def __init__(self, technicians: Iterable[str] = (), team_leads: Iterable[str] = ()) -> None:
        self._technicians: set[str] = set(technicians)
        self._team_leads: set[str] = set(team_leads)

    def grant(self, user_key: str, role: Role) -> None:
        """Give ``user_key`` a role."""
        (self._technicians if role == "technician" else self._team_leads).add(user_key)

    def is_technician(self, user_key: str) -> bool:
        """True for technicians and team leads."""
        return user_key in self._technicians or user_key in self._team_leads

    def is_team_lead(self, user_key: str) -> bool:
        """True for team leads."""
        return user_key in self._team_leads

    def require_technician(self, user_key: str) -> None:
        """Raise :class:`PermissionDenied` unless ``user_key`` is a technician or team lead."""
        if not self.is_technician(user_key):
            raise PermissionDenied()

    def technicians(self) -> frozenset[str]:
        """Every technician and team lead."""
        return frozenset(self._technicians | self._team_leads)
