"""The read-only queries behind `grocer web`: search, a product's prices and history, price
changes and crawl health. Everything returns plain dicts/lists (JSON-ready apart from
Decimal and datetime), so pages and the JSON API show the same data.

Search uses Product.search_text (`search_words(name, brand)`): every query word must start a
word of it. MariaDB/MySQL answer through the column's FULLTEXT index (``MATCH … AGAINST`` in
boolean mode, a prefix term per word; a word the index cannot answer — shorter than InnoDB's
minimum token size, or the start of a stopword it leaves out — is checked as a word start with
LIKE on the matched rows); SQLite through the FTS5 table of migration 0004. A query of digits
also finds the product with that barcode or chain SKU.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import (Integer, and_, bindparam, case, cast, func, literal_column, or_, select,
                        text)
from sqlalchemy.engine import Engine

from grocer.db.engine import is_mysql
from grocer.db.models import (
    SQLITE_SEARCH_TABLE,
    Brand,
    Company,
    Price,
    PriceHistory,
    Product,
    Sku,
    Store,
)
from grocer.db.report import crawl_report
from grocer.db.storecrawls import prices_last_seen
from grocer.db.zones import current_prices_query
from grocer.normalization.text import search_words

MAX_PAGE_SIZE = 200
# InnoDB's full-text index leaves out words shorter than innodb_ft_min_token_size (3) and its
# default stopwords; query words it cannot answer are matched with LIKE instead.
MYSQL_MIN_TOKEN = 3
MYSQL_STOPWORDS = frozenset(
    "a about an are as at be by com de en for from how i in is it la of on or that the this to "
    "was what when where who will with und www".split())
STORE_SORTS = {"price", "chain", "store", "state", "seen"}
STORE_PRICE_FIELDS = ("company", "store_code", "inferred_from", "zone_verified_at", "price",
                      "was_price", "unit_price", "unit_of_measure", "is_on_special",
                      "is_available", "scraped_at", "last_seen", "delisted_at")


def page_bounds(page: int, per_page: int) -> tuple[int, int]:
    """(limit, offset) of a 1-based page, the size capped at MAX_PAGE_SIZE."""
    per_page = min(max(per_page, 1), MAX_PAGE_SIZE)
    return per_page, (max(page, 1) - 1) * per_page


# -- search ----------------------------------------------------------------------------------

def _fulltext_finds(word: str) -> bool:
    """Whether InnoDB's index finds every word starting with `word`: not when `word` is shorter
    than its tokens, nor when it starts a stopword (``wit``: "with" is not in the index)."""
    return len(word) >= MYSQL_MIN_TOKEN and not any(
        stopword.startswith(word) for stopword in MYSQL_STOPWORDS)


def _starts_a_word(word: str):
    # search_text is words joined by single spaces, and words are [a-z0-9]: no LIKE escapes.
    return or_(Product.search_text.like(f"{word}%"), Product.search_text.like(f"% {word}%"))


def _text_condition(engine: Engine, words: list[str]):
    if is_mysql(engine):
        indexed = [w for w in words if _fulltext_finds(w)]
        conditions = [_starts_a_word(w) for w in words if w not in indexed]
        if indexed:
            conditions.insert(0, text(
                "MATCH (product.search_text) AGAINST (:match IN BOOLEAN MODE)").bindparams(
                match=" ".join(f"+{w}*" for w in indexed)))
        return and_(*conditions)
    # FTS5: each word a quoted prefix query; words are [a-z0-9] only, so quoting is safe.
    match = " ".join(f'"{w}"*' for w in words)
    return Product.id.in_(
        select(literal_column("rowid")).select_from(text(SQLITE_SEARCH_TABLE))
        .where(text(f"{SQLITE_SEARCH_TABLE} MATCH :match").bindparams(match=match)))


def search_products(engine: Engine, query: str, chain: str | None = None, page: int = 1,
                    per_page: int = 20) -> dict:
    """Products whose name or brand words start with every word of `query` (or whose barcode
    or SKU is `query`), sold by `chain` if given; each with its cheapest current price per
    chain. ``{"total", "page", "per_page", "items"}``."""
    limit, offset = page_bounds(page, per_page)
    words = search_words(query).split()
    result = {"query": query, "chain": chain, "total": 0, "page": max(page, 1),
              "per_page": limit, "items": []}
    if not words:
        return result
    condition = _text_condition(engine, words)
    code = query.strip()
    if code.isdigit():
        condition = or_(condition, Product.barcode == code,
                        Product.id.in_(select(Sku.product_id).where(Sku.sku == code)))
    if chain:
        condition = and_(condition, Product.id.in_(
            select(Sku.product_id).join(Company, Company.id == Sku.company_id)
            .where(Company.slug == chain)))
    with engine.connect() as connection:
        # The total comes with the page (a window count): the full-text match runs once, not
        # once to count and once more to order (on a cold InnoDB buffer pool, reading the
        # matched rows twice was most of a one-word search).
        rows = connection.execute(
            select(Product.id, Product.name, Product.size, Product.barcode, Brand.name,
                   func.count().over())
            .outerjoin(Brand, Brand.id == Product.brand_id).where(condition)
            .order_by(Product.name, Product.id).limit(limit).offset(offset)).all()
        if rows:
            result["total"] = rows[0][-1]
        elif offset:  # a page past the end: count apart
            result["total"] = connection.scalar(select(func.count()).select_from(Product)
                                                .where(condition))
        prices = _cheapest_by_chain(connection, [row[0] for row in rows])
    result["items"] = [
        {"id": pid, "name": name, "brand": brand, "size": size, "barcode": barcode,
         "prices": prices.get(pid, [])}
        for pid, name, size, barcode, brand, _ in rows]
    return result


def _cheapest_by_chain(connection, product_ids: list[int]) -> dict[int, list[dict]]:
    """Per product, per chain: the lowest current (listed) price, the lowest unit price, whether
    any store has it on special, and at how many stores it is listed."""
    if not product_ids:
        return {}
    rows = connection.execute(
        select(Price.product_id, Company.slug, Company.name, func.min(Price.price),
               func.min(Price.unit_price), func.min(Price.unit_of_measure),
               func.max(cast(Price.is_on_special, Integer)), func.count())
        .join(Store, Store.id == Price.store_id).join(Company, Company.id == Store.company_id)
        .where(Price.product_id.in_(product_ids), Price.delisted_at.is_(None))
        .group_by(Price.product_id, Company.slug, Company.name)
        .order_by(Price.product_id, func.min(Price.price), Company.slug)).all()
    found: dict[int, list[dict]] = defaultdict(list)
    for pid, slug, name, price, unit_price, unit, special, stores in rows:
        found[pid].append({"chain": slug, "chain_name": name, "price": price,
                           "unit_price": unit_price, "unit_of_measure": unit,
                           "on_special": bool(special), "stores": stores})
    return found


# -- one product -----------------------------------------------------------------------------

@functools.cache
def _store_prices():
    """A product's price at every store as exports read them (a zone member's are its
    representative's), with each store's id, name and state. Built once: building the zone
    query costs more than running it; both engines push the product filter into its parts."""
    prices = current_prices_query((*STORE_PRICE_FIELDS, "product_id", "store_id")).subquery()
    # prices.c.store_id is the price row's store (the representative's, for an inferred price):
    # its frames hold the price's sightings.
    return (select(*(prices.c[name] for name in (*STORE_PRICE_FIELDS, "product_id", "store_id")),
                   Store.id, Store.name, Store.state)
            .join(Company, Company.slug == prices.c.company)
            .join(Store, and_(Store.company_id == Company.id,
                              Store.store_code == prices.c.store_code))
            .where(prices.c.product_id == bindparam("product_id")))


def get_product(engine: Engine, product_id: int, sort: str = "price",
                descending: bool = False) -> dict | None:
    """A product's facts, SKUs per chain, current price per chain (as in search) and per store
    (sorted by `sort`: price, chain, store, state or seen; a zone member's price inferred from
    its zone's representative names it, `inferred_from`, with `zone_verified_at`, the member's
    last basket check). None: no such product."""
    with engine.connect() as connection:
        product = connection.execute(
            select(Product.id, Product.name, Product.size, Product.barcode, Product.url,
                   Product.image_url, Product.created_at, Product.category_paths,
                   Product.normalized_name_brand_size.label("product_key"),
                   Brand.name.label("brand"))
            .outerjoin(Brand, Brand.id == Product.brand_id)
            .where(Product.id == product_id)).mappings().first()
        if product is None:
            return None
        skus = connection.execute(
            select(Company.slug, Company.name, Sku.sku).join(Company, Company.id == Sku.company_id)
            .where(Sku.product_id == product_id).order_by(Company.slug, Sku.sku)).all()
        stores = connection.execute(_store_prices(), {"product_id": product_id}).all()
        seen = prices_last_seen(connection, stores)  # one read of the frames of all the stores
        by_chain = _cheapest_by_chain(connection, [product_id]).get(product_id, [])
    store_prices = [
        {"chain": slug, "store_id": store_id, "store_code": code, "store_name": name,
         "state": state, "price": price, "was_price": was, "unit_price": unit_price,
         "unit_of_measure": unit, "on_special": bool(special), "available": available,
         "changed_at": scraped_at, "seen_at": seen[(price_store_id, product_id)],
         "delisted_at": delisted_at, "inferred_from": inferred_from,
         "zone_verified_at": verified_at}
        for (slug, code, inferred_from, verified_at, price, was, unit_price, unit, special,
             available, scraped_at, _, delisted_at, _, price_store_id, store_id, name,
             state) in stores]
    sort = sort if sort in STORE_SORTS else "price"
    keys = {"price": lambda p: (p["price"], p["chain"], p["store_code"]),
            "chain": lambda p: (p["chain"], p["price"], p["store_code"]),
            "store": lambda p: (p["store_name"] or p["store_code"], p["chain"]),
            "state": lambda p: (p["state"] or "", p["chain"], p["store_code"]),
            "seen": lambda p: (p["seen_at"], p["chain"], p["store_code"])}
    store_prices.sort(key=keys[sort], reverse=descending)
    return {
        **product, "category_paths": product["category_paths"] or [],
        "skus": [{"chain": slug, "chain_name": name, "sku": sku} for slug, name, sku in skus],
        "prices_by_chain": by_chain,
        "prices_by_store": store_prices,
        "sort": sort, "descending": descending,
    }


def product_history(engine: Engine, product_id: int) -> dict | None:
    """A product's price history as step series: per chain (its lowest price over its stores
    at each moment) and per store. Each point: ``{"at", "price", "was_price", "on_special"}``
    from that moment on; a chain point is written only when the chain's lowest price (or its
    special/was mark) changes. None: no such product."""
    with engine.connect() as connection:
        if connection.scalar(select(Product.id).where(Product.id == product_id)) is None:
            return None
        rows = connection.execute(
            select(PriceHistory.scraped_at, PriceHistory.store_id, Company.slug,
                   Store.store_code, Store.name, PriceHistory.price, PriceHistory.was_price,
                   PriceHistory.is_on_special, PriceHistory.unit_price,
                   PriceHistory.unit_of_measure)
            .join(Store, Store.id == PriceHistory.store_id)
            .join(Company, Company.id == Store.company_id)
            .where(PriceHistory.product_id == product_id)
            .order_by(PriceHistory.scraped_at, PriceHistory.id)).all()
    stores: dict[int, dict] = {}
    current: dict[str, dict[int, tuple]] = defaultdict(dict)  # chain → store → (price, was, sp)
    chains: dict[str, list[dict]] = {}
    for at, store_id, slug, code, name, price, was, special, unit_price, unit in rows:
        point = {"at": at, "price": price, "was_price": was, "on_special": bool(special),
                 "unit_price": unit_price, "unit_of_measure": unit}
        stores.setdefault(store_id, {"store_id": store_id, "chain": slug, "store_code": code,
                                     "store_name": name, "points": []})["points"].append(point)
        current[slug][store_id] = (price, was, bool(special))
        low = min(current[slug].values(), key=lambda value: value[0])
        series = chains.setdefault(slug, [])
        if series and series[-1]["at"] == at:
            series.pop()  # several stores at one moment: the moment's final low counts
        if not series or (series[-1]["price"], series[-1]["was_price"],
                          series[-1]["on_special"]) != low:
            series.append({"at": at, "price": low[0], "was_price": low[1],
                           "on_special": low[2]})
    return {"product_id": product_id,
            "chains": [{"chain": slug, "points": points} for slug, points in sorted(chains.items())],
            "stores": sorted(stores.values(), key=lambda s: (s["chain"], s["store_code"]))}


# -- changes ---------------------------------------------------------------------------------

def price_changes(engine: Engine, since: dt.datetime, chain: str | None = None, page: int = 1,
                  per_page: int = 50) -> dict:
    """History rows since `since` with the store's price before them (`previous_price`):
    ``changes`` — rises and drops, the biggest relative change first (to six decimals; ties
    oldest row first) — and ``first_seen`` — a product's first price at a store (newest first),
    counted and paged apart.

    The database counts, orders and pages over one range of ix_price_history_changes (each row
    carries its previous price, migration 0009: no look-up per row, no table row read); only
    the page's rows are read, and one more query names them."""
    limit, offset = page_bounds(page, per_page)
    history = PriceHistory
    first_seen = history.previous_price.is_(None)
    changed = and_(history.previous_price.is_not(None), history.previous_price != history.price)
    # * 1.0: SQLite keeps whole-dollar prices as integers and would divide them as integers.
    relative = case((history.previous_price == 0, 0), else_=func.round(func.abs(
        (history.price - history.previous_price) * 1.0 / history.previous_price), 6))

    def window(*columns):
        query = (select(*columns)
                 # scraped_date (indexed) is the Sydney date, never before the UTC date: a safe
                 # range to narrow the scan to before the exact time test.
                 .where(history.scraped_date >= since.astimezone(dt.timezone.utc).date(),
                        history.scraped_at >= since))
        if chain:
            query = query.join(Store, Store.id == history.store_id).join(
                Company, Company.id == Store.company_id).where(Company.slug == chain)
        return query

    def page_rows(condition, *order) -> list:
        # The page's ids from ix_price_history_changes alone, then those rows.
        ids = connection.scalars(window(history.id).where(condition).order_by(*order)
                                 .limit(limit).offset(offset)).all()
        if not ids:
            return []
        rows = {row[0]: row for row in connection.execute(select(
            history.id, history.scraped_at, history.product_id, history.store_id,
            history.previous_price, history.price, history.is_on_special)
            .where(history.id.in_(ids)))}
        return [rows[history_id] for history_id in ids]

    with engine.connect() as connection:
        total_changes, total_first = connection.execute(window(
            func.count(case((changed, 1))), func.count(case((first_seen, 1))))).one()
        page_changes = page_rows(changed, relative.desc(), history.id)
        page_first = page_rows(first_seen, history.scraped_at.desc(), history.id.desc())
        names = _row_names(connection, page_changes + page_first)
    return {"since": since, "chain": chain, "page": max(page, 1), "per_page": limit,
            "total_changes": total_changes or 0, "total_first_seen": total_first or 0,
            "changes": [_change(row, names) for row in page_changes],
            "first_seen": [_change(row, names) for row in page_first]}


