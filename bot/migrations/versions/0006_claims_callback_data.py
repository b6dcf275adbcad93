"""persisted button values: the callback_data table

Revision ID: 0006_claims
Revises: 0005
Create Date: 2026-12-01 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0006_claims"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``callback_data`` (long button values behind short tokens, with an expiry)."""
    op.create_table(
        "callback_data",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("callback_data", schema=None) as batch_op:
        batch_op.create_index("ix_callback_data_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    """Drop ``callback_data``."""
    with op.batch_alter_table("callback_data", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_data_expires_at")
    op.drop_table("callback_data")
