"""How long `scrapy crawl` takes to exit once its crawl is over: grocer's exit (engines disposed,
the collector frozen at exit: grocer.command_base.freeze_at_exit) against the same code with
the freeze undone, alternated in one run.

A `scrapy crawl aldi` of two fixture stores (benchmarks/crawl.py's generated site: --categories
× --per-category products per store, all pipelines, a warm database) runs in a fresh process
each round, once as it is and once with BENCH_UNFREEZE_AT_EXIT=1 — set only in that
subprocess, read only by this script's wrapper, which registers `gc.unfreeze` before the command
runs, so that it runs after the command's own exit hooks: the interpreter's last collections
then walk every object again, as they did before the freeze. The exit time is measured from
the "Spider closed" log line (read from the process's stderr as it is written) to the end of
the process. Medians of --rounds with min/max; one JSON line at the end.

    python benchmarks/crawl_exit.py [--rounds 5] [--categories 20] [--per-category 250]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.crawl import STORES, BenchSite, generate  # noqa: E402
from benchmarks.runs import log, shown, spread  # noqa: E402
from grocer.db.stores import load_stores  # noqa: E402
from grocer.storelist import read_store_list  # noqa: E402
from tests.helpers.crawling import FAST_SETTINGS, Crawler  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402
from tests.helpers.fixture_server import SITES_DIR, serve  # noqa: E402

UNFREEZE = "BENCH_UNFREEZE_AT_EXIT"
WRAPPER = f"""\
import atexit, gc, os, sys
if os.environ.get({UNFREEZE!r}) == "1":
    atexit.register(gc.unfreeze)  # the first registered runs last: after the command's freeze
from scrapy.cmdline import execute
execute(["scrapy", *sys.argv[1:]])
"""
FROZEN, UNFROZEN = "frozen", "unfrozen"


def crawl_exit(runner: Crawler, unfreeze: bool) -> dict:
    """One crawl: seconds from its "Spider closed" line to the process's end, and in all."""
    command = [sys.executable, "-c", WRAPPER, "crawl", "aldi", "-a",
               "stores=" + ",".join(STORES)]
    for name, value in {**FAST_SETTINGS, "GROCER_RECONCILE_ON_CLOSE": "0"}.items():
        command += ["-s", f"{name}={value}"]
    env = runner.env({UNFREEZE: "1"} if unfreeze else None)
    started = time.monotonic()
    closed_at = None
    with subprocess.Popen(command, cwd=runner.workdir, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as process:
        tail = []
        for line in process.stderr:
            if "Spider closed (" in line:
                closed_at = time.monotonic()
            tail = (tail + [line])[-20:]
    ended = time.monotonic()
    if process.returncode or closed_at is None:
        sys.exit(f"crawl failed (exit {process.returncode}):\n{''.join(tail)}")
    return {"exit_s": ended - closed_at, "whole_s": ended - started}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--categories", type=int, default=20)
    parser.add_argument("--per-category", type=int, default=250)
    args = parser.parse_args(argv)

    site = BenchSite.from_fixtures()
    site.trees["aldi"], site.catalogues["aldi"] = generate(args.categories, args.per_category)
    rng = random.Random(9)  # the second store: a quarter of the prices differ
    for product in site.all_products("aldi"):
        if rng.random() < .25:
            site.set_price("aldi", STORES[1], product["sku"], product["price"]["amount"] + 20)

    runs: dict[str, list[dict]] = {FROZEN: [], UNFROZEN: []}
    with tempfile.TemporaryDirectory(prefix="grocer-crawl-exit-") as tmp:
        work = Path(tmp)
        url = os.environ.get("GROCER_DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
        engine = fresh_database(url)
        load_stores(engine, read_store_list(SITES_DIR / "stores.json"))
        engine.dispose()
        with serve(site) as urls:
            runner = Crawler(work, url, urls)
            crawl_exit(runner, unfreeze=False)  # fills the database: every round is warm
            for number in range(max(1, args.rounds)):
                # Alternated, the order swapped each round: load hits both alike.
                order = [False, True] if number % 2 == 0 else [True, False]
                for unfreeze in order:
                    run = crawl_exit(runner, unfreeze)
                    runs[UNFROZEN if unfreeze else FROZEN].append(run)
                    log(json.dumps({"variant": UNFROZEN if unfreeze else FROZEN,
                                    **{key: round(value, 3) for key, value in run.items()}}))

    exits = {label: spread(run["exit_s"] for run in label_runs)
             for label, label_runs in runs.items()}
    wholes = {label: spread(run["whole_s"] for run in label_runs)
              for label, label_runs in runs.items()}
    ratio = spread(frozen["exit_s"] / unfrozen["exit_s"]
                   for frozen, unfrozen in zip(runs[FROZEN], runs[UNFROZEN], strict=True))
    log(f"exit after the crawl closed: frozen {shown(exits[FROZEN], ' s')}; "
        f"unfrozen {shown(exits[UNFROZEN], ' s')}; ratio {shown(ratio)}")
    print(json.dumps({
        "benchmark": "crawl_exit", "backend": engine.dialect.name,
        "items": 2 * args.categories * args.per_category, "rounds": len(runs[FROZEN]),
        "exit_s": exits, "whole_s": wholes, "exit_ratio_frozen_vs_unfrozen": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
