"""collected_files: what each stored file was (size, change stamp, hash), so reruns skip unchanged files.

An upgraded log starts with the table empty: the next collect reads every file once (each is then
``unchanged``) and remembers it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collected_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("student", sa.String(length=200), nullable=False),
        sa.Column("notebook", sa.String(length=200), nullable=False),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=False),
        sa.Column("file_hash", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("origin"),
    )


def downgrade() -> None:
    op.drop_table("collected_files")
