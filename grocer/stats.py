"""Stats keys shared by pipelines, spiders, extensions and `scrapy report`."""

DROPPED = "grocer/dropped"  # grocer/dropped/<reason>
DROPPED_TOTAL = "grocer/dropped_total"
DB_ERRORS = "grocer/db_errors"
ITEM_ERRORS = "grocer/item_errors"  # exceptions other than DropItem out of a pipeline
INVALID_BARCODES = "grocer/invalid_barcode"
BARCODE_INVALID = "grocer/barcode/invalid"  # grocer/barcode/invalid/<why>
UNIT_PRICE_RECOMPUTED = "grocer/unit_price/recomputed"


def store_key(store_code: str, name: str) -> str:
    return f"grocer/store/{store_code}/{name}"


def inc_store(stats, store_code: str | None, name: str, count: int = 1) -> None:
    if store_code:
        stats.inc_value(store_key(store_code, name), count)

# Valid items that were not stored because something failed (the database, a store loop):
# grocer/lost/<reason>, their total, and per store grocer/store/<code>/lost. Any lost item
# closes the crawl as `db_errors` (or its own reason) and fails its store.
LOST = "grocer/lost"
LOST_TOTAL = "grocer/lost_total"


def item_lost(stats, store_code: str | None, reason: str, count: int = 1) -> None:
    if stats is None or count <= 0:
        return
    stats.inc_value(f"{LOST}/{reason}", count)
    stats.inc_value(LOST_TOTAL, count)
    inc_store(stats, store_code, "lost", count)
