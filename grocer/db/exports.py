"""Streaming exports (`scrapy export …`): barcodes by SKU, current prices, price history.

Every export is a generator over a streamed query, so memory stays constant whatever the
table size: prices and history use ``yield_per`` (server-side cursors on MySQL/MariaDB); the
barcode export (DESIGN §7 item 6) walks products in keyset pages of ``chunk_size`` with their
SKUs of the company loaded eagerly (``selectinload``: one extra query per page, never one per
product).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, load_only, selectinload

from grocer.db.models import Company, PriceHistory, Product, Sku, Store
from grocer.db.price_filters import filter_prices
from grocer.db.storecrawls import SightingCache, last_seen
from grocer.db.zones import current_prices_query

CHUNK_SIZE = 1000

BARCODE_FIELDS = ("sku", "barcode", "has_no_coles_barcode", "product_id", "product_key")
PRICE_FIELDS = ("company", "store_code", "product_id", "product_key", "product_name", "price",
                "was_price", "unit_price", "unit_of_measure", "per_unit_price_string",
                "is_on_special", "is_available", "scraped_at", "scraped_date", "last_seen",
                "delisted_at", "inferred_from", "zone_verified_at")
HISTORY_FIELDS = ("company", "store_code", "product_id", "product_key", "product_name", "price",
                  "was_price", "unit_price", "unit_of_measure", "per_unit_price_string",
                  "is_on_special", "is_available", "price_hash", "scraped_at", "scraped_date")


class UnknownCompany(LookupError):
    pass


def _company_id(session: Session, company: str) -> int:
    company_id = session.scalar(select(Company.id).where(Company.slug == company.lower()))
    if company_id is None:
        raise UnknownCompany(f"no company {company!r} in the database")
    return company_id


def company_exists(engine: Engine, company: str) -> bool:
    with Session(engine) as session:
        try:
            _company_id(session, company)
        except UnknownCompany:
            return False
        return True


def barcodes_page_query(company_id: int, after_id: int, chunk_size: int = CHUNK_SIZE):
    """The next `chunk_size` products (by id, after `after_id`) having a SKU of the company,
    with their SKUs of that company loaded eagerly (one selectin query for the whole page)."""
    company_skus = Product.skus.and_(Sku.company_id == company_id)
    return (
        select(Product)
        .where(Product.id > after_id,
               Product.id.in_(select(Sku.product_id).where(Sku.company_id == company_id)))
        .options(load_only(Product.id, Product.normalized_name_brand_size, Product.barcode,
                           Product.has_no_coles_barcode),
                 selectinload(company_skus).load_only(Sku.sku, Sku.product_id))
        .order_by(Product.id)
        .limit(chunk_size)
    )


def iter_barcodes(engine: Engine, company: str, chunk_size: int = CHUNK_SIZE) -> Iterator[dict]:
    """One dict per SKU of `company`: sku, its product's barcode and has_no_coles_barcode.

    Pages of `chunk_size` products by primary key (keyset), each page's SKUs eagerly loaded,
    the session emptied between pages: 2 queries per page and constant memory. (Not ORM
    ``yield_per`` + selectinload: on MySQL/MariaDB the selectin query runs on the connection
    that streams the products through an unbuffered cursor and pymysql silently drops the rest
    of the stream — "Previous unbuffered result was left incomplete".)
    """
    with Session(engine) as session:
        company_id = _company_id(session, company)
        after = 0
        while True:
            products = session.scalars(barcodes_page_query(company_id, after, chunk_size)).all()
            if not products:
                return
            rows = [{"sku": sku.sku, "barcode": product.barcode,
                     "has_no_coles_barcode": bool(product.has_no_coles_barcode),
                     "product_id": product.id,
                     "product_key": product.normalized_name_brand_size}
                    for product in products
                    for sku in sorted(product.skus, key=lambda row: row.sku)]
            after = products[-1].id
            del products
            session.expunge_all()
            session.rollback()  # no snapshot held open between pages
            yield from rows


def _price_query(model, fields: Sequence[str], company: str | None, store: str | None,
                 product_key: str | None, since: dt.date | None):
    columns = {
        "company": Company.slug.label("company"),
        "store_code": Store.store_code.label("store_code"),
        "product_id": model.product_id.label("product_id"),
        "product_key": Product.normalized_name_brand_size.label("product_key"),
        "product_name": Product.name.label("product_name"),
    }
    selected = [columns[name] if name in columns else getattr(model, name).label(name)
                for name in fields]
    query = (select(*selected)
             .join(Product, Product.id == model.product_id)
             .join(Store, Store.id == model.store_id)
             .join(Company, Company.id == Store.company_id))
    query = filter_prices(query, model, Store, company=company, store=store,
                          product_key=product_key, since=since)
    return query.order_by(model.id)


def _stream(engine: Engine, query, chunk_size: int) -> Iterator[dict]:
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=chunk_size).execute(query)
        for row in result.mappings():
            yield dict(row)


def iter_prices(engine: Engine, *, company: str | None = None, store: str | None = None,
                product_key: str | None = None, since: dt.date | None = None,
                chunk_size: int = CHUNK_SIZE) -> Iterator[dict]:
    """Current prices (one per product and store), filtered; `since` = scraped_date ≥ DATE.
    `last_seen` is the price's freshness: its row's or a later sighting by a store crawl (of the
    representative, for a zone member's prices, which are its zone's, marked `inferred_from`)."""
    query = current_prices_query((*PRICE_FIELDS, "store_id"), company=company, store=store,
                                 product_key=product_key, since=since)
    seen = SightingCache(engine)
    for row in _stream(engine, query, chunk_size):
        price_store_id = row.pop("store_id")  # the representative's, for an inferred price
        row["last_seen"] = last_seen(row["last_seen"], row["delisted_at"],
                                     seen.get(price_store_id, row["product_id"]))
        yield row


def iter_history(engine: Engine, *, company: str | None = None, store: str | None = None,
                 product_key: str | None = None, since: dt.date | None = None,
                 chunk_size: int = CHUNK_SIZE) -> Iterator[dict]:
    """Price history rows (every observed change), filtered; oldest first."""
    yield from _stream(engine, _price_query(PriceHistory, HISTORY_FIELDS, company, store,
                                            product_key, since), chunk_size)


# --- writing --------------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)  # money stays exact: "3.50", never 3.5000000001
    return value


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps({key: _plain(value) for key, value in row.items()},
                             ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict], out: IO[str], fields: Sequence[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: "" if value is None else _plain(value)
                         for key, value in row.items()})
        count += 1
    return count


def write_rows(rows: Iterable[dict], out: IO[str], fmt: str, fields: Sequence[str]) -> int:
    if fmt == "csv":
        return write_csv(rows, out, fields)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    raise ValueError(f"unknown format {fmt!r} (csv or jsonl)")
