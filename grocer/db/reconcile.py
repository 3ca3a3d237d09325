"""Reconciliation (DESIGN §5, spec §2.8): brand and product merges, orphan clean-up, and the
whole sequence run after a crawl or by `scrapy reconcile`.

Order: delisting → brand reconciler → product reconciler → orphan clean-up → table generation,
all under the reconciliation lock. Every step is idempotent and works in chunks with bulk
statements (IN lists, CASE re-pointing); nothing is done one query per product.

Product merges fix SplitCart's bugs: prices of the canonical product and its duplicates at the
same store are resolved before anything is re-pointed (the most recent ``scraped_at`` survives;
tie → the canonical's own, then the lowest id; the others are deleted first, so the unique
(product, store) constraint never fires), and the duplicate's SKUs, key variations (its own key
included), price history, brand-company pairs and category paths move to the canonical product
instead of being cascade-deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import and_, bindparam, delete, exists, insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grocer.db import storecrawls, tables
from grocer.db.delisting import CompletedStore, delist_unseen
from grocer import settings as defaults
from grocer.db.locks import reconcile_lock
from grocer.db.models import (
    Brand,
    Price,
    PriceHistory,
    Product,
    ProductKeyVariation,
    Sku,
)
from grocer.db.transactions import chunked, in_chunks, run_transaction
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000

_brand = Brand.__table__
_product = Product.__table__
_price = Price.__table__
_history = PriceHistory.__table__
_sku = Sku.__table__
_variation = ProductKeyVariation.__table__


# --- results --------------------------------------------------------------------------------

@dataclass
class BrandMergeResult:
    brands_merged: int = 0
    products_repointed: int = 0


@dataclass
class ProductMergeResult:
    products_merged: int = 0
    prices_deleted: int = 0
    prices_repointed: int = 0
    skus_repointed: int = 0
    history_repointed: int = 0
    variations_repointed: int = 0
    variations_added: int = 0


@dataclass
class ReconcileResult:
    delisted: dict[str, int] = field(default_factory=dict)
    brands: BrandMergeResult = field(default_factory=BrandMergeResult)
    products: ProductMergeResult = field(default_factory=ProductMergeResult)
    orphans_deleted: int = 0
    tables: tables.TablesResult | None = None
    table_error: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))

    def summary(self) -> str:
        parts = []
        if self.delisted:
            parts.append(f"{sum(self.delisted.values()):,} prices delisted at "
                         f"{len(self.delisted)} store(s)")
        parts.append(f"{self.brands.brands_merged:,} brands merged "
                     f"({self.brands.products_repointed:,} products re-pointed)")
        p = self.products
        parts.append(f"{p.products_merged:,} products merged ({p.prices_deleted:,} older prices "
                     f"deleted, {p.prices_repointed:,} prices, {p.skus_repointed:,} SKUs, "
                     f"{p.history_repointed:,} history rows, "
                     f"{p.variations_repointed + p.variations_added:,} key variations moved)")
        parts.append(f"{self.orphans_deleted:,} orphan products deleted")
        if self.tables is not None:
            parts.append(f"tables: {self.tables.brand_entries:,} brand and "
                         f"{self.tables.product_entries:,} product entries"
                         + (f" ({', '.join(self.tables.written)} rewritten)"
                            if self.tables.written else " (unchanged)"))
        if self.table_error:
            parts.append(f"tables not read: {self.table_error}")
        return "; ".join(parts)


# --- helpers --------------------------------------------------------------------------------

def _repoint(session: Session, table, column_name: str, mapping: Mapping[int, int]) -> int:
    """UPDATE table SET column = CASE column WHEN old THEN new … END WHERE column IN (old…).

    The ids are inlined as integer literals (int() on every one: nothing else can get in):
    building a 1000-branch CASE as an expression tree and compiling it cost more than running
    it, and the statement is never reused anyway.
    """
    preparer = session.get_bind().dialect.identifier_preparer
    name, column = preparer.quote(table.name), preparer.quote(column_name)
    total = 0
    for chunk in in_chunks(sorted(mapping.items()), CHUNK_SIZE):
        pairs = [(int(old), int(new)) for old, new in chunk]
        whens = " ".join(f"WHEN {old} THEN {new}" for old, new in pairs)
        olds = ", ".join(str(old) for old, _ in pairs)
        result = session.execute(text(
            f"UPDATE {name} SET {column} = CASE {column} {whens} END "  # noqa: S608 - ints only
            f"WHERE {column} IN ({olds})"))
        total += result.rowcount or 0
    return total


def _freshness(session: Session, prices) -> dict[int, dt.datetime]:
    """{price id: when it was last seen} (its row's last_seen or a later store-crawl sighting)."""
    by_store: dict[int, list] = defaultdict(list)
    for price in prices:
        by_store[price.store_id].append(price)
    seen = {}
    for store_id, store_prices in by_store.items():
        sightings = storecrawls.sightings(session.connection(), store_id,
                                          product_ids=[p.product_id for p in store_prices])
        for price in store_prices:
            seen[price.id] = storecrawls.last_seen(price.last_seen, price.delisted_at,
                                                   sightings.get(price.product_id))
    return seen


def _delete_ids(session: Session, table, ids: Iterable[int]) -> int:
    total = 0
    for chunk in in_chunks(sorted(set(ids)), CHUNK_SIZE):
        total += session.execute(delete(table).where(table.c.id.in_(chunk))).rowcount or 0
    return total


def _unique_sorted(values: Iterable) -> list:
    seen: dict[str, object] = {}
    for value in values:
        if value is None or value == "":
            continue
        seen.setdefault(json.dumps(value, sort_keys=True), value)
    items = list(seen.values())
    if all(isinstance(item, str) for item in items):
        return sorted(items)
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def _follow(table: Mapping[str, str]) -> list[tuple[str, str]]:
    """The mappings of a loaded table, chains followed, cycles dropped, sorted."""
    resolved = tables.resolve_chains({k: v for k, v in table.items()
                                      if isinstance(k, str) and isinstance(v, str) and k and v})
    return sorted(resolved.items())


# --- brand reconciler (spec §2.8.2) ---------------------------------------------------------

def reconcile_brands(engine: Engine, brand_table: Mapping[str, str],
                     chunk_size: int = CHUNK_SIZE) -> BrandMergeResult:
    """Merge every brand named by a variation of the table into its canonical brand."""
    result = BrandMergeResult()
    for chunk in chunked(_follow(brand_table), chunk_size):
        merged, repointed = run_transaction(engine, lambda s, c=chunk: _merge_brand_chunk(s, c))
        result.brands_merged += merged
        result.products_repointed += repointed
    if result.brands_merged:
        logger.info("brand reconciler: %d brands merged, %d products re-pointed",
                    result.brands_merged, result.products_repointed)
    return result


def _merge_brand_chunk(session: Session, chunk: list[tuple[str, str]]) -> tuple[int, int]:
    names = sorted({name for pair in chunk for name in pair})
    rows = {row.normalized_name: row for row in session.execute(
        select(_brand.c.id, _brand.c.name, _brand.c.normalized_name, _brand.c.name_variations,
               _brand.c.normalized_name_variations).where(_brand.c.normalized_name.in_(names)))}
    dupes_of: dict[int, list] = defaultdict(list)
    canonicals = {}
    for variation, canonical in chunk:
        dupe, canon = rows.get(variation), rows.get(canonical)
        if dupe is None or canon is None or dupe.id == canon.id:
            continue
        dupes_of[canon.id].append(dupe)
        canonicals[canon.id] = canon
    if not dupes_of:
        return 0, 0
    moves = {dupe.id: canon_id for canon_id, dupes in dupes_of.items() for dupe in dupes}
    repointed = _repoint(session, _product, "brand_id", moves)
    _delete_ids(session, _brand, moves)
    updates = []
    for canon_id, dupes in sorted(dupes_of.items()):
        canon = canonicals[canon_id]
        names_ = _unique_sorted([*(canon.name_variations or []),
                                 *(v for d in dupes for v in [d.name, *(d.name_variations or [])])])
        normalized = _unique_sorted([
            *(canon.normalized_name_variations or []),
            *(v for d in dupes for v in [d.normalized_name,
                                         *(d.normalized_name_variations or [])])])
        updates.append({"b_id": canon_id, "b_names": names_, "b_normalized": normalized})
    session.execute(
        update(_brand).where(_brand.c.id == bindparam("b_id"))
        .values(name_variations=bindparam("b_names", type_=_brand.c.name_variations.type),
                normalized_name_variations=bindparam(
                    "b_normalized", type_=_brand.c.normalized_name_variations.type)),
        updates)
    return len(moves), repointed


# --- product reconciler (spec §2.8.3, §2.8.4, bugs fixed) -----------------------------------

_ENRICH_COLUMNS = ("barcode", "url", "image_url", "aldi_image_url", "brand_id")


def reconcile_products(engine: Engine, product_table: Mapping[str, str],
                       chunk_size: int = CHUNK_SIZE) -> ProductMergeResult:
    """Merge every product whose key is a variation in the table into its canonical product."""
    result = ProductMergeResult()
    for chunk in chunked(_follow(product_table), chunk_size):
        chunk_result = run_transaction(engine, lambda s, c=chunk: _merge_product_chunk(s, c))
        for name, value in asdict(chunk_result).items():
            setattr(result, name, getattr(result, name) + value)
    if result.products_merged:
        logger.info("product reconciler: %s", result)
    return result


def _merge_product_chunk(session: Session, chunk: list[tuple[str, str]]) -> ProductMergeResult:
    result = ProductMergeResult()
    keys = sorted({key for pair in chunk for key in pair})
    c = _product.c
    rows = {row.normalized_name_brand_size: row for row in session.execute(
        select(c.id, c.normalized_name_brand_size, c.brand_id, c.barcode, c.url, c.image_url,
               c.aldi_image_url, c.has_no_coles_barcode, c.sizes, c.brand_name_company_pairs,
               c.category_paths).where(c.normalized_name_brand_size.in_(keys)))}
    dupes_of: dict[int, list] = defaultdict(list)
    canonicals = {}
    for variation, canonical in chunk:
        dupe, canon = rows.get(variation), rows.get(canonical)
        if dupe is None or canon is None or dupe.id == canon.id:
            continue  # nothing to merge (already merged, or the canonical is unknown)
        dupes_of[canon.id].append(dupe)
        canonicals[canon.id] = canon
    if not dupes_of:
        return result
    for dupes in dupes_of.values():
        dupes.sort(key=lambda row: row.id)
    moves = {dupe.id: canon_id for canon_id, dupes in dupes_of.items() for dupe in dupes}
    product_ids = sorted(set(moves) | set(dupes_of))

    # 1. Prices at the same store: the most recent survives, the others go *before* re-pointing.
    # Most recent = still listed, then seen last (grocer's scraped_at moves only when the price
    # changes; a sighting is the row's last_seen or a store crawl's), then changed last.
    groups: dict[tuple[int, int], list] = defaultdict(list)
    for chunk_ids in in_chunks(product_ids, CHUNK_SIZE):
        for price in session.execute(
                select(_price.c.id, _price.c.product_id, _price.c.store_id, _price.c.scraped_at,
                       _price.c.last_seen, _price.c.delisted_at)
                .where(_price.c.product_id.in_(chunk_ids))):
            canon_id = moves.get(price.product_id, price.product_id)
            groups[(canon_id, price.store_id)].append(price)
    seen = _freshness(session, [price for prices in groups.values() for price in prices])
    losers = []
    for (canon_id, _store), prices in groups.items():
        if len(prices) > 1:
            prices.sort(key=lambda p: (p.delisted_at is not None, -seen[p.id].timestamp(),
                                       -p.scraped_at.timestamp(), p.product_id != canon_id, p.id))
            losers.extend(p.id for p in prices[1:])
    result.prices_deleted = _delete_ids(session, _price, losers)
    # The store crawls' sightings name the duplicate's id: a moved price keeps its freshness
    # in its own row.
    lost = set(losers)
    stale: dict[dt.datetime, list[int]] = defaultdict(list)
    for prices in groups.values():
        for price in prices:
            if (price.product_id in moves and price.id not in lost
                    and seen[price.id] > price.last_seen):
                stale[seen[price.id]].append(price.id)
    for last_seen, price_ids in stale.items():
        for chunk_ids in in_chunks(sorted(price_ids), CHUNK_SIZE):
            session.execute(update(_price).where(_price.c.id.in_(chunk_ids))
                            .values(last_seen=last_seen))
    result.prices_repointed = _repoint(session, _price, "product_id", moves)

    # 2. Everything else that belongs to a duplicate moves to its canonical product.
    result.skus_repointed = _repoint(session, _sku, "product_id", moves)
    result.history_repointed = _repoint(session, _history, "product_id", moves)
    result.variations_repointed = _repoint(session, _variation, "product_id", moves)
    result.variations_added = _record_dupe_keys(session, dupes_of, canonicals)

    # 3. Delete the duplicates, then update the canonicals (they may inherit a unique barcode).
    _delete_ids(session, _product, moves)
    updates = []
    for canon_id, dupes in sorted(dupes_of.items()):
        values = enrich(canonicals[canon_id], dupes)
        if values:
            updates.append({"id": canon_id, **values})
    for columns, group in _group_by_columns(updates).items():
        session.execute(
            update(_product).where(_product.c.id == bindparam("p_id"))
            .values({column: bindparam(f"p_{column}", type_=_product.c[column].type)
                     for column in columns}),
            [{f"p_{name}": value for name, value in row.items()} for row in group])
    result.products_merged = len(moves)
    return result


def _record_dupe_keys(session: Session, dupes_of: Mapping[int, list],
                      canonicals: Mapping[int, object]) -> int:
    """Each duplicate's own key becomes a ProductKeyVariation of its canonical product; a
    variation row that only repeats its product's own key is dropped."""
    owner = {dupe.normalized_name_brand_size: canon_id
             for canon_id, dupes in dupes_of.items() for dupe in dupes}
    own_keys = {row.normalized_name_brand_size: canon_id for canon_id, row in canonicals.items()}
    existing = {}
    lookup = sorted(set(owner) | set(own_keys))
    for chunk in in_chunks(lookup, CHUNK_SIZE):
        for row in session.execute(select(_variation.c.id, _variation.c.key,
                                          _variation.c.product_id)
                                   .where(_variation.c.key.in_(chunk))):
            existing[row.key] = row
    redundant = [row.id for key, row in existing.items()
                 if own_keys.get(key) == row.product_id]
    _delete_ids(session, _variation, redundant)
    wrong_owner = {row.id: owner[key] for key, row in existing.items()
                   if key in owner and row.product_id != owner[key]}
    for variation_id, canon_id in sorted(wrong_owner.items()):  # rare: a hand-edited table
        session.execute(update(_variation).where(_variation.c.id == variation_id)
                        .values(product_id=canon_id))
    new_rows = [{"key": key, "product_id": canon_id}
                for key, canon_id in sorted(owner.items()) if key not in existing]
    if new_rows:
        session.execute(insert(_variation), new_rows)
    return len(new_rows) + len(wrong_owner)


def enrich(canonical, duplicates: list) -> dict:
    """The canonical product's changed columns after merging `duplicates` (spec §2.8.3).

    Blank barcode/url/image urls/brand are filled from the first duplicate (lowest id) that has
    one; has_no_coles_barcode: True wins; sizes: sorted union; brand-company pairs: one per
    company, the canonical's first, sorted by company; category paths: union, canonical's first.
    Key variations are rows of their own (see _record_dupe_keys). Returns {} when nothing grows.
    """
    values: dict = {}
    for column in _ENRICH_COLUMNS:
        if getattr(canonical, column) in (None, ""):
            for dupe in duplicates:
                if getattr(dupe, column) not in (None, ""):
                    values[column] = getattr(dupe, column)
                    break
    if not canonical.has_no_coles_barcode and any(d.has_no_coles_barcode for d in duplicates):
        values["has_no_coles_barcode"] = True

    sizes = list(canonical.sizes or [])
    merged_sizes = _unique_sorted([*sizes, *(s for d in duplicates for s in (d.sizes or []))])
    if len(merged_sizes) > len(_unique_sorted(sizes)):
        values["sizes"] = merged_sizes

    by_company: dict[str, object] = {}
    for pair in canonical.brand_name_company_pairs or []:
        if _valid_pair(pair):
            by_company.setdefault(pair[1], pair[0])
    known = len(by_company)
    for dupe in duplicates:
        for pair in dupe.brand_name_company_pairs or []:
            if _valid_pair(pair):
                by_company.setdefault(pair[1], pair[0])
    if len(by_company) > known:
        values["brand_name_company_pairs"] = [[brand, company] for company, brand
                                              in sorted(by_company.items())]

    paths = list(canonical.category_paths or [])
    seen = {_path_key(entry) for entry in paths}
    grown = False
    for dupe in duplicates:
        for entry in dupe.category_paths or []:
            key = _path_key(entry)
            if key not in seen:
                seen.add(key)
                paths.append(entry)
                grown = True
    if grown:
        values["category_paths"] = paths
    return values


def _valid_pair(pair) -> bool:
    return (isinstance(pair, (list, tuple)) and len(pair) == 2 and bool(pair[0])
            and isinstance(pair[1], str) and bool(pair[1]))


def _path_key(entry) -> str:
    if isinstance(entry, dict):
        if entry.get("path_key"):
            return f"key:{entry['path_key']}"
        return json.dumps([entry.get("company"), entry.get("path")], sort_keys=True)
    return json.dumps(entry, sort_keys=True)


def _group_by_columns(rows: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(k for k in row if k != "id"))].append(row)
    return groups


