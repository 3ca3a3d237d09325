"""Writes what the Coles barcode phase found (BarcodeItem) through grocer.db.barcodes: batches of
GROCER_BATCH_SIZE products (the rest when the crawl closes), each one UPDATE off the reactor,
counted in stats (written, marked missing, conflicts)."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from grocer import stats as keys
from grocer.db.barcodes import write_coles_barcodes
from grocer.db.engine import engine_from_settings

logger = logging.getLogger(__name__)


class BarcodePipeline:
    def __init__(self, engine, batch_size: int, stats):
        self.engine = engine
        self.batch_size = batch_size
        self.stats = stats
        self.found: dict[int, str] = {}
        self.missing: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(engine_from_settings(crawler.settings),
                   crawler.settings.getint("GROCER_BATCH_SIZE"), crawler.stats)

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        if adapter.get("barcode"):
            self.found[adapter["product_id"]] = adapter["barcode"]
        else:
            self.missing.add(adapter["product_id"])
        if len(self.found) + len(self.missing) >= self.batch_size:
            await self.flush()
        return item

    async def flush(self) -> None:
        found, missing, self.found, self.missing = self.found, self.missing, {}, set()
        if not (found or missing):
            return
        try:
            result = await maybe_deferred_to_future(threads.deferToThread(
                write_coles_barcodes, self.engine, found, missing))
        except Exception:  # the products stay without either: the next run looks them up
            logger.exception("barcode batch of %d products failed; nothing of it was written",
                             len(found) + len(missing))
            self.stats.inc_value(keys.DB_ERRORS)
            keys.item_lost(self.stats, None, "db_error", len(found) + len(missing))
            return
        self.stats.inc_value(keys.BARCODES_WRITTEN, result.written)
        self.stats.inc_value(keys.BARCODES_MARKED_MISSING, result.marked_missing)
        for product_id, barcode, owner in result.conflicts:
            self.stats.inc_value(keys.BARCODES_CONFLICT)
            logger.warning("barcode %s of Coles product %d already belongs to product %d: "
                           "not written", barcode, product_id, owner)

    async def close_spider(self):
        await self.flush()  # what a blocked or stopped crawl found is kept
