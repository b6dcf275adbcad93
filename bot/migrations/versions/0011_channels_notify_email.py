"""channels: the channel a ticket came by, and the address of requesters who chose updates by mail

Revision ID: 0011_channels
Revises: 0010_delivery
Create Date: 2026-12-01 14:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_channels"
down_revision = "0010_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``tickets.channel`` (filled from the origin platform) and ``user_preferences.notify_email``."""
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=False, server_default="console"))
    op.execute("UPDATE tickets SET channel = origin_platform")
    with op.batch_alter_table("tickets") as batch:
        batch.alter_column("channel", server_default=None)
    op.create_index("ix_tickets_channel", "tickets", ["channel", "created_at"])
    with op.batch_alter_table("user_preferences") as batch:
        batch.add_column(sa.Column("notify_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("user_preferences") as batch:
        batch.drop_column("notify_email")
    op.drop_index("ix_tickets_channel", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("channel")
