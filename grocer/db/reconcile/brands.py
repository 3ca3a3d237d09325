"""Brand merges (spec §2.8.2): every brand a brand-table variation names becomes its canonical
brand; its products are re-pointed and its names kept as variations."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grocer.db.reconcile.results import BrandMergeResult
from grocer.db.reconcile.statements import (BRAND, CHUNK_SIZE, PRODUCT, delete_ids, follow,
                                            repoint, unique_sorted)
from grocer.db.transactions import chunked, run_transaction

logger = logging.getLogger(__name__)


def reconcile_brands(engine: Engine, brand_table: Mapping[str, str],
                     chunk_size: int = CHUNK_SIZE) -> BrandMergeResult:
    """Merge every brand named by a variation of the table into its canonical brand."""
    result = BrandMergeResult()
    for chunk in chunked(follow(brand_table), chunk_size):
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
        select(BRAND.c.id, BRAND.c.name, BRAND.c.normalized_name, BRAND.c.name_variations,
               BRAND.c.normalized_name_variations).where(BRAND.c.normalized_name.in_(names)))}
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
    repointed = repoint(session, PRODUCT, "brand_id", moves)
    delete_ids(session, BRAND, moves)
    updates = []
    for canon_id, dupes in sorted(dupes_of.items()):
        canon = canonicals[canon_id]
        names_ = unique_sorted([*(canon.name_variations or []),
                                 *(v for d in dupes for v in [d.name, *(d.name_variations or [])])])
        normalized = unique_sorted([
            *(canon.normalized_name_variations or []),
            *(v for d in dupes for v in [d.normalized_name,
                                         *(d.normalized_name_variations or [])])])
        updates.append({"b_id": canon_id, "b_names": names_, "b_normalized": normalized})
    session.execute(
        update(BRAND).where(BRAND.c.id == bindparam("b_id"))
        .values(name_variations=bindparam("b_names", type_=BRAND.c.name_variations.type),
                normalized_name_variations=bindparam(
                    "b_normalized", type_=BRAND.c.normalized_name_variations.type)),
        updates)
    return len(moves), repointed