# --- orphans (spec §2.8.5, history-aware) ---------------------------------------------------

def delete_orphans(engine: Engine, created_before: dt.datetime | None = None,
                   batch_size: int = CHUNK_SIZE) -> int:
    """Delete products with no current price and no price history at any store.

    `created_before` spares products created since then (a running crawl may have created them
    and not written their price yet). Batched: one SELECT and one DELETE per batch.
    """
    orphan = and_(
        ~exists().where(_price.c.product_id == _product.c.id),
        ~exists().where(_history.c.product_id == _product.c.id))
    if created_before is not None:
        orphan = and_(orphan, _product.c.created_at < created_before)
    deleted, last_id = 0, 0

    def work(session, after):
        ids = session.scalars(select(_product.c.id).where(orphan, _product.c.id > after)
                              .order_by(_product.c.id).limit(batch_size)).all()
        if not ids:
            return None, 0
        count = session.execute(delete(_product).where(_product.c.id.in_(ids), orphan)).rowcount
        return ids[-1], count or 0

    while True:
        last, count = run_transaction(engine, lambda s, after=last_id: work(s, after))
        if last is None:
            break
        last_id = last
        deleted += count
    if deleted:
        logger.info("orphan clean-up: %d products without any price deleted", deleted)
    return deleted


# --- the whole sequence ---------------------------------------------------------------------

