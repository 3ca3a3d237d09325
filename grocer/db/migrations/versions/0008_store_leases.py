"""store.lease_holder / lease_expires_at: stores leased by a crawl (-a stores=lease:N)

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import grocer.db.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store") as batch_op:
        batch_op.add_column(sa.Column("lease_holder", sa.String(100), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", grocer.db.models.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("store") as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_holder")
