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
        try:
            raw = adapter.get("raw")
            if raw is None:  # a SplitCart archive line: cleaned already, still validated
                product = validate_cleaned(adapter.get("product") or {})
            else:
                product = get_cleaner(adapter.get("company") or "").clean(raw)
        except ProductRejected as rejection:
            self._count_drop(rejection.reason)
            raise DropItem(f"{rejection.reason}: {rejection}", log_level="DEBUG") from None
        except KeyError as error:  # no cleaner for this company
            self._count_drop("unknown_company")
            raise DropItem(f"unknown_company: {error}", log_level="WARNING") from None
        if product.pop("invalid_barcode", None) is not None:
            self.stats.inc_value(keys.INVALID_BARCODES)
        adapter["product"] = product
        return item

    def _count_drop(self, reason):
        self.stats.inc_value(f"{keys.DROPPED}/{reason}")
        self.stats.inc_value(keys.DROPPED_TOTAL)
