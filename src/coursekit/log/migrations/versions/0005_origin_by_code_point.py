"""collected_files.origin compared by code point on PostgreSQL, so a rerun's range lookup uses its index.

A rerun asks for the files it sees between the least and greatest of their paths as Python orders
text (by code point). A PostgreSQL server created with a language's locale orders text by that
language's rules, so the lookup had to say ``COLLATE "C"`` and could not use the column's index:
every lookup read the whole table. The column now keeps the "C" collation itself (its unique
index is rebuilt with it). SQLite already compares text by code point: nothing changes there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE collected_files ALTER COLUMN origin TYPE text COLLATE "C"')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE collected_files ALTER COLUMN origin TYPE text COLLATE "default"')
