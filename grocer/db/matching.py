"""The one query of cross-chain matching (``scrapy match``): the products the matcher compares.

The matcher is :mod:`grocer.matching`; the report, the rejections and applying pairs to the
product translation table are :mod:`grocer.matching.review` (no SQL: the next reconciliation
merges the products).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from grocer.db.models import Brand, Company, Price, Product, Sku, Store
from grocer.matching import MatchProduct

__all__ = ["load_match_products"]


def load_match_products(engine: Engine, companies: Sequence[str] | None = None,
                        ) -> list[MatchProduct]:
    """One :class:`MatchProduct` per (product, company that sells it under a SKU).

    ``companies``: company slugs (or names, any case) to read; None = all. ``weight`` is the
    product's number of current prices (one per store). A product already sold by two chains
    (merged by barcode) appears once per chain under the same key; the matcher never pairs a
    key with itself. ``price`` and ``unit_price``/``unit_measure`` are the averages over the
    stores of that company (evidence: the same article costs about the same per kilogram at
    two chains).
    """
    wanted = {c.strip().lower() for c in companies or () if c and c.strip()}
    price_counts = (
        select(Price.product_id, func.count().label("n"))
        .group_by(Price.product_id)
        .subquery()
    )
    by_company = (
        select(Price.product_id, Store.company_id, func.avg(Price.price).label("price"),
               func.avg(Price.unit_price).label("unit_price"),
               func.min(Price.unit_of_measure).label("unit_measure"))
        .join(Store, Store.id == Price.store_id)
        .group_by(Price.product_id, Store.company_id)
        .subquery()
    )
    query = (
        select(
            Product.id, Product.name, Product.size, Product.sizes,
            Product.normalized_name_brand_size, Product.barcode,
            Brand.name, Brand.normalized_name,
            Company.slug, Company.name,
            func.coalesce(price_counts.c.n, 0),
            by_company.c.price, by_company.c.unit_price, by_company.c.unit_measure,
        )
        .join(Sku, Sku.product_id == Product.id)
        .join(Company, Company.id == Sku.company_id)
        .outerjoin(Brand, Brand.id == Product.brand_id)
        .outerjoin(price_counts, price_counts.c.product_id == Product.id)
        .outerjoin(by_company, (by_company.c.product_id == Product.id)
                   & (by_company.c.company_id == Company.id))
        .distinct()
        .order_by(Company.slug, Product.normalized_name_brand_size)
    )
    products: dict[tuple[str, int], MatchProduct] = {}
    with engine.connect() as connection:
        for (pid, name, size, sizes, key, barcode, brand, normalized_brand, slug, cname,
             n_prices, price, unit_price, unit_measure) in connection.execute(query):
            company = (slug or cname or "").lower()
            if wanted and company not in wanted and (cname or "").lower() not in wanted:
                continue
            if (company, pid) in products:
                continue
            products[(company, pid)] = MatchProduct(
                key=key, name=name or "", company=company, brand=brand or "",
                size=size or "", sizes=tuple(s for s in sizes or () if isinstance(s, str)),
                normalized_brand=normalized_brand or "", barcode=barcode,
                weight=int(n_prices or 0), id=pid,
                price=float(price) if price is not None else None,
                unit_price=float(unit_price) if unit_price is not None else None,
                unit_measure=unit_measure,
            )
    return list(products.values())
