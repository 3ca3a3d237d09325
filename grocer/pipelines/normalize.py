"""NormalizePipeline (200): sizes, brand, the canonical key, unit price and price hash.

The one holder of the translation tables: it loads them from TRANSLATION_TABLES_DIR and injects
them into one ProductNormalizer. When a spider signals `tables_refreshed`, it reloads and the
new tables apply from the next item on. A table that fails to load keeps the previous one.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

from grocer import stats as keys

from grocer.items import item_fields
from grocer.normalization import ProductNormalizer, derive
from grocer.normalization.cleaners.validation import NULLED_FIELDS
from grocer.normalization.limits import KEY_LENGTH
from grocer.tables.files import TranslationTableError, load_translation_tables
from grocer.tables.refresh import tables_refreshed

logger = logging.getLogger(__name__)

class NormalizePipeline:
    def __init__(self, tables_dir: str, stats=None):
        self.tables_dir = tables_dir
        self.stats = stats
        self.normalizer = ProductNormalizer({}, {})
        self.reload_tables()

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler.settings.get("TRANSLATION_TABLES_DIR"), crawler.stats)
        crawler.signals.connect(pipeline.reload_tables, signal=tables_refreshed)
        return pipeline

    def reload_tables(self) -> None:
        try:
            brand_table, product_table = load_translation_tables(self.tables_dir)
        except TranslationTableError as error:
            logger.error("translation tables not reloaded, keeping the previous ones: %s", error)
            return
        self.normalizer = ProductNormalizer(brand_table, product_table)
        if self.stats is not None:
            self.stats.inc_value("grocer/tables_loaded")
        logger.info("translation tables loaded from %s: %d brands, %d products",
                    self.tables_dir, len(brand_table), len(product_table))

    def process_item(self, item):
        fields = item_fields(item)
        product = derive(fields["product"], self.normalizer)
        keys.count_nulled(self.stats, product, NULLED_FIELDS)
        if len(product["normalized_name_brand_size"]) > KEY_LENGTH:
            # The key column holds 255 characters; a longer key would be cut and never match.
            if self.stats is not None:
                self.stats.inc_value(f"{keys.DROPPED}/key_too_long")
                self.stats.inc_value(keys.DROPPED_TOTAL)
            raise DropItem("key_too_long", log_level="DEBUG")
        if self.stats is not None:
            self.stats.inc_value(keys.VALIDATED)
        fields["product"] = product
        fields["incoming_key"] = product["normalized_name_brand_size"]
        return item
