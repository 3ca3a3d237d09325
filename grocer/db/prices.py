"""Current prices and change-only history, written in batches (DESIGN.md §2 "Prices").

The incoming price hash is compared with the stored hash of the *same* (product, store) — never
a global hash map (spec §6.2.1) — so two products with identical price data both keep theirs.
New or changed prices are upserted and get a history row. An unchanged price writes nothing to
its row: the sighting goes into the crawl's ``store_crawl`` row of the store (one per store per
crawl, grocer.db.storecrawls), which delisting and freshness read. One transaction per batch: a
failing batch writes nothing, and the writer's memory of the crawl moves only after a commit.

**One price per product and store.** When one crawl sees several listings (SKUs) of one product
at one store, the price is the listing with the lowest current price, ties by SKU (then by the
price hash), whatever their order and batch size:
- within a batch the lowest listing is taken;
- across batches the writer remembers which (product, store) rows it already set or confirmed in
  this crawl; a later listing replaces such a row only when it is lower, and the history row this
  crawl wrote for it is corrected in place (one history row per crawl for the chosen price);
- a listing other than the stored one that is not lower than the stored price waits until the
  stored listing shows up in this crawl (then the lower of the two counts) or until `finish()`
  (the stored listing is gone: the lowest waiting listing becomes the price).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from grocer.db import storecrawls
from grocer.db.models import Price, PriceHistory, StoreCrawl
from grocer.db.transactions import in_chunks, run_transaction
from grocer.db.upsert import upsert

PRICE_FIELDS = ("price", "was_price", "unit_price", "unit_of_measure", "per_unit_price_string",
                "is_on_special", "is_available", "price_hash", "scraped_at", "scraped_date")
_history = PriceHistory.__table__
_price = Price.__table__.c
# What a batch reads of each stored row, per store and chunk of product ids: one statement
# built once (the ids and the batch's first sighting bound at each execution).
_STORED_ROWS = (
    select(_price.product_id, _price.price_hash, _price.sku, _price.is_available,
           _price.delisted_at.is_not(None),
           _price.last_seen > bindparam("first", type_=_price.last_seen.type))
    .where(_price.store_id == bindparam("store_id"),
           _price.product_id.in_(bindparam("product_ids", expanding=True))))
_crawl = StoreCrawl.__table__


@dataclass
class WriteResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    history: int = 0
    older: int = 0  # observations older than the stored price (an out-of-order replay)
    deferred: int = 0  # another listing of a product, waiting for the stored listing
    # Listings of a product at a store beyond the one the crawl's price came from: each
    # product and store counts once as new, changed or unchanged, whatever the batch size.
    duplicate: int = 0


@dataclass
class _Stored:
    price_hash: str
    sku: str | None
    is_available: bool | None
    delisted: bool
    # Read only where needed (a re-crawl's batch reads four small columns per row):
    last_seen: dt.datetime | None = None  # None: not after the batch's first sighting
    price: object = None  # only for rows the listing rule compares


def listing_order(row: dict) -> tuple:
    """The rule: lowest current price, then lowest SKU, then the hash (a total order)."""
    return (row["price"] is None, row["price"] or 0, row.get("sku") or "", row["price_hash"])


def _incumbent(stored: _Stored, row: dict) -> bool:
    """Whether `row` is the stored listing, or no stored listing is worth waiting for (a row
    stored before listings were recorded, a delisted one)."""
    return stored.delisted or stored.sku is None or row.get("sku") in (None, stored.sku)


def _older(at: dt.datetime, last_seen: dt.datetime | None, seen_elsewhere: dt.datetime | None
           ) -> bool:
    """Whether an observation is older than the row's last write or another crawl's sighting
    (None: none known). Plain comparisons: a max() over a generator per row was a visible
    share of a re-crawl's batch."""
    return ((last_seen is not None and at < last_seen)
            or (seen_elsewhere is not None and at < seen_elsewhere))


def _stored_order(stored: _Stored) -> tuple:
    return (stored.price is None, stored.price or 0, stored.sku or "", stored.price_hash)


class _Bits:
    """A growable bitset of product ids (ids are dense: ~40 kB per store at 300k products)."""

    def __init__(self):
        self.bits = bytearray()

    def add(self, value: int) -> None:
        index = value >> 3
        if index >= len(self.bits):
            self.bits.extend(bytes(index - len(self.bits) + 1024))
        self.bits[index] |= 1 << (value & 7)

    def __contains__(self, value: int) -> bool:
        index = value >> 3
        return index < len(self.bits) and bool(self.bits[index] & (1 << (value & 7)))


