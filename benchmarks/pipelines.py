"""Benchmark of the four item pipelines, called directly (no Scrapy engine), in one run.

On the same generated items (default 200k: 20k products over 10 stores) it measures
  (a) the pipelines on a cold (empty) and on a warm database, and a re-crawl with 10% of the
      prices changed;
  (b) a naive per-item ORM version doing the same resolution and price writing one row and one
      commit at a time (on a sample of the items: it is that slow);
  (c) the limit: normalization alone of the same items plus a bare batched upsert of the same
      final price rows, timed separately and added up;
and prints one JSON line at the end. Ratios compare per-item times measured in this run.

    python benchmarks/pipelines.py [--quick] [--items N]
    GROCER_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/grocer_bench python benchmarks/...
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grocer.db.engine import make_engine, normalize_url  # noqa: E402
from grocer.db.models import (  # noqa: E402
    Company, Price, PriceHistory, Product, ProductKeyVariation, Sku, Store,
)
from grocer.db.stores import load_stores  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402
from grocer.db.upsert import upsert  # noqa: E402
from grocer.items import ProductItem  # noqa: E402
from grocer.normalization import (  # noqa: E402
    ProductNormalizer, clean_value, derive, get_cleaner,
)
from tests.helpers.pipeline_runner import PipelineChain  # noqa: E402
from grocer.db.prices import PRICE_FIELDS  # noqa: E402
from grocer.pipelines.prices import price_row  # noqa: E402
from grocer.storelist import StoreList, StoreRow  # noqa: E402

BRANDS = ["Farmhouse", "Golden Valley", "Coastal Dairy", "Sunrise", "Bush Kitchen", "Harvest",
          "Red Gum", "Southern Cross", "Blue Wren", "Kookaburra", "Ocean Fresh", "Homestead",
          "Outback", "Jacaranda", "Tasman", "Emu Creek", "Wattle", "Billabong", "Koala Farms",
          "Murray River"] * 10
KINDS = ["Milk", "Yoghurt", "Cheese", "Bread", "Cereal", "Pasta", "Rice", "Coffee", "Tea",
         "Biscuits", "Chips", "Juice", "Soup", "Sauce", "Butter", "Honey", "Jam", "Oats",
         "Chocolate", "Crackers", "Noodles", "Muesli", "Spread", "Beans", "Tuna"]
WORDS = ["Original", "Lite", "Full Cream", "Organic", "Wholemeal", "Classic", "Smoky", "Sweet",
         "Spicy", "Natural", "Vanilla", "Strawberry", "Honey", "Garlic", "Salted", "Unsalted",
         "Gluten Free", "Family Pack", "Extra Virgin", "Crunchy", "Smooth", "Mild", "Tasty"]
SIZES = ["150g", "250g", "500g", "1kg", "2L", "1L", "600ml", "375ml", "6 x 375ml", "10 pack",
         "each", "750g", "200g", "1.25L", "400g", "12 pack"]
STORES = [str(1100 + n) for n in range(10)]
T0 = dt.datetime(2026, 11, 20, 1, tzinfo=dt.timezone.utc)


def generate_products(count: int, rng: random.Random) -> list[dict]:
    products, names = [], set()
    while len(products) < count:
        brand = rng.choice(BRANDS) + ("" if rng.random() < 0.8 else f" {rng.randint(2, 99)}")
        name = f"{brand} {' '.join(rng.sample(WORDS, rng.randint(1, 3)))} {rng.choice(KINDS)}"
        size = rng.choice(SIZES)
        identity = clean_value(f"{name} {size}")  # names that differ only in word order are
        if identity in names:                     # one product to grocer (the v1 key)
            continue
        names.add(identity)
        index = len(products)
        products.append({
            "Stockcode": 100000 + index, "Name": name, "Brand": brand, "PackageSize": size,
            "Barcode": f"93{index:011d}" if rng.random() < 0.7 else None,
            "price": round(rng.uniform(0.8, 25.0), 2), "UrlFriendlyName": name.lower(),
            "category_path": ["Pantry", rng.choice(KINDS)],
        })
    return products


def make_items(products, changed: set[int] = frozenset(), at=T0):
    """The items of one crawl of every store, made as they are consumed: a crawl never holds
    all its items at once (and 200k items in memory would slow the garbage collector)."""
    for store_number, store in enumerate(STORES):
        for index, product in enumerate(products):
            price = round(product["price"] + store_number * 0.1, 2)
            if index in changed:
                price = round(price + 0.5, 2)
            raw = {key: value for key, value in product.items() if key != "price"}
            raw.update(Price=price, WasPrice=price, CupString=f"${price:.2f} / 1EA",
                       InstoreCupPrice=price, CupMeasure="1EA", IsAvailable=True)
            yield ProductItem(raw=raw, company="woolworths", store_code=store, scraped_at=at)


def run_pipelines(url: str, tables_dir: str, items) -> tuple[float, dict]:
    chain = PipelineChain(url, tables_dir)
    started = time.perf_counter()
    chain.feed(items)
    return time.perf_counter() - started, dict(chain.stats.values)


def naive_orm(url: str, items) -> float:
    """Same resolution and price writing, one row and one commit at a time (SplitCart-style)."""
    engine = make_engine(url)
    normalizer = ProductNormalizer({}, {})
    cleaner = get_cleaner("woolworths")
    started = time.perf_counter()
    with Session(engine) as session:
        company = session.scalar(select(Company).where(Company.slug == "woolworths"))
        stores = {s.store_code: s for s in session.scalars(select(Store))}
        for item in items:
            product = derive(cleaner.clean(item["raw"]), normalizer)
            key = product["normalized_name_brand_size"]
            found = None
            if product.get("barcode"):
                found = session.scalar(select(Product).where(
                    Product.barcode == product["barcode"]))
            if found is None:
                sku = session.scalar(select(Sku).where(Sku.company_id == company.id,
                                                       Sku.sku == product["sku"]))
                found = sku.product if sku else None
            if found is None:
                found = session.scalar(select(Product).where(
                    Product.normalized_name_brand_size == key))
            if found is None:
                variation = session.scalar(select(ProductKeyVariation).where(
                    ProductKeyVariation.key == key))
                found = variation.product if variation else None
            if found is None:
                found = Product(name=product["name"], normalized_name_brand_size=key,
                                barcode=product.get("barcode"), sizes=product["sizes"],
                                brand_name_company_pairs=[], category_paths=[])
                session.add(found)
                session.flush()
                session.add(Sku(company_id=company.id, sku=product["sku"], product_id=found.id))
                session.commit()
            store = stores[item["store_code"]]
            row = price_row(product, found.id, store.id, item["scraped_at"])
            price = session.scalar(select(Price).where(Price.product_id == found.id,
                                                       Price.store_id == store.id))
            if price is not None and price.price_hash == row["price_hash"]:
                price.last_seen = row["scraped_at"]
            else:
                fields = {k: v for k, v in row.items() if k not in ("product_id", "store_id")}
                if price is None:
                    session.add(Price(product_id=found.id, store_id=store.id,
                                      last_seen=row["scraped_at"], **fields))
                else:
                    for name, value in fields.items():
                        setattr(price, name, value)
                session.add(PriceHistory(product_id=found.id, store_id=store.id, **fields))
            session.commit()
    engine.dispose()
    return time.perf_counter() - started


def limit(url: str, items_of) -> tuple[float, float]:
    """Normalization alone, then a bare batched upsert of the same final price rows; each
    timed on its own over the streamed items (`items_of()` makes them anew)."""
    normalizer = ProductNormalizer({}, {})
    cleaner = get_cleaner("woolworths")
    started = time.perf_counter()
    for item in items_of():
        derive(cleaner.clean(item["raw"]), normalizer)
    normalize_seconds = time.perf_counter() - started

    engine = make_engine(url)
    with engine.connect() as connection:
        ids = dict(connection.execute(select(Product.normalized_name_brand_size, Product.id)).all())
        stores = dict(connection.execute(select(Store.store_code, Store.id)).all())
        connection.commit()  # end the reads' transaction: each batch below is its own
        statement = upsert(connection, Price, ["product_id", "store_id"],
                           [*PRICE_FIELDS, "last_seen", "delisted_at"])
        upsert_seconds, chunk = 0.0, []
        for item in [*items_of(), None]:
            if item is not None:
                product = derive(cleaner.clean(item["raw"]), normalizer)
                row = price_row(product, ids[product["normalized_name_brand_size"]],
                                stores[item["store_code"]], item["scraped_at"])
                chunk.append({**row, "last_seen": row["scraped_at"], "delisted_at": None})
            if len(chunk) == 1000 or (item is None and chunk):
                started = time.perf_counter()
                with connection.begin():
                    connection.execute(statement, chunk)
                upsert_seconds += time.perf_counter() - started
                chunk = []
    engine.dispose()
    return normalize_seconds, upsert_seconds


def count(url, model) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return total


def load_bench_stores(engine) -> None:
    load_stores(engine, StoreList(rows=[StoreRow("Woolworths", code) for code in STORES],
                                  companies={"Woolworths": None}))
    engine.dispose()


def database_urls(base: str | None, workdir: Path) -> tuple[str, str]:
    """The benchmark's database and a second one for the naive version."""
    if not base:
        return f"sqlite:///{workdir / 'bench.sqlite3'}", f"sqlite:///{workdir / 'naive.sqlite3'}"
    parsed = normalize_url(base)
    naive = parsed.set(database=f"{parsed.database}_naive")
    return (parsed.render_as_string(hide_password=False),
            naive.render_as_string(hide_password=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k items, finishes in < 30 s")
    parser.add_argument("--items", type=int, help="items (products × 10 stores)")
    parser.add_argument("--naive-items", type=int, help="items for the naive ORM version")
    args = parser.parse_args()
    total = args.items or (20_000 if args.quick else 200_000)
    naive_total = args.naive_items or max(total // 40, 500)
    rng = random.Random(42)
    products = generate_products(total // len(STORES), rng)
    n_items = len(products) * len(STORES)
    workdir = Path(tempfile.mkdtemp(prefix="grocer-bench-"))
    tables = workdir / "tables"
    tables.mkdir()
    url, naive_url = database_urls(os.environ.get("GROCER_DATABASE_URL"), workdir)
    engine = fresh_database(url)
    load_bench_stores(engine)
    engine_name = engine.dialect.name

    def log(message):
        print(message, file=sys.stderr, flush=True)

    cold, _ = run_pipelines(url, str(tables), make_items(products))
    log(f"pipelines, cold database: {n_items / cold:,.0f} items/s")
    warm, _ = run_pipelines(url, str(tables), make_items(products))
    log(f"pipelines, warm database: {n_items / warm:,.0f} items/s")

    history_before = count(url, PriceHistory)
    changed = set(rng.sample(range(len(products)), len(products) // 10))
    recrawl, recrawl_stats = run_pipelines(
        url, str(tables), make_items(products, changed, at=T0 + dt.timedelta(days=1)))
    history_rows = count(url, PriceHistory) - history_before
    log(f"re-crawl with 10% changed: {n_items / recrawl:,.0f} items/s, "
        f"{history_rows:,} history rows (expected {len(changed) * len(STORES):,})")

    normalize_seconds, upsert_seconds = limit(url, lambda: make_items(products))
    limit_seconds = normalize_seconds + upsert_seconds
    log(f"limit: normalization {n_items / normalize_seconds:,.0f} items/s + bare upsert "
        f"{n_items / upsert_seconds:,.0f} rows/s")

    # The naive version on a sample: cold once to fill its database, then warm (timed).
    step = max(1, n_items // naive_total)
    sample = [item for n, item in enumerate(make_items(products)) if n % step == 0]
    load_bench_stores(fresh_database(naive_url))
    naive_orm(naive_url, sample)
    naive_seconds = naive_orm(naive_url, sample)
    log(f"naive per-item ORM, warm: {len(sample) / naive_seconds:,.0f} items/s "
        f"({len(sample):,} items)")

    per_item = warm / n_items
    print(json.dumps({
        "engine": engine_name,
        "items": n_items,
        "pipelines_items_per_s": round(n_items / warm),
        "pipelines_cold_items_per_s": round(n_items / cold),
        "vs_naive_orm": round((naive_seconds / len(sample)) / per_item, 2),
        "vs_limit": round(limit_seconds / warm, 2),
        "recrawl_10pct_changed_history_rows": history_rows,
        "recrawl_expected_history_rows": len(changed) * len(STORES),
        "recrawl_last_seen_updates": recrawl_stats.get("grocer/prices/unchanged", 0),
    }))


if __name__ == "__main__":
    main()
