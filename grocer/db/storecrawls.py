"""What each store crawl saw, recorded as O(stores) bookkeeping (README "Writes only what changed").

A crawl that sees a price unchanged writes nothing to its row. Instead each PriceWriter keeps one
``store_crawl`` row per store it writes, holding the product ids it saw there as *frames* — one
per batch: the batch's last sighting time, then the sorted product ids delta-encoded as varints
(about two bytes a product). The row is rewritten once per batch of that store, so a re-crawl
costs one bookkeeping row per store, not one UPDATE per price.

A price's freshness (when it was last seen) is the later of ``price.last_seen`` (set whenever
the row is written: new, changed, listed again, delisted) and the newest frame naming it
(`last_seen` below: every reader showing or deciding on freshness goes through it, for the
prices of many stores at once through `prices_last_seen`). Delisting compares a store's prices
against the frames of the crawl that completed it, writes the effective ``last_seen`` into the
rows it delists, and then drops the store's older ``store_crawl`` rows: every price still
listed was seen by that crawl, so they can no longer be the newest sighting of anything.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator

from sqlalchemy import Connection, delete, select

from grocer.db.models import Price, StoreCrawl
from grocer.db.transactions import in_chunks

_table = StoreCrawl.__table__
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MICROSECOND = dt.timedelta(microseconds=1)
# Stores whose frames prices_last_seen reads (and holds) at once: a few megabytes.
FRAME_READ_STORES = 100
_CONTINUATION_BYTES = bytes(range(0x80, 0x100))  # a varint goes on after these


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


def _read(blob: bytes, position: int) -> tuple[int, int]:
    """The varint at `position` and the position after it."""
    value = shift = 0
    while True:
        byte = blob[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _skip(blob: bytes, position: int, count: int) -> int:
    """The position after the next `count` varints, counted in C rather than decoded: each
    varint ends at a byte < 0x80, and `count` bytes hold at most `count` of those ends."""
    while count:
        chunk = blob[position:position + count]
        if not chunk:
            raise ValueError("store_crawl frame cut short")
        position += len(chunk)
        count -= len(chunk.translate(None, _CONTINUATION_BYTES))
    return position


def _frame_heads(blob: bytes) -> Iterator[tuple[dt.datetime, int, int]]:
    """Per frame: its sighting time, where its ids start and how many there are (not read)."""
    position = 0
    while position < len(blob):
        micros, position = _read(blob, position)
        count, position = _read(blob, position)
        yield EPOCH + micros * _MICROSECOND, position, count
        position = _skip(blob, position, count)


def _ids(blob: bytes, position: int, count: int) -> Iterator[int]:
    """A frame's product ids, ascending."""
    previous = 0
    for _ in range(count):
        delta, position = _read(blob, position)
        previous += delta
        yield previous


def iter_frames(blob: bytes) -> Iterator[tuple[dt.datetime, list[int]]]:
    """Every frame decoded (its own reader: a closure decodes a whole blob faster than _read)."""
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
        seen_at = EPOCH + read() * _MICROSECOND
        ids, previous = [], 0
        for _ in range(read()):
            previous += read()
            ids.append(previous)
        yield seen_at, ids


def _newest(blobs: Iterable[bytes], into: dict[int, dt.datetime], *,
            since: dt.datetime | None = None, wanted: set[int] | None = None) -> None:
    """Fold the frames of `blobs` into `into`: {product id: newest sighting} (only sightings at
    or after `since`, only the `wanted` products when given)."""
    if wanted is None:
        for blob in blobs:
            for seen_at, ids in iter_frames(blob or b""):
                if since is None or seen_at >= since:
                    for product_id in ids:
                        if product_id not in into or into[product_id] < seen_at:
                            into[product_id] = seen_at
        return
    # A few products (a product page: one per store): the frames newest first, each read only
    # up to the largest id still looked for (ids ascend), until every product was found — its
    # first frame is its newest sighting. Most of a store's frames are then skipped unread.
    frames = sorted(((seen_at, blob, position, count) for blob in blobs
                     for seen_at, position, count in _frame_heads(blob or b"")),
                    key=lambda frame: frame[0], reverse=True)
    missing = set(wanted)
    for seen_at, blob, position, count in frames:
        if not missing or (since is not None and seen_at < since):
            break
        largest = max(missing)
        for product_id in _ids(blob, position, count):
            if product_id in missing:
                missing.remove(product_id)
                if product_id not in into or into[product_id] < seen_at:
                    into[product_id] = seen_at
            if product_id >= largest:
                break


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
    newest: dict[int, dt.datetime] = {}
    _newest(connection.scalars(query), newest, since=since,
            wanted=None if product_ids is None else set(product_ids))
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


def prices_last_seen(connection: Connection,
                     prices: Iterable) -> dict[tuple[int, int], dt.datetime]:
    """{(store id, product id): freshness} of price rows (each with store_id, product_id,
    last_seen, delisted_at): the one rule of `last_seen`, for many stores at once (a product
    page). One query per FRAME_READ_STORES stores reads only the store_crawl rows newer than a
    listed row of their store; each store's frames are then searched for its products (see
    `_newest`)."""
    prices = list(prices)
    wanted: dict[int, set[int]] = defaultdict(set)
    oldest: dict[int, dt.datetime] = {}  # per store: a crawl no newer cannot freshen a row
    for price in prices:
        if price.delisted_at is None:  # a delisted row carries its own
            wanted[price.store_id].add(price.product_id)
            if price.store_id not in oldest or price.last_seen < oldest[price.store_id]:
                oldest[price.store_id] = price.last_seen
    seen: dict[int, dict[int, dt.datetime]] = {}
    # Folded chunk by chunk: a store's frames are tens of kilobytes, and a product page asks
    # for every store of the country.
    for stores in in_chunks(sorted(wanted), FRAME_READ_STORES):
        query = select(_table.c.store_id, _table.c.seen_at, _table.c.seen).where(
            _table.c.store_id.in_(stores),
            _table.c.seen_at > min(oldest[store_id] for store_id in stores))
        blobs: dict[int, list[bytes]] = defaultdict(list)
        for store_id, seen_at, blob in connection.execute(query):
            if seen_at > oldest[store_id]:
                blobs[store_id].append(blob)
        for store_id, store_blobs in blobs.items():
            _newest(store_blobs, seen.setdefault(store_id, {}), wanted=wanted[store_id])
    return {(price.store_id, price.product_id):
            last_seen(price.last_seen, price.delisted_at,
                      seen.get(price.store_id, {}).get(price.product_id))
            for price in prices}


def price_last_seen(connection: Connection, store_id: int,
                    product_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """{product id: when its price at the store was last seen} for the priced ones."""
    c = Price.__table__.c
    product_ids = sorted(set(product_ids))
    rows = [row for chunk in in_chunks(product_ids) for row in connection.execute(
        select(c.store_id, c.product_id, c.last_seen, c.delisted_at).where(
            c.store_id == store_id, c.product_id.in_(chunk)))]
    return {product_id: seen
            for (_, product_id), seen in prices_last_seen(connection, rows).items()}
