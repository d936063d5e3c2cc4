"""Several newsletters: a subscriber's rows name the newsletters they get (where there
was one digest a category, a newsletter's id is that category's slug, so every row keeps
its meaning); the categories a reader narrowed a newsletter to; a digest names its
newsletter; and the posts a `post` newsletter has emailed, by every name a post goes by,
so that none is emailed twice.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("subscriber_categories_category", "subscriber_categories")
    op.rename_table("subscriber_categories", "subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("category", new_column_name="newsletter", existing_type=sa.String(200))
    op.create_index("subscriptions_newsletter", "subscriptions", ["newsletter"])
    op.create_table(
        "subscription_categories",
        sa.Column("subscriber_id", sa.Integer, primary_key=True),
        sa.Column("newsletter", sa.String(200), primary_key=True),
        sa.Column("category", sa.String(200), primary_key=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id", "newsletter"],
            ["subscriptions.subscriber_id", "subscriptions.newsletter"],
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("digests") as batch:
        batch.alter_column("category", new_column_name="newsletter", existing_type=sa.String(200))
    op.create_table(
        "newsletter_posts",
        sa.Column("newsletter", sa.String(200), primary_key=True),
        sa.Column("post_key", sa.String(80), primary_key=True),  # kind:sha256 of the name
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id")),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("newsletter_posts")
    with op.batch_alter_table("digests") as batch:
        batch.alter_column("newsletter", new_column_name="category", existing_type=sa.String(200))
    op.drop_table("subscription_categories")
    op.drop_index("subscriptions_newsletter", "subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("newsletter", new_column_name="category", existing_type=sa.String(200))
    op.rename_table("subscriptions", "subscriber_categories")
    op.create_index("subscriber_categories_category", "subscriber_categories", ["category"])
