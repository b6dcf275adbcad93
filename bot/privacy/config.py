"""``[privacy]``: how long personal data of finished tickets is kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PrivacySection(BaseModel):
    """``[privacy]``: retention of personal data.

    Closed and cancelled tickets keep their personal data (contact details, description,
    error message, URL, comment texts, attachment references, the requester's identity)
    for ``retention_months`` after they end; then the retention job anonymises them. The
    same applies to knowledge-base suggestions (the query typed) and stale conversations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_months: int = Field(default=24, ge=1, le=240)
    """Months after closing (or cancelling) before a ticket's personal data is anonymised."""
    enabled: bool = True
    """Whether the scheduled retention job runs (``helpdesk-bot gdpr anonymise`` always works)."""
    batch_size: int = Field(default=200, ge=1, le=10_000)
    """Tickets anonymised per transaction."""
