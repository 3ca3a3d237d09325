"""What the freshness of a product page costs: its prices at many stores after an unchanged
re-crawl, whose sightings are only in the stores' store_crawl frames. One JSON line at the end.

    python benchmarks/freshness.py                         # 200 stores, 20k products each
    python benchmarks/freshness.py --stores 1000 --per-store 10000   # IGA-like: every store crawled

The database gets --stores stores, --products products priced at every store (last written
three days ago) and one complete crawl per store: a store_crawl row naming --per-store
products (the priced ones and others, all spread over an id space 4× larger, as a crawl's
batches of 1000 name them: in crawl order, not id order). Then, side by side per product, interleaved:
``catalog.get_product`` (the page's data: the frames of all its stores read in one statement
per 1000 stores, decoded once per store), the page's price rows alone (the cost of the old page,
which showed the row's last write), the price rows plus one `price_last_seen` per store
(reading the frames store by store), and the price rows plus every frame of each store decoded
whole (`sightings`, as an export reads a store: the page before frames were read newest first,
each only up to the product looked for).

Database: GROCER_DATABASE_URL with --wipe (MySQL/MariaDB: the script empties it), else a
temporary SQLite file.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from grocer.db import catalog  # noqa: E402
from grocer.db.models import Company, Price, Product, Store, StoreCrawl  # noqa: E402
from grocer.db.storecrawls import (  # noqa: E402
    encode_frame,
    last_seen,
    price_last_seen,
    sightings,
)
from grocer.normalization.dates import utcnow  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402

CRAWL_BATCH = 1000  # items per PriceWriter batch: one frame each


def build(engine, stores: int, products: int, per_store: int, rng: random.Random) -> list[int]:
    now = utcnow()
    written = now - dt.timedelta(days=3)
    with engine.begin() as connection:
        company = connection.execute(insert(Company).values(
            name="Iga", slug="iga")).inserted_primary_key[0]
        connection.execute(insert(Store), [
            {"company_id": company, "store_code": f"S{n}", "name": f"Store {n}"}
            for n in range(stores)])
        id_space = range(1, 4 * per_store)
        # spread over the ids: a frame is read only up to the largest id looked for
        product_ids = sorted(rng.sample(id_space, products))
        connection.execute(insert(Product), [
            {"id": product_id, "name": f"product {product_id}",
             "normalized_name_brand_size": f"key {product_id}", "sizes": [],
             "brand_name_company_pairs": [], "category_paths": [], "created_at": now}
            for product_id in product_ids])
        priced = set(product_ids)
        unpriced = [product_id for product_id in id_space if product_id not in priced]
        for store_id in range(1, stores + 1):
            connection.execute(insert(Price), [
                {"product_id": product_id, "store_id": store_id, "price": 2, "price_hash": "2",
                 "scraped_at": written, "scraped_date": written.date(), "last_seen": written,
                 "is_on_special": False, "is_available": True} for product_id in product_ids])
            others = rng.sample(unpriced, per_store - products)
            seen = product_ids + others
            rng.shuffle(seen)
            frames = b"".join(
                encode_frame(now - dt.timedelta(minutes=len(seen) - start),
                             seen[start:start + CRAWL_BATCH])
                for start in range(0, len(seen), CRAWL_BATCH))
            connection.execute(insert(StoreCrawl).values(
                store_id=store_id, started_at=now - dt.timedelta(hours=1), seen_at=now,
                products=len(seen), seen=frames))
    return product_ids


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--per-store", type=int, default=20_000,
                        help="products each store's crawl saw")
    parser.add_argument("--products", type=int, default=10, help="products priced everywhere")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the products")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--wipe", action="store_true",
                        help="empty the GROCER_DATABASE_URL database (required with it)")
    args = parser.parse_args(argv)
    url = os.environ.get("GROCER_DATABASE_URL")
    tmp = None
    if url and not args.wipe:
        print("this benchmark empties GROCER_DATABASE_URL: pass --wipe", file=sys.stderr)
        return 2
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="grocer-freshness-bench-")
        url = f"sqlite:///{tmp.name}/bench.sqlite3"
    engine = fresh_database(url)
    started = time.perf_counter()
    product_ids = build(engine, args.stores, args.products, args.per_store,
                        random.Random(args.seed))
    print(f"{engine.dialect.name}: {args.stores} stores × {args.per_store:,} products seen, "
          f"{args.products} priced everywhere, built in {time.perf_counter() - started:.1f} s")

    def rows_only(product_id):
        with engine.connect() as connection:
            return connection.execute(catalog._store_prices(), {"product_id": product_id}).all()

    def store_by_store(product_id):
        with engine.connect() as connection:
            rows = connection.execute(catalog._store_prices(), {"product_id": product_id}).all()
            return [price_last_seen(connection, row.store_id, [product_id]) for row in rows]

    def whole_frames(product_id):
        with engine.connect() as connection:
            rows = connection.execute(catalog._store_prices(), {"product_id": product_id}).all()
            return [last_seen(row.last_seen, row.delisted_at,
                              sightings(connection, row.store_id).get(product_id))
                    for row in rows]

    variants = {"page": lambda pid: catalog.get_product(engine, pid),
                "rows_only": rows_only, "store_by_store": store_by_store,
                "whole_frames": whole_frames}
    samples = {name: [] for name in variants}
    for run in variants.values():
        run(product_ids[0])  # warm up
    for _ in range(args.repeat):
        for product_id in product_ids:
            for name, run in variants.items():  # interleaved: a busy moment hits them all
                start = time.perf_counter()
                run(product_id)
                samples[name].append(time.perf_counter() - start)
    figures = {name: median_ms(values) for name, values in samples.items()}
    over_rows = figures["page"] / figures["rows_only"]
    store_by_store_over_page = figures["store_by_store"] / figures["page"]
    whole_over_page = figures["whole_frames"] / figures["page"]
    print(f"  product page data (frames, one read):  p50 {figures['page']:9.2f} ms")
    print(f"  its price rows alone (the old page):   p50 {figures['rows_only']:9.2f} ms "
          f"(the page {over_rows:.1f}x)")
    print(f"  rows + frames read store by store:     p50 {figures['store_by_store']:9.2f} ms "
          f"({store_by_store_over_page:.2f}x the page)")
    print(f"  rows + every frame decoded, by store:  p50 {figures['whole_frames']:9.2f} ms "
          f"({whole_over_page:.2f}x the page)")
    print(json.dumps({"benchmark": "freshness", "engine": engine.dialect.name,
                      "stores": args.stores, "per_store": args.per_store,
                      "p50_ms": figures, "page_over_rows_only": round(over_rows, 2),
                      "store_by_store_over_page": round(store_by_store_over_page, 2),
                      "whole_frames_over_page": round(whole_over_page, 2)}))
    engine.dispose()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
