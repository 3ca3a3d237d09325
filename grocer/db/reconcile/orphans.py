"""Orphan clean-up (spec §2.8.5, history-aware): products with no current price and no price
history at any store."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.engine import Engine

from grocer.db.reconcile.statements import CHUNK_SIZE, HISTORY, PRICE, PRODUCT
from grocer.db.transactions import run_transaction

logger = logging.getLogger(__name__)


def delete_orphans(engine: Engine, created_before: dt.datetime | None = None,
                   batch_size: int = CHUNK_SIZE) -> int:
    """Delete products with no current price and no price history at any store.

    `created_before` spares products created since then (a running crawl may have created them
    and not written their price yet). Batched: one SELECT and one DELETE per batch.
    """
    orphan = and_(
        ~exists().where(PRICE.c.product_id == PRODUCT.c.id),
        ~exists().where(HISTORY.c.product_id == PRODUCT.c.id))
    if created_before is not None:
        orphan = and_(orphan, PRODUCT.c.created_at < created_before)
    deleted, last_id = 0, 0

    def work(session, after):
        ids = session.scalars(select(PRODUCT.c.id).where(orphan, PRODUCT.c.id > after)
                              .order_by(PRODUCT.c.id).limit(batch_size)).all()
        if not ids:
            return None, 0
        count = session.execute(delete(PRODUCT).where(PRODUCT.c.id.in_(ids), orphan)).rowcount
        return ids[-1], count or 0

    while True:
        last, count = run_transaction(engine, lambda s, after=last_id: work(s, after))
        if last is None:
            break
        last_id = last
        deleted += count
    if deleted:
        logger.info("orphan clean-up: %d products without any price deleted", deleted)
    return deleted
