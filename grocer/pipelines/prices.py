"""PricePipeline (400): current price per (product, store) and change-only history.

Rows are buffered and written GROCER_BATCH_SIZE at a time by grocer.db.prices.PriceWriter (one
transaction per batch; the rest is flushed on close, also when the crawl failed) in a worker
thread, one batch after another, while the loop keeps crawling. The item that fills a batch
waits only while the batch before it is still being written (double buffering): one batch is
written while the next fills, and a crawl faster than the database is still held back, by the
item that fills the next batch. Stats are counted on the loop once a batch is back.

A batch the database refuses is split in halves until only the rows it refuses are lost (each
counted lost: `db_error`, per store, and the batch in `grocer/db_errors`, which stops the
spider-close reconciliation); a batch is never half-written. A listing's store is found (or
created) inside that isolation, so a store that cannot be had costs only its listings. A
foreign-key failure because another crawl's reconciliation merged a product away re-resolves
the batch's rows of the missing products (SKUs, keys and barcodes moved to the survivor;
a product this creates is counted in `grocer/products/created`), makes the resolver forget the
missing ids, and writes the batch again: a merge never costs a batch. The listings still
waiting for their stored listing when the pipeline closes (grocer.db.prices) are written the
same way, isolated and following merges.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache


from grocer import stats as keys
from grocer.db.errors import describe, is_missing_reference
from grocer.db.prices import PriceWriter, WriteResult
from grocer.db.resolution import ProductResolver, missing_products
from grocer.items import item_fields
from grocer.normalization.dates import as_utc, sydney_date, utcnow
from grocer.pipelines.batcher import SerialWorker, isolate
from grocer.pipelines.database import DatabasePipeline

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")


def _decimal(value, exponent: Decimal) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return _quantized(value, exponent)
    except TypeError:  # not hashable: not a number either
        return _quantize(value, exponent)


def _quantize(value, exponent: Decimal) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None


# A catalogue's prices repeat across its products and stores: three conversions per item.
_quantized = lru_cache(maxsize=16384, typed=True)(_quantize)


def price_row(product: dict, product_id: int, store_id: int | None,
              scraped_at: dt.datetime) -> dict:
    price = _decimal(product["price_current"], CENT)
    was = _decimal(product.get("price_was"), CENT)
    return {
        "product_id": product_id,
        "store_id": store_id,
        "price": price,
        # Only a real strike-through price: Woolworths repeats the price as WasPrice.
        "was_price": was if was is not None and was > price else None,
        "unit_price": _decimal(product.get("unit_price"), UNIT),
        "unit_of_measure": product.get("unit_of_measure"),
        "per_unit_price_string": (product.get("per_unit_price_string") or None) and str(
            product["per_unit_price_string"])[:255],
        "is_on_special": bool(product.get("is_on_special")),
        "is_available": product.get("is_available"),
        "price_hash": product["price_hash"],
        "sku": product.get("sku"),  # which listing, when a store lists a product twice
        "scraped_at": scraped_at,
        "scraped_date": sydney_date(scraped_at),
    }


@dataclass
class _Listing:
    """A buffered price row and what re-resolves it if its product was merged away."""

    row: dict
    product: dict
    company: str
    store_code: str


class PricePipeline(DatabasePipeline):
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None, **kwargs):
        super().__init__(database_url, batch_size, stats, **kwargs)
        self.writer = PriceWriter(self.engine)
        self.worker = SerialWorker()
        self.buffer: list[_Listing] = []
        self.writing: asyncio.Task | None = None  # the last batch handed to the worker
        # Filled by the worker, read once it returned:
        self.store_codes: dict[int, str] = {}
        # The listings the writer keeps waiting for their stored listing, by (product, store):
        # what close_spider writes, through the same isolation as every batch.
        self.waiting: dict[tuple[int, int], _Listing] = {}
        self.created_by_merges = 0  # products a re-resolution after a merge created
        self.created_counted = 0  # (on the loop) how many of them are in the stats

    def process_item(self, item):
        fields = item_fields(item)
        product = fields["product"]
        row = price_row(product, fields["product_id"], None,  # store id: in the worker
                        as_utc(fields.get("scraped_at") or utcnow()))
        self.buffer.append(_Listing(row, product, fields["company"], fields["store_code"]))
        if len(self.buffer) >= self.batch_size:
            earlier, self.writing = self.writing, self.flush()
            if earlier is not None and not earlier.done():
                return self._after(earlier, item)
        return item

    @staticmethod
    async def _after(earlier: asyncio.Task, item):
        await earlier  # back-pressure: the crawl waits while the database falls behind
        return item

    def flush(self) -> asyncio.Task:
        """Start writing the buffered rows (in the worker thread); the task ends once they are
        written and counted."""
        batch, self.buffer = self.buffer, []
        return asyncio.ensure_future(self._write(self._write_part, batch))

    async def _write(self, write_part, batch: list[_Listing]) -> None:
        """`write_part` of the listings in the worker thread, isolated; then count on the
        loop what was written and what was lost."""
        if not batch:
            return
        try:
            results, lost = await self.worker.start(self._write_isolated, write_part, batch)
        except Exception as error:  # the database was unavailable before anything was written
            results, lost = [], [(listing, error) for listing in batch]
        for result in results:
            self._count(result)
        created = self.created_by_merges  # read once: the worker may be adding to it
        self._inc(keys.PRODUCTS_CREATED, created - self.created_counted)
        self.created_counted = created
        if lost:
            self._lose(lost, len(batch))

    def _lose(self, lost: list[tuple[_Listing, Exception]], size: int) -> None:
        logger.error("price batch of %d rows: %d not written (%s)", size, len(lost),
                     describe(lost[0][1], self.engine))
        for listing, _ in lost:  # stored no more: its store fails, the crawl closes db_errors
            keys.item_lost(self.stats, listing.store_code, keys.DB_ERROR)
        self.batch_failed([error for _, error in lost], "grocer/db_error_rows")

    # --- in the worker thread -------------------------------------------------------------------

    def _write_isolated(self, write_part, batch: list[_Listing]):
        self.check_available()
        done, lost = isolate(write_part, batch)
        return [result for _, result in done], lost

    def _write_part(self, listings: list[_Listing]) -> dict[int, WriteResult]:
        self._find_stores(listings)
        results = self._following_merges(self.writer.write, listings)
        for listing in listings:  # committed: which of them wait for their stored listing now
            key = (listing.row["product_id"], listing.row["store_id"])
            waiting = self.writer.waiting(*key)
            if waiting is None:
                self.waiting.pop(key, None)
            elif waiting is listing.row:
                self.waiting[key] = listing
        return results

    def _finish_part(self, listings: list[_Listing]) -> dict[int, WriteResult]:
        return self._following_merges(self.writer.finish, listings)

    def _find_stores(self, listings: list[_Listing]) -> None:
        """The store id of each listing, found or created here, inside the isolated part: a
        store that cannot be found or created costs only its own listings."""
        for listing in listings:
            if listing.row["store_id"] is None:
                store_id = self.directory.store_id(listing.company, listing.store_code)
                listing.row["store_id"] = store_id
                self.store_codes[store_id] = listing.store_code

    def _following_merges(self, write, listings: list[_Listing]) -> dict[int, WriteResult]:
        """`write` of the listings' rows; once more after re-pointing the rows of products
        another crawl merged away."""
        rows = [listing.row for listing in listings]
        try:
            return write(rows)
        except Exception as error:
            if not is_missing_reference(error) or not self._follow_merges(listings):
                raise
        return write(rows)

    def _follow_merges(self, listings: list[_Listing]) -> bool:
        """Re-point the rows of products that no longer exist to where their SKUs, keys and
        barcodes went; False when every product still exists (another foreign key failed)."""
        gone = missing_products(self.engine, {listing.row["product_id"] for listing in listings})
        if not gone:
            return False
        moved = [listing for listing in listings if listing.row["product_id"] in gone]
        # A cold resolver of this thread: the crawl's resolver belongs to the resolve worker.
        resolutions = ProductResolver(self.engine).resolve_batch(
            [listing.product for listing in moved],
            [self.directory.company_id(listing.company) for listing in moved],
            [listing.company for listing in moved])
        for listing, resolution in zip(moved, resolutions, strict=True):
            listing.row["product_id"] = resolution.product_id
        self.created_by_merges += sum(resolution.created for resolution in resolutions)
        self.resolver.forget(gone)
        logger.info("%d products of a price batch were merged away by another crawl: %d rows "
                    "re-resolved", len(gone), len(moved))
        return True

    # --- on the loop ----------------------------------------------------------------------------

    def _count(self, results: dict[int, WriteResult]) -> None:
        for store_id, result in results.items():
            code = self.store_codes.get(store_id)
            for name in ("new", "changed", "unchanged", "older", "duplicate"):
                self._inc(f"grocer/prices/{name}", getattr(result, name))
            self._inc("grocer/history_rows", result.history)
            if self.stats is not None:
                keys.inc_store(self.stats, code, keys.STORE_WRITTEN, result.new + result.changed)
                keys.inc_store(self.stats, code, keys.STORE_UNCHANGED, result.unchanged)

    async def close_spider(self):
        await self.flush()
        await self.worker.drain()  # every batch written: the listings still waiting are known
        # Those whose stored listing the crawl never saw become the price.
        await self._write(self._finish_part, list(self.waiting.values()))
