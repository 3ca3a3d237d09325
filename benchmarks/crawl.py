"""A whole Aldi crawl with all item pipelines against the same crawl with none (issue 19's
target: with pipelines at least 0.8 as fast, warm and cold; DESIGN §8 asked for half), in one
run.

The test suite's fixture server (tests/helpers/fixture_server.py, a thread of this process) serves an
Aldi site with generated products: --categories × --per-category per store, two stores
(default 20 × 250: 10k items; --quick 20 × 100: 4k items). `scrapy crawl aldi` runs in a
subprocess — a fresh process each — five times per repetition (--repeat, default 3): on a fresh
database (GROCER_DATABASE_URL when set — it gets emptied — else a temporary SQLite file) with
the fixture store list, without pipelines, then with them into the empty database (cold), then
with them again (warm: the next re-crawl of the same prices); then, on an emptied database
again, cold and warm with the pipelines in the crawl's own process (GROCER_PIPELINE_WORKER=0)
beside the default worker process. Each crawl is timed by its own
stats (elapsed_time_seconds: engine start to close, pipeline flushes included; not interpreter
start-up), and the CPU seconds its whole process used (all threads and the pipeline worker,
start-up included): a crawl
whose CPU grows by what its wall time grows is bound by its one interpreter's CPU, not by
waiting. Figures are medians with min/max; the ratios are taken per repetition. One JSON line
at the end.

    python benchmarks/crawl.py [--quick] [--repeat N] [--categories N] [--per-category N]
                               [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.runs import log, shown, spread  # noqa: E402
from grocer.db.stores import load_stores  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402
from grocer.storelist import read_store_list  # noqa: E402
from tests.helpers.fixture_server import SITES_DIR, FixtureSite, serve  # noqa: E402
from tests.helpers.crawling import FAST_SETTINGS, Crawler  # noqa: E402

STORES = ("G102", "G105")  # the fixture store list's first two Aldi stores (site id = code)
TARGET = 0.8  # with pipelines vs without, warm and cold (issue 19)
IN_PROCESS = {"GROCER_PIPELINE_WORKER": "0"}
# (label, settings, on an emptied database first): one repetition, in order.
VARIANTS = [("none", {"ITEM_PIPELINES": "{}"}, True), ("all-cold", {}, False),
            ("all-warm", {}, False), ("in-process-cold", IN_PROCESS, True),
            ("in-process-warm", IN_PROCESS, False)]

# (root, category, kinds, unit family): Aldi's own aisles.
AISLES = [
    ("Fruits & Vegetables", "Fresh Fruits", ["Apples", "Mandarins", "Pears", "Grapes"], "kg"),
    ("Fruits & Vegetables", "Fresh Vegetables", ["Carrots", "Potatoes", "Onions", "Spinach"], "kg"),
    ("Meat & Seafood", "Beef", ["Beef Mince", "Rump Steak", "Beef Sausages", "Diced Beef"], "kg"),
    ("Meat & Seafood", "Poultry", ["Chicken Breast", "Chicken Thighs", "Drumsticks"], "kg"),
    ("Meat & Seafood", "Seafood", ["Salmon Fillets", "Prawns", "Basa Fillets"], "kg"),
    ("Dairy, Eggs & Fridge", "Milk", ["Milk", "Lactose Free Milk", "Oat Milk"], "l"),
    ("Dairy, Eggs & Fridge", "Cheese", ["Cheddar", "Mozzarella", "Feta", "Parmesan"], "kg"),
    ("Dairy, Eggs & Fridge", "Yogurt", ["Greek Yogurt", "Yogurt", "Yogurt Pouches"], "kg"),
    ("Pantry", "Sauces", ["Tomato Sauce", "Pasta Sauce", "Soy Sauce", "BBQ Sauce"], "l"),
    ("Pantry", "Canned Food", ["Baked Beans", "Tuna", "Chickpeas", "Diced Tomatoes"], "kg"),
    ("Pantry", "Tea, Coffee & Hot Chocolate", ["Coffee Beans", "Instant Coffee", "Tea Bags"],
     "each"),
    ("Bakery", "Sliced Breads", ["White Bread", "Wholemeal Bread", "Sourdough"], "kg"),
    ("Freezer", "Frozen Ready Meals", ["Lasagne", "Butter Chicken", "Fried Rice"], "kg"),
    ("Freezer", "Ice Cream Tubs", ["Ice Cream", "Gelato", "Sorbet"], "l"),
    ("Drinks", "Soft Drinks", ["Cola", "Lemonade", "Ginger Beer", "Sparkling Water"], "l"),
    ("Drinks", "Juices & Cordials", ["Orange Juice", "Apple Juice", "Cordial"], "l"),
    ("Snacks & Confectionery", "Confectionery", ["Milk Chocolate", "Jelly Beans", "Mints"], "kg"),
    ("Snacks & Confectionery", "Chips, Corn Chips & Other", ["Potato Chips", "Corn Chips"], "kg"),
    ("Cleaning & Household", "Laundry", ["Laundry Liquid", "Laundry Powder", "Fabric Softener"],
     "l"),
    ("Pets", "Dogs & Puppy", ["Dry Dog Food", "Dog Treats", "Wet Dog Food"], "kg"),
    ("Health & Beauty", "Dental Care", ["Toothpaste", "Toothbrushes", "Mouthwash"], "each"),
    ("Baby", "Baby Food", ["Baby Puree", "Baby Rusks", "Baby Cereal"], "kg"),
]
WORDS = ["Original", "Lite", "Full Cream", "Organic", "Classic", "Smoky", "Sweet", "Spicy",
         "Natural", "Vanilla", "Strawberry", "Honey", "Garlic", "Salted", "Gluten Free",
         "Family", "Premium", "Crunchy", "Smooth", "Mild", "Tasty", "Extra", "Free Range"]
BRANDS = ["FARMWOOD", "BELMONT", "FARMDALE", "REMANO", "COLWAY", "JUST ORGANIC", "SPECIALLY",
          "SELECTED", "BROOKDALE", "OUTDOOR", "LACURA", "DI SAN", "WESTACRE", "MAMIA", "ALCAFE",
          "SAVOUR", "CHOCEUR", "SNACKERS", "PAWS", "TANDIL", "CASA BARELLI", "THE FRESH FRUIT CO"]
SIZES = {  # unit family → (name text, sellingSize, quantity in the comparison unit)
    "kg": [("150g", "0.15 kg", .15), ("250g", "0.25 kg", .25), ("400g", "0.4 kg", .4),
           ("500g", "0.5 kg", .5), ("750g", "0.75 kg", .75), ("1kg", "1 kg", 1),
           ("2kg", "2 kg", 2), ("Loose", "approx. 0.18 kg per piece", .18)],
    "l": [("375ml", "0.375 l", .375), ("600ml", "0.6 l", .6), ("1L", "1 l", 1),
          ("1.25L", "1.25 l", 1.25), ("2L", "2 l", 2), ("10 x 375ml", "3.75 l", 3.75)],
    "each": [("Each", "1 each", 1), ("4 Pack", "4 each", 4), ("10 Pack", "10 each", 10),
             ("24 Pack", "24 each", 24)],
}


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def dollars(cents: int) -> str:
    return f"${cents / 100:.2f}"


def generate(categories: int, per_category: int, seed: int = 8):
    """(category tree, {category key: [raw product]}) in the v2/v3 API shapes."""
    rng = random.Random(seed)
    roots, lists, sku, seen = {}, {}, 360_000, set()
    for number, (root, name, kinds, unit) in enumerate(AISLES[:categories]):
        root_node = roots.setdefault(root, {
            "key": str(950_000_000 + 10_000_000 * len(roots)), "order": len(roots) + 1,
            "name": root, "urlSlugText": slugify(root), "children": []})
        key = str(1_111_111_000 + number)
        slug = f"{root_node['urlSlugText']}/{slugify(name)}"
        root_node["children"].append({"key": key, "name": name, "urlSlugText": slug,
                                      "children": []})
        path = [{"id": root_node["key"], "name": root, "urlSlugText": root_node["urlSlugText"]},
                {"id": key, "name": name, "urlSlugText": slug}]
        products = lists[key] = []
        for _ in range(per_category):
            sku += 1
            while True:  # distinct products: a duplicate would flip its price every crawl
                size_text, selling_size, quantity = rng.choice(SIZES[unit])
                title = f"{rng.choice(WORDS)} {rng.choice(kinds)} {size_text}"
                brand = rng.choice(BRANDS) if rng.random() > .1 else None
                if (title, brand) not in seen:
                    seen.add((title, brand))
                    break
            cents = rng.randrange(99, 3000, 10) + 9
            per_unit = round(cents / quantity)
            products.append({
                "sku": f"{sku:018d}", "name": title, "brandName": brand,
                "urlSlugText": slugify(f"{brand or 'no brand'} {title}"), "notForSale": True,
                "sellingSize": selling_size,
                "price": {"amount": cents, "amountRelevantDisplay": dollars(cents),
                          "comparison": per_unit,
                          "comparisonDisplay": f"{dollars(per_unit)} per 1 {unit}",
                          "wasPriceDisplay": dollars(cents + 100) if rng.random() < .1 else None},
                "categories": path,
                "assets": [{"url": "https://dm.apac.cms.aldi.cx/is/image/aldiprodapac/product/"
                                   f"jpg/scaleWidth/{{width}}/{sku:08x}-img/{{slug}}",
                            "maxWidth": 1500}]})
    return {"data": list(roots.values())}, lists


class BenchSite(FixtureSite):
    """The fixture site without its per-request deep copy of a whole category (~10 ms for 500
    products, on this process's one GIL): only the products priced per store are copied."""

    def products(self, chain, list_name, store_id):
        products = self.catalogues[chain].get(list_name, [])
        changed = {sku for (c, store, sku) in self.prices if c == chain and store == store_id}
        if not changed:
            return products
        return [{**p, "price": {**p["price"], "amount": self.prices[(chain, store_id, p["sku"])]}}
                if p["sku"] in changed else p for p in products]


def crawl(runner: Crawler, label: str, settings: dict) -> dict:
    runner.runs += 1
    log_file = runner.workdir / f"crawl-{runner.runs}-{label}.log"
    log_file.unlink(missing_ok=True)  # Scrapy appends to a LOG_FILE
    command = [sys.executable, "-m", "scrapy", "crawl", "aldi", "-a", "stores=" + ",".join(STORES)]
    for name, value in {**FAST_SETTINGS, "LOG_FILE": str(log_file),
                        "GROCER_RECONCILE_ON_CLOSE": "0", **settings}.items():
        command += ["-s", f"{name}={value}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.run(command, cwd=runner.workdir, env=runner.env(), capture_output=True,
                             text=True, timeout=3600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = log_file.read_text() if log_file.exists() else ""

    def stat(key, default=None):
        found = re.search(rf"'{key}': '?([\w.]+)", log)
        return found.group(1) if found else default

    if process.returncode or stat("finish_reason") != "finished":
        sys.exit(f"{label} crawl failed ({process.returncode}, {stat('finish_reason')}): "
                 f"{log_file}\n{process.stderr[-2000:]}")
    items = int(stat("item_scraped_count", 0)) + int(stat("item_dropped_count", 0))
    seconds = float(stat("elapsed_time_seconds"))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    run = {"label": label, "items": items, "dropped": int(stat("item_dropped_count", 0)),
           "seconds": round(seconds, 2), "items_per_s": round(items / seconds, 1),
           "cpu_s": round(cpu, 2)}
    print(json.dumps(run), file=sys.stderr)
    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 categories × 150 products")
    parser.add_argument("--categories", type=int, help=f"at most {len(AISLES)}; default 20")
    parser.add_argument("--per-category", type=int, help="products per category; default 500")
    parser.add_argument("--workdir", type=Path, help="keep the logs here (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions (each: fresh database, none, cold, warm); default 3")
    args = parser.parse_args(argv)
    if (args.categories or 0) > len(AISLES):
        parser.error(f"--categories: at most {len(AISLES)}")
    categories = args.categories or 20
    per_category = args.per_category or (100 if args.quick else 250)

    site = BenchSite.from_fixtures()
    site.trees["aldi"], site.catalogues["aldi"] = generate(categories, per_category)
    rng = random.Random(9)  # the second store: a quarter of the prices differ
    for product in site.all_products("aldi"):
        if rng.random() < .25:
            site.set_price("aldi", STORES[1], product["sku"], product["price"]["amount"] + 20)

    runs: dict[str, list[dict]] = {label: [] for label, _, _ in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="grocer-crawl-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        url = os.environ.get("GROCER_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
        with serve(site) as urls:
            runner = Crawler(work, url, urls)
            for _ in range(max(1, args.repeat)):
                for label, settings, empty_database in VARIANTS:
                    if empty_database:
                        engine = fresh_database(url)
                        load_stores(engine, read_store_list(SITES_DIR / "stores.json"))
                        engine.dispose()
                    runs[label].append(crawl(runner, label, settings))
    if len({run["items"] for label in runs for run in runs[label]}) != 1:
        sys.exit(f"the crawls disagree on the items: {runs}")

    def ratio(label):  # per repetition: the crawls of one repetition ran side by side
        return spread(run["items_per_s"] / none["items_per_s"]
                      for run, none in zip(runs[label], runs["none"], strict=False))

    speeds = {label: spread(run["items_per_s"] for run in label_runs)
              for label, label_runs in runs.items()}
    ratios = {label: ratio(label) for label in runs if label != "none"}
    cpu = {label: spread(run["cpu_s"] for run in label_runs) for label, label_runs in runs.items()}
    for label in runs:
        log(f"{label:>20}: {shown(speeds[label], ' items/s')}; process CPU "
            f"{shown(cpu[label], ' s')}" + (f"; ratio {shown(ratios[label])}"
                                            if label in ratios else ""))
    warm, cold = ratios["all-warm"], ratios["all-cold"]
    log(f"with the pipeline worker: ratio warm {shown(warm)}; cold {shown(cold)} "
        f"(target >= {TARGET}); in the crawl's process: warm {shown(ratios['in-process-warm'])}, "
        f"cold {shown(ratios['in-process-cold'])}")
    print(json.dumps({
        "benchmark": "crawl", "backend": engine.dialect.name,
        "items": runs["none"][0]["items"], "repeat": len(runs["none"]),
        "with_pipelines_items_per_s": speeds["all-warm"]["median"],
        "with_pipelines_cold_items_per_s": speeds["all-cold"]["median"],
        "without_pipelines_items_per_s": speeds["none"]["median"],
        "ratio": warm["median"], "ratio_cold_database": cold["median"],
        "ratios": {"warm": warm, "cold": cold,
                   "in_process_warm": ratios["in-process-warm"],
                   "in_process_cold": ratios["in-process-cold"]},
        "items_per_s": speeds, "cpu_s": cpu,
        "target": TARGET}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
