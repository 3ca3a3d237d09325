"""Two reconciliations at once on MariaDB/MySQL: they take turns (GET_LOCK), no deadlock, no
duplicate rows."""

import threading

import pytest
from sqlalchemy import func, select

from grocer.db.engine import make_engine
from grocer.db.locks import LockTimeout, reconcile_lock
from grocer.db.models import Price, Product, ProductKeyVariation, Sku
from grocer.db.reconcile import reconcile
from tests.reconcile.helpers import at, write_tables

pytestmark = pytest.mark.mysql_only


def test_two_reconciliations_at_once(engine, rows, db_url, tables_dir):
    company = rows.company()
    stores = [rows.store(company, f"G{i}") for i in range(3)]
    table = {}
    for i in range(300):
        canon, dupe = rows.product(f"k{i}"), rows.product(f"k{i} dup")
        for store in stores:
            rows.price(canon, store, scraped_at=at(-1))
            rows.price(dupe, store, scraped_at=at(0))
        rows.sku(company, f"s{i}", dupe)
        table[f"k{i} dup"] = f"k{i}"
    write_tables(tables_dir, product=table)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def run():
        own_engine = make_engine(db_url)
        try:
            barrier.wait()
            results.append(reconcile(own_engine, tables_dir, lock_timeout=120))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            own_engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not errors and len(results) == 2
    assert sorted(r.products.products_merged for r in results) == [0, 300]
    with engine.connect() as connection:
        def count(model):
            return connection.scalar(select(func.count()).select_from(model))

        assert count(Product) == 300 and count(Sku) == 300 and count(Price) == 900
        assert count(ProductKeyVariation) == 300
        assert connection.scalar(select(func.count()).select_from(
            select(Price.product_id, Price.store_id).distinct().subquery())) == 900


def test_get_lock_is_exclusive_per_database(engine):
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with reconcile_lock(engine, timeout=5):
            with pytest.raises(LockTimeout):
                with reconcile_lock(other, timeout=1):
                    pass
        with reconcile_lock(other, timeout=1):
            pass
    finally:
        other.dispose()