def _row_names(connection, rows) -> dict:
    """Product names and store details of history rows: {("product", id): name,
    ("store", id): (chain, code, name)}."""
    names: dict = {}
    product_ids = sorted({row[2] for row in rows})
    store_ids = sorted({row[3] for row in rows})
    if product_ids:
        names.update({("product", pid): name for pid, name in connection.execute(
            select(Product.id, Product.name).where(Product.id.in_(product_ids)))})
    if store_ids:
        names.update({("store", sid): (slug, code, name) for sid, slug, code, name in
                      connection.execute(select(Store.id, Company.slug, Store.store_code,
                                                Store.name)
                                         .join(Company, Company.id == Store.company_id)
                                         .where(Store.id.in_(store_ids)))})
    return names


def _change(row, names: dict) -> dict:
    _, at, pid, store_id, old, new, special = row
    chain, code, store_name = names[("store", store_id)]
    percent = None if not old else float(((new - old) / old * 100).quantize(Decimal("0.1")))
    return {"at": at, "product_id": pid, "product_name": names.get(("product", pid)),
            "chain": chain, "store_id": store_id, "store_code": code, "store_name": store_name,
            "old_price": old, "new_price": new, "percent": percent, "on_special": bool(special),
            "direction": None if old is None else "rise" if new > old else "drop"}


