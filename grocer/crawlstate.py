"""What a crawl did, store by store: the spider reports pages and failures, the crawl-health
extension settles each store's outcome at close, reconciliation and the CrawlRun read it. And
which stores it visits (`StoreTarget`, handed to the spiders by the store directory).

A store is `completed` only when every page was fetched (the spider saw no failure) and every
item it yielded was stored or dropped with a reason (none lost, none still in flight). Otherwise
it is `failed`, with a reason slug (below) and a human `error`. Reconciliation delists only
completed stores of a crawl that is not `partial` (no -a categories / -a limit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PENDING, RUNNING, COMPLETED, FAILED = "pending", "running", "completed", "failed"
# A zone crawl's basket check of a member store (-a by=zone): its prices are its zone's.
CHECKED = "checked"

# Why a store failed (StoreRun.reason).
FETCH_FAILED = "fetch_failed"  # a request could not be fetched (network, HTTP status)
# A category tree or page the site answered that is not a valid one, past retries: not JSON
# (truncated, HTML), a null or missing product list, another shape, an end-of-list answer to the
# first page, fewer products than the site's total. The category did not end the way the site
# ends one (or the categories are unknown), so the store is not complete.
INCOMPLETE_PAGE = "incomplete_page"
NO_PRODUCTS = "no_products"  # the site listed no product at all: a site problem
BLOCKED = "blocked"  # the site's bot protection refused the crawl
DB_ERROR = "db_error"  # an item of the store was lost (to the database, or with the pipeline worker)
UNSETTLED = "unsettled"  # items of the store never came out of the pipelines (killed crawl)
DRIFT = "drift"  # the site answered for another store than the one asked for
CRAWL_CLOSED = "crawl_closed"  # the crawl closed (shutdown, error budget, ...) mid-store


@dataclass(frozen=True)
class StoreTarget:
    """A store a crawl visits, as the store directory (GROCER_STORE_DIRECTORY) gives it."""

    id: int  # Store.id
    code: str  # the store code, as loaded
    site_id: str  # what the chain's site calls the store


class StoreSelectionError(ValueError):
    """An argument that names no store to crawl: the crawl does not start."""


@dataclass
class StoreRun:
    store_code: str
    status: str = PENDING
    started_at: dt.datetime | None = None  # timezone-aware UTC
    finished_at: dt.datetime | None = None
    reason: str | None = None  # a slug above when failed
    error: str | None = None  # what went wrong, for people
    drift: int = 0  # responses that named another store than the one requested
    pages: int = 0
    items: int = 0  # items the spider yielded for the store
    # Set when the crawl closes, by the crawl-health extension (the one place counting them):
    stored: int = 0
    dropped: int = 0
    ignored: int = 0  # drops the error budget leaves out (not_a_product)
    lost: int = 0
    written: int = 0  # new or changed prices
    unchanged: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str, error: str) -> None:
        self.status, self.reason, self.error = FAILED, reason, error

    def settle(self) -> None:
        """A completed store whose items were not all stored or dropped fails after all."""
        if self.status != COMPLETED:
            return
        if self.lost:
            self.fail(DB_ERROR, f"{self.lost} item(s) lost to the database")
        elif self.items > self.stored + self.dropped:
            self.fail(UNSETTLED, f"{self.items - self.stored - self.dropped} item(s) never "
                      "stored or dropped")


# The StoreRun counts a CrawlRun keeps per store and `scrapy report` shows.
REPORTED_COUNTS = ("items", "stored", "dropped", "lost", "written", "unchanged")


@dataclass
class CrawlState:
    company: str
    partial: bool = False
    stores: dict[str, StoreRun] = field(default_factory=dict)

    def run_for(self, store_code: str) -> StoreRun:
        return self.stores.setdefault(store_code, StoreRun(store_code))

    def completed(self) -> list[StoreRun]:
        return [run for run in self.stores.values() if run.status == COMPLETED]