@dataclass
class _StoreCrawlState:
    id: int
    started_at: dt.datetime
    seen_at: dt.datetime
    products: int
    seen: bytes


@dataclass
class _Plan:
    """What a batch did; applied to the writer's memory only once its transaction committed."""
    results: dict[int, WriteResult] = field(default_factory=lambda: defaultdict(WriteResult))
    decided: list[tuple[int, int]] = field(default_factory=list)  # (store, product)
    historied: list[tuple[int, int]] = field(default_factory=list)
    pending: dict[tuple[int, int], dict | None] = field(default_factory=dict)  # None: resolved
    crawls: dict[int, _StoreCrawlState] = field(default_factory=dict)


class PriceWriter:
    """Writes the prices of one crawl; `write(batch)` per batch, `finish()` once at the end."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()  # batches of one crawl are decided one after another
        self._crawls: dict[int, _StoreCrawlState] = {}
        self._decided: dict[int, _Bits] = defaultdict(_Bits)  # row holds this crawl's choice
        self._historied: dict[int, _Bits] = defaultdict(_Bits)  # this crawl wrote its history
        self._pending: dict[tuple[int, int], dict] = {}  # (product, store) → waiting listing

    def write(self, rows: list[dict]) -> dict[int, WriteResult]:
        """Write one batch of price rows (dicts with product_id, store_id, PRICE_FIELDS and
        optionally sku) in one transaction (retried on a deadlock); returns what happened per
        store id."""
        return self._write_chosen(rows, final=False)

    def finish(self, rows: list[dict] | None = None) -> dict[int, WriteResult]:
        """End of the crawl: listings still waiting for a stored listing that never came
        become the price — all of them, or `rows`, some of them (a batch isolation's part;
        their product ids may have been re-pointed since they began to wait). Returns what
        happened per store id (empty when nothing waited)."""
        with self._lock:
            rows = list(self._pending.values()) if rows is None else rows
        results = self._write_chosen(rows, final=True)
        written = {id(row) for row in rows}
        with self._lock:  # committed: they wait no more, whatever key they waited under
            self._pending = {key: row for key, row in self._pending.items()
                             if id(row) not in written}
        return results

    def waiting(self, product_id: int, store_id: int) -> dict | None:
        """The row that waits for the stored listing of this product at this store, if any."""
        return self._pending.get((product_id, store_id))

    def _write_chosen(self, rows: list[dict], final: bool) -> dict[int, WriteResult]:
        best: dict[tuple[int, int], dict] = {}
        extra: dict[int, int] = defaultdict(int)
        for row in rows:  # several listings of a product at a store in one batch: the rule
            key = (row["product_id"], row["store_id"])
            if key in best:
                extra[row["store_id"]] += 1
            if key not in best or listing_order(row) < listing_order(best[key]):
                best[key] = row
        with self._lock:
            results = self._run(best, final=final)
        for store_id, count in extra.items():
            results.setdefault(store_id, WriteResult()).duplicate += count
        return results

    # --- one transaction ------------------------------------------------------------------

    def _run(self, candidates: dict[tuple[int, int], dict], final: bool) -> dict[int, WriteResult]:
        if not candidates:
            return {}
        plan = run_transaction(self.engine, lambda session: self._write(
            session.connection(), candidates, final))
        for store_id, product_id in plan.decided:
            self._decided[store_id].add(product_id)
        for store_id, product_id in plan.historied:
            self._historied[store_id].add(product_id)
        for key, row in plan.pending.items():
            if row is None:
                self._pending.pop(key, None)
            else:
                self._pending[key] = row
        self._crawls.update(plan.crawls)
        return dict(plan.results)

    def _write(self, connection: Connection, candidates: dict[tuple[int, int], dict],
               final: bool) -> _Plan:
        plan = _Plan()
        stored = self._stored(connection, candidates)
        fresher = {} if final else self._fresher_sightings(connection, candidates, stored)
        upserts, history, corrections = [], [], []
        seen: dict[int, list[dict]] = defaultdict(list)

        def decide(row: dict, before: _Stored | None, mine: bool) -> None:
            """Write `row` if the rule or a change says so; record what this crawl decided."""
            key = (row["product_id"], row["store_id"])
            result = plan.results[row["store_id"]]
            plan.decided.append(key[::-1])
            if key in self._pending:  # it waits no more once this commits
                if not final:
                    result.duplicate += 1  # of the decided listing and the one that waited, one
                plan.pending[key] = None
            if mine:  # the crawl's price of this product came from another listing already
                result.duplicate += 1
                if before is not None and listing_order(row) >= _stored_order(before):
                    return  # and that listing is lower
            elif before is None:
                result.new += 1
            elif before.price_hash != row["price_hash"]:
                result.changed += 1
            else:
                result.unchanged += 1
            if before is not None and before.price_hash == row["price_hash"]:
                if (before.is_available != row["is_available"] or before.delisted
                        or (mine and before.sku != row.get("sku"))
                        or (before.sku is not None and row.get("sku") not in (None, before.sku))):
                    upserts.append(row)  # same price; availability, listing or delisting moved
                return
            upserts.append(row)
            if mine and key[1] in self._historied and key[0] in self._historied[key[1]]:
                corrections.append(row)  # this crawl's history row now names the lower listing
            else:
                history.append(row)
                plan.historied.append(key[::-1])

        for key, row in candidates.items():
            product_id, store_id = key
            before = stored.get(key)
            mine = store_id in self._decided and product_id in self._decided[store_id]
            if final:  # a waiting listing whose stored listing never came
                decide(row, before, mine)
                continue
            if not mine and _older(row["scraped_at"], before and before.last_seen,
                                   fresher.get(key)):
                plan.results[store_id].older += 1  # never let an older observation win
                continue
            seen[store_id].append(row)
            if before is None or mine:
                decide(row, before, mine)
                continue
            # The stored listing (or none to wait for: a legacy row, a delisted one).
            incumbent = _incumbent(before, row)
            waiting = self._pending.get(key)
            if waiting is not None and listing_order(waiting) < listing_order(row):
                row = waiting
            if incumbent or listing_order(row) < _stored_order(before):
                decide(row, before, False)
            else:
                plan.results[store_id].deferred += 1  # wait for the stored listing
                if waiting is not None:
                    plan.results[store_id].duplicate += 1  # the higher of the two waits no more
                plan.pending[key] = row

        previous = self._previous_prices(connection, history, stored)  # before the upsert
        if upserts:
            connection.execute(
                upsert(connection, Price, ["product_id", "store_id"],
                       [*PRICE_FIELDS, "sku", "last_seen", "delisted_at"]),
                [{**self._values(row), "sku": row.get("sku"), "last_seen": row["scraped_at"],
                  "delisted_at": None} for row in upserts])
        if history:
            connection.execute(insert(PriceHistory), [
                {**self._values(row), "previous_price": previous.get(
                    (row["product_id"], row["store_id"]))} for row in history])
            for row in history:
                plan.results[row["store_id"]].history += 1
        if corrections:
            self._correct_history(connection, corrections)
        self._record_sightings(connection, seen, plan)
        return plan

    @staticmethod
    def _values(row: dict) -> dict:
        return {name: row[name] for name in ("product_id", "store_id", *PRICE_FIELDS)}

    @staticmethod
    def _previous_prices(connection: Connection, rows: list[dict],
                         stored: dict[tuple[int, int], _Stored]) -> dict[tuple[int, int], object]:
        """The stored price each new history row replaces (a history row's previous_price);
        read here for the stored rows whose price `_stored` left out."""
        previous = {}
        unread: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            key = (row["product_id"], row["store_id"])
            before = stored.get(key)
            if before is not None and before.price is not None:
                previous[key] = before.price
            elif before is not None:
                unread[key[1]].append(key[0])
        c = Price.__table__.c
        for store_id, product_ids in unread.items():
            for chunk in in_chunks(product_ids):
                previous.update(((product_id, store_id), price) for product_id, price in
                                connection.execute(select(c.product_id, c.price).where(
                                    c.store_id == store_id, c.product_id.in_(chunk))))
        return previous

    @staticmethod
    def _correct_history(connection: Connection, rows: list[dict]) -> None:
        """Rewrite the newest history row of each (product, store): the one this crawl wrote."""
        by_store: dict[int, dict[int, dict]] = defaultdict(dict)
        for row in rows:
            by_store[row["store_id"]][row["product_id"]] = row
        updates = []
        for store_id, products in by_store.items():
            for chunk in in_chunks(sorted(products)):
                for product_id, history_id in connection.execute(
                        select(_history.c.product_id, func.max(_history.c.id))
                        .where(_history.c.store_id == store_id,
                               _history.c.product_id.in_(chunk))
                        .group_by(_history.c.product_id)):
                    row = products[product_id]
                    updates.append({"h_id": history_id,
                                    **{f"h_{name}": row[name] for name in PRICE_FIELDS}})
        if updates:
            connection.execute(
                update(_history).where(_history.c.id == bindparam("h_id"))
                .values({name: bindparam(f"h_{name}", type_=_history.c[name].type)
                         for name in PRICE_FIELDS}),
                updates)

    def _record_sightings(self, connection: Connection, seen: dict[int, list[dict]],
                          plan: _Plan) -> None:
        """One frame per store of the batch, appended to this crawl's store_crawl row."""
        for store_id, rows in seen.items():
            seen_at = max(row["scraped_at"] for row in rows)
            first = min(row["scraped_at"] for row in rows)
            frame = storecrawls.encode_frame(seen_at, (row["product_id"] for row in rows))
            state = self._crawls.get(store_id)
            if state is None:
                state = _StoreCrawlState(0, first, seen_at, len(rows), frame)
                state.id = connection.execute(insert(_crawl).values(
                    store_id=store_id, started_at=first, seen_at=seen_at, products=len(rows),
                    seen=frame)).inserted_primary_key[0]
            else:
                state = _StoreCrawlState(state.id, min(state.started_at, first),
                                         max(state.seen_at, seen_at),
                                         state.products + len(rows), state.seen + frame)
                connection.execute(update(_crawl).where(_crawl.c.id == state.id).values(
                    started_at=state.started_at, seen_at=state.seen_at,
                    products=state.products, seen=state.seen))
            plan.crawls[store_id] = state

    # --- reads ------------------------------------------------------------------------------

    def _stored(self, connection: Connection, candidates) -> dict[tuple[int, int], _Stored]:
        """The stored rows of the candidates: hash, listing, availability and two flags in one
        read; last_seen only where it is after the batch's first sighting (an out-of-order
        replay, or a row this crawl wrote), the price only where the listing rule needs it."""
        by_store: dict[int, list[int]] = defaultdict(list)
        for product_id, store_id in candidates:
            by_store[store_id].append(product_id)
        stored: dict[tuple[int, int], _Stored] = {}
        c = Price.__table__.c
        for store_id, product_ids in by_store.items():
            first = min(candidates[(product_id, store_id)]["scraped_at"]
                        for product_id in product_ids)
            later: list[int] = []
            decided = self._decided.get(store_id, ())
            for chunk in in_chunks(product_ids):  # each chunk's rows fetched at once (.all())
                for product_id, price_hash, sku, available, delisted, newer in connection.execute(
                        _STORED_ROWS, {"store_id": store_id, "product_ids": list(chunk),
                                       "first": first}).all():
                    key = (product_id, store_id)
                    before = stored[key] = _Stored(price_hash, sku, available, bool(delisted))
                    if newer or product_id in decided or not _incumbent(before, candidates[key]):
                        later.append(product_id)
            for chunk in in_chunks(later):
                for product_id, price, last_seen in connection.execute(
                        select(c.product_id, c.price, c.last_seen)
                        .where(c.store_id == store_id, c.product_id.in_(chunk))):
                    before = stored[(product_id, store_id)]
                    before.price = price
                    before.last_seen = last_seen if last_seen > first else None
        return stored

    def _fresher_sightings(self, connection: Connection, candidates, stored
                           ) -> dict[tuple[int, int], dt.datetime]:
        """Sightings by other crawls newer than a row's own last_seen, for the rows that could
        be older than them (an archive replayed after a crawl). Usually one small query."""
        stores = sorted({store_id for _, store_id in candidates})
        mine = [state.id for state in self._crawls.values()]
        query = (select(_crawl.c.store_id, func.max(_crawl.c.seen_at))
                 .where(_crawl.c.store_id.in_(stores)).group_by(_crawl.c.store_id))
        if mine:
            query = query.where(_crawl.c.id.not_in(mine))
        newest = dict(connection.execute(query).all())
        doubtful: dict[int, list[int]] = defaultdict(list)
        for key, row in candidates.items():
            before = stored.get(key)
            if (before is not None and key[1] in newest
                    and (before.last_seen is None or before.last_seen <= row["scraped_at"])
                    and row["scraped_at"] < newest[key[1]]):
                doubtful[key[1]].append(key[0])
        fresher = {}
        for store_id, product_ids in doubtful.items():
            for product_id, seen_at in storecrawls.sightings(
                    connection, store_id, product_ids=product_ids, exclude=mine).items():
                fresher[(product_id, store_id)] = seen_at
        return fresher
