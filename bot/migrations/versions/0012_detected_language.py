"""detected language: the language a user's platform last reported (Telegram language_code, Slack locale)

Revision ID: 0012_detected_language
Revises: 0011_channels
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_detected_language"
down_revision = "0011_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``user_preferences.detected_language`` (``NULL``: never reported)."""
    with op.batch_alter_table("user_preferences") as batch:
        batch.add_column(sa.Column("detected_language", sa.String(length=5), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("user_preferences") as batch:
        batch.drop_column("detected_language")
