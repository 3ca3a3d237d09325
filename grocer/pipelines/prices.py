"""PricePipeline (400): current price per (product, store) and change-only history.

Rows are buffered and written GROCER_BATCH_SIZE at a time by grocer.db.prices.PriceWriter (one
transaction per batch; the rest is flushed on close, also when the crawl failed). A database
error fails its batch loudly — logged and counted in `grocer/db_errors`, which stops the
spider-close reconciliation — and never half-writes it.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from itemadapter import ItemAdapter

from grocer import stats as keys
from grocer.db.prices import PriceWriter
from grocer.normalization.dates import as_utc, sydney_date, utcnow
from grocer.pipelines.database import DatabasePipeline

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")


def _decimal(value, exponent: Decimal) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)).quantize(exponent, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None


def price_row(product: dict, product_id: int, store_id: int, scraped_at: dt.datetime) -> dict:
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


class PricePipeline(DatabasePipeline):
    def __init__(self, database_url: str, batch_size: int = 1000, stats=None):
        super().__init__(database_url, batch_size, stats)
        self.writer = PriceWriter(self.engine)
        self.buffer: list[dict] = []
        self.store_codes: dict[int, str] = {}

    def process_item(self, item):
        adapter = ItemAdapter(item)
        store_code = adapter["store_code"]
        store_id = self.directory.store_id(adapter["company"], store_code)
        self.store_codes[store_id] = store_code
        self.buffer.append(price_row(adapter["product"], adapter["product_id"], store_id,
                                     as_utc(adapter.get("scraped_at") or utcnow())))
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        try:
            results = self.writer.write(batch)
        except Exception:  # a lost batch must stop reconciliation, whatever failed
            logger.exception("price batch of %d rows failed; nothing of it was written",
                             len(batch))
            self._inc(keys.DB_ERRORS)
            self._inc("grocer/db_error_rows", len(batch))
            for row in batch:  # stored no more: its store fails, the crawl closes db_errors
                keys.item_lost(self.stats, self.store_codes.get(row["store_id"]), "db_error")
            return
        self._count(results)

    def _count(self, results) -> None:
        for store_id, result in results.items():
            code = self.store_codes.get(store_id)
            for name in ("new", "changed", "unchanged", "older"):
                self._inc(f"grocer/prices/{name}", getattr(result, name))
            self._inc("grocer/history_rows", result.history)
            if self.stats is not None:
                keys.inc_store(self.stats, code, "written", result.new + result.changed)
                keys.inc_store(self.stats, code, "unchanged", result.unchanged)

    def close_spider(self):
        self.flush()
        try:  # listings that waited for a stored listing the crawl never saw
            self._count(self.writer.finish())
        except Exception:
            logger.exception("the crawl's waiting listings could not be written")
            self._inc(keys.DB_ERRORS)
