"""store.closed_at: stores a store-locator sweep no longer lists

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import grocer.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store") as batch_op:
        batch_op.add_column(sa.Column("closed_at", grocer.db.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("store") as batch_op:
        batch_op.drop_column("closed_at")
