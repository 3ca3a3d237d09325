"""Small row factories and snapshots for the reconciliation tests (Core inserts, no ORM)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select

from grocer.db.models import (
    Base,
    Brand,
    Company,
    Price,
    PriceHistory,
    Product,
    ProductKeyVariation,
    Sku,
    Store,
)
from grocer.db.search_index import insert_products

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def at(days: float = 0, hours: float = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours)


class Rows:
    """Create rows with defaults: `rows.product("milk 2l")` → id."""

    def __init__(self, engine):
        self.engine = engine

    def _insert(self, model, **values) -> int:
        with self.engine.begin() as connection:
            return connection.execute(insert(model).values(**values)).inserted_primary_key[0]

    def company(self, slug: str = "aldi") -> int:
        return self._insert(Company, name=slug.title(), slug=slug)

    def store(self, company_id: int, code: str) -> int:
        return self._insert(Store, company_id=company_id, store_code=code, name=f"Store {code}")

    def brand(self, normalized_name: str, *, name: str | None = None, variations=(),
              name_variations=()) -> int:
        return self._insert(Brand, name=name or normalized_name, normalized_name=normalized_name,
                            name_variations=list(name_variations),
                            normalized_name_variations=list(variations))

    def product(self, key: str, **fields) -> int:
        values = dict(name=fields.pop("name", key), normalized_name_brand_size=key, sizes=[],
                      brand_name_company_pairs=[], category_paths=[], has_no_coles_barcode=False,
                      key_version=1, created_at=at(-30))
        values.update(fields)
        with self.engine.begin() as connection:  # as grocer inserts products: searchable
            insert_products(connection, insert(Product), [values])
            return connection.scalar(select(Product.id).where(
                Product.normalized_name_brand_size == key))

    def _price_values(self, product_id, store_id, scraped_at, price, **fields):
        values = dict(product_id=product_id, store_id=store_id, price=Decimal(str(price)),
                      price_hash=f"h{product_id}-{store_id}-{price}", scraped_at=scraped_at,
                      scraped_date=scraped_at.date(), is_on_special=False, is_available=True)
        values.update(fields)
        return values

    def price(self, product_id: int, store_id: int, *, scraped_at=None, last_seen=None,
              price="1.00", **fields) -> int:
        scraped_at = scraped_at or at()
        return self._insert(Price, last_seen=last_seen or scraped_at,
                            **self._price_values(product_id, store_id, scraped_at, price,
                                                 **fields))

    def history(self, product_id: int, store_id: int, *, scraped_at=None, price="1.00") -> int:
        return self._insert(PriceHistory,
                            **self._price_values(product_id, store_id, scraped_at or at(), price))

    def sku(self, company_id: int, sku: str, product_id: int) -> int:
        return self._insert(Sku, company_id=company_id, sku=sku, product_id=product_id)

    def variation(self, key: str, product_id: int) -> int:
        return self._insert(ProductKeyVariation, key=key, product_id=product_id)

    # --- reading back ---

    def all(self, model, *columns):
        with self.engine.connect() as connection:
            table = model.__table__
            cols = [table.c[c] for c in columns] if columns else [table]
            return [tuple(row) for row in connection.execute(select(*cols).order_by(table.c.id))]

    def one(self, model, id_):
        with self.engine.connect() as connection:
            return connection.execute(select(model.__table__).where(
                model.__table__.c.id == id_)).mappings().one_or_none()


def snapshot(engine) -> dict:
    """Every row of every table (ordered by primary key): equal snapshots = nothing changed."""
    out = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows]
    return out


def write_tables(directory: Path, brand: dict | None = None, product: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "brand_translation_table.json").write_text(json.dumps(brand or {}))
    (directory / "product_translation_table.json").write_text(json.dumps(product or {}))
    return directory
