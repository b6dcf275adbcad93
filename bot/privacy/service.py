"""The data-protection policy: the daily retention job, over the queries of :mod:`bot.db.privacy`.

What is personal data, and what anonymising, exporting and erasing it does, is described (and
done, in SQL) in :mod:`bot.db.privacy`; the public names stay importable from here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.db.privacy import (
    ANONYMOUS,
    ERASED,
    Counts,
    ErasurePlan,
    OpenTicketsRemain,
    anonymise_before,
    erase_user,
    erasure_plan,
    export_user,
    months_before,
    pseudonym,
    scrub_ticket,
)
from bot.privacy.config import PrivacySection

if TYPE_CHECKING:
    from bot.features import Desk

__all__ = [
    "ANONYMOUS",
    "ERASED",
    "Counts",
    "ErasurePlan",
    "OpenTicketsRemain",
    "anonymise_before",
    "anonymise_expired",
    "erase_user",
    "erasure_plan",
    "export_user",
    "months_before",
    "pseudonym",
    "scrub_ticket",
]


def anonymise_expired(app: Desk, now: datetime) -> int:
    """The retention job: anonymise what ended more than ``[privacy] retention_months`` ago.

    Returns the number of tickets anonymised (0 when ``[privacy] enabled = false``).
    """
    section: PrivacySection = getattr(app.config, "privacy", PrivacySection())
    if not section.enabled:
        return 0
    return anonymise_before(app.uow, months_before(now, section.retention_months), now, batch_size=section.batch_size)
