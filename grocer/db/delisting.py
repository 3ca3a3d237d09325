"""Delisting (DESIGN §5): prices a complete store crawl did not see are marked unavailable.

Never deletes: the current row stays (``delisted_at`` set, ``is_available`` False) and its
history is untouched; the price pipeline clears ``delisted_at`` when the product is seen again.
Only stores whose run *completed*, in a crawl that is not partial, are passed in here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from grocer.db.models import Company, Price, Store
from grocer.db.transactions import run_transaction
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompletedStore:
    store_code: str
    started_at: dt.datetime  # timezone-aware UTC: prices last seen before it were not listed


def delist_unseen(engine: Engine, company: str, stores: Iterable[CompletedStore],
                  now: dt.datetime | None = None) -> dict[str, int]:
    """Mark current prices of each store that were not seen since its run started as delisted.

    One UPDATE per store; running it again changes nothing (already delisted rows are skipped).
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
            result = session.execute(
                update(Price.__table__)
                .where(Price.__table__.c.store_id == store_id,
                       Price.__table__.c.last_seen < store.started_at,
                       Price.__table__.c.delisted_at.is_(None))
                .values(delisted_at=now, is_available=False))
            delisted[store.store_code] = result.rowcount or 0
        return delisted

    delisted = run_transaction(engine, work)
    for code, count in sorted(delisted.items()):
        logger.info("delisting: %s %s: %d price(s) not seen in the complete crawl marked "
                    "unavailable", company, code, count)
    return delisted
