"""Benchmark of `scrapy ingest` and of grocer's start-up, measured side by side in one run.

  (a) `scrapy ingest` of generated archive lines vs the same lines parsed and fed to the four
      pipelines called directly (tests/helpers/pipeline_runner), each into an empty database:
      items/s of the ingest proper (the command's own timing, from the first line to the end
      of the close) and the ratio;
  (b) whole-process time of `scrapy ingest` of the golden Aldi archive (GROCER_SHARED_DIR) vs
      `python -c "import scrapy"`, medians of --rounds alternated runs: into a database with
      grocer's schema and no rows (after `scrapy migrate`, the usual case), and into an empty
      database (the ingest creates the schema first, through Alembic);
  (c) `scrapy list` vs `python -c "import scrapy"`, the same way, beside `scrapy list` of a bare
      project made by `scrapy startproject` (the floor: Scrapy's own start-up).

Prints one JSON line at the end.

    python benchmarks/ingest.py [--items 20000] [--rounds 3]
    GROCER_SHARED_DIR=/work/shared GROCER_DATABASE_URL=mysql+pymysql://root@127.0.0.1:3306/grocer_bench \
        python benchmarks/ingest.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grocer.ingest.lines import LineReader, parse_line  # noqa: E402
from tests.helpers.database import drop_everything, fresh_database  # noqa: E402
from tests.helpers.pipeline_runner import PipelineChain  # noqa: E402

KINDS = ["Milk", "Bread", "Rice", "Pasta", "Coffee", "Tea", "Juice", "Soup", "Jam", "Oats"]
BRANDS = ["Farmdale", "Remano", "Just Organic", "Baker's Life", "Westacre", "Colway"]
SECONDS = re.compile(r"; ([\d.]+) s; close reason (\w+)")


def write_archive(path: Path, count: int) -> None:
    """SplitCart archive lines of `count` distinct Aldi products at store G102."""
    with path.open("w") as target:
        for n in range(count):
            price = round(1 + (n % 500) / 10, 2)
            product = {"sku": f"{n:018d}", "name": f"{KINDS[n % 10]} {n} {100 + n % 900}g",
                       "brand": BRANDS[n % 6], "size": f"{100 + n % 900}g",
                       "price_current": price, "per_unit_price_value": price,
                       "per_unit_price_string": f"${price:.2f} per 1 kg",
                       "is_on_special": n % 7 == 0, "category_path": ["Pantry", KINDS[n % 10]]}
            target.write(json.dumps({"product": product, "metadata": {
                "company": "aldi", "store_id": "G102", "scraped_date": "2026-06-29"}}) + "\n")


def scrapy(args: list[str], workdir: Path, url: str) -> tuple[float, str]:
    """Wall time and stdout of `python -m scrapy ARGS` in a grocer project directory."""
    env = {**os.environ, "GROCER_DATABASE_URL": url, "PYTHONPATH": str(REPO),
           "TRANSLATION_TABLES_DIR": str(workdir / "tables")}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=workdir, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"scrapy {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result.stdout


def timed(command: list[str], workdir: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=workdir, check=True, capture_output=True)
    return time.perf_counter() - started


def empty_database(url: str) -> None:
    """No table at all: the ingest creates grocer's schema."""
    engine = fresh_database(url)
    drop_everything(engine)
    engine.dispose()


def ingest_seconds(stdout: str) -> float:
    found = SECONDS.search(stdout)
    if not found or found.group(2) != "finished":
        raise SystemExit(f"unexpected ingest result: {stdout[-500:]}")
    return float(found.group(1))


