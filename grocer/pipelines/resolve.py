"""ResolvePipeline (300): which product is this? barcode → SKU → key → key variations.

Items the lookup caches fully explain, with nothing to write, resolve at once (the steady state
of a re-crawl); the others wait in a batch (GROCER_BATCH_SIZE, or 0.2 s) and are resolved
together with a few IN queries and one transaction (grocer.db.resolution). Each item then
carries the canonical product's id, and its key is rewritten to the canonical product's key, so
nothing downstream ever looks a product up by the incoming key again (spec §6.1.2).
"""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from grocer import stats as keys
from grocer.pipelines.batcher import Batcher
from grocer.db.resolution import ProductResolver
from grocer.pipelines.database import DatabasePipeline

logger = logging.getLogger(__name__)


class ResolvePipeline(DatabasePipeline):
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None):
        super().__init__(database_url, batch_size, stats)
        self.resolver = ProductResolver(self.engine)
        self.batcher = Batcher(self._resolve_batch, batch_size)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        company = adapter["company"]
        product = adapter["product"]
        company_id = self.directory.company_id(company)
        resolution = self.resolver.resolve_cached(product, company_id)
        if resolution is not None:  # nothing to look up or write: no need to wait for a batch
            return self._resolved(item, adapter, resolution)
        return self._resolve_in_batch(item, adapter, (product, company_id, company))

    async def _resolve_in_batch(self, item, adapter, payload):
        try:
            resolution = await self.batcher.submit(payload)
        except Exception as error:  # counted once per batch in _resolve_batch
            keys.item_lost(self.stats, adapter.get("store_code"), "db_error")
            raise DropItem(f"db_error: {error.__class__.__name__}", log_level="DEBUG") from None
        return self._resolved(item, adapter, resolution)

    def _resolved(self, item, adapter, resolution):
        adapter["product"]["normalized_name_brand_size"] = resolution.key
        adapter["product_id"] = resolution.product_id
        if resolution.created:
            self._inc("grocer/products/created")
        return item

    def _resolve_batch(self, payloads):
        products, company_ids, slugs = zip(*payloads, strict=False)
        conflicts = self.resolver.barcode_conflicts
        try:
            resolutions = self.resolver.resolve_batch(
                list(products), list(company_ids), list(slugs))
        except Exception:
            # Any failure loses the batch's items: the crawl must not reconcile (delist) then.
            logger.exception("product resolution failed for a batch of %d items", len(payloads))
            self._inc(keys.DB_ERRORS)
            self._inc("grocer/db_error_items", len(payloads))
            raise
        self._inc("grocer/barcode_conflicts", self.resolver.barcode_conflicts - conflicts)
        logger.debug("resolved a batch of %d items", len(payloads))
        return resolutions
