"""The four item pipelines against fair baselines, each variant in a fresh process (issue 21).

Items: generated Woolworths products (default 100k items: 10k products × 10 stores). Each
variant runs twice on its own empty database, each pass in a fresh interpreter with a fresh
engine: **cold** (day 0: everything is new) and **warm** (day 1: the next night's re-crawl, 10%
of the prices changed). The variants do the same work and leave the same database change:
  pipelines  the real Clean → Normalize → Resolve → Price pipelines (called directly);
  naive      the same cleaning, normalization, resolution (barcode, SKU, key, variation) and
             price writing with the ORM, one item and one commit at a time
             (expire_on_commit=False: no refresh SELECTs), on a sample of the items;
  limit      the same cleaning and normalization, then the raw driver: `executemany` of exactly
             the rows that change (brands, products, SKUs, prices, history, one store_crawl row
             per store) plus the reads they need (ids, the stored price hashes).
Every variant leaves its new products searchable, as the pipelines do: their search text, and
on SQLite their rows in the full-text index (the naive one at a time, the limit per batch).
Everything is repeated --runs times (default 3); every figure is the median with min/max, and
the ratios are computed per run (same run, same database engine). The warm pipelines' writes are
counted per table (rows sent by INSERT/UPDATE statements) and printed with the expected changes.
One JSON line at the end.

    python benchmarks/pipelines.py [--quick] [--items N] [--runs N] [--naive-items N]
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
from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runs import in_fresh_process, log, shown, spread  # noqa: E402
from grocer.db.engine import make_engine  # noqa: E402
from grocer.db.models import (  # noqa: E402
    SQLITE_SEARCH_TABLE, Brand, Company, Price, PriceHistory, Product, ProductKeyVariation, Sku,
    Store, StoreCrawl,
)
from grocer.db.prices import PRICE_FIELDS  # noqa: E402
from grocer.db.storecrawls import encode_frame  # noqa: E402
from grocer.db.stores import load_stores  # noqa: E402
from grocer.items import ProductItem  # noqa: E402
from grocer.normalization import (  # noqa: E402
    ProductNormalizer, clean_value, derive, get_cleaner,
)
from grocer.normalization.text import search_words  # noqa: E402
from grocer.pipelines.prices import price_row  # noqa: E402
from grocer.storelist import StoreList, StoreRow  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402
from tests.helpers.pipeline_runner import PipelineChain  # noqa: E402

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


def changed_products(products, day: int) -> set[int]:
    """The products whose price changed since the day before (10% a night; none on day 0)."""
    rng = random.Random(1000 + day)
    return set(rng.sample(range(len(products)), len(products) // 10)) if day else set()


def make_items(products, day: int = 0, every: int = 1):
    """The items of day `day`'s crawl of every store (every `every`-th one), made as they are
    consumed: a crawl never holds all its items at once."""
    changed = changed_products(products, day)
    at = T0 + dt.timedelta(days=day)
    for number, (store_number, store, index, product) in enumerate(
            (n, store, i, p) for n, store in enumerate(STORES) for i, p in enumerate(products)):
        if number % every:
            continue
        price = round(product["price"] + store_number * 0.1 + (0.5 if index in changed else 0), 2)
        raw = {key: value for key, value in product.items() if key != "price"}
        raw.update(Price=price, WasPrice=price, CupString=f"${price:.2f} / 1EA",
                   InstoreCupPrice=price, CupMeasure="1EA", IsAvailable=True)
        yield ProductItem(raw=raw, company="woolworths", store_code=store, scraped_at=at)




# --- what every variant shares ----------------------------------------------------------------

class WriteCounter:
    """Rows sent to each table by INSERT and UPDATE statements (executemany counted per row),
    for every engine of this process."""

    def __init__(self):
        self.rows: Counter = Counter()
        self.statements: Counter = Counter()
        event.listen(Engine, "before_cursor_execute", self.count)

    def count(self, conn, cursor, statement, parameters, context, executemany):
        words = statement.split(None, 3)
        verb = words[0].upper()
        if verb not in ("INSERT", "UPDATE") or len(words) < 3:
            return
        table = (words[2] if verb == "INSERT" else words[1]).strip('`"')
        self.rows[table] += len(parameters) if executemany else 1
        self.statements[table] += 1


def pipelines(url: str, products, day: int, every: int) -> dict:
    counter = WriteCounter()
    with tempfile.TemporaryDirectory() as tables:
        chain = PipelineChain(url, tables)
        started = time.perf_counter()
        chain.feed(make_items(products, day, every))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows_written": dict(counter.rows),
            "statements": dict(counter.statements)}


def naive(url: str, products, day: int, every: int) -> dict:
    """The pipelines' work one item and one commit at a time with the ORM: no refresh SELECTs
    (expire_on_commit=False), the same rows written (unchanged prices write nothing; the
    sightings go into one store_crawl row per store at the end, as the pipelines do)."""
    counter = WriteCounter()
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    normalizer = ProductNormalizer({}, {})
    cleaner = get_cleaner("woolworths")
    seen: dict[int, list[int]] = defaultdict(list)
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        company_id = session.scalar(select(Company.id).where(Company.slug == "woolworths"))
        stores = dict(session.execute(select(Store.store_code, Store.id)).all())
        for item in make_items(products, day, every):
            product = derive(cleaner.clean(item["raw"]), normalizer)
            key = product["normalized_name_brand_size"]
            found = None
            if product.get("barcode"):
                found = session.scalar(select(Product.id).where(
                    Product.barcode == product["barcode"]))
            if found is None:
                found = session.scalar(select(Sku.product_id).where(
                    Sku.company_id == company_id, Sku.sku == product["sku"]))
            if found is None:
                found = session.scalar(select(Product.id).where(
                    Product.normalized_name_brand_size == key))
            if found is None:
                found = session.scalar(select(ProductKeyVariation.product_id).where(
                    ProductKeyVariation.key == key))
            if found is None:
                brand_id = None
                if product.get("normalized_brand"):
                    brand_id = session.scalar(select(Brand.id).where(
                        Brand.normalized_name == product["normalized_brand"]))
                    if brand_id is None:
                        brand = Brand(name=product["brand"],
                                      normalized_name=product["normalized_brand"],
                                      name_variations=[], normalized_name_variations=[])
                        session.add(brand)
                        session.flush()
                        brand_id = brand.id
                new = Product(
                    name=product["name"], brand_id=brand_id, size=product.get("size"),
                    sizes=product["sizes"], normalized_name_brand_size=key,
                    barcode=product.get("barcode"), url=product.get("url"),
                    image_url=product.get("image_url"),
                    brand_name_company_pairs=[[product.get("brand"), "woolworths"]],
                    category_paths=[{"company": "woolworths",
                                     "path": product.get("category_path") or []}],
                    search_text=search_words(product["name"], product.get("brand")))
                session.add(new)
                session.flush()
                found = new.id
                if sqlite:  # searchable, as the pipelines leave them, one row at a time
                    session.execute(text(f"INSERT INTO {SQLITE_SEARCH_TABLE}(rowid, search_text)"
                                         " VALUES (:id, :words)"),
                                    {"id": found, "words": new.search_text})
                session.add(Sku(company_id=company_id, sku=product["sku"], product_id=found))
            store_id = stores[item["store_code"]]
            row = price_row(product, found, store_id, item["scraped_at"])
            price = session.scalar(select(Price).where(Price.product_id == found,
                                                       Price.store_id == store_id))
            fields = {k: v for k, v in row.items() if k not in ("product_id", "store_id")}
            if price is None or price.price_hash != row["price_hash"]:
                if price is None:
                    session.add(Price(product_id=found, store_id=store_id,
                                      last_seen=row["scraped_at"], **fields))
                else:
                    for name, value in fields.items():
                        setattr(price, name, value)
                    price.last_seen = row["scraped_at"]
                session.add(PriceHistory(product_id=found, store_id=store_id,
                                         **{k: row[k] for k in PRICE_FIELDS}))
            seen[store_id].append(found)
            session.commit()
        at = T0 + dt.timedelta(days=day)
        for store_id, product_ids in seen.items():
            session.add(StoreCrawl(store_id=store_id, started_at=at, seen_at=at,
                                   products=len(product_ids),
                                   seen=encode_frame(at, product_ids)))
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "rows_written": dict(counter.rows)}


def limit(url: str, products, day: int, every: int) -> dict:
    """The cheapest way to the same database change: normalization, then per store one
    transaction of raw-driver executemany for exactly the rows that change, plus the reads
    they need (product and brand ids of new products, the store's stored price hashes)."""
    counter = Counter()
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    normalizer = ProductNormalizer({}, {})
    cleaner = get_cleaner("woolworths")

    def when(value: dt.datetime):
        naive_utc = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return naive_utc.isoformat(" ") if sqlite else naive_utc

    def money(value):
        return None if value is None else (str(value) if sqlite else value)

    def many(cursor, table: str, columns: list[str], rows: list[tuple], tail: str = ""):
        if rows:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                               f"({', '.join([mark] * len(columns))}){tail}", rows)
            counter[table] += len(rows)

    if sqlite:
        update_tail = " ON CONFLICT (product_id, store_id) DO UPDATE SET " + ", ".join(
            f"{c} = excluded.{c}" for c in (*PRICE_FIELDS, "sku", "last_seen", "delisted_at"))
    else:
        update_tail = " ON DUPLICATE KEY UPDATE " + ", ".join(
            f"{c} = VALUES({c})" for c in (*PRICE_FIELDS, "sku", "last_seen", "delisted_at"))
    price_columns = ["product_id", "store_id", *PRICE_FIELDS, "sku", "last_seen", "delisted_at"]
    history_columns = ["product_id", "store_id", *PRICE_FIELDS]

    def write_store(store_id: int, normalized: list) -> None:
        new = {}
        for product, _ in normalized:
            if product["normalized_name_brand_size"] not in ids:
                new.setdefault(product["normalized_name_brand_size"], product)
        if new:
            fresh_brands = {p["normalized_brand"]: p["brand"] for p in new.values()
                            if p.get("normalized_brand") and p["normalized_brand"] not in brands}
            many(cursor, "brand", ["name", "normalized_name", "name_variations",
                                   "normalized_name_variations"],
                 [(name, key, "[]", "[]") for key, name in fresh_brands.items()])
            if fresh_brands:
                cursor.execute("SELECT normalized_name, id FROM brand")
                brands.update(cursor.fetchall())
            now = when(dt.datetime.now(dt.timezone.utc))
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM product")
            newest = cursor.fetchone()[0]  # the only writer: what it inserts comes after
            many(cursor, "product", [
                "name", "brand_id", "size", "sizes", "normalized_name_brand_size", "key_version",
                "barcode", "url", "image_url", "has_no_coles_barcode", "brand_name_company_pairs",
                "category_paths", "created_at", "search_text"], [
                (p["name"], brands.get(p.get("normalized_brand")), p.get("size"),
                 json.dumps(p["sizes"]), key, 1, p.get("barcode"), p.get("url"),
                 p.get("image_url"), False, json.dumps([[p.get("brand"), "woolworths"]]),
                 json.dumps([{"company": "woolworths", "path": p.get("category_path") or []}]),
                 now, search_words(p["name"], p.get("brand"))) for key, p in new.items()])
            if sqlite:  # searchable, as the pipelines leave them (grocer.db.search_index)
                cursor.execute(f"INSERT INTO {SQLITE_SEARCH_TABLE}(rowid, search_text) "
                               "SELECT id, search_text FROM product WHERE id > ?", (newest,))
            cursor.execute("SELECT normalized_name_brand_size, id FROM product")
            ids.update(cursor.fetchall())
            many(cursor, "sku", ["company_id", "sku", "product_id"],
                 [(company_id, p["sku"], ids[key]) for key, p in new.items()])
        cursor.execute(f"SELECT product_id, price_hash FROM price WHERE store_id = {mark}",
                       (store_id,))
        stored = dict(cursor.fetchall())
        changes = []
        for product, scraped_at in normalized:
            row = price_row(product, ids[product["normalized_name_brand_size"]], store_id,
                            scraped_at)
            if stored.get(row["product_id"]) != row["price_hash"]:
                changes.append(row)
        many(cursor, "price", price_columns, [
            (r["product_id"], store_id, money(r["price"]), money(r["was_price"]),
             money(r["unit_price"]), r["unit_of_measure"], r["per_unit_price_string"],
             r["is_on_special"], r["is_available"], r["price_hash"], when(r["scraped_at"]),
             r["scraped_date"].isoformat(), r["sku"], when(r["scraped_at"]), None)
            for r in changes], update_tail)
        many(cursor, "price_history", history_columns, [
            (r["product_id"], store_id, money(r["price"]), money(r["was_price"]),
             money(r["unit_price"]), r["unit_of_measure"], r["per_unit_price_string"],
             r["is_on_special"], r["is_available"], r["price_hash"], when(r["scraped_at"]),
             r["scraped_date"].isoformat()) for r in changes])
        at = normalized[-1][1]
        many(cursor, "store_crawl", ["store_id", "started_at", "seen_at", "products", "seen"], [
            (store_id, when(normalized[0][1]), when(at), len(normalized),
             encode_frame(at, (ids[p["normalized_name_brand_size"]] for p, _ in normalized)))])
        raw.commit()

    raw = engine.raw_connection()
    started = time.perf_counter()
    cursor = raw.cursor()
    cursor.execute("SELECT id FROM company WHERE slug = 'woolworths'")
    company_id = cursor.fetchone()[0]
    cursor.execute("SELECT store_code, id FROM store")
    stores = dict(cursor.fetchall())
    cursor.execute("SELECT normalized_name_brand_size, id FROM product")
    ids = dict(cursor.fetchall())
    cursor.execute("SELECT normalized_name, id FROM brand")
    brands = dict(cursor.fetchall())
    raw.commit()
    current, normalized = None, []
    for item in make_items(products, day, every):  # the items come store by store
        if item["store_code"] != current and normalized:
            write_store(stores[current], normalized)
            normalized = []
        current = item["store_code"]
        normalized.append((derive(cleaner.clean(item["raw"]), normalizer), item["scraped_at"]))
    if normalized:
        write_store(stores[current], normalized)
    seconds = time.perf_counter() - started
    raw.close()
    engine.dispose()
    return {"seconds": seconds, "rows_written": dict(counter)}


