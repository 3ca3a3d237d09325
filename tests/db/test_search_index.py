"""SQLite's full-text index gets new products from the statement that inserts them, one per
batch, not from a trigger per row (grocer.db.search_index, migration 0010); products it does
not hold are merely not found, and deleting or renaming them never corrupts it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, insert, text, update

from grocer.db import migrate
from grocer.db.catalog import search_products
from grocer.db.models import SQLITE_SEARCH_TABLE, Product
from grocer.db.resolution import ProductResolver
from tests.reconcile.helpers import Rows

pytestmark = pytest.mark.sqlite_only


def product(n: int) -> dict:
    return {"name": f"Crunchy Oat Bar {n}", "brand": "Oatly Farms", "normalized_brand": "oatly",
            "normalized_name_brand_size": f"crunchy oat bar {n} oatly", "sku": str(n)}


def integrity_checked(engine) -> None:
    with engine.begin() as connection:  # raises "database disk image is malformed" if not
        connection.execute(text(f"INSERT INTO {SQLITE_SEARCH_TABLE}({SQLITE_SEARCH_TABLE}) "
                                "VALUES ('integrity-check')"))


def found(engine, query: str) -> set[int]:
    return {item["id"] for item in search_products(engine, query, per_page=200)["items"]}


def test_a_batch_of_new_products_joins_the_index_in_one_statement_without_a_trigger(engine):
    with engine.connect() as connection:
        assert not connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%INSERT ON "
            "product%'")).all()  # before: a trigger indexed each row on its own
    company = Rows(engine).company("aldi")
    statements = []

    def record(conn, cursor, statement, *args):
        if SQLITE_SEARCH_TABLE in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        resolutions = ProductResolver(engine).resolve_batch(
            [product(n) for n in range(150)], [company] * 150, ["aldi"] * 150)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert found(engine, "crunchy oat") == {r.product_id for r in resolutions}
    assert found(engine, "oatly 149") == {resolutions[149].product_id}
    integrity_checked(engine)


def test_a_product_inserted_another_way_is_not_found_and_never_corrupts_the_index(engine):
    with engine.begin() as connection:
        ids = [connection.execute(insert(Product).values(
            name=f"Sparkling Water {n}", normalized_name_brand_size=f"sparkling water {n}",
            sizes=[], brand_name_company_pairs=[], category_paths=[], has_no_coles_barcode=False,
            key_version=1)).inserted_primary_key[0] for n in range(3)]
    assert found(engine, "sparkling") == set()
    with engine.begin() as connection:
        # Renamed: indexed with its new text. Deleted: nothing to take out of the index.
        connection.execute(update(Product).where(Product.id == ids[0]).values(
            search_text="still water"))
        connection.execute(delete(Product).where(Product.id == ids[1]))
    integrity_checked(engine)
    assert found(engine, "still") == {ids[0]}
    with engine.begin() as connection:  # and an indexed product renamed again, then deleted
        connection.execute(update(Product).where(Product.id == ids[0]).values(
            search_text="mineral water"))
    assert found(engine, "still") == set() and found(engine, "mineral") == {ids[0]}
    with engine.begin() as connection:
        connection.execute(delete(Product).where(Product.id == ids[0]))
    integrity_checked(engine)
    assert found(engine, "water") == set()


def test_downgrading_restores_the_trigger_and_indexes_every_product(engine):
    with engine.begin() as connection:
        connection.execute(insert(Product).values(
            name="Lemon Cordial", normalized_name_brand_size="lemon cordial", sizes=[],
            brand_name_company_pairs=[], category_paths=[], has_no_coles_barcode=False,
            key_version=1))
    migrate.downgrade(engine, "0009")
    try:
        assert len(found(engine, "cordial")) == 1
        integrity_checked(engine)
    finally:
        migrate.upgrade(engine)
