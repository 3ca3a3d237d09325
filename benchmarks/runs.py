"""What every benchmark here shares: each measured variant in a fresh process, figures as the
median of several runs with min/max beside it."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def in_fresh_process(script: str | Path, *args: str) -> dict:
    """Run `script --variant …` in a new interpreter (no engine, pool, page or LRU cache left
    by another variant) and return the JSON object it prints last."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script), *args], env=environment, cwd=REPO,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{Path(script).name} {' '.join(args)} failed "
                         f"(exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values) -> dict:
    """{"median", "min", "max"} of the runs' figures, rounded for printing."""
    values = list(values)
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3)}


def shown(figure: dict, unit: str = "") -> str:
    return f"{figure['median']:,}{unit} (min {figure['min']:,}, max {figure['max']:,})"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
