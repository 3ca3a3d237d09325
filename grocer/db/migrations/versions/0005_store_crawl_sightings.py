"""store_crawl: what each store crawl saw (unchanged prices are no longer rewritten); price.sku

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02

Existing prices keep their `last_seen` (until now the time of the last sighting): with no
store_crawl rows yet, that is exactly their freshness. `price.sku` starts empty (the first
listing a crawl sees claims the row).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import grocer.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_crawl",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("started_at", grocer.db.models.UTCDateTime(), nullable=False),
        sa.Column("seen_at", grocer.db.models.UTCDateTime(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("seen", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
                  nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"],
                                name=op.f("fk_store_crawl_store_id_store"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_crawl")),
    )
    op.create_index("ix_store_crawl_store_id_seen_at", "store_crawl", ["store_id", "seen_at"])
    with op.batch_alter_table("price") as batch_op:
        batch_op.add_column(sa.Column(
            "sku", sa.String(100).with_variant(
                mysql.VARCHAR(100, charset="utf8mb4", collation="utf8mb4_bin"),
                "mysql", "mariadb"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("price") as batch_op:
        batch_op.drop_column("sku")
    op.drop_table("store_crawl")  # its index goes with it (MySQL: the foreign key needs it)