def direct_seconds(archive: Path, url: str, tables: Path, batch_size: int) -> float:
    fresh_database(url).dispose()
    chain = PipelineChain(url, str(tables), batch_size)
    started = time.perf_counter()
    chain.feed(parse_line(line.data, None, None) for line in LineReader(archive))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    opts = parser.parse_args()
    shared = os.environ.get("GROCER_SHARED_DIR")
    golden = Path(shared) / "corpus" / "aldi-g102-2026-06-29.golden.jsonl" if shared else None

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
        (workdir / "tables").mkdir()
        url = os.environ.get("GROCER_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
        archive = workdir / "archive.jsonl"
        write_archive(archive, opts.items)
        settings = ["-s", "GROCER_RECONCILE_ON_CLOSE=0", "-s", f"GROCER_BATCH_SIZE={opts.batch_size}",
                    "-s", "LOG_LEVEL=WARNING"]

        command, direct = [], []
        for _ in range(opts.rounds):  # alternated, so load on the machine hits both alike
            direct.append(direct_seconds(archive, url, workdir / "tables", opts.batch_size))
            fresh_database(url).dispose()
            command.append(ingest_seconds(scrapy(["ingest", str(archive), *settings],
                                                 workdir, url)[1]))
        command_rate = opts.items / statistics.median(command)
        direct_rate = opts.items / statistics.median(direct)
        print(f"(a) {opts.items:,} items: scrapy ingest {command_rate:,.0f} items/s, pipelines "
              f"directly {direct_rate:,.0f} items/s: ratio {command_rate / direct_rate:.2f}")

        bare = workdir / "bare"
        subprocess.run([sys.executable, "-m", "scrapy", "startproject", "bare", str(bare)],
                       check=True, capture_output=True)
        startup = {"list": [], "import": [], "bare_list": [], "golden": [], "golden_empty": []}
        for _ in range(opts.rounds):
            startup["import"].append(timed([sys.executable, "-c", "import scrapy"]))
            startup["bare_list"].append(timed([sys.executable, "-m", "scrapy", "list"], bare))
            startup["list"].append(scrapy(["list"], workdir, url)[0])
            if golden is not None:
                fresh_database(url).dispose()
                startup["golden"].append(scrapy(["ingest", str(golden), *settings],
                                                workdir, url)[0])
                empty_database(url)
                startup["golden_empty"].append(scrapy(["ingest", str(golden), *settings],
                                                      workdir, url)[0])
        medians = {name: statistics.median(times) if times else None
                   for name, times in startup.items()}
        ratios = {name: round(medians[name] / medians["import"], 3) if medians[name] else None
                  for name in ("list", "bare_list", "golden", "golden_empty")}
        if golden is None:
            print("(b) golden archive ingest: skipped (no GROCER_SHARED_DIR)")
        else:
            print(f"(b) golden archive ingest, whole process: {medians['golden']:.2f} s = "
                  f"{ratios['golden']:.2f}x import scrapy ({medians['import']:.2f} s); into an "
                  f"empty database (schema created first) {medians['golden_empty']:.2f} s = "
                  f"{ratios['golden_empty']:.2f}x")
        print(f"(c) scrapy list {medians['list']:.2f} s = {ratios['list']:.2f}x import scrapy; "
              f"a bare Scrapy project's {medians['bare_list']:.2f} s = "
              f"{ratios['bare_list']:.2f}x")
    print(json.dumps({
        "benchmark": "ingest", "database": url.split(":", 1)[0], "items": opts.items,
        "rounds": opts.rounds,
        "ingest_items_per_s": round(command_rate), "direct_items_per_s": round(direct_rate),
        "ingest_vs_direct": round(command_rate / direct_rate, 3),
        "seconds": {name: round(value, 3) if value else None for name, value in medians.items()},
        "golden_vs_import_scrapy": ratios["golden"],
        "golden_empty_database_vs_import_scrapy": ratios["golden_empty"],
        "list_vs_import_scrapy": ratios["list"],
        "bare_project_list_vs_import_scrapy": ratios["bare_list"],
        "targets": {"ingest_vs_direct": 0.7, "golden_vs_import_scrapy": 2.5,
                    "list_vs_import_scrapy": 1.6},
    }))


if __name__ == "__main__":
    main()
