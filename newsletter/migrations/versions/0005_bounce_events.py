"""A status for subscribers who complained, and the messages that came back (bounces,
complaints, auto-replies), one row each: what press did with each, so that each is
handled once, soft bounces are counted in their window and a digest's report can say
how many bounced later.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


OLD_STATUSES = "status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')"
NEW_STATUSES = "status IN ('pending', 'confirmed', 'unsubscribed', 'bounced', 'complained')"


def upgrade() -> None:
    # A complaint suppresses an address: a status of its own, so the report can tell it.
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("status_known", type_="check")
        batch.create_check_constraint("status_known", NEW_STATUSES)
    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id")),
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id")),
        sa.Column("status", sa.String(16), nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("bounce_events_subscriber", "bounce_events", ["subscriber_id", "kind"])


def downgrade() -> None:
    op.drop_index("bounce_events_subscriber", "bounce_events")
    op.drop_table("bounce_events")
    op.execute("UPDATE subscribers SET status = 'unsubscribed' WHERE status = 'complained'")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("status_known", type_="check")
        batch.create_check_constraint("status_known", OLD_STATUSES)
