"""BarcodePipeline: writes what the Coles barcode phase found (BarcodeItem) through
grocer.db.barcodes — barcodes, and the flag of products whose page has none.

Batched like the other database pipelines (grocer.pipelines.batcher): GROCER_BATCH_SIZE items,
0.2 s or a 0.05 s pause of the input, written in a worker thread, one batch after another, each
one UPDATE; what waits is written when the crawl closes, also a blocked or stopped one. A batch
the database refuses is split until only the products it refuses are lost: each counted lost
(`db_error`, and the batch in `grocer/db_errors`; the crawl closes `db_errors`), its product
left without barcode or flag so that the next run looks it up again. A database that stops
answering closes the crawl `db_errors` (grocer.pipelines.database). Stats: barcodes written,
products marked missing, barcodes another product already has.
"""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter

from grocer import stats as keys
from grocer.db.barcodes import BarcodeWriteResult, write_coles_barcodes
from grocer.db.errors import describe
from grocer.pipelines.batcher import Batcher, isolate_each
from grocer.pipelines.database import DatabasePipeline

logger = logging.getLogger(__name__)


class BarcodePipeline(DatabasePipeline):
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None, **kwargs):
        super().__init__(database_url, batch_size, stats, **kwargs)
        self.batcher = Batcher(self._write_batch, batch_size, on_batch=self._count_batch,
                               stats=stats)

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        try:
            await self.batcher.submit((adapter["product_id"], adapter.get("barcode") or None))
        except Exception as error:  # counted once per batch in _count_batch
            raise self.lost_item(None, error) from None
        return item

    def _write_batch(self, payloads: list[tuple[int, str | None]]) -> list:
        """In the worker thread: for each (product id, barcode or None) the result of the
        write that held it, or the error that lost it."""
        self.check_available()

        def write(indices: list[int]) -> list[BarcodeWriteResult]:
            part = [payloads[index] for index in indices]
            result = write_coles_barcodes(
                self.engine, {product_id: barcode for product_id, barcode in part if barcode},
                {product_id for product_id, barcode in part if not barcode})
            return [result] * len(part)

        return isolate_each(write, len(payloads))

    def _count_batch(self, results) -> None:
        """On the loop, once per batch: each written part once (its items share its result)."""
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            logger.error("barcode batch of %d products: %d not written (%s)", len(results),
                         len(errors), describe(errors[0], self.engine))
            self.batch_failed(errors, "grocer/db_error_items")
        parts = {id(result): result for result in results
                 if isinstance(result, BarcodeWriteResult)}
        for result in parts.values():
            self._inc(keys.BARCODES_WRITTEN, result.written)
            self._inc(keys.BARCODES_MARKED_MISSING, result.marked_missing)
            self._inc(keys.BARCODES_CONFLICT, len(result.conflicts))
            for product_id, barcode, owner in result.conflicts:
                logger.warning("barcode %s of Coles product %d already belongs to product %d: "
                               "not written", barcode, product_id, owner)

    async def close_spider(self):
        await self.batcher.close()  # what a blocked or stopped crawl found is kept
