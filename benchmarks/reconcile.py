"""Reconciliation scales linearly: time it on N and 10×N products, print one JSON line.

    python benchmarks/reconcile.py            # 20k and 200k products
    python benchmarks/reconcile.py --quick    # 2k and 20k

Each size gets a fresh database with 5% duplicate products (each known to its canonical product
as a key variation, as the resolve pipeline records them), 5% duplicate brands, prices at two of
three stores per product with one history row each, one SKU per product, 1% orphan products and
one completed store crawl to delist. The translation tables are generated first (not timed);
then the whole reconciliation — delisting, brand and product merges, orphan clean-up, table
generation — is timed: the small size --repeat times (median; fresh build each), the large one
once. Target: 10× the data in at most 12× the time.

Database: GROCER_DATABASE_URL when set (MySQL/MariaDB: a database that this script may empty —
it refuses to touch one holding products unless --wipe), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, inspect, select

from grocer.db.delisting import CompletedStore
from grocer.db.engine import make_engine
from grocer.db.models import (
    Brand,
    Company,
    Price,
    PriceHistory,
    Product,
    ProductKeyVariation,
    Sku,
    Store,
)
from grocer.db.reconcile import reconcile
from grocer.db.tables import generate_tables
from tests.helpers.database import drop_everything, fresh_database

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
BATCH = 5000


def insert_batches(connection, model, rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(insert(model), batch)
            batch = []
    if batch:
        connection.execute(insert(model), batch)


def build(engine, products: int) -> dict:
    """Fill the database; returns what was built."""
    dupes = products // 20
    canonicals = products - dupes
    orphans = products // 100
    brands = max(products // 20, 2)
    brand_dupes = brands // 20
    created = T0 - dt.timedelta(days=60)
    with engine.begin() as connection:
        company = connection.execute(insert(Company).values(
            name="Aldi", slug="aldi")).inserted_primary_key[0]
        stores = [connection.execute(insert(Store).values(
            company_id=company, store_code=f"G{i}")).inserted_primary_key[0] for i in range(3)]
        insert_batches(connection, Brand, (
            {"id": b + 1, "name": f"Brand {b}", "normalized_name": f"brand {b}",
             "name_variations": [f"Brand {b}"],
             "normalized_name_variations": [f"brand {b}"]
             + ([f"brand {b} dup"] if b < brand_dupes else [])}
            for b in range(brands)))
        insert_batches(connection, Brand, (
            {"id": brands + b + 1, "name": f"Brand {b} Dup", "normalized_name": f"brand {b} dup",
             "name_variations": [f"Brand {b} Dup"], "normalized_name_variations": []}
            for b in range(brand_dupes)))

        def product_row(pid, key, brand_id, barcode):
            return {"id": pid, "name": key, "normalized_name_brand_size": key,
                    "brand_id": brand_id, "sizes": ["500g"], "barcode": barcode,
                    "brand_name_company_pairs": [["Brand", "aldi"]], "category_paths": [],
                    "has_no_coles_barcode": False, "key_version": 1, "created_at": created}

        insert_batches(connection, Product, (
            product_row(i + 1, f"product {i} 500g", (i % brands) + 1,
                        None if i < dupes else f"{i:013d}")
            for i in range(canonicals)))
        # duplicate i of canonical i: brand-duplicate brands on some, barcode on the dupe
        insert_batches(connection, Product, (
            product_row(canonicals + i + 1, f"500g product {i}",
                        brands + (i % brand_dupes) + 1 if brand_dupes and i % 3 == 0
                        else (i % brands) + 1, f"{10**12 + i:013d}")
            for i in range(dupes)))
        insert_batches(connection, Product, (
            product_row(products + i + 1, f"orphan {i}", None, None) for i in range(orphans)))
        insert_batches(connection, ProductKeyVariation, (
            {"key": f"500g product {i}", "product_id": i + 1} for i in range(dupes)))
        insert_batches(connection, Sku, (
            {"company_id": company, "sku": str(100000 + pid), "product_id": pid}
            for pid in range(1, products + 1)))

        def prices(model, with_seen):
            for pid in range(1, products + 1):
                # a duplicate sits at the same stores as its canonical: conflicts to resolve
                base = (pid - canonicals - 1) if pid > canonicals else pid - 1
                for store in (stores[base % 3], stores[(base + 1) % 3]):
                    scraped = T0 - dt.timedelta(hours=(pid * 7) % 240)
                    row = {"product_id": pid, "store_id": store, "price": Decimal("3.50"),
                           "price_hash": f"{pid:x}", "scraped_at": scraped,
                           "scraped_date": scraped.date(), "is_on_special": False,
                           "is_available": True}
                    if with_seen:
                        # 1 in 50 at store G0 was not seen by the last crawl
                        row["last_seen"] = T0 - dt.timedelta(days=2) if pid % 50 == 0 else T0
                    yield row

        insert_batches(connection, Price, prices(Price, True))
        insert_batches(connection, PriceHistory, prices(PriceHistory, False))
    return {"products": products + orphans, "duplicates": dupes, "orphans": orphans,
            "brands": brands + brand_dupes, "brand_duplicates": brand_dupes}


def count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def run_size(url: str, products: int, work: Path) -> dict:
    engine = fresh_database(url)
    try:
        started = time.monotonic()
        built = build(engine, products)
        build_seconds = time.monotonic() - started
        tables_dir = work / f"tables-{products}"
        generate_tables(engine, tables_dir)  # what the previous reconciliation left on disk
        prices_before = count(engine, Price)
        started = time.monotonic()
        result = reconcile(engine, tables_dir, company="aldi",
                           completed_stores=[CompletedStore("G0", T0 - dt.timedelta(hours=1))],
                           orphan_grace=dt.timedelta(0))
        seconds = time.monotonic() - started
        assert result.products.products_merged == built["duplicates"], result
        assert result.brands.brands_merged == built["brand_duplicates"], result
        assert result.orphans_deleted == built["orphans"], result
        assert count(engine, Product) == built["products"] - built["duplicates"] - built["orphans"]
        return {"products": built["products"], "build_seconds": round(build_seconds, 2),
                "seconds": round(seconds, 3), "steps": result.timings,
                "merged": result.products.products_merged,
                "prices_deleted": result.products.prices_deleted,
                "prices_before": prices_before,
                "delisted": sum(result.delisted.values())}
    finally:
        drop_everything(engine)
        engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k and 20k products")
    parser.add_argument("--small", type=int, default=None, help="products in the small run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="small runs to take the median of (each on a fresh build; the "
                             "small run is short, so one sample is noisy); default 3")
    parser.add_argument("--wipe", action="store_true",
                        help="allow emptying a configured database that holds products")
    args = parser.parse_args(argv)
    small = args.small or (2_000 if args.quick else 20_000)
    with tempfile.TemporaryDirectory(prefix="grocer-bench-") as tmp:
        work = Path(tmp)
        url = os.environ.get("GROCER_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
        if os.environ.get("GROCER_DATABASE_URL"):
            probe = make_engine(url)
            try:
                if "product" in inspect(probe).get_table_names() and count(probe, Product) \
                        and not args.wipe:
                    print(f"{url}: the database holds products; this benchmark empties it. "
                          "Use another database or --wipe.", file=sys.stderr)
                    return 2
            except Exception:
                pass  # the database does not exist yet: fresh_database creates it
            finally:
                probe.dispose()
        samples = [run_size(url, small, work) for _ in range(max(1, args.repeat))]
        small_run = sorted(samples, key=lambda run: run["seconds"])[len(samples) // 2]
        small_run["samples"] = [run["seconds"] for run in samples]
        large_run = run_size(url, small * 10, work)
    ratio = large_run["seconds"] / small_run["seconds"]
    print(json.dumps({
        "benchmark": "reconcile",
        "backend": make_engine(url).dialect.name,
        "small_products": small_run["products"], "large_products": large_run["products"],
        "small_seconds": small_run["seconds"], "large_seconds": large_run["seconds"],
        "ratio": round(ratio, 2), "data_ratio": 10, "target_ratio": 12,
        "ok": ratio <= 12,
        "small": small_run, "large": large_run,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
