"""price_history.previous_price: the store's price before each history row (grocer web)

/changes compares each row of a window with the row before it (same product and store); with
that price on the row, and an index holding what /changes counts and orders by, the window is
one index range instead of a probe per row.
Existing rows are filled a batch of products at a time: the row before is the newest one with
an earlier scraped_at (ties by id), as /changes looked it up.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from grocer.db.models import Money

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FILL_PRODUCTS = 2000  # products per batch (about ten history rows each)
UPDATE_ROWS = 1000  # rows per UPDATE statement


def _previous_prices(rows):
    """(id, previous price) of history rows sorted by product, store, scraped_at, id."""
    key = moment = None
    latest = before = None
    for history_id, product_id, store_id, scraped_at, price in rows:
        if (product_id, store_id) != key:
            key, moment, latest, before = (product_id, store_id), None, None, None
        if scraped_at != moment:  # rows of one moment all compare with the moment before
            moment, before = scraped_at, latest
        latest = price
        if before is not None:
            yield history_id, before


def _set_previous(connection, pairs: list) -> None:
    """UPDATE … SET previous_price = CASE id WHEN … END WHERE id IN (…), a chunk at a time.
    Values are inlined (ids through int(), prices as plain Decimal digits: nothing else can get
    in): one statement per row took 76 s for 200k rows on MariaDB."""
    for start in range(0, len(pairs), UPDATE_ROWS):
        chunk = [(int(history_id), Decimal(price)) for history_id, price in
                 pairs[start:start + UPDATE_ROWS]]
        whens = " ".join(f"WHEN {history_id} THEN {price:f}" for history_id, price in chunk)
        ids = ", ".join(str(history_id) for history_id, _ in chunk)
        connection.execute(sa.text(
            f"UPDATE price_history SET previous_price = CASE id {whens} END "  # noqa: S608
            f"WHERE id IN ({ids})"))


def _fill(connection) -> None:
    history = sa.table("price_history", sa.column("id"), sa.column("product_id"),
                       sa.column("store_id"), sa.column("scraped_at"),
                       sa.column("price", Money))
    last = None
    while True:
        query = (sa.select(history.c.product_id).distinct().order_by(history.c.product_id)
                 .limit(FILL_PRODUCTS))
        if last is not None:
            query = query.where(history.c.product_id > last)
        product_ids = connection.scalars(query).all()
        if not product_ids:
            return
        rows = connection.execute(
            sa.select(history.c.id, history.c.product_id, history.c.store_id,
                      history.c.scraped_at, history.c.price)
            .where(history.c.product_id.between(product_ids[0], product_ids[-1]))
            .order_by(history.c.product_id, history.c.store_id, history.c.scraped_at,
                      history.c.id))
        _set_previous(connection, list(_previous_prices(rows)))
        last = product_ids[-1]


def upgrade() -> None:
    with op.batch_alter_table("price_history") as batch_op:
        batch_op.add_column(sa.Column("previous_price", Money, nullable=True))
    _fill(op.get_bind())
    op.create_index("ix_price_history_changes", "price_history",
                    ["scraped_date", "scraped_at", "store_id", "previous_price", "price"])


def downgrade() -> None:
    op.drop_index("ix_price_history_changes", table_name="price_history")
    with op.batch_alter_table("price_history") as batch_op:
        batch_op.drop_column("previous_price")
