"""delivery: outbox lease tokens (fencing), forum topics and ForceReply prompts in the database

Revision ID: 0010_delivery
Revises: 0006_pipeline
Create Date: 2026-12-01 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0010_delivery"
down_revision = "0006_pipeline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``outbox.lease_token`` and ``outbox.attempted_at``; create ``chat_facts`` (Telegram topics, prompts)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("attempted_at", bot.db.models.UTCDateTime(), nullable=True))
    op.create_index("ix_outbox_status_id", "outbox", ["status", "id"])
    op.create_table(
        "chat_facts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("at", bot.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "chat_id", "kind", "key", name="uq_chat_facts_key"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("chat_facts")
    op.drop_index("ix_outbox_status_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("attempted_at")
        batch.drop_column("lease_token")
