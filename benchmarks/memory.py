"""Peak RSS of a large crawl with all pipelines, and how it grows with the items (issue 19).

One `scrapy crawl aldi` of --stores stores × --products generated products (default 20 × 10k =
200k items; the fixture server of benchmarks/crawl.py, no latency) into an emptied database
(GROCER_DATABASE_URL, else a temporary SQLite file). While it runs, the memory of the crawl
and its pipeline worker process together is sampled from /proc every second with the item count
the log reports (LOGSTATS_INTERVAL=1): RSS summed (pages the fork still shares count twice) and
PSS summed (shared pages split between the processes: what the two cost the machine). Printed:
that memory once the first items are scraped, at 10% of the items (20k by default) and at the
end; the growth from 10% to the end against the growth up to 10% (linear growth would make it
9); the peak of the samples, and the largest single process's peak RSS from wait4. Target: peak
<= 400 MB. One JSON line at the end.

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


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the crawl and its pipeline worker)."""
    pids, index = [pid], 0
    while index < len(pids):
        for children in Path(f"/proc/{pids[index]}/task").glob("*/children"):
            try:
                pids.extend(int(child) for child in children.read_text().split())
            except OSError:
                pass
        index += 1
    return pids


def tree_memory_mb(pid: int) -> tuple[float, float] | None:
    """(RSS, PSS) of the process tree, in MB; None once the crawl is gone."""
    totals = [0, 0]
    for member in process_tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            if member == pid:
                return None
            continue
        for index, field in enumerate(("Rss", "Pss")):
            found = re.search(rf"^{field}:\s+(\d+) kB", rollup, re.MULTILINE)
            totals[index] += int(found.group(1)) if found else 0
    return totals[0] / 1024, totals[1] / 1024


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
            # (items scraped so far, RSS MB, PSS MB) of the crawl and its worker
            samples: list[tuple[int, float, float]] = []
            while not crawl.wait(block=False):
                memory = tree_memory_mb(crawl.process.pid)
                counts = SCRAPED.findall(crawl.log()[-4000:])
                if memory is not None:
                    samples.append((int(counts[-1]) if counts else 0,
                                    *(round(mb, 1) for mb in memory)))
                time.sleep(1)
            crawl.check()
    scraped = int(crawl.stat("item_scraped_count", 0))
    summary = {}
    for column, name in ((1, "rss"), (2, "pss")):
        start = next((s[column] for s in samples if s[0]), None)  # the engine running
        tenth = next((s[column] for s in samples if s[0] >= items // 10), None)
        last = next((s[column] for s in reversed(samples) if s[0]), None)
        growth = (last - tenth) / (tenth - start) \
            if None not in (start, tenth, last) and tenth > start else None
        peak = max((s[column] for s in samples), default=None)
        summary[name] = {"start_mb": start, "at_tenth_mb": tenth, "end_mb": last,
                         "peak_mb": peak, "growth_after_tenth_vs_before": growth}
        log(f"{name.upper()} of the crawl and its worker: at start-up {start} MB, at "
            f"{items // 10:,} items {tenth} MB, at the end {last} MB, peak {peak} MB; growth "
            f"after the first 10% vs before {'–' if growth is None else round(growth, 2)}")
    largest = crawl.max_rss_kb / 1024
    seconds = float(crawl.stat("elapsed_time_seconds"))
    log(f"{scraped:,} items in {seconds:.1f} s; the largest process's peak RSS "
        f"{largest:.0f} MB (target for the whole crawl <= 400)")
    print(json.dumps({
        "benchmark": "memory", "database": url.split(":", 1)[0], "items": scraped,
        "stores": opts.stores, "products_per_store": CATEGORIES * per_category,
        **{f"{name}_{key}": round(value, 2) if value is not None else None
           for name, figures in summary.items() for key, value in figures.items()},
        "largest_process_peak_rss_mb": round(largest, 1), "target_peak_mb": 400,
        "samples": samples[:: max(1, len(samples) // 40)]}))


if __name__ == "__main__":
    main()
