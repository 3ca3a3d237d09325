"""Stats keys shared by pipelines, spiders, extensions and `scrapy report`, and the stats
collector that keeps per-store counters out of the end-of-crawl dump."""

import pprint

from scrapy.statscollectors import MemoryStatsCollector

DROPPED = "grocer/dropped"  # grocer/dropped/<reason>
DROPPED_TOTAL = "grocer/dropped_total"
# Items that passed every validation step (clean, normalize): their fate is decided, even while
# they wait in a database batch, so the error budget can judge drops against them mid-crawl.
VALIDATED = "grocer/validated"
DB_ERRORS = "grocer/db_errors"
# Set once a database batch found the database not answering: the crawl closes (db_errors).
DB_UNAVAILABLE = "grocer/db_unavailable"
# Products created by resolution: by the resolve pipeline, and by the price pipeline when it
# re-resolves the rows of a product another crawl merged away.
PRODUCTS_CREATED = "grocer/products/created"
ITEM_ERRORS = "grocer/item_errors"  # exceptions other than DropItem out of a pipeline
INVALID_BARCODES = "grocer/invalid_barcode"
# The reason the crawl really closed with (grocer.outcome), set by the crawl-health extension
# after the pipelines flushed; Scrapy's finish_reason can only be `finished` for a crawl that
# lost its last batch on close.
CLOSE_REASON = "grocer/close_reason"
# Set (to a close reason) when an extension decided to stop the crawl mid-way.
CLOSING = "grocer/closing"
STORE_PREFIX = "grocer/store/"
NULLED = "grocer/nulled"  # grocer/nulled/<field>: a value set to None because it cannot be stored
BARCODE_INVALID = "grocer/barcode/invalid"  # grocer/barcode/invalid/<why>
UNIT_PRICE_RECOMPUTED = "grocer/unit_price/recomputed"
# The Coles barcode phase: barcodes written, products flagged has_no_coles_barcode, barcodes
# another product already has (not written).
BARCODES_WRITTEN = "grocer/barcodes/written"
BARCODES_MARKED_MISSING = "grocer/barcodes/marked_missing"
BARCODES_CONFLICT = "grocer/barcodes/conflict"


# A store's rows the price pipeline confirmed: written (new or changed) and unchanged prices.
STORE_WRITTEN = "written"
STORE_UNCHANGED = "unchanged"
STORE_CONFIRMED = (STORE_WRITTEN, STORE_UNCHANGED)


def store_key(store_code: str, name: str) -> str:
    return f"{STORE_PREFIX}{store_code}/{name}"


def inc_store(stats, store_code: str | None, name: str, count: int = 1) -> None:
    if store_code:
        stats.inc_value(store_key(store_code, name), count)

# Valid items that were not stored because something failed (the database, a store loop):
# grocer/lost/<reason>, their total, and per store grocer/store/<code>/lost. Any lost item
# closes the crawl as `db_errors` (or its own reason) and fails its store.
LOST = "grocer/lost"
LOST_TOTAL = "grocer/lost_total"
# The reasons a pipeline drops a lost item with (after counting it with item_lost): a database
# batch lost it, or the pipeline worker process exited before answering it.
DB_ERROR = "db_error"
WORKER_LOST = "worker_lost"


def item_lost(stats, store_code: str | None, reason: str, count: int = 1) -> None:
    if stats is None or count <= 0:
        return
    stats.inc_value(f"{LOST}/{reason}", count)
    stats.inc_value(LOST_TOTAL, count)
    inc_store(stats, store_code, "lost", count)


class GrocerStatsCollector(MemoryStatsCollector):
    """Scrapy's stats collector, but the end-of-crawl dump leaves the per-store counters out:
    a 1,000-store crawl would log thousands of lines (they are in CrawlRun.store_stats).

    Attribute access is plain: Scrapy's collector wraps its methods on every attribute access
    (even of its own `_stats` inside `inc_value`) to warn about the deprecated `spider`
    argument, which made each `inc_value` cost 3.2 µs instead of 0.2 — several times per item.
    grocer never passes a spider; a caller that does gets no deprecation warning here."""

    __getattribute__ = object.__getattribute__

    def __str__(self) -> str:
        return pprint.pformat({key: value for key, value in self.get_stats().items()
                               if not key.startswith(STORE_PREFIX)})


def count_nulled(stats, product: dict, key: str) -> None:
    """Count (and remove) the fields a cleaner set to None because they cannot be stored,
    listed under `product[key]`."""
    for field in product.pop(key, None) or ():
        if stats is not None:
            stats.inc_value(f"{NULLED}/{field}")
