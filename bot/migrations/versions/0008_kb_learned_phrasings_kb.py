"""knowledge base: learned phrasings per article

Revision ID: 0008_kb
Revises: 0007_claims
Create Date: 2026-12-01 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0008_kb"
down_revision = "0007_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``kb_learned_phrasings``."""
    op.create_table(
        "kb_learned_phrasings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "kind", "source", name="uq_kb_learned_phrasings_source"),
    )
    with op.batch_alter_table("kb_learned_phrasings", schema=None) as batch_op:
        batch_op.create_index("ix_kb_learned_phrasings_article", ["article_id"], unique=False)


def downgrade() -> None:
    """Drop ``kb_learned_phrasings``."""
    with op.batch_alter_table("kb_learned_phrasings", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_learned_phrasings_article")
    op.drop_table("kb_learned_phrasings")
