"""The filters of every reader of price rows (`scrapy export prices|history`, zone members'
inferred prices): one meaning of --company, --store, --product-key and --since."""

from __future__ import annotations

import datetime as dt

from grocer.db.models import Company, Product


def filter_prices(query, price, store_table, *, company: str | None = None,
                  store: str | None = None, product_key: str | None = None,
                  since: dt.date | None = None):
    """`query` (joined to Company, Product and `store_table`) narrowed to the filters given;
    `price` is the price or history table whose scraped_date `since` applies to."""
    if company:
        query = query.where(Company.slug == company.lower())
    if store:
        query = query.where(store_table.store_code == store)
    if product_key:
        query = query.where(Product.normalized_name_brand_size == product_key)
    if since:
        query = query.where(price.scraped_date >= since)
    return query
