"""price (store_id, last_seen) index: delisting scans a store's prices by last_seen

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_price_store_id_last_seen", "price", ["store_id", "last_seen"])


def downgrade() -> None:
    op.drop_index("ix_price_store_id_last_seen", table_name="price")
