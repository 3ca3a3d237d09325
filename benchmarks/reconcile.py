"""Reconciliation scales linearly: time it on N and 10×N products, print one JSON line.

    python benchmarks/reconcile.py            # 10k and 100k products
    python benchmarks/reconcile.py --quick    # 2k and 20k
    python benchmarks/reconcile.py --small 20000   # 20k and 200k

Each size gets a fresh database with 5% duplicate products (each known to its canonical product
as a key variation, as the resolve pipeline records them), 5% duplicate brands, prices at two of
three stores per product with one history row each, one SKU per product, 1% orphan products and
one completed store crawl to delist (its unchanged prices recorded only in its store_crawl row,
1 in 50 not seen). The translation tables are generated first (not timed); then the whole
reconciliation — delisting, brand and product merges, orphan clean-up, table generation — is
timed. Both sizes run --repeat times (default 3), interleaved, each on a fresh build made in one
process and reconciled in another, fresh one; the figures are medians with min/max, the ratio
is taken per repetition. Target: 10× the data in at most 12× the time.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runs import in_fresh_process, log, shown, spread  # noqa: E402
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
    StoreCrawl,
)
from grocer.db.reconcile import reconcile
from grocer.db.storecrawls import encode_frame
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
                        # Store G0: the last crawl saw its prices unchanged (they were last
                        # written three days ago) and recorded them in its store_crawl row —
                        # all but 1 in 50, which it did not see.
                        row["last_seen"] = T0 - dt.timedelta(days=3) if store == stores[0] \
                            else T0
                        if store == stores[0]:
                            (seen_at_g0 if pid % 50 else unseen_at_g0).append(pid)
                    yield row

        seen_at_g0: list[int] = []
        unseen_at_g0: list[int] = []
        insert_batches(connection, Price, prices(Price, True))
        insert_batches(connection, PriceHistory, prices(PriceHistory, False))
        connection.execute(insert(StoreCrawl).values(
            store_id=stores[0], started_at=T0 - dt.timedelta(minutes=30), seen_at=T0,
            products=len(seen_at_g0), seen=encode_frame(T0, seen_at_g0)))
    return {"products": products + orphans, "duplicates": dupes, "orphans": orphans,
            "brands": brands + brand_dupes, "brand_duplicates": brand_dupes,
            "unseen": len(unseen_at_g0)}


def count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def build_size(url: str, products: int, work: Path) -> dict:
    """A fresh database of `products` products and the tables the last reconciliation left."""
    engine = fresh_database(url)
    built = build(engine, products)
    generate_tables(engine, work / f"tables-{products}")
    built["prices_before"] = count(engine, Price)
    engine.dispose()
    return built


def measure_size(url: str, products: int, work: Path, built: dict) -> dict:
    """The timed reconciliation (run in a fresh process: no engine or cache of the build)."""
    engine = make_engine(url)
    try:
        started = time.monotonic()
        result = reconcile(engine, work / f"tables-{products}", company="aldi",
                           completed_stores=[CompletedStore("G0", T0 - dt.timedelta(hours=1))],
                           orphan_grace=dt.timedelta(0))
        seconds = time.monotonic() - started
        assert result.products.products_merged == built["duplicates"], result
        assert result.brands.brands_merged == built["brand_duplicates"], result
        assert result.orphans_deleted == built["orphans"], result
        assert count(engine, Product) == built["products"] - built["duplicates"] - built["orphans"]
        delisted = sum(result.delisted.values())
        assert delisted == built["unseen"], result
        return {"products": built["products"], "seconds": round(seconds, 3),
                "steps": result.timings, "merged": result.products.products_merged,
                "prices_deleted": result.products.prices_deleted,
                "prices_before": built["prices_before"], "delisted": delisted}
    finally:
        drop_everything(engine)
        engine.dispose()


def run_size(url: str, products: int, work: Path) -> dict:
    """Build, then measure, each in its own fresh process."""
    script, common = Path(__file__).resolve(), ["--url", url, "--work", str(work)]
    built = in_fresh_process(script, "--build", str(products), *common)
    return in_fresh_process(script, "--measure", str(products), "--built", json.dumps(built),
                            *common)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k and 20k products")
    parser.add_argument("--small", type=int, default=None, help="products in the small run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each size to take the median of (each a fresh build and "
                             "a fresh process); default 3")
    parser.add_argument("--wipe", action="store_true",
                        help="allow emptying a configured database that holds products")
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--built", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        print(json.dumps(build_size(args.url, args.build, Path(args.work))))
        return 0
    if args.measure:
        print(json.dumps(measure_size(args.url, args.measure, Path(args.work),
                                      json.loads(args.built))))
        return 0
    small = args.small or (2_000 if args.quick else 10_000)
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
        runs = {size: [] for size in (small, small * 10)}
        for repeat in range(max(1, args.repeat)):
            for size in runs:  # interleaved: a slow moment of the machine hits both sizes
                runs[size].append(run_size(url, size, work))
                log(f"run {repeat + 1}: {size:,} products reconciled in "
                    f"{runs[size][-1]['seconds']:.2f} s")
    small_runs, large_runs = runs[small], runs[small * 10]
    ratios = spread(large["seconds"] / small_run["seconds"]
                    for small_run, large in zip(small_runs, large_runs, strict=False))
    small_seconds = spread(run["seconds"] for run in small_runs)
    large_seconds = spread(run["seconds"] for run in large_runs)
    log(f"small: {shown(small_seconds, ' s')}; large: {shown(large_seconds, ' s')}; "
        f"ratio {shown(ratios)} (target <= 12)")
    print(json.dumps({
        "benchmark": "reconcile",
        "backend": make_engine(url).dialect.name,
        "small_products": small_runs[0]["products"], "large_products": large_runs[0]["products"],
        "small_seconds": small_seconds, "large_seconds": large_seconds,
        "ratio": ratios["median"], "ratio_min_max": [ratios["min"], ratios["max"]],
        "data_ratio": 10, "target_ratio": 12, "ok": ratios["median"] <= 12,
        "small": small_runs, "large": large_runs,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
