"""price_zone, price_zone_member: stores that charge the same prices

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

import grocer.db.models

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("representative_store_id", sa.Integer(), nullable=True),
        sa.Column("created_at", grocer.db.models.UTCDateTime(), nullable=False),
        sa.Column("verified_at", grocer.db.models.UTCDateTime(), nullable=True),
        sa.Column("basket", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"],
                                name=op.f("fk_price_zone_company_id_company"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["representative_store_id"], ["store.id"],
                                name=op.f("fk_price_zone_representative_store_id_store"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_zone")),
    )
    op.create_index(op.f("ix_price_zone_company_id"), "price_zone", ["company_id"])
    op.create_index(op.f("ix_price_zone_representative_store_id"), "price_zone",
                    ["representative_store_id"])
    op.create_table(
        "price_zone_member",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", grocer.db.models.UTCDateTime(), nullable=False),
        sa.Column("verified_at", grocer.db.models.UTCDateTime(), nullable=True),
        sa.Column("basket", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"],
                                name=op.f("fk_price_zone_member_store_id_store"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["zone_id"], ["price_zone.id"],
                                name=op.f("fk_price_zone_member_zone_id_price_zone"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_price_zone_member")),
    )
    op.create_index(op.f("ix_price_zone_member_zone_id"), "price_zone_member", ["zone_id"])


def downgrade() -> None:
    # Dropping the tables drops their indexes (MySQL refuses to drop an index an FK needs).
    op.drop_table("price_zone_member")
    op.drop_table("price_zone")
