"""moderation and removed_posts: the audit trail of hidden, restored and withdrawn posts and of erasures.

``moderation`` is appended to by ``coursekit moderate`` and ``coursekit erase``; ``removed_posts``
keeps the place of an erased student's post that others answered, so their replies stay threaded.
An upgraded log starts with both empty: nothing is hidden.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "moderation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("post_id", sa.String(length=40), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("moderation_by_post", "moderation", ["post_id"])
    op.create_table(
        "removed_posts",
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("parent_id", sa.String(length=40), nullable=True),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("prompt_id", sa.String(length=200), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("post_id"),
    )


def downgrade() -> None:
    op.drop_table("removed_posts")
    op.drop_index("moderation_by_post", table_name="moderation")
    op.drop_table("moderation")
