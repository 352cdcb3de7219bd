"""Where each submission came from: the intake source, the student's id there, and its own late flag.

All three are nullable: a submission collected before them came from the folder layout, and its
lateness is decided by the week's deadline, as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("source", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("source_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("source_late", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("source_late")
        batch.drop_column("source_id")
        batch.drop_column("source")
