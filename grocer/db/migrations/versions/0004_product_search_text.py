"""product.search_text and its full-text index (grocer web search)

MariaDB/MySQL: a FULLTEXT index on the column. SQLite: an FTS5 table reading the column
(external content) kept in step by triggers. Existing products get their text from name and
brand.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from grocer.db.models import SQLITE_SEARCH_TABLE
from grocer.normalization.text import search_words

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FILL_BATCH = 5000
TRIGGERS = {
    "product_search_insert": "AFTER INSERT ON product BEGIN "
    f"INSERT INTO {SQLITE_SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    "product_search_delete": "AFTER DELETE ON product BEGIN "
    f"INSERT INTO {SQLITE_SEARCH_TABLE}({SQLITE_SEARCH_TABLE}, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "product_search_update": "AFTER UPDATE OF search_text ON product BEGIN "
    f"INSERT INTO {SQLITE_SEARCH_TABLE}({SQLITE_SEARCH_TABLE}, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {SQLITE_SEARCH_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
}


def _fill(connection) -> None:
    product = sa.table("product", sa.column("id"), sa.column("name"), sa.column("brand_id"),
                       sa.column("search_text"))
    brand = sa.table("brand", sa.column("id"), sa.column("name"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(product.c.id, product.c.name, brand.c.name)
            .select_from(product.outerjoin(brand, brand.c.id == product.c.brand_id))
            .where(product.c.id > last).order_by(product.c.id).limit(FILL_BATCH)).all()
        if not rows:
            return
        connection.execute(
            product.update().where(product.c.id == sa.bindparam("pid"))
            .values(search_text=sa.bindparam("text")),
            [{"pid": pid, "text": search_words(name, brand_name)}
             for pid, name, brand_name in rows])
        last = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("product") as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.String(512), nullable=True))
    _fill(connection)
    if connection.dialect.name == "sqlite":
        # A plain index of the model's name (the FULLTEXT one is MySQL's); FTS5 does the work.
        op.create_index("ix_product_search_text", "product", ["search_text"])
        op.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {SQLITE_SEARCH_TABLE} USING fts5("
                   "search_text, content='product', content_rowid='id', prefix='2 3')")
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        op.execute(f"INSERT INTO {SQLITE_SEARCH_TABLE}({SQLITE_SEARCH_TABLE}) VALUES ('rebuild')")
    else:
        op.create_index("ix_product_search_text", "product", ["search_text"],
                        mysql_prefix="FULLTEXT")


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"DROP TABLE IF EXISTS {SQLITE_SEARCH_TABLE}")
    op.drop_index("ix_product_search_text", table_name="product")
    with op.batch_alter_table("product") as batch_op:
        batch_op.drop_column("search_text")
