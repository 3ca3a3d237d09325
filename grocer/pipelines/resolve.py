"""ResolvePipeline (300): which product is this? barcode → SKU → key → key variations.

Items the lookup caches fully explain, with nothing to write, resolve at once (the steady state
of a re-crawl); the others wait in a batch (GROCER_BATCH_SIZE, or 0.2 s) resolved in a worker
thread, off the event loop, together with a few IN queries and one transaction
(grocer.db.resolution). Batches run one after another; the loop only reads the resolver's
caches, the batch thread alone writes them. A batch the database refuses is split until only
the items it refuses are lost (each counted lost: `db_error`). Each item then carries the
canonical product's id, and its key is rewritten to the canonical product's key, so nothing
downstream ever looks a product up by the incoming key again (spec §6.1.2).
"""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from grocer import stats as keys
from grocer.db.errors import describe, is_missing_reference, is_unavailable
from grocer.items import item_fields
from grocer.pipelines.batcher import Batcher, isolate
from grocer.pipelines.database import DatabasePipeline

logger = logging.getLogger(__name__)


class ResolvePipeline(DatabasePipeline):
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None, **kwargs):
        super().__init__(database_url, batch_size, stats, **kwargs)
        self.batcher = Batcher(self._resolve_batch, batch_size, on_batch=self._count_batch)
        self.conflicts_counted = 0

    def process_item(self, item):
        fields = item_fields(item)
        company = fields["company"]
        product = fields["product"]
        company_id = self.directory.companies.get(company)  # unknown: looked up in the batch
        resolution = (self.resolver.resolve_cached(product, company_id)
                      if company_id is not None else None)
        if resolution is not None:  # nothing to look up or write: no need to wait for a batch
            return self._resolved(item, fields, resolution)
        return self._resolve_in_batch(item, fields, (product, company))

    async def _resolve_in_batch(self, item, fields, payload):
        try:
            resolution = await self.batcher.submit(payload)
        except Exception as error:  # counted once per batch in _count_batch
            keys.item_lost(self.stats, fields.get("store_code"), "db_error")
            raise DropItem(f"db_error: {error.__class__.__name__}", log_level="DEBUG") from None
        return self._resolved(item, fields, resolution)

    def _resolved(self, item, fields, resolution):
        fields["product"]["normalized_name_brand_size"] = resolution.key
        fields["product_id"] = resolution.product_id
        if resolution.created:
            self._inc("grocer/products/created")
        return item

    def _resolve_batch(self, payloads) -> list:
        """In the worker thread: each payload's Resolution, or the error that lost it."""
        self.check_available()
        products = [product for product, _ in payloads]
        slugs = [slug for _, slug in payloads]
        company_ids = [self.directory.company_id(slug) for slug in slugs]

        def resolve(indices: list[int]):
            batch = ([products[i] for i in indices], [company_ids[i] for i in indices],
                     [slugs[i] for i in indices])
            try:
                return self.resolver.resolve_batch(*batch)
            except Exception as error:
                if not is_missing_reference(error):
                    raise
            # A cached product was merged away by another crawl: look everything up again.
            self.resolver.reverify()
            return self.resolver.resolve_batch(*batch)

        done, lost = isolate(resolve, range(len(payloads)))
        results: list = [None] * len(payloads)
        for indices, resolutions in done:
            for index, resolution in zip(indices, resolutions, strict=True):
                results[index] = resolution
        for index, error in lost:
            results[index] = error
        if lost:
            logger.error("product resolution lost %d of a batch of %d items: %s", len(lost),
                         len(payloads), describe(lost[0][1], self.engine))
        else:
            logger.debug("resolved a batch of %d items", len(payloads))
        return results

    def _count_batch(self, results) -> None:
        """On the loop, once per batch."""
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            # Any lost item forbids reconciliation (delisting): the store did not get its price.
            self._inc(keys.DB_ERRORS)
            self._inc("grocer/db_error_items", len(errors))
            if any(is_unavailable(error) for error in errors):
                self.database_down(next(e for e in errors if is_unavailable(e)))
        conflicts = self.resolver.barcode_conflicts
        self._inc("grocer/barcode_conflicts", conflicts - self.conflicts_counted)
        self.conflicts_counted = conflicts

    async def close_spider(self):
        await self.batcher.close()
