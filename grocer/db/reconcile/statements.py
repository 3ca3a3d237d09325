"""The bulk statements every reconciliation step shares: chunked deletes and CASE re-pointing
by id, the tables they work on, and the translation tables' mappings as pairs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from grocer.db import storecrawls, tables
from grocer.db.models import Brand, Price, PriceHistory, Product, ProductKeyVariation, Sku
from grocer.db.transactions import in_chunks

CHUNK_SIZE = 1000

BRAND = Brand.__table__
PRODUCT = Product.__table__
PRICE = Price.__table__
HISTORY = PriceHistory.__table__
SKU = Sku.__table__
VARIATION = ProductKeyVariation.__table__


def repoint(session: Session, table, column_name: str, mapping: Mapping[int, int]) -> int:
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


def last_seen_of(session: Session, prices) -> dict[int, dt.datetime]:
    """{price id: when it was last seen} (its row's last_seen or a later store-crawl sighting)."""
    prices = list(prices)
    seen = storecrawls.prices_last_seen(session.connection(), prices)
    return {price.id: seen[(price.store_id, price.product_id)] for price in prices}


def delete_ids(session: Session, table, ids: Iterable[int]) -> int:
    total = 0
    for chunk in in_chunks(sorted(set(ids)), CHUNK_SIZE):
        total += session.execute(delete(table).where(table.c.id.in_(chunk))).rowcount or 0
    return total


def unique_sorted(values: Iterable) -> list:
    seen: dict[str, object] = {}
    for value in values:
        if value is None or value == "":
            continue
        seen.setdefault(json.dumps(value, sort_keys=True), value)
    items = list(seen.values())
    if all(isinstance(item, str) for item in items):
        return sorted(items)
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def follow(table: Mapping[str, str]) -> list[tuple[str, str]]:
    """The mappings of a loaded table, chains followed, cycles dropped, sorted."""
    resolved = tables.resolve_chains({k: v for k, v in table.items()
                                      if isinstance(k, str) and isinstance(v, str) and k and v})
    return sorted(resolved.items())
