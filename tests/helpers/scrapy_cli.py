"""Run `scrapy <command>` in a subprocess, as a user would, against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_scrapy(args: list[str], *, db_url: str, workdir: Path, env: dict | None = None,
               timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """`scrapy ARGS` with cwd=workdir (holding grocer's scrapy.cfg) and GROCER_DATABASE_URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
    full_env = {**os.environ, "GROCER_DATABASE_URL": db_url,
                "TRANSLATION_TABLES_DIR": str(workdir / "translation_tables"),
                "PYTHONPATH": str(REPO), **(env or {})}
    (workdir / "translation_tables").mkdir(exist_ok=True)
    result = subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=workdir, env=full_env,
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"scrapy {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    return result
