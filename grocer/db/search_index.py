"""SQLite's full-text index of Product.search_text (an FTS5 table with external content,
migration 0004): products are added to it by the statement that inserts them, one statement
per batch. An insert trigger did it a row at a time, which cost about four times the product
row itself (migration 0010 dropped it). Deleting a product or changing its search text keeps
its trigger; those act only on indexed products, so a product inserted some other way is
merely not found, never a corrupt index. MySQL/MariaDB keep their FULLTEXT index themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text

from grocer.db.models import SQLITE_SEARCH_TABLE, Product
from grocer.db.transactions import in_chunks

_ADD = text(f"INSERT INTO {SQLITE_SEARCH_TABLE}(rowid, search_text) "
            "SELECT id, search_text FROM product WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True))


def insert_products(connection: Connection, statement, rows: Sequence[dict]) -> None:
    """`statement`, an INSERT into product (which may skip rows: another crawl was first), of
    `rows`; on SQLite the products it inserted join the full-text index in the same
    transaction."""
    if connection.dialect.name != "sqlite":
        connection.execute(statement, rows)
        return
    inserted = connection.execute(statement.returning(Product.id), rows).scalars().all()
    for ids in in_chunks(inserted):
        connection.execute(_ADD, {"ids": list(ids)})
