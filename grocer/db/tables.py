"""Translation tables (DESIGN §4, spec §2.8.1): generated from the database, written atomically.

* brand table: every brand's normalized name variations → the brand's normalized name, with the
  conflict rule for two brands listing each other (more products wins; tie → more raw
  ``name_variations``; tie → alphabetically smaller ``name``);
* product table: every ``ProductKeyVariation`` key → its product's key (a variation equal to the
  product's key up to case is left out).

Both come out deterministic (no "last one iterated wins") and without chains: a → b, b → c
becomes a → c, b → c. Files are compact JSON with sorted keys, written through a temporary file
and ``os.replace`` and left untouched when their content would not change.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grocer.db.engine import session_scope
from grocer.db.models import Brand, Product, ProductKeyVariation
from grocer.tables.files import (
    BRAND_TABLE_FILE,
    PRODUCT_TABLE_FILE,
    TranslationTableError,
    load_table,
    load_translation_tables,
    write_table_atomically,
)

logger = logging.getLogger(__name__)


def load_tables(directory: str | os.PathLike) -> tuple[dict[str, str], dict[str, str]]:
    """(brand_table, product_table) from `directory`; a missing file is {}; an invalid one
    raises TranslationTableError (validation belongs to grocer.normalization)."""
    brand, product = load_translation_tables(directory)
    return dict(brand), dict(product)


# --- generation -----------------------------------------------------------------------------

def resolve_chains(table: Mapping[str, str],
                   rank: Callable[[str], Hashable] | None = None) -> dict[str, str]:
    """Point every key straight at the end of its chain; self-mappings disappear.

    A cycle (a → b → a) is broken in favour of its best member by `rank` (smallest wins): every
    member maps to it. Without `rank` the entries of (and leading into) a cycle are dropped.
    """
    table = {key: value for key, value in table.items() if key != value}
    final: dict[str, str | None] = {}  # None: dropped (in or leading into a cycle)
    for start in sorted(table):
        if start in final:
            continue
        path: list[str] = []
        position: dict[str, int] = {}
        node = start
        while node in table and node not in final and node not in position:
            position[node] = len(path)
            path.append(node)
            node = table[node]
        if node in position:  # a cycle
            end = None if rank is None else min(path[position[node]:], key=rank)
        else:
            end = final[node] if node in final else node
        for member in path:
            final[member] = end
    return {key: end for key in sorted(table)
            if (end := final[key]) is not None and end != key}


def generate_product_table(session: Session) -> dict[str, str]:
    """variation key → canonical product key, from ProductKeyVariation rows."""
    rows = session.execute(
        select(ProductKeyVariation.key, Product.normalized_name_brand_size, Product.id)
        .join(Product, Product.id == ProductKeyVariation.product_id)
        .order_by(ProductKeyVariation.key)
    )
    table: dict[str, str] = {}
    product_ids: dict[str, int] = {}
    for key, canonical, product_id in rows:
        if not key or not canonical or key.lower() == canonical.lower():
            continue
        table[key] = canonical
        product_ids[canonical] = product_id
    if any(value in table for value in table.values()):
        # A chain (some canonical key is itself a variation of another product): follow it.
        # Members of a cycle are all canonical keys, hence products: the oldest one wins.
        return resolve_chains(table, rank=lambda key: (product_ids.get(key, 1 << 62), key))
    return table


def generate_brand_table(session: Session) -> dict[str, str]:
    """normalized variation → canonical normalized brand name (spec §2.8.1, deterministic)."""
    counts = dict(session.execute(
        select(Product.brand_id, func.count()).where(Product.brand_id.is_not(None))
        .group_by(Product.brand_id)).all())
    brands = session.execute(
        select(Brand.id, Brand.name, Brand.normalized_name, Brand.name_variations,
               Brand.normalized_name_variations).order_by(Brand.normalized_name)).all()
    by_name = {brand.normalized_name: brand for brand in brands}
    variations = {brand.normalized_name: set(_strings(brand.normalized_name_variations))
                  for brand in brands}

    def rank(normalized_name: str):
        brand = by_name.get(normalized_name)
        if brand is None:  # not a brand row: loses against any brand
            return (1, 0, 0, normalized_name, normalized_name)
        return (0, -counts.get(brand.id, 0), -len(_strings(brand.name_variations)),
                brand.name or "", normalized_name)

    table: dict[str, str] = {}
    conflicts: set[tuple[str, str]] = set()
    for brand in brands:
        canonical = brand.normalized_name
        for variation in sorted(variations[canonical]):
            if not variation or variation == canonical:
                continue
            if variation in by_name and canonical in variations[variation]:
                conflicts.add(tuple(sorted((canonical, variation))))
                continue
            table.setdefault(variation, canonical)  # first mapping (by canonical name) wins
    for pair in sorted(conflicts):
        winner, loser = sorted(pair, key=rank)
        table[loser] = winner
        table.pop(winner, None)
    return resolve_chains(table, rank=rank)


# --- writing --------------------------------------------------------------------------------

def write_table(path: str | os.PathLike, table: Mapping[str, str]) -> bool:
    """Write `table` atomically (temporary file + os.replace, compact JSON, sorted keys);
    returns False and leaves the file alone when it already holds exactly this table."""
    path = Path(path)
    try:
        if load_table(path) == dict(table) and path.is_file():
            return False
    except TranslationTableError:
        pass  # an invalid file is replaced
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table_atomically(path, table)
    return True


@dataclass
class TablesResult:
    directory: str
    brand_entries: int = 0
    product_entries: int = 0
    written: list[str] = field(default_factory=list)  # file names whose content changed


def generate_tables(engine: Engine, directory: str | os.PathLike) -> TablesResult:
    """Regenerate both tables from the database into `directory` (TRANSLATION_TABLES_DIR)."""
    with session_scope(engine) as session:
        brand_table = generate_brand_table(session)
        product_table = generate_product_table(session)
    result = TablesResult(str(directory), len(brand_table), len(product_table))
    for name, table in ((BRAND_TABLE_FILE, brand_table), (PRODUCT_TABLE_FILE, product_table)):
        if write_table(Path(directory) / name, table):
            result.written.append(name)
    logger.info("translation tables in %s: %d brand and %d product entries (%s)", directory,
                result.brand_entries, result.product_entries,
                ", ".join(result.written) + " rewritten" if result.written else "unchanged")
    return result


def _strings(values) -> list[str]:
    return [value for value in (values or []) if isinstance(value, str)]

