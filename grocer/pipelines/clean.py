"""CleanPipeline (100): the chain's field map; unusable items are dropped with a reason.

Besides the product's own rules: a store code longer than its column (`bad_store_code`) and
an observation dated beyond now + GROCER_MAX_FUTURE_SKEW_SECONDS (`future_date`) are dropped;
values the database cannot hold are set to None and counted in grocer/nulled/<field>."""

from __future__ import annotations

import datetime as dt

from scrapy.exceptions import DropItem

from grocer import stats as keys
from grocer.items import item_fields
from grocer.normalization import ProductRejected, get_cleaner, validate_cleaned
from grocer.normalization.cleaners.validation import (
    DEFAULT_MAX_FUTURE_SKEW,
    NULLED_FIELDS,
    validate_observed_at,
    validate_store_code,
)
from grocer.normalization.dates import as_utc, utcnow


class CleanPipeline:
    def __init__(self, stats, max_future_skew: dt.timedelta = DEFAULT_MAX_FUTURE_SKEW):
        self.stats = stats
        self.max_future_skew = max_future_skew

    @classmethod
    def from_crawler(cls, crawler):
        skew = crawler.settings.getfloat("GROCER_MAX_FUTURE_SKEW_SECONDS")
        return cls(crawler.stats, dt.timedelta(seconds=skew))

    def process_item(self, item):
        fields = item_fields(item)
        try:
            validate_store_code(fields.get("store_code"))
            scraped_at = fields.get("scraped_at")
            if scraped_at is not None:
                validate_observed_at(as_utc(scraped_at), utcnow(), self.max_future_skew)
            raw = fields.get("raw")
            if raw is None:  # a SplitCart archive line: cleaned already, still validated
                product = validate_cleaned(fields.get("product") or {})
            else:
                product = get_cleaner(fields.get("company") or "").clean(
                    raw, fields.get("category_path"))
        except ProductRejected as rejection:
            self._count_drop(rejection.reason)
            raise DropItem(f"{rejection.reason}: {rejection}", log_level="DEBUG") from None
        except KeyError as error:  # no cleaner for this company
            self._count_drop("unknown_company")
            raise DropItem(f"unknown_company: {error}", log_level="WARNING") from None
        keys.count_nulled(self.stats, product, NULLED_FIELDS)
        if product.pop("invalid_barcode", None) is not None:
            self.stats.inc_value(keys.INVALID_BARCODES)
        problem = product.pop("barcode_problem", None)
        if problem:
            self.stats.inc_value(f"{keys.BARCODE_INVALID}/{problem}")
        if product.pop("unit_price_recomputed", False):
            self.stats.inc_value(keys.UNIT_PRICE_RECOMPUTED)
        fields["product"] = product
        return item

    def _count_drop(self, reason):
        self.stats.inc_value(f"{keys.DROPPED}/{reason}")
        self.stats.inc_value(keys.DROPPED_TOTAL)
