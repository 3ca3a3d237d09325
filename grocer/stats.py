"""Stats keys shared by pipelines, spiders, extensions and `scrapy report`."""

DROPPED = "grocer/dropped"  # grocer/dropped/<reason>
DROPPED_TOTAL = "grocer/dropped_total"
DB_ERRORS = "grocer/db_errors"
ITEM_ERRORS = "grocer/item_errors"  # exceptions other than DropItem out of a pipeline
INVALID_BARCODES = "grocer/invalid_barcode"


def store_key(store_code: str, name: str) -> str:
    return f"grocer/store/{store_code}/{name}"


def inc_store(stats, store_code: str | None, name: str, count: int = 1) -> None:
    if store_code:
        stats.inc_value(store_key(store_code, name), count)
