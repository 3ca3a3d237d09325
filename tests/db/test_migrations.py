"""Alembic migrations bring an empty database to the models' schema, on every engine."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import inspect

from grocer.db import migrate
from grocer.db.models import Base
from tests.helpers.database import drop_everything
from tests.helpers.scrapy_cli import run_scrapy


def test_upgrade_from_empty_creates_every_table_and_matches_the_models(engine):
    drop_everything(engine)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables

    # Autogenerate finds nothing to do: the migrations and the models agree.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": False, "include_name": migrate.include_name})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_empty_and_up_again(engine):
    migrate.downgrade(engine, "base")
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_scrapy_migrate_is_safe_to_run_twice(db_url, engine, tmp_path):
    drop_everything(engine)
    first = run_scrapy(["migrate"], db_url=db_url, workdir=tmp_path)
    second = run_scrapy(["migrate"], db_url=db_url, workdir=tmp_path)
    assert "migrated empty ->" in first.stdout
    assert "already at" in second.stdout
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_a_crawl_on_an_empty_database_creates_the_schema(engine, caplog):
    import logging

    caplog.set_level(logging.INFO)
    drop_everything(engine)
    migrate.prepare_schema(engine, logging.getLogger("test"))
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert "empty database" in caplog.text
    migrate.prepare_schema(engine, logging.getLogger("test"))  # at head: nothing to do


def test_a_crawl_on_an_older_schema_is_refused(engine):
    import logging

    import pytest

    migrate.downgrade(engine, "0001")
    with pytest.raises(migrate.SchemaNotCurrent, match="run `scrapy migrate`"):
        migrate.prepare_schema(engine, logging.getLogger("test"))
    migrate.upgrade(engine)


def test_0005_keeps_prices_and_their_freshness(engine):
    """Prices written before store crawls were recorded keep their last_seen as freshness."""
    import datetime as dt

    from sqlalchemy import text

    from grocer.db.storecrawls import price_last_seen

    drop_everything(engine)
    migrate.upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO company (id, name, slug) VALUES (1, 'Aldi', 'aldi')"))
        connection.execute(text("INSERT INTO store (id, company_id, store_code) "
                                "VALUES (1, 1, 'G1')"))
        connection.execute(text(
            "INSERT INTO product (id, name, sizes, normalized_name_brand_size, key_version, "
            "has_no_coles_barcode, brand_name_company_pairs, category_paths, created_at) "
            "VALUES (1, 'Milk', '[]', 'milk', 1, 0, '[]', '[]', '2026-06-01 08:00:00')"))
        connection.execute(text(
            "INSERT INTO price (id, product_id, store_id, price, is_on_special, price_hash, "
            "scraped_at, scraped_date, last_seen) VALUES (1, 1, 1, 2.50, 0, 'h', "
            "'2026-06-01 08:00:00', '2026-06-01', '2026-06-03 08:00:00')"))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT price, sku FROM price")).one() == (
            Decimal("2.50"), None)
        assert price_last_seen(connection, 1, [1]) == {
            1: dt.datetime(2026, 6, 3, 8, tzinfo=dt.timezone.utc)}
