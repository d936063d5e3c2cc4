"""Subscribers, their categories, digests and deliveries.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
        sa.Column("hard_bounces", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')", name="status_known"
        ),
    )
    op.create_index("subscribers_email", "subscribers", ["email"], unique=True)
    op.create_table(
        "subscriber_categories",
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("category", sa.String(200), primary_key=True),
    )
    op.create_index("subscriber_categories_category", "subscriber_categories", ["category"])
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("message_id", sa.String(998)),
        sa.Column("reply", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("digest_id", "subscriber_id", name="one_delivery_per_subscriber"),
        sa.CheckConstraint(
            "status IN ('queued', 'sent', 'failed', 'skipped')", name="delivery_status_known"
        ),
    )
    op.create_index("deliveries_queue", "deliveries", ["digest_id", "status", "id"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("digests")
    op.drop_table("subscriber_categories")
    op.drop_table("subscribers")
