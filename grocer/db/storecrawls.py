"""What each store crawl saw, recorded as O(stores) bookkeeping (README "Writes only what changed").

A crawl that sees a price unchanged writes nothing to its row. Instead each PriceWriter keeps one
``store_crawl`` row per store it writes, holding the product ids it saw there as *frames* — one
per batch: the batch's last sighting time, then the sorted product ids delta-encoded as varints
(about two bytes a product). The row is rewritten once per batch of that store, so a re-crawl
costs one bookkeeping row per store, not one UPDATE per price.

A price's freshness (when it was last seen) is the later of ``price.last_seen`` (set whenever
the row is written: new, changed, listed again, delisted) and the newest frame naming it
(`last_seen` below). Delisting compares a store's prices against the frames of the crawl that
completed it, writes the effective ``last_seen`` into the rows it delists, and then drops the
store's older ``store_crawl`` rows: every price still listed was seen by that crawl, so they can
no longer be the newest sighting of anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, delete, select

from grocer.db.models import Price, StoreCrawl
from grocer.db.transactions import in_chunks

_table = StoreCrawl.__table__
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _varint(value: int, out: bytearray) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode_frame(seen_at: dt.datetime, product_ids: Iterable[int]) -> bytes:
    """One frame: the sighting time (µs since the epoch), the count, the sorted ids as deltas."""
    ids = sorted(set(product_ids))
    out = bytearray()
    _varint((seen_at - EPOCH) // dt.timedelta(microseconds=1), out)
    _varint(len(ids), out)
    previous = 0
    for product_id in ids:
        _varint(product_id - previous, out)
        previous = product_id
    return bytes(out)


def iter_frames(blob: bytes) -> Iterator[tuple[dt.datetime, list[int]]]:
    position, end = 0, len(blob)

    def read() -> int:
        nonlocal position
        value = shift = 0
        while True:
            byte = blob[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while position < end:
        seen_at = EPOCH + dt.timedelta(microseconds=read())
        ids, previous = [], 0
        for _ in range(read()):
            previous += read()
            ids.append(previous)
        yield seen_at, ids


def sightings(connection: Connection, store_id: int, *, since: dt.datetime | None = None,
              product_ids: Iterable[int] | None = None,
              exclude: Iterable[int] = ()) -> dict[int, dt.datetime]:
    """{product id: newest recorded sighting at the store} from its store_crawl rows (only
    sightings at or after `since`, only `product_ids` when given, without the crawls `exclude`)."""
    query = select(_table.c.seen).where(_table.c.store_id == store_id)
    if since is not None:
        query = query.where(_table.c.seen_at >= since)
    exclude = list(exclude)
    if exclude:
        query = query.where(_table.c.id.not_in(exclude))
    wanted = None if product_ids is None else set(product_ids)
    newest: dict[int, dt.datetime] = {}
    for (blob,) in connection.execute(query):
        for seen_at, ids in iter_frames(blob or b""):
            if since is not None and seen_at < since:
                continue
            for product_id in ids:
                if wanted is not None and product_id not in wanted:
                    continue
                if product_id not in newest or newest[product_id] < seen_at:
                    newest[product_id] = seen_at
    return newest


def last_seen(row_last_seen: dt.datetime, delisted_at: dt.datetime | None,
              sighting: dt.datetime | None) -> dt.datetime:
    """The freshness of one price: a delisted row carries its own (delisting wrote it)."""
    if delisted_at is not None or sighting is None or sighting <= row_last_seen:
        return row_last_seen
    return sighting


def prune(connection: Connection, store_id: int, before: dt.datetime) -> int:
    """Drop the store's crawls whose every sighting is older than `before` (call only after a
    complete crawl that started at `before` was delisted: their sightings are superseded)."""
    return connection.execute(delete(_table).where(
        _table.c.store_id == store_id, _table.c.seen_at < before)).rowcount or 0


class SightingCache:
    """Per-store sightings for streaming reads (exports): the last `size` stores are kept."""

    def __init__(self, engine, size: int = 16):
        self.engine = engine
        self.size = size
        self.stores: dict[int, dict[int, dt.datetime]] = {}

    def get(self, store_id: int, product_id: int) -> dt.datetime | None:
        seen = self.stores.pop(store_id, None)
        if seen is None:
            with self.engine.connect() as connection:  # not the streaming connection
                seen = sightings(connection, store_id)
            if len(self.stores) >= self.size:
                self.stores.pop(next(iter(self.stores)))
        self.stores[store_id] = seen  # most recently used last
        return seen.get(product_id)


def price_last_seen(connection: Connection, store_id: int,
                    product_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """{product id: when its price at the store was last seen} for the priced ones."""
    c = Price.__table__.c
    product_ids = sorted(set(product_ids))
    rows = [row for chunk in in_chunks(product_ids) for row in connection.execute(
        select(c.product_id, c.last_seen, c.delisted_at).where(
            c.store_id == store_id, c.product_id.in_(chunk)))]
    seen = sightings(connection, store_id, product_ids=product_ids)
    return {row.product_id: last_seen(row.last_seen, row.delisted_at, seen.get(row.product_id))
            for row in rows}
