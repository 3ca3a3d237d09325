"""Peak RSS of a large crawl with all pipelines, and how it grows with the items (issue 19).

One `scrapy crawl aldi` of --stores stores × --products generated products (default 20 × 10k =
200k items; the fixture server of benchmarks/crawl.py, no latency) into an emptied database
(GROCER_DATABASE_URL, else a temporary SQLite file). While it runs, the crawl process's RSS is
sampled from /proc with the item count its log reports (LOGSTATS_INTERVAL=1); at the end, its
peak RSS from wait4. Printed: RSS once the first items are scraped, at 10% of the items (20k by
default) and at the end; the growth from 10% to the end against the growth up to 10% (linear
growth would make it 9); and the peak. Target: peak <= 400 MB. One JSON line at the end.

    python benchmarks/memory.py [--stores 20] [--products 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.crawl import BenchSite, generate  # noqa: E402
from benchmarks.runs import log  # noqa: E402
from benchmarks.scale import CATEGORIES, CrawlProcess, prepare, store_codes  # noqa: E402
from tests.helpers.crawling import FAST_SETTINGS, Crawler  # noqa: E402
from tests.helpers.fixture_server import serve  # noqa: E402

SCRAPED = re.compile(r"scraped (\d+) items")


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--products", type=int, default=10_000, help="products per store")
    parser.add_argument("--workdir", type=Path, help="keep the log here")
    opts = parser.parse_args()
    site = BenchSite.from_fixtures()
    per_category = -(-opts.products // CATEGORIES)
    site.trees["aldi"], site.catalogues["aldi"] = generate(CATEGORIES, per_category)
    items = opts.stores * CATEGORIES * per_category
    stores = store_codes(opts.stores)

    with tempfile.TemporaryDirectory(prefix="grocer-memory-bench-") as tmp:
        work = opts.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        url = os.environ.get("GROCER_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
        prepare(url, stores).dispose()
        with serve(site) as urls:
            runner = Crawler(work, url, urls)
            settings = {**FAST_SETTINGS, "GROCER_RECONCILE_ON_CLOSE": "0",
                        "LOGSTATS_INTERVAL": "1"}
            crawl = CrawlProcess(runner, "memory", {"stores": ",".join(stores)}, settings)
            samples: list[tuple[int, float]] = []  # (items scraped so far, RSS MB)
            while not crawl.wait(block=False):
                rss = rss_mb(crawl.process.pid)
                counts = SCRAPED.findall(crawl.log()[-4000:])
                if rss is not None:
                    samples.append((int(counts[-1]) if counts else 0, rss))
                time.sleep(1)
            crawl.check()
    peak = crawl.max_rss_kb / 1024
    scraped = int(crawl.stat("item_scraped_count", 0))
    start = next((rss for count, rss in samples if count), None)  # the engine running
    tenth = next((rss for count, rss in samples if count >= items // 10), None)
    last = next((rss for count, rss in reversed(samples) if count), None)
    growth = (last - tenth) / (tenth - start) if None not in (start, tenth, last) and tenth > start \
        else None
    log(f"{scraped:,} items in {crawl.stat('elapsed_time_seconds')} s; RSS at start-up "
        f"{start:.0f} MB, at {items // 10:,} items {tenth:.0f} MB, at the end {last:.0f} MB; "
        f"peak {peak:.0f} MB (target <= 400)")
    print(json.dumps({
        "benchmark": "memory", "database": url.split(":", 1)[0], "items": scraped,
        "stores": opts.stores, "products_per_store": CATEGORIES * per_category,
        "rss_start_mb": round(start, 1) if start else None,
        "rss_at_tenth_mb": round(tenth, 1) if tenth else None,
        "rss_end_mb": round(last, 1) if last else None,
        "growth_after_tenth_vs_before": round(growth, 2) if growth is not None else None,
        "peak_rss_mb": round(peak, 1), "target_peak_mb": 400,
        "samples": samples[:: max(1, len(samples) // 40)]}))


if __name__ == "__main__":
    main()
