"""CleanPipeline (100): the chain's field map; unusable items are dropped with a reason."""

from __future__ import annotations

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from grocer import stats as keys
from grocer.normalization import ProductRejected, get_cleaner, validate_cleaned


class CleanPipeline:
    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        store_code = adapter.get("store_code")
        keys.inc_store(self.stats, store_code, "scraped")
        try:
            raw = adapter.get("raw")
            if raw is None:  # a SplitCart archive line: cleaned already, still validated
                product = validate_cleaned(adapter.get("product") or {})
            else:
                product = get_cleaner(adapter.get("company") or "").clean(raw)
        except ProductRejected as rejection:
            self._count_drop(store_code, rejection.reason)
            raise DropItem(f"{rejection.reason}: {rejection}", log_level="DEBUG") from None
        except KeyError as error:  # no cleaner for this company
            self._count_drop(store_code, "unknown_company")
            raise DropItem(f"unknown_company: {error}", log_level="WARNING") from None
        if product.pop("invalid_barcode", None) is not None:
            self.stats.inc_value(keys.INVALID_BARCODES)
        problem = product.pop("barcode_problem", None)
        if problem:
            self.stats.inc_value(f"{keys.BARCODE_INVALID}/{problem}")
        if product.pop("unit_price_recomputed", False):
            self.stats.inc_value(keys.UNIT_PRICE_RECOMPUTED)
        adapter["product"] = product
        return item

    def _count_drop(self, store_code, reason):
        self.stats.inc_value(f"{keys.DROPPED}/{reason}")
        self.stats.inc_value(keys.DROPPED_TOTAL)
        keys.inc_store(self.stats, store_code, "dropped")
