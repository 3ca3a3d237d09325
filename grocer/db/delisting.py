"""Delisting (DESIGN §5): prices a complete store crawl did not see are marked unavailable.

"Seen" is the later of a price row's own ``last_seen`` (set when it was written) and the
sightings the crawls recorded in their ``store_crawl`` rows (grocer.db.storecrawls): an
unchanged price is never rewritten, so it is found in the frames, not in its row. The rows it
delists get their effective ``last_seen`` written with ``delisted_at``; afterwards the store's
older ``store_crawl`` rows are dropped (everything still listed was seen by this crawl).

Never deletes: the current row stays (``delisted_at`` set, ``is_available`` False) and its
history is untouched; the price pipeline clears ``delisted_at`` when the product is seen again.
Only stores whose run *completed*, in a crawl that is not partial, are passed in here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from grocer.db import storecrawls
from grocer.db.models import Company, Price, Store
from grocer.db.transactions import in_chunks, run_transaction
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)
_price = Price.__table__


@dataclass(frozen=True)
class CompletedStore:
    store_code: str
    started_at: dt.datetime  # timezone-aware UTC: prices last seen before it were not listed


def delist_unseen(engine: Engine, company: str, stores: Iterable[CompletedStore],
                  now: dt.datetime | None = None) -> dict[str, int]:
    """Mark current prices of each store that were not seen since its run started as delisted.

    One read of the store's stale rows and one UPDATE per chunk of delisted ones per store;
    running it again changes nothing (already delisted rows are skipped).
    Returns {store_code: rows delisted}. Unknown store codes are logged and skipped.
    """
    stores = [store for store in stores if store.started_at is not None]
    if not stores:
        return {}
    now = now or utcnow()
    for store in stores:
        if store.started_at.tzinfo is None:
            raise ValueError(f"store {store.store_code}: started_at must be timezone-aware")

    def work(session):
        connection = session.connection()
        codes = sorted({store.store_code for store in stores})
        ids = dict(session.execute(
            select(Store.store_code, Store.id).join(Company, Company.id == Store.company_id)
            .where(Company.slug == company.lower(), Store.store_code.in_(codes))).all())
        delisted: dict[str, int] = {}
        for store in stores:
            store_id = ids.get(store.store_code)
            if store_id is None:
                logger.warning("delisting: no store %s of %s in the database", store.store_code,
                               company)
                continue
            delisted[store.store_code] = _delist_store(connection, store_id, store.started_at,
                                                       now)
        return delisted

    delisted = run_transaction(engine, work)
    for code, count in sorted(delisted.items()):
        logger.info("delisting: %s %s: %d price(s) not seen in the complete crawl marked "
                    "unavailable", company, code, count)
    return delisted


def _delist_store(connection, store_id: int, started_at: dt.datetime, now: dt.datetime) -> int:
    """Listed prices whose row was last written before `started_at` (one index range read),
    minus those a crawl saw since then; the rest are delisted in chunks by id."""
    c = _price.c
    candidates = connection.execute(
        select(c.id, c.product_id, c.last_seen)
        .where(c.store_id == store_id, c.last_seen < started_at, c.delisted_at.is_(None))).all()
    count = 0
    if candidates:
        seen = storecrawls.sightings(connection, store_id)
        gone: dict[dt.datetime, list[int]] = defaultdict(list)  # by when they were last seen
        for price_id, product_id, row_last_seen in candidates:
            last_seen = storecrawls.last_seen(row_last_seen, None, seen.get(product_id))
            if last_seen < started_at:
                gone[last_seen].append(price_id)
        for last_seen, price_ids in gone.items():
            for chunk in in_chunks(sorted(price_ids)):
                count += connection.execute(
                    update(_price).where(c.id.in_(chunk), c.delisted_at.is_(None))
                    .values(delisted_at=now, is_available=False, last_seen=last_seen)
                ).rowcount or 0
    storecrawls.prune(connection, store_id, started_at)
    return count
