"""Benchmark of `scrapy ingest` and of grocer's start-up, measured side by side in one run.

  (a) `scrapy ingest` of generated archive lines vs the same lines parsed and fed to the four
      pipelines called directly (tests/helpers/pipeline_runner), each into an empty database:
      items/s of the ingest proper (the command's own timing, from the first line to the end
      of the close) and the ratio;
  (b) whole-process time of `scrapy ingest` of the golden Aldi archive (GROCER_SHARED_DIR) into
      an empty database vs `python -c "import scrapy"`, medians of --rounds alternated runs;
  (c) `scrapy list` vs `python -c "import scrapy"`, the same way.

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
from tests.helpers.database import fresh_database  # noqa: E402
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


def import_scrapy() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import scrapy"], check=True)
    return time.perf_counter() - started


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

        startup = {"list": [], "import": [], "golden": []}
        for _ in range(opts.rounds):
            startup["import"].append(import_scrapy())
            startup["list"].append(scrapy(["list"], workdir, url)[0])
            if golden is not None:
                fresh_database(url).dispose()
                startup["golden"].append(scrapy(["ingest", str(golden), *settings],
                                                workdir, url)[0])
        medians = {name: statistics.median(times) if times else None
                   for name, times in startup.items()}
        list_ratio = medians["list"] / medians["import"]
        golden_ratio = medians["golden"] / medians["import"] if medians["golden"] else None
        print("(b) golden archive ingest, whole process: "
              + (f"{medians['golden']:.2f} s = {golden_ratio:.2f}x import scrapy "
                 f"({medians['import']:.2f} s)" if golden_ratio else "skipped (no "
                 "GROCER_SHARED_DIR)"))
        print(f"(c) scrapy list {medians['list']:.2f} s = {list_ratio:.2f}x import scrapy")
    print(json.dumps({
        "benchmark": "ingest", "database": url.split(":", 1)[0], "items": opts.items,
        "rounds": opts.rounds,
        "ingest_items_per_s": round(command_rate), "direct_items_per_s": round(direct_rate),
        "ingest_vs_direct": round(command_rate / direct_rate, 3),
        "golden_process_s": round(medians["golden"], 3) if medians["golden"] else None,
        "import_scrapy_s": round(medians["import"], 3),
        "golden_vs_import_scrapy": round(golden_ratio, 3) if golden_ratio else None,
        "scrapy_list_s": round(medians["list"], 3),
        "list_vs_import_scrapy": round(list_ratio, 3),
    }))


if __name__ == "__main__":
    main()
