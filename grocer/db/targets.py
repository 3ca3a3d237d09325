"""The store directory of the chain spiders: which stores a crawl visits, and marking the ones it
completed. Spiders reach it through one setting, GROCER_STORE_DIRECTORY (tests replace it), and
never touch the database themselves."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.engine import Engine

from grocer.db.engine import engine_from_settings, session_scope
from grocer.db.errors import DatabaseUnavailable, describe
from grocer.db.migrate import prepare_schema
from grocer.db.models import Store


def store_targets(crawler, chain, stores_argument):
    """The StoreTargets of `-a stores=` (see grocer.spiders.stores.select_stores); the database
    gets grocer's schema when it is empty. A database that cannot be used raises
    DatabaseUnavailable with one line saying what to do; a bad argument StoreSelectionError."""
    import logging

    # select_stores keeps its place next to StoreTarget until the store-lease work moves it.
    from grocer.spiders.stores import StoreLease, StoreSelectionError, is_lease, select_stores

    engine = engine_from_settings(crawler.settings)
    try:
        prepare_schema(engine, logging.getLogger(__name__))
        lease = StoreLease.for_crawler(crawler, engine) if is_lease(stores_argument) else None
        targets = select_stores(engine, chain, stores_argument, lease=lease)
        if lease is not None:
            lease.start_renewing()
        return targets
    except StoreSelectionError:
        raise
    except Exception as error:
        raise DatabaseUnavailable(describe(error, engine)) from None


def known_stores(crawler, chain) -> dict:
    """The chain's open stores by the id its site uses (leading zeros dropped): where the drift
    guard sends items a site answered for another store (GROCER_KNOWN_STORES)."""
    from grocer.spiders.stores import StoreTarget, stores_query, site_id_of

    engine = engine_from_settings(crawler.settings)
    with session_scope(engine) as session:
        stores = list(session.scalars(stores_query(chain)))
    return {site_id.strip().lstrip("0"): StoreTarget(store.id, store.store_code, site_id)
            for store in stores if (site_id := site_id_of(chain, store))}


def mark_crawled(engine: Engine, finished: dict[int, dt.datetime]) -> None:
    """Set Store.last_crawled_at of completed stores: one batched UPDATE."""
    if not finished:
        return
    with session_scope(engine) as session:
        session.execute(update(Store), [
            {"id": store_id, "last_crawled_at": at} for store_id, at in finished.items()])
