"""SQLite: the full-text index gets new products from the statement that inserts them, not
from a trigger per row (grocer.db.search_index)

The insert trigger goes; the delete and update triggers act only on products the index holds
(its docsize table has a row per indexed product), so a product inserted without it is not
found rather than corrupting the index. MySQL/MariaDB: nothing (FULLTEXT needs no triggers).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SEARCH = "product_search"
INDEXED = f"EXISTS (SELECT 1 FROM {SEARCH}_docsize WHERE id = old.id)"
DELETE_OLD = (f"INSERT INTO {SEARCH}({SEARCH}, rowid, search_text) "
              "VALUES ('delete', old.id, old.search_text);")
INSERT_NEW = f"INSERT INTO {SEARCH}(rowid, search_text) VALUES (new.id, new.search_text);"
# The triggers of migration 0004, and this revision's (no insert trigger).
TRIGGERS_0004 = {
    "product_search_insert": f"AFTER INSERT ON product BEGIN {INSERT_NEW} END",
    "product_search_delete": f"AFTER DELETE ON product BEGIN {DELETE_OLD} END",
    "product_search_update":
        f"AFTER UPDATE OF search_text ON product BEGIN {DELETE_OLD} {INSERT_NEW} END",
}
TRIGGERS_0010 = {
    "product_search_delete": f"AFTER DELETE ON product WHEN {INDEXED} BEGIN {DELETE_OLD} END",
    # A product the index did not hold is indexed with its new text.
    "product_search_update": (
        f"AFTER UPDATE OF search_text ON product BEGIN "
        f"INSERT INTO {SEARCH}({SEARCH}, rowid, search_text) "
        f"SELECT 'delete', old.id, old.search_text WHERE {INDEXED}; {INSERT_NEW} END"),
}


def _replace_triggers(triggers: dict[str, str]) -> None:
    for name in TRIGGERS_0004:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, body in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_triggers(TRIGGERS_0010)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _replace_triggers(TRIGGERS_0004)
        # 0004's triggers expect every product indexed.
        op.execute(f"INSERT INTO {SEARCH}({SEARCH}) VALUES ('rebuild')")