VARIANTS = {"pipelines": pipelines, "naive": naive, "limit": limit}


def load_bench_stores(engine) -> None:
    load_stores(engine, StoreList(rows=[StoreRow("Woolworths", code) for code in STORES],
                                  companies={"Woolworths": None}))
    engine.dispose()


def count(url, model) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return total


# --- the driver -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k items")
    parser.add_argument("--items", type=int, help="items (products × 10 stores), default 100k")
    parser.add_argument("--naive-items", type=int, help="items of the naive version's sample")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--variant", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--day", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--every", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    total = args.items or (20_000 if args.quick else 100_000)
    products = generate_products(total // len(STORES), random.Random(42))
    if args.variant:  # one measured pass, in its own process
        print(json.dumps(VARIANTS[args.variant](args.url, products, args.day, args.every)))
        return

    n_items = len(products) * len(STORES)
    every = max(1, n_items // (args.naive_items or max(n_items // 40, 1000)))
    workdir = Path(tempfile.mkdtemp(prefix="grocer-bench-"))
    base = os.environ.get("GROCER_DATABASE_URL")
    url = base or f"sqlite:///{workdir / 'bench.sqlite3'}"
    engine_name = make_engine(url).dialect.name
    script = Path(__file__).resolve()
    times: dict[str, list[float]] = defaultdict(list)  # seconds per item
    written = {}
    for run in range(args.runs):
        for variant in ("pipelines", "limit", "naive"):
            step = every if variant == "naive" else 1
            items = len(range(0, n_items, step))
            load_bench_stores(fresh_database(url))
            for day, phase in ((0, "cold"), (1, "warm")):
                result = in_fresh_process(script, "--variant", variant, "--day", str(day),
                                          "--every", str(step), "--url", url,
                                          "--items", str(total))
                times[f"{variant}_{phase}"].append(result["seconds"] / items)
                if phase == "warm":
                    written[variant] = result["rows_written"]
                log(f"run {run + 1}, {variant} {phase}: {items / result['seconds']:,.0f} items/s")
            if variant == "pipelines":
                written["store_crawl_rows"] = count(url, StoreCrawl)
    ratios = {}
    for phase in ("cold", "warm"):
        ratios[f"vs_naive_orm_{phase}"] = spread(
            naive / mine for naive, mine in zip(times[f"naive_{phase}"],
                                                times[f"pipelines_{phase}"], strict=False))
        ratios[f"vs_limit_{phase}"] = spread(
            limit / mine for limit, mine in zip(times[f"limit_{phase}"],
                                                times[f"pipelines_{phase}"], strict=False))
        # What vs_naive_orm would be at the limit's speed: the most any pipelines could reach.
        ratios[f"limit_vs_naive_orm_{phase}"] = spread(
            naive / limit for naive, limit in zip(times[f"naive_{phase}"],
                                                 times[f"limit_{phase}"], strict=False))
    speeds = {name: spread(1 / t for t in values) for name, values in times.items()}
    changes = len(products) // 10 * len(STORES)
    for name, figure in sorted(speeds.items()):
        log(f"{name}: {shown(figure, ' items/s')}")
    for name, figure in ratios.items():
        log(f"{name}: {shown(figure)}")
    log(f"warm re-crawl ({changes:,} prices changed): pipelines wrote "
        f"{written['pipelines']}; limit wrote {written['limit']}; "
        f"{written['store_crawl_rows']} store_crawl rows after two crawls of {len(STORES)} stores")
    print(json.dumps({
        "engine": engine_name, "items": n_items, "runs": args.runs,
        "naive_items": len(range(0, n_items, every)),
        **{name: figure["median"] for name, figure in ratios.items()},
        "ratios": ratios, "items_per_s": speeds,
        "recrawl_changed_prices": changes,
        "recrawl_rows_written": written["pipelines"],
        "limit_recrawl_rows_written": written["limit"],
    }))


if __name__ == "__main__":
    main()
