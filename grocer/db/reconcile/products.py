"""Product merges (spec §2.8.3, §2.8.4, SplitCart's bugs fixed): prices of the canonical
product and its duplicates at the same store are resolved before anything is re-pointed (the
most recent survives; tie → the canonical's own, then the lowest id; the others are deleted
first, so the unique (product, store) constraint never fires), and the duplicate's SKUs, key
variations (its own key included), price history, brand-company pairs and category paths move
to the canonical product instead of being cascade-deleted."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grocer.db.reconcile.merge_policy import enrich
from grocer.db.reconcile.results import ProductMergeResult
from grocer.db.reconcile.statements import (CHUNK_SIZE, HISTORY, PRICE, PRODUCT, SKU,
                                            VARIATION, delete_ids, follow, last_seen_of,
                                            repoint)
from grocer.db.transactions import chunked, in_chunks, run_transaction

logger = logging.getLogger(__name__)


def reconcile_products(engine: Engine, product_table: Mapping[str, str],
                       chunk_size: int = CHUNK_SIZE) -> ProductMergeResult:
    """Merge every product whose key is a variation in the table into its canonical product."""
    result = ProductMergeResult()
    for chunk in chunked(follow(product_table), chunk_size):
        chunk_result = run_transaction(engine, lambda s, c=chunk: _merge_product_chunk(s, c))
        for name, value in asdict(chunk_result).items():
            setattr(result, name, getattr(result, name) + value)
    if result.products_merged:
        logger.info("product reconciler: %s", result)
    return result


def _merge_product_chunk(session: Session, chunk: list[tuple[str, str]]) -> ProductMergeResult:
    result = ProductMergeResult()
    keys = sorted({key for pair in chunk for key in pair})
    c = PRODUCT.c
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
                select(PRICE.c.id, PRICE.c.product_id, PRICE.c.store_id, PRICE.c.scraped_at,
                       PRICE.c.last_seen, PRICE.c.delisted_at)
                .where(PRICE.c.product_id.in_(chunk_ids))):
            canon_id = moves.get(price.product_id, price.product_id)
            groups[(canon_id, price.store_id)].append(price)
    seen = last_seen_of(session, [price for prices in groups.values() for price in prices])
    losers = []
    for (canon_id, _store), prices in groups.items():
        if len(prices) > 1:
            prices.sort(key=lambda p: (p.delisted_at is not None, -seen[p.id].timestamp(),
                                       -p.scraped_at.timestamp(), p.product_id != canon_id, p.id))
            losers.extend(p.id for p in prices[1:])
    result.prices_deleted = delete_ids(session, PRICE, losers)
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
            session.execute(update(PRICE).where(PRICE.c.id.in_(chunk_ids))
                            .values(last_seen=last_seen))
    result.prices_repointed = repoint(session, PRICE, "product_id", moves)

    # 2. Everything else that belongs to a duplicate moves to its canonical product.
    result.skus_repointed = repoint(session, SKU, "product_id", moves)
    result.history_repointed = repoint(session, HISTORY, "product_id", moves)
    result.variations_repointed = repoint(session, VARIATION, "product_id", moves)
    result.variations_added = _record_dupe_keys(session, dupes_of, canonicals)

    # 3. Delete the duplicates, then update the canonicals (they may inherit a unique barcode).
    delete_ids(session, PRODUCT, moves)
    updates = []
    for canon_id, dupes in sorted(dupes_of.items()):
        values = enrich(canonicals[canon_id], dupes)
        if values:
            updates.append({"id": canon_id, **values})
    for columns, group in _group_by_columns(updates).items():
        session.execute(
            update(PRODUCT).where(PRODUCT.c.id == bindparam("p_id"))
            .values({column: bindparam(f"p_{column}", type_=PRODUCT.c[column].type)
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
        for row in session.execute(select(VARIATION.c.id, VARIATION.c.key,
                                          VARIATION.c.product_id)
                                   .where(VARIATION.c.key.in_(chunk))):
            existing[row.key] = row
    redundant = [row.id for key, row in existing.items()
                 if own_keys.get(key) == row.product_id]
    delete_ids(session, VARIATION, redundant)
    wrong_owner = {row.id: owner[key] for key, row in existing.items()
                   if key in owner and row.product_id != owner[key]}
    for variation_id, canon_id in sorted(wrong_owner.items()):  # rare: a hand-edited table
        session.execute(update(VARIATION).where(VARIATION.c.id == variation_id)
                        .values(product_id=canon_id))
    new_rows = [{"key": key, "product_id": canon_id}
                for key, canon_id in sorted(owner.items()) if key not in existing]
    if new_rows:
        session.execute(insert(VARIATION), new_rows)
    return len(new_rows) + len(wrong_owner)


def _group_by_columns(rows: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(k for k in row if k != "id"))].append(row)
    return groups
