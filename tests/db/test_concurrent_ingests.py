"""Several ingests into one database at once give the database a serial run gives (issue 14).

Each ingest loads the golden Aldi archive for its own store, so every one of them creates the
same 2,552 products, SKUs and brands at the same moment as the others.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from grocer.db.models import Brand, Price, Product, Sku, Store
from tests.helpers.database import empty_tables
from tests.helpers.scrapy_cli import run_scrapy

GOLDEN = "corpus/aldi-g102-2026-06-29.golden.jsonl"
STORES = ["G102", "G105", "G110", "G111"]


def ingest(golden, db_url, workdir, store):
    return run_scrapy(["ingest", str(golden), "--store", store,
                       "-s", "GROCER_RECONCILE_ON_CLOSE=0"],
                      db_url=db_url, workdir=workdir, check=False)


def contents(engine) -> dict:
    """The database without ids and times."""
    with engine.connect() as connection:
        return {
            "products": sorted(connection.execute(select(
                Product.normalized_name_brand_size, Product.barcode)).all()),
            "skus": sorted(connection.scalars(select(Sku.sku))),
            "brands": sorted(connection.scalars(select(Brand.normalized_name))),
            "prices": sorted(connection.execute(
                select(Store.store_code, Product.normalized_name_brand_size, Price.price)
                .join(Store, Price.store_id == Store.id)
                .join(Product, Price.product_id == Product.id)).all()),
        }


@pytest.mark.slow
@pytest.mark.mysql_only
@pytest.mark.parametrize("crawls", [2, 4])
def test_concurrent_ingests_equal_a_serial_run(shared_dir, db_url, engine, tmp_path, crawls):
    golden = shared_dir / GOLDEN
    stores = STORES[:crawls]
    with ThreadPoolExecutor(crawls) as pool:
        results = list(pool.map(
            lambda store: ingest(golden, db_url, tmp_path / store, store), stores))
    for result in results:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "Error" in line]
        assert result.returncode == 0, "\n".join(errors[:20]) + result.stderr[-2000:]
        assert "finished" in result.stdout + result.stderr
    together = contents(engine)
    assert len(together["products"]) == 2552
    assert len(together["skus"]) == len(set(together["skus"]))
    for store in stores:
        assert sum(1 for row in together["prices"] if row[0] == store) == 2552

    empty_tables(engine)
    for store in stores:
        assert ingest(golden, db_url, tmp_path / store, store).returncode == 0
    assert contents(engine) == together
