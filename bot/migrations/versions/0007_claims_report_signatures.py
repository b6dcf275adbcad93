"""duplicate detection: each report's signature stored with it

Revision ID: 0007_claims
Revises: 0006_claims
Create Date: 2026-12-01 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_claims"
down_revision = "0006_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``incident_reports.signature`` (older reports keep NULL and are signed from their text)."""
    with op.batch_alter_table("incident_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ``incident_reports.signature``."""
    with op.batch_alter_table("incident_reports", schema=None) as batch_op:
        batch_op.drop_column("signature")
