"""The digest ledger: when a scheduled digest was due, and why one was skipped.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        # Set for a digest the schedule made: its grace runs from here. A digest sent by
        # hand has none.
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("skipped_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("skip_reason", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("skip_reason")
        batch.drop_column("skipped_at")
        batch.drop_column("due_at")
