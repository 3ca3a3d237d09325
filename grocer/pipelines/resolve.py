"""ResolvePipeline (300): which product is this? barcode → SKU → key → key variations.

Items the lookup caches fully explain, with nothing to write, resolve at once (the steady state
of a re-crawl); the others wait in a batch (GROCER_BATCH_SIZE, 0.2 s, or a 0.05 s pause of the
input) resolved in a worker thread, off the event loop, together with a few IN queries and one
transaction (grocer.db.resolution). Batches run one after another; the loop only reads the
resolver's caches, the batch thread alone writes them. A batch the database refuses is split
until only the items it refuses are lost (each counted lost: `db_error`). Each item then carries
the canonical product's id, and its key is rewritten to the canonical product's key, so nothing
downstream ever looks a product up by the incoming key again (spec §6.1.2).
"""

from __future__ import annotations

import logging

from grocer import stats as keys
from grocer.db.errors import describe, is_missing_reference
from grocer.items import item_fields
from grocer.pipelines.batcher import Batcher, input_ended, isolate_each
from grocer.pipelines.database import DatabasePipeline

logger = logging.getLogger(__name__)


class ResolvePipeline(DatabasePipeline):
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None, **kwargs):
        super().__init__(database_url, batch_size, stats, **kwargs)
        self.batcher = Batcher(self._resolve_batch, batch_size, on_batch=self._count_batch,
                               stats=stats)
        self.conflicts_counted = 0

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = super().from_crawler(crawler)
        crawler.signals.connect(pipeline.batcher.input_ended, signal=input_ended)
        return pipeline

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
            raise self.lost_item(fields.get("store_code"), error) from None
        return self._resolved(item, fields, resolution)

    def _resolved(self, item, fields, resolution):
        fields["product"]["normalized_name_brand_size"] = resolution.key
        fields["product_id"] = resolution.product_id
        if resolution.created:
            self._inc(keys.PRODUCTS_CREATED)
        return item

    def _resolve_batch(self, payloads) -> list:
        """In the worker thread: each payload's Resolution, or the error that lost it."""
        self.check_available()
        products = [product for product, _ in payloads]
        slugs = [slug for _, slug in payloads]

        def resolve(indices: list[int]):
            # The companies too are found (or created) inside the isolation.
            batch = ([products[i] for i in indices],
                     [self.directory.company_id(slugs[i]) for i in indices],
                     [slugs[i] for i in indices])
            try:
                return self.resolver.resolve_batch(*batch)
            except Exception as error:
                if not is_missing_reference(error):
                    raise
            # A cached product was merged away by another crawl: look everything up again.
            self.resolver.reverify()
            return self.resolver.resolve_batch(*batch)

        return isolate_each(resolve, len(payloads))

    def _count_batch(self, results) -> None:
        """On the loop, once per batch: also for a batch lost before it could be split (its
        company could not be looked up, the database was down)."""
        errors = [result for result in results if isinstance(result, BaseException)]
        if errors:
            logger.error("product resolution lost %d of a batch of %d items: %s", len(errors),
                         len(results), describe(errors[0], self.engine))
            self.batch_failed(errors, "grocer/db_error_items")
        conflicts = self.resolver.barcode_conflicts
        self._inc("grocer/barcode_conflicts", conflicts - self.conflicts_counted)
        self.conflicts_counted = conflicts

    async def close_spider(self):
        await self.batcher.close()
