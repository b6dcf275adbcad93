"""service levels: due times on tickets, scheduled actions, visits, satisfaction

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add due times and the pause counter to tickets; create the service-level tables."""
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_due_at", bot.db.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolution_due_at", bot.db.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("waiting_since", bot.db.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("paused_seconds", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "sla_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", bot.db.models.UTCDateTime(), nullable=True),
        sa.Column("done_at", bot.db.models.UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "kind", "seq", name="uq_sla_actions_ticket_kind_seq"),
    )
    with op.batch_alter_table("sla_actions", schema=None) as batch_op:
        batch_op.create_index("ix_sla_actions_pending", ["done_at", "due_at"], unique=False)

    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("technician_key", sa.String(length=120), nullable=False),
        sa.Column("technician_name", sa.String(length=200), nullable=False),
        sa.Column("technician_platform", sa.String(length=20), nullable=False),
        sa.Column("technician_chat_id", sa.String(length=120), nullable=False),
        sa.Column("at", bot.db.models.UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_by", sa.String(length=10), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_technician", ["technician_key", "at"], unique=False)
        batch_op.create_index("ix_visits_ticket", ["ticket_id"], unique=False)
        batch_op.create_index("ix_visits_at", ["status", "at"], unique=False)

    op.create_table(
        "satisfaction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", bot.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )


def downgrade() -> None:
    """Drop the service-level tables and ticket columns."""
    op.drop_table("satisfaction")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_at")
        batch_op.drop_index("ix_visits_ticket")
        batch_op.drop_index("ix_visits_technician")
    op.drop_table("visits")
    with op.batch_alter_table("sla_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_actions_pending")
    op.drop_table("sla_actions")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("paused_seconds")
        batch_op.drop_column("waiting_since")
        batch_op.drop_column("resolution_due_at")
        batch_op.drop_column("response_due_at")
