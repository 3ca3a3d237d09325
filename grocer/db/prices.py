"""Current prices and change-only history, written in batches (DESIGN.md §2 "Prices").

The incoming price hash is compared with the stored hash of the *same* (product, store) — never
a global hash map (spec §6.2.1) — so two products with identical price data both keep theirs.
Unchanged prices only move `last_seen`; new or changed ones are upserted and get a history row.
One transaction per batch: a failing batch writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from grocer.db.transactions import in_chunks, run_transaction
from grocer.db.models import Price, PriceHistory
from grocer.db.upsert import upsert

PRICE_FIELDS = ("price", "was_price", "unit_price", "unit_of_measure", "per_unit_price_string",
                "is_on_special", "is_available", "price_hash", "scraped_at", "scraped_date")


@dataclass
class WriteResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    history: int = 0
    older: int = 0  # observations older than the stored price (an out-of-order replay)


@dataclass
class _Stored:
    price_hash: str
    is_available: bool | None
    last_seen: dt.datetime


class PriceWriter:
    def __init__(self, engine: Engine):
        self.engine = engine

    def write(self, rows: list[dict]) -> dict[int, WriteResult]:
        """Write one batch of price rows (dicts with product_id, store_id and PRICE_FIELDS) in
        one transaction (retried on a deadlock); returns what happened per store id."""
        latest: dict[tuple[int, int], dict] = {}
        for row in rows:  # a product listed twice at one store in a batch: the last one counts
            latest[(row["product_id"], row["store_id"])] = row
        return run_transaction(self.engine, lambda session: self._write(
            session.connection(), latest))

    def _write(self, connection, latest: dict[tuple[int, int], dict]) -> dict[int, WriteResult]:
        results: dict[int, WriteResult] = defaultdict(WriteResult)
        stored = self._stored(connection, latest)
        upserts, history = [], []
        unchanged: dict[int, list[int]] = defaultdict(list)
        seen_at: dict[int, dt.datetime] = {}
        for key, row in latest.items():
            result = results[row["store_id"]]
            before = stored.get(key)
            if before is None:
                result.new += 1
                history.append(row)
            elif row["scraped_at"] < before.last_seen:
                result.older += 1  # never let an older observation replace a newer one
                continue
            elif before.price_hash != row["price_hash"]:
                result.changed += 1
                history.append(row)
            elif before.is_available != row["is_available"]:
                result.unchanged += 1  # same price, availability moved: no history row
            else:
                result.unchanged += 1
                unchanged[row["store_id"]].append(row["product_id"])
                seen_at[row["store_id"]] = max(seen_at.get(row["store_id"], row["scraped_at"]),
                                               row["scraped_at"])
                continue
            upserts.append({**row, "last_seen": row["scraped_at"], "delisted_at": None})
        for store_id, product_ids in unchanged.items():
            for chunk in in_chunks(product_ids):
                connection.execute(
                    update(Price)
                    .where(Price.store_id == store_id, Price.product_id.in_(chunk))
                    .values(last_seen=seen_at[store_id], delisted_at=None))
        if upserts:
            connection.execute(
                upsert(connection, Price, ["product_id", "store_id"],
                       [*PRICE_FIELDS, "last_seen", "delisted_at"]),
                upserts)
        if history:
            connection.execute(insert(PriceHistory), [
                {name: row[name] for name in ("product_id", "store_id", *PRICE_FIELDS)}
                for row in history])
            for row in history:
                results[row["store_id"]].history += 1
        return dict(results)

    @staticmethod
    def _stored(connection, latest) -> dict[tuple[int, int], _Stored]:
        by_store: dict[int, list[int]] = defaultdict(list)
        for product_id, store_id in latest:
            by_store[store_id].append(product_id)
        stored = {}
        for store_id, product_ids in by_store.items():
            for chunk in in_chunks(product_ids):
                for product_id, price_hash, available, last_seen in connection.execute(
                        select(Price.product_id, Price.price_hash, Price.is_available,
                               Price.last_seen).where(
                            Price.store_id == store_id, Price.product_id.in_(chunk))):
                    stored[(product_id, store_id)] = _Stored(price_hash, available, last_seen)
        return stored