def read_tables(tables_dir: str | os.PathLike) -> tuple[dict, dict, str | None]:
    """(brand_table, product_table, error): missing files are empty tables, an invalid file
    makes both empty (nothing is merged) and is reported as `error`."""
    directory = Path(tables_dir)
    if not any((directory / name).is_file()
               for name in (tables.BRAND_TABLE_FILE, tables.PRODUCT_TABLE_FILE)):
        logger.warning("no translation tables in %s (TRANSLATION_TABLES_DIR): nothing to merge",
                       directory)
        return {}, {}, None
    try:
        brand_table, product_table = tables.load_tables(directory)
    except tables.TranslationTableError as error:
        logger.error("translation tables in %s are invalid, no merges this time: %s",
                     directory, error)
        return {}, {}, str(error)
    return brand_table, product_table, None


def reconcile(engine: Engine, tables_dir: str | os.PathLike, *,
              company: str | None = None, completed_stores: Iterable[CompletedStore] = (),
              merge: bool = True, clean_orphans: bool = True, generate: bool = True,
              orphan_grace: dt.timedelta = dt.timedelta(0),
              lock_timeout: float = defaults.GROCER_RECONCILE_LOCK_TIMEOUT) -> ReconcileResult:
    """Delisting → brand merges → product merges → orphan clean-up → table generation, under
    the reconciliation lock (raises locks.LockTimeout if another run keeps it too long).

    `tables_dir` is the configured TRANSLATION_TABLES_DIR: both reconcilers read it and the
    generators write it. Delisting runs only for `completed_stores` of `company`.
    """
    started = time.monotonic()
    result = ReconcileResult()

    def timed(step, function, *args, **kwargs):
        step_started = time.monotonic()
        value = function(*args, **kwargs)
        result.timings[step] = round(time.monotonic() - step_started, 3)
        return value

    with reconcile_lock(engine, lock_timeout):
        result.timings["lock"] = round(time.monotonic() - started, 3)
        completed_stores = list(completed_stores)
        if company and completed_stores:
            result.delisted = timed("delisting", delist_unseen, engine, company,
                                    completed_stores)
        if merge:
            brand_table, product_table, result.table_error = read_tables(tables_dir)
            result.brands = timed("brands", reconcile_brands, engine, brand_table)
            result.products = timed("products", reconcile_products, engine, product_table)
        if clean_orphans:
            result.orphans_deleted = timed("orphans", delete_orphans, engine,
                                           created_before=utcnow() - orphan_grace)
        if generate:
            result.tables = timed("tables", tables.generate_tables, engine, tables_dir)
    result.seconds = round(time.monotonic() - started, 3)
    logger.info("reconciliation done in %.1f s: %s", result.seconds, result.summary())
    return result
