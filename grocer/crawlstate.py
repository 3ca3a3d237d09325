"""What a crawl did, store by store: written by spiders, read by pipelines and extensions.

Spiders (and `scrapy ingest`) set `spider.crawl_state`. Reconciliation delists only stores whose
run is `completed` in a crawl that is not `partial` (no -a categories / -a limit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"


@dataclass
class StoreRun:
    store_code: str
    status: str = PENDING
    started_at: dt.datetime | None = None  # timezone-aware UTC
    finished_at: dt.datetime | None = None
    error: str | None = None
    drift: int = 0  # responses that named another store than the one requested


@dataclass
class CrawlState:
    company: str
    partial: bool = False
    stores: dict[str, StoreRun] = field(default_factory=dict)

    def run_for(self, store_code: str) -> StoreRun:
        return self.stores.setdefault(store_code, StoreRun(store_code))

    def completed(self) -> list[StoreRun]:
        return [run for run in self.stores.values() if run.status == COMPLETED]
