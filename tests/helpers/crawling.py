"""Running a spider against the fixture server in a subprocess (a Twisted reactor cannot be
restarted inside one pytest process) and reading what it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "RETRY_BACKOFF_BASE": "0.01",  # 0.01 s, 0.0001 s, ...: retries without waiting
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "LOG_LEVEL": "INFO",
}


@dataclass
class CrawlResult:
    returncode: int
    log: str
    items: list[dict] = field(default_factory=list)
    reason: str | None = None  # Scrapy's close reason
    stats: dict = field(default_factory=dict)
    crawl_state: dict | None = None

    @property
    def close_reason(self) -> str | None:
        """The crawl's real close reason (grocer/close_reason)."""
        return self.stats.get("grocer/close_reason", self.reason)

    def stat(self, key: str, default=0):
        return self.stats.get(key, default)

    def store_status(self) -> dict[str, str]:
        return {code: run["status"] for code, run in (self.crawl_state or {})["stores"].items()}

    def items_of(self, store_code: str) -> list[dict]:
        return [item for item in self.items if item["store_code"] == store_code]


class Crawler:
    """Runs `python -m scrapy crawl` in a working directory of its own."""

    def __init__(self, workdir: Path, db_url: str, urls: dict[str, str]):
        self.workdir = workdir
        self.db_url = db_url
        self.urls = urls
        self.tables_dir = workdir / "tables"
        self.tables_dir.mkdir(parents=True, exist_ok=True)
        (workdir / "scrapy.cfg").write_text("[settings]\ndefault = grocer.settings\n")
        self.cookies_file = workdir / "coles-cookies.json"
        self.cookies_file.write_text(json.dumps([
            {"name": "reese84", "value": "browser-session", "domain": ".coles.com.au"},
            {"name": "other-site", "value": "x", "domain": ".example.com"}]))
        self.runs = 0

    def env(self, extra: dict | None = None) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.endswith("_BASE_URL") and not key.startswith("TRANSLATION_TABLES")}
        env.update({
            "GROCER_DATABASE_URL": self.db_url,
            "ALDI_BASE_URL": self.urls["aldi"], "COLES_BASE_URL": self.urls["coles"],
            "WOOLWORTHS_BASE_URL": self.urls["woolworths"], "IGA_BASE_URL": self.urls["iga"],
            "TRANSLATION_TABLES_DIR": str(self.tables_dir),
            "COLES_COOKIES_FILE": str(self.cookies_file),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        })
        env.update(extra or {})
        return env

    def __call__(self, spider: str, *, args: dict | None = None, settings: dict | None = None,
                 env: dict | None = None, timeout: float = 120,
                 main_module: str = "scrapy") -> CrawlResult:
        """`main_module`: what `python -m` runs, scrapy or a wrapper of it
        (tests.helpers.exit_report)."""
        self.runs += 1
        feed = self.workdir / f"items-{self.runs}.jsonl"
        stats_file = self.workdir / f"stats-{self.runs}.json"
        log_file = self.workdir / f"crawl-{self.runs}.log"
        all_settings = {**FAST_SETTINGS, "TEST_STATS_FILE": str(stats_file),
                        "LOG_FILE": str(log_file),
                        # StatsDump last: it sees the stores settled and the run recorded.
                        "EXTENSIONS": json.dumps({"grocer.extensions.health.CrawlHealth": 400,
                                                  "grocer.extensions.reconcile.ReconcileOnClose": 500,
                                                  "tests.helpers.stats_dump.StatsDump": 900}),
                        **(settings or {})}
        command = [sys.executable, "-m", main_module, "crawl", spider, "-O", str(feed)]
        for name, value in (args or {}).items():
            command += ["-a", f"{name}={value}"]
        for name, value in all_settings.items():
            command += ["-s", f"{name}={value}"]
        process = subprocess.run(command, cwd=self.workdir, env=self.env(env), timeout=timeout,
                                 capture_output=True, text=True)
        log = (log_file.read_text() if log_file.exists() else "") + process.stderr
        result = CrawlResult(process.returncode, log)
        if feed.exists():
            result.items = [json.loads(line) for line in feed.read_text().splitlines() if line]
        if stats_file.exists():
            data = json.loads(stats_file.read_text())
            result.reason, result.stats = data["reason"], data["stats"]
            result.crawl_state = data["crawl_state"]
        return result