# -- stores ----------------------------------------------------------------------------------

STORE_STATES = ("fresh", "stale", "failed", "never")


def store_health(engine: Engine, days: float = 7, now: dt.datetime | None = None) -> dict:
    """Per chain: its stores counted as fresh (a successful crawl in the last `days` days),
    stale (an older one), failed (the newest attempt after the last success did not complete
    the store) and never crawled; and per store its state and last outcome (from
    `scrapy report`'s queries)."""
    chains = []
    for report in crawl_report(engine, days=days, now=now):
        counts = dict.fromkeys(STORE_STATES, 0)
        stores = []
        for store in report.stores:
            failed = store.failed_since
            state = ("failed" if failed is not None else "fresh" if store.fresh else
                     "stale" if store.last_success is not None else "never")
            counts[state] += 1
            last = failed or store.last_attempt or store.last_success
            stores.append({
                "store_code": store.code, "store_name": store.name, "state": state,
                "supermarket": store.supermarket,
                "last_success_at": store.last_success.at if store.last_success else None,
                "last_attempt_at": last.at if last else None,
                "last_run_id": last.id if last else None,
                "outcome": (None if last is None else
                            f"not completed (run closed {failed.close_reason or 'unfinished'})"
                            if failed is not None else "completed"),
                "counts": store.counts,
            })
        chains.append({"chain": report.chain.slug, "chain_name": report.chain.name,
                       "counts": counts, "coverage": report.coverage, "stores": stores})
    return {"days": days, "chains": chains}
