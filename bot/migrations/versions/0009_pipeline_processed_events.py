"""pipeline: the processed-events table (event identity, one row per handled platform event)

Revision ID: 0006_pipeline
Revises: 0008_kb
Create Date: 2026-12-01 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0006_pipeline"
down_revision = "0008_kb"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``processed_events`` keyed by (platform, event_id)."""
    op.create_table(
        "processed_events",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("processed_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id"),
    )
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.create_index("ix_processed_events_at", ["processed_at"], unique=False)


def downgrade() -> None:
    """Drop ``processed_events``."""
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_events_at")
    op.drop_table("processed_events")
