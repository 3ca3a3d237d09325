"""Several leased crawls into one database at once (issue 19), measured side by side in one run.

A fixture Aldi site (the generated catalogue of benchmarks/crawl.py, --products per store) that
answers every request after a realistic latency (--latency, default 100-200 ms), and --stores
Aldi stores loaded into an emptied database (GROCER_DATABASE_URL - MariaDB is the case that
matters - else a temporary SQLite file). For 1, 2 and 4 concurrent crawls: a fresh database,
then that many `scrapy crawl aldi -a stores=lease:N` processes started together (N = stores /
crawls, the same arguments for each), with grocer's own politeness (DOWNLOAD_DELAY,
CONCURRENT_REQUESTS_PER_DOMAIN from grocer/settings.py; AutoThrottle off so every round waits
alike). Per round: aggregate items/s (price rows written / wall time from the first start to
the last exit, start-up included), stores crawled twice (from the CrawlRun rows; must be 0),
rows lost (expected price and history rows minus those in the database; must be 0), and CPU
seconds of the crawl processes against the database server's (MariaDB: /proc of the mariadbd
process, which other users of the server also load). Then a lease expiry check: a crawl is
killed after it leased its stores, and a crawl started after GROCER_LEASE_SECONDS (--expiry)
crawls them.

    python benchmarks/scale.py [--stores 8] [--products 600] [--latency 0.1,0.2] [--crawls 1,2,4]
    GROCER_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/grocer_bench python benchmarks/scale.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.crawl import BenchSite, generate  # noqa: E402
from benchmarks.runs import log  # noqa: E402
from grocer.db.models import CrawlRun, Price, PriceHistory  # noqa: E402
from grocer.db.stores import load_stores  # noqa: E402
from grocer.storelist import StoreList, StoreRow  # noqa: E402
from tests.helpers.crawling import Crawler  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402
from tests.helpers.fixture_server import FixtureServer, Handler, serve  # noqa: E402

CATEGORIES = 20


class SlowHandler(Handler):
    """Answers after the server's latency, as a real site does (each request its own thread,
    so waiting costs no CPU)."""

    def handle_any(self, method: str):
        time.sleep(random.uniform(*self.server.latency))
        super().handle_any(method)


class SlowServer(FixtureServer):
    handler_class = SlowHandler
    latency = (0.1, 0.2)

    def handle_error(self, request, client_address):
        """A killed crawl hangs up mid-answer (the lease expiry check): not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def store_codes(count: int) -> list[str]:
    return [f"G{300 + n}" for n in range(count)]


def prepare(url: str, stores: list[str]):
    engine = fresh_database(url)
    load_stores(engine, StoreList(rows=[StoreRow("Aldi", code) for code in stores],
                                  companies={"Aldi": None}))
    return engine


def server_cpu_seconds(engine) -> float | None:
    """User + system CPU of the local database server so far (None: SQLite, or not local)."""
    if engine.dialect.name == "sqlite":
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() in ("mariadbd", "mysqld"):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return None


