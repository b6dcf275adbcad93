"""inbound: the queue of acknowledged platform requests waiting for a worker process

Revision ID: 0013_inbound
Revises: 0012_detected_language
Create Date: 2026-12-01 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0013_inbound"
down_revision = "0012_detected_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``inbound_events`` with its per-conversation index."""
    op.create_table(
        "inbound_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", bot.db.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbound_events_conversation", "inbound_events", ["platform", "conversation", "id"])


def downgrade() -> None:
    """Drop ``inbound_events``."""
    op.drop_index("ix_inbound_events_conversation", table_name="inbound_events")
    op.drop_table("inbound_events")
