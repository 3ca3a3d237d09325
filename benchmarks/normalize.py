"""Normalization throughput: validate_cleaned + derive over the golden Aldi rows, on one core.

Usage::

    python benchmarks/normalize.py [GOLDEN_JSONL] [--rounds N]

Without a path, reads ``$GROCER_SHARED_DIR/corpus/aldi-g102-2026-06-29.golden.jsonl``. Prints one
JSON line: items, rounds, seconds, items_per_s (best round), target (20000) and whether the golden
derived fields were reproduced in the last round. The size-extraction cache is cleared before
each round so repeated rounds do not measure warm-cache hits only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grocer.normalization import ProductNormalizer, derive, validate_cleaned  # noqa: E402
from grocer.normalization import sizes as _sizes  # noqa: E402

GOLDEN_NAME = "aldi-g102-2026-06-29.golden.jsonl"
DERIVED = ("sizes", "normalized_brand", "normalized_name_brand_size", "unit_price",
           "unit_of_measure", "price_hash")
TARGET = 20_000


def _default_path() -> Path:
    shared = os.environ.get("GROCER_SHARED_DIR")
    if not shared:
        sys.exit("give the golden JSONL path or set GROCER_SHARED_DIR")
    return Path(shared) / "corpus" / GOLDEN_NAME


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    path = args.path or _default_path()
    rows = [json.loads(line)["product"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    normalizer = ProductNormalizer({}, {})

    timings = []
    matched = 0
    for _ in range(args.rounds):
        _sizes._extract_cached.cache_clear()
        _sizes._parse.cache_clear()
        start = time.perf_counter()
        results = [derive(validate_cleaned(row), normalizer) for row in rows]
        timings.append(time.perf_counter() - start)
        matched = sum(all(r.get(f) == row.get(f) for f in DERIVED) for r, row in zip(results, rows, strict=False))

    best = min(timings)
    print(json.dumps({
        "benchmark": "normalize",
        "items": len(rows),
        "rounds": args.rounds,
        "seconds_best": round(best, 4),
        "seconds_total": round(sum(timings), 4),
        "items_per_s": round(len(rows) / best),
        "items_per_s_mean": round(len(rows) * args.rounds / sum(timings)),
        "target_items_per_s": TARGET,
        "meets_target": len(rows) / best >= TARGET,
        "golden_rows_reproduced": f"{matched}/{len(rows)}",
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
