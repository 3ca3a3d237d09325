"""The store directory of the chain spiders: which stores a crawl visits, the chain's known
stores and price zones, and marking the stores a crawl completed. Spiders reach it through
settings (GROCER_STORE_DIRECTORY, GROCER_KNOWN_STORES, GROCER_ZONE_DIRECTORY; tests replace
them) and never touch the database themselves. The SQL is grocer.db.storeselection's and
grocer.db.zones'; this module adds what a crawl needs around it (the crawler's settings, the
lease kept alive while the crawl runs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from scrapy import signals
from sqlalchemy import update
from sqlalchemy.engine import Engine
from twisted.internet import task, threads

from grocer.crawlstate import StoreSelectionError, StoreTarget
from grocer.db.engine import engine_from_settings, session_scope
from grocer.db.errors import DatabaseUnavailable, describe
from grocer.db.migrate import prepare_schema
from grocer.db.models import Store
from grocer.db.storeselection import StoreLease, is_lease, select_stores, stores_by_site_id

if TYPE_CHECKING:
    from grocer.db.zones import ChainZones

logger = logging.getLogger(__name__)


def store_targets(crawler, chain, stores_argument) -> list[StoreTarget]:
    """The StoreTargets of `-a stores=` (grocer.db.storeselection.select_stores); the database
    gets grocer's schema when it is empty. A database that cannot be used raises
    DatabaseUnavailable with one line saying what to do; a bad argument StoreSelectionError.
    Called in a thread (the spider's start())."""
    engine = engine_from_settings(crawler.settings)
    with unusable_database_raised(engine):
        prepare_schema(engine, logger)
        lease = None
        if is_lease(stores_argument):
            lease = StoreLease(engine, crawler.settings.getfloat("GROCER_LEASE_SECONDS"),
                               crawler.settings.getfloat("GROCER_LEASE_RECRAWL_HOURS"))
        targets = select_stores(engine, chain, stores_argument, lease=lease)
        if lease is not None and lease.held:
            LeaseKeeper(lease).keep(crawler)
        return targets


@contextmanager
def unusable_database_raised(engine: Engine) -> Iterator[None]:
    """A database that cannot be used raises DatabaseUnavailable saying in one line what to
    do (what the spider's start() logs); a bad `-a stores=` stays a StoreSelectionError."""
    try:
        yield
    except StoreSelectionError:
        raise
    except Exception as error:
        raise DatabaseUnavailable(describe(error, engine)) from None


class LeaseKeeper:
    """Renews a crawl's store lease every third of its length, off the reactor, and releases
    it when the crawl closes."""

    def __init__(self, lease: StoreLease):
        self.lease = lease
        self.renewal: task.LoopingCall | None = None

    def keep(self, crawler) -> None:
        # A strong reference: the signal is what keeps the keeper alive until the crawl closes.
        crawler.signals.connect(self.close, signal=signals.spider_closed, weak=False)
        # store_targets runs in a thread: the loop is made and started on the reactor (a
        # LoopingCall takes the installed reactor when it is made, installing one if none is).
        from twisted.internet import reactor

        reactor.callFromThread(self.start_renewing)

    def start_renewing(self) -> None:
        self.renewal = task.LoopingCall(threads.deferToThread, self.lease.renew)
        self.renewal.start(self.lease.seconds / 3, now=False)

    async def close(self, spider=None, reason=None) -> None:
        if self.renewal is not None and self.renewal.running:
            self.renewal.stop()
        await asyncio.to_thread(self.lease.release)  # the lease table is the database's


def known_stores(crawler, chain) -> dict[str, StoreTarget]:
    """The chain's open stores by the id its site uses (leading zeros dropped): where the drift
    guard sends items a site answered for another store (GROCER_KNOWN_STORES)."""
    engine = engine_from_settings(crawler.settings)
    with unusable_database_raised(engine):
        return stores_by_site_id(engine, chain)


def known_zones(crawler, chain) -> ChainZones:
    """The chain's price zones, as a zone crawl plans with them (GROCER_ZONE_DIRECTORY)."""
    # Imported here: every crawl and ingest imports this module (mark_crawled), zones are only
    # a zone crawl's.
    from grocer.db.zones import load_zones

    engine = engine_from_settings(crawler.settings)
    with unusable_database_raised(engine):
        return load_zones(engine, chain)


def mark_crawled(engine: Engine, finished: dict[int, dt.datetime]) -> None:
    """Set Store.last_crawled_at of completed stores: one batched UPDATE."""
    if not finished:
        return
    with session_scope(engine) as session:
        session.execute(update(Store), [
            {"id": store_id, "last_crawled_at": at} for store_id, at in finished.items()])
