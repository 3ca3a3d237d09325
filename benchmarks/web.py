"""grocer web on a generated catalogue: p50/p95 of the main endpoints, one JSON line at the end.

    python benchmarks/web.py                               # 20k products, 200k history rows
    python benchmarks/web.py --products 200000 --history 10   # the full run: 200k, 2M rows
    GROCER_DATABASE_URL=… python benchmarks/web.py --reuse    # time a database built before

The database gets PRODUCTS products (names from a vocabulary of a few thousand words, 500
brands, one SKU each), STORES stores over the four chains, each product priced at three stores,
and HISTORY price-history rows per product spread over those stores and the last 90 days (the
newest row of each product and store is its current price). Rows go in with multi-row Core
inserts; the search index is filled by the migration's triggers (SQLite) or FULLTEXT index
(MariaDB). Then every endpoint is requested --requests times through Starlette's test client
(in process: routing, the threadpool, JSON/HTML rendering and the queries; no network). Beside
search, the same words are looked up with ``LIKE '%word%'`` on product.name — what search would
cost without the index — and the ratio printed.

Database: GROCER_DATABASE_URL when set (MySQL/MariaDB: a database that this script empties — it
refuses one holding products unless --wipe), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, inspect, select  # noqa: E402

from grocer.db import catalog  # noqa: E402
from grocer.db.engine import make_engine  # noqa: E402
from grocer.db.models import (  # noqa: E402
    Brand,
    Company,
    Price,
    PriceHistory,
    Product,
    Sku,
    Store,
)
from grocer.normalization.dates import utcnow  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402

BATCH = 5000
CHAINS = ("aldi", "coles", "iga", "woolworths")
STORES_PER_PRODUCT = 3


def insert_batches(connection, model, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(insert(model), batch)
            batch = []
    if batch:
        connection.execute(insert(model), batch)


def build(engine, products: int, history: int, stores: int, rng: random.Random) -> dict:
    now = utcnow()
    vocabulary = sorted({"".join(rng.choices("abcdefghijklmnoprstuvw", k=rng.randint(3, 9)))
                         for _ in range(4000)})
    with engine.begin() as connection:
        connection.execute(insert(Company), [{"name": c.title(), "slug": c} for c in CHAINS])
        company_ids = dict(connection.execute(select(Company.slug, Company.id)).all())
        connection.execute(insert(Store), [
            {"company_id": company_ids[CHAINS[n % 4]], "store_code": f"S{n}", "name": f"Store {n}",
             "state": rng.choice(["NSW", "VIC", "QLD", "WA"]), "last_crawled_at": now}
            for n in range(stores)])
        store_ids = [sid for (sid,) in connection.execute(select(Store.id).order_by(Store.id))]
        connection.execute(insert(Brand), [
            {"name": f"Brand {n}", "normalized_name": f"brand{n}", "name_variations": [],
             "normalized_name_variations": []} for n in range(500)])
        brand_ids = [bid for (bid,) in connection.execute(select(Brand.id))]
        names = []

        def product_rows():
            for n in range(products):
                name = " ".join(rng.sample(vocabulary, 4)) + f" {rng.randint(1, 999)}g"
                names.append(name)
                yield {"name": name, "normalized_name_brand_size": f"key {n}",
                       "brand_id": rng.choice(brand_ids), "size": "500g", "sizes": [],
                       "brand_name_company_pairs": [], "category_paths": [],
                       "barcode": f"93{n:011d}", "created_at": now}

        insert_batches(connection, Product, product_rows())
        product_ids = [pid for (pid,) in connection.execute(select(Product.id).order_by(
            Product.id))]
        insert_batches(connection, Sku, (
            {"company_id": company_ids[CHAINS[pid % 4]], "sku": str(100000 + pid),
             "product_id": pid} for pid in product_ids))
        current: dict[tuple[int, int], dict] = {}

        def history_rows():
            for pid in product_ids:
                at_stores = rng.sample(store_ids, STORES_PER_PRODUCT)
                times = sorted(now - dt.timedelta(seconds=rng.uniform(0, 90 * 86400))
                               for _ in range(history))
                base = rng.uniform(1, 20)
                for when in times:
                    sid = rng.choice(at_stores)
                    price = Decimal(f"{base * rng.uniform(0.8, 1.2):.2f}")
                    special = rng.random() < 0.1
                    before = current.get((pid, sid))
                    row = {"product_id": pid, "store_id": sid, "price": price,
                           "previous_price": before and before["price"],
                           "was_price": price + 1 if special else None,
                           "unit_price": price / 2, "unit_of_measure": "kg",
                           "is_on_special": special, "is_available": True,
                           "price_hash": f"{pid}-{sid}-{price}", "scraped_at": when,
                           "scraped_date": when.date()}
                    current[(pid, sid)] = row
                    yield row

        insert_batches(connection, PriceHistory, history_rows())
        insert_batches(connection, Price, (
            {**{name: value for name, value in row.items() if name != "previous_price"},
             "last_seen": row["scraped_at"]} for row in current.values()))
    return {"names": names, "product_ids": product_ids}


def built(engine) -> dict:
    """The names and ids `build` returned, read back from a database it filled."""
    with engine.connect() as connection:
        rows = connection.execute(select(Product.id, Product.name).order_by(Product.id)).all()
    return {"names": [name for _, name in rows], "product_ids": [pid for pid, _ in rows]}


def percentiles(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"p50_ms": round(statistics.median(samples) * 1000, 2),
            "p95_ms": round(samples[max(int(len(samples) * 0.95) - 1, 0)] * 1000, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--history", type=int, default=10, help="history rows per product")
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--requests", type=int, default=40, help="requests per endpoint")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--wipe", action="store_true",
                        help="empty a GROCER_DATABASE_URL database that holds products")
    parser.add_argument("--reuse", action="store_true",
                        help="time the GROCER_DATABASE_URL database an earlier run built")
    parser.add_argument("--sample", type=int, default=0,
                        help="which products the requests look up (another number: others, "
                        "not cached by an earlier run)")
    args = parser.parse_args(argv)

    url = os.environ.get("GROCER_DATABASE_URL")
    tmp = None
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="grocer-web-bench-")
        url = f"sqlite:///{tmp.name}/bench.sqlite3"
    elif not args.reuse:
        engine = make_engine(url)
        if "product" in inspect(engine).get_table_names() and not args.wipe:
            with engine.connect() as connection:
                if connection.scalar(select(func.count()).select_from(Product)):
                    print("the database holds products: pass --wipe to empty it", file=sys.stderr)
                    return 2
        engine.dispose()
    started = time.perf_counter()
    if args.reuse and tmp is None:
        engine = make_engine(url)
        world = built(engine)
    else:
        engine = fresh_database(url)
        world = build(engine, args.products, args.history, args.stores,
                      random.Random(args.seed))
    build_seconds = time.perf_counter() - started
    with engine.connect() as connection:
        history_rows = connection.scalar(select(func.count()).select_from(PriceHistory))
        products = connection.scalar(select(func.count()).select_from(Product))
        stores = connection.scalar(select(func.count()).select_from(Store))
    print(f"{engine.dialect.name}: {products:,} products, {history_rows:,} history rows, "
          f"{stores} stores {'read' if args.reuse else 'built'} in {build_seconds:.1f} s")

    from starlette.testclient import TestClient

    from grocer.web.app import create_app

    client = TestClient(create_app(url))
    names, ids = world["names"], world["product_ids"]

    def pick(n: int) -> int:  # request n's product: spread out, another set per --sample
        return (args.sample * 100_003 + n) * 7919 % len(ids)

    def word(n: int) -> str:
        return names[pick(n)].split()[n % 3]

    endpoints = {
        "search one word": lambda n: f"/api/products?q={word(n)}",
        "search two prefixes": lambda n: "/api/products?q=" + "+".join(
            w[:4] for w in names[pick(n)].split()[:2]),
        "search page (HTML)": lambda n: f"/?q={word(n + 1000)}",
        "product (JSON)": lambda n: f"/api/products/{ids[pick(n + 2000)]}",
        "product page (HTML+SVG)": lambda n: f"/products/{ids[pick(n + 3000)]}",
        "history (JSON)": lambda n: f"/api/products/{ids[pick(n + 4000)]}/history",
        "changes (last day)": lambda n: f"/api/changes?page={n % 3 + 1}",
        "stores": lambda n: "/api/stores",
    }
    results = {}
    for name, path in endpoints.items():
        client.get(path(0))  # warm up
        samples = []
        for n in range(1, args.requests + 1):
            start = time.perf_counter()
            response = client.get(path(n))
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, (path(n), response.text[:300])
        results[name] = percentiles(samples)
        print(f"  {name:<26} p50 {results[name]['p50_ms']:8.2f} ms   "
              f"p95 {results[name]['p95_ms']:8.2f} ms")

    # Side by side, without HTTP: the search query through the index, and the same words found
    # by scanning the names (what search would cost without the index).
    indexed, scan = [], []
    with engine.connect() as connection:
        for n in range(1, args.requests + 1):
            start = time.perf_counter()
            catalog.search_products(engine, word(n))
            indexed.append(time.perf_counter() - start)
            start = time.perf_counter()
            connection.scalar(select(func.count()).select_from(Product)
                              .where(Product.name.like(f"%{word(n)}%")))
            connection.execute(select(Product.id, Product.name).where(
                Product.name.like(f"%{word(n)}%")).order_by(Product.name).limit(20)).all()
            scan.append(time.perf_counter() - start)
    index_p50, scan_p50 = percentiles(indexed)["p50_ms"], percentiles(scan)["p50_ms"]
    ratio = scan_p50 / index_p50
    print(f"  search query alone: p50 {index_p50:.2f} ms; a LIKE scan of the names instead: "
          f"p50 {scan_p50:.2f} ms ({ratio:.1f}x)")
    print(json.dumps({"benchmark": "web", "engine": engine.dialect.name,
                      "products": products, "history_rows": history_rows,
                      "stores": stores, "build_seconds": round(build_seconds, 1),
                      "endpoints": results, "search_query_p50_ms": index_p50,
                      "like_scan_p50_ms": scan_p50,
                      "scan_over_index": round(ratio, 2)}))
    engine.dispose()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
