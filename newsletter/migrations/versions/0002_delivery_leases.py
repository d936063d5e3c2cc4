"""Leases on deliveries, so that several workers share one digest.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(200)))
        batch.add_column(sa.Column("lease_expires", sa.DateTime(timezone=True)))
    op.create_index("deliveries_leases", "deliveries", ["status", "lease_expires"])


def downgrade() -> None:
    op.drop_index("deliveries_leases", "deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_expires")
        batch.drop_column("lease_owner")