class CrawlProcess:
    """One `scrapy crawl aldi` in its own working directory; its CPU time from wait4."""

    def __init__(self, runner: Crawler, label: str, args: dict, settings: dict,
                 env: dict | None = None):
        self.log_file = runner.workdir / f"{label}.log"
        self.log_file.unlink(missing_ok=True)
        command = [sys.executable, "-m", "scrapy", "crawl", "aldi"]
        for name, value in args.items():
            command += ["-a", f"{name}={value}"]
        for name, value in {"LOG_FILE": str(self.log_file), **settings}.items():
            command += ["-s", f"{name}={value}"]
        self.label = label
        self.process = subprocess.Popen(command, cwd=runner.workdir, env=runner.env(env),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.cpu = self.max_rss_kb = self.exited = self.final_log = None
        self.returncode = None

    def wait(self, block: bool = True) -> CrawlProcess | None:
        """Reap the process (self, with its CPU time and peak RSS); None while it runs."""
        pid, status, usage = os.wait4(self.process.pid, 0 if block else os.WNOHANG)
        if not pid:
            return None
        self.exited = time.perf_counter()
        self.returncode = os.waitstatus_to_exitcode(status)
        self.process.returncode = self.returncode  # reaped here, not by Popen
        self.cpu = usage.ru_utime + usage.ru_stime
        self.max_rss_kb = usage.ru_maxrss
        self.final_log = self.log()  # the working directory may be gone when it is read
        return self

    def log(self) -> str:
        if self.final_log is not None:
            return self.final_log
        return self.log_file.read_text() if self.log_file.exists() else ""

    def stat(self, key: str, default=None):
        found = re.search(rf"'{re.escape(key)}': '?([\w.]+)", self.log())
        return found.group(1) if found else default

    def check(self, reasons=("finished",)) -> None:
        if self.returncode != 0 or self.stat("finish_reason") not in reasons:
            sys.exit(f"{self.label} failed ({self.returncode}, {self.stat('finish_reason')}): "
                     f"{self.log_file}\n{self.process.stderr.read().decode()[-2000:]}")


def crawl_settings(opts) -> dict:
    return {"GROCER_RECONCILE_ON_CLOSE": "0", "AUTOTHROTTLE_ENABLED": "False",
            "LOG_LEVEL": "INFO", "RETRY_BACKOFF_BASE": "0.01",
            **({"DOWNLOAD_DELAY": opts.delay} if opts.delay is not None else {})}


def count_rows(engine, model) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def crawled_stores(engine) -> Counter:
    with engine.connect() as connection:
        return Counter(code for stores in connection.scalars(select(CrawlRun.stores_completed))
                       for code in stores or ())


def round_of(crawls: int, opts, url: str, runner: Crawler, stores: list[str]) -> dict:
    engine = prepare(url, stores)
    server_before = server_cpu_seconds(engine)
    started = time.perf_counter()
    lease = {"stores": f"lease:{len(stores) // crawls}"}
    processes = [CrawlProcess(runner, f"scale-{crawls}-{n}", lease, crawl_settings(opts))
                 for n in range(crawls)]
    waiting = [threading.Thread(target=process.wait) for process in processes]
    for thread in waiting:
        thread.start()
    for thread, process in zip(waiting, processes, strict=True):
        thread.join()
        process.check()
    wall = max(p.exited for p in processes) - started
    # The engines' window: from the first crawl's engine start to the last close, without
    # the interpreters' start-up (seconds on this loaded machine, paid once per process).
    crawling = max(p.exited for p in processes) - min(
        p.exited - float(p.stat("elapsed_time_seconds")) for p in processes)
    server_after = server_cpu_seconds(engine)
    prices, history = count_rows(engine, Price), count_rows(engine, PriceHistory)
    completed = crawled_stores(engine)
    engine.dispose()
    expected = len(stores) * opts.products
    result = {
        "crawls": crawls, "wall_s": round(wall, 2), "items_per_s": round(prices / wall, 1),
        "crawling_s": round(crawling, 2), "crawling_items_per_s": round(prices / crawling, 1),
        "stores_crawled": len(completed),
        "stores_crawled_twice": sum(1 for n in completed.values() if n > 1),
        "stores_not_crawled": len(set(stores) - set(completed)),
        "rows_lost": (expected - prices) + (expected - history),
        "client_cpu_s": round(sum(p.cpu for p in processes), 2),
        "server_cpu_s": (round(server_after - server_before, 2)
                         if server_before is not None else None),
    }
    log(json.dumps(result))
    return result


def lease_expiry(opts, url: str, runner: Crawler) -> dict:
    """A crawl killed while it holds its lease; a crawl started at once gets only the other
    stores, one started after the lease expired gets the killed crawl's."""
    stores = store_codes(4)
    engine = prepare(url, stores)
    env = {"GROCER_LEASE_SECONDS": str(opts.expiry)}
    settings = crawl_settings(opts)
    killed = CrawlProcess(runner, "expiry-killed", {"stores": "lease:2"}, settings, env)
    deadline = time.monotonic() + 120
    while "leased 2 of" not in killed.log():
        if time.monotonic() > deadline or killed.wait(block=False):
            sys.exit(f"the crawl to kill never leased its stores: {killed.log_file}")
        time.sleep(0.2)
    leased_at = time.monotonic()
    killed.process.send_signal(signal.SIGKILL)
    killed.wait()
    at_once = CrawlProcess(runner, "expiry-at-once", {"stores": "lease:4"}, settings, env)
    at_once.wait().check()
    time.sleep(max(0.0, opts.expiry - (time.monotonic() - leased_at)) + 1)
    after = CrawlProcess(runner, "expiry-after", {"stores": "lease:4"}, settings, env)
    after.wait().check()
    with engine.connect() as connection:
        runs = [sorted(stores or ()) for stores in connection.scalars(
            select(CrawlRun.stores_completed).order_by(CrawlRun.id))]
    engine.dispose()
    result = {"killed_crawl_leased": 2, "stores_crawled_at_once": len(runs[-2]),
              "stores_crawled_after_expiry": len(runs[-1]),
              "all_stores_crawled_once": sorted(s for run in runs for s in run) == sorted(stores)}
    log(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=8, help="stores of the chain; default 8")
    parser.add_argument("--products", type=int, default=600,
                        help=f"products per store ({CATEGORIES} categories); default 600")
    parser.add_argument("--latency", default="0.1,0.2", help="seconds, min,max; default 0.1,0.2")
    parser.add_argument("--crawls", default="1,2,4", help="concurrent crawls per round")
    parser.add_argument("--delay", help="DOWNLOAD_DELAY (default: grocer's)")
    parser.add_argument("--expiry", type=float, default=45,
                        help="GROCER_LEASE_SECONDS of the expiry check (longer than a crawl's "
                             "start-up); 0 skips it")
    parser.add_argument("--workdir", type=Path, help="keep the logs here")
    opts = parser.parse_args()
    counts = [int(n) for n in opts.crawls.split(",")]
    if any(opts.stores % n for n in counts):
        parser.error("--stores must be a multiple of every --crawls count")
    SlowServer.latency = tuple(float(s) for s in opts.latency.split(","))

    site = BenchSite.from_fixtures()
    per_category = -(-opts.products // CATEGORIES)
    site.trees["aldi"], site.catalogues["aldi"] = generate(CATEGORIES, per_category)
    opts.products = CATEGORIES * per_category
    stores = store_codes(opts.stores)
    with tempfile.TemporaryDirectory(prefix="grocer-scale-bench-") as tmp:
        work = opts.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        url = os.environ.get("GROCER_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
        with serve(site, SlowServer) as urls:
            runner = Crawler(work, url, urls)
            rounds = [round_of(n, opts, url, runner, stores) for n in counts]
            expiry = lease_expiry(opts, url, runner) if opts.expiry else None
    base, engine_base = rounds[0]["items_per_s"], rounds[0]["crawling_items_per_s"]
    for result in rounds:
        log(f"{result['crawls']} crawl(s): {result['items_per_s']:,} items/s = "
            f"{result['items_per_s'] / base:.2f}x one (engines only: "
            f"{result['crawling_items_per_s'] / engine_base:.2f}x); stores crawled twice "
            f"{result['stores_crawled_twice']}, rows lost {result['rows_lost']}; CPU client "
            f"{result['client_cpu_s']} s, server {result['server_cpu_s']} s")
    print(json.dumps({
        "benchmark": "scale", "database": url.split(":", 1)[0], "stores": opts.stores,
        "products_per_store": opts.products, "latency_s": list(SlowServer.latency),
        "rounds": rounds,
        "speedup": {str(r["crawls"]): round(r["items_per_s"] / base, 2) for r in rounds},
        "speedup_engines_only": {str(r["crawls"]): round(r["crawling_items_per_s"] / engine_base, 2)
                                 for r in rounds},
        "stores_crawled_twice": sum(r["stores_crawled_twice"] for r in rounds),
        "rows_lost": sum(r["rows_lost"] for r in rounds), "lease_expiry": expiry,
        "target": {"speedup_4": 3.0}}))


if __name__ == "__main__":
    main()
