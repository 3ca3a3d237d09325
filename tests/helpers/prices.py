"""Price rows written the way a crawl writes them (PriceWriter: its rows, its store_crawl
frames), for the tests of what the price tables and their readers hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from grocer.db.prices import PriceWriter

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)


def row(product_id, store_id, price, *, sku=None, at=T0, available=True):
    """One price row of a batch, as the price pipeline hands it to PriceWriter."""
    price = Decimal(price)
    return {"product_id": product_id, "store_id": store_id, "price": price, "was_price": None,
            "unit_price": None, "unit_of_measure": None, "per_unit_price_string": None,
            "is_on_special": False, "is_available": available,
            "price_hash": f"{price}-{available}", "sku": sku, "scraped_at": at,
            "scraped_date": at.date()}


def crawl(engine, batches, finish=True):
    """One crawl's PriceWriter over `batches` (lists of rows)."""
    writer = PriceWriter(engine)
    for batch in batches:
        writer.write(batch)
    if finish:
        writer.finish()
    return writer
